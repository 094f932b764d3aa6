"""The metric registry: every metric declared once, complete, and the lists derived from it
the ones the outputs were written in before the registry (so report.json, steps.csv and the
terminal read the same)."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_gait import GaitConfig, generate
from test_metrics_synthetic import to_pose

from formcheck import gait
from formcheck.api import Options, analyze_pose
from formcheck.config import settings
from formcheck.metrics import STEP_COLUMNS, UNITS, registry
from formcheck.results import LABELS, label
from formcheck.rules import load_rules

#: Order of report.json's metrics before the registry (compute()'s insertion order).
SUMMARY_ORDER = (
    "cadence_spm", "step_time_ms", "stride_time_ms", "overstride_pct_leg", "shank_angle_ic_deg",
    "knee_flexion_ic_deg", "foot_strike_angle_deg", "heel_strike_share_pct", "trunk_lean_deg",
    "contact_time_ms", "duty_factor_pct", "knee_flexion_midstance_deg",
    "vertical_oscillation_pct_leg", "vertical_oscillation_cm", "step_time_asymmetry_pct",
    "contact_time_asymmetry_pct", "arm_cross_share_pct", "arm_cross_depth_pct_shoulder",
)
#: results.LABELS's order before the registry (terminal and HTML reading order).
READING_ORDER = (
    "cadence_spm", "step_time_ms", "stride_time_ms", "overstride_pct_leg", "shank_angle_ic_deg",
    "knee_flexion_ic_deg", "foot_strike_angle_deg", "heel_strike_share_pct", "trunk_lean_deg",
    "arm_cross_share_pct", "arm_cross_depth_pct_shoulder", "contact_time_ms", "duty_factor_pct",
    "vertical_oscillation_pct_leg", "vertical_oscillation_cm", "knee_flexion_midstance_deg",
    "step_time_asymmetry_pct", "contact_time_asymmetry_pct",
)
#: The metrics issue 14 added (speed, step and stride length, vertical ratio): each order above
#: must be kept for the others, and these come where the registry puts them (summaries: after
#: the other step-based metrics, before the left/right comparisons; reading: speed and lengths
#: in "rhythm" after the times, the ratio in "bounce" after vertical oscillation).
ADDED = ("speed_mps", "step_length_m", "stride_length_m", "vertical_ratio_pct")
SUMMARY_ORDER_NOW = SUMMARY_ORDER[:14] + ADDED + SUMMARY_ORDER[14:]
READING_ORDER_NOW = (READING_ORDER[:3] + ADDED[:3] + READING_ORDER[3:15] + ADDED[3:]
                     + READING_ORDER[15:])
#: batch.KEY_METRICS and report/html.py SAGITTAL_AT_IC before the registry.
KEY_METRICS = ("overstride_pct_leg", "foot_strike_angle_deg", "heel_strike_share_pct",
               "trunk_lean_deg", "contact_time_ms", "knee_flexion_midstance_deg",
               "vertical_oscillation_pct_leg", "arm_cross_share_pct", "step_time_asymmetry_pct")
SAGITTAL_AT_IC = ("overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg")


def test_every_metric_has_a_label_unit_and_a_unique_id() -> None:
    defs = registry.all_defs()
    assert len({d.id for d in defs}) == len(defs)
    for d in defs:
        assert d.label.strip() and d.unit.strip(), d.id
        assert label(d.id) == d.label and UNITS[d.id] == d.unit


def test_derived_lists_keep_the_orders_the_outputs_had() -> None:
    assert tuple(d.id for d in registry.in_summary_order()) == SUMMARY_ORDER_NOW
    assert tuple(LABELS) == tuple(registry.labels()) == READING_ORDER_NOW
    assert tuple(UNITS) == READING_ORDER_NOW
    assert registry.key_metrics() == KEY_METRICS
    assert registry.group("sagittal_at_ic") == SAGITTAL_AT_IC
    assert STEP_COLUMNS == registry.step_columns()
    assert registry.group("no such group") == ()


def test_bad_declaration_is_refused() -> None:
    with pytest.raises(ValueError, match="bad section"):
        registry.MetricDef("x_deg", "X", "deg", "nowhere")
    with pytest.raises(ValueError, match="gates"):
        registry.MetricDef("x_deg", "X", "deg", "trunk", gates=("no_such_gate",))


def test_every_metric_the_data_files_name_is_registered() -> None:
    ids = {d.id for d in registry.all_defs()}
    named: set[str] = set()
    for r in load_rules().rules:
        named |= {r.metric, *r.also_metrics, *r.supporting}
        if r.combine is not None:
            named |= {c.metric for c in r.combine.conditions if c.metric}
    assert named and named <= ids, named - ids
    s = settings()
    step_ids = {d.id for d in registry.step_metrics()}
    assert set(s["plausible"]) <= step_ids
    assert set(s["doubts"]["time_based"]) | set(s["doubts"]["vertical_travel"]) <= ids


def test_every_registered_metric_is_computed_in_registry_order() -> None:
    a = analyze_pose(to_pose(generate(GaitConfig(seed=1))), Options())
    assert tuple(a.metrics.summaries) == tuple(d.id for d in registry.in_summary_order())
    assert tuple(a.metrics.steps.values) == tuple(d.id for d in registry.step_metrics())
    for d in registry.all_defs():
        assert a.metrics.summaries[d.id].unit == d.unit
    # the one duty-factor formula gives the per-step metric
    ct = a.metrics.steps.values["contact_time_ms"]
    stride_s = np.nanmedian(a.metrics.steps.values["stride_time_ms"]) / 1000
    got = a.metrics.steps.values["duty_factor_pct"]
    np.testing.assert_allclose(got, gait.duty_factor_pct(ct, stride_s), rtol=1e-12)
    assert np.isfinite(got).sum() >= 4


def test_walking_clip_gets_no_running_judgement() -> None:
    a = analyze_pose(to_pose(generate(GaitConfig(seed=1))), Options(gait="walking"))
    judged = gait.judged(a.metrics.summaries, a.view.gait)
    assert judged.keys() == a.metrics.summaries.keys()
    assert all(not m.usable and m.reason == gait.WALKING_REASON for m in judged.values())
    assert not any(f.assessed for f in a.findings)
    assert gait.WALKING_WARNING in a.metrics.warnings
