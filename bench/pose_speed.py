"""Speed of the pose stage: decode alone, model alone, the whole stage, and model input size.

Prints frames per second (video frames processed per wall-clock second) for:

* **decode**: ``formcheck.video.iter_frames`` over the whole clip (PyAV decode, rotation,
  RGB conversion and the scaling to ``model_side_px``), no model;
* **model**: ``PoseModel.detect`` alone, on the first ``--segment`` frames decoded into
  memory beforehand (only the detect calls are timed);
* **stage**: ``formcheck.pose.extract`` over the whole clip (what ``formcheck pose`` runs);

and the **overhead ratio** = (stage time per frame) / (model time per frame); the goal is
<= 1.15, i.e. decoding and bookkeeping add at most 15 % to the model's own time.

Then, for each model input size (longest side in px handed to the model: 256, 384, 512, 640
and full size), the whole stage's speed and how far its landmarks are from the full-size
run: median and 95th percentile of the per-landmark image distance (px of the full upright
frame) over frames where both runs found the runner.  ``DEFAULT_MODEL_SIDE_PX`` in
``formcheck/pose.py`` is chosen from this table.

Timings are wall-clock and noisy on a shared machine: run it a few times and take the best
(``--repeat`` does that per measurement).

Usage::

    python bench/pose_speed.py [--video PATH] [--segment 90] [--repeat 2] [--sides 256,640,0]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from formcheck.pose import DEFAULT_MODEL_SIDE_PX, PoseModel, PoseSeries, extract
from formcheck.video import iter_frames, probe

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_videos" / "treadmill_side_30fps.mp4"


def decode_fps(video: Path, side: int | None) -> tuple[float, int]:
    """Frames per second of decoding the whole clip (frames scaled to ``side``), and the
    frame count."""
    t = time.perf_counter()
    n = 0
    for _ in iter_frames(video, max_side_px=side):
        n += 1
    return n / (time.perf_counter() - t), n


def model_fps(video: Path, side: int | None, segment: int) -> float:
    """Frames per second of ``PoseModel.detect`` alone over the first ``segment`` frames,
    pre-decoded (the first call, which initialises the graph, is not timed)."""
    frames = [fr for fr, _ in zip(iter_frames(video, max_side_px=side), range(segment),
                                  strict=False)]
    with PoseModel() as model:
        model.detect(frames[0].image, frames[0].video_t_s)
        t = time.perf_counter()
        for fr in frames[1:]:
            model.detect(fr.image, fr.video_t_s)
        dt = time.perf_counter() - t
    return (len(frames) - 1) / dt


def stage(video: Path, side: int | None) -> tuple[float, PoseSeries]:
    """Frames per second of the whole pose stage, and its result."""
    t = time.perf_counter()
    ps = extract(video, model_side_px=side, progress=False)
    return ps.n_frames / (time.perf_counter() - t), ps


def landmark_diff(a: PoseSeries, ref: PoseSeries) -> tuple[float, float, float]:
    """Median and p95 distance (px) between matching landmarks of ``a`` and ``ref``, and the
    fraction of frames where both found the runner."""
    both = a.detected & ref.detected
    d = np.linalg.norm(a.xy_px[both] - ref.xy_px[both], axis=-1)
    if d.size == 0:
        return float("nan"), float("nan"), 0.0
    return float(np.median(d)), float(np.percentile(d, 95)), float(both.mean())


def best(fn, repeat: int):  # noqa: ANN001, ANN201 - tiny helper
    """Run ``fn`` ``repeat`` times; keep the result with the highest first element (fps)."""
    out = None
    for _ in range(repeat):
        r = fn()
        if out is None or r[0] > out[0]:
            out = r
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=SAMPLE)
    ap.add_argument("--segment", type=int, default=90,
                    help="frames held in memory for the model-alone timing")
    ap.add_argument("--repeat", type=int, default=2, help="take the best of N runs")
    ap.add_argument("--sides", default="256,384,512,640,0",
                    help="model input sizes to compare (longest side px; 0 = full size)")
    args = ap.parse_args()
    info = probe(args.video)
    side = DEFAULT_MODEL_SIDE_PX
    print(f"{args.video.name}: {info.codec} {info.width_px}x{info.height_px}, "
          f"{info.n_frames_reported} frames; DEFAULT_MODEL_SIDE_PX = {side}; "
          f"best of {args.repeat}")

    dec, n = best(lambda: decode_fps(args.video, side), args.repeat)
    dec_full, _ = best(lambda: decode_fps(args.video, None), args.repeat)
    mod = best(lambda: (model_fps(args.video, side, args.segment),), args.repeat)[0]
    whole, _ = best(lambda: stage(args.video, side), args.repeat)
    print(f"decode alone      : {dec:7.1f} fps at model size ({dec_full:.1f} fps full size)")
    print(f"model alone       : {mod:7.1f} fps ({args.segment} pre-decoded frames)")
    print(f"whole pose stage  : {whole:7.1f} fps ({n} frames)")
    print(f"overhead ratio    : {mod / whole:7.3f}  (stage time / model time; goal <= 1.15)")

    sides = [int(s) or None for s in args.sides.split(",")]
    runs: dict[int | None, tuple[float, PoseSeries]] = {}
    for s in sides:
        runs[s] = best(lambda s=s: stage(args.video, s), args.repeat)
    ref = runs[None][1] if None in runs else stage(args.video, None)[1]
    print("\nmodel input size  stage fps  model fps  median / p95 diff vs full (px)  both found")
    for s in sides:
        fps, ps = runs[s]
        mfps = best(lambda s=s: (model_fps(args.video, s, args.segment),), args.repeat)[0]
        med, p95, both = landmark_diff(ps, ref)
        label = "full" if s is None else str(s)
        print(f"{label:>16}  {fps:9.1f}  {mfps:9.1f}  {med:10.2f} / {p95:6.2f}"
              f"{'':>18}{100 * both:6.1f} %")


if __name__ == "__main__":
    main()
