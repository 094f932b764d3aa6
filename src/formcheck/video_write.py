"""Video output with PyAV: H.264 MP4 with exact per-frame timestamps, and stream-copy joins.

Encoding writes H.264 (libx264, yuv420p) in MP4 with the ``moov`` atom at the front
(``movflags=+faststart``), which plays in browsers, iOS and Android.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


class VideoWriter:
    """H.264 (libx264) / yuv420p MP4 writer with exact per-frame timestamps.

    Each frame is written with the presentation time it is given (``t_s``, seconds from the
    first frame) in a 1/90000 s time base, so a variable frame rate is kept and the output has
    the timing and frame count of the frames handed in (the last frame lasts as long as the
    interval before it).  The ``moov`` atom is put at the front of the file
    (``movflags=+faststart``) so browsers can start playing before the whole file has loaded.
    RGB frames are converted to BT.601 limited-range YUV 4:2:0 with OpenCV (about 4x faster
    than swscale here) and the stream is tagged with that matrix and range, so players turn
    them back into the same RGB.

    Args:
        path: output file; callers handle atomic renames (a partial file is removed when the
            ``with`` block raises).
        width, height: frame size (px); odd sizes are cut down to even (yuv420p needs even
            sizes) and larger images are cropped to it.
        fps: nominal frame rate for the header and keyframe spacing (Hz); timing comes from
            ``t_s``.
        crf: x264 constant rate factor (quality: 18 near-lossless, 23 x264's default).
        preset: x264 speed preset (``bench/annotate_speed.py`` measures the cost).
        keyframe_s: longest interval between keyframes (s, video time), so players can seek
            quickly.
        x264_params: extra libx264 options (``key=value:key=value``), e.g. ``bframes=0``.
    """

    #: Codec side-data values (FFmpeg's AVColorSpace / AVColorRange enums).
    _COLORSPACE_SMPTE170M = 6
    _COLOR_RANGE_MPEG = 1

    def __init__(self, path: str | os.PathLike[str], width: int, height: int, fps: float,
                 crf: int = 23, preset: str = "veryfast", keyframe_s: float = 2.0,
                 x264_params: str | None = None) -> None:
        self.path = Path(path)
        self.width = int(width) - int(width) % 2
        self.height = int(height) - int(height) % 2
        if self.width < 2 or self.height < 2:
            raise ValueError(f"frame size {width}x{height} is too small to encode")
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
        self.container = av.open(str(self.path), mode="w", format="mp4",
                                 options={"movflags": "+faststart"})
        try:
            self.stream = self.container.add_stream("libx264", rate=rate)
            self.stream.width = self.width
            self.stream.height = self.height
            self.stream.pix_fmt = "yuv420p"
            self.stream.time_base = Fraction(1, 90000)
            cc = self.stream.codec_context
            cc.time_base = Fraction(1, 90000)
            cc.colorspace = self._COLORSPACE_SMPTE170M
            cc.color_range = self._COLOR_RANGE_MPEG
            cc.gop_size = max(1, int(round(float(rate) * keyframe_s)))
            self.stream.options = {"crf": str(crf), "preset": preset,
                                   **({"x264-params": x264_params} if x264_params else {})}
        except BaseException:
            self.container.close()
            raise
        self._last_pts = -1
        self.n_frames = 0

    def write(self, image: np.ndarray, t_s: float) -> None:
        """Encode one RGB uint8 [H, W, 3] frame shown from ``t_s`` seconds (video time).

        Times must increase; a time that does not (after rounding to 1/90000 s) is moved one
        tick after the previous frame's.
        """
        import cv2  # OpenCV ships with mediapipe (opencv-contrib-python)

        h, w = self.height, self.width
        if image.shape[0] < h or image.shape[1] < w:
            raise ValueError(f"frame {image.shape[1]}x{image.shape[0]} is smaller than the "
                             f"video's {w}x{h}")
        if image.shape[0] != h or image.shape[1] != w:
            image = image[:h, :w]
        yuv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        pts = int(round(t_s * 90000))
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = Fraction(1, 90000)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.n_frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file (writes the index at the front)."""
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
            return
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - already failing; the original error matters
            pass
        self.path.unlink(missing_ok=True)


def concat_mp4(parts: list[Path], out: str | os.PathLike[str]) -> int:
    """Join MP4 files holding consecutive pieces of one H.264 stream into ``out`` (stream
    copy, no re-encoding; ``moov`` at the front), keeping every packet's timestamps.

    The pieces must have been encoded with the same settings and size (so the same
    SPS/PPS), start with a keyframe, carry absolute timestamps and have no B-frames (so
    decode times increase across the joins).  Returns the number of packets written.

    Raises:
        ValueError: when the pieces' streams differ (size or codec headers).
    """
    inputs = [av.open(str(p), mode="r") for p in parts]
    try:
        first = inputs[0].streams.video[0]
        for c in inputs[1:]:
            s = c.streams.video[0]
            if (s.codec_context.extradata != first.codec_context.extradata
                    or s.width != first.width or s.height != first.height):
                raise ValueError("the video pieces were encoded differently")
        n = 0
        with av.open(str(out), mode="w", format="mp4",
                     options={"movflags": "+faststart"}) as dst:
            ost = dst.add_stream_from_template(first)
            last_dts = None
            for c in inputs:
                for packet in c.demux(c.streams.video[0]):
                    if packet.dts is None:
                        continue  # the demuxer's flush packet
                    if last_dts is not None and packet.dts <= last_dts:
                        raise ValueError("the video pieces' timestamps overlap")
                    last_dts = packet.dts
                    packet.stream = ost
                    dst.mux(packet)
                    n += 1
        return n
    finally:
        for c in inputs:
            c.close()
