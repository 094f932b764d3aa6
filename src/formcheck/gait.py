"""Gait stage: running or walking, from the pelvis bounce, the flight phase and the cadence.

* **Duty factor** (the one definition, :func:`duty_factor_pct`): contact time / stride time x
  100, the share of a stride a foot is on the ground.  Running has a flight phase, both feet
  off the ground, so a duty factor under 50 %; walking has double support, over 50 %
  (settings.toml ``[gates] walking_duty_factor_pct``).  The per-step metric
  ``duty_factor_pct`` (formcheck.metrics.stance) divides each valid step's contact by the
  clip's median stride time; this stage's clip estimate (:func:`clip_duty_factor_pct`) uses
  the median of all contacts found and twice the median interval between contacts, before
  the metrics' validity checks.
* **Bounce phase** (:func:`bounce_phase`): running's pelvis is lowest at midstance, walking's
  (an inverted pendulum) highest.  It is the primary evidence: label-free and independent of
  the frame rate.
* **Decision** (:func:`with_gait`): the bounce phase when clear (|r| >= 0.2), except that a
  cadence above ``max_walking_cadence_spm`` is never walking; else the flight phase (duty
  factor); else unknown.  ``--gait`` overrides it.

A walking clip gets no running-form finding: :func:`judged` is what the rules see.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from formcheck.config import settings
from formcheck.events import Events
from formcheck.landmarks import L_ANKLE, R_ANKLE, hip_mid, shoulder_mid
from formcheck.results import MetricSummary, Status
from formcheck.signals import CleanSeries
from formcheck.view import ViewInfo

#: Warning for a clip the stage calls walking.
WALKING_WARNING = ("this looks like walking, not running (the pelvis rises over the stance "
                   "foot and there is no flight phase): running-form findings are not "
                   "assessed; use --gait running to override")

#: Reason every metric is given to the rules on a walking clip.
WALKING_REASON = "the clip shows walking, not running"


def duty_factor_pct(contact_ms: np.ndarray | float, stride_s: np.ndarray | float
                    ) -> np.ndarray | float:
    """Duty factor (%): contact time (ms) / stride time (s, the same foot's contact to
    contact) x 100."""
    return 100.0 * contact_ms / 1000 / stride_s


def has_flight(duty_pct: float) -> bool:
    """A flight phase (both feet off the ground) at this duty factor: at most
    ``walking_duty_factor_pct``."""
    return not duty_pct > settings()["gates"]["walking_duty_factor_pct"]


def clip_duty_factor_pct(ev: Events) -> float | None:
    """The clip's duty factor for the gait decision: median contact (TO - IC of every
    contact with both found) over twice the median interval between contacts; None with
    fewer than 3 contacts or 2 contact times."""
    if ev.n <= 2:
        return None
    ct = ev.to_t_s - ev.ic_t_s
    st = np.diff(ev.ic_t_s)
    if np.isfinite(ct).sum() < 2 or not st.size:
        return None
    return float(duty_factor_pct(np.nanmedian(ct) * 1000, 2 * np.median(st)))


def bounce_phase(clean: CleanSeries, sagittal: bool = True) -> float:
    """Phase of the pelvis bounce relative to the legs: > 0 running, < 0 walking.

    Side view: correlation between pelvis height and the horizontal distance between the
    ankles, both detrended with a 1 s moving median.  Running: the pelvis is lowest at
    midstance, when the swinging foot passes the stance foot (ankles close), and highest in
    flight (feet apart): positive.  Walking is an inverted pendulum: the pelvis is highest at
    midstance and lowest in double support, when the feet are furthest apart: negative.
    Front/back view: the vertical gap between the feet (largest at midswing = the other
    foot's midstance) replaces the separation, with the sign flipped, and both are measured in
    trunk lengths of the moment (the runner may come closer or move away).  Label-free and
    independent of the frame rate.  NaN when too few frames.
    """
    from scipy.ndimage import median_filter

    xy = clean.xy_px
    hip_up = -hip_mid(xy)[:, 1]
    if sagittal:
        sep = np.abs(xy[:, L_ANKLE, 0] - xy[:, R_ANKLE, 0])
    else:
        sep = -np.abs(xy[:, L_ANKLE, 1] - xy[:, R_ANKLE, 1])
    m = np.isfinite(hip_up) & np.isfinite(sep)
    if m.sum() < max(10, clean.fps):
        return float("nan")
    k = max(3, int(clean.fps) | 1)
    hu = hip_up[m] - median_filter(hip_up[m], size=k)
    sp = sep[m] - median_filter(sep[m], size=k)
    if not sagittal:
        # a runner coming closer or moving away grows or shrinks in the image: measure both
        # signals in trunk lengths of the moment, so the late (near) strides do not outweigh
        # the early ones
        trunk = np.linalg.norm(shoulder_mid(xy) - hip_mid(xy), axis=1)[m]
        if np.isfinite(trunk).all() and (trunk > 0).all():
            scale = median_filter(trunk, size=k)
            hu, sp = hu / scale, sp / scale
    if hu.std() == 0 or sp.std() == 0:
        return float("nan")
    return float(np.corrcoef(hu, sp)[0, 1])


def with_gait(info: ViewInfo, duty_factor_pct: float | None, bounce_corr: float = float("nan"),
              gait: str | None = None, cadence_spm: float = float("nan")) -> ViewInfo:
    """``info`` with running/walking set (module docstring: the decision)."""
    if gait is not None:
        return replace(info, gait=gait, overridden=info.overridden + ("gait",))
    fast = np.isfinite(cadence_spm) and cadence_spm > settings()["gates"][
        "max_walking_cadence_spm"]
    if np.isfinite(bounce_corr) and abs(bounce_corr) >= 0.2:
        return replace(info, gait="walking" if bounce_corr < 0 and not fast else "running")
    if duty_factor_pct is None or not np.isfinite(duty_factor_pct):
        return replace(info, gait="unknown")
    return replace(info, gait="running" if has_flight(duty_factor_pct) else "walking")


def classify(clean: CleanSeries, info: ViewInfo, ev: Events, cadence_spm: float,
             gait: str | None = None) -> ViewInfo:
    """The gait stage: ``info`` with running / walking / unknown set from the clip (``gait``:
    the user's override)."""
    return with_gait(info, clip_duty_factor_pct(ev),
                     bounce_phase(clean, info.view in ("side", "oblique")), gait, cadence_spm)


def judged(summaries: dict[str, MetricSummary], gait: str) -> dict[str, MetricSummary]:
    """The summaries the rules judge: on a walking clip none has a number (running-form
    findings do not apply), else the summaries themselves."""
    if gait != "walking":
        return summaries
    return {k: MetricSummary(id=k, value=None, unit=v.unit, status=Status.NOT_MEASURABLE,
                             reason=WALKING_REASON) for k, v in summaries.items()}
