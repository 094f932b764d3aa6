"""The pose stage on one clip with several worker processes: time segments joined at seams.

The model runs in one thread, so one landmarker uses one core.  Here a clip is cut into
time segments, each run by its own worker process with its own landmarker in VIDEO mode
(the model tracks from frame to frame, so a landmarker must see its frames in order).  Where
the segments start and end, the overlap each later segment runs first, and the seam where
two segments' landmarks are joined are :mod:`formcheck.pose_segments` (its public names are
importable from here too).

Only the one-person tracking run is split (:func:`formcheck.pose.extract`); the census of
everyone in view (:func:`formcheck.api.run_pose`, :mod:`formcheck.people`) runs in one pass.
The join works on the people each worker returned per frame (:func:`select_people`).

Each worker appends its landmarks to a file in a temporary folder while it runs (deleted at
the end, even on errors or Ctrl-C), so a worker's memory is the single-worker stage's and does
not grow with the clip's length.

Worker processes are spawned (``spawn`` start method, safe with threads) and take
~0.3-0.5 s to import their modules and load the model; :class:`PosePool` starts them ahead
of the work (the CLI: as soon as the input has passed its checks) so that this overlaps the
caller's own start-up, and the same pool renders the annotated video's pieces.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
from array import array
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from formcheck.errors import ModelError, OutputWriteError
from formcheck.pose_segments import (
    AGREE_FRAMES,
    MIN_SEGMENT_S,
    OVERLAP_S,
    ROW_VALUES,
    SETTLE_S,
    SKIP_COST,
    Joined,
    Segment,
    SegmentResult,
    choose_seam,
    join_segments,
    plan_segments,
    select_people,
)
from formcheck.video import Timeline, VideoInfo

__all__ = ["AGREE_FRAMES", "MIN_SEGMENT_S", "OVERLAP_S", "ROW_VALUES", "SETTLE_S", "SKIP_COST",
           "Joined", "PosePool", "Segment", "SegmentResult", "choose_seam", "extract_parallel",
           "join_segments", "plan_segments", "resolve_jobs", "select_people", "usable_cores",
           "worker_deaths"]

def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def resolve_jobs(jobs: int | None) -> int:
    """Worker processes for one clip: ``jobs``, or the usable cores when None (>= 1)."""
    return max(1, int(jobs) if jobs else usable_cores())



# ---- the worker process -------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    path: str
    model_path: str | None
    num_poses: int
    model_side_px: int | None
    rotation_deg: int
    decode_pts: int
    run_pts: int
    end_pts: int | None
    seek: bool
    t0_s: float
    time_base: Fraction
    out_file: str


def _init_worker() -> None:
    """Worker start-up: Ctrl-C is the parent's to handle (it stops the workers), so it
    prints no traceback from each worker; quiet native logs; import what the task needs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("GLOG_minloglevel", "2")
    from formcheck.pose_model import mediapipe_pose_api

    mediapipe_pose_api()


def _warm() -> int:
    """Called once per worker right after the pool starts, so the imports happen early."""
    return os.getpid()


def _run_segment(task: _Task) -> SegmentResult:
    from formcheck.pose_model import PoseModel
    from formcheck.prefetch import Prefetch
    from formcheck.video import iter_segment

    tb = task.time_base
    pts_out = array("q")
    counts = array("h")
    # seeks to the keyframe at or before run_pts (decode_pts) and skips the frames in
    # between without converting them
    frames = iter_segment(task.path, task.run_pts, task.end_pts, task.rotation_deg,
                          max_side_px=task.model_side_px, seek=task.seek)
    try:
        fh = open(task.out_file, "wb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise OutputWriteError(f"cannot create a temporary file ({exc.strerror}); set TMPDIR "
                               "to a writable folder") from exc
    with fh, Prefetch(frames) as decoded, \
            PoseModel(task.model_path, num_poses=task.num_poses) as model:
        for pts, img in decoded:
            people = model.detect(img, float(pts * tb) - task.t0_s)
            try:
                for a, w in people:
                    fh.write(np.concatenate([a, w], axis=1, dtype=np.float32).tobytes())
            except OSError as exc:
                raise OutputWriteError(f"cannot write the temporary landmarks file "
                                       f"({exc.strerror}); free some space or set TMPDIR"
                                       ) from exc
            pts_out.append(pts)
            counts.append(len(people))
    return SegmentResult(pts=np.frombuffer(pts_out, dtype=np.int64).copy(),
                         counts=np.frombuffer(counts, dtype=np.int16).copy(),
                         out_file=task.out_file)


class PosePool:
    """Worker processes for the pose model, started ahead of the work.

    Args:
        n_workers: processes to start (>= 2 to be useful).

    Use as a context manager; :meth:`close` stops the workers (waiting for none of their
    work when leaving because of an error or Ctrl-C).
    """

    def __init__(self, n_workers: int) -> None:
        self.n_workers = int(n_workers)
        self._ex = ProcessPoolExecutor(max_workers=self.n_workers,
                                       mp_context=mp.get_context("spawn"),
                                       initializer=_init_worker)
        self._warm = [self._ex.submit(_warm) for _ in range(self.n_workers)]

    def submit(self, fn: object, *args: object) -> Future:
        return self._ex.submit(fn, *args)  # type: ignore[arg-type]

    def close(self, wait: bool = True) -> None:
        """Stop the workers: after their work (``wait``), or at once (terminated); either
        way they are reaped before this returns, so none outlives the caller."""
        if not wait:
            for p in list((getattr(self._ex, "_processes", None) or {}).values()):
                p.terminate()
        self._ex.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PosePool:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(wait=exc_type is None)


def extract_parallel(
    path: str | os.PathLike[str],
    info: VideoInfo,
    tl: Timeline,
    n_workers: int,
    model_path: str | os.PathLike[str] | None = None,
    num_poses: int = 1,
    model_side_px: int | None = None,
    pool: PosePool | None = None,
    progress: bool | None = None,
) -> tuple[object, Joined] | None:
    """Run the pose model over ``path`` in time segments on ``n_workers`` processes.

    Returns:
        (the :class:`formcheck.pose.PoseSeries`, the :class:`Joined` people of every
        frame), or None when the clip is too short to split, a segment's frames did not
        match ``tl``, or a worker failed other than on the model or the temporary folder
        (e.g. a damaged stretch, or a worker killed): the caller then runs one pass.
    """
    from formcheck.pose_series import series_from_rows

    segs = plan_segments(tl, n_workers)
    if len(segs) < 2:
        return None
    own = pool is None
    if own:
        pool = PosePool(len(segs))
    assert pool is not None
    ok = False
    tmpdir = None
    try:
        tmpdir = _mkdtemp()
        t0 = float(int(tl.pts[0]) * tl.time_base)
        futs = []
        for k, seg in enumerate(segs):
            task = _Task(
                path=str(path), model_path=None if model_path is None else str(model_path),
                num_poses=num_poses, model_side_px=model_side_px,
                rotation_deg=info.rotation_deg, decode_pts=int(tl.pts[seg.decode_start]),
                run_pts=int(tl.pts[seg.run_start]),
                end_pts=None if seg.keep_end >= tl.n_frames else int(tl.pts[seg.keep_end]),
                seek=seg.decode_start > 0, t0_s=t0, time_base=tl.time_base,
                out_file=os.path.join(tmpdir, f"segment-{k}.f32"))
            futs.append(pool.submit(_run_segment, task))
        try:
            results = _gather(futs, tl, progress, info)
        except (ModelError, OutputWriteError):
            raise  # the one pass would fail the same way
        except Exception:  # noqa: BLE001 - e.g. a damaged stretch one pass decodes past
            return None  # the caller runs the clip in one pass, with its own errors
        joined = join_segments(tl, segs, results, info.width_px, info.height_px)
        if joined is None:
            return None
        t_s = tl.video_t_s / info.slowmo
        data = select_people(joined.counts, joined.rows, t_s, num_poses)
        series = series_from_rows(data, t_s, np.arange(tl.n_frames, dtype=np.int32),
                                  joined.counts, info, model_path)
        ok = True
        return series, joined
    finally:
        if own:
            pool.close(wait=ok)
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _gather(futs: list[Future], tl: Timeline, progress: bool | None, info: VideoInfo
            ) -> list[SegmentResult]:
    """Wait for the workers (a bar per finished segment's frames when ``progress``)."""
    import sys
    from concurrent.futures import FIRST_COMPLETED, wait

    from tqdm import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    pending = set(futs)
    with worker_deaths(), tqdm(total=tl.n_frames, disable=not progress, unit="frame",
                               desc=Path(info.path).name[:30], leave=False) as bar:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                bar.update(len(f.result().pts))
        return [f.result() for f in futs]


@contextlib.contextmanager
def worker_deaths() -> Iterator[None]:
    """Turn a worker process that died (killed, out of memory, a crash in native code) into
    a one-line :class:`~formcheck.errors.FormcheckError` (exit 1) saying what to try."""
    from concurrent.futures.process import BrokenProcessPool

    from formcheck.errors import FormcheckError

    try:
        yield
    except BrokenProcessPool as exc:
        raise FormcheckError("a worker process stopped unexpectedly (out of memory, or "
                             "killed); try again with --jobs 1") from exc


def _mkdtemp() -> str:
    try:
        return tempfile.mkdtemp(prefix="formcheck-pose-")
    except OSError as exc:
        raise OutputWriteError(f"cannot create a temporary folder ({exc.strerror}); set "
                               "TMPDIR to a writable folder") from exc
