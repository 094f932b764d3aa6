"""Video input with PyAV: exact timestamps, rotation, any codec FFmpeg decodes.

Decoding streams frames one at a time (memory does not grow with clip length).  Each frame's
time is its presentation timestamp (PTS) in seconds from the first frame, so variable-frame-
rate phone clips keep their true timing; ``slowmo`` maps video time to real time
(``t_s = video_t_s / slowmo``) for clips that were slowed down.  The rotation stored in the
container (display matrix) is applied so portrait phone clips come out upright.

Opening a file (and the one-line errors on what it is when it is not a readable video) is in
:mod:`formcheck.video_open`; writing video (:class:`VideoWriter`, :func:`concat_mp4`) is in
:mod:`formcheck.video_write`, and both names are importable from here too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from formcheck.errors import CorruptVideoError
from formcheck.video_open import decode_stream, error_reason, open_input
from formcheck.video_write import VideoWriter, concat_mp4

__all__ = ["MAX_FRAME_GAP_S", "VIDEO_EXTENSIONS", "Frame", "Timeline", "VideoInfo",
           "VideoWriter", "concat_mp4", "iter_frames", "iter_segment", "probe", "scaled_size",
           "timeline"]

#: Extensions the batch command looks for.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mts", ".3gp", ".wmv")


@dataclass(frozen=True)
class VideoInfo:
    """Facts about a video stream, sizes in pixels of the *upright* frame."""

    path: str
    codec: str
    width_px: int
    height_px: int
    rotation_deg: int
    nominal_fps: float
    n_frames_reported: int
    duration_s: float
    slowmo: float

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "codec": self.codec,
            "width_px": self.width_px,
            "height_px": self.height_px,
            "rotation_deg": self.rotation_deg,
            "nominal_fps": round(self.nominal_fps, 4),
            "n_frames_reported": self.n_frames_reported,
            "duration_s": round(self.duration_s, 4),
            "slowmo": self.slowmo,
        }


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``image`` is RGB uint8 [H, W, 3], upright."""

    index: int
    video_t_s: float
    t_s: float
    image: np.ndarray


#: A gap between two frames longer than this (s, video time) is taken as a broken timestamp
#: and replaced by one nominal frame interval, so a damaged PTS cannot stretch the clip to
#: hours (the signal stage resamples the whole time span onto a uniform grid).
MAX_FRAME_GAP_S = 5.0


def _rotation_of(stream: av.video.stream.VideoStream, first: av.VideoFrame | None) -> int:
    """Counter-clockwise rotation (deg, multiple of 90) that makes the frame upright."""
    rot = 0.0
    if first is not None:
        try:
            rot = float(first.rotation or 0)
        except Exception:  # noqa: BLE001 - side data absent or unreadable
            rot = 0.0
    if rot == 0.0:
        tag = stream.metadata.get("rotate")
        if tag:
            try:
                rot = -float(tag)  # legacy tag is clockwise
            except ValueError:
                rot = 0.0
    return int(round(rot / 90.0)) * 90 % 360




def _file_key(path: Path) -> tuple[str, int, int, int] | None:
    """Identity of a file's current content for the caches below (None = cannot stat)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


#: Results of :func:`probe` / :func:`timeline` for the last few files (keyed by path, size,
#: modification time and inode), so one analysis opens its input once for each.
_CACHE_SIZE = 8
_probe_cache: dict[tuple[object, ...], VideoInfo] = {}
_timeline_cache: dict[tuple[object, ...], Timeline | None] = {}


def _remember(cache: dict[tuple[object, ...], object], key: tuple[object, ...],
              value: object) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value


def probe(path: str | os.PathLike[str], slowmo: float = 1.0) -> VideoInfo:
    """Read stream facts (decoding only the first frame, for its rotation); remembered for
    an unchanged file."""
    p = Path(path)
    key = _file_key(p)
    if key is not None:
        hit = _probe_cache.get((*key, slowmo))
        if hit is not None:
            from dataclasses import replace

            return replace(hit, path=str(p))
    info = _probe(p, slowmo)
    if key is not None:
        _remember(_probe_cache, (*key, slowmo), info)  # type: ignore[arg-type]
    return info


def _probe(p: Path, slowmo: float) -> VideoInfo:
    container = open_input(p)
    try:
        stream = container.streams.video[0]
        first = next(decode_stream(container, stream, p), None)
        if first is None or not first.width or not first.height:
            raise CorruptVideoError("the video stream has no decodable frames; copy or "
                                    "export it again", p)
        rot = _rotation_of(stream, first)
        w, h = first.width, first.height
        if rot in (90, 270):
            w, h = h, w
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration is not None and stream.time_base is not None:
            dur = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            dur = container.duration / 1e6
        else:
            dur = 0.0
        return VideoInfo(
            path=str(p),
            codec=stream.codec_context.name,
            width_px=int(w),
            height_px=int(h),
            rotation_deg=rot,
            nominal_fps=fps,
            n_frames_reported=int(stream.frames or 0),
            duration_s=dur / slowmo,
            slowmo=slowmo,
        )
    finally:
        container.close()


def _upright(img: np.ndarray, rot: int) -> np.ndarray:
    if rot == 0:
        return img
    return np.ascontiguousarray(np.rot90(img, k=rot // 90))


def iter_frames(
    path: str | os.PathLike[str],
    slowmo: float = 1.0,
    max_side_px: int | None = None,
    rotation_deg: int | None = None,
    interpolation: str | None = None,
) -> Iterator[Frame]:
    """Decode ``path`` frame by frame, upright, with true timestamps.

    Args:
        path: video file.
        slowmo: playback slow-down factor (2 = the clip plays at half speed); times are divided
            by it to give real time.
        max_side_px: if given, frames are scaled (by FFmpeg's swscale, keeping aspect ratio) so
            their longer side is at most this (the pose model works best on full-size frames:
            see ``formcheck.pose.DEFAULT_MODEL_SIDE_PX``).
        rotation_deg: override the container's rotation (counter-clockwise degrees).
        interpolation: swscale's scaling filter when frames are scaled (PyAV names, e.g.
            ``"FAST_BILINEAR"``: 2 ms a frame less than the default bicubic at 720p; None =
            FFmpeg's default).

    Yields:
        :class:`Frame` objects with strictly increasing ``t_s``.

    Raises:
        CorruptVideoError: when no frame can be decoded; a stream damaged part-way stops at
            the last good frame (the clip is shorter, not wrong).
    """
    p = Path(path)
    container = open_input(p)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or Fraction(30)
        # a damaged header can claim any rate: keep the fallback step between 1 ms and 1 s
        step_s = min(1.0, max(1e-3, 1.0 / float(rate))) if rate else 1.0 / 30.0
        t0: float | None = None
        last_t = -np.inf
        good_dt: float | None = None  # last plausible frame interval (s)
        rot = rotation_deg
        index = 0
        size: tuple[int, int] | None = None  # (w, h) of the frames handed out
        for frame in decode_stream(container, stream, p):
            if rot is None:
                rot = _rotation_of(stream, frame)
            if frame.pts is not None and frame.time_base is not None:
                vt = float(frame.pts * frame.time_base)
            else:
                vt = last_t + step_s if np.isfinite(last_t) else 0.0
            if t0 is None:
                t0 = vt
            vt -= t0
            if np.isfinite(last_t) and vt - last_t > MAX_FRAME_GAP_S:
                # a broken timestamp, not a real pause: close the gap to one frame interval
                # and shift the later frames with it (their own spacing is kept)
                gap = good_dt if good_dt is not None else step_s
                t0 += vt - last_t - gap
                vt = last_t + gap
            elif np.isfinite(last_t) and vt > last_t:
                good_dt = vt - last_t
            if vt <= last_t:  # duplicate or out-of-order PTS: keep time strictly increasing
                vt = last_t + 1e-3
            last_t = vt
            if size is None:
                w, h = frame.width, frame.height
                if max_side_px is not None and max(w, h) > max_side_px:
                    s = max_side_px / max(w, h)
                    w, h = max(2, int(round(w * s))), max(2, int(round(h * s)))
                size = (w, h)
            try:
                if (frame.width, frame.height) != size:
                    # scaled by swscale; also keeps every frame the size of the first when a
                    # damaged stream changes size part-way
                    img = frame.to_ndarray(format="rgb24", width=size[0], height=size[1],
                                           **({"interpolation": interpolation}
                                              if interpolation else {}))
                else:
                    img = frame.to_ndarray(format="rgb24")
            except (av.error.FFmpegError, ValueError) as exc:
                if index == 0:
                    raise CorruptVideoError(f"cannot convert the video's frames to RGB "
                                            f"({error_reason(exc)})", p) from exc
                continue
            yield Frame(index=index, video_t_s=vt, t_s=vt / slowmo, image=_upright(img, rot))
            index += 1
        if index == 0:
            raise CorruptVideoError("the video stream has no decodable frames; copy or export "
                                    "it again", p)
    finally:
        container.close()


@dataclass(frozen=True)
class Timeline:
    """Every frame's presentation timestamp, read from the container's packets (no decoding).

    Attributes:
        pts: [T] int64 presentation timestamps in ``time_base`` units, presentation order.
        time_base: seconds per ``pts`` unit.
        video_t_s: [T] video time of each frame (s from the first frame), computed exactly as
            :func:`iter_frames` does, so frame ``i`` of a decode is ``pts[i]`` / ``video_t_s[i]``.
        keyframe_pts: sorted PTS of the keyframes (where decoding can start).
    """

    pts: np.ndarray
    time_base: Fraction
    video_t_s: np.ndarray
    keyframe_pts: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.pts.shape[0])

    def keyframe_at_or_before(self, pts: int) -> int:
        """PTS of the last keyframe at or before ``pts`` (the first frame's if none)."""
        k = int(np.searchsorted(self.keyframe_pts, pts, side="right")) - 1
        return int(self.keyframe_pts[k]) if k >= 0 else int(self.pts[0])


def timeline(path: str | os.PathLike[str]) -> Timeline | None:
    """Read the frame timestamps of ``path`` from its packets (milliseconds for a clip).

    Remembered for an unchanged file.  Returns None when the stream is not one whose frames
    can be decoded in independent time segments with exact, known timestamps: a packet
    without PTS, two frames with the same PTS, a gap longer than :data:`MAX_FRAME_GAP_S`
    (which :func:`iter_frames` repairs), no keyframe at the start, or packets the demuxer
    marks to discard (edit lists).  Callers then decode the clip in one pass.
    """
    p = Path(path)
    key = _file_key(p)
    if key is not None and key in _timeline_cache:
        return _timeline_cache[key]
    tl = _timeline(p)
    if key is not None:
        _remember(_timeline_cache, key, tl)  # type: ignore[arg-type]
    return tl


def _timeline(p: Path) -> Timeline | None:
    container = open_input(p)
    try:
        stream = container.streams.video[0]
        tb = stream.time_base
        if tb is None:
            return None
        pts: list[int] = []
        keys: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.size == 0 and packet.pts is None:
                    continue  # the demuxer's end-of-stream flush packet
                if packet.pts is None or packet.is_discard or packet.is_corrupt:
                    return None
                pts.append(int(packet.pts))
                if packet.is_keyframe:
                    keys.append(int(packet.pts))
        except av.error.FFmpegError:
            return None
    finally:
        container.close()
    if len(pts) < 2:
        return None
    order = np.sort(np.asarray(pts, dtype=np.int64))
    if np.any(np.diff(order) <= 0) or not keys or min(keys) != order[0]:
        return None
    t0 = float(int(order[0]) * tb)
    vt = np.array([float(int(q) * tb) - t0 for q in order])  # iter_frames' arithmetic
    if np.any(np.diff(vt) > MAX_FRAME_GAP_S) or np.any(np.diff(vt) <= 0):
        return None
    return Timeline(pts=order, time_base=tb, video_t_s=vt,
                    keyframe_pts=np.array(sorted(keys), dtype=np.int64))


def scaled_size(width: int, height: int, max_side_px: int | None) -> tuple[int, int]:
    """(w, h) of a decoded (not yet rotated) frame scaled so its longer side is at most
    ``max_side_px`` (None = unchanged), as :func:`iter_frames` scales."""
    if max_side_px is not None and max(width, height) > max_side_px:
        s = max_side_px / max(width, height)
        return max(2, int(round(width * s))), max(2, int(round(height * s)))
    return width, height


def iter_segment(
    path: str | os.PathLike[str],
    start_pts: int,
    end_pts: int | None,
    rotation_deg: int,
    max_side_px: int | None = None,
    seek: bool = True,
    pix_fmt: str = "rgb24",
    interpolation: str | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode the frames with ``start_pts <= pts < end_pts`` (``end_pts`` None = to the end).

    Seeks to the last keyframe at or before ``start_pts`` (``seek=False`` decodes from the
    start) and discards the frames before it without converting them.  Frames are upright
    (``rotation_deg``, counter-clockwise) and scaled like :func:`iter_frames` scales them
    (``interpolation`` as there).

    Yields:
        (pts in the stream's time base, image [H, W, 3] uint8 in ``pix_fmt``).
    """
    p = Path(path)
    container = open_input(p)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if seek:
            container.seek(int(start_pts), stream=stream, backward=True, any_frame=False)
        size: tuple[int, int] | None = None
        for frame in decode_stream(container, stream, p):
            if frame.pts is None:
                raise CorruptVideoError("a frame without a timestamp in a segment decode", p)
            if frame.pts < start_pts:
                continue
            if end_pts is not None and frame.pts >= end_pts:
                break
            if size is None:
                size = scaled_size(frame.width, frame.height, max_side_px)
            if (frame.width, frame.height) != size:
                img = frame.to_ndarray(format=pix_fmt, width=size[0], height=size[1],
                                       **({"interpolation": interpolation}
                                          if interpolation else {}))
            else:
                img = frame.to_ndarray(format=pix_fmt)
            yield int(frame.pts), _upright(img, rotation_deg)
    finally:
        container.close()
