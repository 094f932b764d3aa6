"""Vertical ratio (side view, static camera), in %.

``vertical_ratio_pct`` = vertical oscillation / step length x 100, per step: the hip
midpoint's peak-to-peak vertical travel over the step
(:func:`formcheck.metrics.stance.vertical_oscillation`) over the ground covered in it (speed x
step time, :mod:`formcheck.metrics.step_length`).  This is Garmin's running-dynamics vertical
ratio, "the ratio of vertical oscillation to stride length", where Garmin's stride length is
one footfall to the next, i.e. a step (Garmin, *Running Dynamics* owner's manual; FIT SDK
``record.vertical_ratio``, %); research.md writes "oscillation / stride length" in the same
sense.  Lower is more economical (watch guidance: about 6-8 % is common in trained runners).

Both lengths are read in image pixels, so the ratio needs no scale (no height): only a speed
(a static camera; on a treadmill ``--setting treadmill``).  It rests on the time base (speed
x step time: withheld when the clip looks slowed down or sped up) and on the runner's
vertical travel in the image (withheld with cuts, settings.toml ``[doubts]``).
"""

from __future__ import annotations

import numpy as np

from formcheck.metrics.registry import MetricDef
from formcheck.metrics.speed import SIDE, speed_px_s, summarize_metres
from formcheck.metrics.stance import vertical_oscillation
from formcheck.metrics.summary import Context


def per_step(ctx: Context) -> dict[str, np.ndarray]:
    """Per-step vertical ratio (%); NaN where the speed or the oscillation is unknown."""
    ev, leg = ctx.ev, ctx.view.leg_length_px
    vo_px = vertical_oscillation(ctx.clean.t_s, ctx.clean.xy_px, ev.ic_t_s, ev.valid,
                                 leg) / 100.0 * leg
    step_px = speed_px_s(ctx) * ctx.step_times_s
    with np.errstate(invalid="ignore", divide="ignore"):
        vr = np.where(step_px > 0, 100.0 * vo_px / step_px, np.nan)
    return {RATIO.id: vr}


RATIO = MetricDef("vertical_ratio_pct", "Vertical ratio", "%", "bounce", views=SIDE,
                  step_column=True, valid_only=True, gates=("feet",),
                  summarize=lambda ctx: summarize_metres(RATIO, ctx, needs_scale=False))
METRICS = (RATIO,)
