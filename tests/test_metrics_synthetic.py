"""Metrics and gait events against a synthetic runner whose answers are known by construction.

The generator (tests/synthetic_gait.py) does not import formcheck; its default runner is
realistic (v2: feet and MediaPipe landmarks fitted to real clips, heights AND horizontal
velocities around IC/TO plus real-sized foot jitter; see its docstring and
docs/validation_synthetic.md).  Every comparison is with the generator's TRUTH, as a SIGNED
bias, never with formcheck's own value.

Goals (issue #11, the same as on real labelled video): contact-time bias within +/-15 ms;
IC MAE <= 0.7 frame and TO MAE <= 1 frame at 30 fps; knee flexion at IC and at midstance,
shank angle and foot-strike angle at IC within +/-3 deg and overstride within +/-3 % leg of
the truth at the TRUE events, under every perturbation of the matrix; cadence within +/-1
step/min.  Which goals the tool meets is printed by ``bench_figures()`` (PASS/FAIL per
perturbation; ``python tests/test_metrics_synthetic.py`` or bench/events_accuracy.py).

Tests assert a goal where the tool meets it (event timing against the true instants, contact
time, cadence, steps and sides, the metric code at the true instants, step-time asymmetry,
...).  Where a goal is not met it is said in the test (overground contact time, camera
roll on a treadmill, the asymmetric runner's knee at IC) and guarded at a stated level;
the angles at the detected events must stay close to the same code at the true events
(test_event_timing_adds_little_to_angles).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pytest
from synthetic_gait import (
    EventScore,
    GaitConfig,
    GaitTruth,
    SyntheticClip,
    generate,
    score_events,
    strike_class,
)

from formcheck import level, signals, view
from formcheck.api import Analysis, Options, analyze_pose
from formcheck.events import Events
from formcheck.landmarks import L_ANKLE, L_HIP, L_KNEE
from formcheck.metrics import foot_strike, overstride, stance
from formcheck.pose import PoseSeries
from formcheck.results import Status

NOISY = dict(noise_px=2.0, dropout_frac=0.05, swap_frac=0.05, vfr_jitter=0.2, seed=3)


def to_pose(clip: SyntheticClip) -> PoseSeries:
    """The clip as the PoseSeries the pose model would have produced."""
    T = clip.t_s.size
    return PoseSeries(
        t_s=clip.t_s, frame_index=np.arange(T), xy_px=clip.xy_px, z=clip.z,
        visibility=clip.visibility, presence=clip.presence, world_m=clip.world_m,
        n_people=np.ones(T, np.int16), width_px=clip.width_px, height_px=clip.height_px,
        nominal_fps=float(clip.config.fps), source="",
    )


def run(options: Options | None = None, **kw: object) -> tuple[SyntheticClip, Analysis]:
    clip = generate(GaitConfig(**kw))
    return clip, analyze_pose(to_pose(clip), options or Options())


def value(a: Analysis, mid: str) -> float:
    m = a.metrics.summaries[mid]
    assert m.value is not None, f"{mid} not measured: {m.reason}"
    return float(m.value)


@pytest.mark.parametrize("kw", [{}, {"fps": 120}, {"direction": "right", "fps": 60}, NOISY,
                                {"cadence_spm": 182, "speed_mps": 3.6}])
def test_cadence_and_view(kw):
    clip, a = run(**kw)
    assert a.view.view == "side"
    assert a.view.direction == clip.truth.direction
    assert a.view.gait == "running"
    assert value(a, "cadence_spm") == pytest.approx(clip.truth.cadence_spm, abs=1.0)
    assert a.metrics.summaries["cadence_spm"].status is Status.MEASURED


@pytest.mark.parametrize("lean", [-4.0, 0.0, 6.0, 15.0])
def test_trunk_lean_sign_and_size(lean):
    clip, a = run(trunk_lean_deg=lean, direction="right" if lean < 0 else "left")
    assert value(a, "trunk_lean_deg") == pytest.approx(lean, abs=1.0)


def test_trunk_lean_noisy():
    clip, a = run(trunk_lean_deg=8.0, **NOISY)
    assert value(a, "trunk_lean_deg") == pytest.approx(8.0, abs=1.5)


@pytest.mark.parametrize("vo", [5.0, 10.0])
def test_vertical_oscillation(vo):
    clip, a = run(vertical_oscillation_pct_leg=vo)
    assert value(a, "vertical_oscillation_pct_leg") == pytest.approx(vo, abs=1.0)


def test_vertical_oscillation_cm_with_height():
    clip, a = run(Options(height_cm=175.0), vertical_oscillation_pct_leg=8.0)
    # leg length = 0.491 x height (Winter), so 8 % of it ~ 6.9 cm
    assert value(a, "vertical_oscillation_cm") == pytest.approx(0.08 * 0.491 * 175, abs=1.0)


def test_front_view_arm_crossing_and_not_measurable_sagittal():
    clip, a = run(view="front", arm_cross_pct_shoulder=20.0)
    assert a.view.view == "front"
    assert value(a, "arm_cross_share_pct") == pytest.approx(clip.truth.arm_cross_share_pct,
                                                            abs=5.0)
    assert value(a, "arm_cross_depth_pct_shoulder") == pytest.approx(
        clip.truth.arm_cross_depth_pct_shoulder, abs=5.0)
    assert value(a, "cadence_spm") == pytest.approx(clip.truth.cadence_spm, abs=1.0)
    for mid in ("overstride_pct_leg", "foot_strike_angle_deg", "trunk_lean_deg"):
        m = a.metrics.summaries[mid]
        assert m.status is Status.NOT_MEASURABLE and m.value is None
        assert "side view" in m.reason


def test_front_view_without_crossing():
    clip, a = run(view="front", arm_cross_pct_shoulder=0.0)
    assert value(a, "arm_cross_share_pct") <= 5.0


def test_side_view_arm_crossing_not_measurable():
    clip, a = run()
    m = a.metrics.summaries["arm_cross_share_pct"]
    assert m.status is Status.NOT_MEASURABLE and "front or back" in m.reason


def test_walking_is_called_walking_and_not_judged():
    clip, a = run(walking=True)
    assert a.view.gait == "walking"
    assert value(a, "cadence_spm") == pytest.approx(clip.truth.cadence_spm, abs=1.0)
    assert any("walking" in w for w in a.warnings)
    assert all(not f.assessed for f in a.findings)


def test_slow_motion_is_flagged_and_slowmo_option_fixes_it():
    # 12 s, as the other cadence checks: from 6 s of 120 fps video the anchor-based cadence
    # scatters by 0.7-0.9 spm (SD over seeds), so +/-1 spm there was a draw of the seed
    clip = generate(GaitConfig(fps=120, duration_s=12))
    slowed = to_pose(clip)

    slowed = replace(slowed, t_s=slowed.t_s * 4.0)  # played back 4x slower, no metadata
    a = analyze_pose(slowed)
    cad = a.metrics.summaries["cadence_spm"]
    # the raw number is kept for the record, but is not a measurement: it is not assessed
    assert cad.extra["raw_value"] == pytest.approx(170.0 / 4, abs=1.0)
    assert cad.value is None and "slowed down about 4.0x" in cad.reason
    assert "--slowmo 4" in cad.reason
    assert any("slowed down" in w and "--slowmo 4" in w for w in a.warnings)
    for mid in ("step_time_ms", "stride_time_ms", "contact_time_ms", "duty_factor_pct"):
        assert not a.metrics.summaries[mid].usable, mid
    slow = [f for f in a.findings if f.id == "slow_cadence"][0]
    assert not slow.assessed and "slowed down" in slow.reason
    # the annotated video's panel shows no cadence number for it, but says why
    from formcheck.annotate import Painter

    hud = Painter(a, 640, 360)
    assert hud.clip_cadence is None and "slowed down about 4.0x" in hud.cadence_doubt
    assert all(f.id != "slow_cadence" for f in hud.findings)
    b = analyze_pose(slowed, Options(slowmo=4.0))
    assert value(b, "cadence_spm") == pytest.approx(170.0, abs=1.0)
    assert not any("slowed down" in w for w in b.warnings)


def test_too_short_clip_reports_not_measurable():
    clip, a = run(duration_s=1.2)
    for mid in ("cadence_spm", "overstride_pct_leg", "foot_strike_angle_deg"):
        m = a.metrics.summaries[mid]
        assert m.status is Status.NOT_MEASURABLE and m.value is None
        assert "too few steps" in m.reason


def test_left_right_asymmetry_detected():
    """A 25 % contact-time difference is measured and judged; on a symmetric runner the
    per-side medians differ only by step-to-step scatter (realistic foot jitter: a few %,
    seed-dependent), which the metric must recognise as such: below 5 %, or marked as within
    the scatter and not judged."""
    clip, a = run(contact_scale=(1.25, 1.0), fps=120)
    m = a.metrics.summaries["contact_time_asymmetry_pct"]
    assert m.value is not None and m.value > 10.0 and m.status is Status.MEASURED, m
    assert any(f.id == "asymmetry" and f.is_fault for f in a.findings)
    for seed in range(3):
        _, b = run(fps=120, seed=seed)
        m = b.metrics.summaries["contact_time_asymmetry_pct"]
        assert m.value < 5.0 or (m.status is Status.LOW_CONFIDENCE
                                 and "step-to-step scatter" in m.reason), (seed, m)


def test_identity_swaps_are_repaired():
    clip, a = run(swap_frac=0.15, seed=5)
    assert a.clean.n_swaps_repaired > 0
    assert a.events.label_agreement >= 0.9
    assert value(a, "cadence_spm") == pytest.approx(170.0, abs=1.0)


def test_a_folded_knee_in_one_stance_is_discarded_not_averaged():
    """A pose error that no running stride can produce (the knee folded to ~125 deg through
    one mid-stance, as MediaPipe does when it loses a leg) is dropped from that step and
    counted in a warning; the other steps keep the true value."""
    cfg = GaitConfig(fps=60, foot_jitter_pct_leg=(0.0, 0.0))  # the discard, not the jitter
    clip = generate(cfg)
    xy = clip.xy_px.copy()
    t_ic, t_to = clip.truth.ic_t_s["L"][3], clip.truth.to_t_s["L"][3]
    t_mid = (t_ic + t_to) / 2
    m = np.abs(clip.t_s - t_mid) <= 0.25 * (t_to - t_ic)
    hip, ank = xy[m, L_HIP], xy[m, L_ANKLE]
    half = (ank - hip) / 2
    perp = np.stack([-half[:, 1], half[:, 0]], axis=1)  # same length, at right angles
    xy[m, L_KNEE] = hip + half + 2.0 * perp  # interior angle 2 atan(1/2): flexion ~127 deg
    base = analyze_pose(to_pose(clip))

    a = analyze_pose(replace(to_pose(clip), xy_px=xy))
    ev, vals = a.events, a.metrics.steps.values["knee_flexion_midstance_deg"]
    k = int(np.argmin(np.abs(ev.ic_t_s - t_ic)))
    assert abs(ev.ic_t_s[k] - t_ic) < 0.05 and ev.chain[k] == "L"
    assert np.isnan(vals[k])
    assert np.isfinite(base.metrics.steps.values["knee_flexion_midstance_deg"][k])
    assert any("knee_flexion_midstance_deg: 1" in w for w in a.metrics.warnings), \
        a.metrics.warnings
    before = base.metrics.steps.values["knee_flexion_midstance_deg"]
    others = np.arange(ev.n) != k
    assert ev.n == base.events.n
    np.testing.assert_allclose(vals[others], before[others], atol=0.5)
    assert value(a, "knee_flexion_midstance_deg") == pytest.approx(
        value(base, "knee_flexion_midstance_deg"), abs=0.5)


# --------------------------------------------------------------------------- truth at true events

#: Goals of issue #11 (the same as on real labelled video).  Frames are at 30 fps.
CONTACT_BIAS_GOAL_MS = 15.0  # |mean(detected - true contact time)|
IC_MAE_GOAL_FRAMES = 0.7  # mean |detected - true IC|
TO_MAE_GOAL_FRAMES = 1.0  # mean |detected - true TO|
ANGLE_GOAL_DEG = 3.0  # |summary - truth at the true instants|, signed bias
CADENCE_TOL_SPM = 1.0
#: Overstride tolerance of this suite (% leg; the heel moves back at belt speed after IC, so
#: IC timing feeds in: 3 m/s x 20 ms ~ 7 % of a 0.86 m leg).
OVERSTRIDE_TOL_PCT_LEG = 3.0

#: The perturbation matrix: each entry is applied to the realistic default runner at 30 fps
#: (30 s clips, ~80 steps, unless the entry says otherwise).
PERTURBATIONS: dict[str, dict[str, object]] = {
    "baseline": {},
    "roll+3deg": {"camera_roll_deg": 3.0},
    "roll-3deg": {"camera_roll_deg": -3.0},
    # jitter persisting ~2 frames, half of it shared by a foot's three points (~0.85 % leg)
    "correlated_noise": {"noise_px": 2.5, "noise_corr_s": 0.05, "noise_foot_share": 0.5,
                         "seed": 7},
    # heel point as high above the sole as on the worst real clip (7.7 % leg)
    "heel_above_sole": {"heel_marker_up_pct_leg": 7.7},
    # foot jitter as measured on the outdoor clip (x 1.3-1.7, y 1.0-1.5 % leg), not the
    # treadmill's (REAL_CLIP_EVIDENCE)
    "overground": {"setting": "overground", "height_px": 300.0, "image_size": (3840, 1080),
                   "duration_s": 7.0, "foot_jitter_pct_leg": (1.5, 1.2)},
    # the overground runner filmed by a phone turned by +/-3 deg (static camera: the level
    # stage measures the roll from the contacts across the frame and corrects for it)
    "overground_roll+3deg": {"setting": "overground", "height_px": 300.0,
                             "image_size": (3840, 1080), "duration_s": 7.0,
                             "foot_jitter_pct_leg": (1.5, 1.2), "camera_roll_deg": 3.0},
    "overground_roll-3deg": {"setting": "overground", "height_px": 300.0,
                             "image_size": (3840, 1080), "duration_s": 7.0,
                             "foot_jitter_pct_leg": (1.5, 1.2), "camera_roll_deg": -3.0},
    # right IC at 46 % of the stride after left IC: right steps 8 % of a stride shorter
    "step_asymmetry": {"right_ic_phase": 0.46},
    "facing_right": {"direction": "right"},
}


@dataclass(frozen=True)
class Case:
    """One perturbation: the clip, formcheck's analysis of it and the scored events."""

    clip: SyntheticClip
    analysis: Analysis
    score: EventScore


@functools.cache
def case(name: str) -> Case:
    """Generate and analyse one perturbation once per session (~1 s)."""
    cfg = {"fps": 30.0, "duration_s": 30.0, **PERTURBATIONS[name]}  # 30 s: ~80 steps
    clip = generate(GaitConfig(**cfg))  # type: ignore[arg-type]
    if clip.config.setting == "overground":
        assert clip.in_frame.all()
    # the setting as the user gives it (--setting): the camera stands still beside the
    # treadmill or the path (on a treadmill the camera roll is then refused as unidentifiable,
    # overground it is measured from the contacts across the frame)
    a = analyze_pose(to_pose(clip), Options(setting=clip.config.setting))
    ev = a.events
    sc = score_events(ev.ic_t_s, ev.to_t_s, clip.truth, clip.config.fps, side=ev.foot)
    return Case(clip, a, sc)


def _describe(sc: EventScore) -> str:
    return (f"IC bias {sc.ic.bias_ms:+.1f} ms MAE {sc.ic.mae_frames:.2f} fr; "
            f"TO bias {sc.to.bias_ms:+.1f} ms MAE {sc.to.mae_frames:.2f} fr; "
            f"contact bias {sc.contact.bias_ms:+.1f} ms; n {sc.ic.n}/{sc.n_true}, "
            f"missed {sc.n_missed}, extra {sc.n_extra}")


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_contact_time_bias_against_truth(name: str) -> None:
    """Goal: per-step contact time (detected TO - detected IC) minus the true contact time,
    mean over every true step of the clip: signed, within +/-15 ms in every perturbation
    (measured -6.1..+3.8 ms; overground read +17 ms until toe-off was taken at the foot's
    roll-off pivot, docs/validation.md item 7)."""
    sc = case(name).score
    assert sc.contact.n >= 0.9 * sc.n_true, _describe(sc)
    assert abs(sc.contact.bias_ms) <= CONTACT_BIAS_GOAL_MS, _describe(sc)


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_event_timing_against_truth(name: str) -> None:
    """Goals: IC mean absolute error <= 0.7 frame and TO <= 1 frame at 30 fps against the
    TRUE instants, and neither biased by more than half a frame (signed)."""
    sc = case(name).score
    msg = _describe(sc)
    assert sc.ic.n >= 0.9 * sc.n_true and sc.to.n >= 0.9 * sc.n_true, msg
    assert sc.ic.mae_frames <= IC_MAE_GOAL_FRAMES, msg
    assert sc.to.mae_frames <= TO_MAE_GOAL_FRAMES, msg
    half_frame_ms = 500.0 / sc.ic.fps
    assert abs(sc.ic.bias_ms) <= half_frame_ms and abs(sc.to.bias_ms) <= half_frame_ms, msg


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_every_true_step_found_once_with_its_side(name: str) -> None:
    """No true contact missed, none invented, every matched step on the right foot."""
    sc = case(name).score
    assert sc.n_missed == 0 and sc.n_extra == 0, _describe(sc)
    assert sc.side_agreement_pct == 100.0, sc.side_agreement_pct


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_cadence_against_truth(name: str) -> None:
    c = case(name)
    got = value(c.analysis, "cadence_spm")
    assert got == pytest.approx(c.clip.truth.cadence_spm, abs=CADENCE_TOL_SPM)


ANGLES = ("knee_flexion_ic_deg", "knee_flexion_midstance_deg", "shank_angle_ic_deg")


def side_bias(values: np.ndarray, foot: np.ndarray, truth: GaitTruth, metric: str
              ) -> dict[str, float]:
    """Per side: median of the per-step values of that foot minus that side's truth.

    Per side, because a runner whose legs differ (step asymmetry) has two truths and a
    pooled median of two clusters is whichever cluster has one more step."""
    out = {}
    for s in ("L", "R"):
        v = values[(foot == s) & np.isfinite(values)]
        out[s] = float(np.median(v)) - float(getattr(truth.side[s], metric)) if v.size else np.nan
    return out


def _at_true_events(clip: SyntheticClip) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """formcheck's per-step angle code evaluated at the clip's TRUE events: metric ->
    (values, true side per step)."""
    tr = clip.truth
    cl = signals.clean(clip.t_s, clip.xy_px, clip.visibility, repair_identity=True)
    foot = np.array([s for s in ("L", "R") for _ in tr.ic_t_s[s]])
    ics = np.concatenate([tr.ic_t_s[s] for s in ("L", "R")])
    tos = ics + np.array([tr.side[s].contact_time_ms / 1000.0 for s in foot])
    keep = (ics > 0.5) & (tos < clip.t_s[-1] - 0.3)
    ics, tos, foot = ics[keep], tos[keep], foot[keep]
    # the level stage at the true events (the camera's roll from the ground line, as
    # formcheck does after its own events), with the setting given as in case()
    vi = view.classify(cl, setting=clip.config.setting)
    o = np.argsort(ics)
    true_ev = replace(Events.empty(), ic_t_s=ics[o], to_t_s=tos[o], chain=foot[o],
                      foot=foot[o])
    lv = level.level(cl, vi, true_ev)
    cl = level.apply(cl, lv, (clip.width_px / 2.0, clip.height_px / 2.0))
    at_ic = overstride.at_contact(cl.t_s, cl.xy_px, ics, foot, vi.sign, vi.leg_length_px)
    ms = stance.knee_flexion_stance(cl.t_s, cl.xy_px, ics, tos, foot)
    strike = foot_strike.strike_angles(cl.t_s, cl.xy_px, ics, tos, foot, vi.sign)
    vals = {**at_ic, "knee_flexion_midstance_deg": ms, "foot_strike_angle_deg": strike}
    return {m: (np.asarray(v, float), foot) for m, v in vals.items()}


@pytest.mark.parametrize("direction", ["left", "right"])
@pytest.mark.parametrize("overstride", [2.0, 26.0])
def test_shank_angle_sign_convention(direction: str, overstride: float) -> None:
    """Shank angle is positive with the ankle ahead of the knee (reaching), negative with
    it behind, whichever way the runner faces: the truth changes sign between these two
    runners and formcheck's shank-angle code at the true IC must follow it (and be within
    the angle goal).  The reported value at formcheck's detected IC does not meet this goal
    (IC reads late; a bench figure, see docs/validation_synthetic.md)."""
    clip = generate(GaitConfig(fps=30, direction=direction, overstride_pct_leg=overstride,
                               foot_jitter_pct_leg=(0.0, 0.0)))  # systematic part, as oracle
    truth = clip.truth.shank_angle_ic_deg
    assert (truth > 2.0) if overstride > 20 else (truth < -2.0), truth  # generator sanity
    v, _ = _at_true_events(clip)["shank_angle_ic_deg"]
    got = float(np.nanmedian(v))
    assert np.sign(got) == np.sign(truth), (got, truth)
    assert abs(got - truth) <= ANGLE_GOAL_DEG, (got, truth)


@pytest.mark.parametrize("angle,cls", [(14.0, "rearfoot"), (3.0, "midfoot"), (-8.0, "forefoot")])
def test_foot_strike_at_30fps_at_true_events(angle: float, cls: str) -> None:
    """Foot-strike angle (sole vs ground at the true IC, + = toe up) and class at 30 fps with
    the realistic landmarks: formcheck's strike code at the true events is within the suite's
    +/-3 deg (human raters: ~2.5 deg) and gives the true class.  The reported value at the
    detected IC does not meet this for every strike (a bench figure, see docs)."""
    clip = generate(GaitConfig(foot_strike_angle_deg=angle, fps=30,
                               foot_jitter_pct_leg=(0.0, 0.0)))  # systematic part, as oracle
    assert clip.truth.strike_class == cls
    v, _ = _at_true_events(clip)["foot_strike_angle_deg"]
    got = float(np.nanmedian(v))
    assert got == pytest.approx(clip.truth.foot_strike_angle_deg, abs=ANGLE_GOAL_DEG), got
    assert strike_class(got) == cls, got


def strike_figures() -> dict[float, tuple[float, str, float, str]]:
    """Bench figure: per strike angle, the REPORTED foot-strike angle and class at the
    detected events vs the truth (goal +/-3 deg and the true class)."""
    out = {}
    for angle in (14.0, 3.0, -8.0):
        clip, a = run(foot_strike_angle_deg=angle, fps=30)
        got = value(a, "foot_strike_angle_deg")
        out[angle] = (got, str(a.metrics.summaries["foot_strike_angle_deg"].extra["pattern"]),
                      float(clip.truth.foot_strike_angle_deg), str(clip.truth.strike_class))
    return out


def test_step_time_asymmetry_follows_the_right_foot_phase() -> None:
    """With the right IC at 46 % of the stride after the left, right steps (left IC -> right
    IC) are 8 % of a stride shorter than left steps.  Per-side median step times must match
    the truth within the IC goal (0.7 frame) and the short steps must be the right foot's."""
    c = case("step_asymmetry")
    tr, a = c.clip.truth, c.analysis
    st = a.metrics.steps.values["step_time_ms"]
    foot = a.events.foot
    tol_ms = IC_MAE_GOAL_FRAMES * 1000.0 / c.clip.config.fps
    med = {}
    for s in ("L", "R"):
        v = st[(foot == s) & np.isfinite(st)]
        assert v.size >= 7, s
        med[s] = float(np.median(v))
        assert med[s] == pytest.approx(1000.0 * tr.side[s].step_time_s, abs=tol_ms), (s, med)
    assert med["R"] < med["L"]
    true_asym = 100 * abs(tr.side["L"].step_time_s - tr.side["R"].step_time_s) / tr.step_time_s
    got = value(a, "step_time_asymmetry_pct")
    assert got == pytest.approx(true_asym, abs=100 * 2 * tol_ms / 1000 / tr.step_time_s)


def test_contact_time_is_low_confidence_below_60fps() -> None:
    for fps, expected in ((30, Status.LOW_CONFIDENCE), (120, Status.MEASURED)):
        _, a = run(fps=fps, duration_s=6)
        assert a.metrics.summaries["contact_time_ms"].status is expected


# --------------------------------------------------------------------------- oracle events

ORACLE_METRICS = ANGLES + ("overstride_pct_leg", "foot_strike_angle_deg")


@functools.cache
def oracle_bias(name: str) -> dict[str, float]:
    """Signed bias of formcheck's per-step angle code evaluated at the TRUE event instants
    (per side, median over steps minus truth; the worse side is returned): what the
    landmarks' systematic behaviour (markers, settle, lag, toe slide, roll) and the metric
    code allow, whatever the event detector does.  deg, or % leg for overstride.  Run on the
    perturbation's runner with the foot jitter switched off: zero-mean jitter only adds
    scatter (it moves these medians by up to ~1 deg on a 12 s clip, ~0.3 on 30 s; see
    docs/validation_synthetic.md).  These are the "@true" rows of bench_figures."""
    cfg = replace(case(name).clip.config, foot_jitter_pct_leg=(0.0, 0.0))
    clip = generate(cfg)  # the same runner without the zero-mean foot jitter
    tr = clip.truth
    vals = _at_true_events(clip)
    out = {}
    for m in ORACLE_METRICS:
        v, foot = vals[m]
        b = side_bias(v, foot, tr, m)
        out[m] = b["L"] if abs(b["L"]) >= abs(b["R"]) else b["R"]  # the worse side
    return out


#: Shank angle and overstride are read against the IMAGE vertical on the treadmill roll
#: runners: on a treadmill the roll is not identifiable from the feet; auto refuses it, so no
#: event detector can meet their goal there
#: (test_treadmill_roll_is_refused_and_moves_image_vertical_metrics_by_the_roll).
_ROLL_BOUND = {"shank_angle_ic_deg", "overstride_pct_leg"}
_TREADMILL_ROLL = ("roll+3deg", "roll-3deg")


#: Knee flexion at the true IC on the asymmetric runner is +3.3 deg (goal unmet, also before
#: the v2 feet: +3.2): see test_knee_at_true_ic_excess_is_the_landing_landmarks.
_UNMET_AT_TRUE = {("step_asymmetry", "knee_flexion_ic_deg")}


@pytest.mark.parametrize("name,metric", [
    (n, m) for n in PERTURBATIONS for m in ORACLE_METRICS
    if not (n in _TREADMILL_ROLL and m in _ROLL_BOUND) and (n, m) not in _UNMET_AT_TRUE])
def test_angles_at_true_events_oracle(name: str, metric: str) -> None:
    """With perfect events, the angles must meet the goal (+/-3 deg, also for the foot-strike
    angle as above; overstride +/-3 % leg):
    separates what is the event detector's error from the landmarks' and the metric's.
    Under camera roll overground the level stage (formcheck.level) turns the landmarks level
    first; the treadmill roll runners are the exception for the two image-vertical metrics
    (goal unmet there, see docs; its size is tested below)."""
    bias = oracle_bias(name)[metric]
    tol = OVERSTRIDE_TOL_PCT_LEG if metric == "overstride_pct_leg" else ANGLE_GOAL_DEG
    assert abs(bias) <= tol, f"{metric} at the true instants: {bias:+.2f}"


#: Most the detected events may add to an angle's bias over the same metric code at the true
#: instants (deg; % leg for overstride).  Before the contact rules followed the foot's speed
#: relative to the ground, detected-IC timing alone added +9 deg to knee flexion at IC,
#: -8 deg at midstance, -9 deg to the shank angle and -10 % leg to overstride.
TIMING_ANGLE_TOL = 2.5


@pytest.mark.parametrize("name,metric", [(n, m) for n in PERTURBATIONS for m in ORACLE_METRICS])
def test_event_timing_adds_little_to_angles(name: str, metric: str) -> None:
    """Per-step angles read at the DETECTED events (formcheck's summary, per side) minus the
    same code at the TRUE events (oracle_bias): the event detector's share of the error."""
    c = case(name)
    st = c.analysis.metrics.steps
    b = side_bias(st.values[metric], st.foot, c.clip.truth, metric)
    detected = b["L"] if abs(b["L"]) >= abs(b["R"]) else b["R"]
    assert abs(detected - oracle_bias(name)[metric]) <= TIMING_ANGLE_TOL, (
        f"{metric}: detected {detected:+.2f}, at the true events {oracle_bias(name)[metric]:+.2f}")


def test_knee_at_true_ic_excess_is_the_landing_landmarks() -> None:
    """Goal (knee flexion at IC within +/-3 deg at the true instants) not met on the
    asymmetric runner (+3.3 deg; docs/validation_synthetic.md).  The excess is the landmarks'
    landing behaviour, not the metric code: the same runner with the landing settle and the
    landmark lag switched off is well within the goal (|bias| <= 1.5 deg).  With them, a
    guard at today's level (+3.3 deg; v1 +3.2): below 4 deg."""
    base = {"fps": 30.0, "duration_s": 30.0, **PERTURBATIONS["step_asymmetry"],
            "foot_jitter_pct_leg": (0.0, 0.0)}
    tr = {}
    for k, extra in (("real", {}), ("plain", {"landing_settle_pct_leg": 0.0,
                                                "landmark_lag_s": 0.0})):
        clip = generate(GaitConfig(**{**base, **extra}))  # type: ignore[arg-type]
        v, foot = _at_true_events(clip)["knee_flexion_ic_deg"]
        b = side_bias(v, foot, clip.truth, "knee_flexion_ic_deg")
        tr[k] = max(b.values(), key=abs)
    assert abs(tr["plain"]) <= 1.5, tr
    assert abs(tr["real"]) <= ANGLE_GOAL_DEG + 1.0, tr


@pytest.mark.parametrize("name", _TREADMILL_ROLL)
def test_treadmill_roll_is_refused_and_moves_image_vertical_metrics_by_the_roll(name: str
                                                                               ) -> None:
    """Goal (shank angle +/-3 deg, overstride +/-3 % leg under +/-3 deg camera roll) not met
    on a treadmill, see docs/validation_synthetic.md: the belt carries the stance foot back at
    a steady speed, so its travel in the image cannot be told from its own rise and fall, and
    the level stage refuses the roll (not measured, no correction, the reason says to give
    --camera-roll).  Both metrics are then read against the image vertical, so a roll r moves
    them, even at the true instants, by what geometry says: the shank angle by about r (deg)
    and the overstride by about r (rad) x the hip height (~1 leg) = 5.2 % leg for 3 deg.
    Checked against the unrolled runner within 1.5 (deg, % leg)."""
    lv = case(name).analysis.level
    assert lv is not None and lv.status == "not_measured" and not lv.corrected, lv
    assert "treadmill" in lv.reason and "--camera-roll" in lv.reason, lv
    r = float(PERTURBATIONS[name]["camera_roll_deg"])  # type: ignore[arg-type]
    rolled, flat = oracle_bias(name), oracle_bias("baseline")
    d_shank = rolled["shank_angle_ic_deg"] - flat["shank_angle_ic_deg"]
    d_over = rolled["overstride_pct_leg"] - flat["overstride_pct_leg"]
    assert d_shank == pytest.approx(r, abs=1.5), d_shank
    assert d_over == pytest.approx(100.0 * np.radians(r), abs=1.5), d_over


@pytest.mark.parametrize("name", ["overground_roll+3deg", "overground_roll-3deg"])
def test_overground_roll_correction_removes_the_roll(name: str) -> None:
    """Overground with a static camera the level stage measures the roll from the contacts
    across the frame (the generator's within ROLL_TOL_OVERGROUND_DEG, at the detected
    events) and the metrics read the landmarks turned level: the two image-vertical metrics
    meet their goals at the detected events (+/-3 deg, +/-3 % leg; at the true events:
    test_angles_at_true_events_oracle), and at the true instants the rolled runner's figures
    are the level overground runner's within 0.5 (deg, % leg: a tenth of what the roll did,
    about r and r (rad) x 1 leg)."""
    c = case(name)
    r = float(PERTURBATIONS[name]["camera_roll_deg"])  # type: ignore[arg-type]
    lv = c.analysis.level
    assert lv is not None and lv.status == "measured", lv
    assert lv.roll_deg == pytest.approx(r, abs=ROLL_TOL_OVERGROUND_DEG), lv
    st = c.analysis.metrics.steps
    for m, tol in (("shank_angle_ic_deg", ANGLE_GOAL_DEG),
                   ("overstride_pct_leg", OVERSTRIDE_TOL_PCT_LEG)):
        b = side_bias(st.values[m], st.foot, c.clip.truth, m)
        assert max(abs(b["L"]), abs(b["R"])) <= tol, (m, b)
    rolled, flat = oracle_bias(name), oracle_bias("overground")
    d_shank = rolled["shank_angle_ic_deg"] - flat["shank_angle_ic_deg"]
    d_over = rolled["overstride_pct_leg"] - flat["overstride_pct_leg"]
    assert abs(d_shank) <= 0.5 and abs(d_over) <= 0.5, (d_shank, d_over, r)


#: Accuracy of the roll measured overground with a static camera (contacts spread across the
#: frame) at the detected events, deg: within 0.03 on the synthetic runner (docs/metrics.md).
ROLL_TOL_OVERGROUND_DEG = 0.1


@pytest.mark.parametrize("roll", [-3.0, 0.0, 3.0])
@pytest.mark.parametrize("direction", ["left", "right"])
def test_measured_roll_is_the_generators(roll: float, direction: str) -> None:
    """The level stage's roll against the generator's camera_roll_deg (+ = image turned
    clockwise, tests/synthetic_gait.py project()): same sign convention, within the stated
    accuracy, overground with a static camera, facing either way."""
    clip = generate(GaitConfig(**{**PERTURBATIONS["overground"], "fps": 30.0,  # type: ignore[arg-type]
                                  "camera_roll_deg": roll, "direction": direction, "seed": 1}))
    a = analyze_pose(to_pose(clip), Options(setting="overground"))
    lv = a.level
    assert lv is not None and lv.status == "measured", lv
    assert lv.roll_deg == pytest.approx(roll, abs=ROLL_TOL_OVERGROUND_DEG), lv
    assert lv.se_deg < 1.0


def test_roll_sign_convention_matches_the_generator() -> None:
    """A runner filmed overground with the picture turned clockwise (generator +5 deg: image
    y grows to the right along the ground) reads +5; turning the landmarks by the measured
    roll puts the stance feet back on one image row."""
    clip = generate(GaitConfig(**{**PERTURBATIONS["overground"], "fps": 30.0,  # type: ignore[arg-type]
                                  "camera_roll_deg": 5.0, "foot_jitter_pct_leg": (0.0, 0.0)}))
    a = analyze_pose(to_pose(clip))
    assert a.level is not None and a.level.roll_deg == pytest.approx(5.0, abs=0.1)
    heel = foot_strike.FOOTJ["L"][0]
    raw = to_pose(clip).xy_px[:, heel]
    flat = level.apply(a.clean, a.level, (clip.width_px / 2, clip.height_px / 2)).xy_px[:, heel]
    low_raw = raw[raw[:, 1] > np.nanpercentile(raw[:, 1], 90)]
    assert np.polyfit(low_raw[:, 0], low_raw[:, 1], 1)[0] > 0.05  # rolled: slopes down right
    low = flat[flat[:, 1] > np.nanpercentile(flat[:, 1], 90)]
    assert abs(np.polyfit(low[:, 0], low[:, 1], 1)[0]) < 0.01


def test_roll_not_measured_where_it_cannot_be() -> None:
    """No correction, with the reason: a treadmill runner whose setting was found (a panning
    camera looks the same) or given (the roll is not identifiable from the feet on a belt),
    a front view, too few contacts overground; --camera-roll wins."""
    clip = generate(GaitConfig(fps=30.0, duration_s=12.0, camera_roll_deg=3.0))
    a = analyze_pose(to_pose(clip))
    assert a.level.status == "not_measured" and "panning" in a.level.reason
    assert not a.level.corrected
    tm = analyze_pose(to_pose(clip), Options(setting="treadmill")).level
    assert tm.status == "not_measured" and not tm.corrected, tm
    assert "treadmill" in tm.reason and "--camera-roll" in tm.reason, tm
    front = analyze_pose(to_pose(generate(GaitConfig(fps=30.0, duration_s=8.0, view="front"))))
    assert front.level.status == "not_measured" and "front view" in front.level.reason
    short = analyze_pose(to_pose(generate(GaitConfig(**{**PERTURBATIONS["overground"],  # type: ignore[arg-type]
                                                        "fps": 30.0, "duration_s": 2.0,
                                                        "camera_roll_deg": 3.0}))),
                         Options(setting="overground"))
    assert short.level.status == "not_measured" and "contacts" in short.level.reason, short.level
    given = analyze_pose(to_pose(clip), Options(camera_roll_deg=3.0))
    assert given.level.status == "given" and given.level.roll_deg == 3.0
    # the given roll removes the shank's shift: same as the level runner within 1 deg
    flat = analyze_pose(to_pose(generate(GaitConfig(fps=30.0, duration_s=12.0))))
    sh = "shank_angle_ic_deg"
    assert value(given, sh) == pytest.approx(value(flat, sh), abs=1.0)
    assert abs(value(a, sh) - value(flat, sh)) > 2.0  # uncorrected, it moves by the roll


def test_roll_over_the_cap_is_refused() -> None:
    """A ground line steeper than settings.toml [level] max_roll_deg is not taken for a
    tilted phone."""
    clip = generate(GaitConfig(**{**PERTURBATIONS["overground"], "fps": 30.0,  # type: ignore[arg-type]
                                  "camera_roll_deg": 12.0}))
    lv = analyze_pose(to_pose(clip)).level
    assert lv.status == "not_measured" and "slopes +12" in lv.reason, lv


# --------------------------------------------------------------------------- figures


def _label_frame_bias(c: Case) -> tuple[float, float]:
    """IC and TO bias in frames in the real labels' convention: formcheck's frame-level events
    (``Events.ic_frame``/``to_frame``, the first frame at or after the detected instant) minus
    the first frame at or after the true event, comparable with the real clips' figures."""
    fps, tr, ev = c.clip.config.fps, c.clip.truth, c.analysis.events
    e_ic, e_to = [], []
    for s in ("L", "R"):
        tc = tr.side[s].contact_time_ms / 1000.0
        for t in tr.ic_t_s[s]:
            if t < 0.4 or t + tc > c.clip.t_s[-1] - 0.3 or not ev.n:
                continue
            k = int(np.argmin(np.abs(ev.ic_t_s - t)))
            if abs(ev.ic_t_s[k] - t) > 0.5 * tr.step_time_s:
                continue
            to_fr = float(ev.to_frame[k]) if ev.to_frame[k] >= 0 else np.nan
            e_ic.append(float(ev.ic_frame[k]) - np.ceil(t * fps - 1e-9))
            e_to.append(to_fr - np.ceil((t + tc) * fps - 1e-9))
    return float(np.nanmean(e_ic)), float(np.nanmean(e_to))


def figures(name: str) -> dict[str, float]:
    """The synthetic figures of one perturbation, for a bench table beside the real clips:
    event errors (ms / frames at 30 fps, signed = detected - true), per-side worst signed
    angle bias of the reported values and of the metric code at the true instants (deg;
    overstride % leg), cadence error (steps/min)."""
    c = case(name)
    sc, a, tr = c.score, c.analysis, c.clip.truth
    ic_lab, to_lab = _label_frame_bias(c)
    out: dict[str, float] = {
        "ic_bias_ms": sc.ic.bias_ms, "ic_bias_label_fr": ic_lab, "ic_mae_fr": sc.ic.mae_frames,
        "ic_p95_fr": sc.ic.p95_frames, "ic_within1_pct": sc.ic.within_1_frame_pct,
        "to_bias_ms": sc.to.bias_ms, "to_bias_label_fr": to_lab, "to_mae_fr": sc.to.mae_frames,
        "to_p95_fr": sc.to.p95_frames, "to_within1_pct": sc.to.within_1_frame_pct,
        "contact_bias_ms": sc.contact.bias_ms, "contact_mae_ms": sc.contact.mae_ms,
        "missed": float(sc.n_missed), "extra": float(sc.n_extra),
        "side_pct": sc.side_agreement_pct,
        "cadence_err_spm": value(a, "cadence_spm") - tr.cadence_spm,
    }
    orc = oracle_bias(name)
    for m in ORACLE_METRICS:
        b = side_bias(a.metrics.steps.values[m], a.events.foot, tr, m)
        out[m] = b["L"] if abs(b["L"]) >= abs(b["R"]) else b["R"]
        out[m + "@true"] = orc[m]
    return out


#: Goal of each figure (issue #11): a test on the figure's absolute value (None: reported only).
GOALS: dict[str, tuple[str, Callable[[float], bool]] | None] = {
    "ic_mae_fr": ("<= 0.7", lambda v: v <= IC_MAE_GOAL_FRAMES),
    "to_mae_fr": ("<= 1.0", lambda v: v <= TO_MAE_GOAL_FRAMES),
    "contact_bias_ms": ("+-15", lambda v: abs(v) <= CONTACT_BIAS_GOAL_MS),
    "missed": ("0", lambda v: v == 0), "extra": ("0", lambda v: v == 0),
    "side_pct": ("100", lambda v: v == 100.0),
    "cadence_err_spm": ("+-1", lambda v: abs(v) <= CADENCE_TOL_SPM),
    **{m: ("+-3", lambda v: abs(v) <= ANGLE_GOAL_DEG)
       for m in ANGLES + ("foot_strike_angle_deg",)},
    **{m + "@true": ("+-3", lambda v: abs(v) <= ANGLE_GOAL_DEG)
       for m in ANGLES + ("foot_strike_angle_deg",)},
    "overstride_pct_leg": ("+-3", lambda v: abs(v) <= OVERSTRIDE_TOL_PCT_LEG),
    "overstride_pct_leg@true": ("+-3", lambda v: abs(v) <= OVERSTRIDE_TOL_PCT_LEG),
}


def bench_figures() -> None:
    """Print the perturbation-matrix figures (realistic v2 runner, 30 fps) with each goal and
    PASS/FAIL; used by bench/events_accuracy.py and ``python tests/test_metrics_synthetic.py``.
    Rows without a goal are reported for comparison with the real clips (the *_label_fr rows
    use the labels' frame convention)."""
    rows = {n: figures(n) for n in PERTURBATIONS}
    keys = list(next(iter(rows.values())))
    print("| figure | goal | " + " | ".join(rows) + " |")
    print("|---" * (len(rows) + 2) + "|")
    n_fail = 0
    for k in keys:
        goal = GOALS.get(k)
        cells = []
        for r in rows.values():
            v = r[k]
            if goal is None:
                cells.append(f"{v:+.2f}")
            else:
                ok = bool(goal[1](v))
                n_fail += not ok
                cells.append(f"{v:+.2f} {'PASS' if ok else 'FAIL'}")
        print(f"| {k} | {goal[0] if goal else ''} | " + " | ".join(cells) + " |")
    print(f"{n_fail} figure(s) miss their goal (docs/validation_synthetic.md lists them as unmet)")


if __name__ == "__main__":  # python tests/test_metrics_synthetic.py: the figures table
    bench_figures()


# ------------------------------------------------------------------ front views, cuts


def approaching(pose: PoseSeries, grow: float, squeeze_x: float = 1.0) -> PoseSeries:
    """The same landmarks as if the runner came closer to the camera (image scale growing
    geometrically by ``grow`` over the clip, about a point above the hips) and, with
    ``squeeze_x`` < 1, of a narrower build (the widths alone then read "oblique")."""
    from dataclasses import replace

    T = pose.n_frames
    s = grow ** (np.arange(T) / max(T - 1, 1))
    c = np.array([pose.width_px / 2, 0.3 * pose.height_px])
    xy = (pose.xy_px - c) * s[:, None, None]
    xy[..., 0] *= squeeze_x
    return replace(pose, xy_px=(xy + c).astype(np.float32))


@pytest.mark.parametrize("walking", [False, True])
def test_front_view_runner_or_walker_coming_closer(walking):
    """A runner seen from the front, coming 2.5x closer, of a build narrow enough for the
    widths alone to say "oblique": the 3D cue keeps it a front view, running is told from
    walking, arm swing is assessed (running), and bounce is not judged (distance changes)."""
    clip = generate(GaitConfig(view="front", walking=walking, duration_s=6, fps=30))
    pose = approaching(to_pose(clip), 2.5, squeeze_x=0.6)
    a = analyze_pose(pose)
    assert a.view.width_ratio < 0.5  # the widths alone: oblique
    assert a.view.view == "front" and a.view.yaw_deg < 10
    assert a.view.gait == ("walking" if walking else "running")
    assert value(a, "cadence_spm") == pytest.approx(clip.truth.cadence_spm, abs=2.0)
    f = {x.id: x for x in a.findings}
    if walking:
        assert all(not x.assessed for x in a.findings)
    else:
        assert f["cross_body_arm_swing"].assessed
        assert not f["bouncing"].assessed and "comes closer" in f["bouncing"].reason


def test_a_cut_withholds_vertical_oscillation(pose_of):
    """Real landmarks of the sample with a cut halfway (the second half as if filmed from
    closer): vertical travel is not the runner's across it, so bouncing is not judged; the
    uncut clip is judged."""
    from dataclasses import replace

    from conftest import SAMPLE

    from formcheck.view import count_cuts

    pose = pose_of(SAMPLE)
    plain = analyze_pose(pose)
    assert count_cuts(pose.xy_px) == 0
    assert [f for f in plain.findings if f.id == "bouncing"][0].assessed
    xy = pose.xy_px.copy()
    h = pose.n_frames // 2
    c = np.array([pose.width_px / 2, pose.height_px / 2], np.float32)
    xy[h:] = (xy[h:] - c) * 1.4 + c + np.array([0, -0.1 * pose.height_px], np.float32)
    cut = replace(pose, xy_px=xy)
    assert count_cuts(cut.xy_px) == 1
    a = analyze_pose(cut)
    assert not a.metrics.summaries["vertical_oscillation_pct_leg"].usable
    bounce = [f for f in a.findings if f.id == "bouncing"][0]
    assert not bounce.assessed and "cuts" in bounce.reason
    assert any("cut" in w for w in a.warnings)
