"""The annotated review video (annotated.mp4): container, codec, timing, orientation,
overlays, stills, --slowmo-contacts and the CLI switches.

Landmarks come from real pose-model runs (the session-cached ``pose_of``); every file is
decoded back with PyAV directly, and expected values (frame times, sizes, orientation,
pixels) are taken from the input clip, not from formcheck's own code.  The "phone" clip is
made here from the sample: 4 s re-encoded rotated 90 deg to landscape with a display-matrix
flag (so a player shows it upright) and a variable frame rate.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import SAMPLE, run_cli

from formcheck import annotate
from formcheck.api import Options, analyze_pose
from formcheck.errors import OutputWriteError
from formcheck.landmarks import (
    L_ANKLE,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    R_ANKLE,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
)
from formcheck.video import iter_frames

#: Longest side of the annotated sample in these tests (small, to keep them fast).
MAX_SIDE = 640
#: Frame intervals (ms) of the phone clip, cycled: a variable frame rate around 30 fps.
PHONE_STEPS_MS = (28, 38, 33, 40, 26)
PHONE_SECONDS = 4.0
BODY = (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE)


def top_level_boxes(path: Path) -> list[str]:
    """Types of the top-level MP4 boxes, in file order (ISO/IEC 14496-12 box headers)."""
    out = []
    data = path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        assert size >= 8, f"bad box size at byte {pos}"
        out.append(kind.decode("latin-1"))
        pos += size
    return out


def stream_facts(path: Path) -> dict[str, object]:
    """Codec, pixel format, size, rotation, frame times (s, from the first) and duration (s)
    of a file's video stream, decoded with PyAV."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        pts, rot = [], None
        for f in c.decode(s):
            pts.append(float(f.pts * f.time_base))
            if rot is None:
                rot = int(f.rotation or 0)
        duration = float(s.duration * s.time_base) if s.duration else c.duration / 1e6
        pts_a = np.array(pts)
        return {"codec": s.codec_context.name, "pix_fmt": s.codec_context.pix_fmt,
                "width": s.codec_context.width, "height": s.codec_context.height,
                "rotation": rot, "t": pts_a - pts_a[0], "duration": duration}


def decoded_frames(path: Path, indices: set[int]) -> dict[int, np.ndarray]:
    """RGB frames (as stored, no rotation applied) at the given decode indices."""
    out = {}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in indices:
                out[i] = f.to_ndarray(format="rgb24")
            if len(out) == len(indices):
                break
    return out


def make_phone_clip(path: Path) -> Path:
    """The first PHONE_SECONDS of the sample (portrait 720x1280), stored rotated 90 deg
    clockwise as landscape 1280x720 with a display matrix asking players to turn it back
    (90 deg counter-clockwise), at a variable frame rate."""
    with av.open(str(SAMPLE)) as src, av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=30)
        st.width, st.height, st.pix_fmt = 1280, 720, "yuv420p"
        st.time_base = Fraction(1, 1000)
        st.codec_context.time_base = Fraction(1, 1000)
        st.options = {"crf": "18", "preset": "veryfast"}
        st.set_display_rotation(90)
        t_ms = 0
        for i, f in enumerate(src.decode(video=0)):
            if t_ms > PHONE_SECONDS * 1000:
                break
            img = np.ascontiguousarray(np.rot90(f.to_ndarray(format="rgb24"), k=-1))
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = t_ms
            frame.time_base = Fraction(1, 1000)
            for p in st.encode(frame):
                out.mux(p)
            t_ms += PHONE_STEPS_MS[i % len(PHONE_STEPS_MS)]
        for p in st.encode():
            out.mux(p)
    return path


@pytest.fixture(scope="module")
def sample_run(pose_of, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:  # noqa: ANN001
    """The sample annotated at MAX_SIDE px with a still per contact."""
    analysis = analyze_pose(pose_of(SAMPLE), Options())
    analysis = replace(analysis, source=str(SAMPLE))
    d = tmp_path_factory.mktemp("annotated_sample")
    out = d / "annotated.mp4"
    annotate.write_annotated(analysis, None, out, max_side_px=MAX_SIDE,
                             frames_dir=d / "frames", progress=False)
    return {"analysis": analysis, "out": out, "frames": d / "frames", "dir": d}


@pytest.fixture(scope="module")
def phone_run(pose_of, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:  # noqa: ANN001
    """The rotated, variable-frame-rate phone clip analysed and annotated twice: as is and
    with --slowmo-contacts."""
    d = tmp_path_factory.mktemp("annotated_phone")
    clip = make_phone_clip(d / "phone.mp4")
    analysis = analyze_pose(pose_of(clip), Options())
    out = d / "annotated.mp4"
    annotate.write_annotated(analysis, None, out, progress=False)
    slow = d / "annotated_slow.mp4"
    annotate.write_annotated(analysis, None, slow, max_side_px=320, slowmo_contacts=True,
                             progress=False)
    return {"clip": clip, "analysis": analysis, "out": out, "slow": slow}


def test_sample_is_h264_yuv420p_faststart_with_the_input_timing(sample_run) -> None:  # noqa: ANN001
    out: Path = sample_run["out"]
    got, src = stream_facts(out), stream_facts(SAMPLE)
    assert got["codec"] == "h264"
    assert got["pix_fmt"] == "yuv420p"
    boxes = top_level_boxes(out)
    assert "moov" in boxes and "mdat" in boxes, boxes
    assert boxes.index("moov") < boxes.index("mdat"), f"moov after mdat: {boxes}"
    assert got["t"].size == src["t"].size, "frame count differs from the input's"
    frame_s = float(np.median(np.diff(src["t"])))
    assert abs(got["duration"] - src["duration"]) <= frame_s + 1e-6, \
        (got["duration"], src["duration"])
    np.testing.assert_allclose(got["t"], src["t"], atol=1e-4)
    # size: longest side capped, aspect kept, even sides, no rotation flag needed
    w, h = got["width"], got["height"]
    assert max(w, h) == MAX_SIDE and w % 2 == 0 and h % 2 == 0
    assert abs(w / h - src["width"] / src["height"]) < 2.0 / h
    assert got["rotation"] == 0


def test_overlays_are_drawn_at_the_landmarks_and_nowhere_else(sample_run) -> None:  # noqa: ANN001
    """Near each visible body landmark the annotated frame differs strongly from the
    un-annotated frame; away from the landmarks (and below the panels) it does not."""
    analysis = sample_run["analysis"]
    pose = analysis.pose
    out: Path = sample_run["out"]
    rows = np.flatnonzero(pose.detected)
    picks = rows[np.linspace(0, rows.size - 1, 6).astype(int)]
    idx = {int(pose.frame_index[r]) for r in picks}
    ann = decoded_frames(out, idx)
    src = decoded_frames(SAMPLE, idx)
    h, w = next(iter(ann.values())).shape[:2]
    sx, sy = w / pose.width_px, h / pose.height_px
    yy, xx = np.mgrid[0:h, 0:w]
    hits, total = 0, 0
    for r in picks:
        i = int(pose.frame_index[r])
        base = cv2.resize(src[i], (w, h), interpolation=cv2.INTER_AREA).astype(int)
        diff = np.abs(ann[i].astype(int) - base).max(axis=2)
        pts = [(pose.xy_px[r, j, 0] * sx, pose.xy_px[r, j, 1] * sy) for j in BODY
               if pose.visibility[r, j] >= 0.5 and np.isfinite(pose.xy_px[r, j]).all()]
        for x, y in pts:
            x0, y0 = int(round(x)), int(round(y))
            win = diff[max(0, y0 - 3):y0 + 4, max(0, x0 - 3):x0 + 4]
            total += 1
            hits += int(win.size > 0 and win.max() > 80)
        # control: far from every landmark of this frame and below the head-up panels
        far = np.ones((h, w), bool)
        for x, y in [(pose.xy_px[r, j, 0] * sx, pose.xy_px[r, j, 1] * sy)
                     for j in range(33) if np.isfinite(pose.xy_px[r, j]).all()]:
            far &= (xx - x) ** 2 + (yy - y) ** 2 > 60 ** 2
        far[: int(0.4 * h)] = False
        assert far.sum() > 0.1 * h * w
        assert np.median(diff[far]) <= 6, "the video under the overlays is not the input's"
    assert total >= 20
    assert hits >= 0.9 * total, f"overlay found at {hits} of {total} visible landmarks"


def test_a_still_per_contact(sample_run) -> None:  # noqa: ANN001
    analysis = sample_run["analysis"]
    stills = sorted(Path(sample_run["frames"]).glob("*.png"))
    ev = analysis.events
    assert ev.n >= 10
    assert len(stills) == ev.n
    w, h = stream_facts(sample_run["out"])["width"], stream_facts(sample_run["out"])["height"]
    for k, p in enumerate(stills):
        assert p.name.startswith(f"contact_{k:03d}_{ev.foot[k]}_")
        t = float(p.name.rsplit("_", 1)[1].removesuffix("s.png"))
        assert abs(t - ev.ic_t_s[k]) < 1e-3
    img = cv2.imread(str(stills[len(stills) // 2]))
    assert img.shape == (h, w, 3)
    # a still is the annotated frame nearest its contact: it differs from the plain frame
    k = len(stills) // 2
    j = int(np.argmin(np.abs(analysis.pose.t_s - ev.ic_t_s[k])))
    i = int(analysis.pose.frame_index[j])
    plain = cv2.resize(decoded_frames(SAMPLE, {i})[i], (w, h), interpolation=cv2.INTER_AREA)
    video = decoded_frames(sample_run["out"], {i - 1, i, i + 1})
    still = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(int)

    def changed(a: np.ndarray, b: np.ndarray) -> float:
        """Share of pixels differing by more than 40 levels (beyond compression noise)."""
        return float((np.abs(a - b.astype(int)).max(axis=2) > 40).mean())

    same = changed(still, video[i])
    assert same < 0.5 * min(changed(still, video[i - 1]), changed(still, video[i + 1])), \
        "the still is not the video's frame nearest the contact"
    assert changed(still, plain) > 3 * same  # and it carries the overlays


def test_rotated_phone_clip_is_decoded_upright(phone_run) -> None:  # noqa: ANN001
    clip: Path = phone_run["clip"]
    stored = stream_facts(clip)
    assert (stored["width"], stored["height"]) == (1280, 720)  # stored landscape ...
    assert stored["rotation"] == 90  # ... with a flag to show it turned back to portrait
    originals = decoded_frames(SAMPLE, {0, 30, 90})
    got = {f.index: f.image for f in iter_frames(clip) if f.index in (0, 30, 90)}
    for i, img in got.items():
        assert img.shape == (1280, 720, 3)
        assert np.abs(img.astype(int) - originals[i]).mean() < 4, f"frame {i} not upright"
        # and not merely portrait: upside-down would not match
        assert np.abs(img[::-1, ::-1].astype(int) - originals[i]).mean() > 20


def test_rotated_vfr_clip_gives_a_portrait_video_with_the_same_times(phone_run) -> None:  # noqa: ANN001
    got, src = stream_facts(phone_run["out"]), stream_facts(phone_run["clip"])
    assert got["codec"] == "h264" and got["pix_fmt"] == "yuv420p"
    assert got["rotation"] == 0
    assert got["height"] > got["width"], "annotated.mp4 of a portrait clip is not portrait"
    assert (got["width"], got["height"]) == (608, 1080)
    assert got["t"].size == src["t"].size
    np.testing.assert_allclose(got["t"], src["t"], atol=1e-4)  # variable frame rate kept
    assert np.ptp(np.diff(src["t"])) > 0.01
    assert abs(got["duration"] - src["duration"]) <= max(PHONE_STEPS_MS) / 1000 + 1e-6
    # the picture is the upright original
    ann = decoded_frames(phone_run["out"], {45})[45]
    orig = cv2.resize(decoded_frames(SAMPLE, {45})[45], (608, 1080),
                      interpolation=cv2.INTER_AREA)
    assert np.median(np.abs(ann.astype(int) - orig).max(axis=2)) <= 6


def test_slowmo_contacts_stretches_only_the_moments_around_contacts(phone_run) -> None:  # noqa: ANN001
    """Within +/-0.15 s of a contact frame intervals are 4x the input's; elsewhere they are
    the input's; the frame count is kept and the clip gets longer."""
    analysis = phone_run["analysis"]
    src, slow = stream_facts(phone_run["clip"]), stream_facts(phone_run["slow"])
    assert slow["t"].size == src["t"].size
    ic = analysis.events.ic_t_s
    assert ic.size >= 4
    t = src["t"]  # slowmo 1: real time = video time
    d_in, d_out = np.diff(t), np.diff(slow["t"])
    near = np.array([np.any((a >= ic - 0.15 - 1e-6) & (b <= ic + 0.15 + 1e-6))
                     for a, b in zip(t[:-1], t[1:], strict=True)])
    away = np.array([np.all((b <= ic - 0.15 + 1e-6) | (a >= ic + 0.15 - 1e-6))
                     for a, b in zip(t[:-1], t[1:], strict=True)])
    assert near.sum() >= 10 and away.sum() >= 10
    np.testing.assert_allclose(d_out[near], 4 * d_in[near], atol=2e-4)
    np.testing.assert_allclose(d_out[away], d_in[away], atol=2e-4)
    assert slow["duration"] > src["duration"] + 3 * d_in[near].sum() - 0.05


def test_unwritable_target_raises_and_leaves_nothing(sample_run, tmp_path: Path) -> None:  # noqa: ANN001
    short = replace(sample_run["analysis"], source=str(sample_run["out"]))
    target = tmp_path / "annotated.mp4"
    target.mkdir()  # a folder where the file should go: the final rename fails
    with pytest.raises(OutputWriteError):
        annotate.write_annotated(short, None, target, max_side_px=240, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotated.mp4"]
    assert not any(target.iterdir())


def test_cli_writes_the_video_unless_no_video(pose_of, tmp_path: Path) -> None:  # noqa: ANN001
    """Real CLI runs (landmarks from a previous run via --pose, to skip the model)."""
    lm = tmp_path / "landmarks.npz"
    pose_of(SAMPLE).save(lm)
    out = tmp_path / "with"
    r = run_cli("analyze", str(SAMPLE), "-o", str(out), "--pose", str(lm), "--no-html",
                "--max-size", "480", "--frames", "--quiet")
    assert r.returncode == 0, r.stderr
    facts = stream_facts(out / "annotated.mp4")
    assert max(facts["width"], facts["height"]) == 480 and facts["codec"] == "h264"
    assert len(list((out / "frames").glob("contact_*.png"))) >= 10
    none = tmp_path / "without"
    r = run_cli("analyze", str(SAMPLE), "-o", str(none), "--pose", str(lm), "--no-html",
                "--no-video", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (none / "report.json").is_file()
    assert not list(none.rglob("*.mp4")) and not (none / "frames").exists()


def test_slow_windows_and_stretch() -> None:
    """The timestamp warp on hand-worked numbers (slowmo 2: real 1 s = video 2 s)."""
    w = annotate.slow_windows(np.array([1.0, 1.2, 3.0]), slowmo=2.0, half_window_s=0.15)
    np.testing.assert_allclose(w, [(1.7, 2.7), (5.7, 6.3)])
    assert annotate.stretch_time(1.0, w, 4.0) == pytest.approx(1.0)
    assert annotate.stretch_time(2.2, w, 4.0) == pytest.approx(2.2 + 3 * 0.5)
    assert annotate.stretch_time(7.0, w, 4.0) == pytest.approx(7.0 + 3 * (1.0 + 0.6))
    assert annotate.output_size(720, 1280, 1080) == (608, 1080)
    assert annotate.output_size(1281, 721, 4000) == (1280, 720)


def test_skeleton_left_solid_right_dashed_low_visibility_faint(sample_run) -> None:  # noqa: ANN001
    """On a plain grey frame: the left shin is one solid colour along its length, the right
    shin alternates (dashed: distinguishable without colour), and a leg whose landmarks have
    visibility < 0.5 is drawn much fainter."""
    painter = annotate.Painter(sample_run["analysis"], 400, 400)
    painter.sx = painter.sy = 1.0  # landmarks given directly in output pixels
    xy = np.full((33, 2), np.nan)
    xy[L_KNEE], xy[L_ANKLE] = (100, 100), (100, 300)
    xy[R_KNEE], xy[R_ANKLE] = (300, 100), (300, 300)
    vis = np.ones(33)
    grey = np.full((400, 400, 3), 128, np.uint8)

    def along(img: np.ndarray, x: int) -> np.ndarray:
        return img[130:270, x].astype(int)  # the shin's centre line, clear of the joints

    img = grey.copy()
    painter.skeleton(img, xy, vis)
    left = along(img, 100)
    right = along(img, 300)
    near = lambda px, c: np.abs(px - np.array(c)).max(axis=1) < 40  # noqa: E731
    assert near(left, annotate.SIDE_COLOR["L"]).mean() > 0.95
    on = near(right, annotate.SIDE_COLOR["R"]).mean()
    assert 0.3 < on < 0.75, f"right shin is not dashed ({on:.0%} orange)"
    # L / R letters beside the knees
    assert (np.abs(img[60:140, 0:90].astype(int) - 128).max(axis=2) > 60).sum() > 10
    assert (np.abs(img[60:140, 310:400].astype(int) - 128).max(axis=2) > 60).sum() > 10
    vis_low = vis.copy()
    vis_low[[R_KNEE, R_ANKLE]] = 0.2
    faint = grey.copy()
    painter.skeleton(faint, xy, vis_low)
    strong_dev = np.abs(img[100:300, 290:311].astype(int) - 128).max(axis=2).max()
    faint_dev = np.abs(faint[100:300, 290:311].astype(int) - 128).max(axis=2).max()
    assert 0 < faint_dev < 0.5 * strong_dev, (faint_dev, strong_dev)
    np.testing.assert_array_equal(faint[:, :200], img[:, :200])  # the left leg unchanged
