"""Decoding (no pose model): true timestamps, rotation, variable frame rate, slow motion,
codecs and streaming memory.

Clips are written in the tests with PyAV from real frames of the sample clip, so every
expected value (timestamps, pixels, orientation) is known independently of formcheck.  The
orientation a player shows is derived from the MP4 track header's transformation matrix with
the formula of ISO/IEC 14496-12 (section 8.3.2), not from PyAV's or formcheck's rotation sign.
"""

from __future__ import annotations

import functools
import os
import shutil
import struct
import subprocess
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import SAMPLE

from formcheck.video import iter_frames, probe

#: Size the test clips are made at (upright portrait, like the sample, at half size).
SMALL_W, SMALL_H = 360, 640

#: Alternating frame intervals (ms) of the variable-frame-rate clips (40 and 25 fps mixed).
VFR_STEPS_MS = (25, 40)


@functools.lru_cache(maxsize=2)
def sample_frames(n: int) -> np.ndarray:
    """The first ``n`` frames of the sample, decoded by PyAV directly (not formcheck) and
    scaled to SMALL_W x SMALL_H: [n, H, W, 3] RGB uint8.  The sample has no rotation."""
    out = []
    with av.open(str(SAMPLE)) as c:
        for i, f in enumerate(c.decode(video=0)):
            assert not f.rotation
            out.append(f.to_ndarray(format="rgb24", width=SMALL_W, height=SMALL_H))
            if i + 1 == n:
                break
    return np.stack(out)


def vfr_pts_ms(n: int, start_ms: int = 0) -> np.ndarray:
    """``n`` presentation times (ms) with intervals alternating VFR_STEPS_MS."""
    steps = [VFR_STEPS_MS[i % 2] for i in range(n - 1)]
    return start_ms + np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)


def write_clip(path: Path, images: Sequence[np.ndarray], pts: Sequence[int],
               time_base: Fraction = Fraction(1, 1000), codec: str = "libx264",
               pix_fmt: str = "yuv420p", options: dict[str, str] | None = None,
               rotation_ccw: int | None = None, rate: int = 30) -> Path:
    """Encode RGB ``images`` with exactly the given PTS (in ``time_base`` units).

    ``rotation_ccw`` stores a display matrix (PyAV's ``set_display_rotation``, degrees
    counter-clockwise); ``rate`` is only the nominal rate some encoders require.
    """
    h, w = images[0].shape[:2]
    with av.open(str(path), mode="w") as out:
        s = out.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        s.time_base = time_base
        s.codec_context.time_base = time_base
        s.options = dict(options or {})
        if rotation_ccw is not None:
            s.set_display_rotation(rotation_ccw)
        for img, p in zip(images, pts, strict=True):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            f.pts, f.time_base = int(p), time_base
            for pkt in s.encode(f):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return path


def container_times_s(path: Path) -> np.ndarray:
    """Each frame's PTS in seconds from the first, read with PyAV (``pts * time_base``)."""
    with av.open(str(path)) as c:
        t = [f.pts * f.time_base for f in c.decode(video=0)]
    return np.array([float(x - t[0]) for x in t])


def tkhd_matrix(path: Path) -> tuple[int, int, int, int]:
    """(a, b, c, d) of the video track header's matrix, as 16.16 fixed-point integers.

    ISO/IEC 14496-12 ``tkhd``: after the 4-byte type come version(1) flags(3), then
    creation/modification time, track id, reserved, duration (4 bytes each in version 0,
    with 8-byte times and duration in version 1), 8 reserved bytes, layer, alternate group,
    volume, reserved (2 bytes each), and the matrix {a, b, u, c, d, v, x, y, w}.
    """
    data = path.read_bytes()
    k = data.index(b"tkhd") + 4
    assert data.count(b"tkhd") == 1, "expected one track"
    version = data[k]
    off = k + 4 + (8 + 8 + 4 + 4 + 8 if version == 1 else 4 + 4 + 4 + 4 + 4) + 8 + 8
    a, b, _u, c, d, _v, _x, _y, _w = struct.unpack(">9i", data[off:off + 36])
    return a, b, c, d


def as_displayed(img: np.ndarray, abcd: tuple[int, int, int, int]) -> np.ndarray:
    """The picture a player shows for a stored ``img`` under a track matrix (a, b, c, d).

    ISO/IEC 14496-12: a point (p, q) is displayed at (p', q') = (a p + c q, b p + d q) (plus
    a translation), in screen coordinates with x to the right and y down.
    """
    a, b, c, d = (v // 65536 for v in abcd)
    h, w = img.shape[:2]
    q, p = np.mgrid[0:h, 0:w]
    p2, q2 = a * p + c * q, b * p + d * q
    p2 -= p2.min()
    q2 -= q2.min()
    out = np.zeros((q2.max() + 1, p2.max() + 1) + img.shape[2:], img.dtype)
    out[q2, p2] = img
    return out


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two images (grey levels, 0-255)."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_sample_times_are_the_container_pts() -> None:
    frames = list((f.index, f.video_t_s, f.t_s) for f in iter_frames(SAMPLE, max_side_px=64))
    expected = container_times_s(SAMPLE)
    idx, vt, t = (np.array(x) for x in zip(*frames, strict=True))
    assert len(frames) == len(expected) == 360
    np.testing.assert_array_equal(idx, np.arange(len(expected)))
    np.testing.assert_allclose(vt, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(t, expected, rtol=0, atol=1e-9)


def test_variable_frame_rate_keeps_true_times_and_slowmo_divides_them(tmp_path: Path) -> None:
    n = 20
    pts = vfr_pts_ms(n, start_ms=100)  # does not start at 0: times count from the first frame
    clip = write_clip(tmp_path / "vfr.mp4", sample_frames(n), pts)
    written = (pts - pts[0]) / 1000.0
    # the container really is variable-rate, independently of formcheck
    np.testing.assert_allclose(container_times_s(clip), written, rtol=0, atol=1e-9)
    assert set(np.round(np.diff(written), 3)) == {0.025, 0.040}

    got = list(iter_frames(clip))
    assert len(got) == n
    np.testing.assert_allclose([f.video_t_s for f in got], written, rtol=0, atol=1e-9)
    np.testing.assert_allclose([f.t_s for f in got], written, rtol=0, atol=1e-9)

    slow = list(iter_frames(clip, slowmo=4))
    np.testing.assert_allclose([f.video_t_s for f in slow], written, rtol=0, atol=1e-9)
    np.testing.assert_allclose([f.t_s for f in slow], written / 4, rtol=0, atol=1e-9)
    info = probe(clip, slowmo=4)
    assert info.slowmo == 4


@pytest.mark.parametrize("rotation_ccw", [90, 180, 270])
def test_rotated_portrait_clip_comes_out_upright(tmp_path: Path, rotation_ccw: int) -> None:
    n = 6
    upright = sample_frames(n)  # portrait, 360 x 640
    # What a phone stores: the sensor's picture (landscape for 90/270), plus a matrix that
    # turns it upright for display.  np.rot90(k<0) turns clockwise; the matrix undoes it.
    stored = [np.rot90(u, k=-rotation_ccw // 90) for u in upright]
    clip = write_clip(tmp_path / f"rot{rotation_ccw}.mp4", stored, np.arange(n) * 33,
                      options={"crf": "10"}, rotation_ccw=rotation_ccw)

    # The file is what we meant: landscape frames, and a track matrix that players apply to
    # show the original upright picture (read from the MP4 bytes, by the ISO formula).
    abcd = tkhd_matrix(clip)
    assert abcd != (65536, 0, 0, 65536)
    np.testing.assert_array_equal(as_displayed(stored[0], abcd), upright[0])
    with av.open(str(clip)) as c:
        first = next(c.decode(video=0))
        assert (first.height, first.width) == stored[0].shape[:2]
        assert first.rotation % 360 == rotation_ccw

    info = probe(clip)
    assert (info.width_px, info.height_px) == (SMALL_W, SMALL_H)
    assert info.rotation_deg == rotation_ccw

    got = list(iter_frames(clip))
    assert len(got) == n
    for fr, want in zip(got, upright, strict=True):
        assert fr.image.shape == want.shape
        err = mean_abs_diff(fr.image, want)
        # codec noise only (crf 10): a few grey levels; the picture turned the wrong way
        # (180 degrees off, same shape) differs by tens
        assert err < 3.0
        assert mean_abs_diff(fr.image, np.rot90(want, 2)) > 10 * err

    # FFmpeg's own player logic (the ffmpeg command auto-rotates) agrees, when installed
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        raw = subprocess.run([ffmpeg, "-v", "error", "-i", str(clip), "-frames:v", "1",
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             capture_output=True, check=True).stdout
        assert len(raw) == SMALL_W * SMALL_H * 3
        shown = np.frombuffer(raw, np.uint8).reshape(SMALL_H, SMALL_W, 3)
        assert mean_abs_diff(got[0].image, shown) < 1.0

    # scaled for the model: still upright, longest side as asked
    small = next(iter_frames(clip, max_side_px=320))
    assert small.image.shape == (320, 180, 3)


CODECS = [
    # (encoder, container, pix_fmt, options, FFmpeg decoder name)
    ("libvpx-vp9", "webm", "yuv420p",
     {"deadline": "realtime", "cpu-used": "8", "crf": "20", "b": "0"}, "vp9"),
    ("mjpeg", "mkv", "yuvj420p", {"qmin": "1", "qmax": "3"}, "mjpeg"),
    ("libx265", "mp4", "yuv420p",
     {"preset": "ultrafast", "crf": "18", "x265-params": "log-level=error"}, "hevc"),
    ("prores_ks", "mov", "yuv422p10le", {"profile": "2"}, "prores"),
]


@pytest.mark.parametrize("encoder,ext,pix_fmt,options,decoder", CODECS,
                         ids=[c[0] for c in CODECS])
def test_codecs_decode_with_true_times(tmp_path: Path, encoder: str, ext: str, pix_fmt: str,
                                       options: dict[str, str], decoder: str) -> None:
    try:
        av.codec.Codec(encoder, "w")
    except av.error.FFmpegError:  # pragma: no cover - depends on how PyAV's FFmpeg was built
        pytest.skip(f"this PyAV's FFmpeg has no {encoder} encoder")
    n = 8
    src = sample_frames(n)
    pts = vfr_pts_ms(n)
    clip = write_clip(tmp_path / f"clip.{ext}", src, pts, codec=encoder, pix_fmt=pix_fmt,
                      options=options)
    info = probe(clip)
    assert info.codec == decoder
    assert (info.width_px, info.height_px) == (SMALL_W, SMALL_H)
    got = list(iter_frames(clip))
    assert len(got) == n
    np.testing.assert_allclose([f.video_t_s for f in got], (pts - pts[0]) / 1000.0,
                               rtol=0, atol=1e-9)
    for fr, want in zip(got, src, strict=True):
        # decoded pixels are the source frame up to codec noise (high-quality settings)
        assert mean_abs_diff(fr.image, want) < 4.0


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_iter_frames_streams_in_constant_memory() -> None:
    """Memory stays flat while a full-size clip is decoded: frames are not accumulated.

    Frame pixels live in FFmpeg buffers (numpy views), invisible to tracemalloc, so the
    process's resident memory is sampled instead.  Keeping the frames would add one frame
    (720 x 1280 x 3 = 2.8 MB) per frame decoded: ~830 MB over the 300 frames after warm-up.
    """
    rss: list[int] = []
    frame_bytes = 0
    n = 0
    it = iter_frames(SAMPLE)
    assert iter(it) is it  # a lazy iterator, not a list
    for fr in it:
        frame_bytes = fr.image.nbytes
        rss.append(_rss_bytes())
        n += 1
    assert n == 360
    warm = 60
    growth = max(rss[warm:]) - rss[warm]
    assert growth < 8 * frame_bytes, f"memory grew {growth / 1e6:.0f} MB while streaming"
