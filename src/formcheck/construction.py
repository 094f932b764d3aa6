"""The contact construction: what the outputs draw at an initial contact (IC), defined once.

Both the report's still frame (:mod:`formcheck.report.still`) and the annotated video
(:mod:`formcheck.annotate`) show, for a step, the geometry behind its per-step metrics:

* the vertical through the hip midpoint (:attr:`Contact.hip`, mean of the two hips);
* the overstride: the horizontal distance from that vertical to the landing heel, in % of leg
  length (:attr:`Contact.overstride_pct`, ``overstride_pct_leg``);
* the shank, knee to ankle, with its angle from vertical (:attr:`Contact.shank_deg`,
  ``shank_angle_ic_deg``);
* the knee flexion, hip-knee-ankle of the landing leg (:attr:`Contact.knee_deg`,
  ``knee_flexion_ic_deg``);
* the foot-strike class (:attr:`Contact.strike`).

The points are the cleaned landmarks (``analysis.clean``, what the metrics used), linearly
interpolated (:func:`formcheck.metrics.geometry.at`) at the IC instant, or at the time of the
pose frame nearest the IC when drawn over that frame's picture.  A value is given (else NaN)
only in side and oblique views and when the clip's summary of that metric is usable
(measured or low confidence), so nothing is drawn that the report does not stand behind.
Each medium chooses its own line styles and offsets; the geometry and the numbers are these.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from formcheck.landmarks import LEG, hip_mid
from formcheck.metrics.geometry import at

if TYPE_CHECKING:
    from formcheck.api import Analysis

__all__ = ["SAGITTAL_VIEWS", "Contact", "contact", "contacts_of"]

#: Views in which forward/backward is visible, so the construction's values are shown.
SAGITTAL_VIEWS = ("side", "oblique")


@dataclass(frozen=True)
class Contact:
    """One initial contact and its construction.

    Attributes:
        k: step number (row of ``steps.csv``).
        t_s: IC time (s, real time).
        foot: the runner's side ("L" / "R") of the landing foot.
        chain: which (identity-repaired) landmark leg is landing ("L" / "R").
        frame_index: the first decoded frame showing the contact (Events.ic_frame; -1 when
            the pose series has no frames).
        frame_t_s: that frame's time (s, real time; the IC time when there is no frame).
        points_t_s: the time (s) :attr:`points` are taken at.
        strike: foot-strike class ("rearfoot", "midfoot", "forefoot" or "").
        points: [33, 2] cleaned landmark positions (px of the source frame, unless mapped).
        overstride_pct, shank_deg, knee_deg: the step's values (NaN when not shown).
    """

    k: int
    t_s: float
    foot: str
    chain: str
    frame_index: int
    frame_t_s: float
    points_t_s: float
    strike: str
    points: np.ndarray
    overstride_pct: float
    shank_deg: float
    knee_deg: float

    @property
    def leg(self) -> tuple[int, ...]:
        """Landmark indices (hip, knee, ankle, heel, toe) of the landing leg."""
        return LEG.get(self.chain, LEG["L"])

    @property
    def hip(self) -> np.ndarray:
        """Hip midpoint: the vertical of the overstride goes through it."""
        return hip_mid(self.points)

    leg_hip = property(lambda self: self.points[self.leg[0]], doc="The landing leg's hip.")
    knee = property(lambda self: self.points[self.leg[1]], doc="The landing knee.")
    ankle = property(lambda self: self.points[self.leg[2]], doc="The landing ankle.")
    heel = property(lambda self: self.points[self.leg[3]], doc="The landing heel.")
    toe = property(lambda self: self.points[self.leg[4]], doc="The landing toe.")

    def values(self) -> dict[str, float | None]:
        """The shown values by metric id (None when not shown)."""
        vals = {"overstride_pct_leg": self.overstride_pct,
                "shank_angle_ic_deg": self.shank_deg,
                "knee_flexion_ic_deg": self.knee_deg}
        return {k: (float(v) if np.isfinite(v) else None) for k, v in vals.items()}

    def mapped(self, points: np.ndarray) -> Contact:
        """The same contact with its points replaced (e.g. moved to crop pixels)."""
        return replace(self, points=points)


def contact(analysis: Analysis, k: int, at_frame: bool = False) -> Contact:
    """Step ``k``'s contact; its points at the IC instant or, with ``at_frame``, at the time
    of the first pose frame showing the contact (``Events.ic_frame``: the first frame at or
    after the IC instant; the nearest frame if the events carry no frames), the picture
    that frame shows."""
    ev, clean, pose = analysis.events, analysis.clean, analysis.pose
    steps, summ = analysis.metrics.steps, analysis.metrics.summaries
    sagittal = analysis.view.view in SAGITTAL_VIEWS

    def shown(metric: str) -> bool:
        s = summ.get(metric)
        return bool(sagittal and s is not None and s.usable)

    def val(name: str) -> float:
        v = steps.values.get(name)
        return float(v[k]) if (v is not None and k < v.size and shown(name)) else np.nan

    t = float(ev.ic_t_s[k])
    fi, ft = -1, t
    if pose.n_frames:
        j = int(np.argmin(np.abs(pose.t_s - t)))
        if ev.ic_frame.size == ev.n and ev.ic_frame[k] >= 0:
            j = int(np.searchsorted(pose.frame_index, ev.ic_frame[k]))
        fi, ft = int(pose.frame_index[j]), float(pose.t_s[j])
    tp = ft if at_frame else t
    strike = steps.strike_class[k] if (k < len(steps.strike_class)
                                       and shown("foot_strike_angle_deg")) else ""
    return Contact(
        k=k, t_s=t, foot=str(ev.foot[k]), chain=str(ev.chain[k]), frame_index=fi,
        frame_t_s=ft, points_t_s=tp, strike=strike, points=at(clean.t_s, clean.xy_px, tp),
        overstride_pct=val("overstride_pct_leg"), shank_deg=val("shank_angle_ic_deg"),
        knee_deg=val("knee_flexion_ic_deg"))


def contacts_of(analysis: Analysis) -> list[Contact]:
    """Every step's contact, points at the IC instant (the annotated video's overlay)."""
    return [contact(analysis, k) for k in range(analysis.events.n)]
