"""Stance-phase metrics: ground contact time, duty factor, knee flexion at midstance and
vertical oscillation.

* ``contact_time_ms`` = TO - IC of the same foot.  Typical 160-300 ms in running; needs
  >= 60 fps (ideally 120+) to be more than a rough figure (research.md).
* ``duty_factor_pct`` = contact time / stride time * 100 (> 50 % means double support: walking).
* ``knee_flexion_midstance_deg`` = knee flexion of the stance leg at midstance, (IC + TO) / 2
  (stance-phase knee flexion peaks near there).  Well under 40-45 deg suggests a stiff
  landing (Souza 2016).
* ``vertical_oscillation_pct_leg`` = peak-to-peak vertical travel of the hip midpoint over each
  step, % of leg length; in cm when the runner's height is given (leg length taken as
  0.491 x height: thigh + shank, Winter's anthropometry).
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import L_ANKLE, L_HIP, L_KNEE, R_ANKLE, R_HIP, R_KNEE
from formcheck.metrics.geometry import at, flexion_deg

LEG_FRACTION_OF_HEIGHT = 0.491
KNEE = {"L": (L_HIP, L_KNEE, L_ANKLE), "R": (R_HIP, R_KNEE, R_ANKLE)}


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
    hip_y = (xy[:, L_HIP, 1] + xy[:, R_HIP, 1]) / 2
    out = np.full(ic_t_s.size, np.nan)
    for i in range(1, ic_t_s.size):
        if not valid[i]:
            continue
        m = (t >= ic_t_s[i - 1]) & (t <= ic_t_s[i])
        y = hip_y[m]
        if m.sum() >= 3 and np.isfinite(y).all():
            out[i] = 100.0 * float(y.max() - y.min()) / leg_px
    return out
