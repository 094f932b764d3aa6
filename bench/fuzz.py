"""Long fuzz run: many seeded mutations of a short clip through ``formcheck analyze``.

The same mutations as ``tests/test_fuzz.py`` (which runs 24 seeds), over more seeds.  Prints,
per exit code and per mutation kind, how many runs ended there, then every problem (signal
death, hang, exit 1, traceback, half-written output) with its seed, so a failure can be
replayed with ``--start SEED -n 1``.

Usage::

    python bench/fuzz.py 200            # seeds 0..199, one run at a time
    python bench/fuzz.py 500 --start 1000 --jobs 2 --keep /tmp/fuzz

Exit status: 0 when every run was acceptable, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_fuzz import KINDS, TIMEOUT_S, make_base_clip, run_case  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, nargs="?", default=100, help="number of seeds (100)")
    ap.add_argument("--start", type=int, default=0, help="first seed (0)")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (1)")
    ap.add_argument("--seconds", type=float, default=1.5, help="base clip length, s (1.5)")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="hang limit per run, s")
    ap.add_argument("--keep", type=Path, default=None,
                    help="keep the damaged files and outputs in this folder")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="formcheck-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    base = make_base_clip(work / "base.mp4", seconds=args.seconds).read_bytes()
    seeds = list(range(args.start, args.start + args.n))
    by_code: collections.Counter[str] = collections.Counter()
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    bad: list[tuple[int, str, list[str], str]] = []
    t0 = time.perf_counter()

    def one(seed: int) -> None:
        desc, res, problems = run_case(base, seed, work, timeout_s=args.timeout)
        code = "hang" if res is None else str(res.returncode)
        by_code[code] += 1
        by_kind[KINDS[seed % len(KINDS)]][code] += 1
        if problems:
            tail = "" if res is None else res.stderr.strip()[-400:]
            bad.append((seed, desc, problems, tail))
        if args.keep is None:
            shutil.rmtree(work / f"seed{seed}", ignore_errors=True)
        done = sum(by_code.values())
        print(f"\r{done}/{len(seeds)} runs, {len(bad)} problem(s)", end="", file=sys.stderr,
              flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(one, seeds))
    dt = time.perf_counter() - t0
    print(file=sys.stderr)
    print(f"{len(seeds)} runs (seeds {seeds[0]}..{seeds[-1]}) in {dt:.0f} s "
          f"({dt / len(seeds):.1f} s per run, {args.jobs} at a time)")
    print("exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(by_code.items())))
    for kind in KINDS:
        c = by_kind.get(kind, {})
        print(f"  {kind:<14} " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))
    for seed, desc, problems, tail in sorted(bad):
        print(f"PROBLEM seed {seed} ({desc}): {'; '.join(problems)}\n    {tail}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"files kept in {work}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
