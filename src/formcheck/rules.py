"""Rules stage: turn metric summaries into findings, with thresholds and advice kept as data.

The packaged ``rules.toml`` (next to this module) lists one ``[[rule]]`` per fault: the metric
it reads, the direction of the fault, the mild/marked thresholds, how many steps it needs,
whether low-confidence metrics may be judged, a citation and the advice. ``load_rules`` parses
and validates that file (or a user's file, which may ``extends = "packaged"`` and list only what
it changes); ``evaluate`` grades a set of :class:`~formcheck.results.MetricSummary` values.

Conventions (see ``docs/rules.md``):

* comparisons are strict: ``above`` means ``value > threshold`` and ``below`` means
  ``value < threshold``; a value exactly at a threshold does not reach that level;
* every enabled rule yields exactly one :class:`Finding`, assessed or not (with the reason);
* a rule with a ``combine`` table uses its own ``mild`` threshold as a gate only and takes its
  severity from conditions on other rules or metrics (``mild``/``marked`` = ``"any"``/``"all"``
  of the conditions met); heel striking uses this, so that it is a fault only together with
  overstriding or a steep foot angle.
"""

from __future__ import annotations

import math
import string
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from formcheck.results import Doubt, MetricSummary, Status, apply_doubts, label

__all__ = [
    "ADVICE_KEYS",
    "Combine",
    "Condition",
    "Finding",
    "Rule",
    "RuleSet",
    "RulesError",
    "Safety",
    "Severity",
    "Target",
    "evaluate",
    "load_rules",
]

PACKAGED_NAME = "rules.toml"
ADVICE_KEYS: tuple[str, ...] = ("what", "cue", "drill", "progress", "why")
DIRECTIONS = ("above", "below")
_BASE_PLACEHOLDERS = frozenset({"value", "unit", "mild", "marked"})
_TARGET_PLACEHOLDERS = frozenset({"target_low", "target_high"})


class RulesError(ValueError):
    """A rules file that cannot be read or does not follow the schema (one-line message)."""


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


# ----------------------------------------------------------------------------- loading


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Load and validate a rules file; ``None`` loads the packaged ``rules.toml``.

    A user file may set ``extends = "packaged"``: it is then merged over the packaged file
    (rules matched by ``id``, tables merged key by key) and the result is validated as a whole.

    Raises:
        RulesError: unreadable file, TOML syntax error, or any schema violation; the message
            names the file, the rule id and the offending key.
    """
    if path is None:
        source, label = _packaged_path(), PACKAGED_NAME + " (packaged)"
        raw = _read_toml(source, label)
        return _build(raw, label, source, new_ids=None)
    source = Path(path)
    label = str(path)
    raw = _read_toml(source, label)
    if "extends" not in raw:
        return _build(raw, label, source, new_ids=None)
    ext = raw["extends"]
    if ext != "packaged":
        raise RulesError(f"rules file {label}: key 'extends' must be \"packaged\", got {ext!r}")
    base = _read_toml(_packaged_path(), PACKAGED_NAME + " (packaged)")
    merged, new_ids = _merge(base, raw, label)
    return _build(merged, label, source, new_ids=new_ids)


def _packaged_path() -> Path:
    try:
        res = resources.files("formcheck").joinpath(PACKAGED_NAME)
        p = Path(str(res))
        if p.is_file():
            return p
    except (ModuleNotFoundError, TypeError, ValueError):  # pragma: no cover - unusual installs
        pass
    return Path(__file__).with_name(PACKAGED_NAME)  # pragma: no cover


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise RulesError(f"rules file {label}: cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise RulesError(f"rules file {label}: not UTF-8 text ({e.reason})") from e
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"rules file {label}: TOML syntax error: {e}") from e


def _merge(
    base: dict[str, Any], over: dict[str, Any], label: str
) -> tuple[dict[str, Any], set[str]]:
    """Merge a user file over the packaged one; return the merged dict and the new rule ids."""
    out = {k: v for k, v in base.items()}
    for key, val in over.items():
        if key == "extends":
            continue
        if key == "rule":
            continue
        if key == "safety" and isinstance(val, dict) and isinstance(base.get("safety"), dict):
            out["safety"] = {**base["safety"], **val}
        else:
            out[key] = val
    if "version" not in over:
        out["version"] = f"{base.get('version', '?')}+{Path(label).name}"
    new_ids: set[str] = set()
    if "rule" in over:
        if not isinstance(over["rule"], list):
            raise RulesError(
                f"rules file {label}: key 'rule' must be an array of tables "
                f"([[rule]]), got {_type_name(over['rule'])}"
            )
        rules = [dict(r) for r in base.get("rule", [])]
        index = {r.get("id"): i for i, r in enumerate(rules)}
        for n, entry in enumerate(over["rule"], start=1):
            if not isinstance(entry, dict):
                raise RulesError(f"rules file {label}: rule #{n}: must be a table")
            rid = entry.get("id")
            if not isinstance(rid, str) or not rid:
                raise RulesError(f"rules file {label}: rule #{n}: missing key 'id'")
            if rid in index:
                rules[index[rid]] = _deep_merge(rules[index[rid]], entry)
            else:
                new_ids.add(rid)
                index[rid] = len(rules)
                rules.append(dict(entry))
        out["rule"] = rules
    return out, new_ids


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _type_name(v: object) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "table"
    return type(v).__name__


class _Ctx:
    """Builds one-line error messages naming the file, the rule and the key."""

    def __init__(self, label: str, where: str = "") -> None:
        self.label = label
        self.where = where

    def fail(self, msg: str) -> RulesError:
        prefix = f"rules file {self.label}: " + (f"{self.where}: " if self.where else "")
        return RulesError(prefix + msg)

    def check_keys(
        self, table: Mapping[str, Any], required: set[str], optional: set[str], prefix: str = ""
    ) -> None:
        for k in table:
            if k not in required and k not in optional:
                raise self.fail(f"unknown key '{prefix}{k}'")
        for k in sorted(required):
            if k not in table:
                raise self.fail(f"missing key '{prefix}{k}'")

    def string(self, v: object, key: str, *, empty_ok: bool = False) -> str:
        if not isinstance(v, str):
            raise self.fail(f"key '{key}' must be a string, got {_type_name(v)}")
        if not empty_ok and not v.strip():
            raise self.fail(f"key '{key}' must not be empty")
        return v

    def number(self, v: object, key: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(f"key '{key}' must be a number, got {_type_name(v)}")
        if not math.isfinite(v):
            raise self.fail(f"key '{key}' must be a finite number")
        return float(v)

    def integer(self, v: object, key: str, minimum: int = 0) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(f"key '{key}' must be an integer, got {_type_name(v)}")
        if v < minimum:
            raise self.fail(f"key '{key}' must be >= {minimum}, got {v}")
        return v

    def boolean(self, v: object, key: str) -> bool:
        if not isinstance(v, bool):
            raise self.fail(f"key '{key}' must be true or false, got {_type_name(v)}")
        return v

    def table(self, v: object, key: str) -> Mapping[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(f"key '{key}' must be a table, got {_type_name(v)}")
        return v

    def strings(self, v: object, key: str) -> tuple[str, ...]:
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise self.fail(f"key '{key}' must be an array of non-empty strings")
        return tuple(v)

    def choice(self, v: object, key: str, choices: tuple[str, ...]) -> str:
        s = self.string(v, key)
        if s not in choices:
            raise self.fail(f"key '{key}' must be one of {', '.join(choices)}; got {s!r}")
        return s


_TOP_REQUIRED = {"version", "safety", "rule"}
_TOP_OPTIONAL = {"extends"}
_SAFETY_KEYS = {"stop_if_pain", "warning_signs", "see_professional", "disclaimer"}
_RULE_REQUIRED = {
    "id",
    "title",
    "metric",
    "direction",
    "thresholds",
    "min_steps",
    "allow_low_confidence",
    "citation",
    "threshold_note",
    "advice",
}
_RULE_OPTIONAL = {
    "supporting",
    "also_metrics",
    "max_confidence",
    "confidence_note",
    "combine",
    "target",
    "enabled",
}


def _build(raw: Mapping[str, Any], label: str, source: Path, new_ids: set[str] | None) -> RuleSet:
    top = _Ctx(label)
    top.check_keys(raw, _TOP_REQUIRED, _TOP_OPTIONAL)
    version = raw["version"]
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    version = top.string(version, "version")

    sctx = _Ctx(label, "[safety]")
    s = top.table(raw["safety"], "safety")
    sctx.check_keys(s, _SAFETY_KEYS, set())
    signs = sctx.strings(s["warning_signs"], "warning_signs")
    if not signs:
        raise sctx.fail("key 'warning_signs' must not be empty")
    safety = Safety(
        stop_if_pain=sctx.string(s["stop_if_pain"], "stop_if_pain"),
        warning_signs=signs,
        see_professional=sctx.string(s["see_professional"], "see_professional"),
        disclaimer=sctx.string(s["disclaimer"], "disclaimer"),
    )

    entries = raw["rule"]
    if not isinstance(entries, list) or not entries:
        raise top.fail("key 'rule' must be a non-empty array of tables ([[rule]])")
    rules: list[Rule] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise _Ctx(label, f"rule #{n}").fail("must be a table")
        rid = entry.get("id")
        if not isinstance(rid, str) or not rid.strip():
            ctx = _Ctx(label, f"rule #{n}")
            if "id" not in entry:
                raise ctx.fail("missing key 'id'")
            ctx.string(rid, "id")
        if rid in seen:
            raise _Ctx(label, f"rule '{rid}'").fail("duplicate rule id")
        seen.add(rid)
        where = f"rule '{rid}'"
        if new_ids and rid in new_ids:
            where += " (not in the packaged rules, so it must be complete)"
        rules.append(_parse_rule(entry, _Ctx(label, where)))

    by_id = {r.id: r for r in rules}
    for r in rules:
        if r.combine is None:
            continue
        ctx = _Ctx(label, f"rule '{r.id}'")
        for c in r.combine.conditions:
            if c.rule is None:
                continue
            if c.rule not in by_id:
                raise ctx.fail(f"key 'combine.conditions' names unknown rule '{c.rule}'")
            if by_id[c.rule].combine is not None:
                raise ctx.fail(
                    f"key 'combine.conditions' names rule '{c.rule}', which itself uses "
                    "'combine' (not supported)"
                )
    return RuleSet(rules=tuple(rules), safety=safety, version=version, source=source)


def _parse_rule(e: Mapping[str, Any], ctx: _Ctx) -> Rule:
    ctx.check_keys(e, _RULE_REQUIRED, _RULE_OPTIONAL)
    rid = ctx.string(e["id"], "id")
    direction = ctx.choice(e["direction"], "direction", DIRECTIONS)

    combine = _parse_combine(e["combine"], ctx) if "combine" in e else None

    thr = ctx.table(e["thresholds"], "thresholds")
    if combine is not None:
        if "marked" in thr:
            raise ctx.fail(
                "key 'thresholds.marked' is not used when 'combine' sets the severity "
                "(the mild threshold is the gate)"
            )
        ctx.check_keys(thr, {"mild"}, set(), prefix="thresholds.")
    else:
        ctx.check_keys(thr, {"mild", "marked"}, set(), prefix="thresholds.")
    thresholds = {k: ctx.number(v, f"thresholds.{k}") for k, v in thr.items()}
    if combine is None:
        mild, marked = thresholds["mild"], thresholds["marked"]
        if direction == "above" and not marked > mild:
            raise ctx.fail(
                f"key 'thresholds.marked' ({marked:g}) must be greater than 'thresholds.mild' "
                f"({mild:g}) for direction 'above'"
            )
        if direction == "below" and not marked < mild:
            raise ctx.fail(
                f"key 'thresholds.marked' ({marked:g}) must be less than 'thresholds.mild' "
                f"({mild:g}) for direction 'below'"
            )
    # keep a stable order: mild, marked
    thresholds = {k: thresholds[k] for k in ("mild", "marked") if k in thresholds}

    target = None
    if "target" in e:
        t = ctx.table(e["target"], "target")
        ctx.check_keys(t, {"low_factor", "high_factor"}, set(), prefix="target.")
        lo = ctx.number(t["low_factor"], "target.low_factor")
        hi = ctx.number(t["high_factor"], "target.high_factor")
        if not 0 < lo <= hi:
            raise ctx.fail(
                f"key 'target.high_factor' ({hi:g}) must be >= 'target.low_factor' ({lo:g}) "
                "and both positive"
            )
        target = Target(lo, hi)

    max_conf = ctx.choice(e.get("max_confidence", "high"), "max_confidence", ("high", "low"))
    conf_note = ctx.string(e.get("confidence_note", ""), "confidence_note", empty_ok=True)
    if max_conf == "low" and not conf_note.strip():
        raise ctx.fail("missing key 'confidence_note' (required when max_confidence = \"low\")")

    adv = ctx.table(e["advice"], "advice")
    ctx.check_keys(adv, set(ADVICE_KEYS), set(), prefix="advice.")
    allowed = _BASE_PLACEHOLDERS | (_TARGET_PLACEHOLDERS if target else frozenset())
    if combine is not None:
        allowed = allowed - {"marked"}
    advice = {}
    for k in ADVICE_KEYS:
        text = ctx.string(adv[k], f"advice.{k}")
        _check_template(text, f"advice.{k}", allowed, ctx)
        advice[k] = text

    return Rule(
        id=rid,
        title=ctx.string(e["title"], "title"),
        metric=ctx.string(e["metric"], "metric"),
        direction=direction,
        thresholds=thresholds,
        min_steps=ctx.integer(e["min_steps"], "min_steps", minimum=0),
        allow_low_confidence=ctx.boolean(e["allow_low_confidence"], "allow_low_confidence"),
        citation=ctx.string(e["citation"], "citation"),
        threshold_note=ctx.string(e["threshold_note"], "threshold_note"),
        advice=advice,
        supporting=ctx.strings(e.get("supporting", []), "supporting"),
        also_metrics=ctx.strings(e.get("also_metrics", []), "also_metrics"),
        max_confidence=max_conf,
        confidence_note=conf_note,
        combine=combine,
        target=target,
        enabled=ctx.boolean(e.get("enabled", True), "enabled"),
    )


def _parse_combine(v: object, ctx: _Ctx) -> Combine:
    c = ctx.table(v, "combine")
    ctx.check_keys(c, {"conditions"}, {"mild", "marked", "note_if_none"}, prefix="combine.")
    conds = c["conditions"]
    if not isinstance(conds, list) or not conds:
        raise ctx.fail("key 'combine.conditions' must be a non-empty array of tables")
    parsed: list[Condition] = []
    for i, cond in enumerate(conds):
        key = f"combine.conditions[{i}]"
        if not isinstance(cond, dict):
            raise ctx.fail(f"key '{key}' must be a table, got {_type_name(cond)}")
        if ("rule" in cond) == ("metric" in cond):
            raise ctx.fail(f"key '{key}' must have exactly one of 'rule' or 'metric'")
        if "rule" in cond:
            ctx.check_keys(cond, {"rule"}, {"at_least"}, prefix=f"{key}.")
            at_least = ctx.choice(
                cond.get("at_least", "mild"), f"{key}.at_least", ("mild", "marked")
            )
            parsed.append(
                Condition(rule=ctx.string(cond["rule"], f"{key}.rule"), at_least=Severity(at_least))
            )
        else:
            ctx.check_keys(cond, {"metric", "direction", "threshold"}, set(), prefix=f"{key}.")
            parsed.append(
                Condition(
                    metric=ctx.string(cond["metric"], f"{key}.metric"),
                    direction=ctx.choice(cond["direction"], f"{key}.direction", DIRECTIONS),
                    threshold=ctx.number(cond["threshold"], f"{key}.threshold"),
                )
            )
    return Combine(
        conditions=tuple(parsed),
        mild=ctx.choice(c.get("mild", "any"), "combine.mild", ("any", "all")),
        marked=ctx.choice(c.get("marked", "all"), "combine.marked", ("any", "all")),
        note_if_none=ctx.string(c.get("note_if_none", ""), "combine.note_if_none", empty_ok=True),
    )


def _check_template(text: str, key: str, allowed: frozenset[str], ctx: _Ctx) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as e:
        raise ctx.fail(
            f"key '{key}': bad placeholder syntax ({e}); write '{{{{' for a brace"
        ) from e
    for f in fields:
        if f not in allowed:
            raise ctx.fail(
                f"key '{key}': unknown placeholder '{{{f}}}' (allowed: "
                + ", ".join("{" + a + "}" for a in sorted(allowed))
                + ")"
            )
    try:
        text.format_map({a: _Num(1.0) if a != "unit" else "u" for a in allowed})
    except (ValueError, TypeError) as e:
        raise ctx.fail(f"key '{key}': bad placeholder format ({e})") from e


# ----------------------------------------------------------------------------- evaluation


class _Num(float):
    """A float that prints compactly in templates ("{value}") yet accepts format specs."""

    def __format__(self, spec: str) -> str:
        return float.__format__(self, spec) if spec else _fmt(float(self))


def _fmt(x: float) -> str:
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    return f"{x:.1f}"


def _fmt_vs(v: float, thr: float) -> str:
    """Format ``v`` with enough decimals that it never looks equal to a threshold it is not."""
    s = _fmt(v)
    if v != thr and float(s) == thr:
        for d in (2, 3, 4, 6):
            s = f"{v:.{d}f}"
            if float(s) != thr:
                break
    return s


def _with_unit(s: str, unit: str) -> str:
    return f"{s} {unit}" if unit else s


def _passes(value: float, direction: str, threshold: float) -> bool:
    return value > threshold if direction == "above" else value < threshold


def _grade(value: float, rule: Rule) -> Severity:
    if "marked" in rule.thresholds and _passes(value, rule.direction, rule.thresholds["marked"]):
        return Severity.MARKED
    if _passes(value, rule.direction, rule.thresholds["mild"]):
        return Severity.MILD
    return Severity.NONE


def _comparison(value: float, unit: str, direction: str, thr: float, level: str, hit: bool) -> str:
    if direction == "above":
        op = ">" if hit else "<="
    else:
        op = "<" if hit else ">="
    return f"{_with_unit(_fmt_vs(value, thr), unit)} {op} {_with_unit(_fmt(thr), unit)} ({level})"


@dataclass
class _Check:
    ok: bool
    summary: MetricSummary | None
    reason: str = ""
    low_reason: str = ""


def _check_metric(rule: Rule, metric_id: str, metrics: Mapping[str, MetricSummary]) -> _Check:
    name = label(metric_id)
    m = metrics.get(metric_id)
    if m is None:
        return _Check(False, None, f"{name} was not computed for this clip")
    if m.status is Status.NOT_MEASURABLE or m.value is None:
        why = m.reason or "no value"
        return _Check(False, m, f"{name} not measurable: {why}")
    if not math.isfinite(float(m.value)):
        return _Check(False, m, f"{name} is not a finite number")
    if m.n_steps < rule.min_steps:
        return _Check(
            False,
            m,
            f"{name} rests on {m.n_steps} steps; at least {rule.min_steps} are needed "
            "to judge it",
        )
    if m.status is Status.LOW_CONFIDENCE:
        why = m.reason or "low confidence"
        if not rule.allow_low_confidence:
            return _Check(
                False,
                m,
                f"{name} is low confidence ({why}); this rule judges only measured values",
            )
        return _Check(True, m, low_reason=f"{name}: {why}")
    return _Check(True, m)


def _supporting(rule: Rule, metrics: Mapping[str, MetricSummary]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for mid in rule.supporting:
        m = metrics.get(mid)
        out[mid] = m.value if (m is not None and m.usable) else None
    return out


def _not_assessed(
    rule: Rule,
    m: MetricSummary | None,
    metric_id: str,
    reason: str,
    metrics: Mapping[str, MetricSummary],
) -> Finding:
    return Finding(
        id=rule.id,
        title=rule.title,
        metric=metric_id,
        severity=Severity.NONE,
        assessed=False,
        value=None if m is None else m.value,
        unit="" if m is None else m.unit,
        threshold=rule.thresholds["mild"],
        thresholds=dict(rule.thresholds),
        direction=rule.direction,
        comparison="",
        evidence_t_s=() if m is None else tuple(m.evidence_t_s),
        n_steps=0 if m is None else int(m.n_steps),
        confidence="low",
        reason=reason,
        advice={},
        citation=rule.citation,
        supporting=_supporting(rule, metrics),
    )


def _judge(
    rule: Rule, metrics: Mapping[str, MetricSummary], done: Mapping[str, Finding]
) -> Finding:
    checks = [(mid, _check_metric(rule, mid, metrics)) for mid in (rule.metric, *rule.also_metrics)]
    usable = [(mid, c) for mid, c in checks if c.ok]
    if not usable:
        mid, first = checks[0]
        reason = "; ".join(c.reason for _, c in checks)
        return _not_assessed(rule, first.summary, mid, reason, metrics)

    # The worst severity among the usable metrics decides (first listed wins ties).
    graded = [(mid, c, _grade(float(c.summary.value), rule)) for mid, c in usable]  # type: ignore[union-attr]
    mid, chk, severity = max(graded, key=lambda g: g[2].rank)
    m = chk.summary
    assert m is not None
    value = float(m.value)  # type: ignore[arg-type]

    low_reasons = [chk.low_reason] if chk.low_reason else []
    if rule.max_confidence == "low":
        low_reasons.append(rule.confidence_note)
    note = ""

    level = severity.value if severity is not Severity.NONE else "mild"
    threshold = rule.thresholds[level]
    comparison = _comparison(
        value, m.unit, rule.direction, threshold, level, severity is not Severity.NONE
    )

    if rule.combine is not None:
        gate_open = severity is not Severity.NONE
        threshold = rule.thresholds["mild"]
        comparison = _comparison(value, m.unit, rule.direction, threshold, "gate", gate_open)
        if gate_open:
            severity, parts, unknown, cond_low = _combine(rule, metrics, done)
            comparison += "; " + "; ".join(parts)
            low_reasons += cond_low
            if unknown:
                low_reasons.append("could not check " + "; ".join(unknown))
            if severity is Severity.NONE:
                note = rule.combine.note_if_none

    target = None
    if rule.target is not None:
        # round half up (Python's round() would send 178.5 to 178)
        target = (
            float(math.floor(value * rule.target.low_factor + 0.5)),
            float(math.floor(value * rule.target.high_factor + 0.5)),
        )

    return Finding(
        id=rule.id,
        title=rule.title,
        metric=mid,
        severity=severity,
        assessed=True,
        value=value,
        unit=m.unit,
        threshold=threshold,
        thresholds=dict(rule.thresholds),
        direction=rule.direction,
        comparison=comparison,
        evidence_t_s=tuple(m.evidence_t_s),
        n_steps=int(m.n_steps),
        confidence="low" if low_reasons else "high",
        reason="; ".join(low_reasons),
        advice=_fill_advice(rule, value, m.unit, target),
        citation=rule.citation,
        note=note,
        target=target,
        supporting=_supporting(rule, metrics),
    )


def _combine(
    rule: Rule, metrics: Mapping[str, MetricSummary], done: Mapping[str, Finding]
) -> tuple[Severity, list[str], list[str], list[str]]:
    """Evaluate a rule's combine conditions: (severity, descriptions, unknowns, low reasons)."""
    assert rule.combine is not None
    met = 0
    parts: list[str] = []
    unknown: list[str] = []
    low: list[str] = []
    for c in rule.combine.conditions:
        if c.rule is not None:
            other = done[c.rule]
            if not other.assessed:
                unknown.append(f"{c.rule} ({other.reason})")
                parts.append(f"{c.rule}: not assessed")
                continue
            ok = other.severity.rank >= c.at_least.rank
            met += ok
            detail = f" [{other.comparison}]" if other.comparison else ""
            parts.append(f"{c.rule}: {other.severity.value}{detail}")
            if other.confidence == "low" and other.reason:
                low.append(f"{c.rule}: {other.reason}")
        else:
            assert c.metric is not None
            chk = _check_metric(rule, c.metric, metrics)
            if not chk.ok:
                unknown.append(chk.reason)
                parts.append(f"{c.metric}: not assessed")
                continue
            assert chk.summary is not None
            v = float(chk.summary.value)  # type: ignore[arg-type]
            ok = _passes(v, c.direction, c.threshold)
            met += ok
            parts.append(
                f"{c.metric} "
                + _comparison(v, chk.summary.unit, c.direction, c.threshold, "condition", ok)
            )
            if chk.low_reason:
                low.append(chk.low_reason)
    n = len(rule.combine.conditions)

    def satisfied(mode: str) -> bool:
        return met == n if mode == "all" else met >= 1

    if satisfied(rule.combine.marked):
        sev = Severity.MARKED
    elif satisfied(rule.combine.mild):
        sev = Severity.MILD
    else:
        sev = Severity.NONE
    return sev, parts, unknown, low


def _fill_advice(
    rule: Rule, value: float, unit: str, target: tuple[float, float] | None
) -> dict[str, str]:
    values: dict[str, object] = {"value": _Num(value), "unit": unit}
    for k, v in rule.thresholds.items():
        values[k] = _Num(v)
    if target is not None:
        values["target_low"] = _Num(target[0])
        values["target_high"] = _Num(target[1])
    return {k: rule.advice[k].format_map(values) for k in ADVICE_KEYS}


def evaluate(metrics: Mapping[str, MetricSummary], rules: RuleSet,
             doubts: Sequence[Doubt] = ()) -> list[Finding]:
    """Grade the clip's metrics: one :class:`Finding` per enabled rule, in file order.

    Rules without ``combine`` are judged first, so that combination rules can read their
    findings. Disabled rules are judged (they may feed a combination) but not returned.

    A finding is judged only from metrics that are ``measured``, or ``low_confidence`` where
    the rule allows it (``allow_low_confidence``).  Every metric named by a ``doubt`` (a
    warning that marks it implausible, e.g. "the clip looks slowed down") counts as not
    measurable whatever its status, so any finding that reads it, as its own metric or as a
    combination condition, is "not assessed" with the doubt's reason.
    """
    metrics = apply_doubts(dict(metrics), tuple(doubts))
    done: dict[str, Finding] = {}
    for r in rules.rules:
        if r.combine is None:
            done[r.id] = _judge(r, metrics, done)
    for r in rules.rules:
        if r.combine is not None:
            done[r.id] = _judge(r, metrics, done)
    return [done[r.id] for r in rules.rules if r.enabled]
