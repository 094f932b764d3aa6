"""Left/right asymmetry of step time and contact time.

``step_time_asymmetry_pct`` and ``contact_time_asymmetry_pct`` = |L - R| / mean(L, R) x 100 of
the per-side medians of step time and contact time (design choice; no validated cut-off).
Given only where the steps' sides rest on evidence (events.side_confident) and each side has
at least half of ``min_steps_any`` steps; low confidence under ``min_steps_per_side`` per side
or when the asymmetry is within what step-to-step scatter alone produces (``spread``: twice
the standard error of the difference of the medians).
"""

from __future__ import annotations

import numpy as np

from formcheck.metrics.registry import MetricDef
from formcheck.metrics.summary import Context
from formcheck.results import MetricSummary, Status, not_measurable

#: Asymmetry id -> the per-step metric it compares.
SOURCE = {"step_time_asymmetry_pct": "step_time_ms",
          "contact_time_asymmetry_pct": "contact_time_ms"}


def asymmetry(values: np.ndarray, foot: np.ndarray) -> tuple[float, int, float]:
    """Left/right asymmetry |L - R| / mean x 100 of the per-side medians, the fewer steps of
    the two sides, and the asymmetry that per-step scatter alone produces (%): twice the
    standard error of the difference of the medians (SE of a median ~ 1.2533 sigma / sqrt(n),
    sigma from 1.4826 x MAD)."""
    ok = np.isfinite(values)
    lv, rv = values[ok & (foot == "L")], values[ok & (foot == "R")]
    if lv.size == 0 or rv.size == 0:
        return float("nan"), 0, float("nan")
    a, b = float(np.median(lv)), float(np.median(rv))
    se = [1.2533 * 1.4826 * float(np.median(np.abs(v - np.median(v)))) / np.sqrt(v.size)
          for v in (lv, rv)]
    mean = (a + b) / 2
    noise = 100.0 * 2.0 * float(np.hypot(*se)) / mean
    return 100.0 * abs(a - b) / mean, int(min(lv.size, rv.size)), noise


def _summarize(sid: str, unit: str, ctx: Context) -> MetricSummary:
    src = SOURCE[sid]
    g = ctx.gates
    n_any, per_side = g["min_steps_any"], g["min_steps_per_side"]
    base = ctx.summaries[src]
    a, nmin, noise = asymmetry(ctx.vals[src], ctx.ev.foot)
    if not ctx.ident_ok and base.usable:
        return not_measurable(sid, unit,
                              "which steps are left and which right is uncertain in this clip")
    if not base.usable or not np.isfinite(a) or nmin < n_any // 2:
        return not_measurable(sid, unit, base.reason or "too few steps on each side")
    reasons = [base.reason] if base.reason else []
    if nmin < per_side:
        reasons.append(f"only {nmin} steps on one side (want {per_side} per side)")
    if np.isfinite(noise) and a < noise:
        reasons.append(f"within what the step-to-step scatter alone gives ({noise:.1f} %)")
    return MetricSummary(
        id=sid, value=a, unit=unit,
        status=Status.LOW_CONFIDENCE if reasons else Status.MEASURED,
        reason="; ".join(reasons), n_steps=nmin * 2, per_side=base.per_side,
        spread=noise if np.isfinite(noise) else None)


def summarize_step_time(ctx: Context) -> MetricSummary:
    """Step-time asymmetry (module docstring)."""
    return _summarize(STEP.id, STEP.unit, ctx)


def summarize_contact_time(ctx: Context) -> MetricSummary:
    """Contact-time asymmetry (module docstring)."""
    return _summarize(CONTACT.id, CONTACT.unit, ctx)


STEP = MetricDef("step_time_asymmetry_pct", "Step-time asymmetry L/R", "%", "symmetry",
                 basis="sides", groups=("key",), summarize=summarize_step_time)
CONTACT = MetricDef("contact_time_asymmetry_pct", "Contact-time asymmetry L/R", "%",
                    "symmetry", basis="sides", summarize=summarize_contact_time)
METRICS = (STEP, CONTACT)
