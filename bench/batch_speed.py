"""Batch throughput: recordings per minute with 1 and 2 local jobs, and the scaling ratio.

Builds an input folder of N copies of the sample clip (optionally cut to a shorter length by
stream copy), then times ``formcheck.batch.run_batch`` (the code behind ``formcheck batch``,
worker-process startup included) for each configuration:

* jobs = 1 and 2 with the BLAS/OpenMP pools of each worker pinned to 1 thread
  (``OMP_NUM_THREADS=1`` etc., the default of ``formcheck batch``), and
* the same with the libraries' default thread counts,

so the effect of pinning is measured, not assumed.  Besides wall time it prints the worker
processes' CPU time (user + system) per recording, which is less sensitive to other load on
the machine than wall time.  Goal: >= 1.7x recordings/min with 2 jobs
over 1 job on a 2-core machine.  Figures are wall-clock and noisy on a shared machine; run it
on an idle one for decisions.

Usage::

    python bench/batch_speed.py [--copies 4] [--seconds 12] [--video] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_videos" / "treadmill_side_30fps.mp4"


def cut_clip(src: Path, dst: Path, seconds: float) -> None:
    """Copy the first ``seconds`` (video time) of ``src`` to ``dst`` without re-encoding."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s = inp.streams.video[0]
        o = out.add_stream_from_template(s)
        for pkt in inp.demux(s):
            if pkt.dts is None:
                continue
            if pkt.pts is not None and float(pkt.pts * s.time_base) >= seconds:
                continue
            pkt.stream = o
            out.mux(pkt)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=4, help="copies of the clip (recordings)")
    ap.add_argument("--seconds", type=float, default=12.0,
                    help="clip length (s); the sample is 12 s")
    ap.add_argument("--video", action="store_true", help="also write annotated.mp4")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per configuration")
    args = ap.parse_args()

    from formcheck.batch import run_batch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    tmp = Path(tempfile.mkdtemp(prefix="formcheck-batch-bench-"))
    try:
        inp = tmp / "in"
        inp.mkdir()
        first = inp / "clip00.mp4"
        if args.seconds < 12.0:
            cut_clip(SAMPLE, first, args.seconds)
        else:
            shutil.copyfile(SAMPLE, first)
        for i in range(1, args.copies):
            shutil.copyfile(first, inp / f"clip{i:02d}.mp4")
        print(f"input: {args.copies} copies of {SAMPLE.name} cut to {args.seconds:g} s, "
              f"video={'yes' if args.video else 'no'}; {cores} usable cores, load average "
              f"{os.getloadavg()[0]:.2f} at start")
        configs = [(1, 1), (2, 1), (1, None), (2, None)]
        walls: dict[tuple[int, int | None], list[float]] = {c: [] for c in configs}
        cpus: dict[tuple[int, int | None], list[float]] = {c: [] for c in configs}
        for r in range(args.repeat):  # configurations interleaved, so load drifts hit all
            for jobs, threads in configs:
                out = tmp / f"out_{jobs}_{threads}_{r}"
                ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                res = run_batch(inp, out, {}, jobs=jobs, html=True, video=args.video,
                                threads=threads)
                walls[(jobs, threads)].append(time.perf_counter() - t0)
                ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus[(jobs, threads)].append(ru1.ru_utime - ru0.ru_utime
                                             + ru1.ru_stime - ru0.ru_stime)
                if res.n_failed:
                    print(f"  {res.n_failed} recordings failed: "
                          f"{[r['reason'] for r in res.rows if r['reason']]}")
                    return 1
        rate: dict[tuple[int, int | None], float] = {}
        for jobs, threads in configs:
            t = statistics.median(walls[(jobs, threads)])
            cpu = statistics.median(cpus[(jobs, threads)]) / args.copies
            rate[(jobs, threads)] = 60.0 * args.copies / t
            label = "pinned to 1 thread" if threads else "library default threads"
            runs = ", ".join(f"{w:.1f}" for w in walls[(jobs, threads)])
            print(f"jobs={jobs} ({label:23s}): {t:6.1f} s wall (runs: {runs}) -> "
                  f"{rate[(jobs, threads)]:5.2f} recordings/min; worker CPU "
                  f"{cpu:5.1f} s per recording")
        for threads, label in ((1, "pinned"), (None, "default threads")):
            ratio = rate[(2, threads)] / rate[(1, threads)]
            print(f"scaling 2 jobs / 1 job ({label}): {ratio:.2f}x (goal >= 1.7x)")
        best = max(rate, key=lambda k: rate[k])
        print(f"fastest: jobs={best[0]}, "
              f"{'pinned' if best[1] else 'default threads'}; load average at end "
              f"{os.getloadavg()[0]:.2f} (figures are noisy when the machine is shared)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
