"""Pose stage: MediaPipe PoseLandmarker (BlazePose GHUM 3D, "full") over a whole clip.

One landmarker per clip, in VIDEO running mode, fed monotonic timestamps taken from the real
presentation timestamps.  The output :class:`PoseSeries` holds, per frame, the 33 image
landmarks in pixels of the upright frame, their relative depth ``z``, visibility and presence
(0-1), and world landmarks in metres (hip-centred, from the model).  Frames where no person
was found hold NaN.

Model resolution order: ``--model PATH``, the ``FORMCHECK_MODEL`` environment variable, the
bundle shipped inside the package (``formcheck/models/pose_landmarker_full.task``).
See ``models/README.md`` for how the bundle was built and checked.
"""

from __future__ import annotations

import csv
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from formcheck.errors import ModelError
from formcheck.landmarks import N_LANDMARKS, NAMES
from formcheck.video import Frame, VideoInfo, iter_frames, probe

#: Longest side (px) of the frames handed to the model; None = the full upright frame.
#: Measured with bench/pose_speed.py: up to 1080p-class frames the model's time does not
#: depend on the frame size (it resamples to 224x224 for the detector and crops the body
#: region to 256x256 for the landmarks), while scaling in FFmpeg's swscale costs more CPU than
#: converting at full size (at 2160x3840 full size costs the model a few ms more, within the
#: noise of a shared machine).  Smaller frames also change the landmarks: the 256 px crop
#: comes from the body region, so a frame scaled to 256-384 px starves it (median 3.7-5.6 px
#: from full size on the 720x1280 sample, vs 2.2 px for +-1 grey level of noise).
DEFAULT_MODEL_SIDE_PX: int | None = None

PACKAGED_MODEL = "models/pose_landmarker_full.task"


def default_model_path() -> Path:
    """Path of the pose model bundle to use when none is given."""
    env = os.environ.get("FORMCHECK_MODEL")
    if env:
        return Path(env)
    return Path(str(resources.files("formcheck").joinpath(PACKAGED_MODEL)))


@dataclass(frozen=True)
class PoseSeries:
    """Landmarks of one runner over a clip.

    Attributes:
        t_s: [T] real time of each frame (s, from the first frame; video time / slowmo).
        frame_index: [T] decode-order frame index.
        xy_px: [T, 33, 2] image landmarks, pixels of the upright frame (x right, y down).
        z: [T, 33] MediaPipe's relative depth (same scale as x, normalised units).
        visibility: [T, 33] probability the landmark is visible (0-1).
        presence: [T, 33] probability the landmark is in the frame (0-1).
        world_m: [T, 33, 3] world landmarks in metres, origin at the hip centre.
        n_people: [T] number of people the model returned in the frame.
        width_px, height_px: upright frame size.
        nominal_fps: container frame rate (video time).
        slowmo: slow-down factor applied to the times.
        source: the video path.
        model: model bundle file name.
    """

    t_s: np.ndarray
    frame_index: np.ndarray
    xy_px: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world_m: np.ndarray
    n_people: np.ndarray
    width_px: int
    height_px: int
    nominal_fps: float
    slowmo: float = 1.0
    source: str = ""
    model: str = ""

    @property
    def n_frames(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def detected(self) -> np.ndarray:
        """[T] bool: a person was found in the frame."""
        return np.isfinite(self.xy_px[:, :, 0]).any(axis=1)

    @property
    def detection_rate(self) -> float:
        return float(self.detected.mean()) if self.n_frames else 0.0

    @property
    def fps_real(self) -> float:
        """Measured frame rate in real time (frames per real second)."""
        if self.n_frames < 2:
            return 0.0
        return float((self.n_frames - 1) / (self.t_s[-1] - self.t_s[0]))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write a compressed ``.npz`` (loadable with :meth:`load`)."""
        meta = np.array(
            [self.width_px, self.height_px, self.nominal_fps, self.slowmo], dtype=np.float64
        )
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                t_s=self.t_s, frame_index=self.frame_index, xy_px=self.xy_px.astype(np.float64),
                z=self.z.astype(np.float32), visibility=self.visibility.astype(np.float32),
                presence=self.presence.astype(np.float32),
                world_m=self.world_m.astype(np.float32), n_people=self.n_people, meta=meta,
                source=np.array(self.source), model=np.array(self.model),
                names=np.array(NAMES),
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PoseSeries:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as d:
            meta = d["meta"]
            return cls(
                t_s=d["t_s"].astype(np.float64), frame_index=d["frame_index"],
                xy_px=d["xy_px"].astype(np.float64), z=d["z"].astype(np.float64),
                visibility=d["visibility"].astype(np.float64),
                presence=d["presence"].astype(np.float64),
                world_m=d["world_m"].astype(np.float64), n_people=d["n_people"],
                width_px=int(meta[0]), height_px=int(meta[1]), nominal_fps=float(meta[2]),
                slowmo=float(meta[3]), source=str(d["source"]), model=str(d["model"]),
            )

    def with_slowmo(self, slowmo: float) -> PoseSeries:
        """The same landmarks with real time recomputed for another slow-down factor."""
        from dataclasses import replace

        return replace(self, t_s=self.t_s * self.slowmo / slowmo, slowmo=slowmo)

    def slice(self, start_s: float | None = None, end_s: float | None = None) -> PoseSeries:
        """The frames with ``start_s <= t_s <= end_s`` (real time; None = open end)."""
        from dataclasses import replace

        m = np.ones(self.n_frames, dtype=bool)
        if start_s is not None:
            m &= self.t_s >= start_s - 1e-9
        if end_s is not None:
            m &= self.t_s <= end_s + 1e-9
        return replace(self, t_s=self.t_s[m], frame_index=self.frame_index[m],
                       xy_px=self.xy_px[m], z=self.z[m], visibility=self.visibility[m],
                       presence=self.presence[m], world_m=self.world_m[m],
                       n_people=self.n_people[m])

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """One row per frame: time, frame, then x, y, z, visibility per named landmark."""
        header = ["t_s", "frame"]
        for n in NAMES:
            header += [f"{n}_x_px", f"{n}_y_px", f"{n}_z", f"{n}_visibility"]
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for i in range(self.n_frames):
                row: list[object] = [f"{self.t_s[i]:.5f}", int(self.frame_index[i])]
                for j in range(N_LANDMARKS):
                    vals = (self.xy_px[i, j, 0], self.xy_px[i, j, 1], self.z[i, j],
                            self.visibility[i, j])
                    row += ["" if not np.isfinite(v) else f"{v:.2f}" if k < 2 else f"{v:.4f}"
                            for k, v in enumerate(vals)]
                w.writerow(row)


class _quiet_stderr:
    """Silence C++ log lines (TFLite, glog) written straight to file descriptor 2."""

    def __enter__(self) -> None:
        try:
            sys.stderr.flush()
            self._saved = os.dup(2)
            self._null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(self._null, 2)
        except OSError:
            self._saved = None

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
            os.close(self._null)


class PoseModel:
    """A MediaPipe PoseLandmarker in VIDEO mode (one per clip: it tracks between frames)."""

    def __init__(self, model_path: str | os.PathLike[str] | None = None, num_poses: int = 1
                 ) -> None:
        path = Path(model_path) if model_path else default_model_path()
        if not path.is_file():
            raise ModelError(
                "pose model bundle not found; reinstall formcheck or pass --model PATH", path
            )
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            from mediapipe.tasks.python import BaseOptions
            from mediapipe.tasks.python.vision import (
                PoseLandmarker,
                PoseLandmarkerOptions,
                RunningMode,
            )
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelError(f"mediapipe is not installed correctly ({exc})") from exc
        opts = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=RunningMode.VIDEO,
            num_poses=num_poses,
            min_pose_detection_confidence=0.5,
            min_pose_presence_confidence=0.5,
            min_tracking_confidence=0.5,
        )
        try:
            with _quiet_stderr():
                self._lm = PoseLandmarker.create_from_options(opts)
        except Exception as exc:  # noqa: BLE001 - mediapipe raises RuntimeError/ValueError
            raise ModelError(f"cannot load the pose model ({str(exc).splitlines()[0]})",
                             path) from exc
        self.path = path
        self._last_ms = -1
        self._first = True

    def detect(self, image: np.ndarray, video_t_s: float) -> list[tuple[np.ndarray, ...]]:
        """Landmarks of every person in an RGB frame: list of (xyzvp [33,5] normalised,
        world [33,3] m)."""
        import mediapipe as mp

        ms = int(round(video_t_s * 1000.0))
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        if self._first:
            # MediaPipe logs a warning to fd 2 the first time it finds a person, which may be
            # long after the first frame: stay quiet until then
            with _quiet_stderr():
                res = self._lm.detect_for_video(mp_image, ms)
            self._first = not res.pose_landmarks
        else:
            res = self._lm.detect_for_video(mp_image, ms)
        out = []
        for lms, wlms in zip(res.pose_landmarks, res.pose_world_landmarks, strict=False):
            a = np.array([[p.x, p.y, p.z, p.visibility or 0.0, p.presence or 0.0] for p in lms],
                         dtype=np.float64)
            w = np.array([[p.x, p.y, p.z] for p in wlms], dtype=np.float64)
            out.append((a, w))
        return out

    def close(self) -> None:
        # mediapipe >= 1.2.3 logs "DestroyAccelerator" lines straight to fd 2 on close
        with _quiet_stderr():
            self._lm.close()

    def __enter__(self) -> PoseModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pick(people: list[tuple[np.ndarray, ...]], prev_xy: np.ndarray | None) -> int:
    """Index of the person to follow: nearest hip centre to the previous frame's, else the
    largest."""
    if len(people) == 1:
        return 0
    hips = [p[0][[23, 24], :2].mean(axis=0) for p in people]
    if prev_xy is not None and np.all(np.isfinite(prev_xy)):
        return int(np.argmin([np.linalg.norm(h - prev_xy) for h in hips]))
    sizes = [np.ptp(p[0][:, 1]) for p in people]
    return int(np.argmax(sizes))


#: With several people in view (``num_poses`` > 1) people are linked from frame to frame into
#: tracks: a person continues a track when their hip centre moved less than this (normalised
#: image units: 1 = the frame's width or height) since the track was last seen ...
TRACK_GATE = 0.15
#: ... no more than this long ago (s).
TRACK_MAX_GAP_S = 1.0


def _longest_track(hips: list[np.ndarray], t_s: list[float]) -> list[int | None]:
    """Follow the person who stays in view longest.

    Links the people found in successive frames into tracks (greedy nearest hip centre within
    :data:`TRACK_GATE`, gaps up to :data:`TRACK_MAX_GAP_S`) and picks the track seen in the
    most frames (the earliest-seen one on a tie).

    Args:
        hips: per frame, [n_people, 2] normalised hip centres.
        t_s: per frame, time (s).

    Returns:
        Per frame, the index of that track's person in the frame, or None where the track's
        person is not in view.
    """
    last: list[tuple[np.ndarray, float]] = []  # per track: last hip centre, last time
    counts: list[int] = []
    assign: list[np.ndarray] = []
    for h, t in zip(hips, t_s, strict=True):
        ids = np.full(len(h), -1)
        active = [k for k, (_, lt) in enumerate(last) if t - lt <= TRACK_MAX_GAP_S]
        pairs = sorted((float(np.linalg.norm(h[i] - last[k][0])), i, k)
                       for i in range(len(h)) for k in active)
        used: set[int] = set()
        for d, i, k in pairs:
            if d > TRACK_GATE:
                break
            if ids[i] < 0 and k not in used:
                ids[i] = k
                used.add(k)
        for i in range(len(h)):
            if ids[i] < 0:
                last.append((h[i], t))
                counts.append(0)
                ids[i] = len(last) - 1
            last[ids[i]] = (h[i], t)
            counts[ids[i]] += 1
        assign.append(ids)
    if not counts:
        return [None] * len(hips)
    best = int(np.argmax(counts))
    return [int(np.flatnonzero(ids == best)[0]) if (ids == best).any() else None
            for ids in assign]


def extract(
    path: str | os.PathLike[str],
    model_path: str | os.PathLike[str] | None = None,
    slowmo: float = 1.0,
    model_side_px: int | None = DEFAULT_MODEL_SIDE_PX,
    num_poses: int = 1,
    progress: bool | None = None,
    on_frame: Callable[[Frame, np.ndarray | None], None] | None = None,
) -> PoseSeries:
    """Run the pose model over every frame of a video.

    Args:
        path: video file.
        model_path: pose model bundle (``.task``); default: the packaged one.
        slowmo: slow-down factor (real time = video time / slowmo).
        model_side_px: longest side of the frames given to the model (None = full size).
        num_poses: how many people the model may return per frame; with more than one the
            person who stays in view longest is followed (see :func:`_longest_track`).
        progress: show a progress bar (default: when stderr is a terminal).
        on_frame: optional callback per frame (frame, xy_px [33,2] or None).

    Returns:
        PoseSeries for the clip.
    """
    info = probe(path, slowmo=slowmo)
    return extract_frames(iter_frames(path, slowmo=slowmo, max_side_px=model_side_px), info,
                          model_path=model_path, num_poses=num_poses, progress=progress,
                          on_frame=on_frame)


#: Frames decoded ahead of the model by the decode thread (bounds memory: a few frames).
PREFETCH_FRAMES = 4

_END = object()


class _Prefetch:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead.

    Decoding (PyAV, which releases the GIL) then overlaps with inference, so the pose stage
    runs at about the model's own speed.  Exceptions raised by the iterator are re-raised in
    the consuming thread; :meth:`close` stops the thread and closes the iterator (a video
    generator closes its file) from the thread that ran it.
    """

    def __init__(self, items: Iterable[Frame], depth: int = PREFETCH_FRAMES) -> None:
        self._it = iter(items)
        self._q: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-decode",
                                        daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._it:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put(exc)
        finally:
            close = getattr(self._it, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> _Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def extract_frames(
    frames: Iterable[Frame],
    info: VideoInfo,
    model_path: str | os.PathLike[str] | None = None,
    num_poses: int = 1,
    progress: bool | None = None,
    on_frame: Callable[[Frame, np.ndarray | None], None] | None = None,
) -> PoseSeries:
    """Run the model over already-decoded frames (see :func:`extract`)."""
    from tqdm import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    W, H = info.width_px, info.height_px
    ts: list[float] = []
    idx: list[int] = []
    lms: list[np.ndarray] = []
    worlds: list[np.ndarray] = []
    counts: list[int] = []
    nan_lm = np.full((N_LANDMARKS, 5), np.nan)
    nan_w = np.full((N_LANDMARKS, 3), np.nan)
    prev: np.ndarray | None = None
    multi = num_poses > 1
    cands: list[list[tuple[np.ndarray, np.ndarray]]] = []  # every person, when multi
    total = info.n_frames_reported or None
    with _Prefetch(frames) as decoded, PoseModel(model_path, num_poses=num_poses) as model, tqdm(
        total=total, disable=not progress, unit="frame", desc=Path(info.path).name[:30],
        leave=False,
    ) as bar:
        for fr in decoded:
            people = model.detect(fr.image, fr.video_t_s)
            ts.append(fr.t_s)
            idx.append(fr.index)
            counts.append(len(people))
            if people:
                k = _pick(people, prev)
                a, w = people[k]
                prev = a[[23, 24], :2].mean(axis=0)
                lms.append(a)
                worlds.append(w)
            else:
                lms.append(nan_lm)
                worlds.append(nan_w)
            if multi:
                cands.append([(p[0], p[1]) for p in people])
            if on_frame is not None:
                xy = None if not people else lms[-1][:, :2] * (W, H)
                on_frame(fr, xy)
            bar.update(1)
    if multi:  # follow one person throughout: the one in view longest
        hips = [np.array([p[0][[23, 24], :2].mean(axis=0) for p in c]).reshape(-1, 2)
                for c in cands]
        choice = _longest_track(hips, ts)
        lms = [nan_lm if k is None else c[k][0] for c, k in zip(cands, choice, strict=True)]
        worlds = [nan_w if k is None else c[k][1] for c, k in zip(cands, choice, strict=True)]
    a = np.stack(lms) if lms else np.zeros((0, N_LANDMARKS, 5))
    xy = a[:, :, :2] * np.array([W, H], dtype=np.float64)
    return PoseSeries(
        t_s=np.asarray(ts, dtype=np.float64),
        frame_index=np.asarray(idx, dtype=np.int32),
        xy_px=xy,
        z=a[:, :, 2],
        visibility=a[:, :, 3],
        presence=a[:, :, 4],
        world_m=np.stack(worlds) if worlds else np.zeros((0, N_LANDMARKS, 3)),
        n_people=np.asarray(counts, dtype=np.int16),
        width_px=W,
        height_px=H,
        nominal_fps=info.nominal_fps,
        slowmo=info.slowmo,
        source=info.path,
        model=Path(model_path).name if model_path else "pose_landmarker_full.task",
    )
