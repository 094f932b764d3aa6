"""Step and stride length (side view, static camera), in metres.

* ``step_length_m`` = running speed x step time, per step: the ground the runner covers from
  one foot's initial contact to the other's (the "stride length" of Garmin's running
  dynamics, which counts one footfall to the next: Garmin, *Running Dynamics* owner's manual
  definitions).  Speed: :mod:`formcheck.metrics.speed` (the belt's on a treadmill, the hip's
  travel overground); step time: :func:`formcheck.metrics.cadence.step_times_s`.
* ``stride_length_m`` = two steps: this step's length plus the previous one's (one foot's
  contact to its next), NaN when either is unknown.

Both need the speed (so a static camera and, on a treadmill, ``--setting treadmill``) and the
image scale (``--scale`` or ``--height``), and rest on the clip's time base (withheld when it
looks slowed down or sped up).  The clip's value is the clip's speed (median over steps) x its
median step (stride) time: the per-step speed scatters by ~10-15 % at 30-60 fps (foot
jitter), the step time by ~1 %, so the product of the medians is steadier than the median of
the per-step products; the spread is the per-step values' IQR, the scale's relative
uncertainty is in ``extra``.
"""

from __future__ import annotations

import numpy as np

from formcheck.metrics.registry import MetricDef
from formcheck.metrics.speed import SIDE, speed_px_s, summarize_metres
from formcheck.metrics.summary import Context
from formcheck.results import MetricSummary, not_measurable


def per_step(ctx: Context) -> dict[str, np.ndarray]:
    """Per-step step length and stride length (m); NaN without a scale or a speed."""
    sc = ctx.scale
    if sc is None or not sc.known:
        nan = np.full(ctx.ev.n, np.nan)
        return {STEP.id: nan, STRIDE.id: nan.copy()}
    step = speed_px_s(ctx) / float(sc.px_per_m) * ctx.step_times_s
    stride = np.full(step.size, np.nan)
    stride[1:] = step[1:] + step[:-1]
    return {STEP.id: step, STRIDE.id: stride}


def _summarize(d: MetricDef, time_id: str, ctx: Context) -> MetricSummary:
    """Speed (median) x the median step or stride time (``time_id``), with the status,
    reasons, spread and extras of the per-step values' own summary."""
    own = summarize_metres(d, ctx)
    speed, time = ctx.summaries["speed_mps"], ctx.summaries[time_id]
    if not own.usable:
        return own
    if not (speed.usable and time.usable):
        why = speed.reason if not speed.usable else time.reason
        return not_measurable(d.id, d.unit, why)
    extra = dict(own.extra)
    value = float(speed.value) * float(time.value) / 1000.0
    if "scale_rel_uncertainty_pct" in extra:
        extra["scale_uncertainty"] = round(value * extra["scale_rel_uncertainty_pct"] / 100, 4)
    return MetricSummary(**{**own.__dict__, "value": value, "extra": extra})


STEP = MetricDef("step_length_m", "Step length", "m", "rhythm", views=SIDE, step_column=True,
                 valid_only=True, gates=("feet",),
                 summarize=lambda ctx: _summarize(STEP, "step_time_ms", ctx))
STRIDE = MetricDef("stride_length_m", "Stride length", "m", "rhythm", views=SIDE,
                   step_column=True, valid_only=True, gates=("feet",),
                   summarize=lambda ctx: _summarize(STRIDE, "stride_time_ms", ctx))
METRICS = (STEP, STRIDE)
