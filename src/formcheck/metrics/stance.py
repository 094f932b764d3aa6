"""Stance-phase metrics: ground contact time, duty factor, knee flexion at midstance and
vertical oscillation.

* ``contact_time_ms`` = TO - IC of the same foot.  Typical 160-300 ms in running; needs
  >= 60 fps (ideally 120+) to be more than a rough figure (research.md).
* ``duty_factor_pct`` = contact time / median stride time of the clip * 100
  (:func:`formcheck.gait.duty_factor_pct`; > 50 % means double support: walking).
* ``knee_flexion_midstance_deg`` = knee flexion of the stance leg at midstance, (IC + TO) / 2
  (stance-phase knee flexion peaks near there).  Well under 40-45 deg suggests a stiff
  landing (Souza 2016).
* ``vertical_oscillation_pct_leg`` = peak-to-peak vertical travel of the hip midpoint over each
  step, % of leg length; ``vertical_oscillation_cm`` the same in cm when the image scale is
  known (``--height`` or ``--scale``, :mod:`formcheck.metrics.scale`): % leg x leg length
  (px) / scale (px per m).  Garmin's running-dynamics vertical oscillation is the same
  quantity measured at the torso (FIT ``record.vertical_oscillation``, mm).
"""

from __future__ import annotations

import numpy as np

from formcheck.gait import duty_factor_pct
from formcheck.landmarks import LEG, hip_mid
from formcheck.metrics.geometry import at, flexion_deg
from formcheck.metrics.registry import SAGITTAL, MetricDef
from formcheck.metrics.scale import NO_SCALE
from formcheck.metrics.summary import Context
from formcheck.results import MetricSummary, not_measurable

#: Per side: hip, knee, ankle.
KNEE = {s: LEG[s][:3] for s in ("L", "R")}


def knee_flexion_stance(t: np.ndarray, xy: np.ndarray, ic_t_s: np.ndarray, to_t_s: np.ndarray,
                        foot: np.ndarray) -> np.ndarray:
    """[K] knee flexion (deg) of the stance leg at midstance, (IC + TO) / 2."""
    out = np.full(ic_t_s.size, np.nan)
    for i in range(ic_t_s.size):
        if not np.isfinite(to_t_s[i]):
            continue
        p = at(t, xy, float((ic_t_s[i] + to_t_s[i]) / 2))
        h, k, a = KNEE[str(foot[i])]
        out[i] = float(flexion_deg(p[h], p[k], p[a]))
    return out


def vertical_oscillation(t: np.ndarray, xy: np.ndarray, ic_t_s: np.ndarray, valid: np.ndarray,
                         leg_px: float) -> np.ndarray:
    """[K] peak-to-peak hip-midpoint vertical travel (% leg length) over the step ending at
    each IC (NaN for the first or invalid steps)."""
    hip_y = hip_mid(xy)[:, 1]
    out = np.full(ic_t_s.size, np.nan)
    for i in range(1, ic_t_s.size):
        if not valid[i]:
            continue
        m = (t >= ic_t_s[i - 1]) & (t <= ic_t_s[i])
        y = hip_y[m]
        if m.sum() >= 3 and np.isfinite(y).all():
            out[i] = 100.0 * float(y.max() - y.min()) / leg_px
    return out


def per_step(ctx: Context) -> dict[str, np.ndarray]:
    """Per-step contact time, duty factor, knee flexion at midstance, vertical oscillation."""
    ev, t, xy = ctx.ev, ctx.clean.t_s, ctx.clean.xy_px
    st, sr = ctx.step_times_s, ctx.stride_times_s
    ct = (ev.to_t_s - ev.ic_t_s) * 1000
    ct[~ev.valid] = np.nan
    med_stride = np.nanmedian(sr) if np.isfinite(sr).any() else (
        2 * np.nanmedian(st) if np.isfinite(st).any() else np.nan)
    return {
        "contact_time_ms": ct,
        "duty_factor_pct": duty_factor_pct(ct, med_stride) if np.isfinite(med_stride)
        else np.full(ev.n, np.nan),
        "knee_flexion_midstance_deg": knee_flexion_stance(t, xy, ev.ic_t_s, ev.to_t_s,
                                                          ev.chain),
        "vertical_oscillation_pct_leg": vertical_oscillation(t, xy, ev.ic_t_s, ev.valid,
                                                             ctx.view.leg_length_px),
    }


def summarize_cm(ctx: Context) -> MetricSummary:
    """Vertical oscillation in cm: the %-of-leg summary x leg length (px) / the image scale
    (px per m, :mod:`formcheck.metrics.scale`); needs ``--height`` or ``--scale``.  ``extra``
    holds the scale's source and relative uncertainty."""
    vo, sc = ctx.summaries[OSCILLATION.id], ctx.scale
    if vo.usable and sc is not None and sc.known:
        k = ctx.view.leg_length_px / float(sc.px_per_m)  # m per leg length: % leg -> cm
        value = float(vo.value) * k
        return MetricSummary(**{**vo.__dict__, "id": CM.id, "unit": CM.unit, "value": value,
                                "spread": (vo.spread or 0.0) * k, "extra": sc.extra(value)})
    return not_measurable(CM.id, CM.unit, vo.reason if not vo.usable
                          else sc.reason if sc is not None and sc.reason else NO_SCALE)


OSCILLATION = MetricDef("vertical_oscillation_pct_leg", "Vertical oscillation", "% leg length",
                        "bounce", step_column=True, gates=("depth",), per_side="none",
                        groups=("key",))
CM = MetricDef("vertical_oscillation_cm", "Vertical oscillation (cm)", "cm", "bounce",
               summarize=summarize_cm)
METRICS = (
    MetricDef("contact_time_ms", "Ground contact time", "ms", "ground contact",
              step_column=True, from_events=True, gates=("frame_rate", "feet"),
              groups=("key",)),
    MetricDef("duty_factor_pct", "Duty factor", "%", "ground contact", step_column=True,
              from_events=True, gates=("frame_rate", "feet")),
    MetricDef("knee_flexion_midstance_deg", "Knee flexion in stance", "deg", "stance knee",
              views=SAGITTAL, step_column=True, valid_only=True, gates=("feet", "knee_2d"),
              groups=("key",)),
    OSCILLATION,
    CM,
)
