"""Overstriding proxies at initial contact (side view).

* ``overstride_pct_leg``: horizontal distance from the hip midpoint to the heel of the landing
  foot at IC, positive when the heel is ahead in the running direction, as % of leg length
  (hip-knee + knee-ankle, median over the clip).  Open tools use <= 8 % good, <= 15 % warn
  (design choices; no validated 2D cut-off exists: research.md, Souza 2016).
* ``shank_angle_ic_deg``: knee->ankle segment from vertical at IC, positive when the ankle is
  ahead of the knee (reaching).  Human raters: 2.2-4.8 deg repeatability (Dingenen et al. 2018).
* ``knee_flexion_ic_deg``: 180 - interior hip-knee-ankle angle at IC (0 = straight knee).
  Bramah et al. 2018: injured runners land with a straighter knee.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import LEG, hip_mid
from formcheck.metrics.geometry import angle_from_vertical_deg, at, flexion_deg
from formcheck.metrics.registry import SAGITTAL, MetricDef
from formcheck.metrics.summary import Context

#: Per side: hip, knee, ankle, heel.
LEGJ = {s: LEG[s][:4] for s in ("L", "R")}


def at_contact(t: np.ndarray, xy: np.ndarray, ic_t_s: np.ndarray, foot: np.ndarray, sign: int,
               leg_px: float) -> dict[str, np.ndarray]:
    """Per-step overstride (% leg), shank angle (deg) and knee flexion (deg) at each IC."""
    k = ic_t_s.size
    out = {n: np.full(k, np.nan) for n in
           ("overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg")}
    for i in range(k):
        p = at(t, xy, float(ic_t_s[i]))
        h, kn, a, he = LEGJ[str(foot[i])]
        hip = hip_mid(p)
        out["overstride_pct_leg"][i] = 100.0 * sign * (p[he, 0] - hip[0]) / leg_px
        out["shank_angle_ic_deg"][i] = -angle_from_vertical_deg(p[kn], p[a], sign)
        out["knee_flexion_ic_deg"][i] = flexion_deg(p[h], p[kn], p[a])
    return out


def per_step(ctx: Context) -> dict[str, np.ndarray]:
    """Per-step overstride, shank angle and knee flexion at each IC."""
    ev, clean, view = ctx.ev, ctx.clean, ctx.view
    oc = at_contact(clean.t_s, clean.xy_px, ev.ic_t_s, ev.chain, view.sign,
                    view.leg_length_px) if ev.n else {}
    return {k: oc.get(k, np.zeros(0)) for k in (d.id for d in METRICS)}


METRICS = (
    MetricDef("overstride_pct_leg", "Overstride (heel ahead of hip)", "% leg length",
              "landing", views=SAGITTAL, step_column=True, valid_only=True, gates=("feet",),
              groups=("key", "sagittal_at_ic")),
    MetricDef("shank_angle_ic_deg", "Shank angle at contact", "deg", "landing",
              views=SAGITTAL, step_column=True, valid_only=True, gates=("feet",),
              groups=("sagittal_at_ic",)),
    MetricDef("knee_flexion_ic_deg", "Knee flexion at contact", "deg", "landing",
              views=SAGITTAL, step_column=True, valid_only=True, gates=("feet", "knee_2d"),
              groups=("sagittal_at_ic",)),
)
