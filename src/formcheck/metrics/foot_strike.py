"""Foot-strike angle and pattern at initial contact (side view).

``foot_strike_angle_deg`` = angle of the heel->toe (MediaPipe ``foot_index``) segment above the
horizontal at IC minus the same angle with the foot flat at midstance of that step (the
stand-in for Altman & Davis's standing-angle subtraction, which also cancels camera roll).
Positive = toe up (heel first).  Pattern (Altman & Davis 2012, Gait Posture 35:298):
rearfoot > 8 deg, midfoot -1.6 to 8 deg, forefoot < -1.6 deg.  Human raters agree on the
pattern from 2D video 99.4 % of the time, with about 2.5 deg typical error on the angle.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import LEG
from formcheck.metrics.geometry import at, incline_deg
from formcheck.metrics.registry import SAGITTAL, MetricDef
from formcheck.metrics.summary import Context, median_summary
from formcheck.results import MetricSummary, not_measurable

#: Per side: heel, toe (foot_index).
FOOTJ = {s: LEG[s][3:5] for s in ("L", "R")}
REARFOOT_MIN_DEG = 8.0
FOREFOOT_MAX_DEG = -1.6


def classify(angle_deg: float) -> str:
    if not np.isfinite(angle_deg):
        return ""
    if angle_deg > REARFOOT_MIN_DEG:
        return "rearfoot"
    if angle_deg < FOREFOOT_MAX_DEG:
        return "forefoot"
    return "midfoot"


def strike_angles(t: np.ndarray, xy: np.ndarray, ic_t_s: np.ndarray, to_t_s: np.ndarray,
                  foot: np.ndarray, sign: int) -> np.ndarray:
    """[K] foot-strike angle (deg) per step; NaN where the stance is not known."""
    out = np.full(ic_t_s.size, np.nan)
    for i in range(ic_t_s.size):
        he, to = FOOTJ[str(foot[i])]
        p = at(t, xy, float(ic_t_s[i]))
        a_ic = float(incline_deg(p[he], p[to], sign))
        if np.isfinite(to_t_s[i]):
            ms = np.linspace(ic_t_s[i] + 0.35 * (to_t_s[i] - ic_t_s[i]),
                             ic_t_s[i] + 0.6 * (to_t_s[i] - ic_t_s[i]), 5)
            flat = [float(incline_deg(at(t, xy, m)[he], at(t, xy, m)[to], sign)) for m in ms]
            ref = float(np.nanmedian(flat)) if np.isfinite(flat).any() else np.nan
        else:
            ref = np.nan
        out[i] = a_ic - ref
    return out


def per_step(ctx: Context) -> dict[str, np.ndarray]:
    """Per-step foot-strike angle."""
    ev, clean = ctx.ev, ctx.clean
    return {ANGLE.id: strike_angles(clean.t_s, clean.xy_px, ev.ic_t_s, ev.to_t_s, ev.chain,
                                    ctx.view.sign)}


def summarize_angle(ctx: Context) -> MetricSummary:
    """Median foot-strike angle over steps, with the clip's pattern in ``extra``."""
    fs = median_summary(ANGLE, ctx)
    if not fs.usable:
        return fs
    return MetricSummary(**{**fs.__dict__, "extra": {"pattern": classify(fs.value or np.nan)}})


def summarize_share(ctx: Context) -> MetricSummary:
    """Share of steps classed rearfoot, among the classified steps; the pattern of the median
    angle and the counts per class in ``extra``; status and reason the angle's."""
    fs = ctx.summaries[ANGLE.id]
    if not fs.usable:
        return not_measurable(SHARE.id, SHARE.unit, fs.reason)
    classes, ic = ctx.classes, ctx.ev.ic_t_s
    cls = [c for c in classes if c]
    share = 100.0 * sum(c == "rearfoot" for c in cls) / len(cls)
    return MetricSummary(
        id=SHARE.id, value=share, unit=SHARE.unit, status=fs.status, reason=fs.reason,
        n_steps=len(cls),
        evidence_t_s=tuple(float(ic[i]) for i, c in enumerate(classes) if c == "rearfoot"),
        extra={"pattern": classify(fs.value or float("nan")),
               "counts": {k: sum(c == k for c in cls) for k in ("rearfoot", "midfoot",
                                                                  "forefoot")}})


ANGLE = MetricDef("foot_strike_angle_deg", "Foot-strike angle", "deg", "landing",
                  views=SAGITTAL, step_column=True, extra_columns=("strike_class",),
                  valid_only=True, gates=("feet",), groups=("key",), summarize=summarize_angle)
SHARE = MetricDef("heel_strike_share_pct", "Heel-strike steps", "% of steps", "landing",
                  views=SAGITTAL, groups=("key",), summarize=summarize_share)
METRICS = (ANGLE, SHARE)
