"""Trunk lean (side view): the hip-midpoint -> shoulder-midpoint segment from vertical, in
degrees, forward (in the running direction) positive, backward negative.

Reported at midstance of each step (midway between IC and TO) and as the mean over all frames.
Teng & Powers 2014 (J Orthop Sports Phys Ther 44:785): self-selected 7.3 +/- 3.6 deg; a
practical normal band is about 4-12 deg forward (design choice).  The camera is assumed level:
a tilted phone adds its roll to this angle.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import L_HIP, L_SHOULDER, R_HIP, R_SHOULDER
from formcheck.metrics.geometry import angle_from_vertical_deg, at


def lean_series_deg(xy: np.ndarray, sign: int) -> np.ndarray:
    """[N] trunk lean per frame (deg)."""
    hip = (xy[:, L_HIP] + xy[:, R_HIP]) / 2
    sh = (xy[:, L_SHOULDER] + xy[:, R_SHOULDER]) / 2
    return angle_from_vertical_deg(sh, hip, sign)


def at_midstance(t: np.ndarray, lean: np.ndarray, ic_t_s: np.ndarray, to_t_s: np.ndarray
                 ) -> np.ndarray:
    """[K] trunk lean at midstance of each step (deg)."""
    out = np.full(ic_t_s.size, np.nan)
    for i in range(ic_t_s.size):
        if np.isfinite(to_t_s[i]):
            out[i] = float(at(t, lean[:, None], float((ic_t_s[i] + to_t_s[i]) / 2))[0])
    return out
