"""Pose stage: MediaPipe PoseLandmarker (BlazePose GHUM 3D, "full") over a whole clip.

One landmarker per clip, in VIDEO running mode, fed monotonic timestamps taken from the real
presentation timestamps.  The output :class:`PoseSeries` holds, per frame, the 33 image
landmarks in pixels of the upright frame, their relative depth ``z``, visibility and presence
(0-1), and world landmarks in metres (hip-centred, from the model).  Frames where no person
was found hold NaN.

The model itself (loading, which bundle, the lean mediapipe import) is
:mod:`formcheck.pose_model`; the series and its files are :mod:`formcheck.pose_series`.  Their
public names are importable from here too.
"""

from __future__ import annotations

import os
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from formcheck.errors import OutputWriteError
from formcheck.landmarks import N_LANDMARKS, hip_mid
from formcheck.pose_model import PACKAGED_MODEL, PoseModel, default_model_path, mediapipe_pose_api
from formcheck.pose_series import NPZ_BLOCK_BYTES, PoseSeries, series_from_rows
from formcheck.prefetch import PREFETCH_FRAMES, Prefetch
from formcheck.video import Frame, VideoInfo, iter_frames, probe

if TYPE_CHECKING:
    from formcheck.pose_parallel import PosePool

__all__ = ["DEFAULT_MODEL_SIDE_PX", "MAX_POSES", "NPZ_BLOCK_BYTES", "PACKAGED_MODEL",
           "PREFETCH_FRAMES", "PoseModel", "PoseSeries", "default_model_path", "extract",
           "extract_frames", "mediapipe_pose_api", "series_from_rows"]

#: Longest side (px) of the frames handed to the model: larger frames are scaled down (by
#: FFmpeg's swscale, from the decoded YUV, so no full-size RGB copy is ever made); None = the
#: full upright frame.  Measured with bench/pose_speed.py and bench/memory.py: up to
#: 1080p-class frames the model's time does not depend on the frame size (it resamples to
#: 224x224 for the detector and crops the body region to 256x256 for the landmarks), and
#: smaller frames change the landmarks (a frame scaled to 256-384 px starves the 256 px crop:
#: median 3.7-5.6 px from full size on the 720x1280 sample, vs 2.2 px for +-1 grey level of
#: noise), so frames up to 1920 px are used as they are.  A 4K frame holds nothing more the
#: 256 px crop can use, but costs 25 MB per RGB copy: scaled to 1920 px, the 4K sample's
#: landmarks move by a median 7 px (4K pixels), the same as between the 720p original and its
#: 4K upscale (7.1 px), and its metrics stay within that spread (cadence 168.5 vs 168.6).
DEFAULT_MODEL_SIDE_PX: int | None = 1920

#: Most people the model is asked for per frame: every one costs a landmark-model run (about
#: the model's single-person time again) and 1.06 kB per frame of memory.
MAX_POSES = 5


def _pick(people: list[tuple[np.ndarray, ...]], prev_xy: np.ndarray | None) -> int:
    """Index of the person to follow: nearest hip centre to the previous frame's, else the
    largest."""
    if len(people) == 1:
        return 0
    hips = [hip_mid(p[0][:, :2]) for p in people]
    if prev_xy is not None and np.all(np.isfinite(prev_xy)):
        return int(np.argmin([np.linalg.norm(h - prev_xy) for h in hips]))
    sizes = [np.ptp(p[0][:, 1]) for p in people]
    return int(np.argmax(sizes))


def extract(
    path: str | os.PathLike[str],
    model_path: str | os.PathLike[str] | None = None,
    slowmo: float = 1.0,
    model_side_px: int | None = DEFAULT_MODEL_SIDE_PX,
    num_poses: int = 1,
    progress: bool | None = None,
    on_frame: Callable[[Frame, np.ndarray | None], None] | None = None,
    jobs: int | None = 1,
    pool: PosePool | None = None,
) -> PoseSeries:
    """Run the pose model over every frame of a video.

    Args:
        path: video file.
        model_path: pose model bundle (``.task``); default: the packaged one.
        slowmo: slow-down factor (real time = video time / slowmo).
        model_side_px: longest side of the frames given to the model (None = full size).
        num_poses: how many people the model may return per frame (at most
            :data:`MAX_POSES`); with more than one, every person's landmarks are kept in
            ``PoseSeries.people`` for :mod:`formcheck.people` to track and choose from.
        progress: show a progress bar (default: when stderr is a terminal).
        on_frame: optional callback per frame (frame, xy_px [33,2] or None); runs the clip
            in one pass.
        jobs: worker processes for the clip (None = the usable cores); above 1, clips long
            enough are cut into time segments run in parallel and joined at seams
            (:mod:`formcheck.pose_parallel`).
        pool: worker processes already started (:class:`formcheck.pose_parallel.PosePool`),
            to hide their start-up; None = started here when needed.

    Returns:
        PoseSeries for the clip.
    """
    info = probe(path, slowmo=slowmo)
    if on_frame is None and (pool is not None or jobs is None or jobs > 1):
        from formcheck import pose_parallel
        from formcheck.video import timeline

        n = pool.n_workers if pool is not None else pose_parallel.resolve_jobs(jobs)
        tl = timeline(path) if n > 1 else None
        if tl is not None:
            res = pose_parallel.extract_parallel(path, info, tl, n, model_path=model_path,
                                                 num_poses=num_poses,
                                                 model_side_px=model_side_px, pool=pool,
                                                 progress=progress)
            if res is not None:
                return res[0]  # type: ignore[return-value]
    return extract_frames(iter_frames(path, slowmo=slowmo, max_side_px=model_side_px), info,
                          model_path=model_path, num_poses=num_poses, progress=progress,
                          on_frame=on_frame)


#: Values stored per landmark per frame: normalised x, y, z, visibility, presence, then the
#: world x, y, z (m).
_ROW_VALUES = 8


class _Rows:
    """Per-frame landmarks, appended to an unlinked temporary file while the model runs and
    read back once it is closed.

    The pose stage is the memory peak of an analysis (model, decoder, frames in flight), so
    keeping the landmarks (1.06 kB per frame, float32: the model's own precision) out of
    memory until then makes that peak independent of the clip's length; only the times
    (14 bytes per frame) stay in memory.  The file lives in the system temporary folder
    (``TMPDIR``) and disappears when closed, even after a crash.
    """

    def __init__(self, slots: int = 1) -> None:
        self.slots = slots  # fixed-size rows: the main person, then ``slots - 1`` people
        self.t_s = array("d")
        self.index = array("i")
        self.n_people = array("h")
        try:
            self._fh = tempfile.TemporaryFile(prefix="formcheck-landmarks-")
        except OSError as exc:
            raise OutputWriteError(f"cannot create a temporary file ({exc.strerror}); set "
                                   "TMPDIR to a writable folder") from exc
        self._nan = np.full((N_LANDMARKS, _ROW_VALUES), np.nan, np.float32).tobytes()

    def append(self, t_s: float, index: int, n_people: int, lm: np.ndarray | None,
               world: np.ndarray | None,
               people: list[tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        """Add a frame; ``lm`` [33, 5] normalised x, y, z, visibility, presence (None = no
        person), ``world`` [33, 3] m; with several slots, ``people`` (as
        :meth:`PoseModel.detect` returns them) fill slots 1.. (NaN where fewer)."""
        row = self._nan if lm is None or world is None else np.concatenate(
            [lm, world], axis=1, dtype=np.float32).tobytes()
        if self.slots > 1:
            found = list(people or [])[: self.slots - 1]
            row += b"".join(np.concatenate([a, w], axis=1, dtype=np.float32).tobytes()
                            for a, w in found)
            row += self._nan * (self.slots - 1 - len(found))
        try:
            self._fh.write(row)
        except OSError as exc:
            raise OutputWriteError(f"cannot write the temporary landmarks file "
                                   f"({exc.strerror}); free some space or set TMPDIR") from exc
        self.t_s.append(t_s)
        self.index.append(index)
        self.n_people.append(n_people)

    @property
    def n(self) -> int:
        return len(self.t_s)

    def read(self) -> np.ndarray:
        """All rows, [n, slots, 33, 8] float32; closes (and so deletes) the file."""
        with self._fh as fh:
            fh.flush()
            fh.seek(0)
            data = np.fromfile(fh, dtype=np.float32,
                               count=self.n * self.slots * N_LANDMARKS * _ROW_VALUES)
        return data.reshape(self.n, self.slots, N_LANDMARKS, _ROW_VALUES)

    def close(self) -> None:
        self._fh.close()


def extract_frames(
    frames: Iterable[Frame],
    info: VideoInfo,
    model_path: str | os.PathLike[str] | None = None,
    num_poses: int = 1,
    progress: bool | None = None,
    on_frame: Callable[[Frame, np.ndarray | None], None] | None = None,
) -> PoseSeries:
    """Run the model over already-decoded frames (see :func:`extract`).

    Landmarks wait in a temporary file until the model is closed (see :class:`_Rows`), so the
    stage's memory does not grow with the clip's length.
    """
    from tqdm import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    W, H = info.width_px, info.height_px
    num_poses = max(1, min(int(num_poses), MAX_POSES))
    multi = num_poses > 1
    rows = _Rows(1 + num_poses if multi else 1)
    prev: np.ndarray | None = None
    total = info.n_frames_reported or None
    try:
        with Prefetch(frames) as decoded, PoseModel(model_path, num_poses=num_poses) as model, \
                tqdm(total=total, disable=not progress, unit="frame",
                     desc=Path(info.path).name[:30], leave=False) as bar:
            for fr in decoded:
                people = model.detect(fr.image, fr.video_t_s)
                a = w = None
                if people:
                    k = _pick(people, prev)
                    a, w = people[k]
                    prev = hip_mid(a[:, :2])
                rows.append(fr.t_s, fr.index, len(people), a, w, people)
                if on_frame is not None:
                    on_frame(fr, None if a is None else a[:, :2].astype(np.float64) * (W, H))
                bar.update(1)
        data = rows.read()  # the model and decoder are closed: memory is at its lowest
    finally:
        rows.close()
    n_people = np.frombuffer(rows.n_people, dtype=np.int16).copy()
    people = None
    if multi:  # every person, for formcheck.people; slots beyond the most seen are dropped
        W, H = info.width_px, info.height_px
        keep = max(1, int(n_people.max()) if n_people.size else 1)
        people = np.ascontiguousarray(data[:, 1:1 + keep])
        people[..., :2] *= np.array([W, H], dtype=np.float32)
    data = np.ascontiguousarray(data[:, 0])
    return series_from_rows(data, np.frombuffer(rows.t_s, dtype=np.float64).copy(),
                            np.frombuffer(rows.index, dtype=np.int32).copy(), n_people, info,
                            model_path, people=people)
