"""report.html: one self-contained page per analysis (no network, no JavaScript).

Everything the page shows is inside the file: CSS inline, plots as inline SVG drawn here from
the cleaned landmark series, the still frame as a JPEG ``data:`` URI.  All dynamic text goes
through Jinja2's autoescaping; the SVG built here escapes its own text with ``markupsafe``.

Contents: clip facts, warnings, the no-diagnosis disclaimer and safety message, one card per
finding (severity badge with text, value against threshold, evidence, confidence, advice,
citation), a still frame at a typical initial contact (IC) with the overstride, shank angle and
knee flexion drawn over it, plots of the signals the events were found on (with the events
marked), and the table of metrics with their status.

Units on the plots: positions in % of leg length (hip-knee + knee-ankle, the clip median used by
the metrics), angles in degrees, time in seconds of real time (video time / slow-motion factor).
Colours come from the Okabe-Ito palette (safe for colour-blind readers) and every colour is
paired with text, a line style or a marker shape.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from formcheck.landmarks import (
    BONES,
    L_ANKLE,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_TOE,
    R_ANKLE,
    R_HEEL,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_TOE,
)
from formcheck.results import LABELS

__all__ = ["render_html", "write_html"]

#: Okabe-Ito palette.
BLUE, ORANGE, SKY, GREEN = "#0072B2", "#E69F00", "#56B4E9", "#009E73"
VERMILLION, PURPLE, GREY, INK = "#D55E00", "#CC79A7", "#7f7f7f", "#1f2328"
#: Drawing style of each leg (landmark label after the identity repair): colour, dash, name.
LEG_STYLE = {"L": (BLUE, "", "left"), "R": (PURPLE, "7 4", "right")}
LEG_POINTS = {"L": (L_HIP, L_KNEE, L_ANKLE, L_HEEL, L_TOE), "R": (R_HIP, R_KNEE, R_ANKLE, R_HEEL,
                                                               R_TOE)}

STATUS_TEXT = {"measured": "Measured", "low_confidence": "Low confidence",
               "not_measurable": "Not measurable"}
#: severity -> (badge text, symbol); the symbol repeats the meaning in shape, not colour.
SEVERITY_TEXT = {"marked": ("Marked", "\u25b2\u25b2"), "mild": ("Mild", "\u25b2"),
                 "none": ("OK", "\u2713"), "na": ("Not assessed", "\u2013")}
ADVICE_LABELS = (("what", "What to change"), ("cue", "Cue"), ("drill", "Drill"),
                 ("progress", "How to progress"), ("why", "Why"))
#: Longest window of the per-foot plots (s); longer clips show a window around the still.
FOOT_WINDOW_S = 12.0
#: Longest side of the still frame crop (px).
STILL_MAX_SIDE_PX = 760
MAX_POINTS = 2400


# ----------------------------------------------------------------------------- formatting


def fmt_num(v: float | None, nd: int = 1) -> str:
    """Number with ``nd`` decimals and a true minus sign; an en dash for None/NaN."""
    if v is None or not np.isfinite(v):
        return "\u2013"
    s = f"{v:.{nd}f}"
    if s.startswith("-") and float(s) == 0.0:
        s = s[1:]
    return s.replace("-", "\u2212")


def _decimals(unit: str) -> int:
    return 0 if unit == "ms" else 1


def fmt_value(v: float | None, unit: str) -> str:
    """A value with its unit, e.g. ``'4.1°'``, ``'152 ms'``; en dash when missing."""
    if v is None:
        return "\u2013"
    n = fmt_num(v, _decimals(unit))
    if unit == "deg":
        return n + "\u00b0"
    return f"{n} {unit}"


def label_of(metric_id: str) -> str:
    return LABELS.get(metric_id, metric_id.replace("_", " ").capitalize())


# ----------------------------------------------------------------------------- SVG plots


@dataclass(frozen=True)
class Line:
    """A polyline (NaN breaks it)."""

    x: np.ndarray
    y: np.ndarray
    label: str
    color: str
    dash: str = ""
    width: float = 1.8


@dataclass(frozen=True)
class Marks:
    """Event markers; ``cls`` is the CSS class (tests look for ``ev-ic``/``ev-to``)."""

    x: np.ndarray
    y: np.ndarray
    label: str
    shape: str  # tri_down, tri_up, circle, square, cross, diamond
    color: str
    cls: str
    titles: Sequence[str] = ()
    filled: bool = True


@dataclass(frozen=True)
class HLine:
    """A horizontal reference line with a label."""

    y: float
    label: str
    color: str = GREY
    dash: str = "5 4"


@dataclass(frozen=True)
class Band:
    """A shaded horizontal band with a label."""

    y0: float
    y1: float
    label: str
    color: str = GREEN


def nice_ticks(lo: float, hi: float, n: int = 6) -> np.ndarray:
    """Round tick values covering [lo, hi], about ``n`` of them (1-2-2.5-5 steps)."""
    span = hi - lo
    if not np.isfinite(span) or span <= 0:
        return np.array([lo])
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = mag
    for m in (1, 2, 2.5, 5, 10):
        step = m * mag
        if span / step <= n:
            break
    start = math.ceil(lo / step - 1e-9) * step
    return np.arange(start, hi + step * 1e-6, step)


def _tick_text(v: float, ticks: np.ndarray) -> str:
    step = float(np.diff(ticks).min()) if ticks.size > 1 else 1.0
    nd = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step % 1 and step > 1:
        nd = 1
    return fmt_num(float(v), nd)


def _decimate(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.size <= MAX_POINTS:
        return x, y
    k = int(math.ceil(x.size / MAX_POINTS))
    return x[::k], y[::k]


def _marker_path(shape: str, x: float, y: float, r: float = 5.5) -> str:
    if shape == "tri_down":
        return f"M{x - r:.1f},{y - r * 0.8:.1f}L{x + r:.1f},{y - r * 0.8:.1f}L{x:.1f},{y + r:.1f}Z"
    if shape == "tri_up":
        return f"M{x - r:.1f},{y + r * 0.8:.1f}L{x + r:.1f},{y + r * 0.8:.1f}L{x:.1f},{y - r:.1f}Z"
    if shape == "square":
        s = r * 0.8
        return f"M{x - s:.1f},{y - s:.1f}h{2 * s:.1f}v{2 * s:.1f}h{-2 * s:.1f}Z"
    if shape == "diamond":
        return f"M{x:.1f},{y - r:.1f}L{x + r:.1f},{y:.1f}L{x:.1f},{y + r:.1f}L{x - r:.1f},{y:.1f}Z"
    if shape == "cross":
        s = r * 0.75
        return (f"M{x - s:.1f},{y - s:.1f}L{x + s:.1f},{y + s:.1f}"
                f"M{x - s:.1f},{y + s:.1f}L{x + s:.1f},{y - s:.1f}")
    # circle as a path (two arcs)
    return (f"M{x - r:.1f},{y:.1f}a{r:.1f},{r:.1f} 0 1,0 {2 * r:.1f},0"
            f"a{r:.1f},{r:.1f} 0 1,0 {-2 * r:.1f},0Z")


def _legend(lines: Sequence[Line], marks: Sequence[Marks], x_start: float, x_end: float
            ) -> tuple[list[tuple[int, float, str]], int]:
    """Legend entries laid out in rows: (row, x, SVG fragment drawn at the origin), and the
    row count.  Lines are keyed by colour and dash; markers by shape, deduplicated by label and
    drawn neutral when one label has several colours (the colour then means the foot)."""
    items: list[tuple[str, str]] = []
    for ln in lines:
        dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
        items.append((f'<line x1="0" x2="22" y1="0" y2="0" stroke="{ln.color}" '
                      f'stroke-width="2.2"{dash}/>', ln.label))
    groups: dict[str, list[Marks]] = {}
    for mk in marks:
        if mk.label:
            groups.setdefault(mk.label, []).append(mk)
    for text, group in groups.items():
        mk = group[0]
        col = mk.color if len({g.color for g in group}) == 1 else "#9aa4ae"
        hollow = not mk.filled or mk.shape == "cross"
        fill, stroke = ("#ffffff", col) if hollow else (col, INK)
        items.append((f'<path d="{_marker_path(mk.shape, 11, 0)}" fill="{fill}" '
                      f'stroke="{stroke}" stroke-width="1.4"/>', text))
    out: list[tuple[int, float, str]] = []
    lx, row = x_start, 0
    for sym, text in items:
        width = 44 + 6.6 * len(text)
        if lx + width > x_end and lx > x_start:
            lx, row = x_start, row + 1
        out.append((row, lx, f'{sym}<text x="28" y="4" fill="{INK}">{escape(text)}</text>'))
        lx += width
    return out, (row + 1 if items else 0)


def svg_plot(*, title: str, lines: Sequence[Line] = (), marks: Sequence[Marks] = (),
             hlines: Sequence[HLine] = (), bands: Sequence[Band] = (),
             vlines: Sequence[float] = (), xlim: tuple[float, float],
             ylabel: str, xlabel: str = "time (s)", height: int = 250,
             ylim: tuple[float, float] | None = None) -> Markup:
    """An inline SVG line plot with event markers, reference lines and a legend.

    Coordinates are in data units; the SVG scales to its container (viewBox 960 wide; the
    plotting area is ``height`` minus margins, plus one 18-unit row per extra legend row).
    Event markers carry ``class="ev <cls>"`` and a ``<title>`` tooltip each.
    """
    W = 960
    ml, mr, mb = 64, 18, 44
    legend, rows = _legend(lines, marks, ml, W - mr)
    mt = 16 + 18 * max(1, rows)
    H = height + 18 * max(0, rows - 1)
    pw, ph = W - ml - mr, H - mt - mb
    x0, x1 = xlim
    if not (np.isfinite(x0) and np.isfinite(x1)) or x1 <= x0:
        x0, x1 = 0.0, 1.0
    if ylim is None:
        ys: list[np.ndarray] = []
        for ln in lines:
            m = (ln.x >= x0) & (ln.x <= x1)
            ys.append(np.asarray(ln.y, float)[m])
        for mk in marks:
            ys.append(np.asarray(mk.y, float))
        ys.append(np.array([h.y for h in hlines], float))
        allv = np.concatenate([v[np.isfinite(v)] for v in ys] + [np.zeros(0)])
        y0, y1 = (float(allv.min()), float(allv.max())) if allv.size else (0.0, 1.0)
        pad = 0.08 * (y1 - y0) if y1 > y0 else 1.0
        y0, y1 = y0 - pad, y1 + pad
    else:
        y0, y1 = ylim

    def sx(x: float | np.ndarray) -> Any:
        return ml + (np.asarray(x, float) - x0) / (x1 - x0) * pw

    def sy(y: float | np.ndarray) -> Any:
        return mt + (y1 - np.asarray(y, float)) / (y1 - y0) * ph

    cid = "clip-" + "".join(c if c.isalnum() else "-" for c in title.lower())
    clip = f'clip-path="url(#{cid})"'
    out: list[str] = [
        f'<svg class="plot" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<clipPath id="{cid}"><rect x="{ml}" y="{mt}" width="{pw}" height="{ph}"/></clipPath>',
    ]
    halo = 'stroke="#ffffff" stroke-width="3" paint-order="stroke"'
    # shaded bands
    band_labels: list[str] = []
    for b in bands:
        ya, yb = sorted((float(sy(b.y0)), float(sy(b.y1))))
        ya, yb = max(ya, mt), min(yb, mt + ph)
        if yb > ya:
            out.append(f'<rect class="band" x="{ml}" y="{ya:.1f}" width="{pw}" '
                       f'height="{yb - ya:.1f}" fill="{b.color}" fill-opacity="0.13"/>')
            band_labels.append(f'<text x="{ml + 6}" y="{ya + 13:.1f}" fill="{INK}" {halo}>'
                               f"{escape(b.label)}</text>")
    # grid and axes
    yt = nice_ticks(y0, y1, 5)
    for v in yt:
        yy = float(sy(v))
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{yy:.1f}" y2="{yy:.1f}" '
                   'stroke="#d8dee4" stroke-width="1"/>')
        out.append(f'<text x="{ml - 8}" y="{yy + 4:.1f}" text-anchor="end" fill="#57606a">'
                   f"{_tick_text(v, yt)}</text>")
    xt = nice_ticks(x0, x1, 12)
    for v in xt:
        xx = float(sx(v))
        out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{mt}" y2="{mt + ph}" '
                   'stroke="#eef1f4" stroke-width="1"/>')
        out.append(f'<text x="{xx:.1f}" y="{mt + ph + 17}" text-anchor="middle" '
                   f'fill="#57606a">{_tick_text(v, xt)}</text>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" '
               'stroke="#8c959f" stroke-width="1"/>')
    out.append(f'<text x="{ml + pw / 2:.0f}" y="{H - 6}" text-anchor="middle" fill="#57606a">'
               f"{escape(xlabel)}</text>")
    out.append(f'<text transform="translate(16 {mt + ph / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle" fill="#57606a">{escape(ylabel)}</text>')
    # event lines
    for t in vlines:
        if x0 <= t <= x1:
            xx = float(sx(t))
            out.append(f'<line class="ev ev-ic-line" x1="{xx:.1f}" x2="{xx:.1f}" y1="{mt}" '
                       f'y2="{mt + ph}" stroke="{INK}" stroke-opacity="0.25" '
                       'stroke-dasharray="2 3"/>')
    # reference lines (labels drawn last, above the data)
    ref_labels: list[str] = []
    last_y = -1e9
    for h in sorted(hlines, key=lambda r: -r.y):
        if y0 <= h.y <= y1:
            yy = float(sy(h.y))
            out.append(f'<line class="ref" x1="{ml}" x2="{ml + pw}" y1="{yy:.1f}" '
                       f'y2="{yy:.1f}" stroke="{h.color}" stroke-width="1.3" '
                       f'stroke-dasharray="{h.dash}"/>')
            ty = yy - 5 if yy - 5 - last_y >= 13 else yy + 14
            last_y = ty
            ref_labels.append(f'<text class="reflabel" x="{ml + pw - 6}" y="{ty:.1f}" '
                              f'text-anchor="end" fill="{h.color}" {halo}>'
                              f"{escape(h.label)}</text>")
    # series
    for ln in lines:
        x, y = _decimate(np.asarray(ln.x, float), np.asarray(ln.y, float))
        px, py = sx(x), sy(y)
        ok = np.isfinite(py) & np.isfinite(px)
        parts: list[str] = []
        pen = False
        for i in range(px.size):
            if ok[i]:
                parts.append(f"{'L' if pen else 'M'}{px[i]:.1f},{py[i]:.1f}")
                pen = True
            else:
                pen = False
        if parts:
            dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
            out.append(f'<path class="series" d="{"".join(parts)}" fill="none" '
                       f'stroke="{ln.color}" stroke-width="{ln.width}" stroke-linejoin="round"'
                       f"{dash} {clip}/>")
    # event markers
    for mk in marks:
        xs, ysv = np.asarray(mk.x, float), np.asarray(mk.y, float)
        hollow = not mk.filled or mk.shape == "cross"
        fill, stroke = ("#ffffff", mk.color) if hollow else (mk.color, INK)
        if mk.shape == "cross":
            fill = "none"
        for i in range(xs.size):
            if not (np.isfinite(xs[i]) and np.isfinite(ysv[i])) or not x0 <= xs[i] <= x1:
                continue
            d = _marker_path(mk.shape, float(sx(xs[i])), float(sy(ysv[i])))
            tt = f"<title>{escape(mk.titles[i])}</title>" if i < len(mk.titles) else ""
            out.append(f'<path class="ev {escape(mk.cls)}" d="{d}" fill="{fill}" '
                       f'stroke="{stroke}" stroke-width="1.5">{tt}</path>')
    out.extend(band_labels)
    out.extend(ref_labels)
    for row, lx, frag in legend:
        out.append(f'<g transform="translate({lx:.0f} {14 + 18 * row})">{frag}</g>')
    out.append("</svg>")
    return Markup("".join(out))


# ----------------------------------------------------------------------------- signals


def _hip_mid(xy: np.ndarray) -> np.ndarray:
    return (xy[..., L_HIP, :] + xy[..., R_HIP, :]) / 2


def _interp(t: np.ndarray, y: np.ndarray, tq: np.ndarray) -> np.ndarray:
    """Linear interpolation of y(t) at tq; NaN outside the range or next to missing data."""
    tq = np.asarray(tq, float)
    out = np.full(tq.shape, np.nan)
    if t.size < 2:
        return out
    ok = (tq >= t[0]) & (tq <= t[-1]) & np.isfinite(tq)
    if not ok.any():
        return out
    i = np.clip(np.searchsorted(t, tq[ok]), 1, t.size - 1)
    a = (tq[ok] - t[i - 1]) / (t[i] - t[i - 1])
    out[ok] = (1 - a) * y[i - 1] + a * y[i]
    return out


def _rule_refs(rep: dict[str, Any], metric: str, scale: float = 1.0) -> list[HLine]:
    """Reference lines for the thresholds of the rules that judge ``metric``."""
    refs: list[HLine] = []
    for f in rep.get("findings", []):
        if f.get("metric") != metric:
            continue
        thr = f.get("thresholds") or {}
        if "mild" in thr and thr["mild"] is not None:
            word = ">" if f.get("direction") == "above" else "<"
            refs.append(HLine(float(thr["mild"]) * scale,
                              f"{f.get('title', '')}: mild {word} {fmt_num(thr['mild'], 1)}",
                              color=VERMILLION, dash="6 4"))
    return refs


def _foot_window(t: np.ndarray, centre: float | None) -> tuple[float, float]:
    t0, t1 = float(t[0]), float(t[-1])
    if t1 - t0 <= FOOT_WINDOW_S:
        return t0, t1
    c = centre if centre is not None and np.isfinite(centre) else (t0 + t1) / 2
    a = min(max(t0, c - FOOT_WINDOW_S / 2), t1 - FOOT_WINDOW_S)
    return a, a + FOOT_WINDOW_S


def build_plots(analysis: Any, rep: dict[str, Any], centre_t: float | None
                ) -> list[dict[str, Any]]:
    """The signal plots: list of {id, title, caption, svg}."""
    clean, ev, met, view = analysis.clean, analysis.events, analysis.metrics, analysis.view
    t = np.asarray(clean.t_s, float)
    if t.size < 2:
        return []
    xy = np.asarray(clean.xy_px, float)
    leg = float(view.leg_length_px) if np.isfinite(view.leg_length_px) and \
        view.leg_length_px > 0 else float("nan")
    sign = 1 if view.direction == "right" else -1
    hip = _hip_mid(xy)
    ic = np.asarray(ev.ic_t_s, float)
    to = np.asarray(ev.to_t_s, float)
    chain = [str(c) for c in ev.chain]
    foot = [str(f) for f in ev.foot]
    valid = np.asarray(ev.valid, bool)
    side_word = {"L": "left", "R": "right"}
    plots: list[dict[str, Any]] = []
    full = (float(t[0]), float(t[-1]))
    win = _foot_window(t, centre_t)
    win_note = "" if win == full else (
        f" Shown: {fmt_num(win[0], 1)}\u2013{fmt_num(win[1], 1)} s of the "
        f"{fmt_num(full[1] - full[0], 1)} s clip, around the still frame below.")

    def ev_marks(curves: dict[str, np.ndarray], what: str) -> list[Marks]:
        """IC (filled down-triangles) and TO (open circles) on the landing leg's curve;
        rejected steps as crosses."""
        ic_y = np.array([_interp(t, curves[c], np.array([x]))[0] for c, x in zip(chain, ic,
                                                                                  strict=True)])
        to_y = np.array([_interp(t, curves[c], np.array([x]))[0] for c, x in zip(chain, to,
                                                                                  strict=True)])
        m: list[Marks] = []
        for leg_id in ("L", "R"):
            sel = np.array([c == leg_id for c in chain], bool) & valid
            if not sel.any():
                continue
            col = LEG_STYLE[leg_id][0]
            idx = np.flatnonzero(sel)
            m.append(Marks(ic[sel], ic_y[sel], "initial contact",
                           "tri_down", col, "ev-ic",
                           [f"Initial contact, step {i}, {side_word.get(foot[i], foot[i])} foot, "
                            f"{ic[i]:.2f} s, {what} {fmt_num(ic_y[i], 1)}" for i in idx]))
            m.append(Marks(to[sel], to_y[sel], "toe-off", "circle",
                           col, "ev-to",
                           [f"Toe-off after step {i}, {side_word.get(foot[i], foot[i])} foot, "
                            f"{to[i]:.2f} s" for i in idx], filled=False))
        if (~valid).any():
            bad = np.flatnonzero(~valid)
            m.append(Marks(ic[bad], ic_y[bad], "rejected step (not used)", "cross", GREY,
                           "ev-rejected",
                           [f"Step {i} at {ic[i]:.2f} s was rejected (not used in the metrics)"
                            for i in bad]))
        return m

    sagittal = view.view in ("side", "oblique")  # forward/backward is visible
    if np.isfinite(leg) and sagittal:
        # 1. forward position of each heel relative to the hip midpoint
        fwd = {c: 100.0 * sign * (xy[:, LEG_POINTS[c][3], 0] - hip[:, 0]) / leg
               for c in ("L", "R")}
        lines = [Line(t, fwd[c], f"{LEG_STYLE[c][2]} heel", LEG_STYLE[c][0], LEG_STYLE[c][1])
                 for c in ("L", "R")]
        refs = [HLine(0.0, "under the hip", GREY, "2 3")] + _rule_refs(
            rep, "overstride_pct_leg")
        plots.append({
            "id": "plot-foot-forward",
            "title": "Heel position relative to the hips",
            "caption": "Horizontal distance of each heel ahead of (+) or behind (\u2212) the "
                       "hip midpoint, in % of leg length. Each foot swings forward, lands "
                       "(\u25bc initial contact) and moves back under the body until it "
                       "leaves the ground (\u25cb toe-off). The height of each \u25bc is that "
                       "step's overstride." + win_note,
            "svg": svg_plot(title="Heel position relative to the hips", lines=lines,
                            marks=ev_marks(fwd, "overstride % leg"), hlines=refs, xlim=win,
                            ylabel="heel ahead of hip (% leg)", height=290),
        })
    if np.isfinite(leg):
        # 2. height of the lowest point of each foot above the ground line used by the events
        gy = np.asarray(ev.ground_y_px, float)
        okg = np.isfinite(gy) & np.isfinite(ic)
        if okg.sum() >= 1:
            ground = np.interp(t, ic[okg], gy[okg]) if okg.sum() > 1 else np.full(t.size,
                                                                                   gy[okg][0])
            low = {c: np.fmax(xy[:, LEG_POINTS[c][3], 1], xy[:, LEG_POINTS[c][4], 1])
                   for c in ("L", "R")}
            height = {c: 100.0 * (ground - low[c]) / leg for c in ("L", "R")}
            lines = [Line(t, height[c], f"{LEG_STYLE[c][2]} foot", LEG_STYLE[c][0],
                          LEG_STYLE[c][1]) for c in ("L", "R")]
            plots.append({
                "id": "plot-foot-height",
                "title": "Foot height above the ground",
                "caption": "Height of the lowest point of each foot (heel or toe) above the "
                           "ground level the event detector used, in % of leg length. Contact "
                           "begins when the foot comes down to the ground (\u25bc) and ends "
                           "when it lifts off (\u25cb)." + win_note,
                "svg": svg_plot(title="Foot height above the ground", lines=lines,
                                marks=ev_marks(height, "height % leg"),
                                hlines=[HLine(0.0, "ground", GREY, "2 3")], xlim=win,
                                ylabel="foot height (% leg)", height=270),
            })
        # 3. hip vertical position
        hy = hip[:, 1]
        if np.isfinite(hy).any():
            hup = 100.0 * (np.nanmedian(hy) - hy) / leg
            ic_y = _interp(t, hup, ic)
            marks = [Marks(ic[valid], ic_y[valid], "initial contact", "tri_down", GREEN,
                           "ev-ic", [f"Initial contact, step {i}, {ic[i]:.2f} s"
                                     for i in np.flatnonzero(valid)])]
            vo = rep.get("metrics", {}).get("vertical_oscillation_pct_leg", {})
            vo_txt = ("" if vo.get("value") is None else
                      f" The median rise and fall per step is {fmt_num(vo['value'], 1)} % of "
                      "leg length (vertical oscillation).")
            plots.append({
                "id": "plot-hip",
                "title": "Hip height",
                "caption": "Vertical position of the hip midpoint (up +), relative to its "
                           "median, in % of leg length. The hips drop after each initial "
                           "contact (\u25bc and dotted lines) and rise into the flight phase."
                           + vo_txt,
                "svg": svg_plot(title="Hip height", lines=[Line(t, hup, "hip midpoint", GREEN)],
                                marks=marks, vlines=[float(x) for x in ic[valid]], xlim=full,
                                ylabel="hip height (% leg)"),
            })
    # 4. trunk lean over time
    lean = np.asarray(met.lean_series_deg, float)
    if sagittal and lean.shape == t.shape and np.isfinite(lean).any():
        mid = (ic + to) / 2
        steps_lean = np.asarray(met.steps.values.get("trunk_lean_deg", np.full(ic.size, np.nan)),
                                float)
        okm = np.isfinite(mid) & np.isfinite(steps_lean)
        marks = [Marks(mid[okm], steps_lean[okm], "midstance", "diamond", ORANGE, "ev-mid",
                       [f"Midstance of step {i}, {mid[i]:.2f} s, lean {fmt_num(steps_lean[i], 1)}"
                        "\u00b0" for i in np.flatnonzero(okm)])]
        refs = _rule_refs(rep, "trunk_lean_deg")
        bands = []
        if len(refs) == 2:
            lo, hi = sorted(r.y for r in refs)
            bands = [Band(lo, hi, "range without a lean finding")]
        plots.append({
            "id": "plot-lean",
            "title": "Trunk lean",
            "caption": "Angle of the hip-to-shoulder line from vertical (forward +), every "
                       "frame, with the value at midstance of each step (\u25c6) that the "
                       "trunk-lean metric uses. A tilted camera adds its tilt to this angle.",
            "svg": svg_plot(title="Trunk lean", lines=[Line(t, lean, "trunk lean", BLUE)],
                            marks=marks, hlines=refs, bands=bands, xlim=full,
                            ylabel="trunk lean (\u00b0, forward +)"),
        })
    # 5. cadence per step
    st = np.asarray(met.steps.values.get("step_time_ms", np.full(ic.size, np.nan)), float)
    okc = np.isfinite(st) & (st > 0)
    if okc.sum() >= 2:
        cad = np.where(okc, 60000.0 / np.where(okc, st, 1.0), np.nan)
        marks = []
        for s, shape in (("L", "circle"), ("R", "square")):
            sel = okc & np.array([f == s for f in foot], bool)
            if sel.any():
                marks.append(Marks(ic[sel], cad[sel], f"step onto the {side_word[s]} foot", shape,
                                   LEG_STYLE[s][0], "ev-step",
                                   [f"Step {i} ({side_word[s]}), {ic[i]:.2f} s: "
                                    f"{fmt_num(cad[i], 1)} steps/min"
                                    for i in np.flatnonzero(sel)]))
        refs = _rule_refs(rep, "cadence_spm")
        cm = rep.get("metrics", {}).get("cadence_spm", {})
        if cm.get("value") is not None:
            refs.insert(0, HLine(float(cm["value"]), f"clip cadence {fmt_num(cm['value'], 1)}",
                                 INK, "1 0"))
        bands = []
        for f in rep.get("findings", []):
            if f.get("metric") == "cadence_spm" and f.get("target"):
                bands.append(Band(float(f["target"][0]), float(f["target"][1]),
                                  "suggested target", GREEN))
        ys = cad[okc]
        lo = min([float(ys.min())] + [r.y for r in refs] + [b.y0 for b in bands])
        hi = max([float(ys.max())] + [r.y for r in refs] + [b.y1 for b in bands])
        pad = 0.1 * (hi - lo) if hi > lo else 5.0
        plots.append({
            "id": "plot-cadence",
            "title": "Cadence per step",
            "caption": "Each step's cadence (60 / step time), plotted at its initial contact: "
                       "\u25cf steps onto the left foot, \u25a0 onto the right. Rejected steps "
                       "are left out.",
            "svg": svg_plot(title="Cadence per step", marks=marks, hlines=refs, bands=bands,
                            xlim=full, ylabel="cadence (steps/min)", height=230,
                            ylim=(lo - pad, hi + pad)),
        })
    return plots


# ----------------------------------------------------------------------------- still frame


SAGITTAL_AT_IC = ("overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg")


def _usable(rep: dict[str, Any], metric: str) -> bool:
    """True when report.json gives the metric a number (measured or low confidence)."""
    m = rep.get("metrics", {}).get(metric) or {}
    return m.get("status") != "not_measurable" and m.get("value") is not None


def pick_still_step(analysis: Any, rep: dict[str, Any]) -> tuple[int | None, str]:
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


def _decode_frame(source: str, frame_index: int, slowmo: float) -> tuple[np.ndarray, float]:
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


def _encode_jpeg(rgb: np.ndarray, quality: int = 84) -> str:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]),
                           [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def build_still(analysis: Any, rep: dict[str, Any]) -> dict[str, Any]:
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
    ev, pose = analysis.events, analysis.pose
    t_ic = float(ev.ic_t_s[i])
    j = int(np.argmin(np.abs(np.asarray(pose.t_s, float) - t_ic)))
    try:
        img, t_frame = _decode_frame(src, int(pose.frame_index[j]), float(pose.slowmo))
        t_frame = float(pose.t_s[j])  # the pose series' own clock for this frame
    except Exception as exc:  # noqa: BLE001 - a report without the still beats no report
        msg = " ".join(str(exc).split())
        return {"ok": False, "note": f"No still frame: the video could not be decoded "
                                     f"({type(exc).__name__}: {msg})."}
    H, W = img.shape[:2]
    sx = W / pose.width_px if pose.width_px else 1.0
    sy = H / pose.height_px if pose.height_px else 1.0
    clean = analysis.clean
    p = np.array([[_interp(clean.t_s, clean.xy_px[:, k, d], np.array([t_frame]))[0]
                   for d in range(2)] for k in range(clean.xy_px.shape[1])])
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
    crop = img[y0:y1, x0:x1]
    scale = min(1.0, STILL_MAX_SIDE_PX / max(crop.shape[:2]))
    if scale < 1.0:
        import cv2

        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)),
                                 max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    q = (p - np.array([x0, y0])) * scale
    cw, ch = crop.shape[1], crop.shape[0]
    # draw only what the clip can measure (e.g. no overstride in a front view)
    step_vals = {k: float(v[i]) if np.isfinite(v[i]) else None
                 for k, v in analysis.metrics.steps.values.items()
                 if v.size > i and _usable(rep, k)}
    missing: dict[str, list[str]] = {}  # reason -> metrics not drawn for it
    for k in SAGITTAL_AT_IC:
        if k in rep.get("metrics", {}) and not _usable(rep, k):
            missing.setdefault(rep["metrics"][k]["reason"], []).append(label_of(k).lower())
    not_drawn = [f"{', '.join(names)} ({reason})" for reason, names in missing.items()]
    overlay = _overlay_svg(q, str(ev.chain[i]), step_vals, cw, ch)
    side_word = {"L": "left", "R": "right"}
    return {
        "ok": True, "src": _encode_jpeg(crop), "width": cw, "height": ch,
        "overlay": overlay, "t_s": t_frame, "ic_t_s": t_ic, "step": i,
        "foot": side_word.get(str(ev.foot[i]), str(ev.foot[i])), "why": why,
        "overstride": step_vals.get("overstride_pct_leg"),
        "shank": step_vals.get("shank_angle_ic_deg"),
        "knee": step_vals.get("knee_flexion_ic_deg"),
        "not_drawn": not_drawn,
        "note": "",
    }


def _overlay_svg(q: np.ndarray, chain: str, vals: dict[str, float | None], w: int, h: int
                 ) -> Markup:
    """Skeleton, hip vertical, overstride distance, shank and knee angles in crop pixels.

    ``q``: [33, 2] landmarks in crop pixels; ``chain``: landmark label of the landing leg;
    ``vals``: the step's values of the metrics the clip can measure (a metric absent here,
    e.g. overstride in a front view, is not drawn)."""
    fs = max(12.0, min(w, h) / 26.0)
    sw = max(2.0, min(w, h) / 220.0)
    out = [f'<svg class="overlay" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" '
           f'aria-hidden="true" font-size="{fs:.1f}" font-weight="600">']

    def ok(*ks: int) -> bool:
        return all(np.isfinite(q[k]).all() for k in ks)

    def seg(a: np.ndarray, b: np.ndarray, color: str, width: float, dash: str = "",
            cls: str = "") -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        c = f' class="{cls}"' if cls else ""
        xy = f'x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}"'
        out.append(f'<line {xy} stroke="#000" stroke-opacity="0.55" '
                   f'stroke-width="{width + 2.5:.1f}" stroke-linecap="round"{d}/>')
        out.append(f'<line{c} {xy} stroke="{color}" stroke-width="{width:.1f}" '
                   f'stroke-linecap="round"{d}/>')

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
    land = set(LEG_POINTS.get(chain, ()))
    for a, b in BONES:
        if ok(a, b) and not (a in land and b in land):
            seg(q[a], q[b], "#ffffff", sw * 0.8)
    for k in range(q.shape[0]):
        if ok(k) and k not in land and k >= 11:
            out.append(f'<circle cx="{q[k, 0]:.1f}" cy="{q[k, 1]:.1f}" r="{sw * 1.2:.1f}" '
                       f'fill="#fff" stroke="#000" stroke-width="1"/>')
    if chain not in LEG_POINTS:
        out.append("</svg>")
        return Markup("".join(out))
    hp, kn, an, he, toe = LEG_POINTS[chain]
    hipm = (q[L_HIP] + q[R_HIP]) / 2
    if ok(L_SHOULDER, R_SHOULDER) and np.isfinite(hipm).all():
        shm = (q[L_SHOULDER] + q[R_SHOULDER]) / 2
        seg(hipm, shm, "#ffffff", sw)
    # the landing leg
    if ok(hp, kn):
        seg(q[hp], q[kn], SKY, sw * 1.6, cls="thigh")
    if ok(an, he, toe):
        seg(q[an], q[he], ORANGE, sw * 1.3)
        seg(q[he], q[toe], ORANGE, sw * 1.3)
        seg(q[an], q[toe], ORANGE, sw * 1.3)
    # overstride: vertical through the hip midpoint, horizontal to the heel
    if np.isfinite(hipm).all() and vals.get("overstride_pct_leg") is not None:
        seg(np.array([hipm[0], 0.0]), np.array([hipm[0], h]), "#ffffff", sw, "8 6",
            cls="hip-vertical")
        label(hipm[0] + fs * 0.3, fs * 1.2, "hip", "#ffffff")
        out.append(f'<circle cx="{hipm[0]:.1f}" cy="{hipm[1]:.1f}" r="{sw * 2.4:.1f}" '
                   f'fill="{GREEN}" stroke="#000" stroke-width="1.5"/>')
    if np.isfinite(hipm).all() and ok(he) and vals.get("overstride_pct_leg") is not None:
        y = q[he, 1] + fs * 0.9
        y = min(y, h - fs * 1.6)
        a, b = np.array([hipm[0], y]), np.array([q[he, 0], y])
        seg(a, b, ORANGE, sw * 1.4, cls="overstride")
        for end in (a, b):
            seg(end - [0, fs * 0.4], end + [0, fs * 0.4], ORANGE, sw * 1.2)
        ov = vals.get("overstride_pct_leg")
        if ov is not None:
            ahead = "ahead of" if ov >= 0 else "behind"
            txt = f"heel {fmt_num(abs(ov), 1)} % leg {ahead} hip"
            anchor = "middle"
            label((a[0] + b[0]) / 2, y + fs * 1.25, txt, ORANGE, anchor)
    # shank angle: knee->ankle against the vertical through the ankle
    if ok(kn, an):
        seg(q[kn], q[an], SKY, sw * 1.6, cls="shank")
        L = float(np.linalg.norm(q[kn] - q[an]))
        sh = vals.get("shank_angle_ic_deg")
        if sh is not None:
            top = q[an] - np.array([0.0, L * 0.8])
            seg(q[an], top, "#ffffff", sw * 0.9, "4 4", cls="shank-vertical")
            r = L * 0.45
            ang_v = -math.pi / 2
            ang_s = math.atan2(q[kn, 1] - q[an, 1], q[kn, 0] - q[an, 0])
            p1 = q[an] + r * np.array([math.cos(ang_v), math.sin(ang_v)])
            p2 = q[an] + r * np.array([math.cos(ang_s), math.sin(ang_s)])
            sweep = 1 if (ang_s - ang_v) % (2 * math.pi) < math.pi else 0
            out.append(f'<path d="M{p1[0]:.1f},{p1[1]:.1f}A{r:.1f},{r:.1f} 0 0,{sweep} '
                       f'{p2[0]:.1f},{p2[1]:.1f}" fill="none" stroke="{SKY}" '
                       f'stroke-width="{sw:.1f}"/>')
            side = 1 if q[kn, 0] >= q[an, 0] else -1
            label(q[an, 0] + side * (r + fs * 0.4), q[an, 1] - r * 0.55,
                  f"shank {fmt_num(sh, 0)}\u00b0", SKY, "start" if side > 0 else "end")
    # knee flexion
    if ok(hp, kn, an):
        kf = vals.get("knee_flexion_ic_deg")
        out.append(f'<circle cx="{q[kn, 0]:.1f}" cy="{q[kn, 1]:.1f}" r="{sw * 2.2:.1f}" '
                   f'fill="{SKY}" stroke="#000" stroke-width="1.5"/>')
        if kf is not None:
            # put the label on the side of the knee away from the hip-ankle line
            mid = (q[hp] + q[an]) / 2
            d = q[kn] - mid
            text = f"knee {fmt_num(kf, 0)}\u00b0 bent"
            tw = 0.62 * fs * len(text)
            right = d[0] >= 0
            if (right and q[kn, 0] + fs * 1.2 + tw > w) or (not right and
                                                           q[kn, 0] - fs * 1.2 - tw < 0):
                right = not right  # no room on the preferred side
            x = q[kn, 0] + (fs * 1.2 if right else -fs * 1.2)
            label(x, q[kn, 1] + fs * 0.35, text, SKY, "start" if right else "end")
    if ok(he):
        out.append(f'<circle cx="{q[he, 0]:.1f}" cy="{q[he, 1]:.1f}" r="{sw * 2.2:.1f}" '
                   f'fill="{ORANGE}" stroke="#000" stroke-width="1.5"/>')
    out.append("</svg>")
    return Markup("".join(out))


# ----------------------------------------------------------------------------- cards


def gauge_svg(f: dict[str, Any]) -> Markup | None:
    """A small scale with the ok / mild / marked zones and the measured value."""
    thr = {k: float(v) for k, v in (f.get("thresholds") or {}).items() if v is not None}
    v = f.get("value")
    if v is None or "mild" not in thr or f.get("direction") not in ("above", "below"):
        return None
    above = f["direction"] == "above"
    pts = [float(v)] + list(thr.values())
    lo, hi = min(pts), max(pts)
    span = hi - lo if hi > lo else max(1.0, abs(hi))
    lo, hi = lo - 0.35 * span, hi + 0.35 * span
    W, H, ml, mr = 420, 58, 8, 8
    pw = W - ml - mr

    def x(val: float) -> float:
        return ml + (val - lo) / (hi - lo) * pw

    levels = [("ok", lo)]
    mild, marked = thr["mild"], thr.get("marked")
    if above:
        edges = [lo, mild] + ([marked] if marked is not None else []) + [hi]
        names = ["OK", "mild", "marked"][: len(edges) - 1]
    else:
        edges = [lo] + ([marked] if marked is not None else []) + [mild, hi]
        names = (["marked", "mild", "OK"] if marked is not None else ["mild", "OK"])
    del levels
    fills = {"OK": GREEN, "mild": ORANGE, "marked": VERMILLION}
    out = [f'<svg class="gauge" viewBox="0 0 {W} {H}" role="img" '
           f'aria-label="{escape(f.get("comparison", ""))}" xmlns="http://www.w3.org/2000/svg" '
           'font-size="11">']
    for a, b, name in zip(edges[:-1], edges[1:], names, strict=True):
        xa, xb = x(a), x(b)
        out.append(f'<rect x="{xa:.1f}" y="22" width="{max(0.0, xb - xa):.1f}" height="12" '
                   f'fill="{fills[name]}" fill-opacity="0.28"/>')
        if xb - xa > 34:
            out.append(f'<text x="{(xa + xb) / 2:.1f}" y="31.5" text-anchor="middle" '
                       f'fill="{INK}">{escape(name)}</text>')
    for name, val in thr.items():
        xx = x(val)
        out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="19" y2="37" stroke="{INK}" '
                   'stroke-width="1.2"/>')
        out.append(f'<text x="{xx:.1f}" y="50" text-anchor="middle" fill="#57606a">'
                   f"{escape(name)} {fmt_num(val, 1)}</text>")
    xv = x(float(v))
    out.append(f'<path d="M{xv - 6:.1f},8L{xv + 6:.1f},8L{xv:.1f},20Z" fill="{INK}"/>')
    anchor = "start" if xv < W / 2 else "end"
    dx = 9 if anchor == "start" else -9
    out.append(f'<text x="{xv + dx:.1f}" y="15" text-anchor="{anchor}" fill="{INK}" '
               f'font-weight="700">{escape(fmt_value(float(v), f.get("unit", "")))}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _times_text(ts: Sequence[float], limit: int = 14) -> str:
    ts = [float(t) for t in ts]
    if not ts:
        return ""
    head = ", ".join(f"{t:.2f}" for t in ts[:limit])
    more = f" and {len(ts) - limit} more" if len(ts) > limit else ""
    return f"{head} s{more}"


def build_cards(analysis: Any, rep: dict[str, Any]) -> list[dict[str, Any]]:
    """One card per finding, most severe first (order: marked, mild, OK, not assessed)."""
    rules = getattr(analysis, "rules", None)
    order = {"marked": 0, "mild": 1, "none": 2}
    cards = []
    for n, f in enumerate(rep.get("findings", [])):
        sev = f["severity"] if f.get("assessed") else "na"
        text, symbol = SEVERITY_TEXT[sev]
        note = ""
        combine = False
        if rules is not None:
            try:
                r = rules.get(f["id"])
                note = r.threshold_note
                combine = r.combine is not None
            except KeyError:
                pass
        adv = f.get("advice") or {}
        advice = [(lab, adv[k]) for k, lab in ADVICE_LABELS if adv.get(k)]
        supporting = [(label_of(k), fmt_value(v, rep.get("metrics", {}).get(k, {}).get("unit", "")))
                      for k, v in (f.get("supporting") or {}).items() if v is not None]
        target = None
        if f.get("target"):
            a, b = f["target"]
            target = f"{fmt_num(a, 0)}\u2013{fmt_num(b, 0)} {f.get('unit', '')}"
        cards.append({
            "id": f["id"], "title": f.get("title", f["id"]), "sev": sev, "sev_text": text,
            "sev_symbol": symbol, "assessed": bool(f.get("assessed")),
            "is_fault": bool(f.get("assessed")) and f["severity"] in ("mild", "marked"),
            "metric_label": label_of(f.get("metric", "")),
            "value": fmt_value(f.get("value"), f.get("unit", "")),
            "comparison": f.get("comparison", ""),
            "gauge": None if combine or not f.get("assessed") else gauge_svg(f),
            "evidence": _times_text(f.get("evidence_t_s") or []),
            "n_steps": f.get("n_steps", 0),
            "confidence": f.get("confidence", ""), "reason": f.get("reason", ""),
            "note": f.get("note", ""), "advice": advice, "citation": f.get("citation", ""),
            "threshold_note": note, "supporting": supporting, "target": target,
            "rank": (order.get(sev, 3), n),
        })
    cards.sort(key=lambda c: c["rank"])
    return cards


def build_metric_rows(rep: dict[str, Any]) -> list[dict[str, Any]]:
    mets = rep.get("metrics", {})
    ids = [k for k in LABELS if k in mets] + [k for k in mets if k not in LABELS]
    rows = []
    for k in ids:
        m = mets[k]
        measurable = m.get("status") != "not_measurable" and m.get("value") is not None
        unit = m.get("unit", "")
        ps = m.get("per_side") or {}
        per_side = ""
        if measurable and any(ps.get(s) is not None for s in ("L", "R")):
            # asymmetry metrics carry the per-side medians of their base metric (ms)
            ps_unit = "ms" if k.endswith("_asymmetry_pct") else ""
            per_side = " / ".join(
                f"{s} {fmt_num(ps.get(s), _decimals(ps_unit or unit))}"
                + (f" {ps_unit}" if ps_unit and ps.get(s) is not None else "")
                for s in ("L", "R"))
        walking = k == "cadence_spm" and (rep.get("view") or {}).get("gait") == "walking"
        rows.append({
            "id": k, "label": "Cadence (walking)" if walking else label_of(k),
            "status": m.get("status", ""),
            "status_text": ("Not assessed" if str(m.get("reason", "")).startswith(
                "not assessed") else STATUS_TEXT.get(m.get("status", ""), m.get("status", ""))),
            "value": fmt_value(m["value"], unit) if measurable else "",
            "spread": (fmt_value(m["spread"], unit) if measurable and m.get("spread") is not None
                       else ""),
            "n_steps": m.get("n_steps", 0) if measurable else "",
            "per_side": per_side, "reason": m.get("reason", ""), "measurable": measurable,
        })
    return rows


# ----------------------------------------------------------------------------- page


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("formcheck", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True,
    )


def render_html(analysis: Any, rep: dict[str, Any]) -> str:
    """The report page as a string (see module docstring)."""
    still = build_still(analysis, rep)
    centre = still.get("ic_t_s") if still.get("ok") else None
    plots = build_plots(analysis, rep, centre)
    cards = build_cards(analysis, rep)
    q, v, src = rep.get("quality", {}), rep.get("view", {}), rep.get("source", {})
    video = src.get("video") or {}
    n_frames = q.get("n_frames", 0)
    fps = q.get("fps_real")
    duration = (n_frames - 1) / fps if fps and n_frames > 1 else None
    counts = {s: sum(1 for c in cards if c["sev"] == s) for s in ("marked", "mild", "none", "na")}
    facts = [
        ("View", f"{v.get('view', '?')}, runner faces {v.get('direction', '?')}"
                 + (" (set by user)" if "view" in (v.get("overridden") or []) else "")),
        ("Setting", str(v.get("setting", "?"))),
        ("Gait", str(v.get("gait", "?"))),
        ("Frames", f"{n_frames}" + (f" ({fmt_num(duration, 1)} s)" if duration else "")),
        ("Frame rate", f"{fmt_num(fps, 1)} fps real time" if fps else "\u2013"),
        ("Runner detected", f"{fmt_num(100 * q.get('detection_rate', 0.0), 0)} % of frames"),
        ("Steps", f"{q.get('steps_detected', 0)} detected, {q.get('steps_rejected', 0)} "
                  "rejected"),
    ]
    if video.get("width_px"):
        facts.append(("Video", f"{video.get('width_px')}\u00d7{video.get('height_px')} "
                               f"{video.get('codec', '')}"
                      + (f", slow motion \u00d7{fmt_num(video.get('slowmo'), 1)}"
                         if (video.get("slowmo") or 1) != 1 else "")))
    ppl = rep.get("people") or {}
    quality = [
        ("Leg-label swaps repaired", q.get("leg_swaps_repaired")),
        ("Outlier coordinates rejected", q.get("outliers_rejected")),
        ("Left/right label agreement", None if q.get("side_label_agreement") is None
         else f"{fmt_num(100 * q['side_label_agreement'], 0)} %"),
        ("Cadence from the body's rhythm", None if q.get("spectral_cadence_spm") is None
         else f"{fmt_num(q['spectral_cadence_spm'], 1)} steps/min"),
        ("Most people in one frame", q.get("max_people_in_frame")),
        ("People in view", ppl.get("n_people")),
        ("Person analysed (as numbered in people.png)",
         f"{ppl['chosen']} ({ppl.get('chosen_by', '')}): {ppl.get('why', '')}"
         if ppl.get("chosen") else None),
    ]
    rules = getattr(analysis, "rules", None)
    ctx = {
        "rep": rep, "file": src.get("file") or "(unknown clip)", "facts": facts,
        "warnings": rep.get("warnings", []), "safety": rep.get("safety") or {},
        "cards": cards, "counts": counts, "metrics": build_metric_rows(rep), "plots": plots,
        "still": still, "quality": [(k, x) for k, x in quality if x is not None],
        "version": rep.get("formcheck_version", ""),
        "schema": f"{rep.get('schema', '')} {rep.get('schema_version', '')}",
        "created": rep.get("created_utc", ""),
        "rules_version": getattr(rules, "version", "") if rules is not None else "",
        "sha256": src.get("sha256") or "", "fmt_num": fmt_num,
        "colors": {"marked": VERMILLION, "mild": ORANGE, "none": GREEN, "na": GREY},
    }
    return _environment().get_template("report.html.j2").render(**ctx)


def write_html(analysis: Any, rep: dict[str, Any], path: Path) -> None:
    """Write report.html for ``analysis`` (``rep`` is its report.json document) to ``path``."""
    Path(path).write_text(render_html(analysis, rep), encoding="utf-8")
