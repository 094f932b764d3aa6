"""Drift within the run, drawn: each key metric per time window, its trend line and the
trend's 95 % confidence band (:mod:`formcheck.change.drift`), as inline SVG made with
:mod:`formcheck.report.charts`.  Used by report.html (long runs only, :func:`drift_section`)
and compare.html (:func:`drift_items`).

Units: time in minutes (runs of 2 min or more) or seconds; values in the metric's unit.  A
window's value is the clip statistic of the steps that land in it (the median of the
per-step values; cadence from their mean step time).  Colour is never the only cue: the
trend is solid when the verdict is "drift" and dashed otherwise, and the verdict is written
beside every plot in drift.py's own words.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from markupsafe import Markup

from formcheck.change import drift as drift_mod
from formcheck.change import mdc
from formcheck.report.charts import Area, Line, Marks, svg_plot
from formcheck.report.style import HEX, fmt_num, label_of

__all__ = ["BAND_TEXT", "drift_items", "drift_section", "drift_svg"]

#: What the shading and the marks of a drift plot mean (the plots' shared caption).
BAND_TEXT = ("Dots: the metric in each time window (the median of the window's steps; "
             "cadence from their mean step time), the grey bar the window's span. Line: the "
             "trend fitted over the windows (solid when it is more than the noise, dashed "
             "when not); shaded: its 95 % confidence band.")


def drift_svg(d: drift_mod.Drift, title_prefix: str = "") -> Markup | None:
    """The windows of a drift (dots, bars = the windows' span), its trend line and the
    trend's confidence band; None when there is no trend."""
    ok = [w for w in d.windows if math.isfinite(w.value)]
    if not ok or d.slope_per_min is None or d.centre_t_s is None:
        return None
    t0 = min(w.t0_s for w in d.windows)
    t1 = max(w.t1_s for w in d.windows)
    k = 60.0 if (t1 - t0) >= 120 else 1.0  # the x axis in minutes for long runs
    tt = np.linspace(t0, t1, 41)
    fit, lo, hi = drift_mod.trend_band(d, tt)
    found = d.verdict == "drift"
    colour = HEX["vermillion"] if found else HEX["blue"]
    unit = f" {d.unit}" if d.unit else ""
    bars_x, bars_y = [], []
    for w in ok:
        bars_x += [w.t0_s / k, w.t1_s / k, np.nan]
        bars_y += [w.value, w.value, np.nan]
    titles = [f"{fmt_num(w.value, 2)}{unit} ({w.n} steps, {w.t0_s:.0f}-{w.t1_s:.0f} s)"
              for w in ok]
    name = f"{label_of(d.id)} per {drift_mod.fmt_duration(d.window_s)} window"
    return svg_plot(
        title=f"{title_prefix}{name}", xlim=(t0 / k, t1 / k),
        xlabel="time (min)" if k == 60 else "time (s)",
        ylabel=f"{label_of(d.id)}{f' ({d.unit})' if d.unit else ''}", height=230, xmlns=False,
        areas=[Area(tt / k, lo, hi, "95 % band of the trend", colour, cls="trend-band")],
        lines=[Line(np.array(bars_x), np.array(bars_y), "", HEX["grey"], width=1.2),
               Line(tt / k, fit, "trend: " + ("drift" if found else "no drift you can tell"),
                    colour, dash="" if found else "7 4", width=2.2)],
        marks=[Marks(np.array([w.t_mid_s / k for w in ok]), np.array([w.value for w in ok]),
                     "window value", "circle", HEX["ink"], "window", titles)])


def drift_items(rep: dict[str, Any], steps: dict[str, np.ndarray] | None = None,
                title_prefix: str = "") -> list[dict[str, Any]]:
    """Drift of the key metrics (change.toml ``[drift] metrics``) as {id, label, verdict,
    text, svg} (``svg`` None without a trend)."""
    return [{"id": k, "label": label_of(k), "verdict": d.verdict, "text": d.text,
             "svg": drift_svg(d, title_prefix)}
            for k, d in drift_mod.drift(rep, steps).items()]


def drift_section(rep: dict[str, Any]) -> dict[str, Any]:
    """report.html's "Drift within the run": {shown, note, items, caption}.  Plots only when
    the steps span at least :func:`formcheck.change.drift.min_span_s` (full-length
    windows); otherwise one line saying the clip is too short."""
    steps = mdc.steps_from_report(rep)
    t = np.asarray(steps.get("ic_t_s", np.zeros(0)), float)
    t = t[np.isfinite(t)]
    need = drift_mod.min_span_s()
    cfg = mdc.config()["drift"]
    span = float(t.max() - t.min()) if t.size >= 2 else 0.0
    if span < need:
        had = f"its steps span {drift_mod.fmt_duration(span)}" if t.size >= 2 else \
            "it has too few steps"
        return {"shown": False, "items": [], "caption": BAND_TEXT,
                "note": (f"This clip is too short for drift: {had}; a trend over time needs "
                         f"at least {drift_mod.fmt_duration(need)} of running "
                         f"({cfg['min_windows']} windows of {cfg['window_s']:g} s).")}
    return {"shown": True, "items": drift_items(rep, steps), "caption": BAND_TEXT,
            "note": (f"Steps span {drift_mod.fmt_duration(span)}, cut into windows of about "
                     f"{cfg['window_s']:g} s. Drift is called only when the trend's 95 % "
                     "interval excludes zero; within one run the camera does not move, so "
                     "no between-session floor applies.")}
