"""Plain result types passed between the metrics, rules and report stages.

Every metric carries a :class:`Status`: ``measured``, ``low_confidence`` (a number is given,
with the reason it should be read with care) or ``not_measurable`` (no number, with the reason:
camera view, too few steps, occlusion, frame rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


def _labels() -> dict[str, str]:
    if "LABELS" not in globals():
        from formcheck.metrics.registry import labels

        globals()["LABELS"] = labels()
    return globals()["LABELS"]


def __getattr__(name: str) -> object:
    """``LABELS``: readable names of the metric ids, for people (terminal, reports, rule
    reasons), in reading order: derived from the metric registry
    (:func:`formcheck.metrics.registry.labels`) on first use, since the metric modules build
    on the types here."""
    if name == "LABELS":
        return _labels()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def label(metric_id: str) -> str:
    """Readable name of a metric id (the id itself when unknown)."""
    return _labels().get(metric_id, metric_id)


class Status(str, Enum):
    MEASURED = "measured"
    LOW_CONFIDENCE = "low_confidence"
    NOT_MEASURABLE = "not_measurable"


@dataclass(frozen=True)
class MetricSummary:
    """One metric summarised over a clip.

    Attributes:
        id: metric identifier, e.g. ``"cadence_spm"`` (unit in the name).
        value: clip-level value (median over steps, or a whole-clip estimate); ``None`` when
            not measurable.
        unit: unit string, e.g. ``"steps/min"``, ``"deg"``, ``"% leg length"``.
        status: measured / low_confidence / not_measurable.
        reason: why the status is not ``measured`` (empty when it is).
        spread: inter-quartile range over steps (same unit); for the left/right asymmetries, the
            asymmetry that step-to-step scatter alone gives (2 standard errors); or ``None``.
        n_steps: number of steps (or samples) behind the value.
        per_side: median per side, ``{"L": v, "R": v}`` (runner's left/right), where defined.
        evidence_t_s: times (s) of the steps that support the value, for the report.
        extra: small extra facts (e.g. share of heel-strike steps, target cadence).
    """

    id: str
    value: float | None
    unit: str
    status: Status
    reason: str = ""
    spread: float | None = None
    n_steps: int = 0
    per_side: dict[str, float | None] = field(default_factory=dict)
    evidence_t_s: tuple[float, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """True when a number is available (measured or low confidence)."""
        return self.value is not None and self.status is not Status.NOT_MEASURABLE

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "value": None if self.value is None else round(float(self.value), 3),
            "unit": self.unit,
            "status": self.status.value,
            "reason": self.reason,
            "spread": None if self.spread is None else round(float(self.spread), 3),
            "n_steps": int(self.n_steps),
            "per_side": {
                k: (None if v is None else round(float(v), 3)) for k, v in self.per_side.items()
            },
            "evidence_t_s": [round(float(t), 4) for t in self.evidence_t_s],
            "extra": self.extra,
        }


def not_measurable(id: str, unit: str, reason: str) -> MetricSummary:
    """Shorthand for a metric that cannot be measured from this clip."""
    return MetricSummary(id=id, value=None, unit=unit, status=Status.NOT_MEASURABLE, reason=reason)


@dataclass(frozen=True)
class Doubt:
    """A warning that contradicts numbers the tool computed: those numbers are not judged.

    Attributes:
        message: the warning, as shown to the user (terminal, reports, batch summary).
        reason: why the doubted metrics are not assessed, e.g. ``"not assessed: the clip
            looks slowed down about 2.0x; re-run with --slowmo 2"``.
        metric_ids: the metrics (MetricSummary ids) the warning marks implausible.
        kind: short tag for summaries, e.g. ``"slowed_down"``, ``"sped_up"``,
            ``"camera_moves"``.
    """

    message: str
    reason: str
    metric_ids: tuple[str, ...]
    kind: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"message": self.message, "reason": self.reason, "kind": self.kind,
                "metric_ids": list(self.metric_ids)}


def apply_doubts(summaries: dict[str, MetricSummary], doubts: tuple[Doubt, ...] | list[Doubt]
                 ) -> dict[str, MetricSummary]:
    """The summaries with every doubted metric turned into "not assessed" (no value, the
    doubt's reason; the raw value is kept in ``extra["raw_value"]`` for the record).

    This is the one rule that keeps a number the tool itself calls implausible out of any
    judgement: a metric named by any doubt is not measurable, whatever its own status.
    ``extra`` keeps only ``raw_value``: the other extras rest on the same numbers."""
    out = dict(summaries)
    for d in doubts:
        for mid in d.metric_ids:
            m = out.get(mid)
            if m is None or (m.value is None and m.status is Status.NOT_MEASURABLE
                             and not m.reason.startswith("not assessed")):
                continue  # no number to doubt: its own reason stands
            prior = m.reason if (m.status is Status.NOT_MEASURABLE
                                 and m.reason.startswith("not assessed")) else ""
            reason = d.reason if not prior or d.reason in prior else f"{prior}; {d.reason}"
            # other extras (e.g. cadence's step time) rest on the same doubted numbers
            raw = m.value if m.value is not None else m.extra.get("raw_value")
            extra = {} if raw is None else {"raw_value": round(float(raw), 3)}
            out[mid] = MetricSummary(id=m.id, value=None, unit=m.unit,
                                     status=Status.NOT_MEASURABLE, reason=reason,
                                     n_steps=m.n_steps, extra=extra)
    return out
