"""Rules stage, the data: severities, the parsed rule types and the finding a rule yields.

See :mod:`formcheck.rules` for the conventions and ``docs/rules.md`` for the file format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

PACKAGED_NAME = "rules.toml"
ADVICE_KEYS: tuple[str, ...] = ("what", "cue", "drill", "progress", "why")
DIRECTIONS = ("above", "below")
_BASE_PLACEHOLDERS = frozenset({"value", "unit", "mild", "marked"})
_TARGET_PLACEHOLDERS = frozenset({"target_low", "target_high"})


class Severity(str, Enum):
    NONE = "none"
    MILD = "mild"
    MARKED = "marked"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.NONE: 0, Severity.MILD: 1, Severity.MARKED: 2}


# ----------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class Condition:
    """One condition of a ``combine`` table: another rule's severity or a metric threshold."""

    rule: str | None = None
    at_least: Severity = Severity.MILD
    metric: str | None = None
    direction: str = "above"
    threshold: float = 0.0


@dataclass(frozen=True)
class Combine:
    """Severity from conditions: ``mild``/``marked`` are ``"any"`` or ``"all"`` of them met."""

    conditions: tuple[Condition, ...]
    mild: str = "any"
    marked: str = "all"
    note_if_none: str = ""


@dataclass(frozen=True)
class Target:
    """A target range relative to the measured value: value * low_factor .. * high_factor."""

    low_factor: float
    high_factor: float


@dataclass(frozen=True)
class Rule:
    """One parsed ``[[rule]]`` entry."""

    id: str
    title: str
    metric: str
    direction: str
    thresholds: Mapping[str, float]
    min_steps: int
    allow_low_confidence: bool
    citation: str
    threshold_note: str
    advice: Mapping[str, str]
    supporting: tuple[str, ...] = ()
    also_metrics: tuple[str, ...] = ()
    max_confidence: str = "high"
    confidence_note: str = ""
    combine: Combine | None = None
    target: Target | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Safety:
    """The safety message shown with every report (own words, from the ankle-pain article)."""

    stop_if_pain: str
    warning_signs: tuple[str, ...]
    see_professional: str
    disclaimer: str

    def to_dict(self) -> dict[str, object]:
        return {
            "stop_if_pain": self.stop_if_pain,
            "warning_signs": list(self.warning_signs),
            "see_professional": self.see_professional,
            "disclaimer": self.disclaimer,
        }


@dataclass(frozen=True)
class RuleSet:
    """All rules of one file, the safety message, the file's version and where it came from."""

    rules: tuple[Rule, ...]
    safety: Safety
    version: str
    source: Path

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    def get(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


@dataclass(frozen=True)
class Finding:
    """The verdict of one rule on one clip.

    ``assessed`` is False when the rule could not judge (``reason`` says why); ``severity`` is
    then ``none``. ``threshold`` is the threshold crossed, or the mild one when none was.
    ``confidence`` is ``"high"`` or ``"low"`` (``reason`` says why it is low). ``note`` carries
    extra context (e.g. heel striking alone is not a fault). ``advice`` has the keys of
    :data:`ADVICE_KEYS` with placeholders filled; it is empty when the rule was not assessed.
    """

    id: str
    title: str
    metric: str
    severity: Severity
    assessed: bool
    value: float | None
    unit: str
    threshold: float | None
    thresholds: Mapping[str, float]
    direction: str
    comparison: str
    evidence_t_s: tuple[float, ...]
    n_steps: int
    confidence: str
    reason: str
    advice: Mapping[str, str]
    citation: str
    note: str = ""
    target: tuple[float, float] | None = None
    supporting: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def is_fault(self) -> bool:
        return self.assessed and self.severity is not Severity.NONE

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "metric": self.metric,
            "severity": self.severity.value,
            "assessed": self.assessed,
            "value": _round(self.value),
            "unit": self.unit,
            "threshold": self.threshold,
            "thresholds": dict(self.thresholds),
            "direction": self.direction,
            "comparison": self.comparison,
            "evidence_t_s": [round(float(t), 4) for t in self.evidence_t_s],
            "n_steps": int(self.n_steps),
            "confidence": self.confidence,
            "reason": self.reason,
            "note": self.note,
            "target": None if self.target is None else list(self.target),
            "supporting": {k: _round(v) for k, v in self.supporting.items()},
            "advice": dict(self.advice),
            "citation": self.citation,
        }


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 3)


# ----------------------------------------------------------------------------- advice numbers


class _Num(float):
    """A float that prints compactly in templates ("{value}") yet accepts format specs."""

    def __format__(self, spec: str) -> str:
        return float.__format__(self, spec) if spec else _fmt(float(self))


def _fmt(x: float) -> str:
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    return f"{x:.1f}"
