"""Step and stride length (side view, static camera), in metres.

* ``step_length_m`` = running speed x step time, per step: the ground the runner covers from
  one foot's initial contact to the other's (the "stride length" of Garmin's running
  dynamics, which counts one footfall to the next: Garmin, *Running Dynamics* owner's manual
  definitions).  Speed: :mod:`formcheck.metrics.speed` (the belt's on a treadmill, the hip's
  travel overground); step time: :func:`formcheck.metrics.cadence.step_times_s`.
* ``stride_length_m`` = speed x stride time: two steps, one foot's contact to its next.

Both need the speed (so a static camera and, on a treadmill, ``--setting treadmill``) and the
image scale (``--scale`` or ``--height``), and rest on the clip's time base (withheld when it
looks slowed down or sped up).  The summaries are medians over steps with the IQR, and the
scale's relative uncertainty in ``extra``.
"""

from __future__ import annotations

import numpy as np

from formcheck.metrics.registry import MetricDef
from formcheck.metrics.speed import SIDE, speed_px_s, summarize_metres
from formcheck.metrics.summary import Context


def per_step(ctx: Context) -> dict[str, np.ndarray]:
    """Per-step step length and stride length (m); NaN without a scale or a speed."""
    sc = ctx.scale
    if sc is None or not sc.known:
        nan = np.full(ctx.ev.n, np.nan)
        return {STEP.id: nan, STRIDE.id: nan.copy()}
    v = speed_px_s(ctx) / float(sc.px_per_m)
    return {STEP.id: v * ctx.step_times_s, STRIDE.id: v * ctx.stride_times_s}


STEP = MetricDef("step_length_m", "Step length", "m", "rhythm", views=SIDE, step_column=True,
                 valid_only=True, gates=("feet",),
                 summarize=lambda ctx: summarize_metres(STEP, ctx))
STRIDE = MetricDef("stride_length_m", "Stride length", "m", "rhythm", views=SIDE,
                   step_column=True, valid_only=True, gates=("feet",),
                   summarize=lambda ctx: summarize_metres(STRIDE, ctx))
METRICS = (STEP, STRIDE)
