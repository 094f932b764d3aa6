"""Metrics and gait events against a synthetic runner whose answers are known by construction.

The generator (tests/synthetic_gait.py) does not import formcheck; its default runner is
realistic (feet and MediaPipe landmarks fitted to real clips: hover before IC, forefoot slap,
heel point above the sole, toe roll-off, landing settle, landmark lag; see its docstring).
Every event and per-step angle is compared with the generator's TRUTH at the TRUE event
instants, as a SIGNED bias, never with formcheck's own value at its detected instants.

Goals (issue #11, the same as on real labelled video): contact-time bias within +/-15 ms;
IC MAE <= 0.7 frame and TO MAE <= 1 frame at 30 fps; knee flexion at IC and at midstance and
shank angle at IC within +/-3 deg of the truth, under every perturbation of the matrix;
cadence within +/-1 step/min.  These goals are not tuned to what the detector does today:
tests failing against the current detector are the work list for the events rewrite.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pytest
from conftest import SHARED_VIDEOS, shared_clip
from synthetic_gait import (
    EventScore,
    GaitConfig,
    GaitTruth,
    SyntheticClip,
    generate,
    score_events,
)

from formcheck import events as events_mod
from formcheck import signals, view
from formcheck.api import Analysis, Options, analyze_pose
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
    clip = generate(GaitConfig(fps=120, duration_s=6))
    slowed = to_pose(clip)

    slowed = replace(slowed, t_s=slowed.t_s * 4.0)  # played back 4x slower, no metadata
    a = analyze_pose(slowed)
    assert value(a, "cadence_spm") == pytest.approx(170.0 / 4, abs=1.0)
    assert any("slowed down" in w and "--slowmo" in w for w in a.warnings)
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
    clip, a = run(contact_scale=(1.25, 1.0), fps=120)
    assert a.metrics.summaries["contact_time_asymmetry_pct"].value is not None
    assert value(a, "contact_time_asymmetry_pct") > 10.0
    _, b = run(fps=120)
    assert value(b, "contact_time_asymmetry_pct") < 5.0


def test_identity_swaps_are_repaired():
    clip, a = run(swap_frac=0.15, seed=5)
    assert a.clean.n_swaps_repaired > 0
    assert a.events.label_agreement >= 0.9
    assert value(a, "cadence_spm") == pytest.approx(170.0, abs=1.0)


def test_a_folded_knee_in_one_stance_is_discarded_not_averaged():
    """A pose error that no running stride can produce (the knee folded to ~125 deg through
    one mid-stance, as MediaPipe does when it loses a leg) is dropped from that step and
    counted in a warning; the other steps keep the true value."""
    cfg = GaitConfig(fps=60)
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

#: The perturbation matrix: each entry is applied to the realistic default runner at 30 fps.
PERTURBATIONS: dict[str, dict[str, object]] = {
    "baseline": {},
    "roll+3deg": {"camera_roll_deg": 3.0},
    "roll-3deg": {"camera_roll_deg": -3.0},
    # jitter persisting ~2 frames, half of it shared by a foot's three points (~0.85 % leg)
    "correlated_noise": {"noise_px": 2.5, "noise_corr_s": 0.05, "noise_foot_share": 0.5,
                         "seed": 7},
    # heel point as high above the sole as on the worst real clip (7.7 % leg)
    "heel_above_sole": {"heel_marker_up_pct_leg": 7.7},
    "overground": {"setting": "overground", "height_px": 300.0, "image_size": (3840, 1080),
                   "duration_s": 7.0},
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
    clip = generate(GaitConfig(**{"fps": 30.0, **PERTURBATIONS[name]}))  # type: ignore[arg-type]
    if clip.config.setting == "overground":
        assert clip.in_frame.all()
    a = analyze_pose(to_pose(clip))
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
    """Per-step contact time (detected TO - detected IC) minus the true contact time, mean
    over every true step of the clip: signed, within +/-15 ms."""
    sc = case(name).score
    assert sc.contact.n >= 0.9 * sc.n_true, _describe(sc)
    assert abs(sc.contact.bias_ms) <= CONTACT_BIAS_GOAL_MS, _describe(sc)


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_initial_contact_error_against_truth(name: str) -> None:
    """Detected IC minus the true IC (first sole-ground contact): MAE <= 0.7 frame at 30 fps."""
    sc = case(name).score
    assert sc.ic.n >= 0.9 * sc.n_true, _describe(sc)
    assert sc.ic.mae_frames <= IC_MAE_GOAL_FRAMES, _describe(sc)


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_toe_off_error_against_truth(name: str) -> None:
    """Detected TO minus the true TO (toe pivot leaves the ground): MAE <= 1 frame at 30 fps."""
    sc = case(name).score
    assert sc.to.n >= 0.9 * sc.n_true, _describe(sc)
    assert sc.to.mae_frames <= TO_MAE_GOAL_FRAMES, _describe(sc)


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


@pytest.mark.parametrize("metric", ANGLES)
@pytest.mark.parametrize("name", PERTURBATIONS)
def test_angle_signed_bias_against_truth_at_true_events(name: str, metric: str) -> None:
    """Per side, the median reported per-step angle minus the generator's truth: the true
    skeleton's angle at the TRUE instant (knee flexion = 180 - interior hip-knee-ankle angle
    at IC and at midstance (IC+TO)/2; shank angle = knee->ankle from vertical at IC, + =
    ankle ahead of the knee), within +/-3 deg, and the clip summary within +/-3 deg of the
    mean truth.  Midstance knee flexion drives the 'stiff landing' finding."""
    c = case(name)
    a, tr = c.analysis, c.clip.truth
    bias = side_bias(a.metrics.steps.values[metric], a.events.foot, tr, metric)
    summary = value(a, metric) - getattr(tr, metric)
    msg = (f"{metric}: L {bias['L']:+.1f}, R {bias['R']:+.1f}, summary {summary:+.1f} deg "
           f"(truth {getattr(tr, metric):.1f}); {_describe(c.score)}")
    assert all(abs(b) <= ANGLE_GOAL_DEG for b in bias.values()), msg
    assert abs(summary) <= ANGLE_GOAL_DEG, msg


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_overstride_signed_bias_against_truth(name: str) -> None:
    """Heel point ahead of the hip at the true IC, % leg (truth: the anatomical heel point)."""
    c = case(name)
    truth = c.clip.truth.overstride_pct_leg
    bias = value(c.analysis, "overstride_pct_leg") - truth
    assert abs(bias) <= OVERSTRIDE_TOL_PCT_LEG, f"{bias:+.1f} % leg (truth {truth:.1f})"


@pytest.mark.parametrize("direction", ["left", "right"])
@pytest.mark.parametrize("overstride", [2.0, 26.0])
def test_shank_angle_sign_convention(direction: str, overstride: float) -> None:
    """Shank angle is positive with the ankle ahead of the knee (reaching), negative with
    it behind, whichever way the runner faces: the truth changes sign between these two
    runners and the reported value must follow it (and be within the angle goal)."""
    clip, a = run(fps=30, direction=direction, overstride_pct_leg=overstride)
    truth = clip.truth.shank_angle_ic_deg
    assert (truth > 2.0) if overstride > 20 else (truth < -2.0), truth  # generator sanity
    got = value(a, "shank_angle_ic_deg")
    assert np.sign(got) == np.sign(truth), (got, truth)
    assert abs(got - truth) <= ANGLE_GOAL_DEG, (got, truth)


@pytest.mark.parametrize("angle,cls", [(14.0, "rearfoot"), (3.0, "midfoot"), (-8.0, "forefoot")])
def test_foot_strike_at_30fps(angle: float, cls: str) -> None:
    """Foot-strike angle (sole vs ground at the true IC, + = toe up) and class at 30 fps,
    within the suite's +/-3 deg (human raters: ~2.5 deg) with the realistic landmarks."""
    clip, a = run(foot_strike_angle_deg=angle, fps=30)
    assert clip.truth.strike_class == cls
    got = value(a, "foot_strike_angle_deg")
    assert got == pytest.approx(clip.truth.foot_strike_angle_deg, abs=3.0), got
    assert a.metrics.summaries["foot_strike_angle_deg"].extra["pattern"] == cls
    share = value(a, "heel_strike_share_pct")
    assert (share > 80) if cls == "rearfoot" else (share < 20)


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


# --------------------------------------------------------------------------- published frames

#: Published +/-1 frame, plus one frame for the detector (its own goal is <= 1 frame).
SPRINT_TOL_FRAMES = 2.0


def test_sprint_events_match_published_frames(pose_of: Callable[..., PoseSeries]) -> None:
    """sprint_start_pan.mp4 ships touchdown/take-off frames (labels.json event_frames_approx,
    +/-1 frame; order believed take-off first, then alternating).  The clip fails the
    upright-body gate (block start, crouched), so the full analysis refuses it; the events
    stage itself, run on the real landmarks as a side view, must still find every published
    touchdown and the take-off after it within SPRINT_TOL_FRAMES.  The order was checked on
    the landmarks: the right foot is lowest (on the ground) over frames 80-85 and up at 86,
    so 81 is a touchdown and 86 a take-off."""
    clip = shared_clip("sprint_start_pan.mp4")
    lab = json.loads((SHARED_VIDEOS / "labels.json").read_text())["sprint_start_pan.mp4"]
    frames = [float(f) for f in lab["event_frames_approx"]]
    take_offs, touchdowns = frames[0::2], frames[1::2]
    ps = pose_of(clip)
    win = (ps.frame_index >= frames[0] - 3) & (ps.frame_index <= frames[-1] + 1)
    if ps.detected[win].mean() < 0.9:
        pytest.skip(f"pose model found the runner in only {100 * ps.detected[win].mean():.0f} "
                    "% of the labelled frames: events not measurable there")
    c = signals.clean(ps.t_s, ps.xy_px, ps.visibility, repair_identity=True)
    ev = events_mod.detect(c, view.classify(c, view="side"))
    fi = ps.frame_index.astype(float)
    ic_f = np.interp(ev.ic_t_s, ps.t_s, fi)
    to_f = np.interp(ev.to_t_s[np.isfinite(ev.to_t_s)], ps.t_s, fi)
    missed_ic = [f for f in touchdowns if not (np.abs(ic_f - f) <= SPRINT_TOL_FRAMES).any()]
    missed_to = [f for f in take_offs if f > touchdowns[0]
                 and not (np.abs(to_f - f) <= SPRINT_TOL_FRAMES).any()]
    assert not missed_ic and not missed_to, (
        f"touchdowns missed {missed_ic}, take-offs missed {missed_to}; detected IC frames "
        f"{np.round(ic_f, 1).tolist()}, TO frames {np.round(to_f, 1).tolist()}")


# --------------------------------------------------------------------------- oracle events

ORACLE_METRICS = ANGLES + ("overstride_pct_leg", "foot_strike_angle_deg")


@functools.cache
def oracle_bias(name: str) -> dict[str, float]:
    """Signed bias of formcheck's per-step angle code evaluated at the TRUE event instants
    (per side, median over steps minus truth; the worse side is returned): what the
    landmarks and the metric code alone allow, whatever the event detector does.  deg, or
    % leg for overstride."""
    c = case(name)
    tr, clip = c.clip.truth, c.clip
    cl = signals.clean(clip.t_s, clip.xy_px, clip.visibility, repair_identity=True)
    vi = view.classify(cl)
    foot = np.array([s for s in ("L", "R") for _ in tr.ic_t_s[s]])
    ics = np.concatenate([tr.ic_t_s[s] for s in ("L", "R")])
    tos = ics + np.array([tr.side[s].contact_time_ms / 1000.0 for s in foot])
    keep = (ics > 0.5) & (tos < clip.t_s[-1] - 0.3)
    ics, tos, foot = ics[keep], tos[keep], foot[keep]
    at_ic = overstride.at_contact(cl.t_s, cl.xy_px, ics, foot, vi.sign, vi.leg_length_px)
    ms = stance.knee_flexion_stance(cl.t_s, cl.xy_px, ics, tos, foot)
    strike = foot_strike.strike_angles(cl.t_s, cl.xy_px, ics, tos, foot, vi.sign)
    vals = {**at_ic, "knee_flexion_midstance_deg": ms, "foot_strike_angle_deg": strike}
    out = {}
    for m in ORACLE_METRICS:
        b = side_bias(vals[m], foot, tr, m)
        out[m] = b["L"] if abs(b["L"]) >= abs(b["R"]) else b["R"]  # the worse side
    return out


@pytest.mark.parametrize("metric", ORACLE_METRICS)
@pytest.mark.parametrize("name", PERTURBATIONS)
def test_angles_at_true_events_oracle(name: str, metric: str) -> None:
    """With perfect events, the angles must meet the goal (+/-3 deg, also for the foot-strike
    angle as above; overstride +/-3 % leg):
    separates what is the event detector's error from the landmarks' and the metric's (e.g.
    camera roll, which no event detector can remove from an image-vertical shank angle)."""
    bias = oracle_bias(name)[metric]
    tol = OVERSTRIDE_TOL_PCT_LEG if metric == "overstride_pct_leg" else ANGLE_GOAL_DEG
    assert abs(bias) <= tol, f"{metric} at the true instants: {bias:+.2f}"


# --------------------------------------------------------------------------- figures


def _label_frame_bias(c: Case) -> tuple[float, float]:
    """IC and TO bias in frames in the real labels' convention (detected minus the first frame
    at or after the true event), comparable with the real clips' figures."""
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
            e_ic.append(ev.ic_t_s[k] * fps - np.ceil(t * fps - 1e-9))
            e_to.append(ev.to_t_s[k] * fps - np.ceil((t + tc) * fps - 1e-9))
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
