"""One clip on several worker processes: segment decoding, the seams, the joined landmarks
and metrics against a single-worker run, the annotated video rendered in pieces, and errors
from a worker.  Real model, real decode and encode."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import SAMPLE, run_cli
from test_annotate import make_phone_clip, stream_facts

from formcheck import annotate
from formcheck import pose_parallel as pp
from formcheck.api import Options, analyze_pose
from formcheck.pose import DEFAULT_MODEL_SIDE_PX
from formcheck.video import iter_frames, iter_segment, probe, timeline


@pytest.fixture(scope="module")
def pool() -> object:
    with pp.PosePool(2) as p:
        yield p


@pytest.fixture(scope="module")
def parallel_sample(pool) -> tuple[object, pp.Joined]:  # noqa: ANN001
    info, tl = probe(SAMPLE), timeline(SAMPLE)
    assert tl is not None
    res = pp.extract_parallel(SAMPLE, info, tl, 2, model_side_px=DEFAULT_MODEL_SIDE_PX,
                              pool=pool, progress=False)
    assert res is not None
    return res


def test_timeline_matches_a_full_decode() -> None:
    tl = timeline(SAMPLE)
    assert tl is not None
    frames = [(f.index, f.video_t_s) for f in iter_frames(SAMPLE, max_side_px=64)]
    assert tl.n_frames == len(frames) == 360
    assert np.array_equal(tl.video_t_s, np.array([t for _, t in frames]))
    assert tl.keyframe_pts[0] == tl.pts[0]


def test_a_segment_decodes_exactly_its_frames_with_the_same_pixels() -> None:
    tl = timeline(SAMPLE)
    info = probe(SAMPLE)
    a, b = 200, 215  # after the sample's first keyframe, before its second one
    got = list(iter_segment(SAMPLE, int(tl.pts[a]), int(tl.pts[b]), info.rotation_deg,
                            max_side_px=320))
    assert [p for p, _ in got] == [int(x) for x in tl.pts[a:b]]
    ref = {f.index: f.image for f in iter_frames(SAMPLE, max_side_px=320) if a <= f.index < b}
    for (_, img), i in zip(got, range(a, b), strict=True):
        assert np.array_equal(img, ref[i])


def test_segments_cover_the_clip_once_with_an_overlap() -> None:
    tl = timeline(SAMPLE)
    most = int(tl.video_t_s[-1] // pp.MIN_SEGMENT_S)  # 11.97 s: 3 segments of >= 3 s
    segs = pp.plan_segments(tl, 2)
    assert len(segs) == 2
    assert segs[0].keep_start == 0 and segs[-1].keep_end == tl.n_frames
    for s0, s1 in zip(segs[:-1], segs[1:], strict=True):
        assert s0.keep_end == s1.keep_start
        assert s1.run_start == s1.keep_start - round(pp.OVERLAP_S * 30)
        assert s1.decode_start <= s1.run_start
    assert len(pp.plan_segments(tl, 8)) == most == 3  # none shorter than MIN_SEGMENT_S
    assert len(pp.plan_segments(tl, 1)) == 1


def test_seams_join_exactly_by_timestamp_and_stay_close_to_one_worker(
        pose_of, parallel_sample) -> None:  # noqa: ANN001
    one = pose_of(SAMPLE)  # extract(jobs=1)
    many, joined = parallel_sample
    assert np.array_equal(one.t_s, many.t_s)
    assert np.array_equal(one.frame_index, many.frame_index)
    assert np.array_equal(one.detected, many.detected)
    (seam,) = joined.seams
    d = np.nanmedian(np.linalg.norm(one.xy_px - many.xy_px, axis=2), axis=1)
    assert np.all(d[:seam] == 0)  # before the seam: the first worker, the same landmarker
    # after it, another landmarker: about the model's own noise (2.2 px for +-1 grey
    # level), and no jump at the seam beyond that
    assert np.median(d[seam:]) <= 3.0
    assert joined.seam_px[0] <= 3.0
    assert np.array_equal(many.n_people, one.n_people)


def test_metrics_of_the_joined_series_match_one_worker(pose_of, parallel_sample) -> None:  # noqa: ANN001
    a = analyze_pose(pose_of(SAMPLE), Options())
    b = analyze_pose(parallel_sample[0], Options())
    assert a.view.view == b.view.view and a.events.n == b.events.n
    off = []
    for k, s in a.metrics.summaries.items():
        t = b.metrics.summaries[k]
        assert (s.value is None) == (t.value is None), k
        if s.value is None:
            continue
        # within the reported spread (IQR over steps); a share of steps has none: there,
        # two steps changing class (borderline steps, as +-1 grey level of noise does)
        tol = s.spread if s.spread is not None else 200.0 / max(1, s.n_steps)
        print(k, s.value, t.value, s.spread, s.n_steps)
        if abs(s.value - t.value) > tol + 1e-9:
            off.append((k, s.value, t.value, s.spread, s.n_steps))
    assert not off
    assert abs(a.metrics.summaries["cadence_spm"].value
               - b.metrics.summaries["cadence_spm"].value) <= 0.5


def test_select_people_takes_the_one_person_and_refuses_several() -> None:
    counts = np.array([1, 0, 1], np.int16)
    rows = np.stack([np.full((33, 8), v, np.float32) for v in (0.2, 0.4)])
    out = pp.select_people(counts, rows, np.arange(3) / 30, 1)
    assert np.allclose(out[0], 0.2) and np.isnan(out[1]).all() and np.allclose(out[2], 0.4)
    with pytest.raises(ValueError):
        pp.select_people(counts, rows, np.arange(3) / 30, 2)


def test_annotated_video_in_pieces_has_every_frame_at_its_time(
        pose_of, pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The rotated, variable-frame-rate phone clip: pieces decode from mid-clip keyframes,
    keep the rotation and the exact times, and join into one playable H.264 file."""
    monkeypatch.setattr(annotate, "MIN_PIECE_S", 1.0)  # the 4 s clip: 2 pieces
    clip = make_phone_clip(tmp_path / "phone.mp4")
    analysis = replace(analyze_pose(pose_of(clip), Options()), source=str(clip))
    one, many = tmp_path / "one.mp4", tmp_path / "many.mp4"
    annotate.write_annotated(analysis, None, one, max_side_px=320, progress=False)
    annotate.write_annotated(analysis, None, many, max_side_px=320, progress=False,
                             frames_dir=tmp_path / "frames", pool=pool)
    a, b = stream_facts(one), stream_facts(many)
    assert b["codec"] == "h264" and b["pix_fmt"] == "yuv420p"
    assert (b["width"], b["height"]) == (a["width"], a["height"]) == (180, 320)
    assert np.array_equal(a["t"], b["t"])
    def keyframes(path: Path) -> list[float]:
        with av.open(str(path)) as c:
            return [float(p.pts * p.time_base) for p in c.demux(video=0)
                    if p.is_keyframe and p.pts is not None]

    # the second piece starts with a keyframe of its own, where one pass has none
    assert len(set(keyframes(many)) - set(keyframes(one))) == 1
    with av.open(str(one)) as c1, av.open(str(many)) as c2:
        for f1, f2 in zip(c1.decode(video=0), c2.decode(video=0), strict=True):
            x = f1.to_ndarray(format="rgb24").astype(np.float32)
            y = f2.to_ndarray(format="rgb24").astype(np.float32)
            assert 10 * np.log10(255 ** 2 / max(np.mean((x - y) ** 2), 1e-9)) > 30
    assert len(list((tmp_path / "frames").glob("*.png"))) == analysis.events.n
    assert not list(tmp_path.glob(".*part*"))


def test_lean_mediapipe_import_keeps_the_package_usable() -> None:
    code = (
        "import sys\n"
        "from formcheck.pose import mediapipe_pose_api\n"
        "api = mediapipe_pose_api()\n"
        "assert 'matplotlib' not in sys.modules\n"
        "import mediapipe as mp\n"
        "assert mp.Image is api.Image\n"
        "from mediapipe.tasks.python.vision import PoseLandmarker\n"
        "assert PoseLandmarker is api.PoseLandmarker\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_worker_error_is_one_line_with_its_exit_code(tmp_path: Path) -> None:
    r = run_cli("analyze", str(SAMPLE), "-o", str(tmp_path / "out"), "--jobs", "2",
                "--model", str(tmp_path / "missing.task"), "-q")
    assert r.returncode not in (0, 1), r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("formcheck: error:"), r.stderr
    assert not (tmp_path / "out").exists()


def test_library_default_is_one_process_and_jobs_is_not_a_setting() -> None:
    assert Options().jobs == 1
    assert "jobs" not in Options(jobs=4).to_dict()  # not in report.json nor batch stamps


def test_a_batch_of_one_long_clip_uses_every_core(parallel_sample, tmp_path: Path) -> None:  # noqa: ANN001
    """Fewer recordings than jobs: the recording is split in time segments like analyze -j 2
    (the same landmarks, exactly)."""
    import shutil

    (tmp_path / "in").mkdir()
    shutil.copyfile(SAMPLE, tmp_path / "in" / SAMPLE.name)
    r = run_cli("batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--no-video",
                "--no-html", "--jobs", "2")
    assert r.returncode == 0, r.stderr
    got = np.load(tmp_path / "out" / f"{SAMPLE.name}_formcheck" / "landmarks.npz")["xy_px"]
    assert np.array_equal(got, parallel_sample[0].xy_px, equal_nan=True)
