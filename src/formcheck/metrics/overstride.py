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

from formcheck.landmarks import L_ANKLE, L_HEEL, L_HIP, L_KNEE, R_ANKLE, R_HEEL, R_HIP, R_KNEE
from formcheck.metrics.geometry import angle_from_vertical_deg, at, flexion_deg

LEGJ = {"L": (L_HIP, L_KNEE, L_ANKLE, L_HEEL), "R": (R_HIP, R_KNEE, R_ANKLE, R_HEEL)}


def at_contact(t: np.ndarray, xy: np.ndarray, ic_t_s: np.ndarray, foot: np.ndarray, sign: int,
               leg_px: float) -> dict[str, np.ndarray]:
    """Per-step overstride (% leg), shank angle (deg) and knee flexion (deg) at each IC."""
    k = ic_t_s.size
    out = {n: np.full(k, np.nan) for n in
           ("overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg")}
    for i in range(k):
        p = at(t, xy, float(ic_t_s[i]))
        h, kn, a, he = LEGJ[str(foot[i])]
        hip = (p[L_HIP] + p[R_HIP]) / 2
        out["overstride_pct_leg"][i] = 100.0 * sign * (p[he, 0] - hip[0]) / leg_px
        out["shank_angle_ic_deg"][i] = -angle_from_vertical_deg(p[kn], p[a], sign)
        out["knee_flexion_ic_deg"][i] = flexion_deg(p[h], p[kn], p[a])
    return out
