"""Rules stage, loading: read a rules TOML file (packaged, complete, or ``extends =
"packaged"``), validate it against the schema of ``docs/rules.md`` and build a
:class:`~formcheck.rules.model.RuleSet`.  Every problem raises :class:`RulesError` with a
one-line message naming the file, the rule and the key.
"""

from __future__ import annotations

import math
import string
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from formcheck.errors import RulesError
from formcheck.rules.model import (
    _BASE_PLACEHOLDERS,
    _TARGET_PLACEHOLDERS,
    ADVICE_KEYS,
    DIRECTIONS,
    PACKAGED_NAME,
    Combine,
    Condition,
    Rule,
    RuleSet,
    Safety,
    Severity,
    Target,
    _Num,
)


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
    return Path(__file__).resolve().parents[1] / PACKAGED_NAME  # pragma: no cover


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
