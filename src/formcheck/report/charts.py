"""A small kit of inline SVG line plots for report.html (no JavaScript, no network).

:func:`svg_plot` draws :class:`Line` series, :class:`Marks` (event markers with tooltips),
:class:`HLine` reference lines and :class:`Band` shaded ranges in data units, with round axis
ticks (:func:`nice_ticks`) and a legend; :class:`Area` shades a range that varies along x
(a confidence band).  Text is escaped with ``markupsafe``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from formcheck.report.style import HEX, fmt_num

__all__ = ["Area", "Band", "HLine", "Line", "Marks", "nice_ticks", "svg_plot"]

GREY, GREEN, INK = HEX["grey"], HEX["bluish_green"], HEX["ink"]
#: Most points drawn per series (longer series are decimated).
MAX_POINTS = 2400

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


@dataclass(frozen=True)
class Area:
    """A shaded range between ``lo`` and ``hi`` along ``x`` (e.g. a confidence band), with a
    legend entry; ``cls`` is its CSS class."""

    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    label: str
    color: str = GREY
    cls: str = "area"


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


def _legend(lines: Sequence[Line], marks: Sequence[Marks], x_start: float, x_end: float,
            areas: Sequence[Area] = ()) -> tuple[list[tuple[int, float, str]], int]:
    """Legend entries laid out in rows: (row, x, SVG fragment drawn at the origin), and the
    row count.  Lines are keyed by colour and dash; markers by shape, deduplicated by label and
    drawn neutral when one label has several colours (the colour then means the foot)."""
    items: list[tuple[str, str]] = []
    for ln in lines:
        dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
        items.append((f'<line x1="0" x2="22" y1="0" y2="0" stroke="{ln.color}" '
                      f'stroke-width="2.2"{dash}/>', ln.label))
    for ar in areas:
        if ar.label:
            items.append((f'<rect x="0" y="-5" width="22" height="10" fill="{ar.color}" '
                          'fill-opacity="0.22"/>', ar.label))
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
             areas: Sequence[Area] = (), vlines: Sequence[float] = (), xlim: tuple[float, float],
             ylabel: str, xlabel: str = "time (s)", height: int = 250,
             ylim: tuple[float, float] | None = None, xmlns: bool = True) -> Markup:
    """An inline SVG line plot with event markers, reference lines and a legend.

    Coordinates are in data units; the SVG scales to its container (viewBox 960 wide; the
    plotting area is ``height`` minus margins, plus one 18-unit row per extra legend row).
    Event markers carry ``class="ev <cls>"`` and a ``<title>`` tooltip each.  ``xmlns``:
    write the SVG namespace (not needed inside HTML; compare.html leaves it out, so the page
    names no http address at all).
    """
    W = 960
    ml, mr, mb = 64, 18, 44
    legend, rows = _legend(lines, marks, ml, W - mr, areas)
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
        for ar in areas:
            ys += [np.asarray(ar.lo, float), np.asarray(ar.hi, float)]
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
        + ('xmlns="http://www.w3.org/2000/svg" ' if xmlns else "") + 'font-size="12">',
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
    # shaded ranges along x (under the series)
    for ar in areas:
        x, lo_, hi_ = (np.asarray(v, float) for v in (ar.x, ar.lo, ar.hi))
        ok = np.isfinite(x) & np.isfinite(lo_) & np.isfinite(hi_)
        if ok.sum() >= 2:
            px, plo, phi = sx(x[ok]), sy(lo_[ok]), sy(hi_[ok])
            pts = [f"{a:.1f},{b:.1f}" for a, b in zip(px, phi, strict=True)]
            pts += [f"{a:.1f},{b:.1f}" for a, b in zip(px[::-1], plo[::-1], strict=True)]
            out.append(f'<path class="{escape(ar.cls)}" d="M{"L".join(pts)}Z" '
                       f'fill="{ar.color}" fill-opacity="0.22" stroke="none" {clip}/>')
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

