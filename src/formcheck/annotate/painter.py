"""Drawing the annotated video's overlays on one frame (:class:`Painter`).

See :mod:`formcheck.annotate` for what is drawn and why.  Colours come from
:mod:`formcheck.report.style` (Okabe-Ito, as RGB tuples); the contact construction from
:mod:`formcheck.construction`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from formcheck.construction import Contact, contacts_of
from formcheck.landmarks import (
    BONES,
    JOINTS,
    L_HIP,
    L_KNEE,
    L_WRIST,
    LEFT_SIDE,
    LEG_SWAP,
    R_HIP,
    R_KNEE,
    R_WRIST,
    RIGHT_SIDE,
    hip_mid,
    shoulder_mid,
)
from formcheck.metrics.geometry import at
from formcheck.report.style import (
    CONSTRUCTION_VIDEO,
    RGB,
    SEVERITY_VIDEO,
    SIDE_VIDEO,
)
from formcheck.report.style import fmt_spec as _fmt

if TYPE_CHECKING:
    from formcheck.api import Analysis

BLACK = RGB["black"]
WHITE = RGB["white"]
YELLOW = RGB["yellow"]
#: Colour of the runner's left (solid lines) and right (dashed lines) side.
SIDE_COLOR = {k: RGB[v] for k, v in SIDE_VIDEO.items()}
#: Colour per finding severity (the severity is also written out in words).
SEVERITY_COLOR = {k: RGB[v] for k, v in SEVERITY_VIDEO.items()}
#: Colour of each element of the contact construction, the trunk line and the arm crossing.
CONSTRUCTION_COLOR = {k: RGB[v] for k, v in CONSTRUCTION_VIDEO.items()}
CC = CONSTRUCTION_COLOR

#: Landmarks below this visibility (0-1) are drawn faint.
FAINT_VISIBILITY = 0.5
#: Opacity of faint landmarks and bones.
FAINT_ALPHA = 0.35
#: ``--slowmo-contacts``: how many times slower the moments around each IC play.
SLOW_FACTOR = 4.0
#: Longest hold of the contact overlay on each side of an IC (s, real time).
HOLD_MAX_S = 0.12

_LEFT = frozenset(LEFT_SIDE)
_RIGHT = frozenset(RIGHT_SIDE)


def hold_s(step_time_s: float) -> float:
    """Half width (s, real time) of the window in which a contact overlay is shown:
    :data:`HOLD_MAX_S`, shortened to 40 % of the median step time so that consecutive
    contacts never overlap."""
    if np.isfinite(step_time_s) and step_time_s > 0:
        return float(min(HOLD_MAX_S, 0.4 * step_time_s))
    return HOLD_MAX_S



class Painter:
    """Draws the overlays of one analysis on frames scaled to the output size.

    Args:
        analysis: an :class:`formcheck.api.Analysis`.
        out_w, out_h: output frame size (px).
        slowed_windows: windows (s, video time) played slower, to tag them in the panel.
    """

    def __init__(self, analysis: Analysis, out_w: int, out_h: int,
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
        hip = hip_mid(p)
        sh = shoulder_mid(p)
        if not (np.isfinite(hip).all() and np.isfinite(sh).all()):
            return
        ph, ps = self._p(hip), self._p(sh)
        length = int(np.hypot(ps[0] - ph[0], ps[1] - ph[1]))
        self._line(img, ph, (ph[0], ph[1] - length), WHITE, max(1, self.thick - 1), dashed=True)
        self._line(img, ph, ps, CC["trunk"], self.thick + 1)
        lean = float(at(clean.t_s, self.lean[:, None], t_s)[0]) if self.lean is not None \
            else float("nan")
        s = _fmt(lean, ".0f")
        if s is not None:
            label = f"lean {s}°"
            w, _ = self.text_size(label, self.fs_small)
            x = ps[0] + (self.radius * 3 if self.sign < 0 else -self.radius * 3 - w)
            self.text(img, label, (int(np.clip(x, 0, self.W - w)), ps[1]), CC["trunk"],
                      self.fs_small)

    def midline(self, img: np.ndarray, t_s: float) -> None:
        """Body midline and wrists past it (front and back views)."""
        from formcheck.metrics.arm_swing import crossing_pct_shoulder

        clean = self.a.clean
        p = at(clean.t_s, clean.xy_px, t_s)
        sh = shoulder_mid(p)
        hip = hip_mid(p)
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
                self.cv2.circle(img, q, r, CC["arm_crossing"], self.thick, self.cv2.LINE_AA)
                self.text(img, f"X {s}", (q[0] + r + 2, q[1]), CC["arm_crossing"],
                          self.fs_small)

    def contact(self, img: np.ndarray, c: Contact, at_frame: bool) -> None:
        """The construction at one IC (drawn at the IC's own landmark positions)."""
        cv2 = self.cv2
        col = SIDE_COLOR.get(c.foot, WHITE)
        heel_ok = np.isfinite(c.heel).all()
        if self.view in ("side", "oblique") and heel_ok and np.isfinite(c.hip).all():
            ph, pe = self._p(c.hip), self._p(c.heel)
            # vertical through the hip midpoint, down to heel level
            self._line(img, (ph[0], ph[1] - int(30 * self.u)), (ph[0], pe[1]), CC["hip_vertical"],
                       max(1, self.thick - 1))
            # horizontal overstride distance at heel height
            self._line(img, (ph[0], pe[1]), pe, CC["overstride"], self.thick + 1)
            s = _fmt(c.overstride_pct, "+.0f")
            if s is not None:
                label = f"{s}%"
                w, h = self.text_size(label, self.fs_small)
                x = (ph[0] + pe[0]) // 2 - w // 2
                y = pe[1] - self.radius * 2 - 2
                self.text(img, label, (int(np.clip(x, 0, self.W - w)), max(h, y)),
                          CC["overstride"], self.fs_small)
            if np.isfinite(c.knee).all() and np.isfinite(c.ankle).all():
                pk, pa = self._p(c.knee), self._p(c.ankle)
                self._line(img, pk, pa, CC["shank"], self.thick + 1)
                s = _fmt(c.shank_deg, ".0f")
                if s is not None:
                    mx, my = (pk[0] + pa[0]) // 2, (pk[1] + pa[1]) // 2
                    lab = f"{s}°"
                    w, _ = self.text_size(lab, self.fs_small)
                    x = mx - self.sign * (self.radius * 3) - (w if self.sign > 0 else 0)
                    self.text(img, lab, (int(np.clip(x, 0, self.W - w)), my), CC["shank"],
                              self.fs_small)
                s = _fmt(c.knee_deg, ".0f")
                if s is not None and np.isfinite(c.leg_hip).all():
                    self._line(img, self._p(c.leg_hip), pk, CC["knee"],
                               max(1, self.thick - 1), dashed=True)
                    lab = f"knee {s}°"
                    w, _ = self.text_size(lab, self.fs_small)
                    x = pk[0] + self.sign * (self.radius * 3) - (w if self.sign < 0 else 0)
                    self.text(img, lab, (int(np.clip(x, 0, self.W - w)), pk[1]),
                              CC["knee"], self.fs_small)
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
                cl.append([("overstride", WHITE), (f"{s}% leg", CC["overstride"])])
            a, b = _fmt(c.shank_deg, ".0f"), _fmt(c.knee_deg, ".0f")
            angles = ([("shank", WHITE), (f"{a}°", CC["shank"])] if a else []) + \
                ([("knee", WHITE), (f"{b}°", CC["knee"])] if b else [])
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
