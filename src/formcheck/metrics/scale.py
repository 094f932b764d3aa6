"""The image scale at the runner: pixels per metre, with its uncertainty, or why it is unknown.

Every figure in metres (speed, step and stride length, vertical oscillation in cm, metre
exports) rests on this one scale; without it formcheck gives none of them.

* ``--scale PX_PER_M`` (``source = "given"``): the user's figure, taken as exact (its own
  uncertainty is the user's; ``rel_uncertainty`` 0).
* ``--height CM`` (``source = "height"``): the runner's leg (thigh + shank: hip-knee +
  knee-ankle) in pixels, over each step's stance frames (the stance leg, between
  ``stance_window`` fractions of its contact: loaded, near-vertical and in view; the swinging
  leg folds and the far one is often hidden), median over the steps, is taken as
  ``leg_fraction_of_height`` x height.  That fraction is Winter's segment proportions
  (thigh 0.245 + shank 0.246 of height, Winter 2009, *Biomechanics and Motor Control of Human
  Movement*, 4th ed., Table 4.1, after Drillis & Contini 1966).  Its uncertainty combines
  the population spread of that fraction (``leg_fraction_rel_sd``, settings.toml) and the
  standard error of the per-step leg lengths' median (robust SD / sqrt(n) x 1.25).

px per metre = leg px / (fraction x height m).  The scale is unknown (no metre figures, with
the reason) without either option, or with ``--height`` but fewer than ``min_steps_any``
steps whose stance leg is seen.  The camera is assumed at a steady distance from the runner
(one scale for the whole clip) and square to the running direction; 2D pose landmarks are not
joint centres, which adds an unknown bias of a few per cent to the height-based scale.
Constants: settings.toml ``[scale]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.config import settings
from formcheck.events import Events
from formcheck.landmarks import LEG
from formcheck.metrics.geometry import stance_windows
from formcheck.signals import CleanSeries

#: Reason given for every metre figure when neither option was given.
NO_SCALE = ("no scale: give the runner's height with --height CM, or the image scale at the "
            "runner with --scale PX_PER_M")


@dataclass(frozen=True)
class Scale:
    """The image scale at the runner.

    Attributes:
        px_per_m: pixels per metre at the runner (None when unknown).
        source: "given" (--scale), "height" (--height) or "" (unknown).
        rel_uncertainty: relative standard uncertainty of ``px_per_m`` (0.03 = 3 %; 0 for a
            given scale; NaN when unknown).
        leg_px: median stance-leg length over the steps (px; NaN when not measured).
        leg_px_spread: IQR of the per-step stance-leg lengths (px).
        n_steps: steps behind ``leg_px``.
        height_cm: the height the scale came from (None otherwise).
        reason: why it is unknown (empty when known).
    """

    px_per_m: float | None
    source: str
    rel_uncertainty: float
    leg_px: float = float("nan")
    leg_px_spread: float = float("nan")
    n_steps: int = 0
    height_cm: float | None = None
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.px_per_m is not None

    @property
    def m_per_px(self) -> float | None:
        return None if self.px_per_m is None else 1.0 / self.px_per_m

    def extra(self, value: float) -> dict[str, object]:
        """What a figure in metres carries in its summary's ``extra``: where the scale came
        from, its value and relative uncertainty, and that uncertainty in the figure's unit
        (``value`` x the relative uncertainty).  Only for a known scale."""
        assert self.px_per_m is not None
        return {"scale_source": self.source, "scale_px_per_m": round(float(self.px_per_m), 3),
                "scale_rel_uncertainty_pct": round(100.0 * self.rel_uncertainty, 2),
                "scale_uncertainty": round(abs(float(value)) * self.rel_uncertainty, 4)}

    def to_dict(self) -> dict[str, object]:
        def r(x: float | None, nd: int) -> float | None:
            return None if x is None or not np.isfinite(x) else round(float(x), nd)

        return {"px_per_m": r(self.px_per_m, 3), "source": self.source or None,
                "rel_uncertainty_pct": r(100.0 * self.rel_uncertainty, 2),
                "leg_px": r(self.leg_px, 2), "leg_px_spread": r(self.leg_px_spread, 2),
                "n_steps": int(self.n_steps), "height_cm": self.height_cm,
                "reason": self.reason}


def stance_leg_px(clean: CleanSeries, ev: Events, window: tuple[float, float]) -> np.ndarray:
    """[K] per step: median over its stance frames (``window`` fractions of IC -> TO) of the
    stance leg's thigh + shank length (px); NaN without a toe-off or a seen leg."""
    t, xy = clean.t_s, clean.xy_px
    out = np.full(ev.n, np.nan)
    for i, m in stance_windows(t, ev.ic_t_s, ev.to_t_s, window):
        h, k, a = LEG[str(ev.chain[i])][:3]
        p = xy[m]
        leg = (np.linalg.norm(p[:, h] - p[:, k], axis=1)
               + np.linalg.norm(p[:, k] - p[:, a], axis=1))
        leg = leg[np.isfinite(leg)]
        if leg.size:
            out[i] = float(np.median(leg))
    return out


def estimate(clean: CleanSeries, ev: Events, height_cm: float | None,
             px_per_m: float | None) -> Scale:
    """The clip's scale (module docstring): a given ``px_per_m`` wins over ``height_cm``."""
    cfg = settings()["scale"]
    if px_per_m is not None:
        return Scale(px_per_m=float(px_per_m), source="given", rel_uncertainty=0.0)
    if not height_cm:
        return Scale(px_per_m=None, source="", rel_uncertainty=float("nan"), reason=NO_SCALE)
    legs = stance_leg_px(clean, ev, tuple(cfg["stance_window"]))
    legs = legs[np.isfinite(legs) & (legs > 0)]
    need = int(settings()["gates"]["min_steps_any"])
    if legs.size < need:
        return Scale(px_per_m=None, source="", rel_uncertainty=float("nan"), n_steps=legs.size,
                     height_cm=height_cm,
                     reason=f"no scale: the runner's leg is seen in the stance of too few steps "
                            f"({legs.size}; need {need}) to turn the height into pixels")
    leg = float(np.median(legs))
    q1, q3 = np.percentile(legs, [25, 75])
    robust_sd = float(q3 - q1) / 1.349
    se_rel = 1.25 * robust_sd / np.sqrt(legs.size) / leg
    rel = float(np.hypot(float(cfg["leg_fraction_rel_sd"]), se_rel))
    ppm = leg / (float(cfg["leg_fraction_of_height"]) * float(height_cm) / 100.0)
    return Scale(px_per_m=ppm, source="height", rel_uncertainty=rel, leg_px=leg,
                 leg_px_spread=float(q3 - q1), n_steps=int(legs.size), height_cm=height_cm)
