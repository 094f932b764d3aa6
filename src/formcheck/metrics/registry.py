"""The metric registry: every metric declared once, everything that lists metrics derived.

A metric module (``formcheck/metrics/<name>.py``) declares its metrics in a module-level
``METRICS`` tuple of :class:`MetricDef`: id (unit in the name), readable label, unit, the
camera views it needs, whether it is a per-step column of steps.csv, its gates and how it is
summarised.  :data:`MODULES` lists the metric modules; the registry's order is theirs, and each
module's ``METRICS`` order within it.  From the registry come the lists other code used to
write by hand: units (:func:`units`), readable labels (:func:`labels`, ``results.LABELS``), the
steps.csv columns (:func:`step_columns`), the batch summary's key metrics (:func:`key_metrics`)
and the report's groups (:func:`group`, e.g. ``group("sagittal_at_ic")``).

Thresholds stay data: plausible per-step ranges in settings.toml ``[plausible]``, faults and
advice in rules.toml.  How to add a metric: docs/adding-a-metric.md.

Three orders come out of one registry, all derived, none written as a list:

* **summaries** (report.json, metrics.json): registry order, stably sorted by ``basis``
  (``"steps"`` first, then ``"sides"``, then ``"frames"``), which is the order
  :func:`formcheck.metrics.compute` evaluates them in: left/right comparisons are made once
  the steps' sides are known to rest on evidence, frame-based metrics need no steps;
* **steps.csv columns**: the fixed step columns, then the per-step metrics whose values come
  from the event times alone (``from_events``), then those read from the pose, each in
  registry order;
* **reading order** (terminal, HTML, ``results.LABELS``): registry order stably sorted by
  ``section`` (:data:`SECTIONS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from formcheck.results import MetricSummary

#: The metric modules, in registry order (a new module goes at the end).
MODULES: tuple[str, ...] = ("cadence", "overstride", "foot_strike", "trunk_lean", "stance",
                            "arm_swing", "asymmetry", "speed", "step_length", "vertical_ratio")

#: Camera views (formcheck.view): a metric's ``views`` is a tuple of these.
ANY_VIEW: tuple[str, ...] = ("side", "oblique", "front", "back")
SAGITTAL: tuple[str, ...] = ("side", "oblique")
FRONTAL: tuple[str, ...] = ("front", "back")

#: Sections of the reading order (terminal, HTML cards), in order.
SECTIONS: tuple[str, ...] = ("rhythm", "landing", "trunk", "arms", "ground contact", "bounce",
                             "stance knee", "symmetry")

#: How a metric's summary rests on the clip, in evaluation order: ``steps`` (a per-step value
#: or a count of steps), ``sides`` (a left/right comparison of ``steps`` metrics, made after
#: the check that the steps' sides rest on evidence), ``frames`` (from frames, not steps).
BASES: tuple[str, ...] = ("steps", "sides", "frames")

#: Columns of steps.csv that describe the step rather than a metric.
STEP_HEAD: tuple[str, ...] = ("step", "foot", "ic_t_s", "to_t_s", "ic_frame", "to_frame", "valid",
                              "side_confident")

#: Gates (formcheck.metrics.summary.GATES) a MetricDef may name.
GATE_NAMES: tuple[str, ...] = ("feet", "frame_rate", "knee_2d", "trunk_visible", "depth")


@dataclass(frozen=True)
class MetricDef:
    """One metric's identity, declared once in its module.

    Attributes:
        id: metric id, unit in the name (``MetricSummary.id``, report.json key).
        label: readable name for people (terminal, reports, rule reasons).
        unit: unit string shown with values.
        section: where it reads in the report (one of :data:`SECTIONS`).
        views: camera views it is measured in; in any other it is not measurable.  Sagittal
            metrics (:data:`SAGITTAL`) are low confidence in an oblique view (foreshortened).
        basis: one of :data:`BASES`.
        step_column: its per-step value is a steps.csv column (rounded to 2 decimals).
        extra_columns: further steps.csv columns written right after it (e.g. the
            foot-strike class), given by the StepTable.
        from_events: the per-step value comes from the event times alone (timing), not the
            pose; such columns come first in steps.csv.
        valid_only: per-step values count only on valid steps (IC found and consistent).
        gates: named gates beyond the view and the clip-wide ones, in the order their
            blockers and cautions are told (:data:`GATE_NAMES`, ``summary.GATES``).
        per_side: ``"gated"`` (per-side medians, low confidence with fewer than
            ``min_steps_per_side`` on a side), ``"shown"`` (per-side medians, no minimum) or
            ``"none"``.
        groups: named groups it belongs to: ``"key"`` (a batch summary column),
            ``"sagittal_at_ic"`` (a sagittal value at initial contact, drawn on the
            contact still).
        summarize: ``summarize(ctx) -> MetricSummary`` for a metric whose summary is not the
            plain median over steps (``ctx``: :class:`formcheck.metrics.summary.Context`);
            ``None`` = median, IQR and per-side medians of its per-step values.
    """

    id: str
    label: str
    unit: str
    section: str
    views: tuple[str, ...] = ANY_VIEW
    basis: str = "steps"
    step_column: bool = False
    extra_columns: tuple[str, ...] = ()
    from_events: bool = False
    valid_only: bool = False
    gates: tuple[str, ...] = ()
    per_side: str = "gated"
    groups: tuple[str, ...] = ()
    summarize: Callable[[Any], MetricSummary] | None = None

    def __post_init__(self) -> None:
        bad = [g for g in self.gates if g not in GATE_NAMES]
        if self.section not in SECTIONS or self.basis not in BASES or bad \
                or self.per_side not in ("gated", "shown", "none") \
                or not set(self.views) <= set(ANY_VIEW):
            raise ValueError(f"metric {self.id!r}: bad section, basis, gates {bad}, per_side "
                             "or views")


@cache
def modules() -> tuple[ModuleType, ...]:
    """The metric modules (:data:`MODULES`), imported."""
    return tuple(importlib.import_module(f"formcheck.metrics.{name}") for name in MODULES)


@cache
def all_defs() -> tuple[MetricDef, ...]:
    """Every registered metric, in registry order (:data:`MODULES`, then each ``METRICS``)."""
    defs: list[MetricDef] = []
    for module in modules():
        defs.extend(module.METRICS)
    ids = [d.id for d in defs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"metric ids registered twice: {dup}")
    return tuple(defs)


def get(metric_id: str) -> MetricDef:
    """The definition of a metric id (KeyError when none is registered)."""
    for d in all_defs():
        if d.id == metric_id:
            return d
    raise KeyError(metric_id)


def in_reading_order() -> tuple[MetricDef, ...]:
    """The metrics in the order people read them (sections, then registry order)."""
    return tuple(sorted(all_defs(), key=lambda d: SECTIONS.index(d.section)))


def in_summary_order() -> tuple[MetricDef, ...]:
    """The metrics in the order they are evaluated and their summaries written."""
    return tuple(sorted(all_defs(), key=lambda d: BASES.index(d.basis)))


def units() -> dict[str, str]:
    """Metric id -> unit, in reading order (what ``formcheck.metrics.UNITS`` holds)."""
    return {d.id: d.unit for d in in_reading_order()}


def labels() -> dict[str, str]:
    """Metric id -> readable label, in reading order (what ``formcheck.results.LABELS``
    holds)."""
    return {d.id: d.label for d in in_reading_order()}


def step_metrics() -> tuple[MetricDef, ...]:
    """The metrics with a per-step column, in steps.csv order (timing, then pose)."""
    cols = [d for d in all_defs() if d.step_column]
    return tuple([d for d in cols if d.from_events] + [d for d in cols if not d.from_events])


def step_columns() -> tuple[str, ...]:
    """The steps.csv columns, in order (what ``formcheck.metrics.STEP_COLUMNS`` holds)."""
    out = list(STEP_HEAD)
    for d in step_metrics():
        out += [d.id, *d.extra_columns]
    return tuple(out)


def group(name: str) -> tuple[str, ...]:
    """Ids of the metrics in a named group (MetricDef.groups), in registry order; e.g.
    ``group("sagittal_at_ic")`` = the sagittal values at initial contact."""
    return tuple(d.id for d in all_defs() if name in d.groups)


def key_metrics() -> tuple[str, ...]:
    """The metrics the batch summary gives a column each (group ``"key"``)."""
    return group("key")
