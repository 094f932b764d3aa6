"""The still frame of report.html: a typical initial contact (IC) with its construction.

:func:`pick_still_step` chooses the step, :func:`decode_frame` decodes its frame
(:mod:`formcheck.video`), and :func:`build_still` crops it around the runner, encodes it as a
JPEG ``data:`` URI and draws the contact construction (:mod:`formcheck.construction`: hip
vertical, overstride, shank angle, knee flexion) over it as SVG in crop pixels.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from markupsafe import Markup, escape

from formcheck.construction import Contact, contact
from formcheck.landmarks import BONES, L_SHOULDER, LEG, R_SHOULDER, shoulder_mid
from formcheck.metrics.registry import group
from formcheck.report.style import CONSTRUCTION_PAGE, HEX, fmt_num, label_of

if TYPE_CHECKING:
    from formcheck.api import Analysis

__all__ = ["SAGITTAL_AT_IC", "STILL_MAX_SIDE_PX", "build_still", "decode_frame",
           "pick_still_step"]

#: Longest side of the still frame crop (px).
STILL_MAX_SIDE_PX = 760
#: Colours of the construction's elements on the still.
COLOR = {k: HEX[v] for k, v in CONSTRUCTION_PAGE.items()}


SAGITTAL_AT_IC: tuple[str, ...] = group("sagittal_at_ic")


def _usable(rep: dict[str, Any], metric: str) -> bool:
    """True when report.json gives the metric a number (measured or low confidence)."""
    m = rep.get("metrics", {}).get(metric) or {}
    return m.get("status") != "not_measurable" and m.get("value") is not None


def fit_crop(img: np.ndarray, x0: int, y0: int, x1: int, y1: int,
             max_side_px: int = STILL_MAX_SIDE_PX) -> tuple[np.ndarray, float]:
    """``img[y0:y1, x0:x1]`` scaled down (area interpolation) so its longer side is at most
    ``max_side_px``; returns the crop and the scale applied (<= 1)."""
    crop = img[y0:y1, x0:x1]
    scale = min(1.0, max_side_px / max(crop.shape[:2]))
    if scale < 1.0:
        import cv2

        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)),
                                 max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    return crop, scale


def pick_still_step(analysis: Analysis, rep: dict[str, Any]) -> tuple[int | None, str]:
    """Index of the step to show and why: the valid IC whose overstride is nearest the median
    overstride; when overstride is not measurable, the valid IC nearest mid-clip."""
    ev, met = analysis.events, analysis.metrics
    if ev.n == 0:
        return None, "no initial contact was detected"
    valid = np.asarray(ev.valid, bool)
    ov = np.asarray(met.steps.values.get("overstride_pct_leg", np.full(ev.n, np.nan)), float)
    ok = valid & np.isfinite(ov)
    if ok.any() and _usable(rep, "overstride_pct_leg"):
        med = float(np.median(ov[ok]))
        idx = np.flatnonzero(ok)
        i = int(idx[np.argmin(np.abs(ov[ok] - med))])
        return i, "the initial contact whose overstride is nearest the clip's median"
    okv = np.flatnonzero(valid & np.isfinite(ev.ic_t_s))
    if okv.size == 0:
        return None, "no valid initial contact was detected"
    mid = (analysis.clean.t_s[0] + analysis.clean.t_s[-1]) / 2
    i = int(okv[np.argmin(np.abs(ev.ic_t_s[okv] - mid))])
    return i, "the valid initial contact nearest the middle of the clip"


def decode_frame(source: str, frame_index: int, slowmo: float) -> tuple[np.ndarray, float]:
    """The upright RGB image (longest side at most 1920 px) and real time (s) of frame
    ``frame_index`` (decode order, as in ``PoseSeries.frame_index``).

    Seeks to the keyframe before it and converts only that frame to RGB when the clip's
    timestamps allow (:func:`formcheck.video.timeline`); otherwise streams the video up
    to it."""
    from formcheck.video import iter_frames, iter_segment, probe, timeline

    tl = timeline(source)
    if tl is not None and 0 <= frame_index < tl.n_frames:
        rot = probe(source).rotation_deg
        pts = int(tl.pts[frame_index])
        for got, img in iter_segment(source, pts, pts + 1, rot, max_side_px=1920,
                                     seek=frame_index > 0):
            if got == pts:
                return img, float(tl.video_t_s[frame_index]) / slowmo
    for fr in iter_frames(source, slowmo=slowmo, max_side_px=1920):
        if fr.index >= frame_index:
            return fr.image, fr.t_s
    raise ValueError(f"the video has fewer than {frame_index + 1} frames")


def encode_jpeg(rgb: np.ndarray, quality: int = 84) -> str:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]),
                           [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def build_still(analysis: Analysis, rep: dict[str, Any]) -> dict[str, Any]:
    """The still frame at a typical IC with overstride, shank and knee angles drawn over it.

    Returns {ok, note, ...}: on success ``src`` (JPEG data URI), ``width``/``height`` (crop px),
    ``overlay`` (SVG markup in crop pixels), ``t_s``, ``step``, ``foot`` and the step's values.
    """
    i, why = pick_still_step(analysis, rep)
    if i is None:
        return {"ok": False, "note": f"No still frame: {why}."}
    src = analysis.source or analysis.pose.source
    if not src or not Path(src).is_file():
        name = Path(src).name if src else "(none)"
        return {"ok": False, "note": f"No still frame: the source video {name} is not "
                                     "available (the analysis ran from saved landmarks)."}
    pose = analysis.pose
    c = contact(analysis, i, at_frame=True)  # drawn over that frame: its own instant
    try:
        img, _ = decode_frame(src, c.frame_index, float(pose.slowmo))
    except Exception as exc:  # noqa: BLE001 - a report without the still beats no report
        msg = " ".join(str(exc).split())
        return {"ok": False, "note": f"No still frame: the video could not be decoded "
                                     f"({type(exc).__name__}: {msg})."}
    H, W = img.shape[:2]
    sx = W / pose.width_px if pose.width_px else 1.0
    sy = H / pose.height_px if pose.height_px else 1.0
    p = np.array(c.points, dtype=float)
    p[:, 0] *= sx
    p[:, 1] *= sy
    leg = float(analysis.view.leg_length_px) * sx
    pts = p[np.isfinite(p).all(axis=1)]
    if pts.shape[0] < 4 or not np.isfinite(leg):
        x0, y0, x1, y1 = 0, 0, W, H
    else:
        m = 0.3 * leg
        x0 = int(max(0, np.floor(pts[:, 0].min() - m)))
        x1 = int(min(W, np.ceil(pts[:, 0].max() + m)))
        y0 = int(max(0, np.floor(pts[:, 1].min() - m)))
        y1 = int(min(H, np.ceil(pts[:, 1].max() + 0.5 * m)))
        if x1 - x0 < 16 or y1 - y0 < 16:
            x0, y0, x1, y1 = 0, 0, W, H
    crop, scale = fit_crop(img, x0, y0, x1, y1)
    cw, ch = crop.shape[1], crop.shape[0]
    missing: dict[str, list[str]] = {}  # reason -> metrics not drawn for it
    for k in SAGITTAL_AT_IC:
        if k in rep.get("metrics", {}) and not _usable(rep, k):
            missing.setdefault(rep["metrics"][k]["reason"], []).append(label_of(k).lower())
    not_drawn = [f"{', '.join(names)} ({reason})" for reason, names in missing.items()]
    vals = c.values()
    side_word = {"L": "left", "R": "right"}
    return {
        "ok": True, "src": encode_jpeg(crop), "width": cw, "height": ch,
        "overlay": _overlay_svg(c.mapped((p - np.array([x0, y0])) * scale), cw, ch),
        "t_s": c.frame_t_s, "ic_t_s": c.t_s, "step": i,
        "foot": side_word.get(c.foot, c.foot), "why": why,
        "overstride": vals["overstride_pct_leg"], "shank": vals["shank_angle_ic_deg"],
        "knee": vals["knee_flexion_ic_deg"], "not_drawn": not_drawn, "note": "",
    }


def _overlay_svg(c: Contact, w: int, h: int) -> Markup:
    """Skeleton, hip vertical, overstride distance, shank and knee angles in crop pixels.

    ``c``: the contact with its points in crop pixels; a value it does not show (e.g.
    overstride in a front view) is not drawn."""
    q = c.points
    vals = c.values()
    col = COLOR
    white = HEX["white"]
    fs = max(12.0, min(w, h) / 26.0)
    sw = max(2.0, min(w, h) / 220.0)
    out = [f'<svg class="overlay" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" '
           f'aria-hidden="true" font-size="{fs:.1f}" font-weight="600">']

    def ok(*ks: int) -> bool:
        return all(np.isfinite(q[k]).all() for k in ks)

    def seg(a: np.ndarray, b: np.ndarray, color: str, width: float, dash: str = "",
            cls: str = "") -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        klass = f' class="{cls}"' if cls else ""
        xy = f'x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}"'
        out.append(f'<line {xy} stroke="#000" stroke-opacity="0.55" '
                   f'stroke-width="{width + 2.5:.1f}" stroke-linecap="round"{d}/>')
        out.append(f'<line{klass} {xy} stroke="{color}" stroke-width="{width:.1f}" '
                   f'stroke-linecap="round"{d}/>')

    def dot(p: np.ndarray, r: float, fill: str) -> None:
        out.append(f'<circle cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="{r:.1f}" '
                   f'fill="{fill}" stroke="#000" stroke-width="1.5"/>')

    def label(x: float, y: float, text: str, color: str, anchor: str = "start") -> None:
        # keep the whole text inside the picture (width estimated at 0.62 em per character)
        tw = 0.62 * fs * len(text)
        left = {"start": x, "middle": x - tw / 2, "end": x - tw}[anchor]
        left = min(max(left, 4.0), max(4.0, w - 4.0 - tw))
        x = {"start": left, "middle": left + tw / 2, "end": left + tw}[anchor]
        y = min(max(y, fs), h - 4.0)
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{color}" '
                   f'stroke="#000" stroke-width="{fs / 5:.1f}" stroke-opacity="0.8" '
                   f'paint-order="stroke">{escape(text)}</text>')

    # skeleton (faint), landing leg highlighted below
    land = set(LEG.get(c.chain, ()))
    for a, b in BONES:
        if ok(a, b) and not (a in land and b in land):
            seg(q[a], q[b], white, sw * 0.8)
    for k in range(q.shape[0]):
        if ok(k) and k not in land and k >= 11:
            out.append(f'<circle cx="{q[k, 0]:.1f}" cy="{q[k, 1]:.1f}" r="{sw * 1.2:.1f}" '
                       f'fill="#fff" stroke="#000" stroke-width="1"/>')
    if c.chain not in LEG:
        out.append("</svg>")
        return Markup("".join(out))
    hp, kn, an, he, toe = c.leg
    hipm = c.hip
    if ok(L_SHOULDER, R_SHOULDER) and np.isfinite(hipm).all():
        seg(hipm, shoulder_mid(q), col["trunk"], sw)
    # the landing leg
    if ok(hp, kn):
        seg(c.leg_hip, c.knee, col["thigh"], sw * 1.6, cls="thigh")
    if ok(an, he, toe):
        seg(c.ankle, c.heel, col["foot"], sw * 1.3)
        seg(c.heel, c.toe, col["foot"], sw * 1.3)
        seg(c.ankle, c.toe, col["foot"], sw * 1.3)
    ov = vals["overstride_pct_leg"]
    # overstride: vertical through the hip midpoint, horizontal to the heel
    if np.isfinite(hipm).all() and ov is not None:
        seg(np.array([hipm[0], 0.0]), np.array([hipm[0], h]), col["hip_vertical"], sw, "8 6",
            cls="hip-vertical")
        label(hipm[0] + fs * 0.3, fs * 1.2, "hip", col["hip_vertical"])
        dot(hipm, sw * 2.4, col["hip"])
    if np.isfinite(hipm).all() and ok(he) and ov is not None:
        y = min(c.heel[1] + fs * 0.9, h - fs * 1.6)
        a, b = np.array([hipm[0], y]), np.array([c.heel[0], y])
        seg(a, b, col["overstride"], sw * 1.4, cls="overstride")
        for end in (a, b):
            seg(end - [0, fs * 0.4], end + [0, fs * 0.4], col["overstride"], sw * 1.2)
        ahead = "ahead of" if ov >= 0 else "behind"
        label((a[0] + b[0]) / 2, y + fs * 1.25, f"heel {fmt_num(abs(ov), 1)} % leg {ahead} hip",
              col["overstride"], "middle")
    # shank angle: knee->ankle against the vertical through the ankle
    if ok(kn, an):
        seg(c.knee, c.ankle, col["shank"], sw * 1.6, cls="shank")
        L = float(np.linalg.norm(c.knee - c.ankle))
        sh = vals["shank_angle_ic_deg"]
        if sh is not None:
            top = c.ankle - np.array([0.0, L * 0.8])
            seg(c.ankle, top, white, sw * 0.9, "4 4", cls="shank-vertical")
            r = L * 0.45
            ang_v = -math.pi / 2
            ang_s = math.atan2(c.knee[1] - c.ankle[1], c.knee[0] - c.ankle[0])
            p1 = c.ankle + r * np.array([math.cos(ang_v), math.sin(ang_v)])
            p2 = c.ankle + r * np.array([math.cos(ang_s), math.sin(ang_s)])
            sweep = 1 if (ang_s - ang_v) % (2 * math.pi) < math.pi else 0
            out.append(f'<path d="M{p1[0]:.1f},{p1[1]:.1f}A{r:.1f},{r:.1f} 0 0,{sweep} '
                       f'{p2[0]:.1f},{p2[1]:.1f}" fill="none" stroke="{col["shank"]}" '
                       f'stroke-width="{sw:.1f}"/>')
            side = 1 if c.knee[0] >= c.ankle[0] else -1
            label(c.ankle[0] + side * (r + fs * 0.4), c.ankle[1] - r * 0.55,
                  f"shank {fmt_num(sh, 0)}\u00b0", col["shank"], "start" if side > 0 else "end")
    # knee flexion
    if ok(hp, kn, an):
        kf = vals["knee_flexion_ic_deg"]
        dot(c.knee, sw * 2.2, col["knee"])
        if kf is not None:
            # put the label on the side of the knee away from the hip-ankle line
            mid = (c.leg_hip + c.ankle) / 2
            d = c.knee - mid
            text = f"knee {fmt_num(kf, 0)}\u00b0 bent"
            tw = 0.62 * fs * len(text)
            right = d[0] >= 0
            if (right and c.knee[0] + fs * 1.2 + tw > w) or (not right and
                                                            c.knee[0] - fs * 1.2 - tw < 0):
                right = not right  # no room on the preferred side
            x = c.knee[0] + (fs * 1.2 if right else -fs * 1.2)
            label(x, c.knee[1] + fs * 0.35, text, col["knee"], "start" if right else "end")
    if ok(he):
        dot(c.heel, sw * 2.2, col["heel"])
    out.append("</svg>")
    return Markup("".join(out))
