"""The pose model: a MediaPipe PoseLandmarker (BlazePose GHUM 3D, "full") in VIDEO mode.

Model resolution order: ``--model PATH``, the ``FORMCHECK_MODEL`` environment variable, the
bundle shipped inside the package (``formcheck/models/pose_landmarker_full.task``).
See ``models/README.md`` for how the bundle was built and checked.

Only the pose landmarker's own modules are imported from mediapipe
(:func:`mediapipe_pose_api`), and its native log lines are kept off the terminal.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from formcheck.errors import ModelError

PACKAGED_MODEL = "models/pose_landmarker_full.task"


def default_model_path() -> Path:
    """Path of the pose model bundle to use when none is given."""
    env = os.environ.get("FORMCHECK_MODEL")
    if env:
        return Path(env)
    return Path(str(resources.files("formcheck").joinpath(PACKAGED_MODEL)))



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
