"""Leg landmarks that jump about (signals.leg_jump_share) withhold the per-step values.

On the slowed lab clip the pose model's swinging foot jumps 50-150 px between frames for about a
third of every step while the foot moves ~5 px, and the contacts found from it are ~14 video
frames from the hand labels: the per-step values must then be "not assessed", not reported.
The synthetic runner's truth is known by construction: its legs never jump, so nothing may be
withheld there, at any frame rate; with jumps injected into one foot the doubt must fire.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_clip
from synthetic_gait import GaitConfig, generate
from test_metrics_synthetic import to_pose

from formcheck.api import Options, analyze_pose
from formcheck.config import settings
from formcheck.landmarks import FOOT, LEG
from formcheck.signals import implausible_runs, leg_jump_share

LIMIT = settings()["gates"]["max_leg_jump_share"]
WITHHELD = settings()["doubts"]["landmark_jumps"]
CFG = settings()["signals"]


def _track(fps: float, speed_leg_s: float, seconds: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * fps)) / fps
    x = 100.0 * speed_leg_s * t  # leg = 100 px
    return t, np.stack([x, np.zeros_like(x)], axis=1)


@pytest.mark.parametrize("fps", [30.0, 240.0])
def test_fast_real_movement_is_not_a_jump(fps: float) -> None:
    t, r = _track(fps, 12.0)  # faster than a sprinter's swing foot, under the limit
    assert not implausible_runs(t, r, 100.0, CFG["max_speed_leg_s"], CFG["min_run_s"]).any()


@pytest.mark.parametrize("fps", [30.0, 240.0])
def test_a_short_excursion_is_a_jump_and_a_long_one_is_not(fps: float) -> None:
    t, r = _track(fps, 1.0)
    short = max(1, int(0.5 * CFG["min_run_s"] * fps))  # under min_run_s
    r1 = r.copy()
    r1[50 % r.shape[0]: 50 % r.shape[0] + short] += (80.0, 0.0)  # 0.8 leg off, then back
    bad = implausible_runs(t, r1, 100.0, CFG["max_speed_leg_s"], CFG["min_run_s"])
    assert bad.sum() == short and bad[50 % r.shape[0]]
    long = int(3 * CFG["min_run_s"] * fps) + 2  # a real movement lasts: kept
    r2 = r.copy()
    r2[5:5 + long] += (80.0, 0.0)
    assert not implausible_runs(t, r2, 100.0, CFG["max_speed_leg_s"], CFG["min_run_s"]).any()


@pytest.mark.parametrize("fps", [30, 120, 240])
def test_synthetic_runner_legs_do_not_jump(fps: int) -> None:
    clip = generate(GaitConfig(fps=fps, noise_px=2.0, swap_frac=0.05, seed=4))
    assert leg_jump_share(clip.t_s, clip.xy_px) <= 0.01
    an = analyze_pose(to_pose(clip))
    assert not [d for d in an.metrics.doubts if d.kind == "landmarks_jump"]


def _with_jumping_foot(fps: int, share_of_step: float, seed: int = 0):
    """A 240 fps synthetic runner whose right foot's landmarks jump for ``share_of_step`` of
    every step: each frame of that window puts them a random 0.3-1.0 leg from the foot (as
    the slowed lab clip's swing foot does)."""
    cfg = GaitConfig(fps=fps, seed=seed)
    clip = generate(cfg)
    rng = np.random.default_rng(seed)
    xy = clip.xy_px.copy()
    leg = float(np.nanmedian(np.linalg.norm(xy[:, LEG["R"][0]] - xy[:, LEG["R"][2]], axis=1)))
    step_s = 60.0 / cfg.cadence_spm
    phase = (clip.t_s % step_s) / step_s
    jump = phase < share_of_step
    pts = list(LEG["R"][1:3]) + list(FOOT["R"][1:])
    for i in np.flatnonzero(jump):
        ang = rng.uniform(0, 2 * np.pi)
        off = rng.uniform(0.3, 1.0) * leg * np.array([np.cos(ang), np.sin(ang)])
        xy[i, pts] += off
    return clip, xy


def test_jumping_foot_withholds_per_step_values() -> None:
    from dataclasses import replace

    clip, xy = _with_jumping_foot(240, 0.3)
    share = leg_jump_share(clip.t_s, xy)
    assert share > LIMIT, share
    an = analyze_pose(replace(to_pose(clip), xy_px=xy.astype(clip.xy_px.dtype)))
    kinds = [d.kind for d in an.metrics.doubts]
    assert "landmarks_jump" in kinds
    clean = analyze_pose(to_pose(clip))  # the same runner without the jumps
    for mid in WITHHELD:
        m = an.metrics.summaries[mid]
        assert m.value is None, (mid, m)
    for mid in ("cadence_spm", "contact_time_ms", "duty_factor_pct", "overstride_pct_leg",
                "knee_flexion_ic_deg", "knee_flexion_midstance_deg"):
        # measured without the jumps; withheld with them, and the reason says why
        assert clean.metrics.summaries[mid].value is not None, mid
        assert "jump" in an.metrics.summaries[mid].reason, mid
    judged = {f.metric for f in an.findings if f.assessed}
    assert not judged & set(WITHHELD), judged
    assert any("jump" in w for w in an.warnings)
    # what the doubt does not name stays (trunk lean is read from the trunk)
    assert an.metrics.summaries["trunk_lean_deg"].value is not None


def test_slowed_lab_clip_per_step_values_withheld(pose_of) -> None:
    """The slowed lab clip (--slowmo 9, the labels' estimate): contacts ~14 frames from the
    labels (docs/validation.md) because the legs jump: the doubt fires and nothing per step
    is judged.  The two labelled 30 fps clips, whose contacts meet the goal, are not doubted."""
    ps = pose_of(shared_clip("treadmill_side_lab_slowmo.mp4"))
    an = analyze_pose(ps, Options(slowmo=9.0))
    assert leg_jump_share(an.pose.t_s, an.pose.xy_px) > 2 * LIMIT
    assert "landmarks_jump" in [d.kind for d in an.metrics.doubts]
    for mid in ("cadence_spm", "contact_time_ms", "overstride_pct_leg",
                "knee_flexion_midstance_deg"):
        assert an.metrics.summaries[mid].value is None
    # the step count read 172 steps/min there (labels: 102 frames a step, 159 at 9x): the
    # cadence finding is not judged either
    assert all(not f.assessed for f in an.findings if f.metric == "cadence_spm")
    for clip in ("treadmill_side_30fps.mp4", "outdoor_side_pace_segments.mp4"):
        p = pose_of(shared_clip(clip))
        assert leg_jump_share(p.t_s, p.xy_px) < 0.5 * LIMIT, clip
