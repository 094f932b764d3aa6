"""Legacy-MediaPipe reference landmarks, and a check of the rebuilt bundle
against them.

Two modes, each for its own virtualenv (this is a model-provenance tool, not
part of the formcheck package):

1. Generate (in the throwaway venv with ``mediapipe==0.10.21``)::

       /work/venv_legacy/bin/python models/legacy_reference.py

   Runs the legacy ``mp.solutions.pose.Pose(static_image_mode=True,
   model_complexity=1)`` (BlazePose *full*) on ~30 evenly spaced frames of
   ``treadmill_side_30fps.mp4`` and writes ``tests/data/legacy_pose_reference.npz``:

   * ``frame_indices`` (N,) int32 - 0-based decode order indices
   * ``landmarks_px``  (N, 33, 2) float32 - image landmarks in PIXELS
     (x * width, y * height); NaN where legacy found no pose
   * ``z``             (N, 33) float32 - legacy normalised z (same scale as x)
   * ``visibility``    (N, 33) float32
   * ``detected``      (N,) bool
   * ``image_size``    (2,) int32 - (width, height)
   * ``mediapipe_version``, ``video_sha256`` - strings, provenance

2. Compare (in the runtime venv with ``mediapipe`` 1.x)::

       /work/venv/bin/python models/legacy_reference.py --compare

   Runs ``models/pose_landmarker_full.task`` with the Tasks ``PoseLandmarker``
   in IMAGE mode on the same frames and prints the per-landmark pixel distance
   to the reference (median, p95, max) and the time per ``detect`` call.

Frames are decoded with PyAV (``frame.to_ndarray(format="rgb24")``). The clip
is 720x1280 portrait with an identity display matrix (no rotation side data),
but any rotation that PyAV reports is applied anyway so both modes see the
same upright image.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_VIDEO = os.path.join(
    os.path.dirname(REPO), "shared", "videos", "treadmill_side_30fps.mp4"
)
DEFAULT_NPZ = os.path.join(REPO, "tests", "data", "legacy_pose_reference.npz")
DEFAULT_MODEL = os.path.join(HERE, "pose_landmarker_full.task")
N_FRAMES = 30
N_LANDMARKS = 33


def _rotation_degrees(frame) -> int:
    """Display rotation of a decoded frame in degrees counter-clockwise, 0..270.

    PyAV (>= 14) exposes FFmpeg's av_display_rotation_get() as
    ``frame.rotation``: the angle by which the display matrix rotates the
    picture counter-clockwise (a phone clip tagged "rotate=90" gives -90).
    """
    rot = getattr(frame, "rotation", 0) or 0
    return int(round(rot)) % 360


def _upright(rgb: np.ndarray, rotation_ccw: int) -> np.ndarray:
    if rotation_ccw == 0:
        return rgb
    # np.rot90 with k > 0 rotates counter-clockwise, like the display matrix.
    return np.ascontiguousarray(np.rot90(rgb, k=rotation_ccw // 90))


def read_frames(video: str, indices) -> dict:
    """Decode the frames with the given indices as upright RGB uint8 arrays."""
    import av

    wanted = set(int(i) for i in indices)
    out = {}
    with av.open(video) as container:
        stream = container.streams.video[0]
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                out[i] = _upright(frame.to_ndarray(format="rgb24"), _rotation_degrees(frame))
                if len(out) == len(wanted):
                    break
    missing = wanted - set(out)
    if missing:
        raise RuntimeError("frames not decoded: %s" % sorted(missing))
    return out


def count_frames(video: str) -> int:
    import av

    with av.open(video) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        return sum(1 for _ in container.decode(stream))


def frame_indices(video: str, n: int = N_FRAMES) -> np.ndarray:
    total = count_frames(video)
    return np.unique(np.linspace(0, total - 1, n).round().astype(np.int32))


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def generate(video: str, out_path: str) -> None:
    import mediapipe as mp

    if not hasattr(mp, "solutions"):
        sys.exit("generate mode needs the legacy mediapipe==0.10.21 (mp.solutions)")
    idx = frame_indices(video)
    frames = read_frames(video, idx)
    n = len(idx)
    px = np.full((n, N_LANDMARKS, 2), np.nan, np.float32)
    z = np.full((n, N_LANDMARKS), np.nan, np.float32)
    vis = np.full((n, N_LANDMARKS), np.nan, np.float32)
    detected = np.zeros(n, bool)
    h = w = None
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for k, i in enumerate(idx):
            rgb = frames[int(i)]
            h, w = rgb.shape[:2]
            res = pose.process(rgb)
            if res.pose_landmarks is None:
                continue
            detected[k] = True
            for j, lm in enumerate(res.pose_landmarks.landmark):
                px[k, j] = (lm.x * w, lm.y * h)
                z[k, j] = lm.z
                vis[k, j] = lm.visibility
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    np.savez_compressed(
        out_path,
        frame_indices=idx.astype(np.int32),
        landmarks_px=px,
        z=z,
        visibility=vis,
        detected=detected,
        image_size=np.array([w, h], np.int32),
        mediapipe_version=np.array(mp.__version__),
        video_sha256=np.array(sha256_file(video)),
    )
    print("wrote %s: %d frames, %d with a pose, image %dx%d"
          % (out_path, n, detected.sum(), w, h))


def compare(video: str, ref_path: str, model: str) -> None:
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    ref = np.load(ref_path)
    idx = ref["frame_indices"]
    if str(ref["video_sha256"]) != sha256_file(video):
        sys.exit("video does not match the one the reference was made from")
    frames = read_frames(video, idx)
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=model),
        running_mode=vision.RunningMode.IMAGE,
        num_poses=1,
    )
    n = len(idx)
    px = np.full((n, N_LANDMARKS, 2), np.nan, np.float32)
    vis = np.full((n, N_LANDMARKS), np.nan, np.float32)
    times = []
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        # Warm-up call (graph/delegate initialisation) not timed.
        landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=frames[int(idx[0])]))
        for k, i in enumerate(idx):
            rgb = frames[int(i)]
            h, w = rgb.shape[:2]
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            t0 = time.perf_counter()
            result = landmarker.detect(image)
            times.append(time.perf_counter() - t0)
            if not result.pose_landmarks:
                continue
            for j, lm in enumerate(result.pose_landmarks[0]):
                px[k, j] = (lm.x * w, lm.y * h)
                vis[k, j] = lm.visibility
    both = ref["detected"] & ~np.isnan(px[:, 0, 0])
    d = np.linalg.norm(px[both] - ref["landmarks_px"][both], axis=-1)
    dv = np.abs(vis[both] - ref["visibility"][both])
    times_ms = np.array(times) * 1e3
    print("mediapipe %s vs legacy %s, %d frames (%d with a pose in both, "
          "legacy %d, tasks %d)" % (mp.__version__, ref["mediapipe_version"], n,
                                    both.sum(), ref["detected"].sum(),
                                    (~np.isnan(px[:, 0, 0])).sum()))
    print("pixel distance over %d landmarks: median %.3f px, p95 %.3f px, max %.3f px"
          % (d.size, np.median(d), np.percentile(d, 95), d.max()))
    print("per-frame max distance: %s" % np.round(d.max(axis=1), 2).tolist())
    print("visibility abs diff: median %.4f, max %.4f" % (np.median(dv), dv.max()))
    print("detect() time per frame (IMAGE mode, %d frames): median %.1f ms, "
          "mean %.1f ms" % (len(times_ms), np.median(times_ms), times_ms.mean()))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--compare", action="store_true",
                   help="check the .task bundle (mediapipe 1.x) against the reference")
    p.add_argument("--video", default=DEFAULT_VIDEO)
    p.add_argument("--reference", default=DEFAULT_NPZ)
    p.add_argument("--model", default=DEFAULT_MODEL)
    args = p.parse_args(argv)
    if args.compare:
        compare(args.video, args.reference, args.model)
    else:
        generate(args.video, args.reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
