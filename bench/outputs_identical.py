"""Behaviour unchanged? Snapshot formcheck's outputs on every dev clip, then compare snapshots.

Usage:
  python bench/outputs_identical.py snapshot DIR [--src SRC] [--videos ../shared/videos]
  python bench/outputs_identical.py compare DIR_BEFORE DIR_AFTER

``snapshot`` runs ``formcheck analyze`` (real pose model, ``--jobs 1 --no-video``) on every clip
in ``sample_videos/`` and ``--videos``, plus a few option variants that reach other code paths
(a time window, a slow-motion factor, a height, forced view/direction, walking), and
``formcheck batch`` on ``sample_videos/``.  ``--src`` picks the source tree to run
(``PYTHONPATH``), so a snapshot of the code before a change can be taken from a git worktree.
Clips run two at a time.  ``--reuse-pose FULL_SNAPSHOT`` skips the pose model (each run gets
``--pose`` with the landmarks the full snapshot wrote): a quick check of everything after the
pose stage, to be compared only with another quick snapshot.

``compare`` checks that, for every run, ``report.json`` (minus ``created_utc``), ``steps.csv``
and ``metrics.json`` are byte-identical, and that the exit codes and the set of files written
are the same; batch ``summary.csv`` is compared too (minus its timing column, if any).  It
prints one line per run and exits 1 on any difference.

Run one copy of this script (one checkout's ``sample_videos/``) for both snapshots and vary only
``--src``: report.json records the clip's path, so clips read from two checkouts differ there.
The full pipeline is deterministic: two full snapshots of the same code are identical.

``--jobs 1`` is fixed because the pose stage's time segments (``--jobs N``) change landmarks at
the seams by design (see docs/speed.md); the comparison is about the code, not the split.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMPARED = ("report.json", "steps.csv", "metrics.json")

#: (run name, clip file name, extra options) beyond the default run of every clip.
VARIANTS: list[tuple[str, str, list[str]]] = [
    ("sample_window", "treadmill_side_30fps.mp4", ["--start", "2", "--end", "9"]),
    ("sample_height", "treadmill_side_30fps.mp4", ["--height", "180"]),
    ("sample_forced", "treadmill_side_30fps.mp4",
     ["--view", "side", "--direction", "left", "--setting", "treadmill"]),
    ("sample_walking", "treadmill_side_30fps.mp4", ["--gait", "walking"]),
    ("sample_one_person", "treadmill_side_30fps.mp4", ["--max-people", "1"]),
    ("slowmo_x9", "treadmill_side_lab_slowmo.mp4", ["--slowmo", "9"]),
    ("pace_window", "outdoor_side_pace_segments.mp4", ["--start", "7", "--end", "16"]),
]


def _clips(videos: Path) -> list[Path]:
    found = sorted((REPO / "sample_videos").glob("*.mp4"))
    names = {p.name for p in found}
    if videos.is_dir():
        found += [p for p in sorted(videos.glob("*.mp4")) if p.name not in names]
    return found


def _run(cmd: list[str], src: Path, log: Path) -> int:
    env = dict(os.environ, PYTHONPATH=str(src), PYTHONHASHSEED="0")
    with log.open("w") as fh:
        return subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode


def snapshot(out: Path, src: Path, videos: Path, workers: int, reuse: Path | None = None,
             batch: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    clips = _clips(videos)
    by_name = {p.name: p for p in clips}
    runs: list[tuple[str, Path, list[str]]] = [(p.stem, p, []) for p in clips]
    runs += [(n, by_name[c], o) for n, c, o in VARIANTS if c in by_name]
    py = sys.executable

    def one(run: tuple[str, Path, list[str]]) -> tuple[str, int]:
        name, clip, opts = run
        cmd = [py, "-m", "formcheck", "analyze", str(clip), "-o", str(out / name), "--force",
               "-q", "--jobs", "1", "--no-video", *opts]
        if reuse is not None:
            cmd += ["--pose", str(reuse / name / "landmarks.npz")]
        return name, _run(cmd, src, out / f"{name}.log")

    with ThreadPoolExecutor(workers) as ex:
        codes = dict(ex.map(one, runs))
    if batch:
        bcmd = [py, "-m", "formcheck", "batch", str(REPO / "sample_videos"), "-o",
                str(out / "_batch"), "--jobs", "2", "--no-video", "-q"]
        codes["_batch"] = _run(bcmd, src, out / "_batch.log")
    (out / "exit_codes.json").write_text(json.dumps(codes, indent=1, sort_keys=True) + "\n")
    for k, v in sorted(codes.items()):
        print(f"{k:28s} exit {v}")


def _norm(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.name == "report.json":
        doc = json.loads(text)
        doc.pop("created_utc", None)
        return json.dumps(doc, indent=2, sort_keys=False)
    return text


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()} if d.is_dir() else set()


def compare(a: Path, b: Path) -> int:
    ca = json.loads((a / "exit_codes.json").read_text())
    cb = json.loads((b / "exit_codes.json").read_text())
    bad = 0
    for name in sorted(set(ca) | set(cb)):
        problems: list[str] = []
        if ca.get(name) != cb.get(name):
            problems.append(f"exit {ca.get(name)} -> {cb.get(name)}")
        da, db = a / name, b / name
        fa, fb = _files(da), _files(db)
        if fa != fb:
            problems.append(f"files differ: only before {sorted(fa - fb)}, "
                            f"only after {sorted(fb - fa)}")
        checked = 0
        for rel in sorted(fa & fb):
            base = Path(rel).name
            if base not in COMPARED and base != "summary.csv":
                continue
            checked += 1
            ta, tb = _norm(da / rel), _norm(db / rel)
            if ta != tb:
                diff = list(difflib.unified_diff(ta.splitlines(), tb.splitlines(), rel, rel,
                                                 lineterm="", n=0))
                problems.append(f"{rel} differs:\n      " + "\n      ".join(diff[:12]))
        status = "IDENTICAL" if not problems else "DIFFERENT"
        bad += bool(problems)
        print(f"{name:28s} {status:9s} ({checked} files compared, exit {cb.get(name)})")
        for p in problems:
            print(f"    {p}")
    print(f"\n{len(set(ca) | set(cb)) - bad} identical, {bad} different")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("out", type=Path)
    s.add_argument("--src", type=Path, default=REPO / "src")
    s.add_argument("--videos", type=Path, default=REPO.parent / "shared" / "videos")
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--reuse-pose", type=Path, default=None,
                   help="a full snapshot whose landmarks.npz to feed to --pose (no pose model: "
                        "fast; compare only with another --reuse-pose snapshot of the same base)")
    s.add_argument("--no-batch", action="store_true")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = ap.parse_args()
    if args.cmd == "snapshot":
        snapshot(args.out.resolve(), args.src.resolve(), args.videos, args.workers,
                 args.reuse_pose.resolve() if args.reuse_pose else None, not args.no_batch)
    else:
        sys.exit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
