"""Rules stage, judging: grade a clip's metric summaries with a
:class:`~formcheck.rules.model.RuleSet`, one :class:`~formcheck.rules.model.Finding` per
enabled rule (conventions in :mod:`formcheck.rules` and ``docs/rules.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from formcheck.results import Doubt, MetricSummary, Status, apply_doubts, label
from formcheck.rules.model import ADVICE_KEYS, Finding, Rule, RuleSet, Severity, _fmt, _Num


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
