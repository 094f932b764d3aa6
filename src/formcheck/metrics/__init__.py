"""Metrics stage: per-step values and clip summaries with honest status.

Each metric module declares its metrics once (:mod:`formcheck.metrics.registry`: id, label,
unit, views, per-step column, gates, summary; definition, units and citation in its
docstring).  :func:`compute` is the wiring over the registry: it computes every module's
per-step values, drops implausible ones, then makes each metric's summary in the registry's
evaluation order and decides whether the clip supports a number: ``measured``,
``low_confidence`` (with the reason) or ``not_measurable`` (with the reason: camera view, too
few steps, occlusion, frame rate).  Gates are in settings.toml; adding a metric:
docs/adding-a-metric.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from formcheck.config import settings
from formcheck.events import Events
from formcheck.gait import WALKING_WARNING
from formcheck.metrics import arm_swing, cadence, foot_strike, overstride, stance, trunk_lean
from formcheck.metrics import registry as _reg
from formcheck.metrics.playback import doubts as _playback_doubts
from formcheck.metrics.playback import slowmo_hint
from formcheck.metrics.scale import Scale
from formcheck.metrics.scale import estimate as _estimate_scale
from formcheck.metrics.steps import STEP_COLUMNS, StepTable
from formcheck.metrics.summary import Context, summarize
from formcheck.results import Doubt, MetricSummary, apply_doubts
from formcheck.signals import CleanSeries
from formcheck.view import ViewInfo

__all__ = ["STEP_COLUMNS", "UNITS", "Metrics", "StepTable", "arm_swing", "cadence", "compute",
           "foot_strike", "overstride", "slowmo_hint", "stance", "trunk_lean"]

#: Metric id -> unit, in reading order (derived from the registry).
UNITS = _reg.units()


@dataclass(frozen=True)
class Metrics:
    """Output of the metrics stage."""

    steps: StepTable
    summaries: dict[str, MetricSummary]
    warnings: tuple[str, ...]
    fps_real: float
    lean_series_deg: np.ndarray
    doubts: tuple[Doubt, ...] = ()
    scale: Scale | None = None


def _drop_implausible(vals: dict[str, np.ndarray], ranges: dict[str, list[float]]
                      ) -> dict[str, int]:
    """Set per-step values outside ``ranges`` (settings.toml [plausible]: metric id ->
    [min, max]) to NaN, in place; returns how many were dropped per metric (only those with
    any)."""
    dropped = {}
    for k, (lo, hi) in ranges.items():
        v = vals.get(k)
        if v is None:
            continue
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(v) & ((v < lo) | (v > hi))
        if bad.any():
            vals[k] = np.where(bad, np.nan, v)
            dropped[k] = int(bad.sum())
    return dropped


def _step_values(ctx: Context) -> dict[str, np.ndarray]:
    """Every metric module's per-step values (its ``per_step(ctx)``), in steps.csv order,
    NaN on invalid steps for the metrics that count only valid ones."""
    raw: dict[str, np.ndarray] = {}
    for module in _reg.modules():
        if hasattr(module, "per_step"):
            raw.update(module.per_step(ctx))
    valid = ctx.ev.valid
    return {d.id: np.where(valid, raw[d.id], np.nan) if d.valid_only else raw[d.id]
            for d in _reg.step_metrics()}


def compute(clean: CleanSeries, view: ViewInfo, ev: Events, height_cm: float | None = None,
            detection_rate: float = 1.0, body_plausible: float = 1.0,
            extra_doubts: tuple[Doubt, ...] = (), scale_px_per_m: float | None = None
            ) -> Metrics:
    """Per-step metrics and clip summaries (see module docstring).

    The image scale for the figures in metres comes from ``scale_px_per_m`` (``--scale``)
    or ``height_cm`` (:func:`formcheck.metrics.scale.estimate`).

    ``extra_doubts`` (found by earlier stages, e.g. a moving camera) and the doubts found here
    (the clip looks slowed down or sped up) turn the metrics they name into "not assessed"
    (:func:`formcheck.results.apply_doubts`)."""
    lean = trunk_lean.lean_series_deg(clean.xy_px, view.sign)
    ctx = Context(clean=clean, view=view, ev=ev, gates=settings()["gates"], height_cm=height_cm,
                  detection_rate=detection_rate, body_plausible=body_plausible,
                  step_times_s=cadence.step_times_s(ev), stride_times_s=cadence.stride_times_s(ev),
                  lean_deg=lean, scale=_estimate_scale(clean, ev, height_cm, scale_px_per_m))
    vals = _step_values(ctx)
    implausible = _drop_implausible(vals, settings()["plausible"])
    classes = tuple(foot_strike.classify(a) for a in vals[foot_strike.ANGLE.id])
    # the steps' sides rest on evidence (events.side_confident: camera geometry or consistent
    # leg labels); an Events made without it has none
    side_ok = ev.side_confident if ev.side_confident.size == ev.n else np.zeros(ev.n, bool)
    steps = StepTable(foot=ev.foot, ic_t_s=ev.ic_t_s, to_t_s=ev.to_t_s, valid=ev.valid,
                      values=vals, strike_class=classes, side_confident=side_ok,
                      ic_frame=ev.ic_frame, to_frame=ev.to_frame)
    ctx = replace(ctx, vals=vals, classes=classes, side_ok=side_ok)

    warnings: list[str] = []
    common = ctx.common
    if implausible and not common and view.view in _reg.SAGITTAL:
        # (the ranges are for sagittal angles: in other views those are not reported anyway)
        warnings.append(
            f"{sum(implausible.values())} per-step value(s) outside any running stride's "
            "range were discarded as pose errors (" + ", ".join(
                f"{k}: {n}" for k, n in implausible.items()) + ")")
    summaries = ctx.summaries
    sides_checked = False
    for d in _reg.in_summary_order():
        if d.basis != "steps" and not sides_checked:
            # left/right: the step metrics' per-side values only where the steps' sides rest
            # on evidence
            sides_checked = True
            if not ctx.ident_ok:
                summaries.update({k: replace(v, per_side={}) for k, v in summaries.items()
                                  if v.per_side})
        summaries[d.id] = summarize(d, ctx)
    walking = view.gait == "walking"
    doubts = _playback_doubts(summaries[cadence.CADENCE.id].value, ev, common, walking)
    warnings.extend(d.message for d in doubts)
    if walking:
        warnings.append(WALKING_WARNING)
    if common:
        warnings.extend(common)
    warnings.extend(ev.notes)
    for d in extra_doubts:
        if any(summaries.get(m) is not None and summaries[m].usable for m in d.metric_ids):
            warnings.append(d.message)  # said only where it withholds a number
            doubts.append(d)
    summaries = apply_doubts(summaries, doubts)
    return Metrics(steps=steps, summaries=summaries, warnings=tuple(warnings),
                   fps_real=clean.fps, lean_series_deg=lean, doubts=tuple(doubts),
                   scale=ctx.scale)
