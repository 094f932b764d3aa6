"""What every export reads: one report folder turned into the analysed landmarks, the steps
and the scale, in the exported axes.

The landmarks exported are those the metrics were computed from: ``landmarks.npz`` run again
through every stage after the pose model (:func:`formcheck.api.analyze_pose`, with the
options report.json records; no pose model is needed and the result is deterministic), i.e.
cleaned, resampled to a uniform real-time grid, identity-repaired and turned level by the
camera's roll when one was corrected for (:mod:`formcheck.level`).  That re-analysis must
give the steps report.json lists (same initial contacts and sides), otherwise the folder was
made by another formcheck version and the export is refused rather than mixing the two.

Leg labels: MediaPipe's "left"/"right" leg labels are not the runner's sides in a side view
(:mod:`formcheck.signals`); formcheck reads each step's landing leg from the landmark chain
``Events.chain`` and reports its side as ``foot``.  The export relabels the leg landmarks
(hip, knee, ankle, heel, foot index) so that over each step (from mid-flight before its
initial contact to mid-flight before the next) the landing leg carries the side report.json
gives that step (frames before the first contact follow the first step).  A point called
``left_heel`` is then the heel of the foot formcheck calls left, the Left Foot Strike events
belong to it, and a step's values (which formcheck reads from its chain's hip, knee, ankle,
heel and toe) are those of the landmarks of its side.

Axes (all formats): in side and oblique views X points forward (the running direction, image
x times the view's sign), Y up (image y flipped) and Z = 0 (2D; Z would be the runner's right,
OpenSim's convention).  In front and back views X is image-right and Y up.  The origin is the
image corner behind the runner and at the bottom of the frame (bottom-left when the runner
faces image-right, bottom-right when facing left; bottom-left in front/back views).

Units: metres when the image scale is known (``--scale PX_PER_M``, or the runner's height
``--height``), with the one scale every metre figure of formcheck uses
(:mod:`formcheck.metrics.scale`, report.json ``scale``: from the height, the stance leg's
hip-knee + knee-ankle length = 0.491 x height).  Otherwise pixels of the upright frame.  No
other scale is ever assumed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from formcheck import level
from formcheck.config import settings
from formcheck.errors import InputNotFoundError, PoseFileError, ReportFolderError
from formcheck.landmarks import LEG, N_LANDMARKS, NAMES

#: For each landmark, the one whose label it takes when a whole leg, hip included, changes
#: side (:data:`formcheck.landmarks.LEG_SWAP` keeps the hips: the metrics read a step's hip,
#: knee and ankle from one chain, so the export moves all of them together).
WHOLE_LEG_SWAP: tuple[int, ...] = tuple(
    dict(zip(LEG["L"] + LEG["R"], LEG["R"] + LEG["L"], strict=True)).get(i, i)
    for i in range(N_LANDMARKS))

#: Tolerance (s) between a re-derived initial contact and report.json's (it rounds to 0.1 ms).
IC_TOLERANCE_S = 1e-3


@dataclass(frozen=True)
class Step:
    """One step of report.json: side ("L"/"R"), initial contact and toe-off (s, clip real
    time; ``to_t_s`` NaN when not found), and whether report.json counts it as valid."""

    foot: str
    ic_t_s: float
    to_t_s: float
    valid: bool
    side_confident: bool


@dataclass(frozen=True)
class ExportSource:
    """The data every exporter writes from.

    Attributes:
        name: trial name (the video's file stem).
        t_s: [N] uniform clip real times of the frames (s).
        fps: frame rate of that grid (Hz, real time).
        xy_px: [N, 33, 2] analysed landmarks, image pixels (x right, y down), leg labels as
            the report's sides (module docstring); NaN where missing.
        points: [N, 33, 3] the same in the exported axes and ``unit`` (Z = 0; NaN missing).
        unit: "m" or "px".
        m_per_px: the scale used (None when in pixels).
        sign: +1 runner faces image-right, -1 image-left (:attr:`ViewInfo.sign`).
        view: side / oblique / front / back.
        width_px, height_px: upright frame size.
        steps: report.json's steps.
        report: the report.json document.
        axes: one line saying the axes, for file headers.
    """

    name: str
    t_s: np.ndarray
    fps: float
    xy_px: np.ndarray
    points: np.ndarray
    unit: str
    m_per_px: float | None
    sign: int
    view: str
    width_px: int
    height_px: int
    steps: tuple[Step, ...]
    report: dict[str, Any]
    axes: str

    @property
    def names(self) -> tuple[str, ...]:
        return NAMES

    @property
    def n(self) -> int:
        return int(self.t_s.size)

    @property
    def sagittal(self) -> bool:
        """Side or oblique view: X is the running direction."""
        return self.view in ("side", "oblique")


def _read_report(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise InputNotFoundError("no such report folder; pass a folder written by "
                                 "'formcheck analyze -o DIR'", folder)
    if not folder.is_dir():
        raise InputNotFoundError("is a file, not a report folder; pass the folder written by "
                                 "'formcheck analyze -o DIR'", folder)
    rp = folder / "report.json"
    if not rp.is_file():
        raise ReportFolderError("not a formcheck report folder (no report.json); pass a "
                                "folder written by 'formcheck analyze -o DIR'", folder)
    try:
        rep = json.loads(rp.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReportFolderError(f"report.json cannot be read ({type(exc).__name__}); "
                                "re-run 'formcheck analyze'", rp) from exc
    if not isinstance(rep, dict) or rep.get("schema") != "formcheck.report" or not all(
            k in rep for k in ("options", "view", "steps", "source")):
        raise ReportFolderError("not a formcheck report.json (schema, options, view, steps or "
                                "source missing); re-run 'formcheck analyze'", rp)
    return rep


def _steps(rep: dict[str, Any], rp: Path) -> tuple[Step, ...]:
    try:
        return tuple(Step(foot=str(s["foot"]), ic_t_s=float(s["ic_t_s"]),
                          to_t_s=float("nan") if s.get("to_t_s") is None else float(s["to_t_s"]),
                          valid=bool(s["valid"]), side_confident=bool(s.get("side_confident")))
                     for s in rep["steps"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportFolderError(f"report.json steps are malformed ({type(exc).__name__}); "
                                "re-run 'formcheck analyze'", rp) from exc


def load(folder: str | Path) -> ExportSource:
    """Read a report folder (report.json + landmarks.npz) into an :class:`ExportSource`.

    Raises:
        InputNotFoundError: the folder does not exist or is a file (exit 3).
        ReportFolderError: report.json missing or invalid, or its steps are not what its
            landmarks give with this formcheck version (exit 13).
        PoseFileError: landmarks.npz missing or not a formcheck landmarks file (exit 12).
    """
    from formcheck.api import Options, analyze_pose
    from formcheck.pose_series import load_checked

    folder = Path(folder)
    rep = _read_report(folder)
    steps = _steps(rep, folder / "report.json")
    lp = folder / "landmarks.npz"
    if not lp.is_file():
        raise PoseFileError("the report folder has no landmarks.npz; re-run 'formcheck "
                            "analyze' to write it", folder)
    ps = load_checked(lp, "re-run 'formcheck analyze'")
    fields = {f.name for f in dataclasses.fields(Options)}
    # rules do not change the landmarks, events or metrics; the file may be gone by now
    opts = Options(**{k: v for k, v in rep["options"].items()
                      if k in fields and k not in ("rules", "model", "jobs")})
    analysis = analyze_pose(ps, opts)
    return from_analysis(analysis, rep, steps=steps, where=folder)


def _step_starts(ic_t_s: np.ndarray, to_t_s: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """[K] time (s) from which step i's leg labelling holds: mid-flight, halfway between the
    previous step's toe-off and this initial contact, so that both stances (and the frames
    around each contact that its values are interpolated from) have their own step's labels;
    a tenth of the step before the contact when the toe-off is unknown or after it.  At the
    latest the frame (``t_s``, the series' times) at or before the contact: where the
    previous toe-off comes within a frame of it, the contact's frames are its own step's (as
    the report reads them: events.detect ends a stance's relabelled frames before the next
    contact), else its value would be read half from the other leg."""
    start = np.array(ic_t_s, dtype=float)
    for i in range(1, start.size):
        to = to_t_s[i - 1]
        if np.isfinite(to) and ic_t_s[i - 1] < to < ic_t_s[i]:
            start[i] = (to + ic_t_s[i]) / 2
        else:
            start[i] = ic_t_s[i] - 0.1 * (ic_t_s[i] - ic_t_s[i - 1])
        j = int(np.searchsorted(t_s, ic_t_s[i], side="right")) - 1
        if j >= 0:
            start[i] = min(start[i], float(t_s[j]))
    return start


def from_analysis(analysis: Any, report: dict[str, Any], steps: tuple[Step, ...] | None = None,
                  where: Path | None = None) -> ExportSource:
    """An :class:`ExportSource` from an :class:`formcheck.api.Analysis` and the report it
    wrote (what ``analyze --export`` can use without reading the folder back)."""
    steps = steps if steps is not None else _steps(report, Path(where or ".") / "report.json")
    ev = analysis.events
    here = where / "report.json" if where is not None else None
    if ev.n != len(steps) or (ev.n and (
            np.abs(ev.ic_t_s - np.array([s.ic_t_s for s in steps])).max() > IC_TOLERANCE_S
            or [str(f) for f in ev.foot] != [s.foot for s in steps])):
        made_by = report.get("formcheck_version", "?")
        raise ReportFolderError(f"its landmarks give other steps than report.json lists "
                                f"({ev.n} vs {len(steps)}; report made by formcheck "
                                f"{made_by}); re-run 'formcheck analyze' with this version",
                                here)
    w, h = int(analysis.pose.width_px), int(analysis.pose.height_px)
    lv = getattr(analysis, "level", None)
    clean = analysis.clean if lv is None else level.apply(analysis.clean, lv, (w / 2, h / 2))
    t = np.asarray(clean.t_s, dtype=float)
    # leg labels as the report's sides: over each step, swap where the landing leg's landmark
    # chain is not the side the step was given
    mism = np.array([str(c) != str(f) for c, f in zip(ev.chain, ev.foot, strict=True)])
    mask = np.zeros(t.size, dtype=bool)
    if ev.n:
        k = np.searchsorted(_step_starts(ev.ic_t_s, ev.to_t_s, t), t, side="right") - 1
        mask = mism[np.clip(k, 0, ev.n - 1)]
    xy = np.array(clean.xy_px, dtype=float)
    xy[mask] = xy[mask][:, WHOLE_LEG_SWAP]

    vinfo = analysis.view
    scale = analysis.metrics.scale
    m_per_px = scale.m_per_px if scale is not None else None
    unit = "m" if m_per_px is not None else "px"
    sagittal = vinfo.view in ("side", "oblique")
    sign = int(vinfo.sign)
    pts = np.zeros(xy.shape[:-1] + (3,))
    pts[..., 0] = (w - xy[..., 0]) if (sagittal and sign < 0) else xy[..., 0]
    pts[..., 1] = h - xy[..., 1]
    pts[..., 2] = np.where(np.isfinite(xy[..., 0]), 0.0, np.nan)
    if m_per_px is not None:
        pts *= m_per_px
    if sagittal:
        axes = (f"X forward (running direction, image {'right' if sign > 0 else 'left'}), "
                f"Y up, Z = 0 (2D; +Z = runner's right); origin bottom "
                f"{'left' if sign > 0 else 'right'} corner of the {w}x{h} px frame; {unit}")
    else:
        axes = (f"X image right, Y up, Z = 0 (2D, {vinfo.view} view); origin bottom left corner "
                f"of the {w}x{h} px frame; {unit}")
    if m_per_px is not None and scale is not None and scale.source == "height":
        frac = settings()["scale"]["leg_fraction_of_height"]
        axes += (f" (scale {m_per_px * 1000:.4f} mm/px from height {scale.height_cm:g} cm: "
                 f"stance leg length {scale.leg_px:.1f} px = {frac} x height, +/-"
                 f"{100 * scale.rel_uncertainty:.1f} %)")
    elif m_per_px is not None:
        axes += f" (scale {m_per_px * 1000:.4f} mm/px, given with --scale)"
    if lv is not None and lv.corrected:
        axes += f"; landmarks turned {-lv.roll_deg:+.2f} deg about the frame centre (camera roll)"
    name = Path(str(report.get("source", {}).get("file") or analysis.source or "formcheck")).stem
    return ExportSource(name=name or "formcheck", t_s=t, fps=float(clean.fps), xy_px=xy,
                        points=pts, unit=unit, m_per_px=m_per_px, sign=sign, view=vinfo.view,
                        width_px=w, height_px=h, steps=steps, report=report, axes=axes)
