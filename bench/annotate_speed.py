"""Speed of the annotated video (``annotated.mp4``) compared with the pose model.

Prints milliseconds per video frame for each stage of :func:`formcheck.annotate.write_annotated`
on a clip (default: the sample), measured stage by stage on the same loop the function runs:

* **decode**: ``formcheck.video.iter_frames`` at full size (PyAV decode, RGB, rotation);
* **scale**: resizing to the output size (``--max-side``, OpenCV bilinear);
* **draw**: every overlay (:meth:`formcheck.annotate.Painter.draw`);
* **encode**: ``VideoWriter.write`` (RGB -> YUV 4:2:0 and libx264 at ``--preset``) plus the
  final flush, divided by the frame count;
* **total**: one real ``write_annotated`` call end to end (wall clock);

and, for comparison, the **pose model** (``PoseModel.detect`` alone, on frames decoded at the
model's input size), which dominates ``formcheck analyze``.  The goal: draw + encode cost less
per frame than the pose model.

Timings are wall-clock and noisy on a shared machine: the load average is printed with them;
``--repeat`` keeps the best of several runs per measurement.

Usage::

    python bench/annotate_speed.py [--video PATH] [--max-side 1080] [--preset veryfast]
                                   [--repeat 1] [--pose-frames 120]

Figures when this was written (sample clip, output 608x1080, 2 cores shared with other
jobs at load average 6-9, so every stage ran 2-4x slower than on an idle machine; the
ratio is what matters), ms/frame: decode 7.4, scale 1.3, draw 3.5, encode 13.7 (superfast;
veryfast: 19-40 and a file 1/3 smaller), total 26-37, pose model 29-39; draw + encode
44-60 % of the pose model with superfast, 69-109 % with veryfast, hence
``annotate.X264_PRESET = "superfast"`` (4.0 MB for the 12 s sample).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from formcheck import annotate
from formcheck.api import Options, analyze_pose
from formcheck.pose import DEFAULT_MODEL_SIDE_PX, PoseModel, extract
from formcheck.video import VideoWriter, iter_frames, probe

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_videos" / "treadmill_side_30fps.mp4"


def pose_model_ms(video: Path, n_frames: int) -> float:
    """ms per frame of ``PoseModel.detect`` alone on the first ``n_frames`` frames."""
    frames = []
    for fr in iter_frames(video, max_side_px=DEFAULT_MODEL_SIDE_PX):
        frames.append(fr)
        if len(frames) >= n_frames:
            break
    with PoseModel() as model:
        model.detect(frames[0].image, frames[0].video_t_s)  # warm-up (graph start)
        t0 = time.perf_counter()
        for fr in frames[1:]:
            model.detect(fr.image, fr.video_t_s)
        return 1000.0 * (time.perf_counter() - t0) / max(1, len(frames) - 1)


def stage_ms(analysis: object, video: Path, max_side: int, preset: str, out: Path
             ) -> dict[str, float]:
    """ms per frame of decode, scale, draw and encode, timed inside one annotation loop."""
    import cv2

    info = probe(video)
    W, H = annotate.output_size(info.width_px, info.height_px, max_side)
    painter = annotate.Painter(analysis, W, H)
    t = {"decode": 0.0, "scale": 0.0, "draw": 0.0, "encode": 0.0}
    n = 0
    writer = VideoWriter(out, W, H, info.nominal_fps, preset=preset)
    frames = iter_frames(video)
    while True:
        a = time.perf_counter()
        fr = next(frames, None)
        b = time.perf_counter()
        t["decode"] += b - a
        if fr is None:
            break
        img = fr.image
        if img.shape[1] != W or img.shape[0] != H:
            img = cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR)
        else:
            img = img.copy()
        c = time.perf_counter()
        t["scale"] += c - b
        painter.draw(img, fr.index, fr.t_s, fr.video_t_s)
        d = time.perf_counter()
        t["draw"] += d - c
        writer.write(img, fr.video_t_s)
        t["encode"] += time.perf_counter() - d
        n += 1
    a = time.perf_counter()
    writer.close()
    t["encode"] += time.perf_counter() - a
    return {k: 1000.0 * v / max(1, n) for k, v in t.items()} | {"frames": float(n)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=SAMPLE)
    ap.add_argument("--max-side", type=int, default=1080)
    ap.add_argument("--preset", default=annotate.X264_PRESET,
                    help="x264 preset for the stage timings (the total always uses "
                         "annotate.X264_PRESET)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--pose-frames", type=int, default=120)
    args = ap.parse_args()

    print(f"clip: {args.video.name}, output longest side {args.max_side} px, "
          f"x264 preset {args.preset}, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    ps = extract(args.video, progress=False)
    analysis = analyze_pose(ps, Options())
    with tempfile.TemporaryDirectory() as tmp:
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            r = stage_ms(analysis, args.video, args.max_side, args.preset,
                         Path(tmp) / "stages.mp4")
            best = {k: min(v, best.get(k, np.inf)) for k, v in r.items()}
        total = np.inf
        for _ in range(args.repeat):
            a = time.perf_counter()
            annotate.write_annotated(analysis, None, Path(tmp) / "annotated.mp4",
                                     max_side_px=args.max_side, progress=False)
            total = min(total, 1000.0 * (time.perf_counter() - a) / ps.n_frames)
        size_kib = (Path(tmp) / "stages.mp4").stat().st_size / 1024
    model = min(pose_model_ms(args.video, args.pose_frames) for _ in range(args.repeat))
    print(f"{'stage':<26}{'ms/frame':>10}")
    for k in ("decode", "scale", "draw", "encode"):
        print(f"{k:<26}{best[k]:>10.1f}")
    print(f"{'draw + encode':<26}{best['draw'] + best['encode']:>10.1f}")
    print(f"{'total (write_annotated)':<26}{total:>10.1f}   (preset {annotate.X264_PRESET})")
    print(f"{'pose model (detect only)':<26}{model:>10.1f}")
    print(f"frames {int(best['frames'])}, file at preset {args.preset}: {size_kib:.0f} KiB; "
          f"draw + encode = {100 * (best['draw'] + best['encode']) / model:.0f} % of the pose "
          f"model; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
