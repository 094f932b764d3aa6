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

import os
import queue
import sys
import tempfile
import threading
import zipfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib import format as npformat

from formcheck.errors import ModelError, OutputWriteError
from formcheck.landmarks import N_LANDMARKS, NAMES
from formcheck.video import Frame, VideoInfo, iter_frames, probe

if TYPE_CHECKING:
    from formcheck.pose_parallel import PosePool

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

PACKAGED_MODEL = "models/pose_landmarker_full.task"

#: Most people the model is asked for per frame: every one costs a landmark-model run (about
#: the model's single-person time again) and 1.06 kB per frame of memory.
MAX_POSES = 5

#: Bytes converted at a time when :meth:`PoseSeries.save` writes an array.
NPZ_BLOCK_BYTES = 1 << 20


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
        people: [T, P, 33, 8] float32, every person the model returned in each frame, in
            the model's order (slot p < n_people[t]; the other slots NaN): x, y (px of the
            upright frame), z, visibility, presence, world x, y, z (m).  ``None`` when the
            model was asked for one person.  Tracking and the choice of the runner happen
            later, in :mod:`formcheck.people`; ``xy_px`` etc. hold the person followed by
            nearest-hip continuity until then.
        width_px, height_px: upright frame size.
        nominal_fps: container frame rate (video time).
        slowmo: slow-down factor applied to the times.
        source: the video path.
        model: model bundle file name.

    Landmark arrays are float32 (the model's own precision: ~1e-4 px at 4K), ~1.1 kB per
    frame in all.
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
    people: np.ndarray | None = None

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
        """Write a compressed ``.npz`` (loadable with :meth:`load` or ``numpy.load``).

        Arrays are written one at a time in blocks of :data:`NPZ_BLOCK_BYTES`, so saving a
        long clip needs no more memory than a short one (``numpy.savez_compressed`` converts
        16 MiB at a time)."""
        meta = np.array(
            [self.width_px, self.height_px, self.nominal_fps, self.slowmo], dtype=np.float64
        )
        arrays = {
            "t_s": self.t_s, "frame_index": self.frame_index, "xy_px": self.xy_px,
            "z": self.z, "visibility": self.visibility, "presence": self.presence,
            "world_m": self.world_m, "n_people": self.n_people, "meta": meta,
            "source": np.array(self.source), "model": np.array(self.model),
            "names": np.array(NAMES),
        }
        if self.people is not None:
            arrays["people"] = self.people
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED,
                             allowZip64=True) as zf:
            for name, arr in arrays.items():
                with zf.open(name + ".npy", "w", force_zip64=True) as fh:
                    npformat.write_array_header_1_0(fh, npformat.header_data_from_array_1_0(arr))
                    rows = np.atleast_1d(arr)  # C order, as the header says
                    step = max(1, NPZ_BLOCK_BYTES // max(1, rows[:1].nbytes))
                    for i in range(0, rows.shape[0], step):
                        fh.write(rows[i:i + step].tobytes())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PoseSeries:
        """Read a file written by :meth:`save` (landmarks as float32, times as float64)."""
        with np.load(path, allow_pickle=False) as d:
            meta = d["meta"]
            f32 = np.float32
            return cls(
                t_s=d["t_s"].astype(np.float64, copy=False), frame_index=d["frame_index"],
                xy_px=d["xy_px"].astype(f32, copy=False), z=d["z"].astype(f32, copy=False),
                visibility=d["visibility"].astype(f32, copy=False),
                presence=d["presence"].astype(f32, copy=False),
                world_m=d["world_m"].astype(f32, copy=False), n_people=d["n_people"],
                width_px=int(meta[0]), height_px=int(meta[1]), nominal_fps=float(meta[2]),
                slowmo=float(meta[3]), source=str(d["source"]), model=str(d["model"]),
                people=d["people"].astype(f32, copy=False) if "people" in d.files else None,
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
                       n_people=self.n_people[m],
                       people=None if self.people is None else self.people[m])

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """One row per frame: time, frame, then x, y, z, visibility per named landmark.

        The same bytes as ``csv.writer`` wrote (CRLF line ends, an empty field where a value
        is missing), with one ``%`` format per row instead of one per field (~10x faster)."""
        import re

        header = ["t_s", "frame"]
        for n in NAMES:
            header += [f"{n}_x_px", f"{n}_y_px", f"{n}_z", f"{n}_visibility"]
        fmt = "%.5f,%d," + ",".join(["%.2f,%.2f,%.4f,%.4f"] * N_LANDMARKS) + "\r\n"
        vals = np.concatenate([self.xy_px, self.z[:, :, None], self.visibility[:, :, None]],
                              axis=2).reshape(self.n_frames, -1)
        missing = re.compile(r"(?<=,)-?(?:nan|inf)(?=,|\r)")
        with open(path, "w", newline="") as fh:
            fh.write(",".join(header) + "\r\n")
            for i in range(self.n_frames):
                line = fmt % (float(self.t_s[i]), int(self.frame_index[i]),
                              *vals[i].tolist())
                fh.write(missing.sub("", line) if ("nan" in line or "inf" in line) else line)



#: Packages of mediapipe whose ``__init__`` would import every task (audio, text, all the
#: vision tasks, matplotlib for the drawing utilities): 0.9 s of CPU, against 0.15 s for the
#: pose landmarker's own modules.
_MP_PACKAGES = ("mediapipe", "mediapipe.tasks", "mediapipe.tasks.python",
                "mediapipe.tasks.python.vision")


@dataclass(frozen=True)
class _PoseAPI:
    """The few mediapipe names the pose stage uses."""

    BaseOptions: type
    PoseLandmarker: type
    PoseLandmarkerOptions: type
    RunningMode: type
    Image: type
    ImageFormat: type


def _lean_packages() -> None:
    """Register stand-ins for :data:`_MP_PACKAGES` whose ``__init__`` runs only when one of
    their own attributes is first asked for (PEP 562 ``__getattr__``); their submodules
    import as usual meanwhile.  The first such request runs every ``__init__``, innermost
    first (the order ``import mediapipe`` runs them in: ``mediapipe/__init__`` rebinds
    ``mediapipe.tasks`` to ``mediapipe.tasks.python``)."""
    import importlib.machinery
    import types

    mods = []
    path: list[str] | None = None
    for name in _MP_PACKAGES:
        # PathFinder, not importlib.util.find_spec: that one imports the parent packages
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.submodule_search_locations is None or spec.loader is None:
            raise ImportError(f"no package {name}")
        path = list(spec.submodule_search_locations)
        mod = types.ModuleType(name)
        mod.__path__ = list(spec.submodule_search_locations)
        mod.__spec__ = spec
        mod.__file__ = spec.origin
        mod.__package__ = name
        mods.append((mod, spec))
    state = {"done": False}

    def complete_all() -> None:
        state["done"] = True
        for mod, spec in reversed(mods):
            exec(spec.loader.get_code(spec.name), mod.__dict__)  # noqa: S102 - its __init__

    for mod, _ in mods:
        def getattr_(attr: str, mod: types.ModuleType = mod) -> object:
            if state["done"] or (attr.startswith("__") and attr not in ("__version__", "__all__")):
                raise AttributeError(attr)
            complete_all()
            try:
                return mod.__dict__[attr]
            except KeyError:
                raise AttributeError(attr) from None

        mod.__getattr__ = getattr_  # type: ignore[attr-defined]
    for mod, spec in mods:
        sys.modules[spec.name] = mod
        parent, _, child = spec.name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, mod)


def mediapipe_pose_api() -> _PoseAPI:
    """Import only what the pose landmarker needs from mediapipe.

    ``import mediapipe`` runs the ``__init__`` of ``mediapipe.tasks.python`` and
    ``.vision``, which import every task and matplotlib (~0.9 s of CPU in each process that
    loads the model, i.e. each pose worker); when mediapipe is not imported yet, those
    packages are registered as stand-ins that run their ``__init__`` only if someone later
    asks for one of their names (so ``import mediapipe as mp; mp.Image`` still works), and
    only the pose landmarker's modules are loaded (~0.15 s).
    """
    if not any(name in sys.modules for name in _MP_PACKAGES):
        try:
            _lean_packages()
        except ImportError:  # pragma: no cover - a different mediapipe layout
            for name in _MP_PACKAGES:
                sys.modules.pop(name, None)
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.vision.core.image import Image, ImageFormat
    from mediapipe.tasks.python.vision.core.vision_task_running_mode import (
        VisionTaskRunningMode,
    )
    from mediapipe.tasks.python.vision.pose_landmarker import (
        PoseLandmarker,
        PoseLandmarkerOptions,
    )

    return _PoseAPI(BaseOptions=BaseOptions, PoseLandmarker=PoseLandmarker,
                    PoseLandmarkerOptions=PoseLandmarkerOptions,
                    RunningMode=VisionTaskRunningMode, Image=Image, ImageFormat=ImageFormat)


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
            api = mediapipe_pose_api()
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelError(f"mediapipe is not installed correctly ({exc})") from exc
        BaseOptions, PoseLandmarker = api.BaseOptions, api.PoseLandmarker
        PoseLandmarkerOptions, RunningMode = api.PoseLandmarkerOptions, api.RunningMode
        self._api = api
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
        mp = self._api
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
                         dtype=np.float32)
            w = np.array([[p.x, p.y, p.z] for p in wlms], dtype=np.float32)
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


#: Frames waiting, decoded, for the model (besides the one the decode thread is working on).
#: Decoding takes 4-8 ms a frame against the model's ~25, so one is enough to keep the model
#: busy (bench/pose_speed.py: stage / model time 1.04 at 720p, 1.09 at 1080p, 1.08 at 4K),
#: and each extra frame costs 6 MB at 1080p (bench/memory.py).
PREFETCH_FRAMES = 1

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
        with _Prefetch(frames) as decoded, PoseModel(model_path, num_poses=num_poses) as model, \
                tqdm(total=total, disable=not progress, unit="frame",
                     desc=Path(info.path).name[:30], leave=False) as bar:
            for fr in decoded:
                people = model.detect(fr.image, fr.video_t_s)
                a = w = None
                if people:
                    k = _pick(people, prev)
                    a, w = people[k]
                    prev = a[[23, 24], :2].mean(axis=0)
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


def series_from_rows(data: np.ndarray, t_s: np.ndarray, frame_index: np.ndarray,
                     n_people: np.ndarray, info: VideoInfo,
                     model_path: str | os.PathLike[str] | None,
                     people: np.ndarray | None = None) -> PoseSeries:
    """A :class:`PoseSeries` from the chosen person's rows, [T, 33, 8] float32: normalised
    x, y, z, visibility, presence, then world x, y, z (m); NaN where nobody was chosen.
    ``data`` is consumed (its memory may be reused); ``people``: every person per frame
    (:attr:`PoseSeries.people`), or None."""
    W, H = info.width_px, info.height_px
    xy = data[:, :, :2] * np.array([W, H], dtype=np.float32)  # normalised -> pixels
    z, vis, pres = (np.ascontiguousarray(data[:, :, k]) for k in (2, 3, 4))
    world = np.ascontiguousarray(data[:, :, 5:])
    del data
    return PoseSeries(
        t_s=t_s,
        frame_index=frame_index,
        xy_px=xy,
        z=z,
        visibility=vis,
        presence=pres,
        world_m=world,
        n_people=n_people,
        width_px=W,
        height_px=H,
        nominal_fps=info.nominal_fps,
        slowmo=info.slowmo,
        source=info.path,
        model=Path(model_path).name if model_path else "pose_landmarker_full.task",
        people=people,
    )
