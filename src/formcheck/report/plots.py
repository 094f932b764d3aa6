"""The signal plots of report.html: the series the gait events were found on, events marked.

Units: positions in % of leg length (hip-knee + knee-ankle, the clip median used by the
metrics), angles in degrees, time in seconds of real time (video time / slow-motion factor).
Each foot is told apart by colour and line style (:data:`LEG_STYLE`), each event by marker
shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from formcheck.landmarks import LEG, hip_mid
from formcheck.metrics.geometry import at
from formcheck.report.charts import Band, HLine, Line, Marks, svg_plot
from formcheck.report.style import HEX, SIDE_PAGE, fmt_num

if TYPE_CHECKING:
    from formcheck.api import Analysis

__all__ = ["FOOT_WINDOW_S", "LEG_STYLE", "build_plots"]

BLUE, ORANGE, GREEN = HEX["blue"], HEX["orange"], HEX["bluish_green"]
VERMILLION, GREY, INK = HEX["vermillion"], HEX["grey"], HEX["ink"]
#: Drawing style of each leg (landmark label after the identity repair): colour, dash, name.
LEG_STYLE = {"L": (HEX[SIDE_PAGE["L"]], "", "left"), "R": (HEX[SIDE_PAGE["R"]], "7 4", "right")}
#: Longest window of the per-foot plots (s); longer clips show a window around the still.
FOOT_WINDOW_S = 12.0


def _at_times(t: np.ndarray, y: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """``y(t)`` interpolated at each of ``ts`` (NaN outside the series or next to a gap)."""
    return np.array([at(t, y, float(x)) for x in ts], dtype=float)


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


def build_plots(analysis: Analysis, rep: dict[str, Any], centre_t: float | None
                ) -> list[dict[str, Any]]:
    """The signal plots: list of {id, title, caption, svg}."""
    clean, ev, met, view = analysis.clean, analysis.events, analysis.metrics, analysis.view
    t = np.asarray(clean.t_s, float)
    if t.size < 2:
        return []
    xy = np.asarray(clean.xy_px, float)
    leg = float(view.leg_length_px) if np.isfinite(view.leg_length_px) and \
        view.leg_length_px > 0 else float("nan")
    sign = view.sign
    hip = hip_mid(xy)
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
        ic_y = np.array([at(t, curves[c], float(x)) for c, x in zip(chain, ic, strict=True)],
                        dtype=float)
        to_y = np.array([at(t, curves[c], float(x)) for c, x in zip(chain, to, strict=True)],
                        dtype=float)
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
        fwd = {c: 100.0 * sign * (xy[:, LEG[c][3], 0] - hip[:, 0]) / leg
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
            low = {c: np.fmax(xy[:, LEG[c][3], 1], xy[:, LEG[c][4], 1])
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
            ic_y = _at_times(t, hup, ic)
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

