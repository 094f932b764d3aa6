"""The pose stage's output: :class:`PoseSeries`, one runner's landmarks over a clip.

Per frame: the 33 image landmarks in pixels of the upright frame, their relative depth ``z``,
visibility and presence (0-1), and world landmarks in metres (hip-centred, from the model);
frames where no person was found hold NaN.  Saved as ``landmarks.npz`` (:meth:`PoseSeries.save`,
re-read by ``--pose``) and ``landmarks.csv`` (:meth:`PoseSeries.to_csv`).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib import format as npformat

from formcheck.landmarks import N_LANDMARKS, NAMES

if TYPE_CHECKING:
    from formcheck.video import VideoInfo

#: Bytes converted at a time when :meth:`PoseSeries.save` writes an array.
NPZ_BLOCK_BYTES = 1 << 20


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


def load_checked(path: str | os.PathLike[str], hint: str) -> PoseSeries:
    """:meth:`PoseSeries.load`, raising :class:`~formcheck.errors.PoseFileError` (with
    ``hint``, what to do instead) when the file is not a formcheck landmarks.npz."""
    from formcheck.errors import PoseFileError

    try:
        return PoseSeries.load(path)
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        raise PoseFileError(f"not a formcheck landmarks file ({type(exc).__name__}); {hint}",
                            Path(path)) from exc
