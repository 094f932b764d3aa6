"""The annotated review video (``annotated.mp4``) and optional stills at each initial contact.

The source is decoded again frame by frame (:func:`formcheck.video.iter_frames`, streaming:
one frame in memory at a time), each frame is scaled to the output size, drawn on with OpenCV
and encoded to H.264/yuv420p MP4 with the ``moov`` atom first
(:class:`formcheck.video.VideoWriter`), so it plays in browsers, iOS and Android.  With
worker processes (``--jobs``), each worker does this for one time piece of the clip and the
pieces are joined by stream copy (:func:`formcheck.video.concat_mp4`); x264 then runs without
B-frames (:data:`X264_PARAMS`) so the pieces' decode times keep increasing across a join.

Timing.  Every decoded frame is written once, upright, with its source presentation time
(video time), so the output has the input's frame count, duration and (variable) frame
rate.  With ``slowmo_contacts`` the timestamps are stretched instead: the stretch of
+/-:data:`SLOW_HALF_WINDOW_S` (real time) around each initial contact (IC) plays
:data:`SLOW_FACTOR` times slower.  The frame count stays the same, but the duration grows by
``(SLOW_FACTOR - 1)`` times the total length of those windows (overlapping windows merged),
by design.

What is drawn (:class:`formcheck.annotate.painter.Painter`).  Colours come from the
Okabe-Ito palette (:mod:`formcheck.report.style`), which stays distinguishable under the
common colour-vision deficiencies, and nothing relies on colour alone: the runner's left
side is drawn with solid bones and round joints, the right side with dashed bones and square
joints, and the knees carry "L" / "R" letters.  All text sits on a dark backing or has a dark
outline, sized from the output frame so it stays legible on a phone.

* Skeleton: the pose model's landmarks of that very frame (``analysis.pose``, what the model
  saw), with the leg labels corrected by the identity repair (``analysis.clean.leg_swapped``).
  Landmarks and bones whose visibility is below :data:`FAINT_VISIBILITY` are drawn faint (thin
  and blended at :data:`FAINT_ALPHA` opacity).
* Initial contact, for +/-``hold`` around each IC (:func:`hold_s`: a few frames): a marker at
  the landing heel with the foot (runner's side) and its foot-strike class, and, in side and
  oblique views, the construction behind the per-step metrics
  (:mod:`formcheck.construction`, the same one the report's still frame draws), from the cleaned
  landmarks at the IC instant (exactly what the metrics used, so it stays put while the video
  moves on): the vertical through the hip midpoint, the horizontal overstride distance from it
  to the heel (% leg length), the shank (knee to ankle) with its angle from vertical, and the
  knee flexion.  A value is shown only when the clip's summary of that metric is usable.
* Side and oblique views: the trunk line (hip midpoint to shoulder midpoint, cleaned
  landmarks) with a vertical reference and the lean angle at that instant (forward positive).
* Front and back views: the body midline (the vertical through the shoulder midpoint); a wrist
  past it, on the other side of the body, is ringed and marked "X" (the arm-crossing metric).
* Head-up panel: real time, steps so far, the running cadence (valid step intervals so far,
  steps/min) next to the clip's cadence, and the clip's findings by severity.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from formcheck.annotate.painter import (
    CONSTRUCTION_COLOR,
    FAINT_ALPHA,
    FAINT_VISIBILITY,
    HOLD_MAX_S,
    SEVERITY_COLOR,
    SIDE_COLOR,
    SLOW_FACTOR,
    Painter,
    hold_s,
)
from formcheck.construction import Contact, contacts_of
from formcheck.errors import OutputWriteError
from formcheck.video import VideoWriter, iter_frames, probe

if TYPE_CHECKING:
    from formcheck.api import Analysis

__all__ = [
    "CONSTRUCTION_COLOR", "FAINT_ALPHA", "FAINT_VISIBILITY", "HOLD_MAX_S", "MIN_PIECE_S",
    "SCALE_INTERPOLATION", "SEVERITY_COLOR", "SIDE_COLOR", "SLOW_FACTOR", "SLOW_HALF_WINDOW_S",
    "X264_CRF", "X264_PARAMS", "X264_PRESET", "Contact", "Painter", "contacts_of", "hold_s",
    "output_size", "slow_windows", "stretch_time", "write_annotated",
]

#: ``--slowmo-contacts``: half width of the slowed window around each IC (s, real time); it
#: plays :data:`SLOW_FACTOR` times slower.
SLOW_HALF_WINDOW_S = 0.15
#: x264 speed preset of the annotated video: drawing + encoding must cost less per frame than
#: the pose model (``bench/annotate_speed.py``).
X264_PRESET = "superfast"
#: x264 constant rate factor (quality) of the annotated video.
X264_CRF = 23
#: Extra x264 options: no B-frames, so pieces encoded in parallel join by stream copy
#: (decode times keep increasing across a join).  Measured with bench/pipeline_speed.py on
#: the sample's frames at 608x1080: +17 % file size, PSNR 40.1 dB against 39.7 with
#: B-frames, and 13 % less encoding CPU.
X264_PARAMS = "bframes=0"
#: swscale filter for scaling source frames down to the video's size: 6.2 instead of 8.1 ms
#: a frame (decode included) at 720x1280 -> 608x1080 against the default bicubic; the
#: drawing goes on top at the output size anyway.
SCALE_INTERPOLATION = "FAST_BILINEAR"
#: Shortest piece of the annotated video worth a worker process of its own (s, video time).
MIN_PIECE_S = 2.0


def output_size(width_px: int, height_px: int, max_side_px: int) -> tuple[int, int]:
    """(width, height) of the annotated video: the upright source size scaled down (never
    up) so its longer side is at most ``max_side_px``, aspect kept, both sides even."""
    s = min(1.0, max_side_px / max(width_px, height_px))
    w = max(2, int(round(width_px * s)))
    h = max(2, int(round(height_px * s)))
    return w - w % 2, h - h % 2


def slow_windows(ic_t_s: np.ndarray, slowmo: float,
                 half_window_s: float = SLOW_HALF_WINDOW_S) -> list[tuple[float, float]]:
    """Merged [start, end] windows (s, *video* time) of +/-``half_window_s`` real seconds
    around each IC; real time = video time / ``slowmo``."""
    ic = np.sort(np.asarray(ic_t_s, dtype=float)[np.isfinite(ic_t_s)])
    out: list[tuple[float, float]] = []
    for t in ic:
        a, b = (t - half_window_s) * slowmo, (t + half_window_s) * slowmo
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def stretch_time(video_t_s: float, windows: Sequence[tuple[float, float]],
                 factor: float = SLOW_FACTOR) -> float:
    """Output time (s) of a frame at ``video_t_s`` when time inside ``windows`` runs
    ``factor`` times slower: ``t + (factor - 1) * |[0, t] intersected with the windows|``."""
    extra = 0.0
    for a, b in windows:
        if video_t_s <= a:
            break
        extra += min(video_t_s, b) - max(a, 0.0) if min(video_t_s, b) > max(a, 0.0) else 0.0
    return video_t_s + (factor - 1.0) * extra



def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputWriteError("cannot encode the PNG still", path)
    path.write_bytes(buf.tobytes())


def write_annotated(analysis: Analysis, rep: dict[str, Any] | None, path: str | os.PathLike[str],
                    max_side_px: int = 1080, slowmo_contacts: bool = False,
                    frames_dir: str | os.PathLike[str] | None = None,
                    progress: bool | None = None, pool: Any = None) -> None:
    """Write the annotated review video of ``analysis`` (see the module docstring).

    Args:
        analysis: an :class:`formcheck.api.Analysis` whose ``source`` is the video file.
        rep: the report document (report.json); the video reads everything it shows from
            ``analysis``, so this may be None.
        path: the MP4 to write; it is written under a temporary name and renamed when
            complete, so an interrupted run leaves no half-written file.
        max_side_px: longest side of the output (px); smaller sources are not enlarged.
        slowmo_contacts: stretch the timestamps around each IC so those moments play
            :data:`SLOW_FACTOR` times slower (frame count kept, duration longer).
        frames_dir: if given, a PNG still of the frame nearest each IC, with its overlays, is
            written there as ``contact_<step>_<foot>_<time>s.png``.
        progress: show a progress bar (default: when stderr is a terminal).
        pool: a :class:`formcheck.pose_parallel.PosePool`: the clip is then cut into time
            pieces (at least :data:`MIN_PIECE_S` long), each decoded, drawn and encoded by
            one worker, and the pieces are joined by stream copy
            (:func:`formcheck.video.concat_mp4`); same frames, timestamps and overlays.

    Raises:
        CorruptVideoError and the other input errors of :mod:`formcheck.video`;
        OutputWriteError: when the video or a still cannot be written.
    """
    out = Path(path)
    src = analysis.source
    slowmo = float(getattr(analysis.options, "slowmo", 1.0) or 1.0)
    info = probe(src, slowmo=slowmo)
    W, H = output_size(info.width_px, info.height_px, max_side_px)
    windows = slow_windows(analysis.events.ic_t_s, slowmo) if slowmo_contacts else []
    stills: dict[int, list[Path]] = {}
    if frames_dir is not None:
        fdir = Path(frames_dir)
        try:
            fdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputWriteError(f"cannot create the stills folder ({exc.strerror})",
                                   fdir) from exc
        for c in contacts_of(analysis):
            stills.setdefault(c.frame_index, []).append(
                fdir / f"contact_{c.k:03d}_{c.foot}_{c.t_s:07.3f}s.png")
    if progress is None:
        progress = sys.stderr.isatty()
    # larger sources are scaled by swscale straight from the decoded YUV (no full-size RGB
    # copy: a 4K frame is 25 MB); an odd pixel left over is resized in _render
    scale_to = max(W, H) if max(W, H) < max(info.width_px, info.height_px) else None
    tmp = out.with_name(f".{out.name}.part-{uuid.uuid4().hex[:8]}.mp4")
    pieces: list[Path] = []
    try:
        done = False
        if pool is not None:
            pieces = _pieces(analysis, info, tmp, W, H, windows, stills, scale_to, pool,
                             progress)
            if pieces:
                from formcheck.video import concat_mp4

                try:
                    concat_mp4(pieces, tmp)
                    done = True
                except ValueError:
                    tmp.unlink(missing_ok=True)  # pieces that do not join: one pass
        if not done:
            _one_pass(analysis, info, tmp, W, H, windows, stills, scale_to, progress)
        os.replace(tmp, out)
    except (OSError, av.error.FFmpegError) as exc:
        # the input side raises formcheck errors, so these come from writing the outputs
        tmp.unlink(missing_ok=True)
        why = getattr(exc, "strerror", None) or (str(exc).splitlines() or [""])[0] \
            or type(exc).__name__
        raise OutputWriteError(f"cannot write the annotated video ({why}); check the free "
                               "space and permissions of the output folder", out) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for p in pieces:
            p.unlink(missing_ok=True)


def _render(painter: Painter, frames: Any, writer: VideoWriter,
            windows: Sequence[tuple[float, float]], stills: dict[int, list[Path]],
            bar: Any = None) -> int:
    """Draw and encode ``frames`` ((index, t_s, video_t_s, RGB image) tuples); returns the
    number of frames written."""
    import cv2

    W, H = painter.W, painter.H
    n = 0
    for index, t_s, video_t_s, img in frames:
        if img.shape[1] != W or img.shape[0] != H:
            # bilinear is 10x faster than area averaging and does not alias down to half size
            interp = cv2.INTER_LINEAR if 2 * W >= img.shape[1] else cv2.INTER_AREA
            img = cv2.resize(img, (W, H), interpolation=interp)
        else:
            img = img.copy()  # the decoder's buffer may back the array: draw on a copy
        painter.draw(img, index, t_s, video_t_s)
        t_out = stretch_time(video_t_s, windows) if windows else video_t_s
        writer.write(img, t_out)
        for p in stills.get(index, ()):
            _write_png(p, img)
        n += 1
        if bar is not None:
            bar.update(1)
    return n


def _one_pass(analysis: Analysis, info: Any, tmp: Path, W: int, H: int,
              windows: Sequence[tuple[float, float]], stills: dict[int, list[Path]],
              scale_to: int | None, progress: bool) -> None:
    """The whole video in this process: decode, draw and encode frame by frame."""
    from tqdm import tqdm

    painter = Painter(analysis, W, H, windows)
    frames = ((fr.index, fr.t_s, fr.video_t_s, fr.image)
              for fr in iter_frames(analysis.source, slowmo=info.slowmo, max_side_px=scale_to,
                                    interpolation=SCALE_INTERPOLATION))
    with VideoWriter(tmp, W, H, info.nominal_fps, crf=X264_CRF, preset=X264_PRESET,
                     x264_params=X264_PARAMS) as writer, tqdm(
            total=info.n_frames_reported or None, disable=not progress, unit="frame",
            desc="annotated video", leave=False) as bar:
        _render(painter, frames, writer, windows, stills, bar)


@dataclass(frozen=True)
class _PieceTask:
    analysis: Analysis
    source: str
    out_file: str
    W: int
    H: int
    fps: float
    windows: tuple[tuple[float, float], ...]
    stills: dict[int, list[Path]]
    scale_to: int | None
    rotation_deg: int
    seek: bool
    pts: np.ndarray  # the piece's frames: PTS ...
    index: np.ndarray  # ... frame index ...
    video_t_s: np.ndarray  # ... and video time (s)
    end_pts: int | None
    slowmo: float


def _render_piece(task: _PieceTask) -> int:
    """Worker side: decode, draw and encode one time piece into ``task.out_file``."""
    from formcheck.video import iter_segment

    painter = Painter(task.analysis, task.W, task.H, task.windows)
    pos = {int(p): k for k, p in enumerate(task.pts)}

    def frames() -> Any:
        for pts, img in iter_segment(task.source, int(task.pts[0]), task.end_pts,
                                     task.rotation_deg, max_side_px=task.scale_to,
                                     seek=task.seek, interpolation=SCALE_INTERPOLATION):
            k = pos.get(pts)
            if k is None:
                raise ValueError("a frame not in the clip's timeline")
            vt = float(task.video_t_s[k])
            yield int(task.index[k]), vt / task.slowmo, vt, img

    # one encoding thread per worker: the workers already use every core
    with VideoWriter(task.out_file, task.W, task.H, task.fps, crf=X264_CRF,
                     preset=X264_PRESET, x264_params=X264_PARAMS + ":threads=1") as writer:
        return _render(painter, frames(), writer, task.windows, task.stills)


def _pieces(analysis: Analysis, info: Any, tmp: Path, W: int, H: int,
            windows: Sequence[tuple[float, float]], stills: dict[int, list[Path]],
            scale_to: int | None, pool: Any, progress: bool) -> list[Path]:
    """Render the video in time pieces on ``pool``; returns the piece files in order (an
    empty list when the clip is too short or its timestamps do not allow pieces)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    from tqdm import tqdm

    from formcheck.pose_parallel import plan_segments, worker_deaths
    from formcheck.video import timeline

    tl = timeline(analysis.source)
    if tl is None:
        return []
    segs = plan_segments(tl, pool.n_workers, overlap_s=0.0, min_segment_s=MIN_PIECE_S)
    if len(segs) < 2:
        return []
    files = [tmp.with_name(f"{tmp.stem}-piece{k}.mp4") for k in range(len(segs))]
    futs = {}
    for k, sg in enumerate(segs):
        rng = slice(sg.keep_start, sg.keep_end)
        idx = np.arange(sg.keep_start, sg.keep_end)
        task = _PieceTask(
            analysis=analysis, source=str(analysis.source), out_file=str(files[k]), W=W, H=H,
            fps=info.nominal_fps, windows=tuple(windows),
            stills={i: v for i, v in stills.items() if sg.keep_start <= i < sg.keep_end},
            scale_to=scale_to, rotation_deg=info.rotation_deg, seek=sg.keep_start > 0,
            pts=tl.pts[rng], index=idx, video_t_s=tl.video_t_s[rng],
            end_pts=None if sg.keep_end >= tl.n_frames else int(tl.pts[sg.keep_end]),
            slowmo=info.slowmo)
        try:
            futs[pool.submit(_render_piece, task)] = sg.keep_end - sg.keep_start
        except Exception:  # noqa: BLE001 - the pool is broken (a worker died): one pass
            for f in futs:
                f.cancel()
            return []
    try:
        with worker_deaths(), tqdm(total=tl.n_frames, disable=not progress, unit="frame",
                                   desc="annotated video", leave=False) as bar:
            pending = set(futs)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    if f.result() != futs[f]:
                        raise ValueError("a piece did not decode the frames it should")
                    bar.update(futs[f])
    except OutputWriteError:
        for p in files:
            p.unlink(missing_ok=True)
        raise
    except Exception:  # noqa: BLE001 - a damaged stretch, a killed worker: one pass instead
        for p in files:
            p.unlink(missing_ok=True)
        return []
    except BaseException:  # Ctrl-C: the caller stops the workers
        for f in futs:
            f.cancel()
        for p in files:
            p.unlink(missing_ok=True)
        raise
    return files
