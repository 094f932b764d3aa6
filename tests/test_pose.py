"""Pose stage with the real model on real clips: "any phone video in, a timed landmark series
out".

Model runs: the sample once per session (``pose_of``, shared with other test modules), the
sample once more through the real CLI (``formcheck pose``), a 2 s rotated variable-frame-rate
clip through the CLI with ``--slowmo 4``, and 30 still frames in IMAGE mode for the check
against legacy MediaPipe.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SAMPLE, run_cli
from test_video import (
    SMALL_H,
    SMALL_W,
    container_times_s,
    sample_frames,
    vfr_pts_ms,
    write_clip,
)

from formcheck import __version__
from formcheck.landmarks import (
    L_ANKLE,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    NAMES,
    NOSE,
    R_ANKLE,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
)
from formcheck.pose import PoseSeries, default_model_path
from formcheck.video import iter_frames

LEGACY_REFERENCE = REPO / "tests" / "data" / "legacy_pose_reference.npz"
REPO_MODEL = REPO / "models" / "pose_landmarker_full.task"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def upright_fraction(ps: PoseSeries) -> dict[str, float]:
    """Fraction of detected frames in which, in image y (down), each leg's hip is above its
    knee and the knee above the ankle, shoulders are above hips and the nose above the
    shoulders."""
    y = ps.xy_px[ps.detected, :, 1]
    out = {}
    for side, (h, k, a) in {"left": (L_HIP, L_KNEE, L_ANKLE),
                            "right": (R_HIP, R_KNEE, R_ANKLE)}.items():
        out[f"{side} hip<knee<ankle"] = float(np.mean((y[:, h] < y[:, k]) & (y[:, k] < y[:, a])))
    sh = (y[:, L_SHOULDER] + y[:, R_SHOULDER]) / 2
    hip = (y[:, L_HIP] + y[:, R_HIP]) / 2
    out["shoulders<hips"] = float(np.mean(sh < hip))
    out["nose<shoulders"] = float(np.mean(y[:, NOSE] < sh))
    return out


# --- the sample clip (session-cached model run) -------------------------------------------


def test_sample_detection_rate_and_times_are_the_container_pts(pose_of) -> None:  # noqa: ANN001
    ps = pose_of(SAMPLE)
    assert ps.detection_rate >= 0.95
    assert (ps.width_px, ps.height_px) == (720, 1280)
    expected = container_times_s(SAMPLE)  # PyAV pts * time_base, minus the first
    assert ps.n_frames == len(expected) == 360
    np.testing.assert_allclose(ps.t_s, expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ps.frame_index, np.arange(360))
    assert ps.nominal_fps == pytest.approx(30.0)
    assert ps.fps_real == pytest.approx(30.0, abs=0.05)


def test_sample_landmarks_are_anatomically_upright(pose_of) -> None:  # noqa: ANN001
    ps = pose_of(SAMPLE)
    for check, frac in upright_fraction(ps).items():
        assert frac >= 0.90, f"{check} in only {100 * frac:.1f} % of frames"
    # landmarks are in pixels of the full upright frame: the body lies inside it
    xy = ps.xy_px[ps.detected][:, [L_HIP, R_HIP, L_KNEE, R_KNEE, L_SHOULDER, R_SHOULDER]]
    assert np.all((xy[..., 0] > 0) & (xy[..., 0] < ps.width_px))
    assert np.all((xy[..., 1] > 0) & (xy[..., 1] < ps.height_px))


# --- the bundle against legacy MediaPipe --------------------------------------------------


def test_bundle_agrees_with_legacy_mediapipe() -> None:
    """models/README.md: the bundle in mediapipe 1.x IMAGE mode reproduces legacy
    ``mp.solutions.pose`` (0.10.21, static images, model_complexity=1) on the same frames."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    ref = np.load(LEGACY_REFERENCE)
    assert str(ref["video_sha256"]) == _sha256(SAMPLE), "reference made from another video"
    # the bundle formcheck loads is the one in models/ that the README documents
    assert _sha256(default_model_path()) == _sha256(REPO_MODEL)
    wanted = {int(i): k for k, i in enumerate(ref["frame_indices"])}
    frames: dict[int, np.ndarray] = {}
    for fr in iter_frames(SAMPLE):  # full size, upright, like the reference
        if fr.index in wanted:
            frames[fr.index] = np.array(fr.image)
    assert len(frames) == len(wanted) == 30
    w, h = (int(v) for v in ref["image_size"])
    px = np.full((len(wanted), 33, 2), np.nan)
    opts = PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(REPO_MODEL)),
                                 running_mode=RunningMode.IMAGE, num_poses=1)
    with PoseLandmarker.create_from_options(opts) as lm:
        for i, k in wanted.items():
            assert frames[i].shape == (h, w, 3)
            res = lm.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=frames[i]))
            if res.pose_landmarks:
                px[k] = [(p.x * w, p.y * h) for p in res.pose_landmarks[0]]
    found = np.isfinite(px[:, 0, 0])
    np.testing.assert_array_equal(found, ref["detected"])
    d = np.linalg.norm(px[found] - ref["landmarks_px"][found], axis=-1)
    assert np.median(d) < 1.0, f"median {np.median(d):.2f} px"


# --- the CLI on the sample ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("cli_pose") / "out"
    return out, run_cli("pose", str(SAMPLE), "-o", str(out))


def test_version() -> None:
    r = run_cli("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"formcheck, version {__version__}"


def test_cli_pose_writes_landmarks(cli_sample, pose_of) -> None:  # noqa: ANN001
    out, r = cli_sample
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["landmarks.csv", "landmarks.npz",
                                                      "pose.json"]
    assert [p.name for p in out.parent.iterdir()] == ["out"]  # no staging folder left

    ps = PoseSeries.load(out / "landmarks.npz")
    assert ps.n_frames == 360
    assert (ps.width_px, ps.height_px, ps.slowmo) == (720, 1280, 1.0)
    np.testing.assert_allclose(ps.t_s, container_times_s(SAMPLE), rtol=0, atol=1e-9)
    with np.load(out / "landmarks.npz") as d:
        assert tuple(d["names"]) == NAMES
    # the CLI wrote what the API computes
    ref = pose_of(SAMPLE)
    np.testing.assert_array_equal(ps.detected, ref.detected)
    assert np.nanmedian(np.abs(ps.xy_px - ref.xy_px)) < 0.05

    # npz round trip: save -> load gives the same series
    again = out.parent / "again.npz"
    ps.save(again)
    back = PoseSeries.load(again)
    again.unlink()
    for name in ("t_s", "frame_index", "xy_px", "z", "visibility", "presence", "world_m",
                 "n_people"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ps, name), err_msg=name)
    assert (back.width_px, back.height_px, back.nominal_fps, back.slowmo) == \
        (ps.width_px, ps.height_px, ps.nominal_fps, ps.slowmo)

    # CSV: a header naming every landmark, one row per frame, values matching the npz
    with open(out / "landmarks.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["t_s", "frame"]
    assert header[2:] == [f"{n}_{q}" for n in NAMES
                          for q in ("x_px", "y_px", "z", "visibility")]
    assert len(body) == ps.n_frames
    assert all(len(r) == len(header) for r in body)
    t = np.array([float(r[0]) for r in body])
    np.testing.assert_allclose(t, ps.t_s, atol=1e-5)
    col = header.index("left_ankle_y_px")
    y = np.array([float(r[col]) if r[col] else np.nan for r in body])
    np.testing.assert_allclose(y, ps.xy_px[:, NAMES.index("left_ankle"), 1], atol=0.006)

    doc = json.loads((out / "pose.json").read_text())
    assert doc["n_frames"] == 360
    assert doc["detection_rate"] == pytest.approx(ps.detection_rate, abs=1e-4)
    assert doc["video"]["width_px"] == 720 and doc["video"]["height_px"] == 1280
    assert doc["measured_fps"] == pytest.approx(30.0, abs=0.05)


# --- a phone-like clip: portrait stored rotated, variable frame rate, slow motion ---------


@pytest.fixture(scope="module")
def phone_clip_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """2 s of the sample as a phone stores a portrait clip (landscape frames + a display
    matrix turning them 90 degrees clockwise, as iPhones do), with frame intervals
    alternating 25/40 ms, run through ``formcheck pose --slowmo 4``."""
    tmp = tmp_path_factory.mktemp("phone")
    n = 64
    upright = sample_frames(n)
    pts = vfr_pts_ms(n)
    clip = write_clip(tmp / "phone.mp4", [np.rot90(u, k=1) for u in upright], pts,
                      options={"crf": "16"}, rotation_ccw=270)
    r = run_cli("pose", str(clip), "-o", str(tmp / "out"), "--slowmo", "4")
    return {"clip": clip, "written_s": (pts - pts[0]) / 1000.0, "result": r,
            "out": tmp / "out"}


def test_phone_clip_times_are_true_pts_divided_by_slowmo(phone_clip_run) -> None:  # noqa: ANN001
    r = phone_clip_run["result"]
    assert r.returncode == 0, r.stderr
    ps = PoseSeries.load(phone_clip_run["out"] / "landmarks.npz")
    written = phone_clip_run["written_s"]
    assert ps.n_frames == len(written)
    assert ps.slowmo == 4.0
    np.testing.assert_allclose(ps.t_s, written / 4.0, rtol=0, atol=1e-9)
    doc = json.loads((phone_clip_run["out"] / "pose.json").read_text())
    assert doc["video"]["slowmo"] == 4.0
    # mean interval 32.5 ms of video = 8.125 ms real: 123.1 frames per real second
    assert doc["measured_fps"] == pytest.approx((len(written) - 1) / (written[-1] / 4), 1e-3)


def test_phone_clip_pose_is_upright_and_matches_the_original(phone_clip_run,  # noqa: ANN001
                                                             pose_of) -> None:  # noqa: ANN001
    assert phone_clip_run["result"].returncode == 0, phone_clip_run["result"].stderr
    ps = PoseSeries.load(phone_clip_run["out"] / "landmarks.npz")
    assert (ps.width_px, ps.height_px) == (SMALL_W, SMALL_H)
    assert ps.detection_rate >= 0.95
    for check, frac in upright_fraction(ps).items():
        assert frac >= 0.90, f"{check} in only {100 * frac:.1f} % of frames"
    # the same body as in the original clip (at half size) - not a mirrored or turned one
    ref = pose_of(SAMPLE)
    scale = np.array([SMALL_W / ref.width_px, SMALL_H / ref.height_px])
    body = slice(11, 33)  # shoulders down
    both = ps.detected & ref.detected[:ps.n_frames]
    d = np.linalg.norm(ps.xy_px[both, body] - ref.xy_px[:ps.n_frames][both, body] * scale,
                       axis=-1)
    # re-encoding, half size and other frame times move landmarks by a few px; a wrong
    # orientation moves them by hundreds
    assert np.median(d) < 0.02 * SMALL_H, f"median {np.median(d):.1f} px"


# --- decode thread: errors reach the caller, nothing is left running ----------------------


def _decode_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == "formcheck-decode"]


def test_decode_errors_reach_the_caller_and_the_decoder_is_closed() -> None:
    from formcheck.errors import CorruptVideoError
    from formcheck.pose import extract_frames
    from formcheck.video import probe

    info = probe(SAMPLE)
    closed: list[str] = []

    def damaged() -> object:
        try:
            for fr in iter_frames(SAMPLE, max_side_px=256):
                if fr.index == 3:
                    raise CorruptVideoError("damaged at frame 3", SAMPLE)
                yield fr
        finally:
            closed.append("damaged")

    with pytest.raises(CorruptVideoError, match="damaged at frame 3"):
        extract_frames(damaged(), info, progress=False)
    assert closed == ["damaged"]

    # the consumer fails (a callback raising): decoding stops and the file is closed
    seen: list[int] = []

    def endless() -> object:
        try:
            yield from iter_frames(SAMPLE, max_side_px=256)
        finally:
            closed.append("endless")

    def boom(fr, xy) -> None:  # noqa: ANN001
        seen.append(fr.index)
        if fr.index == 2:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        extract_frames(endless(), info, progress=False, on_frame=boom)
    assert seen == [0, 1, 2]
    assert closed == ["damaged", "endless"]
    assert _decode_threads() == []


def test_landmarks_wait_in_an_unlinked_temp_file_and_unwritable_tmp_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the model runs, landmarks go to a temporary file (so the pose stage's memory
    does not grow with clip length); nothing is left in the temporary folder afterwards, and
    a temporary folder that cannot be written is an OutputWriteError, not a traceback."""
    import tempfile

    from formcheck.errors import OutputWriteError
    from formcheck.pose import extract_frames
    from formcheck.video import probe

    info = probe(SAMPLE)
    frames = (fr for fr in iter_frames(SAMPLE, max_side_px=256) if fr.index < 6)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ps = extract_frames(frames, info, progress=False)
    assert ps.n_frames == 6 and ps.detected.all()
    assert ps.xy_px.dtype == np.float32 and ps.xy_px.flags.c_contiguous
    assert list(tmp_path.iterdir()) == []  # the file was never visible, and is gone

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with pytest.raises(OutputWriteError, match="TMPDIR"):
        extract_frames(iter_frames(SAMPLE, max_side_px=256), info, progress=False)
    assert _decode_threads() == []
