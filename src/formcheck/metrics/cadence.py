"""Cadence: steps per minute (both feet), never strides per minute.

cadence = 60 * (number of step intervals) / (their summed duration), over consecutive valid
steps; equivalently 60 / mean step time.  Intervals are taken between rhythm anchors (one per
step: the forward-most foot's peak in side views), which are label-free and less noisy than
refined contacts (research.md: within 0.2 steps/min of the reference on the sample clip).  Steps
alternate unequal durations (left vs right), so the mean over whole steps is used rather than
the median of single intervals (research.md).  Step time = anchor(i) - anchor(i-1); stride
time = anchor(i) - anchor(i-2), the same foot.  The spectral step frequency (pelvis bounce,
ankle separation) is an independent cross-check.

Sources: Heiderscheit et al. 2011 (Med Sci Sports Exerc 43:296); Lieberman et al. 2015
(J Exp Biol 218:3406).
"""

from __future__ import annotations

import numpy as np

from formcheck.events import Events
from formcheck.metrics.registry import MetricDef
from formcheck.metrics.summary import Context, r
from formcheck.results import MetricSummary, Status, not_measurable


def step_times_s(ev: Events) -> np.ndarray:
    """[K] step time ending at each step (NaN for the first or an invalid step), measured
    between consecutive rhythm anchors (forward-most foot peaks, or highest lifts in front
    views): label-free and less noisy than the refined contacts."""
    st = np.full(ev.n, np.nan)
    if ev.n > 1:
        st[1:] = np.diff(ev.anchor_t_s)
        st[1:][~ev.timing_valid[1:]] = np.nan
    return st


def stride_times_s(ev: Events) -> np.ndarray:
    """[K] time since the same foot's previous IC (two valid steps back), else NaN."""
    out = np.full(ev.n, np.nan)
    for i in range(2, ev.n):
        if ev.timing_valid[i] and ev.timing_valid[i - 1]:
            out[i] = ev.anchor_t_s[i] - ev.anchor_t_s[i - 2]
    return out


def cadence_spm(ev: Events) -> tuple[float, int]:
    """(steps/min, number of valid step intervals behind it)."""
    st = step_times_s(ev)
    ok = np.isfinite(st)
    n = int(ok.sum())
    if n == 0:
        return float("nan"), 0
    return float(60.0 * n / st[ok].sum()), n


def per_step(ctx: Context) -> dict[str, np.ndarray]:
    """Per-step step and stride times (ms)."""
    return {"step_time_ms": ctx.step_times_s * 1000, "stride_time_ms": ctx.stride_times_s * 1000}


def summarize_cadence(ctx: Context) -> MetricSummary:
    """Cadence over the clip: not measurable under ``min_steps_any`` contacts, low confidence
    under ``min_steps_cadence`` or when the step count and the spectral step frequency differ
    by more than 5 %; spread = IQR of 60 / step time; per side from each side's median step
    time; step and stride time medians and the spectral cadence in ``extra``."""
    g, ev, st, sr = ctx.gates, ctx.ev, ctx.step_times_s, ctx.stride_times_s
    unit = CADENCE.unit
    cad, n_int = cadence_spm(ev)
    block = list(ctx.common)
    n_contacts = n_int + 1 if n_int else 0
    if n_contacts < g["min_steps_any"]:
        block.append(f"too few steps ({n_contacts} contacts; need at least "
                     f"{g['min_steps_any']})")
    if block or not np.isfinite(cad):
        return not_measurable(CADENCE.id, unit, "; ".join(block) or "no steps found")
    cautions = []
    if n_contacts < g["min_steps_cadence"]:
        cautions.append(f"only {n_contacts} contacts (want {g['min_steps_cadence']})")
    spec = 60.0 * ev.step_hz_spectral
    if np.isfinite(spec) and abs(spec - cad) > 0.05 * cad:
        cautions.append(f"step count ({cad:.1f}) and body rhythm ({spec:.1f} steps/min) "
                        "disagree")
    ok = np.isfinite(st)
    q1, q3 = np.percentile(60.0 / st[ok], [25, 75])
    return MetricSummary(
        id=CADENCE.id, value=cad, unit=unit,
        status=Status.LOW_CONFIDENCE if cautions else Status.MEASURED,
        reason="; ".join(cautions), spread=float(q3 - q1), n_steps=n_int,
        per_side={s: r(float(60.0 / np.nanmedian(st[ok & (ev.foot == s)])), 2)
                  if (ok & (ev.foot == s)).any() else None for s in ("L", "R")},
        evidence_t_s=tuple(float(x) for x in ev.ic_t_s[ok]),
        extra={"step_time_ms": r(float(np.nanmedian(st) * 1000), 1),
               "stride_time_ms": r(float(np.nanmedian(sr) * 1000), 1)
               if np.isfinite(sr).any() else None,
               "spectral_spm": r(spec, 2)},
    )


CADENCE = MetricDef("cadence_spm", "Cadence", "steps/min", "rhythm",
                    summarize=summarize_cadence)
METRICS = (
    CADENCE,
    MetricDef("step_time_ms", "Step time", "ms", "rhythm", step_column=True, from_events=True,
              per_side="shown"),
    MetricDef("stride_time_ms", "Stride time", "ms", "rhythm", step_column=True,
              from_events=True, per_side="shown"),
)
