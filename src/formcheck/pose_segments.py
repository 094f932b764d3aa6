"""Time segments of one clip for the pose workers: where to cut, and how to join at seams.

A clip is cut into time segments, each run by its own landmarker in VIDEO mode
(:mod:`formcheck.pose_parallel`); this module plans the segments and joins what the workers
found, with numpy only (no model, no processes):

* Segment ``k`` keeps the frames ``[s_k, s_k+1)`` but starts :data:`OVERLAP_S` earlier, so
  its tracking (and MediaPipe's landmark smoothing) settles on frames the previous segment
  also runs.  Decoding starts at the last keyframe before that and discards the frames in
  between without converting them (:func:`formcheck.video.iter_segment`).
* The **seam** between two segments is the frame of the overlap, past :data:`SETTLE_S`,
  where both landmarkers agree best (smallest disagreement over :data:`AGREE_FRAMES`
  frames: every person's median landmark distance to the other's); the earlier segment's
  frames are used before it, the later one's from it on.  Two landmarkers never agree
  exactly: MediaPipe crops each frame around the previous frame's landmarks, so a
  difference as small as the model's own noise keeps feeding itself.  Measured on the
  sample (``bench/pipeline_speed.py``): the later landmarker's first frame is ~6 px from
  the earlier one's, ~2-3 px after 0.1 s, and stays at a median ~2 px however long the
  overlap (tried up to 3 s) -- the same as the model's response to +-1 grey level of noise
  in the frame (2.2 px, ``bench/pose_speed.py``); the jump at the chosen seam is ~1 px.
* Frames are identified by their presentation timestamp (PTS) and the whole clip's frame
  table is read from the container's packets first (:func:`formcheck.video.timeline`), so
  the joined series has exactly the frame indices and times of a single decode; clips whose
  timestamps are not clean (missing or repeated PTS, edit lists, long gaps) and short clips
  are run in one pass (:func:`formcheck.pose.extract_frames`).

Boundaries are placed so every worker has about the same work (model frames, plus
:data:`SKIP_COST` per frame decoded only to reach the segment's start).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from formcheck.landmarks import N_LANDMARKS
from formcheck.video import Timeline

#: Frames each later segment runs before its own first frame (s, video time), for the
#: model's tracking and smoothing to settle (they do within ~0.1 s: see the module doc).
OVERLAP_S = 0.5
#: The seam is not placed in the first part of the overlap (s, video time).
SETTLE_S = 0.2
#: Agreement at a seam is judged over this many consecutive frames.
AGREE_FRAMES = 3
#: Shortest segment worth a worker of its own (s, video time): shorter clips use fewer
#: workers (a worker costs its start-up and an overlap).
MIN_SEGMENT_S = 3.0
#: Cost of decoding a frame only to discard it (reaching a segment's start from the
#: keyframe before it), relative to running the model on one (decode without RGB
#: conversion ~2 ms against the model's ~20 ms).
SKIP_COST = 0.1
#: Values stored per landmark: normalised x, y, z, visibility, presence, world x, y, z (m).
ROW_VALUES = 8


@dataclass(frozen=True)
class Segment:
    """One worker's share of a clip (frame indices into the clip's :class:`Timeline`).

    Attributes:
        keep_start, keep_end: the frames this segment provides (before seam adjustment).
        run_start: first frame given to the model (``keep_start`` minus the overlap).
        decode_start: frame decoding starts from (the keyframe at or before ``run_start``).
    """

    keep_start: int
    keep_end: int
    run_start: int
    decode_start: int


def _index_of_pts(tl: Timeline, pts: int) -> int:
    return int(np.searchsorted(tl.pts, pts))


def plan_segments(tl: Timeline, n_workers: int, overlap_s: float = OVERLAP_S,
                  min_segment_s: float = MIN_SEGMENT_S) -> list[Segment]:
    """Cut the clip into at most ``n_workers`` segments of about equal work.

    Work of a segment = frames run by the model (its own plus the overlap) +
    :data:`SKIP_COST` x frames decoded only to reach its start.  Segments are at least
    ``min_segment_s`` long, so short clips get fewer (down to one).
    """
    T = tl.n_frames
    dur = float(tl.video_t_s[-1]) if T else 0.0
    n = max(1, min(int(n_workers), int(dur // min_segment_s) if min_segment_s > 0 else T))
    whole = [Segment(0, T, 0, 0)]
    if n == 1 or T < 2 * n:
        return whole
    fps = (T - 1) / dur if dur > 0 else 30.0
    ov = max(0, int(round(overlap_s * fps)))
    key_idx = np.searchsorted(tl.pts, tl.keyframe_pts)

    def starts(s: int) -> tuple[int, int]:
        run = max(0, s - ov)
        k = int(np.searchsorted(key_idx, run, side="right")) - 1
        return run, int(key_idx[k]) if k >= 0 else 0

    def cost(s: int, e: int) -> float:
        if s == 0:
            return float(e)
        run, dec = starts(s)
        return (e - run) + SKIP_COST * (run - dec)

    def greedy(cap: float) -> list[int] | None:
        bounds = [0]
        while len(bounds) <= n:
            s = bounds[-1]
            if cost(s, T) <= cap:
                return bounds + [T]
            lo, hi = s + 1, T  # largest e with cost(s, e) <= cap
            if cost(s, lo) > cap:
                return None
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if cost(s, mid) <= cap:
                    lo = mid
                else:
                    hi = mid - 1
            bounds.append(lo)
        return None

    lo_c, hi_c = T / n, float(T + ov)
    best = greedy(hi_c)
    for _ in range(40):
        mid = (lo_c + hi_c) / 2
        b = greedy(mid)
        if b is None:
            lo_c = mid
        else:
            hi_c, best = mid, b
    if best is None or len(best) <= 2:
        return whole
    segs = []
    for s, e in zip(best[:-1], best[1:], strict=True):
        run, dec = starts(s) if s else (0, 0)
        segs.append(Segment(s, e, run, dec))
    return segs


@dataclass(frozen=True)
class SegmentResult:
    """What a worker found: per frame its PTS and people count; the people's rows
    ([sum(counts), 33, 8] float32) are in ``out_file``."""

    pts: np.ndarray
    counts: np.ndarray
    out_file: str


def _frame_disagreement(a: np.ndarray, b: np.ndarray, W: int, H: int) -> float:
    """How far apart two landmarkers' people are in one frame (px): for each person of
    ``a``, the median landmark distance to the nearest person of ``b``; the largest of
    those.  0 when neither found anyone, inf when they found different numbers of people."""
    if len(a) != len(b):
        return math.inf
    if len(a) == 0:
        return 0.0
    scale = np.array([W, H], dtype=np.float64)
    worst = 0.0
    for pa in a:
        d = [float(np.median(np.linalg.norm((pa[:, :2] - pb[:, :2]) * scale, axis=1)))
             for pb in b]
        worst = max(worst, min(d))
    return worst


def choose_seam(prev: Sequence[np.ndarray], nxt: Sequence[np.ndarray], settle: int, W: int,
                H: int) -> tuple[int, float]:
    """Seam inside an overlap: ``prev[i]`` / ``nxt[i]`` are the people [n, 33, 8] the earlier /
    later segment found in overlap frame ``i``.

    Returns:
        (offset in the overlap of the first frame taken from the later segment, that frame's
        disagreement in px; the end of the overlap and NaN when the two never found the
        same number of people there).
    """
    n = len(prev)
    d = np.array([_frame_disagreement(prev[i], nxt[i], W, H) for i in range(n)])
    best, best_i = math.inf, n
    for i in range(min(settle, n), n - AGREE_FRAMES + 1):
        w = float(np.mean(d[i:i + AGREE_FRAMES]))
        if w < best:
            best, best_i = w, i
    return best_i, (float(d[best_i]) if best_i < n else float("nan"))


def _people_of(counts: np.ndarray, rows: np.ndarray) -> list[np.ndarray]:
    offs = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    return [rows[offs[i]:offs[i + 1]] for i in range(len(counts))]


@dataclass(frozen=True)
class Joined:
    """Every person found in every frame of the clip, after the join.

    Attributes:
        counts: [T] people per frame.
        rows: [sum(counts), 33, 8] their landmarks, frame by frame (normalised x, y, z,
            visibility, presence, world x, y, z m).
        seams: frame index of each seam.
        seam_px: disagreement between the two segments at each seam (px; NaN = they never
            found the same people and the seam is at the end of the overlap).
    """

    counts: np.ndarray
    rows: np.ndarray
    seams: tuple[int, ...]
    seam_px: tuple[float, ...]


def join_segments(tl: Timeline, segs: Sequence[Segment], results: Sequence[SegmentResult],
                  W: int, H: int, settle_s: float = SETTLE_S) -> Joined | None:
    """Join per-segment results at their seams; None when a segment did not decode exactly
    the frames the timeline lists (the caller then runs the clip in one pass)."""
    T = tl.n_frames
    fps = (T - 1) / float(tl.video_t_s[-1]) if T > 1 and tl.video_t_s[-1] > 0 else 30.0
    settle = int(round(settle_s * fps))
    parts: list[tuple[np.ndarray, list[np.ndarray], int]] = []  # counts, people, first idx
    for seg, res in zip(segs, results, strict=True):
        want = tl.pts[seg.run_start:seg.keep_end]
        if res.pts.shape != want.shape or not np.array_equal(res.pts, want):
            return None
        n_rows = int(res.counts.astype(np.int64).sum())
        rows = np.fromfile(res.out_file, dtype=np.float32,
                           count=n_rows * N_LANDMARKS * ROW_VALUES)
        if rows.size != n_rows * N_LANDMARKS * ROW_VALUES:
            return None
        rows = rows.reshape(n_rows, N_LANDMARKS, ROW_VALUES)
        parts.append((res.counts, _people_of(res.counts, rows), seg.run_start))
    seams: list[int] = []
    seam_px: list[float] = []
    people: list[np.ndarray] = list(parts[0][1])
    for k in range(1, len(parts)):
        _, nxt, run = parts[k]
        keep = segs[k].keep_start
        ov = keep - run
        prev_ov = people[run:keep]
        off, px = choose_seam(prev_ov, nxt[:ov], settle, W, H)
        seam = run + off
        del people[seam:]
        people.extend(nxt[off:])
        seams.append(seam)
        seam_px.append(px)
    if len(people) != T:
        return None
    counts = np.array([len(p) for p in people], dtype=np.int16)
    rows = (np.concatenate(people, axis=0) if counts.sum() else
            np.zeros((0, N_LANDMARKS, ROW_VALUES), np.float32))
    return Joined(counts=counts, rows=rows.astype(np.float32, copy=False),
                  seams=tuple(seams), seam_px=tuple(seam_px))


def select_people(counts: np.ndarray, rows: np.ndarray, t_s: np.ndarray, num_poses: int
                  ) -> np.ndarray:
    """The runner's landmarks per frame, [T, 33, 8] (NaN where not in view), from a run with
    one person per frame.  Runs with several people per frame are never split into segments
    (:func:`formcheck.pose.extract` runs them in one pass, keeping every person for
    :mod:`formcheck.people`), so ``num_poses`` must be 1."""
    if num_poses > 1:
        raise ValueError("several people per frame are run in one pass, not in segments")
    T = len(counts)
    out = np.full((T, N_LANDMARKS, ROW_VALUES), np.nan, np.float32)
    offs = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    has = counts > 0
    out[has] = rows[offs[:-1][has]]
    return out
