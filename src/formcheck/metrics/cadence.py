"""Cadence: steps per minute (both feet), never strides per minute.

cadence = 60 * (number of step intervals) / (time between the first and last initial contact
bounding them), over runs of consecutive valid steps; equivalently 60 / mean step time.  Steps
alternate unequal durations (left vs right), so the mean over whole steps is used rather than
the median of single intervals (research.md).  Step time = IC(i) - IC(i-1); stride time =
IC(i) - IC(i-2), the same foot.  The spectral step frequency (pelvis bounce, ankle separation)
is an independent cross-check.

Sources: Heiderscheit et al. 2011 (Med Sci Sports Exerc 43:296); Lieberman et al. 2015
(J Exp Biol 218:3406).
"""

from __future__ import annotations

import numpy as np

from formcheck.events import Events


def step_times_s(ev: Events) -> np.ndarray:
    """[K] time since the previous IC for each step (NaN for the first or an invalid step)."""
    st = np.full(ev.n, np.nan)
    if ev.n > 1:
        st[1:] = np.diff(ev.ic_t_s)
        st[1:][~ev.valid[1:]] = np.nan
    return st


def stride_times_s(ev: Events) -> np.ndarray:
    """[K] time since the same foot's previous IC (two valid steps back), else NaN."""
    out = np.full(ev.n, np.nan)
    for i in range(2, ev.n):
        if ev.valid[i] and ev.valid[i - 1] and ev.foot[i] == ev.foot[i - 2]:
            out[i] = ev.ic_t_s[i] - ev.ic_t_s[i - 2]
    return out


def cadence_spm(ev: Events) -> tuple[float, int]:
    """(steps/min, number of valid step intervals behind it)."""
    st = step_times_s(ev)
    ok = np.isfinite(st)
    n = int(ok.sum())
    if n == 0:
        return float("nan"), 0
    return float(60.0 * n / st[ok].sum()), n
