"""Speed, step and stride length, vertical ratio and the image scale (issue 14).

Truth: the synthetic runner (tests/synthetic_gait.py, which imports nothing from formcheck):
its belt or ground speed ``speed_mps``, step length (speed x step time), its image scale
``px_per_m`` (``height_px`` / ``body_height_m``: the camera distance of an orthographic
camera) and its hip's vertical travel in px are known by construction.  The height-based
scale rests on the population leg/height fraction, 0.491 (Winter); the generator builds its
runner with the same proportions (thigh 0.245 + shank 0.246 of height), so the --height
checks measure formcheck's pipeline given that fraction, and the --scale checks (the
generator's true px per metre) measure it without it.

Goals (issue 14): speed and step length within 3 %, vertical oscillation within 0.5 cm.  Met
at 60 fps on every seed tried (within 1.7 %, docs/metrics.md); at 30 fps (the phone default)
the realistic runner's foot jitter (3.5 % leg per frame, measured on the real sample) leaves
about 4 noisy samples of flat foot per stance and the belt speed and step length read within
about 4 %: that is said and guarded at 6 %, not passed off as the goal.

Real clips (../shared/videos; skipped, saying why, when absent): the sample treadmill clip has
no labelled speed or runner's height, so with an assumed 175 cm the belt speed must lie in a
plausible running range (2-6 m/s); the outdoor pace clip is filmed by a camera following the
runner (labels.json "camera follows the runner"), so its honest answer is "not measurable",
which is what is tested (its per-segment pace captions cannot be checked against a speed
formcheck does not give: docs/metrics.md).
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import SAMPLE, SHARED_VIDEOS
from synthetic_gait import GaitConfig, SyntheticClip, generate
from test_metrics_synthetic import to_pose

from formcheck.api import Analysis, Options, analyze_pose
from formcheck.export import fitcsv
from formcheck.report import build_report, schema
from formcheck.results import Status

METRE_IDS = ("speed_mps", "step_length_m", "stride_length_m")
SPEED_IDS = METRE_IDS + ("vertical_ratio_pct",)
HEIGHT_CM = 175.0  # the generator's default body_height_m


@functools.cache
def _clip(**kw: object) -> SyntheticClip:
    return generate(GaitConfig(**kw))


def _run(opts: Options, **kw: object) -> tuple[SyntheticClip, Analysis]:
    clip = _clip(**kw)
    return clip, analyze_pose(to_pose(clip), opts)


def _value(a: Analysis, mid: str) -> float:
    m = a.metrics.summaries[mid]
    assert m.value is not None, f"{mid} not measured: {m.reason}"
    return float(m.value)


def _vo_cm_truth(clip: SyntheticClip) -> float:
    return 100.0 * clip.truth.vertical_oscillation_px / clip.truth.px_per_m


def _check_metres(clip: SyntheticClip, a: Analysis, rel: float) -> None:
    tr = clip.truth
    assert _value(a, "speed_mps") == pytest.approx(tr.speed_mps, rel=rel)
    assert _value(a, "step_length_m") == pytest.approx(tr.step_length_m, rel=rel)
    assert _value(a, "stride_length_m") == pytest.approx(2 * tr.step_length_m, rel=rel)
    assert _value(a, "vertical_oscillation_cm") == pytest.approx(_vo_cm_truth(clip), abs=0.5)
    for mid in METRE_IDS:
        assert a.metrics.summaries[mid].status is Status.MEASURED


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_treadmill_speed_and_lengths_from_the_height(seed):
    clip, a = _run(Options(height_cm=HEIGHT_CM, setting="treadmill"), fps=60, seed=seed)
    _check_metres(clip, a, rel=0.03)
    sc = a.metrics.scale
    assert sc.source == "height" and sc.px_per_m == pytest.approx(clip.truth.px_per_m, rel=0.03)
    # the uncertainty is stated: the fraction's population spread (3 %) and the steps' scatter
    assert 0.03 <= sc.rel_uncertainty < 0.05
    ex = a.metrics.summaries["speed_mps"].extra
    assert ex["scale_source"] == "height" and ex["scale_rel_uncertainty_pct"] >= 3.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_treadmill_speed_and_lengths_from_a_given_scale(seed):
    clip = _clip(fps=60, seed=seed)
    a = analyze_pose(to_pose(clip), Options(scale_px_per_m=clip.truth.px_per_m,
                                            setting="treadmill"))
    _check_metres(clip, a, rel=0.03)
    assert a.metrics.scale.source == "given" and a.metrics.scale.rel_uncertainty == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_treadmill_speed_at_30_fps_is_within_6_percent(seed):
    """The goal (3 %) is not met at 30 fps on every seed (seed 0: speed -3.3 %, step length
    -3.7 %): guarded at 6 %."""
    clip, a = _run(Options(height_cm=HEIGHT_CM, setting="treadmill"), seed=seed)
    assert _value(a, "speed_mps") == pytest.approx(clip.truth.speed_mps, rel=0.06)
    assert _value(a, "step_length_m") == pytest.approx(clip.truth.step_length_m, rel=0.06)
    assert _value(a, "vertical_oscillation_cm") == pytest.approx(_vo_cm_truth(clip), abs=0.5)


OVERGROUND = dict(setting="overground", duration_s=4.0, height_px=300.0,
                  image_size=(1920, 1080))


@pytest.mark.parametrize("fps", [30, 60])
def test_overground_speed_from_the_hips_travel(fps):
    clip, a = _run(Options(height_cm=HEIGHT_CM), fps=fps, **OVERGROUND)
    assert a.view.setting == "overground"
    _check_metres(clip, a, rel=0.03)


def test_vertical_ratio_needs_no_scale():
    """Vertical oscillation / step length x 100, both in px: the same without a height.  Truth:
    the hip's p-p travel over the true step length; formcheck's hip bounce itself reads ~5 %
    low on this runner (test_metrics_synthetic), so within 0.7 points."""
    clip, a = _run(Options(setting="treadmill"), fps=60)
    _, b = _run(Options(setting="treadmill", height_cm=HEIGHT_CM), fps=60)
    tr = clip.truth
    truth = 100 * tr.vertical_oscillation_px / (tr.step_length_m * tr.px_per_m)
    assert _value(a, "vertical_ratio_pct") == pytest.approx(truth, abs=0.7)
    assert _value(a, "vertical_ratio_pct") == pytest.approx(_value(b, "vertical_ratio_pct"))


def test_no_scale_no_metres_and_a_reason():
    clip, a = _run(Options(setting="treadmill"), fps=60)
    for mid in METRE_IDS + ("vertical_oscillation_cm",):
        m = a.metrics.summaries[mid]
        assert m.status is Status.NOT_MEASURABLE and m.value is None
        assert "--height" in m.reason and "--scale" in m.reason, m.reason
    assert all(np.isnan(a.metrics.steps.values[mid]).all() for mid in METRE_IDS)
    rep = build_report(a, timestamp=False)
    assert rep["scale"]["px_per_m"] is None and "--height" in rep["scale"]["reason"]
    assert all(s[mid] is None for s in rep["steps"] for mid in METRE_IDS)


def test_guessed_treadmill_or_a_panning_camera_give_no_speed():
    """A camera following the runner looks like a treadmill in the landmarks: the synthetic
    treadmill clip is exactly what a perfectly following camera films.  Without --setting
    treadmill (guessed) and with --setting pan: no speed, no lengths, no ratio, and why."""
    for opts, words in ((Options(height_cm=HEIGHT_CM), "--setting treadmill"),
                        (Options(height_cm=HEIGHT_CM, setting="pan"), "follows the runner")):
        clip, a = _run(opts, fps=60)
        assert a.view.setting == (opts.setting or "treadmill")
        for mid in SPEED_IDS:
            m = a.metrics.summaries[mid]
            assert m.status is Status.NOT_MEASURABLE and m.value is None
            assert words in m.reason, m.reason
            assert np.isnan(a.metrics.steps.values[mid]).all()
        # the scale itself is known, and what does not need a static camera is given
        assert a.metrics.scale.known
        assert _value(a, "vertical_oscillation_cm") == pytest.approx(_vo_cm_truth(clip), abs=0.5)


def test_overground_with_a_panning_camera_gives_no_speed():
    """The overground runner filmed by a camera turning at half the runner's speed: the hips
    still cross the frame (setting guessed overground) but the stance foot moves back in the
    image, so the hips' travel is not the runner's speed."""
    clip = _clip(**OVERGROUND)
    pose = to_pose(clip)
    pan_px = 0.5 * clip.truth.speed_mps * clip.truth.px_per_m * (pose.t_s - pose.t_s[0])
    sign = 1 if clip.truth.direction == "right" else -1
    xy = pose.xy_px.copy()
    xy[..., 0] -= sign * pan_px[:, None]
    a = analyze_pose(replace(pose, xy_px=xy), Options(height_cm=HEIGHT_CM))
    assert a.view.setting == "overground"
    for mid in SPEED_IDS:
        m = a.metrics.summaries[mid]
        assert m.value is None and "the stance foot is not still" in m.reason, m.reason


def test_slowed_down_clip_withholds_speed_like_cadence():
    clip = _clip(fps=60)
    pose = to_pose(clip)
    slowed = replace(pose, t_s=pose.t_s * 4.0)  # played back 4x slower, no metadata
    a = analyze_pose(slowed, Options(height_cm=HEIGHT_CM, setting="treadmill"))
    cad = a.metrics.summaries["cadence_spm"]
    assert cad.value is None and cad.reason.startswith("not assessed")
    for mid in SPEED_IDS:
        m = a.metrics.summaries[mid]
        assert m.value is None and m.reason == cad.reason, (mid, m.reason)
    b = analyze_pose(slowed, Options(height_cm=HEIGHT_CM, setting="treadmill", slowmo=4.0))
    assert _value(b, "speed_mps") == pytest.approx(clip.truth.speed_mps, rel=0.03)


def test_report_schema_and_fit_csv_carry_the_new_fields():
    import jsonschema

    clip, a = _run(Options(height_cm=HEIGHT_CM, setting="treadmill"), fps=60)
    rep = json.loads(json.dumps(build_report(a, timestamp=False)))
    jsonschema.validate(rep, schema())
    assert rep["scale"]["source"] == "height" and rep["scale"]["rel_uncertainty_pct"] >= 3.0
    rows = fitcsv.rows(SimpleNamespace(report=rep, m_per_px=a.metrics.scale.m_per_px))
    assert {"speed", "enhanced_speed", "step_length", "vertical_ratio"} <= set(fitcsv.COLUMNS)
    speed = np.array([r["speed"] for r in rows if r["speed"] is not None])
    step_mm = np.array([r["step_length"] for r in rows if r["step_length"] is not None])
    assert speed.size >= 20 and step_mm.size >= 20
    assert float(np.median(speed)) == pytest.approx(clip.truth.speed_mps, rel=0.03)
    assert float(np.median(step_mm)) == pytest.approx(1000 * clip.truth.step_length_m, rel=0.03)
    # guessed treadmill: the CSV's speed cells are empty like the report's numbers
    _, g = _run(Options(height_cm=HEIGHT_CM), fps=60)
    rep_g = json.loads(json.dumps(build_report(g, timestamp=False)))
    rows_g = fitcsv.rows(SimpleNamespace(report=rep_g, m_per_px=g.metrics.scale.m_per_px))
    assert all(r["speed"] is None and r["vertical_ratio"] is None for r in rows_g)


# ------------------------------------------------------------------------------ real clips


def _real(pose_of, name: str):
    path = SAMPLE if name == SAMPLE.name and SAMPLE.is_file() else SHARED_VIDEOS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared clips live beside the repository)")
    return pose_of(path)


def test_sample_treadmill_belt_speed_is_a_running_speed(pose_of):
    """No labelled speed or height: with an assumed 175 cm runner the belt speed must be a
    running speed (2-6 m/s) and step length speed x step time; without --setting no speed."""
    pose = _real(pose_of, "treadmill_side_30fps.mp4")
    a = analyze_pose(pose, Options(height_cm=HEIGHT_CM, setting="treadmill"))
    v = _value(a, "speed_mps")
    assert 2.0 <= v <= 6.0
    step_s = _value(a, "step_time_ms") / 1000
    assert _value(a, "step_length_m") == pytest.approx(v * step_s, rel=0.05)
    assert 3.0 <= _value(a, "vertical_ratio_pct") <= 15.0
    b = analyze_pose(pose, Options(height_cm=HEIGHT_CM))
    assert b.metrics.summaries["speed_mps"].value is None
    assert "--setting treadmill" in b.metrics.summaries["speed_mps"].reason


def test_outdoor_pace_clip_camera_follows_so_speed_is_not_measurable(pose_of):
    """labels.json: "side, camera follows the runner"; the five pace captions cannot be
    checked against a speed the image does not give."""
    pose = _real(pose_of, "outdoor_side_pace_segments.mp4")
    for opts in (Options(height_cm=HEIGHT_CM), Options(height_cm=HEIGHT_CM, setting="pan")):
        a = analyze_pose(pose, opts)
        for mid in SPEED_IDS:
            m = a.metrics.summaries[mid]
            assert m.value is None and m.status is Status.NOT_MEASURABLE, (mid, m.value)
            assert "follow" in m.reason, m.reason
            assert np.isnan(a.metrics.steps.values[mid]).all()


# ------------------------------------------------------------------------------ options


def test_scale_and_pan_reach_the_options_from_cli_and_manifest(tmp_path):
    from formcheck.api import Options as Opts
    from formcheck.batch.plan import read_manifest
    from formcheck.cli_common import CHOICES, analysis_fields

    assert "pan" in CHOICES["setting"]
    fields = analysis_fields({"scale": 412.5, "height": 170.0, "setting": "pan"})
    assert Opts(**fields).scale_px_per_m == 412.5 and fields["setting"] == "pan"
    m = tmp_path / "m.csv"
    m.write_text("path,setting,scale_px_per_m\na.mp4,pan,350\nb.mp4,,0.5\n", encoding="utf-8")
    entries, _ = read_manifest(m)
    assert entries[0].overrides == {"setting": "pan", "scale_px_per_m": 350.0}
    assert entries[0].error is None
    assert "scale_px_per_m '0.5' must be between 1 and 100000" in entries[1].error


def test_cli_help_lists_scale():
    from click.testing import CliRunner

    from formcheck.cli import main

    out = CliRunner().invoke(main, ["analyze", "--help"]).output
    assert "--scale PX_PER_M" in out and "pan" in out


def test_front_view_gives_no_speed():
    _, a = _run(Options(height_cm=HEIGHT_CM, setting="treadmill"), view="front", fps=60)
    for mid in SPEED_IDS:
        m = a.metrics.summaries[mid]
        assert m.value is None and "needs a side view (this is a front view)" in m.reason
        assert np.isnan(a.metrics.steps.values[mid]).all()
