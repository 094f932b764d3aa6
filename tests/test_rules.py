"""Tests of the rules stage: thresholds, combinations, not-assessed paths and rules files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formcheck.results import MetricSummary, Status, not_measurable
from formcheck.rules import (
    ADVICE_KEYS,
    Finding,
    RulesError,
    RuleSet,
    Severity,
    evaluate,
    load_rules,
)

NONE, MILD, MARKED = Severity.NONE, Severity.MILD, Severity.MARKED
EPS = 0.01


def m(
    id: str,
    value: float | None,
    unit: str = "u",
    n: int = 20,
    status: Status = Status.MEASURED,
    reason: str = "",
    t: tuple[float, ...] = (0.5, 1.0, 1.5),
) -> MetricSummary:
    return MetricSummary(
        id=id, value=value, unit=unit, status=status, reason=reason, n_steps=n, evidence_t_s=t
    )


def mset(*items: MetricSummary) -> dict[str, MetricSummary]:
    return {x.id: x for x in items}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def finding(rules: RuleSet, metrics: dict[str, MetricSummary], rule_id: str) -> Finding:
    found = [f for f in evaluate(metrics, rules) if f.id == rule_id]
    assert len(found) == 1, f"expected exactly one finding for {rule_id}"
    return found[0]


# ------------------------------------------------------------------ packaged thresholds

# (rule id, metric, direction, mild, marked): the chosen numbers, pinned so a change is seen.
GRADED = [
    ("overstriding", "overstride_pct_leg", "above", 8.0, 15.0),
    ("slow_cadence", "cadence_spm", "below", 160.0, 150.0),
    ("backward_lean", "trunk_lean_deg", "below", -1.0, -5.0),
    ("cross_body_arm_swing", "arm_cross_share_pct", "above", 25.0, 50.0),
    ("excessive_forward_lean", "trunk_lean_deg", "above", 12.0, 18.0),
    ("bouncing", "vertical_oscillation_pct_leg", "above", 12.0, 15.0),
    ("stiff_landing", "knee_flexion_midstance_deg", "below", 40.0, 35.0),
    ("asymmetry", "step_time_asymmetry_pct", "above", 5.0, 10.0),
]


@pytest.mark.parametrize("rule_id,metric,direction,mild,marked", GRADED)
def test_packaged_thresholds(rules, rule_id, metric, direction, mild, marked):
    r = rules.get(rule_id)
    assert r.metric == metric
    assert r.direction == direction
    assert dict(r.thresholds) == {"mild": mild, "marked": marked}


def _boundary_cases(direction: str, mild: float, marked: float):
    """(value, expected severity): comparisons are strict, a value AT a threshold stays below."""
    s = 1.0 if direction == "above" else -1.0  # the "worse" direction
    return [
        (mild - s * EPS, NONE),  # just short of mild
        (mild, NONE),  # exactly mild: not flagged (strict)
        (mild + s * EPS, MILD),  # just past mild
        (marked - s * EPS, MILD),  # just short of marked
        (marked, MILD),  # exactly marked: still mild (strict)
        (marked + s * EPS, MARKED),  # just past marked
    ]


@pytest.mark.parametrize("rule_id,metric,direction,mild,marked", GRADED)
def test_severity_boundaries(rules, rule_id, metric, direction, mild, marked):
    for value, expected in _boundary_cases(direction, mild, marked):
        f = finding(rules, mset(m(metric, value, n=30)), rule_id)
        assert f.assessed, (rule_id, value, f.reason)
        assert f.severity is expected, (rule_id, value, f.severity, f.comparison)
        # the threshold reported is the one crossed, or the mild one when none was
        want_thr = mild if expected is not MARKED else marked
        assert f.threshold == want_thr
        assert f.comparison, "an assessed finding explains its comparison"
        assert f.evidence_t_s == (0.5, 1.0, 1.5)
        assert f.n_steps == 30


def test_comparison_text(rules):
    f = finding(rules, mset(m("overstride_pct_leg", 7.1, "% leg length")), "overstriding")
    assert f.comparison == "7.1 % leg length <= 8 % leg length (mild)"
    f = finding(rules, mset(m("overstride_pct_leg", 16.24, "% leg length")), "overstriding")
    assert f.comparison == "16.2 % leg length > 15 % leg length (marked)"
    # a value that would print equal to the threshold gets more decimals
    f = finding(rules, mset(m("overstride_pct_leg", 8.01, "% leg length")), "overstriding")
    assert f.comparison.startswith("8.01 % leg length > 8 ")
    f = finding(rules, mset(m("cadence_spm", 152.0, "steps/min")), "slow_cadence")
    assert f.comparison == "152 steps/min < 160 steps/min (mild)"


# ------------------------------------------------------------------ not assessed


def test_metric_missing(rules):
    f = finding(rules, {}, "overstriding")
    assert not f.assessed and f.severity is NONE
    assert "Overstride (heel ahead of hip)" in f.reason and "not computed" in f.reason
    assert f.advice == {}
    assert f.threshold == 8.0


def test_metric_not_measurable_uses_metric_reason(rules):
    nm = not_measurable("overstride_pct_leg", "% leg length", "front view: no sagittal plane")
    f = finding(rules, mset(nm), "overstriding")
    assert not f.assessed and f.severity is NONE
    assert "front view: no sagittal plane" in f.reason


def test_too_few_steps(rules):
    r = rules.get("overstriding")
    f = finding(rules, mset(m("overstride_pct_leg", 20.0, n=r.min_steps - 1)), "overstriding")
    assert not f.assessed and f.severity is NONE
    assert f"{r.min_steps - 1} steps" in f.reason and str(r.min_steps) in f.reason
    assert f.value == 20.0  # the number is still passed on for the report
    f = finding(rules, mset(m("overstride_pct_leg", 20.0, n=r.min_steps)), "overstriding")
    assert f.assessed and f.severity is MARKED


def test_low_confidence_allowed_lowers_confidence(rules):
    lc = m("overstride_pct_leg", 10.0, status=Status.LOW_CONFIDENCE, reason="heel occluded")
    f = finding(rules, mset(lc), "overstriding")
    assert f.assessed and f.severity is MILD
    assert f.confidence == "low" and "heel occluded" in f.reason
    f = finding(rules, mset(m("overstride_pct_leg", 10.0)), "overstriding")
    assert f.confidence == "high" and f.reason == ""


def test_low_confidence_not_allowed(rules):
    assert rules.get("asymmetry").allow_low_confidence is False
    lc = m("step_time_asymmetry_pct", 30.0, status=Status.LOW_CONFIDENCE, reason="30 fps")
    f = finding(rules, mset(lc), "asymmetry")
    assert not f.assessed and f.severity is NONE
    assert "low confidence" in f.reason and "30 fps" in f.reason


def test_rule_capped_at_low_confidence(rules):
    f = finding(rules, mset(m("arm_cross_share_pct", 60.0)), "cross_body_arm_swing")
    assert f.assessed and f.severity is MARKED
    assert f.confidence == "low" and f.reason


def test_every_rule_yields_one_finding(rules):
    out = evaluate({}, rules)
    assert [f.id for f in out] == list(rules.ids)
    assert all(not f.assessed for f in out)


# ------------------------------------------------------------------ heel striking


def heel_case(rules, share, overstride=None, angle=None, n=20):
    items = [m("heel_strike_share_pct", share, "%", n=n)]
    if overstride is not None:
        items.append(m("overstride_pct_leg", overstride, "% leg length", n=n))
    if angle is not None:
        items.append(m("foot_strike_angle_deg", angle, "deg", n=n))
    return finding(rules, mset(*items), "heel_striking")


def test_heel_striking_alone_is_not_a_fault(rules):
    f = heel_case(rules, 90.0, overstride=5.0, angle=10.0)
    assert f.assessed and f.severity is NONE
    assert "injury" in f.note  # says heel striking by itself is no injury sign
    assert f.confidence == "high"


def test_heel_striking_with_overstride_is_mild(rules):
    f = heel_case(rules, 90.0, overstride=9.0, angle=10.0)
    assert f.severity is MILD and f.note == ""
    assert "overstriding: mild" in f.comparison


def test_heel_striking_with_steep_foot_is_mild(rules):
    f = heel_case(rules, 90.0, overstride=5.0, angle=15.0 + EPS)
    assert f.severity is MILD
    # exactly 15 deg does not count (strict)
    assert heel_case(rules, 90.0, overstride=5.0, angle=15.0).severity is NONE


def test_heel_striking_with_both_is_marked(rules):
    f = heel_case(rules, 90.0, overstride=16.0, angle=20.0)
    assert f.severity is MARKED


def test_heel_striking_gate_is_strict(rules):
    # half the steps is not "most steps": the gate stays closed even with both conditions
    f = heel_case(rules, 50.0, overstride=16.0, angle=20.0)
    assert f.assessed and f.severity is NONE and f.note == ""
    assert heel_case(rules, 50.0 + EPS, overstride=16.0, angle=20.0).severity is MARKED
    assert heel_case(rules, 20.0, overstride=16.0, angle=20.0).severity is NONE


def test_heel_striking_unknown_condition_lowers_confidence(rules):
    f = heel_case(rules, 90.0, overstride=None, angle=10.0)
    assert f.assessed and f.severity is NONE
    assert f.confidence == "low" and "could not check" in f.reason
    f = heel_case(rules, 90.0, overstride=None, angle=25.0)
    assert f.severity is MILD and f.confidence == "low"


def test_heel_striking_not_measurable(rules):
    f = finding(
        rules,
        mset(not_measurable("heel_strike_share_pct", "%", "feet out of frame")),
        "heel_striking",
    )
    assert not f.assessed and "feet out of frame" in f.reason


# ------------------------------------------------------------------ cadence target


def test_cadence_target_in_advice(rules):
    f = finding(rules, mset(m("cadence_spm", 152.3, "steps/min")), "slow_cadence")
    assert f.severity is MILD
    assert f.target == (160.0, 168.0)
    assert "160-168 steps/min" in f.advice["what"]
    assert "152.3" in f.advice["what"]
    assert "160" in f.advice["cue"]
    assert "{" not in "".join(f.advice.values())


def test_cadence_target_rounds_half_up(rules):
    # 170 * 1.05 = 178.5 -> 179 (not banker's 178); 170 * 1.10 = 187
    f = finding(rules, mset(m("cadence_spm", 170.0, "steps/min")), "slow_cadence")
    assert f.severity is NONE and f.target == (179.0, 187.0)
    assert "179-187" in f.advice["what"]


# ------------------------------------------------------------------ asymmetry (two metrics)


def test_asymmetry_worst_metric_decides(rules):
    f = finding(
        rules,
        mset(m("step_time_asymmetry_pct", 3.0, "%"), m("contact_time_asymmetry_pct", 12.0, "%")),
        "asymmetry",
    )
    assert f.severity is MARKED and f.metric == "contact_time_asymmetry_pct"
    f = finding(rules, mset(m("contact_time_asymmetry_pct", 6.0, "%")), "asymmetry")
    assert f.severity is MILD and f.metric == "contact_time_asymmetry_pct"


# ------------------------------------------------------------------ packaged contents

ARTICLE_FAULTS = [
    "overstriding",
    "heel_striking",
    "slow_cadence",
    "backward_lean",
    "cross_body_arm_swing",
]


def test_packaged_rules_have_article_faults(rules):
    for rid in ARTICLE_FAULTS + [
        "excessive_forward_lean",
        "bouncing",
        "stiff_landing",
        "asymmetry",
    ]:
        r = rules.get(rid)
        assert r.title.strip() and r.citation.strip() and r.threshold_note.strip()
        assert set(r.advice) == set(ADVICE_KEYS)
        for k in ADVICE_KEYS:
            assert len(r.advice[k].strip()) > 10, (rid, k)


def test_packaged_safety(rules):
    s = rules.safety
    text = " ".join([s.stop_if_pain, *s.warning_signs, s.see_professional, s.disclaimer]).lower()
    for word in ("swelling", "popping", "pinching", "weight", "hot", "range"):
        assert word in text, word
    assert "diagnos" in s.disclaimer.lower()
    assert "stop" in s.stop_if_pain.lower() or "end the run" in s.stop_if_pain.lower()
    assert "doctor" in s.see_professional.lower() or "physio" in s.see_professional.lower()
    assert rules.version


def test_finding_to_dict_is_json(rules):
    ms = mset(
        m("cadence_spm", 150.0, "steps/min"),
        m("heel_strike_share_pct", 80.0, "%"),
        m("overstride_pct_leg", 9.0, "% leg length"),
        m("shank_angle_ic_deg", 7.0, "deg"),
    )
    out = [f.to_dict() for f in evaluate(ms, rules)]
    text = json.dumps(out)
    d = {x["id"]: x for x in json.loads(text)}
    assert d["overstriding"]["severity"] == "mild"
    assert d["overstriding"]["supporting"]["shank_angle_ic_deg"] == 7.0
    assert d["slow_cadence"]["target"] == [158.0, 165.0]
    assert d["bouncing"]["assessed"] is False
    assert json.dumps(rules.safety.to_dict())


# ------------------------------------------------------------------ user rules files

MINIMAL = """\
version = "test-1"

[safety]
stop_if_pain = "Stop if it hurts."
warning_signs = ["swelling"]
see_professional = "See a doctor."
disclaimer = "No diagnosis."

[[rule]]
id = "overstriding"
title = "Overstriding"
metric = "overstride_pct_leg"
direction = "above"
thresholds = {{ mild = {mild}, marked = {marked} }}
min_steps = 3
allow_low_confidence = true
citation = "design choice"
threshold_note = "test"
{extra}
[rule.advice]
what = "w {{value}}"
cue = "c"
drill = "d"
progress = "p"
why = "y"
"""


def write(tmp_path: Path, text: str, name: str = "custom.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_user_file_overrides_threshold_via_extends(tmp_path):
    p = write(
        tmp_path,
        'extends = "packaged"\n\n[[rule]]\nid = "overstriding"\nthresholds = { mild = 10.0 }\n',
    )
    rs = load_rules(p)
    assert rs.source == p
    assert rs.version.endswith("+custom.toml")
    r = rs.get("overstriding")
    assert dict(r.thresholds) == {"mild": 10.0, "marked": 15.0}
    assert r.advice == load_rules().get("overstriding").advice  # the rest is kept
    assert finding(rs, mset(m("overstride_pct_leg", 9.0)), "overstriding").severity is NONE
    assert finding(rs, mset(m("overstride_pct_leg", 11.0)), "overstriding").severity is MILD
    # heel striking reads the overridden overstriding result
    f = finding(
        rs,
        mset(
            m("heel_strike_share_pct", 90.0),
            m("overstride_pct_leg", 9.0),
            m("foot_strike_angle_deg", 5.0),
        ),
        "heel_striking",
    )
    assert f.severity is NONE


def test_user_file_can_disable_a_rule(tmp_path):
    p = write(tmp_path, 'extends = "packaged"\n[[rule]]\nid = "bouncing"\nenabled = false\n')
    assert "bouncing" not in [f.id for f in evaluate({}, load_rules(p))]


def test_standalone_user_file(tmp_path):
    rs = load_rules(write(tmp_path, MINIMAL.format(mild=5.0, marked=9.0, extra="")))
    assert rs.ids == ("overstriding",) and rs.version == "test-1"
    f = finding(rs, mset(m("overstride_pct_leg", 6.0, n=3)), "overstriding")
    assert f.severity is MILD and f.advice["what"] == "w 6"


def test_full_copy_of_packaged_file_with_edit(tmp_path):
    text = load_rules().source.read_text(encoding="utf-8")
    old = "thresholds = { mild = 8.0, marked = 15.0 }"
    assert old in text
    p = write(tmp_path, text.replace(old, "thresholds = { mild = 4.0, marked = 6.0 }"))
    f = finding(load_rules(p), mset(m("overstride_pct_leg", 7.0)), "overstriding")
    assert f.severity is MARKED


def bad(tmp_path, text, *needles, name="bad.toml"):
    p = write(tmp_path, text, name)
    with pytest.raises(RulesError) as ei:
        load_rules(p)
    msg = str(ei.value)
    assert "\n" not in msg, msg
    assert name in msg, msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_bad_unknown_key(tmp_path):
    bad(
        tmp_path,
        MINIMAL.format(mild=5, marked=9, extra="threshhold = 3\n"),
        "rule 'overstriding'",
        "unknown key 'threshhold'",
    )


def test_bad_unknown_key_in_override(tmp_path):
    bad(
        tmp_path,
        'extends = "packaged"\n[[rule]]\nid = "overstriding"\nthreshhold = 3\n',
        "rule 'overstriding'",
        "unknown key 'threshhold'",
    )


def test_bad_unknown_nested_key(tmp_path):
    text = MINIMAL.format(mild=5, marked=9, extra="").replace("cue =", "queue =")
    bad(tmp_path, text, "rule 'overstriding'", "'advice.queue'")


def test_bad_missing_key(tmp_path):
    text = MINIMAL.format(mild=5, marked=9, extra="").replace('citation = "design choice"\n', "")
    bad(tmp_path, text, "rule 'overstriding'", "missing key 'citation'")


def test_bad_missing_key_in_new_override_rule(tmp_path):
    bad(
        tmp_path,
        'extends = "packaged"\n[[rule]]\nid = "overstridng"\nmin_steps = 3\n',
        "rule 'overstridng'",
        "missing key",
    )


def test_bad_wrong_type(tmp_path):
    text = MINIMAL.format(mild=5, marked=9, extra="").replace("min_steps = 3", 'min_steps = "3"')
    bad(tmp_path, text, "rule 'overstriding'", "'min_steps'", "integer")
    text = MINIMAL.format(mild=5, marked=9, extra="").replace(
        "allow_low_confidence = true", "allow_low_confidence = 1"
    )
    bad(tmp_path, text, "rule 'overstriding'", "'allow_low_confidence'")
    bad(
        tmp_path,
        MINIMAL.format(mild='"five"', marked=9, extra=""),
        "rule 'overstriding'",
        "'thresholds.mild'",
        "number",
    )


def test_bad_threshold_order_above(tmp_path):
    bad(
        tmp_path,
        MINIMAL.format(mild=9, marked=5, extra=""),
        "rule 'overstriding'",
        "'thresholds.marked'",
        "above",
    )
    bad(tmp_path, MINIMAL.format(mild=9, marked=9, extra=""), "'thresholds.marked'")


def test_bad_threshold_order_below(tmp_path):
    text = MINIMAL.format(mild=5, marked=9, extra="").replace('"above"', '"below"')
    bad(tmp_path, text, "rule 'overstriding'", "'thresholds.marked'", "below")


def test_bad_threshold_order_in_override(tmp_path):
    bad(
        tmp_path,
        'extends = "packaged"\n[[rule]]\nid = "slow_cadence"\nthresholds = { mild = 140.0 }\n',
        "rule 'slow_cadence'",
        "'thresholds.marked'",
    )


def test_bad_toml_syntax(tmp_path):
    msg = bad(tmp_path, "[[rule]\nid = \n", "TOML syntax error", name="broken.toml")
    assert msg.startswith("rules file ")


def test_bad_placeholder(tmp_path):
    text = MINIMAL.format(mild=5, marked=9, extra="").replace("w {value}", "w {target_low}")
    bad(tmp_path, text, "rule 'overstriding'", "'advice.what'", "target_low")


def test_bad_top_level(tmp_path):
    bad(tmp_path, "rulez = 1\n" + MINIMAL.format(mild=5, marked=9, extra=""), "unknown key 'rulez'")
    text = MINIMAL.format(mild=5, marked=9, extra="").replace('version = "test-1"\n', "")
    bad(tmp_path, text, "missing key 'version'")


def test_bad_direction_and_duplicate(tmp_path):
    text = MINIMAL.format(mild=5, marked=9, extra="").replace('"above"', '"up"')
    bad(tmp_path, text, "rule 'overstriding'", "'direction'")
    one = MINIMAL.format(mild=5, marked=9, extra="")
    rule_part = one[one.index("[[rule]]") :]
    bad(tmp_path, one + "\n" + rule_part, "rule 'overstriding'", "duplicate")


def test_bad_combine_reference(tmp_path):
    extra = '[rule.combine]\nconditions = [{ rule = "nosuch" }]\n'
    text = MINIMAL.format(mild=5, marked=9, extra=extra).replace(", marked = 9", "")
    bad(tmp_path, text, "rule 'overstriding'", "nosuch")


def test_bad_missing_file(tmp_path):
    with pytest.raises(RulesError, match="nothere.toml"):
        load_rules(tmp_path / "nothere.toml")


def test_rules_error_is_value_error():
    assert issubclass(RulesError, ValueError)


def test_docs_table_lists_every_packaged_rule(rules):
    doc = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
    if not doc.is_file():
        pytest.skip("docs/rules.md not present")
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    }
    for r in rules.rules:
        assert r.id in rows, f"docs/rules.md has no table row for {r.id}"
        row = rows[r.id]
        assert r.metric in row and str(r.min_steps) in row, row
        for v in r.thresholds.values():
            assert f"{v:g}" in row, (r.id, v)


# ------------------------------------------------------------------ doubts block judgements


@pytest.mark.parametrize("rule_id", ["slow_cadence", "overstriding", "bouncing", "asymmetry",
                                     "cross_body_arm_swing", "backward_lean"])
def test_any_doubt_on_a_metric_blocks_the_findings_that_read_it(rules: RuleSet, rule_id: str):
    """The rule itself, for any rule: a measured metric that is judged (here: a marked
    fault) is not assessed as soon as a warning marks that metric implausible, and the
    finding says why; a doubt on some other metric changes nothing."""
    from formcheck.results import Doubt

    rule = rules.get(rule_id)
    marked = rule.thresholds.get("marked", rule.thresholds["mild"])
    bad = marked + (5 if rule.direction == "above" else -5)
    metrics = mset(m(rule.metric, bad), *(m(x, 0.0) for x in rule.supporting))
    judged = [f for f in evaluate(metrics, rules) if f.id == rule_id][0]
    assert judged.assessed and judged.severity is not NONE
    other = Doubt("unrelated", "not assessed: unrelated", ("no_such_metric",))
    assert [f for f in evaluate(metrics, rules, [other]) if f.id == rule_id][0].assessed
    doubt = Doubt("the number is implausible", "not assessed: the clip looks odd",
                  (rule.metric,))
    blocked = [f for f in evaluate(metrics, rules, [doubt]) if f.id == rule_id][0]
    assert not blocked.assessed and blocked.advice == {}
    assert "not assessed: the clip looks odd" in blocked.reason


def test_a_doubt_on_a_combination_condition_is_reported_not_judged(rules: RuleSet):
    """heel_striking reads overstriding and the foot-strike angle: doubting the angle leaves
    that condition unknown (named in the finding), it is never graded."""
    from formcheck.results import Doubt

    metrics = mset(m("heel_strike_share_pct", 90.0), m("foot_strike_angle_deg", 25.0),
                   m("overstride_pct_leg", 0.0))
    f = [x for x in evaluate(metrics, rules) if x.id == "heel_striking"][0]
    assert f.assessed and f.severity is MILD
    d = Doubt("angle implausible", "not assessed: angle implausible",
              ("foot_strike_angle_deg",))
    f = [x for x in evaluate(metrics, rules, [d]) if x.id == "heel_striking"][0]
    assert f.severity is NONE and "angle implausible" in f.reason and f.confidence == "low"
