"""Video input and output with PyAV: exact timestamps, rotation, any codec FFmpeg decodes.

Decoding streams frames one at a time (memory does not grow with clip length).  Each frame's
time is its presentation timestamp (PTS) in seconds from the first frame, so variable-frame-
rate phone clips keep their true timing; ``slowmo`` maps video time to real time
(``t_s = video_t_s / slowmo``) for clips that were slowed down.  The rotation stored in the
container (display matrix) is applied so portrait phone clips come out upright.

Encoding writes H.264 (libx264, yuv420p) in MP4 with the ``moov`` atom at the front
(``movflags=+faststart``), which plays in browsers, iOS and Android.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from formcheck.errors import CorruptVideoError, InputNotFoundError, NotAVideoError

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


#: Demuxers FFmpeg uses for text and still images: a readable file, but not a video.
_NOT_VIDEO_FORMATS = frozenset({"tty", "bin", "adf", "idf", "xbin", "image2"})

#: File signatures of video containers (offset, bytes): a file that starts like one of these
#: but cannot be opened is a damaged video, not some other kind of file.
_VIDEO_MAGIC = (
    (4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"free"), (4, b"wide"), (4, b"skip"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM (EBML)
    (8, b"AVI "),  # RIFF....AVI
    (0, b"\x00\x00\x01\xba"), (0, b"\x00\x00\x01\xb3"),  # MPEG program / elementary stream
    (0, b"\x47"),  # MPEG-TS sync byte (checked again at 188)
    (0, b"FLV"), (0, b"\x30\x26\xb2\x75"),  # FLV, ASF/WMV
)

#: A gap between two frames longer than this (s, video time) is taken as a broken timestamp
#: and replaced by one nominal frame interval, so a damaged PTS cannot stretch the clip to
#: hours (the signal stage resamples the whole time span onto a uniform grid).
MAX_FRAME_GAP_S = 5.0


def _looks_like_video(path: Path) -> bool:
    """True when the file starts with the signature of a video container."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(200)
    except OSError:
        return False
    for off, magic in _VIDEO_MAGIC:
        if head[off:off + len(magic)] == magic:
            if magic == b"\x47":
                return len(head) > 188 and head[188:189] == b"\x47"
            return True
    return False


def _check_path(path: Path) -> None:
    """Fail with a one-line, actionable error unless ``path`` is a readable, non-empty file."""
    try:
        if not path.exists():
            raise InputNotFoundError("no such file; check the path", path)
        if path.is_dir():
            raise InputNotFoundError("is a folder, not a video file; pass a video file, or "
                                     "use 'formcheck batch' for a folder of clips", path)
        if not path.is_file():
            raise InputNotFoundError("is not a regular file (a device, pipe or socket); pass "
                                     "a video file", path)
        if not os.access(path, os.R_OK):
            raise InputNotFoundError("cannot be read (permission denied); check the file's "
                                     "permissions", path)
        size = path.stat().st_size
    except OSError as exc:  # e.g. a name too long, a broken network mount
        raise InputNotFoundError(f"cannot be read ({exc.strerror or exc}); check the path",
                                 path) from exc
    if size == 0:
        raise CorruptVideoError("the file is empty (0 bytes); copy or export the video again",
                                path)


def _open(path: Path) -> av.container.InputContainer:
    """Open ``path`` for decoding, or raise the error that says what the file is."""
    _check_path(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.EOFError as exc:
        raise CorruptVideoError("the file ends before any video data (cut short while "
                                "copying or recording?); copy or export it again", path) from exc
    except PermissionError as exc:
        raise InputNotFoundError("cannot be read (permission denied); check the file's "
                                 "permissions", path) from exc
    except av.error.FFmpegError as exc:
        if _looks_like_video(path):
            raise CorruptVideoError(
                "the video is damaged: its header or index cannot be read (an MP4 whose "
                "recording or copy was cut short has no 'moov' index); copy or export it "
                "again, or repair it with a tool such as untrunc", path) from exc
        raise NotAVideoError("not a video FFmpeg can read (unknown format); pass a video "
                             "file such as MP4, MOV, WebM or AVI", path) from exc
    except OSError as exc:
        raise InputNotFoundError(f"cannot be read ({_reason(exc)}); check the file", path
                                 ) from exc
    try:
        fmt = container.format.name or ""
        if fmt in _NOT_VIDEO_FORMATS or fmt.endswith("_pipe"):
            kind = "a text file" if fmt in ("tty", "bin", "adf", "idf", "xbin") else \
                "a still image"
            raise NotAVideoError(f"this is {kind}, not a video; pass a video file", path)
        if not container.streams.video:
            raise NotAVideoError("the file has no video stream (audio or data only); pass a "
                                 "video file", path)
        stream = container.streams.video[0]
        if (stream.frames or 0) == 1:
            raise NotAVideoError("this is a still image (one frame), not a video; pass a "
                                 "video file", path)
        if stream.codec_context is None or not stream.codec_context.name:
            raise CorruptVideoError("the video stream uses a codec FFmpeg cannot decode; "
                                    "convert it to H.264 MP4", path)
    except BaseException:
        container.close()
        raise
    return container


def _reason(exc: BaseException) -> str:
    """A short, one-line cause for an FFmpeg/OS error."""
    text = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return " ".join(str(text).split())[:120]


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


def _decoded(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
             path: Path) -> Iterator[av.VideoFrame]:
    """Decode ``stream`` packet by packet, skipping packets that fail to decode.

    A packet the decoder rejects (a few damaged bytes) is skipped and decoding goes on with
    the next one; when the container itself cannot be read further (a file cut short) the
    frames decoded so far are kept.  Raises :class:`CorruptVideoError` only when no frame
    at all could be decoded.
    """
    n_out = 0
    demux = container.demux(stream)
    while True:
        try:
            packet = next(demux)
        except StopIteration:
            break
        except av.error.FFmpegError:
            # damaged or truncated container: flush what the decoder still holds, then stop
            try:
                for frame in stream.codec_context.decode(None):
                    n_out += 1
                    yield frame
            except av.error.FFmpegError:
                pass
            break
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            continue  # a damaged packet: skip it
        for frame in frames:
            n_out += 1
            yield frame
    if n_out == 0:
        raise CorruptVideoError("the video stream has no decodable frames (empty or "
                                "damaged); copy or export it again", path)


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
    container = _open(p)
    try:
        stream = container.streams.video[0]
        first = next(_decoded(container, stream, p), None)
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
    container = _open(p)
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
        for frame in _decoded(container, stream, p):
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
                                            f"({_reason(exc)})", p) from exc
                continue
            yield Frame(index=index, video_t_s=vt, t_s=vt / slowmo, image=_upright(img, rot))
            index += 1
        if index == 0:
            raise CorruptVideoError("the video stream has no decodable frames; copy or export "
                                    "it again", p)
    finally:
        container.close()


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
    container = _open(p)
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
    container = _open(p)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if seek:
            container.seek(int(start_pts), stream=stream, backward=True, any_frame=False)
        size: tuple[int, int] | None = None
        for frame in _decoded(container, stream, p):
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
