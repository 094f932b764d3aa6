"""Foot-strike angle and pattern at initial contact (side view).

``foot_strike_angle_deg`` = angle of the heel->toe (MediaPipe ``foot_index``) segment above the
horizontal at IC minus the same angle with the foot flat at midstance of that step (the
stand-in for Altman & Davis's standing-angle subtraction, which also cancels camera roll).
Positive = toe up (heel first).  Pattern (Altman & Davis 2012, Gait Posture 35:298):
rearfoot > 8 deg, midfoot -1.6 to 8 deg, forefoot < -1.6 deg.  Human raters agree on the
pattern from 2D video 99.4 % of the time, with about 2.5 deg typical error on the angle.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import L_HEEL, L_TOE, R_HEEL, R_TOE
from formcheck.metrics.geometry import at, incline_deg

FOOTJ = {"L": (L_HEEL, L_TOE), "R": (R_HEEL, R_TOE)}
REARFOOT_MIN_DEG = 8.0
FOREFOOT_MAX_DEG = -1.6


def classify(angle_deg: float) -> str:
    if not np.isfinite(angle_deg):
        return ""
    if angle_deg > REARFOOT_MIN_DEG:
        return "rearfoot"
    if angle_deg < FOREFOOT_MAX_DEG:
        return "forefoot"
    return "midfoot"


def strike_angles(t: np.ndarray, xy: np.ndarray, ic_t_s: np.ndarray, to_t_s: np.ndarray,
                  foot: np.ndarray, sign: int) -> np.ndarray:
    """[K] foot-strike angle (deg) per step; NaN where the stance is not known."""
    out = np.full(ic_t_s.size, np.nan)
    for i in range(ic_t_s.size):
        he, to = FOOTJ[str(foot[i])]
        p = at(t, xy, float(ic_t_s[i]))
        a_ic = float(incline_deg(p[he], p[to], sign))
        if np.isfinite(to_t_s[i]):
            ms = np.linspace(ic_t_s[i] + 0.35 * (to_t_s[i] - ic_t_s[i]),
                             ic_t_s[i] + 0.6 * (to_t_s[i] - ic_t_s[i]), 5)
            flat = [float(incline_deg(at(t, xy, m)[he], at(t, xy, m)[to], sign)) for m in ms]
            ref = float(np.nanmedian(flat)) if np.isfinite(flat).any() else np.nan
        else:
            ref = np.nan
        out[i] = a_ic - ref
    return out
