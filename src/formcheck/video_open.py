"""Opening a video input: one-line errors that say what a file is, and robust decoding.

:func:`open_input` checks that a path is a readable, non-empty file and opens it with PyAV,
or raises the error that says what it is instead (missing, a folder, a text file or still
image, a damaged video: :mod:`formcheck.errors`).  :func:`decode_stream` decodes a stream
packet by packet, skipping packets that fail to decode, so a clip damaged part-way keeps
the frames before the damage.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import av

from formcheck.errors import CorruptVideoError, InputNotFoundError, NotAVideoError

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


def open_input(path: Path) -> av.container.InputContainer:
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
        raise InputNotFoundError(f"cannot be read ({error_reason(exc)}); check the file", path
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


def error_reason(exc: BaseException) -> str:
    """A short, one-line cause for an FFmpeg/OS error."""
    text = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return " ".join(str(text).split())[:120]


def decode_stream(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
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
