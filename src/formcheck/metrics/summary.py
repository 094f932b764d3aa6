"""What a metric's summary is made from: the clip's :class:`Context`, the gates, and the plain
median-over-steps summary most metrics use.

A summary's status (results.Status) comes from *blockers* (any one makes the metric not
measurable, with the reasons joined) and *cautions* (a number is given with low confidence,
with the reasons).  Blockers, in order: the clip-wide ones (runner seldom visible, whole body
not in view), the view the metric needs (MetricDef.views), then the metric's named gates
(MetricDef.gates, :data:`GATES`).  Cautions: the oblique-view one for sagittal metrics, then
the named gates'.  Numeric limits are in settings.toml ``[gates]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from formcheck.events import Events
from formcheck.landmarks import L_HEEL, L_TOE, R_HEEL, R_TOE
from formcheck.metrics.registry import FRONTAL, SAGITTAL, MetricDef
from formcheck.metrics.scale import Scale
from formcheck.results import MetricSummary, Status, not_measurable
from formcheck.signals import CleanSeries
from formcheck.view import ViewInfo


def r(x: float, nd: int) -> float | None:
    """``x`` rounded to ``nd`` decimals, None when not finite."""
    return None if not np.isfinite(x) else round(float(x), nd)


@dataclass(frozen=True)
class Context:
    """Everything a metric's per-step values and summary are computed from, for one clip.

    ``vals``: per-step values by metric id (filled by the wiring before any summary);
    ``summaries``: the summaries made so far, in evaluation order (a metric may build on an
    earlier one, e.g. the heel-strike share on the foot-strike angle).  Times in s (real time),
    positions in px of the cleaned series; ``scale``: the image scale at the runner
    (:mod:`formcheck.metrics.scale`), for the figures in metres; ``shared``: intermediate
    results that several metrics use, computed once per clip (:meth:`once`)."""

    clean: CleanSeries
    view: ViewInfo
    ev: Events
    gates: dict[str, Any]
    height_cm: float | None
    detection_rate: float
    body_plausible: float
    step_times_s: np.ndarray
    stride_times_s: np.ndarray
    lean_deg: np.ndarray
    vals: dict[str, np.ndarray] = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    summaries: dict[str, MetricSummary] = field(default_factory=dict)
    side_ok: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    scale: Scale | None = None
    shared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def once(self, key: str, fn: Callable[[Context], Any]) -> Any:
        """``fn(self)``, computed the first time ``key`` is asked for and kept in ``shared``
        (e.g. the running speed behind speed, step length and vertical ratio)."""
        if key not in self.shared:
            self.shared[key] = fn(self)
        return self.shared[key]

    @property
    def fps(self) -> float:
        return self.clean.fps

    @cached_property
    def common(self) -> list[str]:
        """Clip-wide blockers: the runner seldom visible, or no upright whole body."""
        g, out = self.gates, []
        if self.detection_rate < g["min_detection_rate"]:
            out.append(f"runner visible in only {100 * self.detection_rate:.0f} % of frames")
        if self.body_plausible < g["min_whole_body_share"]:
            out.append("the whole body is not in view, or the runner is not upright (the "
                       "landmarks do not form an upright body in "
                       f"{100 * (1 - self.body_plausible):.0f} % of frames): film the runner "
                       "from head to feet while running")
        return out

    @cached_property
    def foot_visibility(self) -> float:
        """Mean visibility of the heel and toe landmarks over the clip."""
        return float(np.mean(self.clean.visibility[:, [L_HEEL, L_TOE, R_HEEL, R_TOE]])) \
            if self.clean.n else 0.0

    @cached_property
    def ident_ok(self) -> bool:
        """The valid steps' sides rest on evidence (>= 95 % of them side-confident)."""
        v = self.ev.valid
        return bool(self.side_ok[v].mean() >= 0.95) if v.any() else False


def view_gate(d: MetricDef, ctx: Context) -> tuple[list[str], list[str]]:
    """Blocker when the camera view is not one the metric needs; the oblique caution for
    sagittal metrics."""
    v = ctx.view.view
    if v not in d.views:
        need = {SAGITTAL: "a side view", FRONTAL: "a front or back view",
                ("side",): "a side view"}.get(
            d.views, " or ".join(d.views) + " view")
        return [f"needs {need} (this is a {v} view)"], []
    if d.views == SAGITTAL and v == "oblique":
        return [], ["oblique view: angles are foreshortened"]
    return [], []


def _feet(ctx: Context) -> tuple[list[str], list[str]]:
    xy = ctx.clean.xy_px
    visible = ctx.clean.n and np.isfinite(xy[:, [L_HEEL, R_HEEL], 1]).mean() > 0.5
    low = ctx.foot_visibility < ctx.gates["min_foot_visibility"]
    return ([] if visible else ["feet not visible in most frames"],
            [f"feet often hidden (mean visibility {ctx.foot_visibility:.2f})"] if low else [])


def _frame_rate(ctx: Context) -> tuple[list[str], list[str]]:
    fps, lim = ctx.fps, ctx.gates["min_fps_contact"]
    return [], ([f"frame rate {fps:.0f} fps is under {lim:.0f}: contact timing is only good "
                 f"to about +/-{1000 / fps:.0f} ms"] if fps < lim else [])


def _knee_2d(ctx: Context) -> tuple[list[str], list[str]]:
    return [], ["2D knee angles carry about 8 deg error (Van Hooren et al. 2023)"]


def _trunk_visible(ctx: Context) -> tuple[list[str], list[str]]:
    return ([] if np.isfinite(ctx.lean_deg).any() else ["shoulders or hips not visible"]), []


def _depth(ctx: Context) -> tuple[list[str], list[str]]:
    return [], ([] if ctx.view.view == "side"
                else ["not a side view: depth changes distort vertical travel"])


#: Named gates: name -> ``gate(ctx) -> (blockers, cautions)``.
GATES: dict[str, Callable[[Context], tuple[list[str], list[str]]]] = {
    "feet": _feet, "frame_rate": _frame_rate, "knee_2d": _knee_2d,
    "trunk_visible": _trunk_visible, "depth": _depth,
}


def gate(d: MetricDef, ctx: Context) -> tuple[list[str], list[str]]:
    """(blockers, cautions) of metric ``d`` on this clip, in the order they are told."""
    blockers, cautions = list(ctx.common), []
    for b, c in [view_gate(d, ctx)] + [GATES[n](ctx) for n in d.gates]:
        blockers += b
        cautions += c
    return blockers, cautions


def over_steps(id_: str, unit: str, values: np.ndarray, foot: np.ndarray, t: np.ndarray,
               min_steps: int, min_per_side: int, blockers: list[str], cautions: list[str],
               sides: bool = True) -> MetricSummary:
    """Median, IQR, n and status of a per-step metric."""
    if blockers:
        return not_measurable(id_, unit, "; ".join(blockers))
    ok = np.isfinite(values)
    n = int(ok.sum())
    if n < min_steps:
        return not_measurable(id_, unit, f"too few steps ({n}; need at least {min_steps})")
    v = values[ok]
    per_side = {}
    reasons = list(cautions)
    if sides:
        for s in ("L", "R"):
            m = ok & (foot == s)
            per_side[s] = float(np.median(values[m])) if m.any() else None
        n_min = min(int((ok & (foot == s)).sum()) for s in ("L", "R"))
        if n_min < min_per_side:
            reasons.append(f"only {n_min} steps on one side (want {min_per_side} per side)")
    q1, q3 = np.percentile(v, [25, 75])
    return MetricSummary(
        id=id_, value=float(np.median(v)), unit=unit,
        status=Status.LOW_CONFIDENCE if reasons else Status.MEASURED,
        reason="; ".join(reasons), spread=float(q3 - q1), n_steps=n, per_side=per_side,
        evidence_t_s=tuple(float(x) for x in t[ok]),
    )


def median_summary(d: MetricDef, ctx: Context) -> MetricSummary:
    """The plain summary of a per-step metric: median over its steps, gated (module doc)."""
    blockers, cautions = gate(d, ctx)
    g = ctx.gates
    return over_steps(d.id, d.unit, ctx.vals[d.id], ctx.ev.foot, ctx.ev.ic_t_s,
                      g["min_steps_any"], g["min_steps_per_side"] if d.per_side == "gated" else 0,
                      blockers, cautions, sides=d.per_side != "none")


def summarize(d: MetricDef, ctx: Context) -> MetricSummary:
    """Metric ``d``'s summary: its own ``summarize`` or the median over steps."""
    return d.summarize(ctx) if d.summarize is not None else median_summary(d, ctx)
