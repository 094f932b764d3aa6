"""Where the time of ``formcheck analyze`` goes, against the pose model alone, in one run.

Measured in one run of this script (so a shared machine's load affects every figure alike),
each as wall-clock seconds and as a ratio to **model alone, one worker** (one landmarker in
this process, over frames decoded beforehand: only the ``detect`` calls are timed):

* ``formcheck pose`` (landmarks.npz/.csv), ``formcheck analyze --no-video`` (every report
  but annotated.mp4) and full ``formcheck analyze``, each as a fresh CLI process (imports,
  worker start-up and model load included), with ``--jobs 1`` and ``--jobs N``;
* the CPU time of each run's whole process tree (user + system), also as a ratio to the
  model's own CPU time: on a machine shared with other work this is the steadier figure,
  and ``CPU s / cores`` is the shortest wall time the run could take there;
* the peak memory (RSS) of each run: of the whole process tree (summed, sampled every
  20 ms) and of its largest single process (the main process or one worker);
* seams: the landmarks of ``extract(jobs=N)`` against ``extract(jobs=1)`` (px of the
  upright frame; the median over the landmarks of each frame, then the median over the
  frames after the first seam, and the jump at each seam), plus every summary metric of
  the two ``analyze --no-video`` runs side by side;
* the annotated video: size of annotated.mp4 with 1 and N jobs, and the encoder settings'
  quality (PSNR of the decoded video against the frames that were encoded, on the clip's
  own frames at the output size) and encoding CPU time with B-frames (the setting before
  parallel pieces) and without (now).

Every CLI measurement is repeated ``--repeat`` times (interleaved); the table shows the
best and the worst ratio.  The machine's load average is printed: figures from a machine
shared with other work are noisy.

Usage::

    python bench/pipeline_speed.py [--video PATH] [--jobs N] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_videos" / "treadmill_side_30fps.mp4"


def _tree_rss(pid: int) -> tuple[int, int]:
    """(sum, largest) RSS in bytes of ``pid`` and its descendants."""
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    rss = []
    for q in procs:
        try:
            rss.append(q.memory_info().rss)
        except psutil.Error:
            pass
    return (sum(rss), max(rss)) if rss else (0, 0)


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_cli(args: list[str]) -> tuple[float, int, int, float]:
    """Run ``python -m formcheck ARGS``; (wall s, peak tree RSS, peak single-process RSS,
    CPU s of the whole tree)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    c0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "formcheck", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0, 0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            s, m = _tree_rss(proc.pid)
            peak[0], peak[1] = max(peak[0], s), max(peak[1], m)
            stop.wait(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"formcheck {' '.join(args)} failed: {err.decode()[-500:]}")
    return wall, peak[0], peak[1], _children_cpu() - c0


def model_alone(video: Path) -> tuple[float, float]:
    """(wall s, CPU s) of ``PoseModel.detect`` over every frame (frames decoded
    beforehand)."""
    from formcheck.pose import DEFAULT_MODEL_SIDE_PX, PoseModel
    from formcheck.video import iter_frames

    frames = list(iter_frames(video, max_side_px=DEFAULT_MODEL_SIDE_PX))
    with PoseModel() as model:
        t0, c0 = time.perf_counter(), time.process_time()
        for f in frames:
            model.detect(f.image, f.video_t_s)
        return time.perf_counter() - t0, time.process_time() - c0


def seam_figures(video: Path, jobs: int) -> dict[str, object]:
    """Landmarks of N workers against one (px)."""
    from formcheck import pose_parallel as pp
    from formcheck.pose import DEFAULT_MODEL_SIDE_PX, extract
    from formcheck.video import probe, timeline

    one = extract(video, jobs=1, progress=False)
    info, tl = probe(video), timeline(video)
    if tl is None:
        return {"note": "timestamps do not allow segments: one pass"}
    res = pp.extract_parallel(video, info, tl, jobs, model_side_px=DEFAULT_MODEL_SIDE_PX,
                              progress=False)
    if res is None:
        return {"note": "clip too short for segments: one pass"}
    many, joined = res
    assert np.array_equal(one.t_s, many.t_s) and np.array_equal(one.frame_index,
                                                                many.frame_index)
    d = np.nanmedian(np.linalg.norm(one.xy_px - many.xy_px, axis=2), axis=1)
    first = joined.seams[0]
    return {
        "seams": list(joined.seams),
        "jump_at_seam_px": [round(x, 2) for x in joined.seam_px],
        "median_px_after_first_seam": round(float(np.nanmedian(d[first:])), 2),
        "p95_px_after_first_seam": round(float(np.nanpercentile(d[first:], 95)), 2),
        "median_px_all_frames": round(float(np.nanmedian(d)), 2),
        "median_px_at_seams_+-5_frames": round(float(np.nanmedian(np.concatenate(
            [d[max(0, s - 5):s + 5] for s in joined.seams]))), 2),
        "detected": [int(one.detected.sum()), int(many.detected.sum())],
    }


def encoder_quality(video: Path, max_side: int = 1080) -> list[tuple[str, float, float, float]]:
    """(setting, MB, PSNR dB, encode CPU s) of the clip's frames at the output size."""
    import av

    from formcheck import annotate
    from formcheck.video import VideoWriter, iter_frames, probe

    info = probe(video)
    W, H = annotate.output_size(info.width_px, info.height_px, max_side)
    frames = [f for f in iter_frames(video, max_side_px=max(W, H))]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, params in (("superfast, B-frames (before)", None),
                              (f"superfast, {annotate.X264_PARAMS} (now)",
                               annotate.X264_PARAMS),
                              (f"superfast, {annotate.X264_PARAMS}:threads=1 (a piece)",
                               annotate.X264_PARAMS + ":threads=1")):
            path = Path(tmp) / "v.mp4"
            c0 = time.process_time()
            with VideoWriter(path, W, H, info.nominal_fps, crf=annotate.X264_CRF,
                             preset=annotate.X264_PRESET, x264_params=params) as w:
                for f in frames:
                    w.write(f.image[:H, :W], f.video_t_s)
            cpu = time.process_time() - c0
            mse = []
            with av.open(str(path)) as c:
                for i, fr in enumerate(c.decode(video=0)):
                    a = fr.to_ndarray(format="rgb24").astype(np.float32)
                    mse.append(np.mean((a - frames[i].image[:H, :W]) ** 2))
            psnr = 10 * np.log10(255.0 ** 2 / float(np.mean(mse)))
            out.append((label, path.stat().st_size / 1e6, psnr, cpu))
    return out


def main() -> None:
    from formcheck.pose_parallel import usable_cores

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", type=Path, default=SAMPLE)
    ap.add_argument("--jobs", type=int, default=usable_cores())
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    N = max(2, a.jobs)
    print(f"clip {a.video.name}; {usable_cores()} usable cores; N = {N}; "
          f"load average {os.getloadavg()[0]:.1f}")
    base, base_cpu = model_alone(a.video)
    print(f"model alone, one worker: {base:.2f} s wall, {base_cpu:.2f} s CPU")
    cases = [("formcheck pose", ["pose"]), ("analyze --no-video", ["analyze", "--no-video"]),
             ("analyze (full)", ["analyze"])]
    rows: dict[tuple[str, int], list[tuple[float, int, int, float]]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="pipeline-speed-"))
    outs: dict[tuple[str, int], Path] = {}
    try:
        for r in range(a.repeat):
            for name, args in cases:
                for j in (1, N):
                    out = tmp / f"{args[0]}-{len(args)}-{j}-{r}"
                    rows.setdefault((name, j), []).append(
                        run_cli([*args, str(a.video), "-o", str(out), "-q", "--jobs", str(j)]))
                    outs[(name, j)] = out
                    if r == 0:
                        outs[(name, j, 0)] = out  # type: ignore[index]
        base2, _ = model_alone(a.video)
        print(f"model alone again at the end: {base2:.2f} s (load average "
              f"{os.getloadavg()[0]:.1f}); ratios use the first")
        print(f"\n{'':22}{'jobs':>5}{'wall s':>14}{'ratio':>14}{'CPU s':>8}{'CPU ratio':>10}"
              f"{'RSS tree MB':>13}{'largest MB':>12}")
        for name, _ in cases:
            for j in (1, N):
                m = rows[(name, j)]
                w = [x[0] for x in m]
                cpu = min(x[3] for x in m)
                print(f"{name:22}{j:>5}{min(w):>7.2f}-{max(w):<6.2f}"
                      f"{min(w) / base:>7.2f}-{max(w) / base:<6.2f}"
                      f"{cpu:>8.2f}{cpu / base_cpu:>10.2f}"
                      f"{max(x[1] for x in m) / 1e6:>13.0f}{max(x[2] for x in m) / 1e6:>12.0f}")
        for j in (1, N):
            mp4 = outs[("analyze (full)", j)] / "annotated.mp4"
            print(f"annotated.mp4 with {j} job(s): {mp4.stat().st_size / 1e6:.2f} MB")
        if a.repeat > 1:
            same = all(np.array_equal(np.load(outs[(n, N, 0)] / "landmarks.npz")["xy_px"],
                                      np.load(outs[(n, N)] / "landmarks.npz")["xy_px"],
                                      equal_nan=True)
                       for n in ("analyze --no-video", "analyze (full)"))
            print(f"landmarks of repeated runs with {N} jobs identical: {same}")
        r1 = json.loads((outs[("analyze --no-video", 1)] / "report.json").read_text())
        rN = json.loads((outs[("analyze --no-video", N)] / "report.json").read_text())
        print(f"\nsummary metrics, 1 job vs {N} jobs (value; spread = reported IQR/CI "
              "where given):")
        for k, v in r1["metrics"].items():
            w = rN["metrics"].get(k, {})
            print(f"  {k:34} {v.get('value')!s:>10} {w.get('value')!s:>10}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nseams (landmarks, jobs=N vs jobs=1):")
    for k, v in seam_figures(a.video, N).items():
        print(f"  {k}: {v}")
    print("\nencoder settings on the clip's frames at the output size:")
    for label, mb, psnr, cpu in encoder_quality(a.video):
        print(f"  {label:44} {mb:6.2f} MB  PSNR {psnr:5.2f} dB  encode CPU {cpu:5.2f} s")


if __name__ == "__main__":
    main()
