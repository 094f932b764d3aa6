"""Robustness: every kind of bad or unusual input gives either a complete analysis or one clear
stderr line with its documented exit code (docs/errors.md) -- never a traceback, a hang, a
half-written output folder or a modified input.

Inputs are made here with PyAV from the sample clip (short, so the real pose model stays
cheap) in a session fixture; each case runs the real CLI in a subprocess, as a user would.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import SAMPLE, SAMPLE_DIR, run_cli, shared_clip

from formcheck.errors import EXIT_CODES

SHORT_PAN = SAMPLE_DIR / "outdoor_side_short_pan.mp4"
FAST = {"preset": "ultrafast", "crf": "26"}

# --------------------------------------------------------------------------------------------
# Making test inputs with PyAV
# --------------------------------------------------------------------------------------------


def read_frames(src: Path, start_s: float = 0.0, dur_s: float | None = None
                ) -> Iterator[tuple[float, np.ndarray]]:
    """(time from ``start_s`` in s, RGB frame) for the frames of ``src`` in the window."""
    with av.open(str(src)) as c:
        for f in c.decode(video=0):
            t = float(f.pts * f.time_base)
            if t < start_s - 1e-6:
                continue
            if dur_s is not None and t >= start_s + dur_s - 1e-6:
                break
            yield t - start_s, f.to_ndarray(format="rgb24")


def write_video(path: Path, frames: Iterable[tuple[float, np.ndarray]], codec: str = "libx264",
                fmt: str | None = None, pix_fmt: str = "yuv420p", rate: float = 30,
                rotation_deg: float | None = None, faststart: bool = False,
                options: dict[str, str] | None = None, exact_times: bool = True) -> Path:
    """Encode (t_s, RGB) frames; ``exact_times`` stamps each frame with its own time."""
    copts = {"movflags": "+faststart"} if faststart else {}
    tb = Fraction(1, 90000)
    with av.open(str(path), "w", format=fmt, options=copts) as c:
        s = c.add_stream(codec, rate=Fraction(rate).limit_denominator(1001))
        started = False
        for i, (t, img) in enumerate(frames):
            if not started:
                s.width, s.height = img.shape[1], img.shape[0]
                s.pix_fmt = pix_fmt
                if exact_times:
                    s.codec_context.time_base = tb
                if options:
                    s.options = dict(options)
                if rotation_deg is not None:
                    s.set_display_rotation(rotation_deg)
                started = True
            fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            if pix_fmt != "rgb24":
                fr = fr.reformat(format=pix_fmt)
            if exact_times:
                fr.pts, fr.time_base = int(round(t / tb)), tb
            else:
                fr.pts = i
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def mp4_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """Top-level MP4 boxes: (type, offset, size)."""
    out, i = [], 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        if size == 1:
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
        if size < 8:
            size = len(data) - i
        out.append((kind, i, size))
        i += size
    return out


def colour_bars(w: int, h: int, n: int, fps: float, seed: int = 0
                ) -> Iterator[tuple[float, np.ndarray]]:
    """SMPTE-like colour bars with moving noise in the lower third (no person)."""
    rng = np.random.default_rng(seed)
    bars = np.array([[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0],
                     [192, 0, 192], [192, 0, 0], [0, 0, 192]], dtype=np.uint8)
    base = bars[(np.arange(w) * 7 // w)][None, :, :].repeat(h, axis=0)
    for i in range(n):
        img = base.copy()
        img[2 * h // 3:] = rng.integers(0, 256, size=(h - 2 * h // 3, w, 3), dtype=np.uint8)
        yield i / fps, img


class Inputs:
    """Test inputs, each made on first use in a session folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[str, Path] = {}
        self._frames: list[tuple[float, np.ndarray]] | None = None

    def sample(self, start_s: float = 0.0, dur_s: float = 2.0
               ) -> list[tuple[float, np.ndarray]]:
        """Frames of the sample's first 3 s at half size (360x640: the pose model sees
        640 px at most anyway), decoded once; times from ``start_s``."""
        if self._frames is None:
            self._frames = []
            for t, img in read_frames(SAMPLE, 0.0, 3.0):
                fr = av.VideoFrame.from_ndarray(img, format="rgb24")
                self._frames.append((t, fr.reformat(width=360, height=640)
                                     .to_ndarray(format="rgb24")))
        return [(t - start_s, img) for t, img in self._frames
                if start_s - 1e-6 <= t < start_s + dur_s - 1e-6]

    def get(self, name: str) -> Path:
        if name not in self._made:
            self._made[name] = getattr(self, "make_" + name)(self.root / name)
        return self._made[name]

    # -- not videos ----------------------------------------------------------------------
    def make_missing(self, d: Path) -> Path:
        return d.with_suffix(".mp4")  # never created

    def make_folder(self, d: Path) -> Path:
        d.mkdir()
        (d / "clip.mp4").write_bytes(b"")
        return d

    def make_fifo(self, d: Path) -> Path:
        """A named pipe: opening it for reading would block until someone writes."""
        os.mkfifo(d)
        return d

    def make_empty(self, d: Path) -> Path:
        p = d.with_suffix(".mp4")
        p.write_bytes(b"")
        return p

    def make_text(self, d: Path) -> Path:
        p = d.with_suffix(".txt")
        p.write_text("My long run on Sunday felt great.\n" * 40)
        return p

    def make_text_as_mp4(self, d: Path) -> Path:
        p = d.with_suffix(".mp4")
        p.write_text("this is not a video\n" * 40)
        return p

    def _still(self, d: Path, ext: str, codec: str, pix: str) -> Path:
        p = d.with_suffix(ext)
        _, img = self.sample(1.0, 0.1)[0]
        with av.open(str(p), "w", format="image2") as c:
            s = c.add_stream(codec)
            s.width, s.height, s.pix_fmt = img.shape[1], img.shape[0], pix
            fr = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=pix)
            for pk in [*s.encode(fr), *s.encode()]:
                c.mux(pk)
        return p

    def make_png(self, d: Path) -> Path:
        return self._still(d, ".png", "png", "rgb24")

    def make_jpeg(self, d: Path) -> Path:
        return self._still(d, ".jpg", "mjpeg", "yuvj420p")

    def _audio(self, p: Path, codec: str, fmt: str) -> Path:
        sr = 44100
        tone = 0.3 * np.sin(2 * np.pi * 440.0 * np.arange(2 * sr) / sr)
        with av.open(str(p), "w", format=fmt) as c:
            s = c.add_stream(codec, rate=sr)
            s.layout = "mono"
            if codec == "aac":
                fr = av.AudioFrame.from_ndarray(tone.astype(np.float32)[None], format="fltp",
                                                layout="mono")
            else:
                fr = av.AudioFrame.from_ndarray((tone * 32767).astype(np.int16)[None],
                                                format="s16", layout="mono")
            fr.sample_rate, fr.pts = sr, 0
            for pk in [*s.encode(fr), *s.encode()]:
                c.mux(pk)
        return p

    def make_wav(self, d: Path) -> Path:
        return self._audio(d.with_suffix(".wav"), "pcm_s16le", "wav")

    def make_aac(self, d: Path) -> Path:
        return self._audio(d.with_suffix(".m4a"), "aac", "mp4")

    # -- damaged videos ------------------------------------------------------------------
    def make_clip2s(self, d: Path) -> Path:
        """2 s of the sample, moov atom at the end (the default)."""
        return write_video(d.with_suffix(".mp4"), self.sample(0.0, 2.0), options=FAST)

    def make_clip2s_faststart(self, d: Path) -> Path:
        return write_video(d.with_suffix(".mp4"), self.sample(0.0, 2.0), options=FAST,
                           faststart=True)

    def make_truncated_index_first(self, d: Path) -> Path:
        """Cut in the middle of the frame data; the index (moov) at the front survives."""
        data = self.get("clip2s_faststart").read_bytes()
        p = d.with_suffix(".mp4")
        p.write_bytes(data[: len(data) // 2])
        return p

    def make_truncated_index_last(self, d: Path) -> Path:
        """Cut in the middle: the index at the end is lost, as when a recording is cut."""
        data = self.get("clip2s").read_bytes()
        p = d.with_suffix(".mp4")
        p.write_bytes(data[: len(data) // 2])
        return p

    def make_no_moov(self, d: Path) -> Path:
        """Complete frame data, but the moov box removed."""
        data = self.get("clip2s").read_bytes()
        keep = [data[o:o + n] for k, o, n in mp4_boxes(data) if k != b"moov"]
        assert len(keep) < len(mp4_boxes(data))
        p = d.with_suffix(".mp4")
        p.write_bytes(b"".join(keep))
        return p

    def make_zero_frames_avi(self, d: Path) -> Path:
        """An AVI with an MJPEG video stream and no frames."""
        p = d.with_suffix(".avi")
        with av.open(str(p), "w") as c:
            s = c.add_stream("mjpeg", rate=30)
            s.width, s.height, s.pix_fmt = 320, 240, "yuvj420p"
            c.start_encoding()
        return p

    def make_zero_frames_mkv(self, d: Path) -> Path:
        """A Matroska file with an H.264 track header and no frames."""
        p = d.with_suffix(".mkv")
        with av.open(str(p), "w") as c:
            s = c.add_stream("libx264", rate=30)
            s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
            c.start_encoding()
        return p

    # -- unusual but valid videos --------------------------------------------------------
    def make_colour_bars(self, d: Path) -> Path:
        return write_video(d.with_suffix(".mp4"), colour_bars(640, 360, 60, 30.0),
                           options=FAST)

    def make_brief_person(self, d: Path) -> Path:
        """The runner for 1.5 s, then 2.5 s of black frames."""
        def frames() -> Iterator[tuple[float, np.ndarray]]:
            img = None
            for t, img in self.sample(0.0, 1.5):
                yield t, img
            assert img is not None
            black = np.zeros_like(img)
            for i in range(45, 120):
                yield i / 30.0, black
        return write_video(d.with_suffix(".mp4"), frames(), options=FAST)

    def make_late_entry(self, d: Path) -> Path:
        """No one for 0.5 s, the runner until 1.5 s, no one again, the runner from 2 s to
        2.5 s (a runner entering and leaving the view)."""
        def frames() -> Iterator[tuple[float, np.ndarray]]:
            for t, img in self.sample(0.0, 2.5):
                yield t, img if 0.5 <= t < 1.5 or t >= 2.0 else np.zeros_like(img)
        return write_video(d.with_suffix(".mp4"), frames(), options=FAST)

    def make_two_people(self, d: Path) -> Path:
        """Side by side: a mirrored copy of the runner (right) in view for the first 1 s, and
        the runner (left) in view from 0.5 s to the end (3 s).  Following whoever is nearest
        the previous frame's person would start on the right and switch to the left at 1 s;
        following the one in view longest keeps to the left."""
        def frames() -> Iterator[tuple[float, np.ndarray]]:
            for t, img in self.sample(0.0, 3.0):
                crop = img[280:640]  # lower part of the portrait frame: the runner
                left = crop if t >= 0.5 else np.zeros_like(crop)
                right = crop[:, ::-1] if t < 1.0 else np.zeros_like(crop)
                yield t, np.concatenate([left, right], axis=1)
        return write_video(d.with_suffix(".mp4"), frames(), options=FAST)

    def make_fps15(self, d: Path) -> Path:
        """3 s of the sample with every other frame dropped (15 fps, true times)."""
        src = ((t, img) for i, (t, img) in enumerate(self.sample(0.0, 3.0)) if i % 2 == 0)
        return write_video(d.with_suffix(".mp4"), src, rate=15, options=FAST)

    def make_fps240(self, d: Path) -> Path:
        """0.5 s of the sample at 240 fps: each 30 fps frame shown 8 times, 1/240 s apart
        (real time, as a high-speed camera's file is stamped)."""
        def frames() -> Iterator[tuple[float, np.ndarray]]:
            for i, (_, img) in enumerate(self.sample(0.0, 0.5)):
                for k in range(8):
                    yield (8 * i + k) / 240.0, img
        return write_video(d.with_suffix(".mp4"), frames(), rate=240, options=FAST)

    def make_portrait_rotated(self, d: Path) -> Path:
        """The portrait sample stored as landscape pixels with a 90 deg display rotation, as
        phones record it."""
        src = ((t, np.ascontiguousarray(np.rot90(img, k=-1)))
               for t, img in self.sample(0.0, 1.0))
        return write_video(d.with_suffix(".mp4"), src, rotation_deg=90, options=FAST)

    def make_vp9(self, d: Path) -> Path:
        return write_video(d.with_suffix(".webm"), self.sample(0.0, 1.0),
                           codec="libvpx-vp9", options={"deadline": "realtime",
                                                        "cpu-used": "8", "crf": "40",
                                                        "b": "0"})

    def make_hevc(self, d: Path) -> Path:
        return write_video(d.with_suffix(".mp4"), self.sample(0.0, 1.0),
                           codec="libx265", options={"preset": "ultrafast",
                                                     "x265-params": "log-level=error"})

    def make_mjpeg_avi(self, d: Path) -> Path:
        return write_video(d.with_suffix(".avi"), self.sample(0.0, 1.0),
                           codec="mjpeg", pix_fmt="yuvj420p", exact_times=False)

    def make_mjpeg_mov(self, d: Path) -> Path:
        return write_video(d.with_suffix(".mov"), self.sample(0.0, 1.0),
                           codec="mjpeg", pix_fmt="yuvj420p")

    def make_uhd4k(self, d: Path) -> Path:
        """1 s of the sample upscaled to 4K (2160x3840, portrait)."""
        def frames() -> Iterator[tuple[float, np.ndarray]]:
            for t, img in self.sample(0.0, 1.0):
                fr = av.VideoFrame.from_ndarray(img, format="rgb24")
                yield t, fr.reformat(width=2160, height=3840).to_ndarray(format="rgb24")
        return write_video(d.with_suffix(".mp4"), frames(), options=FAST)


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return Inputs(tmp_path_factory.mktemp("robust_inputs"))


# --------------------------------------------------------------------------------------------
# Checks shared by every case
# --------------------------------------------------------------------------------------------


def sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str | None]:
    """Relative path -> hash of every file (and folder) under ``folder``."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*"))}


def leftovers(parent: Path) -> list[str]:
    """Staged or backup folders that a clean run never leaves behind."""
    return [p.name for p in parent.iterdir() if ".part-" in p.name or ".old-" in p.name]


def assert_one_line_error(res: subprocess.CompletedProcess[str], code: int,
                          *words: str) -> str:
    """Exit ``code``; stderr is exactly one ``formcheck: error:`` line containing ``words``
    (case-insensitive); no traceback."""
    msg = f"rc={res.returncode}\nstdout={res.stdout[-2000:]}\nstderr={res.stderr[-4000:]}"
    assert res.returncode == code, msg
    assert "Traceback" not in res.stderr, msg
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, msg
    assert lines[0].startswith("formcheck: error: "), msg
    for w in words:
        assert w.lower() in lines[0].lower(), f"{w!r} not in {lines[0]!r}"
    return lines[0]


def analyze_cli(video: Path, out: Path, *extra: str, timeout: float = 300
                ) -> subprocess.CompletedProcess[str]:
    return run_cli("analyze", str(video), "-o", str(out), "--no-video", "--no-html", "-q",
                   *extra, timeout=timeout)


# --------------------------------------------------------------------------------------------
# Inputs that must fail with one clear line
# --------------------------------------------------------------------------------------------

FAILING = [
    # (input, exit code, words the message must contain)
    ("missing", 3, ["no such file"]),
    ("folder", 3, ["folder"]),
    ("fifo", 3, ["not a regular file"]),
    ("empty", 5, ["empty"]),
    ("text", 4, ["text file"]),
    ("text_as_mp4", 4, ["not a video"]),
    ("png", 4, ["still image"]),
    ("jpeg", 4, ["still image"]),
    ("wav", 4, ["no video stream"]),
    ("aac", 4, ["no video stream"]),
    ("truncated_index_last", 5, ["damaged", "moov"]),
    ("no_moov", 5, ["damaged", "moov"]),
    ("zero_frames_avi", 5, ["no decodable frames"]),
    ("zero_frames_mkv", 5, ["ends before any video data"]),
]


@pytest.mark.parametrize("name,code,words", FAILING, ids=[c[0] for c in FAILING])
def test_bad_input_fails_cleanly(inputs: Inputs, tmp_path: Path, name: str, code: int,
                                 words: list[str]) -> None:
    video = inputs.get(name)
    before = sha256(video)
    out = tmp_path / "out"
    res = analyze_cli(video, out, timeout=120)
    line = assert_one_line_error(res, code, video.name, *words)
    assert code in EXIT_CODES
    assert ";" in line, "the message says what to do after the cause"
    assert not out.exists()
    assert leftovers(tmp_path) == []
    assert sha256(video) == before


def test_no_person_is_no_runner_error(inputs: Inputs, tmp_path: Path) -> None:
    video = inputs.get("colour_bars")
    before = sha256(video)
    res = analyze_cli(video, tmp_path / "out")
    assert_one_line_error(res, 6, video.name, "no person")
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []
    assert sha256(video) == before


# --------------------------------------------------------------------------------------------
# Inputs that must give a complete analysis
# --------------------------------------------------------------------------------------------


def run_ok(video: Path, out: Path, *extra: str, timeout: float = 300) -> dict:
    """Run the CLI, check success, a complete output folder, an unmodified input."""
    before = sha256(video)
    res = analyze_cli(video, out, *extra, timeout=timeout)
    assert res.returncode == 0, f"rc={res.returncode}\n{res.stderr[-4000:]}"
    assert res.stderr == "", res.stderr  # -q: nothing at all on stderr (no library logs)
    for name in ("report.json", "metrics.json", "steps.csv", "landmarks.npz",
                 "landmarks.csv"):
        assert (out / name).is_file(), name
    assert leftovers(out.parent) == []
    assert sha256(video) == before
    return json.loads((out / "report.json").read_text())


def n_frames_of(video: Path) -> int:
    with av.open(str(video)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_truncated_with_index_first_analyses_the_decodable_part(inputs: Inputs,
                                                                tmp_path: Path) -> None:
    """Decision (docs/errors.md): a file cut short whose index survived is analysed up to its
    last decodable frame; the report shows fewer frames than the header promised."""
    full = inputs.get("clip2s_faststart")
    video = inputs.get("truncated_index_first")
    rep = run_ok(video, tmp_path / "out")
    n = rep["quality"]["n_frames"]
    assert 5 <= n < n_frames_of(full)
    assert n < rep["source"]["video"]["n_frames_reported"]


def test_person_only_briefly_visible(inputs: Inputs, tmp_path: Path) -> None:
    rep = run_ok(inputs.get("brief_person"), tmp_path / "out")
    q = rep["quality"]
    assert 0.2 < q["detection_rate"] < 0.5  # 1.5 s of 4 s
    statuses = {k: m["status"] for k, m in rep["metrics"].items()}
    assert statuses["cadence_spm"] == "not_measurable", statuses
    # the ids must exist in the report: a misspelt id would make this check do nothing
    for k in ("contact_time_ms", "vertical_oscillation_pct_leg", "step_time_asymmetry_pct"):
        assert k in statuses, (k, sorted(statuses))
        assert statuses[k] == "not_measurable", (k, statuses[k])


def test_runner_enters_late_and_leaves(inputs: Inputs, tmp_path: Path) -> None:
    rep = run_ok(inputs.get("late_entry"), tmp_path / "out")
    assert 0.45 < rep["quality"]["detection_rate"] < 0.75  # 1.5 s of 2.5 s


def test_clip_too_short_for_metrics(tmp_path: Path) -> None:
    rep = run_ok(SHORT_PAN, tmp_path / "out")
    statuses = {k: m["status"] for k, m in rep["metrics"].items()}
    assert statuses["cadence_spm"] == "not_measurable", statuses
    assert sum(s == "measured" for s in statuses.values()) == 0, statuses


def loop_packets(src: Path, dst: Path, times: int) -> Path:
    """``src`` played ``times`` times in a row: its packets repeated with shifted timestamps
    (no re-encoding, so a long clip takes a moment to make)."""
    with av.open(str(src)) as c:
        ins = c.streams.video[0]
        packets = [p for p in c.demux(ins) if p.size]
        span = max(int(p.pts) + int(p.duration or 0) for p in packets)
        with av.open(str(dst), "w") as out:
            s = out.add_stream_from_template(ins)
            for r in range(times):
                for p in packets:
                    q = av.Packet(bytes(p))
                    q.pts, q.dts = p.pts + r * span, p.dts + r * span
                    q.duration, q.time_base, q.is_keyframe = p.duration, ins.time_base, \
                        p.is_keyframe
                    q.stream = s
                    out.mux(q)
    return dst


def test_long_clip_gives_the_same_cadence_as_its_parts(tmp_path: Path) -> None:
    """The sample four times over (48 s, 1440 frames: long enough for the landmarks to go
    through the pose stage's temporary file in earnest, short enough for CI) gives the
    sample's independently measured cadence and four times its steps.  Peak memory against
    length is measured by bench/memory.py, not here."""
    ref = json.loads(SAMPLE.with_suffix(".json").read_text())["cadence_spm"]
    video = loop_packets(SAMPLE, tmp_path / "long.mp4", 4)
    rep = run_ok(video, tmp_path / "out", timeout=900)
    q = rep["quality"]
    assert q["n_frames"] == 4 * 360 and q["detection_rate"] > 0.99
    cad = rep["metrics"]["cadence_spm"]
    assert cad["status"] == "measured"
    assert abs(cad["value"] - ref["value"]) <= 1.0, (cad["value"], ref)
    # each 12 s repeat holds ~33 contacts; a few near the seams may be rejected
    assert q["steps_detected"] >= 4 * 30, q
    assert len(rep["steps"]) == q["steps_detected"]


def test_two_runners_follows_the_one_in_view_longest(inputs: Inputs, tmp_path: Path) -> None:
    """Two people running alike: the clearer gait evidence is the one in view longer."""
    video = inputs.get("two_people")
    rep = run_ok(video, tmp_path / "out", "--max-people", "2")
    assert rep["quality"]["max_people_in_frame"] == 2
    warn = " ".join(rep["warnings"]).lower()
    assert "2 people" in warn and "clearest gait" in warn, rep["warnings"]
    assert rep["people"]["n_people"] == 2 and (tmp_path / "out" / "people.png").is_file()
    with np.load(tmp_path / "out" / "landmarks.npz") as d:
        hips = d["xy_px"][:, [23, 24], 0].mean(axis=1)
    w = rep["source"]["video"]["width_px"]
    found = hips[np.isfinite(hips)]
    assert 0.7 * hips.size < found.size < 0.9 * hips.size  # the left runner: 2.5 s of 3 s
    assert np.all(found < w / 2), (found.min(), found.max(), w)


@pytest.mark.parametrize("name,fps", [("fps15", 15.0), ("fps240", 240.0)])
def test_extreme_frame_rates(inputs: Inputs, tmp_path: Path, name: str, fps: float) -> None:
    rep = run_ok(inputs.get(name), tmp_path / "out")
    assert rep["quality"]["fps_real"] == pytest.approx(fps, rel=0.02)
    assert rep["quality"]["detection_rate"] > 0.8


@pytest.mark.parametrize("name,codec", [("portrait_rotated", "h264"), ("vp9", "vp9"),
                                        ("hevc", "hevc"), ("mjpeg_avi", "mjpeg"),
                                        ("mjpeg_mov", "mjpeg"), ("uhd4k", "h264")])
def test_codecs_rotation_and_4k(inputs: Inputs, tmp_path: Path, name: str, codec: str) -> None:
    if name == "hevc" and "libx265" not in av.codecs_available:
        pytest.skip("PyAV's FFmpeg has no libx265 encoder to make the HEVC input")
    video = inputs.get(name)
    rep = run_ok(video, tmp_path / "out")
    v = rep["source"]["video"]
    assert v["codec"] == codec
    assert v["height_px"] > v["width_px"], "the upright frame is portrait"
    if name == "portrait_rotated":
        assert v["rotation_deg"] in (90, 270)
    assert rep["quality"]["n_frames"] == pytest.approx(30, abs=1)
    assert rep["quality"]["detection_rate"] > 0.8


def test_rotated_frames_come_out_upright(inputs: Inputs) -> None:
    """The rotation flag is applied: decoded frames match the original portrait frames."""
    from formcheck.video import iter_frames

    video = inputs.get("portrait_rotated")
    orig = [img for _, img in inputs.sample(0.0, 0.2)]
    got = [f.image for f in iter_frames(video)][: len(orig)]
    assert got[0].shape == orig[0].shape
    err = np.mean([np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(got, orig,
                                                                                 strict=True)])
    flipped = np.abs(got[0][::-1, ::-1].astype(int) - orig[0].astype(int)).mean()
    assert err < 8 < flipped, (err, flipped)


def test_broken_timestamp_jump_is_not_a_pause(inputs: Inputs, tmp_path: Path) -> None:
    """A frame stamped 1000 s after the one before (damage, not a pause) does not stretch the
    clip: the signal stage would otherwise resample hours of nothing."""
    from formcheck.video import MAX_FRAME_GAP_S, iter_frames

    frames = inputs.sample(0.0, 1.0)
    times = [t if i < 20 else t + 1000.0 for i, (t, _) in enumerate(frames)]
    video = write_video(tmp_path / "jump.mp4", [(t, img) for t, (_, img) in
                                                 zip(times, frames, strict=True)],
                        options=FAST)
    with av.open(str(video)) as c:  # the file really holds the jump
        pts = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    assert max(np.diff(pts)) > 900
    t = np.array([f.video_t_s for f in iter_frames(video)])
    assert t.size == len(frames) and np.all(np.diff(t) > 0)
    assert np.diff(t).max() <= MAX_FRAME_GAP_S
    assert t[-1] == pytest.approx(times[-1] - 1000.0, abs=0.1)


def test_slow_motion_without_metadata_is_flagged(pose_of: Callable[..., object]) -> None:
    from formcheck.api import analyze_pose

    clip = shared_clip("treadmill_side_lab_slowmo.mp4")
    a = analyze_pose(pose_of(clip))
    warn = " ".join(a.warnings).lower()
    assert "slowed down" in warn and "--slowmo" in warn, a.warnings


# --------------------------------------------------------------------------------------------
# Other error paths of the CLI
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sample_landmarks(pose_of: Callable[..., object],
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("robust_pose") / "landmarks.npz"
    pose_of(SAMPLE).save(p)
    return p


def test_existing_output_is_never_overwritten(sample_landmarks: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my own notes")
    before = snapshot(out)
    res = analyze_cli(SAMPLE, out, "--pose", str(sample_landmarks))
    assert_one_line_error(res, 7, "out", "--force")
    assert snapshot(out) == before and leftovers(tmp_path) == []
    # an output path that is a file
    f = tmp_path / "file_out"
    f.write_text("x")
    res = analyze_cli(SAMPLE, f, "--pose", str(sample_landmarks))
    assert_one_line_error(res, 7, "not a folder")
    assert f.read_text() == "x"
    # --force replaces it completely (the old notes are gone, nothing else is left)
    res = analyze_cli(SAMPLE, out, "--pose", str(sample_landmarks), "--force")
    assert res.returncode == 0, res.stderr
    assert not (out / "notes.txt").exists() and (out / "report.json").is_file()
    assert leftovers(tmp_path) == []


def test_unwritable_output_location(sample_landmarks: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    res = analyze_cli(SAMPLE, blocker / "out", "--pose", str(sample_landmarks))
    assert_one_line_error(res, 11, "cannot write the output")
    assert blocker.read_text() == "x" and leftovers(tmp_path) == []


def test_bad_pose_file(inputs: Inputs, sample_landmarks: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    res = analyze_cli(SAMPLE, tmp_path / "o1", "--pose", str(junk))
    assert_one_line_error(res, 12, "junk.npz", "not a formcheck landmarks file")
    # landmarks of another (differently sized) video
    res = analyze_cli(inputs.get("two_people"), tmp_path / "o2", "--pose",
                      str(sample_landmarks))
    assert_one_line_error(res, 12, "720x1280", "720x360")
    res = analyze_cli(SAMPLE, tmp_path / "o3", "--pose", str(tmp_path / "absent.npz"))
    assert_one_line_error(res, 3, "absent.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.npz"]


def test_bad_rules_model_and_window(sample_landmarks: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rule]\nthis is = not toml")
    res = analyze_cli(SAMPLE, tmp_path / "o1", "--pose", str(sample_landmarks), "--rules",
                      str(rules))
    assert_one_line_error(res, 8)
    model = tmp_path / "model.task"
    model.write_bytes(os.urandom(4096))
    res = analyze_cli(SAMPLE, tmp_path / "o2", "--model", str(model))
    assert_one_line_error(res, 9, "model.task", "pose model")
    res = analyze_cli(SAMPLE, tmp_path / "o3", "--model", str(tmp_path / "none.task"))
    assert_one_line_error(res, 9, "none.task")
    res = analyze_cli(SAMPLE, tmp_path / "o4", "--start", "5", "--end", "2")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    res = analyze_cli(SAMPLE, tmp_path / "o5", "--pose", str(sample_landmarks), "--start",
                      "100")
    assert_one_line_error(res, 2, "--start", "end of the clip (12.0 s)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.task", "rules.toml"]


# --------------------------------------------------------------------------------------------
# Interruptions: Ctrl-C and SIGTERM leave nothing half-written
# --------------------------------------------------------------------------------------------

_STAGED_JOB = r"""
import sys, time
from pathlib import Path
from formcheck.cli import run_guarded
from formcheck.outputs import staged_dir

def job():
    with staged_dir(Path(sys.argv[1])) as tmp:
        (tmp / "report.json").write_text("{}")
        print("READY", flush=True)
        time.sleep(60)

run_guarded(job)
"""


@pytest.mark.parametrize("sig,code,word", [(signal.SIGTERM, 143, "terminated"),
                                           (signal.SIGINT, 130, "interrupted")])
def test_signal_while_writing_leaves_nothing(tmp_path: Path, sig: int, code: int,
                                             word: str) -> None:
    """A signal while the output folder is being written: the staged folder is removed."""
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", _STAGED_JOB, str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        assert len(leftovers(tmp_path)) == 1  # the staged folder exists now
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    res = subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
    assert_one_line_error(res, code, word, "no partial output")
    assert not out.exists() and leftovers(tmp_path) == []


def wait_for_handler(pid: int, sig: int, timeout_s: float = 60.0) -> None:
    """Wait until process ``pid`` catches ``sig`` (Linux: SigCgt in /proc/PID/status), so a
    signal sent now reaches formcheck's handler, not the default action."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        time.sleep(8.0)
        return
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        for line in status.read_text().splitlines():
            if line.startswith("SigCgt:") and (int(line.split()[1], 16) >> (sig - 1)) & 1:
                return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never installed a handler for signal {sig}")


def test_sigterm_during_analysis(tmp_path: Path) -> None:
    """SIGTERM while the pose model runs on the sample: exit 143, no output at all."""
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "formcheck", "analyze", str(SAMPLE), "-o",
                             str(out), "--no-video", "--no-html", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_handler(proc.pid, signal.SIGTERM)
        time.sleep(3.0)  # into the pose stage (imports ~3 s, then ~10 s of model)
        assert proc.poll() is None, "finished before the signal: use a longer clip"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    res = subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
    assert_one_line_error(res, 143, "terminated")
    assert sorted(tmp_path.iterdir()) == []
    assert sha256(SAMPLE) == _SAMPLE_SHA


_SAMPLE_SHA = sha256(SAMPLE)


def test_staged_dir_keyboard_interrupt_in_process(tmp_path: Path) -> None:
    from formcheck.outputs import staged_dir

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with staged_dir(out) as tmp:
            (tmp / "a.txt").write_text("half")
            raise KeyboardInterrupt
    assert not out.exists() and leftovers(tmp_path) == []
    with staged_dir(out) as tmp:
        (tmp / "a.txt").write_text("done")
    assert (out / "a.txt").read_text() == "done" and leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------------


def test_same_input_same_report(sample_landmarks: Path, tmp_path: Path) -> None:
    """Two runs with the same landmarks and options: byte-identical report.json apart from
    created_utc."""
    texts = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        res = analyze_cli(SAMPLE, out, "--pose", str(sample_landmarks), "--height", "178")
        assert res.returncode == 0, res.stderr
        text = (out / "report.json").read_text()
        assert '"created_utc"' in text
        texts.append("\n".join(ln for ln in text.splitlines() if '"created_utc"' not in ln))
    assert texts[0] == texts[1]
    assert json.loads((tmp_path / "run0" / "report.json").read_text())["metrics"]


def test_pose_model_is_deterministic_across_runs(inputs: Inputs, tmp_path: Path) -> None:
    """Two separate processes running the real model on the same clip give identical
    landmarks."""
    clip = inputs.get("clip2s")
    arrays = []
    for k in range(2):
        out = tmp_path / f"pose{k}"
        res = run_cli("pose", str(clip), "-o", str(out), "-q", timeout=300)
        assert res.returncode == 0, res.stderr
        with np.load(out / "landmarks.npz") as d:
            arrays.append({k2: d[k2] for k2 in ("t_s", "xy_px", "visibility", "world_m")})
    for key in arrays[0]:
        assert np.array_equal(arrays[0][key], arrays[1][key], equal_nan=True), key
    assert np.isfinite(arrays[0]["xy_px"]).mean() > 0.8
