"""Peak memory of ``formcheck analyze`` on a short clip vs long and 4K clips.

Goal (issue "robustness"): a ten-minute clip needs no more memory than a 10 s one (peak RSS
within 10 %), and a 4K clip is as safe as a 1080p one: frames are streamed, never held, and
landmarks wait on disk while the model runs.

Clips (made once with PyAV into ``--cache``, default /tmp/formcheck-bench):

* ``short``: the 12 s sample as it is (720x1280, 30 fps);
* ``1080``: the sample upscaled to 1080x1920 (12 s), encoded once;
* ``long``: that clip's packets repeated to make a ``--minutes`` long clip (timestamps
  shifted, no re-encoding; every repeat starts on a key frame), so making a ten-minute clip
  takes seconds;
* ``4k12s``, ``4k``: the same at 2160x3840 (12 s, and ``--minutes-4k`` long).

Two comparisons are printed: against the sample (``vs sample``; this mixes frame size and
length), and against the 12 s clip of the same frame size (``vs 12 s``: length alone).

Each clip runs through ``python -m formcheck analyze`` in a child process; its peak resident
set size comes from ``os.wait4`` (``ru_maxrss``), and its RSS is also sampled from
``/proc/PID/status`` twice a second, so growth over the run shows as the RSS at 25/50/75 % of
the run.  Timings are wall-clock and depend on the machine's load.

Usage::

    python bench/memory.py                     # sample, 12 s + 3-minute 1080p, 12 s + 1-minute 4K
    python bench/memory.py --minutes 10 --minutes-4k 10 --full

``--full`` also writes report.html and annotated.mp4 (by default only the reports, which
measures the pose and analysis stages).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import av

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_videos" / "treadmill_side_30fps.mp4"


def make_segment(path: Path, width: int, height: int) -> Path:
    """The sample scaled to ``width`` x ``height`` (H.264, 30 fps, first frame a key frame)."""
    if path.exists():
        return path
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(SAMPLE)) as src, av.open(str(tmp), "w") as dst:
        s = dst.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "23"}
        for i, f in enumerate(src.decode(video=0)):
            g = f.reformat(width=width, height=height, format="yuv420p")
            g.pts, g.time_base = i, Fraction(1, 30)
            for p in s.encode(g):
                dst.mux(p)
        for p in s.encode():
            dst.mux(p)
    os.replace(tmp, path)
    return path


def loop_clip(segment: Path, path: Path, minutes: float) -> Path:
    """Repeat ``segment``'s packets (shifted timestamps, no re-encoding) for ``minutes``."""
    if path.exists():
        return path
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(segment)) as src:
        ins = src.streams.video[0]
        packets = [p for p in src.demux(ins) if p.size]
        seg_dur = max(int(p.pts) + int(p.duration or 0) for p in packets)
        n_rep = max(1, int(round(minutes * 60 / float(seg_dur * ins.time_base))))
        with av.open(str(tmp), "w") as dst:
            out = dst.add_stream_from_template(ins)
            for r in range(n_rep):
                for p in packets:
                    q = av.Packet(bytes(p))
                    q.pts, q.dts = p.pts + r * seg_dur, p.dts + r * seg_dur
                    q.duration, q.time_base = p.duration, ins.time_base
                    q.is_keyframe = p.is_keyframe
                    q.stream = out
                    dst.mux(q)
    os.replace(tmp, path)
    return path


def _rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def measure(video: Path, outdir: Path, full: bool) -> dict[str, object]:
    """Run the CLI on ``video``; peak RSS (MB), RSS samples, wall time (s), exit code."""
    args = [sys.executable, "-m", "formcheck", "analyze", str(video), "-o", str(outdir), "-q",
            "--force"]
    if not full:
        args += ["--no-video", "--no-html"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            kb = _rss_kb(proc.pid)
            if kb:
                samples.append((time.perf_counter() - t0, kb))
            done.wait(0.5)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    th.join()
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc  # reaped by wait4 already
    q = []
    for frac in (0.25, 0.5, 0.75):
        near = [kb for t, kb in samples if t >= frac * wall]
        q.append(near[0] / 1024 if near else float("nan"))
    return {"peak_mb": usage.ru_maxrss / 1024, "rss_quartiles_mb": q, "wall_s": wall,
            "rc": rc, "stderr": err.strip()[-300:]}


def frames_and_size(video: Path) -> tuple[int, int, int, float]:
    with av.open(str(video)) as c:
        s = c.streams.video[0]
        dur = float(s.duration * s.time_base) if s.duration else c.duration / 1e6
        return int(s.frames), s.width, s.height, dur


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0, help="long 1080p clip (3)")
    ap.add_argument("--minutes-4k", type=float, default=1.0, help="4K clip (1)")
    ap.add_argument("--only", nargs="*", default=None,
                    choices=["short", "1080", "long", "4k12s", "4k"],
                    help="run only these clips")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir())
                    / "formcheck-bench", help="where the generated clips are kept")
    ap.add_argument("--full", action="store_true", help="also write HTML and annotated video")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    clips: dict[str, Path] = {"short": SAMPLE}
    names = ("short", "1080", "long", "4k12s", "4k")
    want = set(args.only or names)
    same_size = {"long": "1080", "4k": "4k12s"}
    if want & {"1080", "long"}:
        clips["1080"] = make_segment(args.cache / "seg_1080.mp4", 1080, 1920)
        clips["long"] = loop_clip(clips["1080"], args.cache
                                  / f"long_1080_{args.minutes:g}min.mp4", args.minutes)
    if want & {"4k12s", "4k"}:
        clips["4k12s"] = make_segment(args.cache / "seg_2160.mp4", 2160, 3840)
        clips["4k"] = loop_clip(clips["4k12s"], args.cache
                                / f"long_2160_{args.minutes_4k:g}min.mp4", args.minutes_4k)
    print(f"{'clip':<6} {'size':>10} {'length':>8} {'frames':>7} {'peak RSS':>9} "
          f"{'RSS at 25/50/75 %':>20} {'wall':>7}  {'vs sample':>9}  {'vs 12 s':>8}")
    peaks: dict[str, float] = {}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if name not in want:
                continue
            video = clips[name]
            n, w, h, dur = frames_and_size(video)
            r = measure(video, Path(tmp) / name, args.full)
            peak = peaks[name] = float(r["peak_mb"])  # type: ignore[arg-type]
            base = peaks.get("short")
            rel = f"{100 * (peak / base - 1):+.1f} %" if base else "-"
            ref = peaks.get(same_size.get(name, ""))
            rel12 = f"{100 * (peak / ref - 1):+.1f} %" if ref else "-"
            qs = "/".join(f"{x:.0f}" for x in r["rss_quartiles_mb"])  # type: ignore[union-attr]
            print(f"{name:<6} {w:>4}x{h:<5} {dur / 60:>6.1f}m {n:>7} {peak:>7.0f}MB "
                  f"{qs:>18}MB {float(r['wall_s']):>6.0f}s  {rel:>9}  {rel12:>8}", flush=True)
            if r["rc"] != 0:
                ok = False
                print(f"       exit {r['rc']}: {r['stderr']}")
    print("(peak RSS of the formcheck process, from wait4; timings under the machine's "
          "current load)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
