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

What is drawn.  Colours come from the Okabe-Ito palette, which stays distinguishable under
the common colour-vision deficiencies, and nothing relies on colour alone: the runner's left
side is drawn with solid bones and round joints, the right side with dashed bones and square
joints, and the knees carry "L" / "R" letters.  All text sits on a dark backing or has a dark
outline, sized from the output frame so it stays legible on a phone.

* Skeleton: the pose model's landmarks of that very frame (``analysis.pose``, what the model
  saw), with the leg labels corrected by the identity repair (``analysis.clean.leg_swapped``).
  Landmarks and bones whose visibility is below :data:`FAINT_VISIBILITY` are drawn faint (thin
  and blended at :data:`FAINT_ALPHA` opacity).
* Initial contact, for +/-``hold`` around each IC (:func:`hold_s`: a few frames): a marker at
  the landing heel with the foot (runner's side) and its foot-strike class, and, in side and
  oblique views, the construction behind the per-step metrics, drawn from the cleaned
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
from typing import Any

import av
import numpy as np

from formcheck.errors import OutputWriteError
from formcheck.landmarks import (
    BONES,
    L_ANKLE,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    LEFT_SIDE,
    LEG_SWAP,
    NOSE,
    R_ANKLE,
    R_HEEL,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
    RIGHT_SIDE,
)
from formcheck.metrics.geometry import at
from formcheck.video import VideoWriter, iter_frames, probe

# ---- palette (Okabe & Ito 2008, "Color Universal Design"), RGB ----------------------------
BLACK = (0, 0, 0)
WHITE = (255, 255, 255)
ORANGE = (230, 159, 0)
SKY_BLUE = (86, 180, 233)
BLUISH_GREEN = (0, 158, 115)
YELLOW = (240, 228, 66)
BLUE = (0, 114, 178)
VERMILLION = (213, 94, 0)
REDDISH_PURPLE = (204, 121, 167)

#: Colour of the runner's left (solid lines) and right (dashed lines) side.
SIDE_COLOR = {"L": SKY_BLUE, "R": ORANGE}
#: Colour per finding severity (the severity is also written out in words).
SEVERITY_COLOR = {"marked": VERMILLION, "mild": YELLOW}

#: Landmarks below this visibility (0-1) are drawn faint.
FAINT_VISIBILITY = 0.5
#: Opacity of faint landmarks and bones.
FAINT_ALPHA = 0.35
#: ``--slowmo-contacts``: half width of the slowed window around each IC (s, real time) ...
SLOW_HALF_WINDOW_S = 0.15
#: ... and how many times slower it plays.
SLOW_FACTOR = 4.0
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
#: Longest hold of the contact overlay on each side of an IC (s, real time).
HOLD_MAX_S = 0.12

#: Landmarks drawn as joints (the face and hands other than the nose and wrists are left out).
JOINTS = (NOSE, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32)
_LEFT = frozenset(LEFT_SIDE)
_RIGHT = frozenset(RIGHT_SIDE)
_CHAIN = {"L": (L_HIP, L_KNEE, L_ANKLE, L_HEEL), "R": (R_HIP, R_KNEE, R_ANKLE, R_HEEL)}


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


def hold_s(step_time_s: float) -> float:
    """Half width (s, real time) of the window in which a contact overlay is shown:
    :data:`HOLD_MAX_S`, shortened to 40 % of the median step time so that consecutive
    contacts never overlap."""
    if np.isfinite(step_time_s) and step_time_s > 0:
        return float(min(HOLD_MAX_S, 0.4 * step_time_s))
    return HOLD_MAX_S


def _fmt(v: float | None, fmt: str) -> str | None:
    """``format(v, fmt)`` without a "-0"; None for a missing value."""
    if v is None or not np.isfinite(v):
        return None
    s = format(v, fmt)
    return s.replace("-", "", 1) if s.lstrip("+-").strip("0.") == "" else s


@dataclass(frozen=True)
class Contact:
    """One initial contact as drawn in the video.

    Attributes:
        k: step number (row of ``steps.csv``).
        t_s: IC time (s, real time).
        foot: the runner's side ("L" / "R") of the landing foot.
        chain: which (identity-repaired) landmark leg is landing.
        frame_index: decoded frame nearest the IC (-1 when unknown).
        strike: foot-strike class ("rearfoot", "midfoot", "forefoot" or "").
        hip, leg_hip, knee, ankle, heel: cleaned positions at the IC (px of the source frame;
            ``hip`` is the hip midpoint, ``leg_hip`` the landing leg's hip).
        overstride_pct, shank_deg, knee_deg: per-step values (NaN when not shown).
    """

    k: int
    t_s: float
    foot: str
    chain: str
    frame_index: int
    strike: str
    hip: np.ndarray
    leg_hip: np.ndarray
    knee: np.ndarray
    ankle: np.ndarray
    heel: np.ndarray
    overstride_pct: float
    shank_deg: float
    knee_deg: float


def contacts_of(analysis: Any) -> list[Contact]:
    """The contacts of an analysis with what the video shows for each (see module doc)."""
    ev, clean, steps = analysis.events, analysis.clean, analysis.metrics.steps
    summ = analysis.metrics.summaries
    sagittal = analysis.view.view in ("side", "oblique")

    def shown(metric: str) -> bool:
        s = summ.get(metric)
        return bool(sagittal and s is not None and s.usable)

    pose = analysis.pose
    out = []
    for k in range(ev.n):
        t = float(ev.ic_t_s[k])
        p = at(clean.t_s, clean.xy_px, t)
        chain = str(ev.chain[k])
        h, kn, a, he = _CHAIN.get(chain, _CHAIN["L"])
        fi = -1
        if pose.n_frames:
            j = int(np.argmin(np.abs(pose.t_s - t)))
            fi = int(pose.frame_index[j])

        def val(name: str, k: int = k) -> float:
            v = steps.values.get(name)
            return float(v[k]) if (v is not None and k < v.size and shown(name)) else np.nan

        strike = steps.strike_class[k] if (k < len(steps.strike_class)
                                           and shown("foot_strike_angle_deg")) else ""
        out.append(Contact(
            k=k, t_s=t, foot=str(ev.foot[k]), chain=chain, frame_index=fi, strike=strike,
            hip=(p[L_HIP] + p[R_HIP]) / 2, leg_hip=p[h], knee=p[kn], ankle=p[a], heel=p[he],
            overstride_pct=val("overstride_pct_leg"), shank_deg=val("shank_angle_ic_deg"),
            knee_deg=val("knee_flexion_ic_deg")))
    return out


class Painter:
    """Draws the overlays of one analysis on frames scaled to the output size.

    Args:
        analysis: an :class:`formcheck.api.Analysis`.
        out_w, out_h: output frame size (px).
        slowed_windows: windows (s, video time) played slower, to tag them in the panel.
    """

    def __init__(self, analysis: Any, out_w: int, out_h: int,
                 slowed_windows: Sequence[tuple[float, float]] = ()) -> None:
        import cv2

        self.cv2 = cv2
        self.a = analysis
        pose = analysis.pose
        self.W, self.H = out_w, out_h
        self.sx = out_w / max(1, pose.width_px)
        self.sy = out_h / max(1, pose.height_px)
        # sizes scale with the frame's geometric mean size (legible on a phone in either
        # orientation); see the module docstring
        u = float(np.sqrt(out_w * out_h)) / 810.0
        self.u = u
        self.thick = max(2, int(round(3 * u)))
        self.radius = max(3, int(round(5 * u)))
        self.font = cv2.FONT_HERSHEY_DUPLEX
        self.fs = max(0.4, 0.72 * u)
        self.fs_small = max(0.35, 0.6 * u)
        self.text_th = max(1, int(round(1.4 * u)))
        self.dash = max(6, int(round(10 * u)))
        # raw landmarks by decoded frame index
        n_idx = int(pose.frame_index.max()) + 1 if pose.n_frames else 0
        self.row_of = np.full(n_idx, -1, dtype=np.int64)
        if pose.n_frames:
            self.row_of[pose.frame_index] = np.arange(pose.n_frames)
        self.contacts = contacts_of(analysis)
        ev = analysis.events
        st = np.diff(np.sort(ev.ic_t_s)) if ev.n > 1 else np.zeros(0)
        self.hold = hold_s(float(np.median(st)) if st.size else float("nan"))
        dt = np.diff(pose.t_s) if pose.n_frames > 1 else np.zeros(0)
        self.half_frame_s = 0.5 * float(np.median(dt)) if dt.size else 1.0 / 60.0
        self.ic = np.array([c.t_s for c in self.contacts])
        steps = analysis.metrics.steps
        self.step_ms = steps.values.get("step_time_ms", np.full(ev.n, np.nan))
        self.view = analysis.view.view
        self.sign = analysis.view.sign
        self.slowed = list(slowed_windows)
        lean = getattr(analysis.metrics, "lean_series_deg", None)
        self.lean = lean if (lean is not None and lean.size == analysis.clean.n) else None
        cad = analysis.metrics.summaries.get("cadence_spm")
        self.clip_cadence = float(cad.value) if (cad is not None and cad.usable) else None
        # a cadence the analysis doubts (e.g. the clip looks slowed down) is not shown as a
        # number: the panel says it is not assessed and why, in short
        self.cadence_doubt = None
        if cad is not None and cad.reason.startswith("not assessed"):
            self.cadence_doubt = cad.reason.removeprefix("not assessed: ").split(";")[0] \
                .replace("the clip looks ", "clip looks ")
        self.findings = sorted((f for f in analysis.findings
                                if f.assessed and f.severity.value != "none"),
                               key=lambda f: -f.severity.rank)
        self.n_assessed = sum(1 for f in analysis.findings if f.assessed)
        # head-up panel in the top corner away from the runner
        hip_x = pose.xy_px[:, [L_HIP, R_HIP], 0]
        med = float(np.nanmedian(hip_x)) if np.isfinite(hip_x).any() else 0.0
        self.panel_left = med >= pose.width_px / 2

    # ---- primitives ----------------------------------------------------------------------
    def _p(self, xy: np.ndarray) -> tuple[int, int]:
        return int(round(float(xy[0]) * self.sx)), int(round(float(xy[1]) * self.sy))

    def _line(self, img: np.ndarray, p: tuple[int, int], q: tuple[int, int],
              color: tuple[int, int, int], th: int, dashed: bool = False,
              outline: bool = True) -> None:
        cv2 = self.cv2
        if outline:
            cv2.line(img, p, q, BLACK, th + 2, cv2.LINE_AA)
        if not dashed:
            cv2.line(img, p, q, color, th, cv2.LINE_AA)
            return
        d = np.subtract(q, p, dtype=float)
        n = max(1, int(np.hypot(*d) // self.dash))
        n += 1 - n % 2  # odd: both ends drawn
        for i in range(0, n, 2):
            a = (int(round(p[0] + d[0] * i / n)), int(round(p[1] + d[1] * i / n)))
            b = (int(round(p[0] + d[0] * (i + 1) / n)), int(round(p[1] + d[1] * (i + 1) / n)))
            cv2.line(img, a, b, color, th, cv2.LINE_AA)

    def _joint(self, img: np.ndarray, p: tuple[int, int], color: tuple[int, int, int],
               square: bool, r: int) -> None:
        cv2 = self.cv2
        if square:
            cv2.rectangle(img, (p[0] - r - 1, p[1] - r - 1), (p[0] + r + 1, p[1] + r + 1),
                          BLACK, -1)
            cv2.rectangle(img, (p[0] - r, p[1] - r), (p[0] + r, p[1] + r), color, -1)
        else:
            cv2.circle(img, p, r + 1, BLACK, -1, cv2.LINE_AA)
            cv2.circle(img, p, r, color, -1, cv2.LINE_AA)

    def text_size(self, s: str, fs: float) -> tuple[int, int]:
        """(width, height) in px of ``s`` (a "°" counts as a small ring)."""
        cv2 = self.cv2
        w = 0
        h = 0
        for i, part in enumerate(s.split("°")):
            (tw, th), _ = cv2.getTextSize(part, self.font, fs, self.text_th)
            w += tw + (int(round(8 * fs)) if i else 0)
            h = max(h, th)
        return w, h

    def text(self, img: np.ndarray, s: str, org: tuple[int, int], color: tuple[int, int, int],
             fs: float | None = None, outline: bool = True) -> int:
        """Draw ``s`` with its baseline-left at ``org``; "°" is drawn as a ring.  Returns the
        width drawn (px)."""
        cv2 = self.cv2
        fs = self.fs if fs is None else fs
        x, y = org
        th = self.text_th
        for i, part in enumerate(s.split("°")):
            if i:
                r = max(2, int(round(3 * fs)))
                cy = y - int(round(17 * fs))
                if outline:
                    cv2.circle(img, (x + r + 1, cy), r, BLACK, th + 2, cv2.LINE_AA)
                cv2.circle(img, (x + r + 1, cy), r, color, th, cv2.LINE_AA)
                x += int(round(8 * fs))
            if part:
                if outline:
                    cv2.putText(img, part, (x, y), self.font, fs, BLACK, th + 3, cv2.LINE_AA)
                cv2.putText(img, part, (x, y), self.font, fs, color, th, cv2.LINE_AA)
                x += cv2.getTextSize(part, self.font, fs, th)[0][0]
        return x - org[0]

    def panel(self, img: np.ndarray, lines: Sequence[Sequence[tuple[str, tuple[int, int, int]]]],
              x: int, y: int, align_right: bool = False) -> int:
        """A dark translucent box of text lines, each a list of (text, colour) runs; returns
        the y just below it."""
        if not lines:
            return y
        fs = self.fs
        pad = int(round(8 * self.u))
        gap = int(round(4 * self.u))
        sizes = [[self.text_size(s, fs) for s, _ in ln] for ln in lines]
        space = self.text_size(" ", fs)[0]
        line_h = max(h for ln in sizes for _, h in ln) + 2 * gap + self.text_th
        width = max(sum(w for w, _ in ln) + space * (len(ln) - 1) for ln in sizes)
        bw, bh = width + 2 * pad, line_h * len(lines) + 2 * pad - 2 * gap
        if align_right:
            x = self.W - x - bw
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.W, x + bw), min(self.H, y + bh)
        if x1 > x0 and y1 > y0:
            roi = img[y0:y1, x0:x1]
            img[y0:y1, x0:x1] = self.cv2.convertScaleAbs(roi, alpha=0.3)
        ty = y + pad + line_h - 2 * gap - self.text_th
        for ln in lines:
            tx = x + pad
            for s, col in ln:
                tx += self.text(img, s, (tx, ty), col, fs, outline=False) + space
            ty += line_h
        return y + bh

    # ---- layers --------------------------------------------------------------------------
    def _frame_landmarks(self, frame_index: int, t_s: float
                         ) -> tuple[np.ndarray, np.ndarray] | None:
        """Raw landmarks (px of the source) and visibility of a decoded frame, leg labels
        repaired; None when the model found no one."""
        if frame_index < 0 or frame_index >= self.row_of.size or self.row_of[frame_index] < 0:
            return None
        row = int(self.row_of[frame_index])
        pose = self.a.pose
        xy = pose.xy_px[row]
        if not np.isfinite(xy[:, 0]).any():
            return None
        vis = np.nan_to_num(pose.visibility[row], nan=0.0)
        clean = self.a.clean
        if clean.n and clean.leg_swapped.any():
            j = int(np.clip(np.searchsorted(clean.t_s, t_s), 0, clean.n - 1))
            if j > 0 and abs(clean.t_s[j - 1] - t_s) < abs(clean.t_s[j] - t_s):
                j -= 1
            if clean.leg_swapped[j]:
                xy, vis = xy[list(LEG_SWAP)], vis[list(LEG_SWAP)]
        return xy, vis

    def skeleton(self, img: np.ndarray, xy: np.ndarray, vis: np.ndarray) -> None:
        """Bones and joints; low-visibility ones faint, left solid/round, right
        dashed/square."""
        cv2 = self.cv2
        ok = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])
        pts = {i: self._p(xy[i]) for i in JOINTS if ok[i]}
        strong = vis >= FAINT_VISIBILITY

        def side(a: int, b: int) -> str:
            if a in _LEFT and b in _LEFT:
                return "L"
            if a in _RIGHT and b in _RIGHT:
                return "R"
            return "C"

        faint_bones = [(a, b) for a, b in BONES if a in pts and b in pts
                       and not (strong[a] and strong[b])]
        faint_joints = [i for i in pts if not strong[i]]
        if faint_bones or faint_joints:
            xs = [pts[i][0] for i in faint_joints] + [pts[j][0] for ab in faint_bones
                                                      for j in ab]
            ys = [pts[i][1] for i in faint_joints] + [pts[j][1] for ab in faint_bones
                                                      for j in ab]
            m = self.radius + self.thick + 2
            x0, x1 = max(0, min(xs) - m), min(self.W, max(xs) + m + 1)
            y0, y1 = max(0, min(ys) - m), min(self.H, max(ys) + m + 1)
            if x1 > x0 and y1 > y0:
                under = img[y0:y1, x0:x1].copy()
                for a, b in faint_bones:
                    s = side(a, b)
                    self._line(img, pts[a], pts[b], SIDE_COLOR.get(s, WHITE),
                               max(1, self.thick - 1), dashed=s == "R", outline=False)
                for i in faint_joints:
                    s = "L" if i in _LEFT else "R" if i in _RIGHT else "C"
                    self._joint(img, pts[i], SIDE_COLOR.get(s, WHITE), s == "R",
                                max(2, self.radius - 2))
                img[y0:y1, x0:x1] = cv2.addWeighted(img[y0:y1, x0:x1], FAINT_ALPHA, under,
                                                    1.0 - FAINT_ALPHA, 0.0)
        for a, b in BONES:
            if a in pts and b in pts and strong[a] and strong[b]:
                s = side(a, b)
                self._line(img, pts[a], pts[b], SIDE_COLOR.get(s, WHITE), self.thick,
                           dashed=s == "R")
        for i in pts:
            if strong[i]:
                s = "L" if i in _LEFT else "R" if i in _RIGHT else "C"
                self._joint(img, pts[i], SIDE_COLOR.get(s, WHITE), s == "R", self.radius)
        # L / R letters beside the knees, on the outer side of the pair
        if L_KNEE in pts and R_KNEE in pts:
            left_is_left = pts[L_KNEE][0] <= pts[R_KNEE][0]
        else:
            left_is_left = True
        off = self.radius * 2 + 2
        for s, kn in (("L", L_KNEE), ("R", R_KNEE)):
            if kn in pts and strong[kn]:
                outward = -1 if (s == "L") == left_is_left else 1
                w, h = self.text_size(s, self.fs_small)
                x = pts[kn][0] + outward * off - (w if outward < 0 else 0)
                self.text(img, s, (x, pts[kn][1] + h // 2), SIDE_COLOR[s], self.fs_small)

    def trunk(self, img: np.ndarray, t_s: float) -> None:
        """Trunk line, vertical reference and lean angle (side and oblique views)."""
        clean = self.a.clean
        p = at(clean.t_s, clean.xy_px, t_s)
        hip = (p[L_HIP] + p[R_HIP]) / 2
        sh = (p[L_SHOULDER] + p[R_SHOULDER]) / 2
        if not (np.isfinite(hip).all() and np.isfinite(sh).all()):
            return
        ph, ps = self._p(hip), self._p(sh)
        length = int(np.hypot(ps[0] - ph[0], ps[1] - ph[1]))
        self._line(img, ph, (ph[0], ph[1] - length), WHITE, max(1, self.thick - 1), dashed=True)
        self._line(img, ph, ps, BLUISH_GREEN, self.thick + 1)
        lean = float(at(clean.t_s, self.lean[:, None], t_s)[0]) if self.lean is not None \
            else float("nan")
        s = _fmt(lean, ".0f")
        if s is not None:
            label = f"lean {s}°"
            w, _ = self.text_size(label, self.fs_small)
            x = ps[0] + (self.radius * 3 if self.sign < 0 else -self.radius * 3 - w)
            self.text(img, label, (int(np.clip(x, 0, self.W - w)), ps[1]), BLUISH_GREEN,
                      self.fs_small)

    def midline(self, img: np.ndarray, t_s: float) -> None:
        """Body midline and wrists past it (front and back views)."""
        from formcheck.metrics.arm_swing import crossing_pct_shoulder

        clean = self.a.clean
        p = at(clean.t_s, clean.xy_px, t_s)
        sh = (p[L_SHOULDER] + p[R_SHOULDER]) / 2
        hip = (p[L_HIP] + p[R_HIP]) / 2
        if not np.isfinite(sh).all():
            return
        top = self._p(sh)
        bottom_y = self._p(hip)[1] if np.isfinite(hip).all() else top[1] + int(80 * self.u)
        self._line(img, (top[0], top[1] - int(20 * self.u)), (top[0], bottom_y), WHITE,
                   max(1, self.thick - 1), dashed=True)
        cross = crossing_pct_shoulder(p[None])
        for s, wr in (("L", L_WRIST), ("R", R_WRIST)):
            c = float(cross[s][0])
            if np.isfinite(c) and c > 0:
                q = self._p(p[wr])
                r = self.radius * 3
                self.cv2.circle(img, q, r, BLACK, self.thick + 2, self.cv2.LINE_AA)
                self.cv2.circle(img, q, r, REDDISH_PURPLE, self.thick, self.cv2.LINE_AA)
                self.text(img, f"X {s}", (q[0] + r + 2, q[1]), REDDISH_PURPLE, self.fs_small)

    def contact(self, img: np.ndarray, c: Contact, at_frame: bool) -> None:
        """The construction at one IC (drawn at the IC's own landmark positions)."""
        cv2 = self.cv2
        col = SIDE_COLOR.get(c.foot, WHITE)
        heel_ok = np.isfinite(c.heel).all()
        if self.view in ("side", "oblique") and heel_ok and np.isfinite(c.hip).all():
            ph, pe = self._p(c.hip), self._p(c.heel)
            # vertical through the hip midpoint, down to heel level
            self._line(img, (ph[0], ph[1] - int(30 * self.u)), (ph[0], pe[1]), YELLOW,
                       max(1, self.thick - 1))
            # horizontal overstride distance at heel height
            self._line(img, (ph[0], pe[1]), pe, VERMILLION, self.thick + 1)
            s = _fmt(c.overstride_pct, "+.0f")
            if s is not None:
                label = f"{s}%"
                w, h = self.text_size(label, self.fs_small)
                x = (ph[0] + pe[0]) // 2 - w // 2
                y = pe[1] - self.radius * 2 - 2
                self.text(img, label, (int(np.clip(x, 0, self.W - w)), max(h, y)), VERMILLION,
                          self.fs_small)
            if np.isfinite(c.knee).all() and np.isfinite(c.ankle).all():
                pk, pa = self._p(c.knee), self._p(c.ankle)
                self._line(img, pk, pa, REDDISH_PURPLE, self.thick + 1)
                s = _fmt(c.shank_deg, ".0f")
                if s is not None:
                    mx, my = (pk[0] + pa[0]) // 2, (pk[1] + pa[1]) // 2
                    lab = f"{s}°"
                    w, _ = self.text_size(lab, self.fs_small)
                    x = mx - self.sign * (self.radius * 3) - (w if self.sign > 0 else 0)
                    self.text(img, lab, (int(np.clip(x, 0, self.W - w)), my), REDDISH_PURPLE,
                              self.fs_small)
                s = _fmt(c.knee_deg, ".0f")
                if s is not None and np.isfinite(c.leg_hip).all():
                    self._line(img, self._p(c.leg_hip), pk, REDDISH_PURPLE,
                               max(1, self.thick - 1), dashed=True)
                    lab = f"knee {s}°"
                    w, _ = self.text_size(lab, self.fs_small)
                    x = pk[0] + self.sign * (self.radius * 3) - (w if self.sign < 0 else 0)
                    self.text(img, lab, (int(np.clip(x, 0, self.W - w)), pk[1]),
                              REDDISH_PURPLE, self.fs_small)
        if heel_ok:
            pe = self._p(c.heel)
            r = self.radius * 3
            cv2.circle(img, pe, r, BLACK, self.thick + 3, cv2.LINE_AA)
            cv2.circle(img, pe, r, col, -1 if at_frame else self.thick + 1, cv2.LINE_AA)
            self.text(img, c.foot, (pe[0] - r // 2, pe[1] + r + int(22 * self.fs_small)), col,
                      self.fs_small)

    def hud(self, img: np.ndarray, t_s: float, video_t_s: float,
            c: Contact | None) -> None:
        """Head-up panel (time, steps, cadence, findings) and the contact panel."""
        done = self.ic <= t_s + 1e-9
        n_steps = int(done.sum())
        st = self.step_ms[: n_steps]
        ok = np.isfinite(st)
        running = 60000.0 * ok.sum() / st[ok].sum() if ok.sum() >= 2 else float("nan")
        cad = _fmt(running, ".0f") or "-"
        lines: list[list[tuple[str, tuple[int, int, int]]]] = [
            [(f"{t_s:5.2f} s", WHITE), (f"steps {n_steps}", WHITE)],
            [("cadence", WHITE), (f"{cad}/min", YELLOW)]
            + ([(f"clip {self.clip_cadence:.0f}", WHITE)] if self.clip_cadence else []),
        ]
        if self.cadence_doubt:
            lines[1] = [("cadence not assessed", YELLOW)]
            lines.insert(2, [(self.cadence_doubt[:34], WHITE)])
        if any(a <= video_t_s <= b for a, b in self.slowed):
            lines[0].append((f"SLOW {SLOW_FACTOR:g}x", YELLOW))
        if self.findings:
            for f in self.findings[:4]:
                title = f.title.split(" (")[0]
                if len(title) > 24:
                    title = title[:23] + "."
                sev = f.severity.value
                row = [(sev.upper(), SEVERITY_COLOR.get(sev, WHITE)), (title, WHITE)]
                if f.confidence == "low":
                    row.append(("(low conf.)", WHITE))
                lines.append(row)
            if len(self.findings) > 4:
                lines.append([(f"+{len(self.findings) - 4} more in the report", WHITE)])
        elif self.n_assessed:
            lines.append([(f"no flags in {self.n_assessed} checks", WHITE)])
        else:
            lines.append([("form checks not assessed", WHITE)])
        m = int(round(10 * self.u))
        y = self.panel(img, lines, m, m, align_right=not self.panel_left)
        if c is not None:
            col = SIDE_COLOR.get(c.foot, WHITE)
            cl: list[list[tuple[str, tuple[int, int, int]]]] = [
                [("CONTACT", WHITE), (f"{c.foot} foot", col)]]
            if c.strike:
                cl.append([(f"{c.strike} strike", WHITE)])
            s = _fmt(c.overstride_pct, "+.0f")
            if s is not None:
                cl.append([("overstride", WHITE), (f"{s}% leg", VERMILLION)])
            a, b = _fmt(c.shank_deg, ".0f"), _fmt(c.knee_deg, ".0f")
            angles = ([("shank", WHITE), (f"{a}°", REDDISH_PURPLE)] if a else []) + \
                ([("knee", WHITE), (f"{b}°", REDDISH_PURPLE)] if b else [])
            if angles:
                cl.append(angles)
            self.panel(img, cl, m, y + m, align_right=not self.panel_left)

    def current_contact(self, t_s: float) -> Contact | None:
        """The contact whose hold window contains ``t_s`` (nearest if several)."""
        if self.ic.size == 0:
            return None
        j = int(np.argmin(np.abs(self.ic - t_s)))
        return self.contacts[j] if abs(self.ic[j] - t_s) <= self.hold + 1e-9 else None

    def draw(self, img: np.ndarray, frame_index: int, t_s: float, video_t_s: float) -> None:
        """Draw every overlay of the frame (in place; ``img`` is RGB at the output size)."""
        c = self.current_contact(t_s)
        lm = self._frame_landmarks(frame_index, t_s)
        if lm is not None:
            self.skeleton(img, *lm)
        if self.view in ("side", "oblique"):
            self.trunk(img, t_s)
        elif self.view in ("front", "back"):
            self.midline(img, t_s)
        if c is not None:
            self.contact(img, c, at_frame=c.frame_index == frame_index)
        self.hud(img, t_s, video_t_s, c)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputWriteError("cannot encode the PNG still", path)
    path.write_bytes(buf.tobytes())


def write_annotated(analysis: Any, rep: dict[str, Any] | None, path: str | os.PathLike[str],
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


def _one_pass(analysis: Any, info: Any, tmp: Path, W: int, H: int,
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
    analysis: Any
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


def _pieces(analysis: Any, info: Any, tmp: Path, W: int, H: int,
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
