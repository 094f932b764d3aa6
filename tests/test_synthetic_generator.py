"""Self-checks of the synthetic gait generator (tests/synthetic_gait.py).

These test the generator itself, against its own configuration, so that the truth it
hands to the metrics tests can be trusted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from synthetic_gait import (
    IDEAL,
    LEFT_IDX,
    PROFILE_OFFSETS,
    REAL_CLIP_EVIDENCE,
    RIGHT_IDX,
    GaitConfig,
    generate,
    landmark_profiles,
    pose_at,
    score_events,
    strike_class,
    true_foot_at,
)

L_SH, R_SH, L_HIP, R_HIP, L_KNEE, L_ANKLE = 11, 12, 23, 24, 25, 27
L_HEEL, R_HEEL, L_TOE, R_TOE = 29, 30, 31, 32
TOL = 1e-6  # px, for noiseless geometry


def ideal(**kw: object) -> GaitConfig:
    """The idealised runner (landmarks on the sole's contact points, no pose-model effects):
    the kinematics' exact geometry is checked on it; the realism layer is checked below."""
    return GaitConfig(**{**IDEAL, **kw})  # type: ignore[arg-type]


def _sign(cfg: GaitConfig) -> float:
    """+1 if the runner faces image-right, -1 if image-left."""
    return 1.0 if cfg.direction == "right" else -1.0


def _hip_mid(p: np.ndarray) -> np.ndarray:
    return 0.5 * (p[..., L_HIP, :] + p[..., R_HIP, :])


def _stance_times(clip, side: str, lo: float, hi: float, n: int = 25) -> np.ndarray:
    """Times inside every stance of ``side``, at stance fractions lo..hi."""
    tr = clip.truth
    tc = tr.side[side].contact_time_ms / 1000.0
    return np.concatenate([ic + tc * np.linspace(lo, hi, n) for ic in tr.ic_t_s[side]])


def test_frame_count_and_nominal_times() -> None:
    cfg = ideal(fps=30, duration_s=4)
    clip = generate(cfg)
    assert len(clip.t_s) == 120
    assert clip.xy_px.shape == (120, 33, 2)
    assert clip.world_m.shape == (120, 33, 3)
    assert clip.visibility.shape == clip.presence.shape == clip.z.shape == (120, 33)
    assert clip.t_s[0] == 0.0
    np.testing.assert_allclose(np.diff(clip.t_s), 1 / 30)
    assert (clip.width_px, clip.height_px) == cfg.image_size
    assert not np.isnan(clip.xy_px).any()


@pytest.mark.parametrize("cadence", [150.0, 170.0, 185.0])
def test_ic_alternate_with_step_time(cadence: float) -> None:
    clip = generate(ideal(cadence_spm=cadence, duration_s=5))
    tr = clip.truth
    times = np.concatenate([tr.ic_t_s["L"], tr.ic_t_s["R"]])
    labels = np.array(["L"] * len(tr.ic_t_s["L"]) + ["R"] * len(tr.ic_t_s["R"]))
    order = np.argsort(times)
    times, labels = times[order], labels[order]
    assert len(times) >= 2 * 5 * cadence / 60 / 2 - 2
    assert (labels[1:] != labels[:-1]).all()
    np.testing.assert_allclose(np.diff(times), 60.0 / cadence, atol=1e-9)
    assert tr.cadence_spm == pytest.approx(cadence)
    assert times[0] >= clip.t_s[0] and times[-1] <= clip.t_s[-1]
    for side in "LR":  # each toe-off is one contact time after an IC
        tc, ic0 = tr.side[side].contact_time_ms / 1000, tr.ic_t_s[side][0]
        k = np.round((tr.to_t_s[side] - tc - ic0) / tr.stride_time_s)
        np.testing.assert_allclose(tr.to_t_s[side] - tc, ic0 + k * tr.stride_time_s, atol=1e-9)


@pytest.mark.parametrize("direction", ["left", "right"])
@pytest.mark.parametrize("setting", ["treadmill", "overground"])
@pytest.mark.parametrize("overstride", [0.0, 14.0])
def test_heel_at_ground_and_overstride_at_ic(direction: str, setting: str, overstride: float):
    cfg = ideal(
        direction=direction, setting=setting, overstride_pct_leg=overstride, duration_s=2.5
    )
    clip = generate(cfg)
    tr = clip.truth
    assert tr.adjustments == ()
    for side, heel in (("L", L_HEEL), ("R", R_HEEL)):
        ic = tr.ic_t_s[side]
        assert len(ic) >= 2
        p = pose_at(cfg, ic)
        np.testing.assert_allclose(p[:, heel, 1], tr.ground_y_px, atol=TOL)
        ahead = _sign(cfg) * (p[:, heel, 0] - _hip_mid(p)[:, 0])
        np.testing.assert_allclose(ahead, overstride / 100 * tr.leg_length_px, atol=TOL)
        assert tr.side[side].overstride_pct_leg == pytest.approx(overstride, abs=1e-9)
        # just before IC the foot is still in the air
        before = pose_at(cfg, ic - 0.02)
        assert (before[:, heel, 1] < tr.ground_y_px - 1.0).all()


def test_forefoot_lands_on_toe() -> None:
    cfg = ideal(foot_strike_angle_deg=-8.0, duration_s=2)
    tr = generate(cfg).truth
    p = pose_at(cfg, tr.ic_t_s["L"])
    np.testing.assert_allclose(p[:, L_TOE, 1], tr.ground_y_px, atol=TOL)
    assert (p[:, L_HEEL, 1] < tr.ground_y_px - 5).all()  # heel above ground (y down)


@pytest.mark.parametrize("direction", ["left", "right"])
def test_stance_foot_moves_at_belt_speed_on_treadmill(direction: str) -> None:
    cfg = ideal(direction=direction, speed_mps=3.2, duration_s=3)
    clip = generate(cfg)
    tr = clip.truth
    v_px = cfg.speed_mps * tr.px_per_m
    for side, toe in (("L", L_TOE), ("R", R_TOE)):
        tc = tr.side[side].contact_time_ms / 1000
        for ic in tr.ic_t_s[side]:
            t = ic + tc * np.linspace(0.2, 1.0, 30)  # toe is ground-fixed once flat
            p = pose_at(cfg, t)
            np.testing.assert_allclose(p[:, toe, 1], tr.ground_y_px, atol=TOL)
            slope, icpt = np.polyfit(t, p[:, toe, 0], 1)
            assert slope == pytest.approx(-_sign(cfg) * v_px, rel=1e-9)
            np.testing.assert_allclose(p[:, toe, 0], slope * t + icpt, atol=1e-6)
            np.testing.assert_allclose(_hip_mid(p)[:, 0], cfg.image_size[0] / 2)


@pytest.mark.parametrize("direction", ["left", "right"])
def test_stance_foot_fixed_overground(direction: str) -> None:
    cfg = ideal(
        direction=direction, setting="overground", duration_s=1.5, height_px=250,
        image_size=(1920, 1080),
    )  # fmt: skip
    clip = generate(cfg)
    tr = clip.truth
    assert clip.in_frame.all()
    for side, toe in (("L", L_TOE), ("R", R_TOE)):
        t = _stance_times(clip, side, 0.2, 1.0)
        p = pose_at(cfg, t)
        for seg in p[:, toe].reshape(-1, 25, 2):
            assert np.ptp(seg[:, 0]) < TOL and np.ptp(seg[:, 1]) < TOL
    # the hip travels at speed in the running direction
    hip_x = _hip_mid(clip.xy_px_clean)[:, 0]
    vel = np.diff(hip_x) / np.diff(clip.t_s)
    np.testing.assert_allclose(vel, _sign(cfg) * cfg.speed_mps * tr.px_per_m)


@pytest.mark.parametrize("angle", [14.0, 8.5, 3.0, 0.0, -1.0, -8.0])
@pytest.mark.parametrize("direction", ["left", "right"])
def test_foot_strike_angle_truth(angle: float, direction: str) -> None:
    cfg = ideal(foot_strike_angle_deg=angle, direction=direction, duration_s=2)
    tr = generate(cfg).truth
    assert tr.foot_strike_angle_deg == pytest.approx(angle, abs=1e-9)
    assert tr.strike_class == strike_class(angle)
    for side, heel, toe in (("L", L_HEEL, L_TOE), ("R", R_HEEL, R_TOE)):
        p = pose_at(cfg, tr.ic_t_s[side])
        fwd = _sign(cfg) * (p[:, toe, 0] - p[:, heel, 0])
        up = -(p[:, toe, 1] - p[:, heel, 1])
        np.testing.assert_allclose(np.degrees(np.arctan2(up, fwd)), angle, atol=1e-9)
    # the foot rotates to flat within 15 % of stance and stays flat to midstance
    tc = tr.side["L"].contact_time_ms / 1000
    frac = np.array([0.05, 0.15, 0.3, 0.5])
    p = pose_at(cfg, tr.ic_t_s["L"][0] + tc * frac)
    ang = np.degrees(
        np.arctan2(
            -(p[:, L_TOE, 1] - p[:, L_HEEL, 1]), _sign(cfg) * (p[:, L_TOE, 0] - p[:, L_HEEL, 0])
        )
    )
    np.testing.assert_allclose(ang[1:], 0.0, atol=1e-9)
    if angle != 0:
        assert 0 < ang[0] / angle < 1


def test_strike_class_thresholds() -> None:
    assert strike_class(12) == "rearfoot"
    assert strike_class(8.0) == "midfoot"
    assert strike_class(-1.6) == "midfoot"
    assert strike_class(-1.7) == "forefoot"


@pytest.mark.parametrize(
    "kw",
    [{}, {"walking": True}, {"foot_strike_angle_deg": -8.0}, {"overstride_pct_leg": 30.0}],
)
def test_segment_lengths_constant(kw: dict) -> None:
    cfg = ideal(duration_s=3, **kw)
    clip = generate(cfg)
    seg = clip.truth.segment_lengths_px
    p = pose_at(cfg, np.linspace(0, 3, 1500))
    pairs = {
        "thigh": [(23, 25), (24, 26)],
        "shank": [(25, 27), (26, 28)],
        "foot": [(29, 31), (30, 32)],
        "upper_arm": [(11, 13), (12, 14)],
        "forearm": [(13, 15), (14, 16)],
    }
    for name, idx in pairs.items():
        for a, b in idx:
            length = np.linalg.norm(p[:, a] - p[:, b], axis=1)
            np.testing.assert_allclose(length, seg[name], atol=1e-6, err_msg=name)
    sh = 0.5 * (p[:, L_SH] + p[:, R_SH])
    np.testing.assert_allclose(np.linalg.norm(sh - _hip_mid(p), axis=1), seg["trunk"])
    # no part of either foot ever goes below the ground
    assert (p[:, [L_HEEL, R_HEEL, L_TOE, R_TOE], 1] <= clip.truth.ground_y_px + 1e-9).all()
    assert clip.truth.leg_length_px == pytest.approx(seg["thigh"] + seg["shank"])


def test_knee_midstance_trunk_lean_and_vertical_oscillation() -> None:
    cfg = ideal(knee_flexion_midstance_deg=42, trunk_lean_deg=-4,
                     vertical_oscillation_pct_leg=9, direction="right", duration_s=3)  # fmt: skip
    tr = generate(cfg).truth
    assert tr.adjustments == ()
    assert tr.knee_flexion_midstance_deg == pytest.approx(42, abs=1e-6)
    p = pose_at(cfg, tr.midstance_t_s["L"])
    v1, v2 = p[:, L_HIP] - p[:, L_KNEE], p[:, L_ANKLE] - p[:, L_KNEE]
    cosk = (v1 * v2).sum(1) / np.linalg.norm(v1, axis=1) / np.linalg.norm(v2, axis=1)
    np.testing.assert_allclose(180 - np.degrees(np.arccos(cosk)), 42, atol=1e-6)
    # trunk lean: backwards lean means shoulders behind the hips in the running direction
    t = np.linspace(0, 3, 400)
    p = pose_at(cfg, t)
    trunk = 0.5 * (p[:, L_SH] + p[:, R_SH]) - _hip_mid(p)
    lean = np.degrees(np.arctan2(_sign(cfg) * trunk[:, 0], -trunk[:, 1]))
    np.testing.assert_allclose(lean, -4, atol=1e-9)
    assert tr.trunk_lean_deg == -4
    # hip travel: peak-to-peak per step = configured, lowest at midstance (running)
    steps = np.sort(np.concatenate([tr.ic_t_s["L"], tr.ic_t_s["R"]]))
    for t0, t1 in zip(steps[:-1], steps[1:], strict=True):
        y = _hip_mid(pose_at(cfg, np.linspace(t0, t1, 801)))[:, 1]
        assert np.ptp(y) == pytest.approx(0.09 * tr.leg_length_px, rel=1e-4)
    lowest = _hip_mid(pose_at(cfg, tr.midstance_t_s["L"]))[:, 1]  # y down: max y
    y_all = _hip_mid(pose_at(cfg, np.linspace(0, 3, 3001)))[:, 1]
    assert lowest.min() >= y_all.max() - 1e-9
    assert lowest.max() - y_all.max() < 1e-3
    assert tr.vertical_oscillation_pct_leg == pytest.approx(9)


def test_swing_foot_clears_ground_and_flight_phase() -> None:
    cfg = ideal(duration_s=3)
    clip = generate(cfg)
    tr = clip.truth
    ground = tr.ground_y_px
    for side, ankle, heel in (("L", L_ANKLE, L_HEEL), ("R", 28, R_HEEL)):
        to = tr.to_t_s[side]
        mid_swing = to + 0.5 * (tr.stride_time_s - tr.side[side].contact_time_ms / 1000)
        p = pose_at(cfg, mid_swing)
        assert (ground - p[:, ankle, 1] > 0.15 * tr.leg_length_px).all()
        assert (p[:, heel, 1] < ground - 1).all()
    # running: in mid-flight no foot touches the ground
    flight_mid = tr.to_t_s["L"] + 0.5 * tr.flight_time_ms / 1000
    p = pose_at(cfg, flight_mid)
    assert tr.flight_time_ms > 0
    assert (p[:, [L_HEEL, R_HEEL, L_TOE, R_TOE], 1] < ground - 1).all()


def test_walking_has_double_support() -> None:
    cfg = ideal(walking=True, duration_s=4)
    tr = generate(cfg).truth
    assert tr.cadence_spm == pytest.approx(115)
    assert tr.duty_factor_pct > 50
    assert tr.flight_time_ms < 0
    # at each right IC the left foot is still on the ground (toe at ground level)
    p = pose_at(cfg, tr.ic_t_s["R"])
    np.testing.assert_allclose(p[:, L_TOE, 1], tr.ground_y_px, atol=TOL)
    np.testing.assert_allclose(p[:, R_HEEL, 1], tr.ground_y_px, atol=TOL)
    # walking hip is highest (smallest y) at midstance
    y_mid = _hip_mid(pose_at(cfg, tr.midstance_t_s["L"]))[:, 1]
    y_all = _hip_mid(pose_at(cfg, np.linspace(0, 4, 2001)))[:, 1]
    assert y_mid.max() <= y_all.min() + 1e-9
    assert y_all.min() - y_mid.min() < 1e-3


def test_swaps_swap_all_pairs() -> None:
    cfg = ideal(swap_frac=0.1, dropout_frac=0.05, seed=3, duration_s=6)
    clip = generate(cfg)
    n = len(clip.t_s)
    assert abs(clip.swapped.sum() - 0.1 * n) <= 3
    ok = clip.swapped & ~clip.dropped
    assert ok.any()
    left, right = list(LEFT_IDX), list(RIGHT_IDX)
    np.testing.assert_array_equal(clip.xy_px[ok][:, left], clip.xy_px_clean[ok][:, right])
    np.testing.assert_array_equal(clip.xy_px[ok][:, right], clip.xy_px_clean[ok][:, left])
    keep = ~clip.swapped & ~clip.dropped
    np.testing.assert_array_equal(clip.xy_px[keep], clip.xy_px_clean[keep])
    # the swap is visible: the legs really are apart in swapped frames
    gap = np.abs(clip.xy_px_clean[ok][:, L_ANKLE, 0] - clip.xy_px_clean[ok][:, 28, 0])
    assert gap.max() > 20
    # runs are short (1-4 frames; overlapping runs may merge slightly longer)
    edges = np.flatnonzero(np.diff(np.r_[0, clip.swapped.astype(int), 0]))
    runs = edges[1::2] - edges[::2]
    assert np.median(runs) <= 4


def test_dropouts_are_nan_runs() -> None:
    clip = generate(ideal(dropout_frac=0.1, seed=5, duration_s=6))
    d = clip.dropped
    assert abs(d.sum() - 0.1 * len(d)) <= 2
    assert np.isnan(clip.xy_px[d]).all() and np.isnan(clip.world_m[d]).all()
    assert not np.isnan(clip.xy_px[~d]).any()
    assert (clip.visibility[d] == 0).all() and (clip.presence[d] == 0).all()


def test_noise_level_and_determinism() -> None:
    cfg = ideal(noise_px=2.0, seed=11, duration_s=4)
    a, b = generate(cfg), generate(cfg)
    np.testing.assert_array_equal(a.xy_px, b.xy_px)
    resid = a.xy_px - a.xy_px_clean
    assert np.std(resid) == pytest.approx(2.0, rel=0.05)
    c = generate(ideal(noise_px=2.0, seed=12, duration_s=4))
    assert not np.array_equal(a.xy_px, c.xy_px)


def test_vfr_times_strictly_increase() -> None:
    cfg = ideal(fps=30, vfr_jitter=0.2, seed=2, duration_s=5)
    clip = generate(cfg)
    dt = np.diff(clip.t_s)
    assert (dt > 0).all()
    assert dt.min() >= (1 - 0.2) / 30 - 1e-12 and dt.max() <= (1 + 0.2) / 30 + 1e-12
    assert np.std(dt) > 0.05 / 30
    # poses follow real time: clean frames equal the continuous kinematics
    np.testing.assert_allclose(clip.xy_px_clean, pose_at(cfg, clip.t_s), atol=1e-9)


def test_side_view_visibility_and_world() -> None:
    clip = generate(ideal(direction="left", duration_s=2))
    assert clip.truth.near_side == "L"
    vis = clip.visibility
    assert (vis >= 0).all() and (vis <= 1).all()
    assert vis[:, list(LEFT_IDX)].mean() > vis[:, list(RIGHT_IDX)].mean() + 0.15
    w = clip.world_m
    np.testing.assert_allclose(0.5 * (w[:, L_HIP, :2] + w[:, R_HIP, :2]), 0, atol=1e-12)
    leg_m = np.linalg.norm(w[:, 23, :2] - w[:, 25, :2], axis=1)
    np.testing.assert_allclose(leg_m, 0.245 * clip.config.body_height_m)


def test_contact_asymmetry() -> None:
    cfg = ideal(contact_scale=(1.15, 1.0), duration_s=3)
    tr = generate(cfg).truth
    ratio = tr.side["L"].contact_time_ms / tr.side["R"].contact_time_ms
    assert ratio == pytest.approx(1.15)
    assert tr.side["L"].duty_factor_pct == pytest.approx(35 * 1.15)
    # left foot really is on the ground until its (later) toe-off
    to = tr.to_t_s["L"]
    on = pose_at(cfg, to - 1e-4)[:, L_TOE, 1]
    off = pose_at(cfg, to + 0.02)[:, L_TOE, 1]
    np.testing.assert_allclose(on, tr.ground_y_px, atol=TOL)
    assert (off < tr.ground_y_px - 0.5).all()


def test_front_view_arm_crossing() -> None:
    none = generate(ideal(view="front", arm_cross_pct_shoulder=0.0, duration_s=3))
    assert none.truth.arm_cross_share_pct == 0.0
    assert none.truth.arm_cross_depth_pct_shoulder == 0.0
    clip = generate(ideal(view="front", arm_cross_pct_shoulder=15.0, duration_s=3))
    tr = clip.truth
    assert tr.foot_strike_angle_deg is None and tr.overstride_pct_leg is None
    assert tr.direction is None and tr.trunk_lean_deg is None
    xy = clip.xy_px_clean
    # facing the camera: the runner's left is on image right
    assert (xy[:, L_HIP, 0] > xy[:, R_HIP, 0]).all() and (xy[:, L_SH, 0] > xy[:, R_SH, 0]).all()
    mid = 0.5 * (xy[:, L_SH, 0] + xy[:, R_SH, 0])
    cross_l = mid - xy[:, 15, 0]  # left wrist past the midline towards image left
    cross_r = xy[:, 16, 0] - mid
    share = 100 * np.mean((cross_l > 1e-6) | (cross_r > 1e-6))
    assert tr.arm_cross_share_pct == pytest.approx(share)
    assert 0 < share < 100
    assert 13.0 < tr.arm_cross_depth_pct_shoulder <= 15.0 + 1e-9
    assert max(cross_l.max(), cross_r.max()) <= 0.15 * tr.shoulder_width_px + 1e-9
    # feet alternate lifting at the same cadence
    lift = tr.ground_y_px - xy[:, L_ANKLE, 1]
    assert np.ptp(lift) > 0.1 * tr.leg_length_px
    assert tr.cadence_spm == pytest.approx(170)


def test_infeasible_configs() -> None:
    tr = generate(ideal(overstride_pct_leg=30, duration_s=2)).truth
    assert tr.adjustments  # hip lowered: realised knee flexion is reported
    assert tr.knee_flexion_midstance_deg > 40
    assert tr.overstride_pct_leg == pytest.approx(30)
    with pytest.raises(ValueError):
        generate(ideal(overstride_pct_leg=30, strict=True, duration_s=2))
    with pytest.raises(ValueError):
        ideal(walking=True, duty_factor=0.45)
    with pytest.raises(ValueError):
        ideal(view="front", setting="overground")


def test_generator_is_independent_of_formcheck() -> None:
    src = Path(__file__).with_name("synthetic_gait.py").read_text()
    mods = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mods.add((node.module or "").split(".")[0])
    assert mods <= {"__future__", "functools", "math", "dataclasses", "typing", "numpy"}


# --------------------------------------------------------------------------- realism layer
# The default runner is fitted to what real feet and MediaPipe do around hand-labelled events
# (synthetic_gait.REAL_CLIP_EVIDENCE); these check that it still does, and that the truth
# stays the true foot's.


def _profiles(cfg: GaitConfig) -> dict[str, np.ndarray]:
    """Median landmark heights (% leg above each point's own stance level) at whole 30 fps
    frames around each true event, measured exactly as REAL_CLIP_EVIDENCE was on the real
    clip: the "labelled" frame is the first frame at or after the true event."""
    clip = generate(cfg)
    xy, tr, t = clip.xy_px_model, clip.truth, clip.t_s
    ev = REAL_CLIP_EVIDENCE
    leg, fps = tr.leg_length_px, float(ev["fps"])  # type: ignore[arg-type]
    assert cfg.fps == fps
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("ic_heel", "to_toe", "to_heel", "gap")}
    ic_off = np.array(ev["heel_at_ic_offsets"])
    to_off = np.array(ev["toe_at_to_offsets"])
    for side, heel, toe in (("L", L_HEEL, L_TOE), ("R", R_HEEL, R_TOE)):
        tc = tr.side[side].contact_time_ms / 1000
        for ic in tr.ic_t_s[side]:
            if ic < 0.5 or ic + tc > t[-1] - 0.5:
                continue
            fi, ft = int(np.ceil(ic * fps - 1e-9)), int(np.ceil((ic + tc) * fps - 1e-9))
            g_h, g_t = xy[fi:ft + 1, heel, 1].max(), xy[fi:ft + 1, toe, 1].max()
            out["ic_heel"].append((g_h - xy[fi + ic_off, heel, 1]) / leg * 100)
            out["to_toe"].append((g_t - xy[ft + to_off, toe, 1]) / leg * 100)
            out["to_heel"].append((g_h - xy[ft + to_off, heel, 1]) / leg * 100)
            out["gap"].append(np.array([(g_t - g_h) / leg * 100]))
    return {k: np.median(v, axis=0) for k, v in out.items()}


#: Largest allowed difference from the real medians (% leg, pointwise): the real near- and
#: far-foot medians themselves differ by up to 4.6 % leg at these points.
PROFILE_TOL_PCT_LEG = 4.0


def _profile_misfit(p: dict[str, np.ndarray]) -> float:
    ev = REAL_CLIP_EVIDENCE
    return float(max(
        np.max(np.abs(p["ic_heel"] - np.array(ev["heel_at_ic_pct_leg"]))),
        np.max(np.abs(p["to_toe"] - np.array(ev["toe_at_to_pct_leg"]))),
        np.max(np.abs(p["to_heel"] - np.array(ev["heel_at_to_pct_leg"]))),
        abs(float(p["gap"][0]) - float(ev["heel_above_toe_in_stance_pct_leg"])),  # type: ignore[arg-type]
    ))


def test_default_runner_landmarks_look_like_real_mediapipe_around_events() -> None:
    """Heel still well above its stance level at IC (and settling over ~2 frames), toe
    landmark already up at TO (roll-off), heel landmark above the toe landmark in stance:
    within PROFILE_TOL_PCT_LEG of the real clip at every sampled frame.  The idealised
    runner (landmarks on the sole, foot slamming down) is far off, so the check has teeth."""
    real = _profile_misfit(_profiles(GaitConfig(fps=30, duration_s=8)))
    assert real <= PROFILE_TOL_PCT_LEG, real
    assert _profile_misfit(_profiles(ideal(fps=30, duration_s=8))) > 1.5 * PROFILE_TOL_PCT_LEG


def test_truth_is_the_true_foot_and_ignores_landmark_effects() -> None:
    """Landmark-only effects (toe marker, settle, lag, noise, camera roll) leave the truth
    unchanged (the heel marker moves the overstride truth, defined on the heel point); at a
    true IC the true sole touches the ground while MediaPipe's heel is still above it, and
    at a true TO the true toe pivot is on the ground while the foot_index landmark has
    already risen."""
    base = generate(GaitConfig(duration_s=4)).truth
    for kw in ({"camera_roll_deg": 3.0}, {"landmark_lag_s": 0.05}, {"noise_px": 3.0},
               {"toe_marker_up_pct_leg": 3.0}, {"landing_settle_pct_leg": 0.0}):
        tr = generate(GaitConfig(duration_s=4, **kw)).truth
        for name in ("contact_time_ms", "knee_flexion_ic_deg", "knee_flexion_midstance_deg",
                     "shank_angle_ic_deg", "foot_strike_angle_deg", "overstride_pct_leg"):
            assert getattr(tr, name) == pytest.approx(getattr(base, name), abs=1e-9), (kw, name)
        np.testing.assert_allclose(tr.ic_t_s["L"], base.ic_t_s["L"])
    cfg = GaitConfig(duration_s=4)
    tr = generate(cfg).truth
    leg, g = tr.leg_length_px, tr.ground_y_px
    for side, heel, toe in (("L", L_HEEL, L_TOE), ("R", R_HEEL, R_TOE)):
        ic = tr.ic_t_s[side]
        to = ic + tr.side[side].contact_time_ms / 1000
        foot = true_foot_at(cfg, side, ic)
        np.testing.assert_allclose(foot["heel"][:, 1], g, atol=TOL)
        assert (g - pose_at(cfg, ic)[:, heel, 1] > 0.06 * leg).all()  # marker + settle
        foot = true_foot_at(cfg, side, to - 1e-6)
        np.testing.assert_allclose(foot["toe"][:, 1], g, atol=1e-3)
        assert (g - pose_at(cfg, to)[:, toe, 1] > 0.04 * leg).all()  # roll-off


def test_foot_hovers_near_the_ground_before_ic() -> None:
    """In the last ``hover_s`` before IC the true sole's lowest point descends slowly from
    about ``hover_pct_leg`` to the ground (real feet hover 1-2 cm over the belt for ~50 ms
    before contact); the idealised runner arrives from high up."""
    cfg = GaitConfig(duration_s=4, hover_s=0.05, hover_pct_leg=3.0)
    tr = generate(cfg).truth
    leg, g = tr.leg_length_px, tr.ground_y_px
    for side in ("L", "R"):
        for ic in tr.ic_t_s[side][1:]:
            t = ic - np.linspace(0.05, 0.0, 11)
            f = true_foot_at(cfg, side, t)
            h = g - np.fmax(f["heel"][:, 1], f["toe"][:, 1])
            assert h[0] == pytest.approx(0.03 * leg, rel=0.25)
            assert (np.diff(h) <= 1e-9).all() and h[-1] == pytest.approx(0.0, abs=1e-6)
    ic = generate(ideal(duration_s=4)).truth.ic_t_s["L"][1]
    f = true_foot_at(ideal(duration_s=4), "L", np.array([ic - 0.05]))
    assert g - f["heel"][0, 1] > 0.05 * leg


def test_landmark_lag_is_first_order() -> None:
    """Overground the hip moves at constant speed v, so a first-order lag with time constant
    tau trails it by exactly v tau once settled, at every frame rate (the lag is in real
    time: a per-frame form trailed by less at low frame rates)."""
    for fps in (30, 60, 240):
        cfg = GaitConfig(setting="overground", duration_s=1.5, height_px=250,
                         image_size=(1920, 1080), landmark_lag_s=0.04, fps=fps)  # fmt: skip
        clip = generate(cfg)
        v = cfg.speed_mps * clip.truth.px_per_m * _sign(cfg)
        lag = (_hip_mid(clip.xy_px_clean) - _hip_mid(clip.xy_px_model))[fps // 2:, 0]
        np.testing.assert_allclose(lag, v * 0.04, rtol=1e-3)
    clip0 = generate(GaitConfig(landmark_lag_s=0.0, duration_s=1))
    np.testing.assert_array_equal(clip0.xy_px_model, clip0.xy_px_clean)


def test_correlated_noise() -> None:
    """AR(1) noise: lag-1 autocorrelation exp(-dt/tau); a foot's points share the configured
    part of the variance; the std stays ``noise_px``."""
    cfg = GaitConfig(noise_px=2.0, noise_corr_s=0.05, noise_foot_share=0.6, duration_s=30,
                     landmark_lag_s=0.0, foot_jitter_pct_leg=(0.0, 0.0), seed=4)  # fmt: skip
    clip = generate(cfg)
    e = clip.xy_px - clip.xy_px_clean
    assert np.std(e) == pytest.approx(2.0, rel=0.1)
    x = e[:, L_HEEL, 0]
    r1 = np.corrcoef(x[1:], x[:-1])[0, 1]
    assert r1 == pytest.approx(np.exp(-(1 / 30) / 0.05), abs=0.05)
    assert np.corrcoef(e[:, L_HEEL, 1], e[:, L_TOE, 1])[0, 1] == pytest.approx(0.6, abs=0.07)
    assert abs(np.corrcoef(e[:, L_HEEL, 1], e[:, R_TOE, 1])[0, 1]) < 0.07


def test_foot_jitter() -> None:
    """Foot jitter: only the ankle/heel/foot_index move; std per axis as configured (% leg);
    AR(1) lag-1 autocorrelation exp(-dt/tau); a foot's points share the configured variance;
    the two feet are independent."""
    cfg = GaitConfig(duration_s=60, seed=2, foot_jitter_pct_leg=(6.0, 1.8),
                     foot_jitter_corr_s=0.06, foot_jitter_share=0.8)
    clip = generate(cfg)
    e = clip.xy_px - clip.xy_px_model
    leg = clip.truth.leg_length_px
    others = [i for i in range(33) if i not in (27, 28, 29, 30, 31, 32)]
    assert np.abs(e[:, others]).max() == 0.0
    assert np.std(e[:, L_HEEL, 0]) / leg * 100 == pytest.approx(6.0, rel=0.1)
    assert np.std(e[:, L_HEEL, 1]) / leg * 100 == pytest.approx(1.8, rel=0.1)
    x = e[:, L_HEEL, 0]
    assert np.corrcoef(x[1:], x[:-1])[0, 1] == pytest.approx(np.exp(-(1 / 30) / 0.06), abs=0.05)
    assert np.corrcoef(e[:, L_HEEL, 0], e[:, L_TOE, 0])[0, 1] == pytest.approx(0.8, abs=0.07)
    assert abs(np.corrcoef(e[:, L_HEEL, 0], e[:, R_TOE, 0])[0, 1]) < 0.07
    assert np.abs(generate(GaitConfig(**IDEAL)).xy_px
                  - generate(GaitConfig(**IDEAL)).xy_px_model).max() == 0.0


@pytest.mark.parametrize("roll", [-3.0, 3.0])
def test_camera_roll_tilts_the_ground(roll: float) -> None:
    """A rolled camera shows the belt tilted by the roll angle (the planted toe travels along
    it); positive roll turns the image clockwise on screen (y down)."""
    cfg = GaitConfig(camera_roll_deg=roll, duration_s=3, speed_mps=3.2)
    tr = generate(cfg).truth
    tc = tr.side["L"].contact_time_ms / 1000
    ic = tr.ic_t_s["L"][1]
    f = true_foot_at(cfg, "L", ic + tc * np.linspace(0.35, 0.95, 20))
    slope = np.polyfit(f["toe"][:, 0], f["toe"][:, 1], 1)[0]
    assert np.degrees(np.arctan(slope)) == pytest.approx(roll, abs=1e-6)


def test_score_events_reports_signed_errors() -> None:
    """Known offsets come back exactly: IC +10 ms, TO -20 ms -> contact -30 ms; a dropped
    step is 'missed', a spurious one 'extra'; within-one-frame share and frames units."""
    tr = generate(GaitConfig(duration_s=6)).truth
    ics = np.sort(np.concatenate([tr.ic_t_s["L"], tr.ic_t_s["R"]]))
    sides = np.array(["L" if np.isin(x, tr.ic_t_s["L"]) else "R" for x in ics])
    tc = tr.contact_time_ms / 1000
    inner = (ics > ics[0] + 0.3) & (ics < ics[-1] - 0.3)
    det_ic, det_to = ics + 0.010, ics + tc - 0.020
    sc = score_events(det_ic, det_to, tr, 30.0, side=sides)
    assert sc.n_true == inner.sum() and sc.n_missed == 0 and sc.n_extra == 0
    assert sc.ic.bias_ms == pytest.approx(10.0) and sc.ic.mae_ms == pytest.approx(10.0)
    assert sc.to.bias_ms == pytest.approx(-20.0) and sc.contact.bias_ms == pytest.approx(-30.0)
    assert sc.ic.within_1_frame_pct == 100.0 and sc.contact.within_1_frame_pct == 100.0
    assert sc.ic.bias_frames == pytest.approx(0.3) and sc.side_agreement_pct == 100.0
    k = int(np.flatnonzero(inner)[3])
    keep = np.arange(ics.size) != k
    extra_t = ics[k + 1] + 0.5 * tr.step_time_s
    double = det_ic[k + 2] + 0.02  # a second detection of one contact is an extra too
    sc2 = score_events(np.r_[det_ic[keep], extra_t, double],
                       np.r_[det_to[keep], extra_t + tc, double + tc], tr, 30.0)
    assert sc2.n_missed == 1 and sc2.n_extra == 2 and sc2.ic.n == inner.sum() - 1
    assert sc2.ic.bias_ms == pytest.approx(10.0)  # the closer detection is the match
    # a detection of a true IC outside the scored window is neither a hit nor an extra
    lo, hi = ics[2] + 0.005, ics[-3] + 0.005  # ics[2] just outside; its detection inside
    sc4 = score_events(det_ic, det_to, tr, 30.0, t_range=(lo, hi))
    assert sc4.n_extra == 0 and sc4.n_missed == 0 and sc4.n_true == ics.size - 5
    late = det_ic + np.where(np.arange(ics.size) % 2 == 0, 0.0, 0.05)
    sc3 = score_events(late, det_to, tr, 30.0, side=np.where(sides == "L", "R", "L"))
    assert 40.0 < sc3.ic.within_1_frame_pct < 60.0 and sc3.ic.p95_ms == pytest.approx(60.0)
    assert sc3.side_agreement_pct == 0.0


#: Pointwise tolerances of the v2 realism check: heights % leg (as above), velocities % of the
#: ground speed (the real per-frame velocity jitter is ~34 % of it, so a median over ~30 steps
#: is good to ~8 %; the real near/far medians differ by up to ~25 %).
VELOCITY_TOL_PCT_GROUND = 30.0
#: (profile, offsets, point columns) compared with the real clip: the frames that decide a
#: height or velocity event rule.  Not compared (known misfits, docs/validation_synthetic.md):
#: swing speed before IC-1 (real +250 % at IC-4..-3, model ~+170 %), the foot_index height
#: at IC (real 17-21 % leg, model ~9-12), the heel's fast departure after TO (+139 % at TO+1,
#: model ~+95 %) and the post-IC backward overshoot at IC+2..+3 beyond IC+2.
_CHECKS = (("h_ic", (-2, -1, 0, 1, 2), (0, 1)), ("v_ic", (-1, 0, 1, 2), (0, 1)),
           ("h_to", (-2, -1, 0, 1), (2,)), ("h_to", (-2, -1, 0), (1,)),
           ("v_to", (-2, -1, 0, 1, 2), (2,)), ("v_to", (-2, -1, 0), (0, 1)))


def _v2_misfit(cfg: GaitConfig) -> tuple[float, float, list[str]]:
    """Largest height (% leg) and velocity (% ground) misfits against the real medians, with
    the landmarks as formcheck gets them (jitter included; 60 s for stable medians)."""
    clip = generate(cfg)
    p = landmark_profiles(clip, clip.xy_px)
    ev = REAL_CLIP_EVIDENCE
    offs = list(ev["profile_offsets"])  # type: ignore[call-overload]
    assert offs == list(PROFILE_OFFSETS)
    real = {k: np.array(v, float) for k, v in ev["profiles"].items()}  # type: ignore[attr-defined]
    worst = {"h": 0.0, "v": 0.0}
    where = []
    for key, at, cols in _CHECKS:
        rows = [offs.index(o) for o in at]
        d = np.abs(p[key][np.ix_(rows, cols)] - real[key][np.ix_(rows, cols)])
        worst[key[0]] = max(worst[key[0]], float(d.max()))
        where.append(f"{key}{cols}: model {np.round(p[key][np.ix_(rows, cols)].T, 1).tolist()}"
                     f" real {real[key][np.ix_(rows, cols)].T.tolist()}")
    return worst["h"], worst["v"], where


def test_default_runner_heights_and_horizontal_velocities_match_real_mediapipe() -> None:
    """v2 realism: around labelled IC and TO the default runner's landmark heights and
    horizontal velocities relative to the ground (REAL_CLIP_EVIDENCE["profiles"], measured
    on the real treadmill clip by bench/real_foot_profiles.py) are within PROFILE_TOL_PCT_LEG
    and VELOCITY_TOL_PCT_GROUND of the real medians at the frames that decide an event: the
    heel reaching ground velocity around IC, the toe still moving with the belt one frame
    before TO and leaving over the next two.  The idealised runner is far off (can fail)."""
    h, v, where = _v2_misfit(GaitConfig(fps=30, duration_s=60))
    assert h <= PROFILE_TOL_PCT_LEG and v <= VELOCITY_TOL_PCT_GROUND, "\n".join(where)
    h0, v0, _ = _v2_misfit(ideal(fps=30, duration_s=60))
    assert h0 > PROFILE_TOL_PCT_LEG or v0 > VELOCITY_TOL_PCT_GROUND, (h0, v0)
