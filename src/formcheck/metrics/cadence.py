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
