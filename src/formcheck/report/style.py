"""One palette and one set of number formats for every output: the terminal summary,
report.html and the annotated video.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), which stays
distinguishable under the common colour-vision deficiencies, plus white, a neutral grey and
the page's ink.  :data:`HEX` is the one table; :data:`RGB` (for OpenCV drawing on video frames)
is derived from it.  The role tables say which colour means what where.  The page (light
background) and the video (dark footage, a skeleton coloured by side) use some colours for
different things on purpose, so a role that differs between them is named per medium:

* mild severity: orange on the page (yellow text is unreadable on white), yellow in the video's
  dark panel;
* the runner's sides: blue (solid) / reddish purple (dashed) on the page's plots; sky blue /
  orange in the video, whose skeleton is coloured by side;
* the contact construction (:mod:`formcheck.construction`): on the report's still (white
  skeleton) the landing leg is sky blue and the foot and overstride orange; in the video (side
  coloured skeleton) the overstride is vermillion, the shank and knee reddish purple and the
  hip vertical yellow, so that none is taken for a side.

Every colour is paired with text, a line style or a marker shape.
"""

from __future__ import annotations

import numpy as np

from formcheck.results import LABELS

#: The palette, as hex strings (the page writes these verbatim).
HEX: dict[str, str] = {
    "black": "#000000",
    "white": "#ffffff",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#7f7f7f",
    "ink": "#1f2328",
}


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


#: The same palette as (R, G, B) 0-255 tuples, for drawing on video frames.
RGB: dict[str, tuple[int, int, int]] = {k: _rgb(v) for k, v in HEX.items()}

#: Severity of a finding -> palette colour on the page (badges, gauge zones).
SEVERITY_PAGE = {"marked": "vermillion", "mild": "orange", "none": "bluish_green", "na": "grey"}
#: Severity -> palette colour in the video's panel (no colour for "none": not listed there).
SEVERITY_VIDEO = {"marked": "vermillion", "mild": "yellow"}
#: Severity -> (tag, ANSI colour name) in the terminal summary.
SEVERITY_TERMINAL = {"marked": ("MARKED", "red"), "mild": ("mild", "yellow"),
                     "none": ("ok", "green")}

#: The runner's side -> palette colour on the page's plots (left solid, right dashed).
SIDE_PAGE = {"L": "blue", "R": "reddish_purple"}
#: The runner's side -> palette colour in the video (left solid/round, right dashed/square).
SIDE_VIDEO = {"L": "sky_blue", "R": "orange"}

#: Contact construction element -> palette colour on the report's still frame.
CONSTRUCTION_PAGE = {"hip_vertical": "white", "hip": "bluish_green", "overstride": "orange",
                     "foot": "orange", "heel": "orange", "thigh": "sky_blue",
                     "shank": "sky_blue", "knee": "sky_blue", "trunk": "white"}
#: Contact construction element -> palette colour in the video.
CONSTRUCTION_VIDEO = {"hip_vertical": "yellow", "overstride": "vermillion",
                      "shank": "reddish_purple", "knee": "reddish_purple",
                      "trunk": "bluish_green", "arm_crossing": "reddish_purple"}

MISSING = "\u2013"  # en dash: a value that is not there


def fmt_num(v: float | None, nd: int = 1) -> str:
    """Number with ``nd`` decimals and a true minus sign; an en dash for None/NaN."""
    if v is None or not np.isfinite(v):
        return MISSING
    s = f"{v:.{nd}f}"
    if s.startswith("-") and float(s) == 0.0:
        s = s[1:]
    return s.replace("-", "\u2212")


def decimals(unit: str) -> int:
    """Decimals a value in ``unit`` is shown with: none for milliseconds, one otherwise."""
    return 0 if unit == "ms" else 1


def fmt_value(v: float | None, unit: str) -> str:
    """A value with its unit, e.g. ``'4.1°'``, ``'152 ms'``; en dash when missing."""
    if v is None:
        return MISSING
    n = fmt_num(v, decimals(unit))
    if unit == "deg":
        return n + "\u00b0"
    return f"{n} {unit}"


def fmt_plain(v: float | None, unit: str) -> str:
    """ASCII value with its unit for the terminal, e.g. ``'4.1 deg'``; ``'-'`` when missing."""
    if v is None:
        return "-"
    return f"{v:.{decimals(unit)}f} {unit}"


def fmt_spec(v: float | None, spec: str) -> str | None:
    """``format(v, spec)`` (ASCII, for the video) without a "-0"; None for a missing value."""
    if v is None or not np.isfinite(v):
        return None
    s = format(v, spec)
    return s.replace("-", "", 1) if s.lstrip("+-").strip("0.") == "" else s


def label_of(metric_id: str) -> str:
    """The metric's display name (results.LABELS), or one made from its id."""
    return LABELS.get(metric_id, metric_id.replace("_", " ").capitalize())
