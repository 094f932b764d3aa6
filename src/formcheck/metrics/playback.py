"""Playback-speed sanity: a running rhythm far outside running's range means the clip plays
slowed down (slow motion without ``--slowmo``) or sped up (time-lapse), and every metric that
rests on the clip's time base (settings.toml ``[doubts] time_based``) is withheld.

The rhythm is the cadence when measured, else the body's spectral step rate when its peak is
clear (ratio > 5) and the clip is otherwise usable.  Limits: settings.toml ``[gates]``
``min_running_cadence_spm`` (not applied to walking) and ``max_running_cadence_spm``; the
suggested factor assumes a real cadence near 170 steps/min.
"""

from __future__ import annotations

import numpy as np

from formcheck.config import settings
from formcheck.events import Events
from formcheck.results import Doubt


def slowmo_hint(factor: float) -> str:
    """The ``--slowmo`` value to suggest for an estimated slow-down ``factor``: whole numbers
    from 1.5x up (slow-motion modes are 2x, 4x, 8x ...; the estimate assumes a cadence near
    170, so finer digits would be false precision), else two decimals."""
    if factor >= 1.5:
        return f"{round(factor):d}"
    return f"{factor:.2f}"


def doubts(cadence_spm: float | None, ev: Events, common: list[str], walking: bool
           ) -> list[Doubt]:
    """The doubts (slowed down / sped up) the clip's rhythm raises, in that order."""
    g = settings()["gates"]
    rhythm = cadence_spm
    if rhythm is None and not common and np.isfinite(ev.step_hz_spectral) \
            and ev.spectral_peak_ratio > 5:
        rhythm = 60.0 * ev.step_hz_spectral
    out: list[Doubt] = []
    time_based = tuple(settings()["doubts"]["time_based"])
    if rhythm is not None and not walking and rhythm < g["min_running_cadence_spm"]:
        factor = 170.0 / rhythm
        hint = slowmo_hint(factor)
        msg = (f"cadence {rhythm:.0f} steps/min is implausibly low for running: the clip looks "
               f"slowed down (about {factor:.1f}x if the real cadence is near 170). Re-run "
               f"with --slowmo {hint}.")
        out.append(Doubt(msg, f"not assessed: the clip looks slowed down about "
                              f"{factor:.1f}x; re-run with --slowmo {hint}", time_based,
                         "slowed_down"))
    if rhythm is not None and rhythm > g["max_running_cadence_spm"]:
        msg = (f"cadence {rhythm:.0f} steps/min is implausibly high: is the clip sped up "
               "(time-lapse)?")
        factor = rhythm / 170.0
        out.append(Doubt(msg, f"not assessed: the clip looks sped up about {factor:.1f}x; "
                              f"re-run with --slowmo {slowmo_hint(1.0 / factor)}",
                         time_based, "sped_up"))
    return out
