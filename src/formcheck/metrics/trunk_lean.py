"""Trunk lean (side view): the hip-midpoint -> shoulder-midpoint segment from vertical, in
degrees, forward (in the running direction) positive, backward negative.

Reported at midstance of each step (midway between IC and TO) and as the mean over all frames.
Teng & Powers 2014 (J Orthop Sports Phys Ther 44:785): self-selected 7.3 +/- 3.6 deg; a
practical normal band is about 4-12 deg forward (design choice).  The camera is assumed level:
a tilted phone adds its roll to this angle.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import hip_mid, shoulder_mid
from formcheck.metrics.geometry import angle_from_vertical_deg, at
from formcheck.metrics.registry import SAGITTAL, MetricDef
from formcheck.metrics.summary import Context, median_summary, r
from formcheck.results import MetricSummary


def lean_series_deg(xy: np.ndarray, sign: int) -> np.ndarray:
    """[N] trunk lean per frame (deg)."""
    hip = hip_mid(xy)
    sh = shoulder_mid(xy)
    return angle_from_vertical_deg(sh, hip, sign)


def at_midstance(t: np.ndarray, lean: np.ndarray, ic_t_s: np.ndarray, to_t_s: np.ndarray
                 ) -> np.ndarray:
    """[K] trunk lean at midstance of each step (deg)."""
    out = np.full(ic_t_s.size, np.nan)
    for i in range(ic_t_s.size):
        if np.isfinite(to_t_s[i]):
            out[i] = float(at(t, lean[:, None], float((ic_t_s[i] + to_t_s[i]) / 2))[0])
    return out


def per_step(ctx: Context) -> dict[str, np.ndarray]:
    """Per-step trunk lean at midstance."""
    ev = ctx.ev
    return {LEAN.id: at_midstance(ctx.clean.t_s, ctx.lean_deg, ev.ic_t_s, ev.to_t_s)}


def summarize_lean(ctx: Context) -> MetricSummary:
    """Median lean at midstance over steps, with the mean over all frames in ``extra``."""
    s0 = median_summary(LEAN, ctx)
    if not s0.usable:
        return s0
    return MetricSummary(
        **{**s0.__dict__, "extra": {"cycle_mean_deg": r(float(np.nanmean(ctx.lean_deg)), 2)}})


LEAN = MetricDef("trunk_lean_deg", "Trunk lean (+ forward)", "deg", "trunk", views=SAGITTAL,
                 step_column=True, valid_only=True, gates=("trunk_visible",), per_side="none",
                 groups=("key",), summarize=summarize_lean)
METRICS = (LEAN,)
