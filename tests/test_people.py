"""People stage: several people in view, the runner chosen by what a runner does.

Multi-person clips are made in the test from the redistributable sample clips (real video,
real pose model): the treadmill runner beside a still copy of one of its frames (a person
who does not move), on either side, and the walker of the hall clip passing a still person
who stays in view for the whole clip (in view longer than the walker, and taller).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE, SAMPLE_DIR, run_cli
from multiperson import with_still_person

from formcheck.api import Options, analyze_pose
from formcheck.landmarks import L_HIP, R_HIP
from formcheck.pose import PoseSeries, extract

WALK = SAMPLE_DIR / "walking_side_hall.mp4"
CADENCE_REF = json.loads(SAMPLE.with_suffix(".json").read_text())["cadence_spm"]["value"]


@pytest.fixture(scope="module")
def composites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, PoseSeries]]:
    """name -> (video, pose with 4 people per frame), each made and run through the model
    once per module."""
    d = tmp_path_factory.mktemp("multi")
    out = {}
    specs = {
        "runner_left": dict(src=SAMPLE, still=SAMPLE, runner_left=True, max_s=6.0,
                            height_px=640),
        "runner_right": dict(src=SAMPLE, still=SAMPLE, runner_left=False, max_s=6.0,
                             height_px=640),
        "walker": dict(src=WALK, still=SAMPLE, runner_left=True, max_s=14.0, height_px=720,
                       crop_x=(0.05, 0.95), still_crop_x=(0.15, 0.85)),
    }
    for name, kw in specs.items():
        video = with_still_person(out=d / f"{name}.mp4", still_frame=0, **kw)  # type: ignore[arg-type]
        out[name] = (video, extract(video, num_poses=4, progress=False))
    return out


def hip_x(pose: PoseSeries) -> np.ndarray:
    return np.nanmean(pose.xy_px[:, [L_HIP, R_HIP], 0], axis=1)


@pytest.mark.parametrize("name", ["runner_left", "runner_right"])
def test_runner_chosen_beside_a_still_person(composites: dict, name: str) -> None:
    video, pose = composites[name]
    assert pose.people is not None and pose.people.shape[1] >= 2
    assert (pose.n_people >= 2).mean() > 0.8  # the model does see both
    a = analyze_pose(pose)
    assert a.people.n_people == 2 and a.people.chosen is not None
    half = pose.width_px / 2
    x = float(np.nanmedian(hip_x(a.pose)))
    assert (x < half) if name == "runner_left" else (x > half), (x, a.people.why)
    assert a.view.gait == "running"
    cad = a.metrics.summaries["cadence_spm"]
    assert cad.value == pytest.approx(CADENCE_REF, abs=3.0), cad
    still = [p for p in a.people.persons if p.number != a.people.chosen][0]
    assert not still.eligible and "legs barely move" in a.people.why
    assert any(w.startswith("2 people were in view") for w in a.warnings)


def test_walker_chosen_over_a_bystander_in_view_longer(composites: dict) -> None:
    video, pose = composites["walker"]
    a = analyze_pose(pose)
    chosen = a.people.persons[a.people.chosen - 1]
    # the walker enters and leaves; the bystander is there throughout (the model's own
    # tracker sometimes hands the bystander's detection to the walker as he passes, so the
    # tracks' shares do not show it: the bystander's frames are counted from the video)
    assert chosen.in_view_share < 0.9 and (pose.n_people >= 1).mean() > 0.97
    assert a.people.n_people == 2
    x = hip_x(a.pose)
    assert np.nanpercentile(x, 95) - np.nanpercentile(x, 5) > 0.3 * pose.width_px  # walks
    assert a.view.gait == "walking"
    cad = a.metrics.summaries["cadence_spm"]
    assert cad.usable and 95 <= cad.value <= 135, cad  # walking cadence, given as such
    assert all(not f.assessed for f in a.findings)


def test_single_pose_clip_has_one_person(pose_of) -> None:
    a = analyze_pose(pose_of(SAMPLE))
    assert a.people.n_people == 1 and a.people.chosen == 1


def test_people_survive_the_landmarks_file(composites: dict, tmp_path: Path) -> None:
    _, pose = composites["runner_left"]
    pose.save(tmp_path / "l.npz")
    back = PoseSeries.load(tmp_path / "l.npz")
    assert back.people is not None
    np.testing.assert_array_equal(back.people, pose.people)
    a, b = analyze_pose(pose), analyze_pose(back)
    assert a.people.chosen == b.people.chosen
    assert a.metrics.summaries["cadence_spm"].value == b.metrics.summaries["cadence_spm"].value


def test_person_option_people_png_and_bad_person(composites: dict, tmp_path: Path) -> None:
    video, pose = composites["runner_right"]
    pose.save(tmp_path / "l.npz")
    auto = analyze_pose(pose)
    other = 3 - auto.people.chosen
    forced = analyze_pose(pose, Options(person=other))
    assert forced.people.chosen == other and forced.people.chosen_by == "--person"
    assert forced.metrics.summaries["cadence_spm"].value != \
        auto.metrics.summaries["cadence_spm"].value
    proc = run_cli("analyze", str(video), "--pose", str(tmp_path / "l.npz"), "-o",
                   str(tmp_path / "out"), "--no-video", "--no-html", "--json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["people"]["n_people"] == 2 and rep["people"]["chosen"] == auto.people.chosen
    import cv2

    png = cv2.imread(str(tmp_path / "out" / "people.png"))
    assert png is not None and png.shape[:2] == (pose.height_px, pose.width_px)
    proc = run_cli("analyze", str(video), "--pose", str(tmp_path / "l.npz"), "-o",
                   str(tmp_path / "out9"), "--no-video", "--no-html", "--person", "9")
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "--person 9" in err[0] and "people.png" in err[0]


def _person(x: float, size: float = 300.0, phase: float = 0.0) -> np.ndarray:
    """A [33, 8] landmark row: a vertical stick figure of ``size`` px with its hips at
    (x, 400), legs apart by ``phase`` (px)."""
    row = np.zeros((33, 8), np.float32)
    ys = np.linspace(400 - size / 2, 400 + size / 2, 33)
    row[:, 0], row[:, 1], row[:, 3:5] = x, ys, 1.0
    row[[L_HIP, R_HIP], 1] = 400
    row[27, 0], row[28, 0] = x - phase, x + phase  # ankles
    return row


def test_tracking_keeps_a_bystander_when_a_walker_appears_beside_them() -> None:
    """The model loses a still bystander for half a second just as a walker appears next to
    them: the walker must not take over the bystander's identity, and the bystander who
    reappears where they stood is still the same person."""
    from formcheck.people import track

    T, fps = 120, 30.0
    t = np.arange(T) / fps
    people = np.full((T, 2, 33, 8), np.nan, np.float32)
    n = np.zeros(T, np.int16)
    for i in range(T):
        slots = []
        if not 40 <= i < 55:
            slots.append(_person(1000.0))  # still
        if i >= 42:
            slots.append(_person(900.0 - 12.0 * (i - 42)))  # walks left at 12 px/frame
        for k, p in enumerate(slots):
            people[i, k] = p
        n[i] = len(slots)
    ids = track(people, n, t)
    still_ids = {int(ids[i, 0]) for i in range(T) if not 40 <= i < 55}
    walker_ids = {int(ids[i, n[i] - 1]) for i in range(42, T)}
    assert len(still_ids) == 1 and len(walker_ids) == 1 and not still_ids & walker_ids


def test_a_person_with_feet_out_of_frame_is_not_the_runner(composites: dict) -> None:
    """A person cut off by the bottom of the frame (a coach in the foreground) cannot be the
    runner whose feet are analysed, however large and however much they move: add a larger
    copy of the runner, moved down until the feet leave the frame, as a third person."""
    _, pose = composites["runner_left"]
    a = analyze_pose(pose)
    H, W = pose.height_px, pose.width_px
    runner = a.pose.xy_px  # [T, 33, 2], the chosen runner
    hip = np.nanmean(runner[:, [L_HIP, R_HIP]], axis=1, keepdims=True)
    coach = np.full(pose.people.shape[:1] + (1,) + pose.people.shape[2:], np.nan, np.float32)
    rows = np.flatnonzero(np.isfinite(runner[:, 0, 0]))
    coach[rows, 0, :, :2] = (hip + 1.4 * (runner - hip))[rows] + (0.2 * W, 0.45 * H)
    coach[rows, 0, :, 2] = 0.0
    coach[rows, 0, :, 3:5] = np.where(coach[rows, 0, :, 1:2] < H, 0.9, 0.05)
    coach[rows, 0, :, 5:] = 0.0
    people = np.concatenate([pose.people, coach], axis=1)
    b = analyze_pose(replace(pose, people=people, n_people=(pose.n_people + 1).astype(np.int16)))
    assert b.people.n_people == 3
    cut = [p for p in b.people.persons if p.feet_in_frame_share < 0.5]
    assert len(cut) == 1 and cut[0].height_share > a.people.persons[a.people.chosen - 1] \
        .height_share  # the coach is the larger figure
    assert b.people.chosen != cut[0].number and "feet out of the frame" in b.people.why
    np.testing.assert_allclose(np.nanmedian(hip_x(b.pose)), np.nanmedian(hip_x(a.pose)))


@pytest.mark.parametrize("slowmo", [1.0, 9.0])
def test_lone_runner_keeps_the_tracking_landmarks(pose_of, slowmo: float) -> None:
    """Asked for several people, the model re-detects everyone in every frame and a lone
    runner's landmarks change (worse contact timing); run_pose keeps the one-person tracking
    run's landmarks when the census finds that person is the runner: the same numbers as
    with --max-people 1.  Also with --slowmo (the census rate is in video time: it once
    took the real frame rate times the factor and, on a 9x clip, saw 4 frames)."""
    from formcheck.api import run_pose

    pose = run_pose(SAMPLE, Options(slowmo=slowmo), progress=False)
    assert pose.people is not None  # the census was taken
    a = analyze_pose(pose, Options(slowmo=slowmo))
    b = analyze_pose(pose_of(SAMPLE, slowmo=slowmo), Options(slowmo=slowmo))
    assert a.people.from_tracking and a.people.n_people == 1
    np.testing.assert_array_equal(a.pose.xy_px, b.pose.xy_px)
    for mid in ("cadence_spm", "contact_time_ms", "duty_factor_pct", "overstride_pct_leg"):
        assert a.metrics.summaries[mid].value == b.metrics.summaries[mid].value, mid
