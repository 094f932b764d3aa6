"""compare.html (one self-contained page: inline CSS and SVG, stills as JPEG ``data:`` URIs,
no JavaScript, no network), with each session's drift plots
(:mod:`formcheck.report.drift_plot`, shared with report.html).

All dynamic text goes through Jinja2's autoescaping; the SVG built here escapes its own text
with ``markupsafe``.  Verdicts are given in words and a symbol, never colour alone
(Okabe-Ito palette).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from formcheck.change import compare as cmp_mod
from formcheck.change import mdc
from formcheck.report.drift_plot import drift_items
from formcheck.report.still import decode_frame, encode_jpeg, fit_crop
from formcheck.results import label

BLUE, ORANGE, GREEN, VERMILLION, GREY, INK = ("#0072B2", "#E69F00", "#009E73", "#D55E00",
                                              "#7f7f7f", "#1f2328")
#: Longest side of each still (px).
STILL_MAX_SIDE_PX = 420


# ----------------------------------------------------------------------------- stills


def pick_still_step(steps: dict[str, np.ndarray], rep: dict[str, Any]) -> int | None:
    """The typical contact: the valid step whose overstride is nearest the clip's median
    (as report.html picks it), else the valid step nearest mid-clip."""
    t = steps.get("ic_t_s")
    if t is None or t.size == 0:
        return None
    valid = steps.get("valid", np.ones(t.size, bool)) & np.isfinite(t)
    ov = steps.get("overstride_pct_leg", np.full(t.size, np.nan))
    ok = valid & np.isfinite(ov)
    m = (rep.get("metrics") or {}).get("overstride_pct_leg") or {}
    if ok.any() and m.get("value") is not None and m.get("status") != "not_measurable":
        idx = np.flatnonzero(ok)
        return int(idx[np.argmin(np.abs(ov[ok] - np.median(ov[ok])))])
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return None
    mid = (np.nanmin(t) + np.nanmax(t)) / 2
    return int(idx[np.argmin(np.abs(t[idx] - mid))])


def build_still(s: cmp_mod.Session) -> dict[str, Any]:
    """The session's typical contact as {ok, src, width, height, overlay, t_s, note}: the
    frame from the source video with the skeleton (landmarks.npz) drawn over it; without the
    video, the still embedded in the folder's report.html; else a note why there is none."""
    i = pick_still_step(s.steps, s.rep)
    if i is None:
        return {"ok": False, "note": "no valid initial contact in this clip"}
    t_ic = float(s.steps["ic_t_s"][i])
    video, npz = s.video_path, s.folder / "landmarks.npz"
    if video is not None and npz.is_file():
        try:
            from formcheck.landmarks import BONES
            from formcheck.pose import PoseSeries

            pose = PoseSeries.load(npz)
            j = int(np.argmin(np.abs(np.asarray(pose.t_s, float) - t_ic)))
            img = decode_frame(str(video), int(pose.frame_index[j]), float(pose.slowmo))[0]
            H, W = img.shape[:2]
            p = np.asarray(pose.xy_px[j], float) * [W / max(1, pose.width_px),
                                                    H / max(1, pose.height_px)]
            good = np.isfinite(p).all(axis=1)
            x0, y0, x1, y1 = 0, 0, W, H
            if good.sum() >= 4:
                lo, hi = p[good].min(axis=0), p[good].max(axis=0)
                m = 0.15 * max(hi - lo)
                x0, y0 = int(max(0, lo[0] - m)), int(max(0, lo[1] - m))
                x1, y1 = int(min(W, hi[0] + m)), int(min(H, hi[1] + m))
                if x1 - x0 < 16 or y1 - y0 < 16:
                    x0, y0, x1, y1 = 0, 0, W, H
            crop, k = fit_crop(img, x0, y0, x1, y1, STILL_MAX_SIDE_PX)
            q = (p - [x0, y0]) * k
            segs = "".join(
                f'<line x1="{q[a, 0]:.1f}" y1="{q[a, 1]:.1f}" x2="{q[b, 0]:.1f}" '
                f'y2="{q[b, 1]:.1f}"/>' for a, b in BONES if good[a] and good[b])
            h, w = crop.shape[:2]
            overlay = Markup(f'<svg class="ov" viewBox="0 0 {w} {h}" width="{w}" '
                             f'height="{h}" aria-hidden="true"><g stroke="{ORANGE}" '
                             f'stroke-width="2.5" stroke-linecap="round">{segs}</g></svg>')
            return {"ok": True, "src": encode_jpeg(crop, 82), "width": w, "height": h,
                    "overlay": overlay, "t_s": t_ic, "note": ""}
        except Exception as exc:  # noqa: BLE001 - a page without one still beats no page
            note = f"the video could not be decoded ({type(exc).__name__})"
    else:
        note = "the source video is not at hand"
    html = s.folder / "report.html"
    if html.is_file():
        m = re.search(r'data:image/jpeg;base64,[A-Za-z0-9+/=]+', html.read_text("utf-8"))
        if m:
            return {"ok": True, "src": m.group(0), "width": None, "height": None,
                    "overlay": Markup(""), "t_s": None,
                    "note": f"{note}: the still of report.html"}
    return {"ok": False, "note": f"no still: {note}"}


# ----------------------------------------------------------------------------- page


VERDICT_STYLE = {cmp_mod.CHANGED: ("changed", "\u25b2", VERMILLION),
                 cmp_mod.NO_CHANGE: ("no change you can tell", "\u2013", GREY),
                 cmp_mod.CANNOT: ("cannot compare", "?", GREY)}


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("formcheck", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)


def render_compare(c: cmp_mod.Comparison, stills: bool = True) -> str:
    """compare.html as a string."""
    ss = c.sessions
    rows = []
    for k in c.metrics:
        unit = cmp_mod._unit(ss, k)
        vals = [cmp_mod.fmt(s.value(k), unit) for s in ss]
        if all(v == "\u2013" for v in vals):
            continue
        cells = []
        for ch in c.changes:
            x = ch[k]
            text, sym, colour = VERDICT_STYLE[x.verdict]
            cells.append({
                "verdict": x.verdict, "text": text, "sym": sym, "colour": colour,
                "change": None if x.change is None else
                f"{x.change:+.{0 if unit == 'ms' else 1}f}",
                "threshold": None if x.threshold is None else cmp_mod.fmt(x.threshold, unit),
                "by": ("between-session floor" if x.floor_applied else "the clips' noise")
                if x.threshold is not None else "", "reason": x.reason,
                "caution": x.caution})
        fl = mdc.floors().get(k)
        rows.append({"id": k, "label": label(k), "unit": unit, "values": vals,
                     "se": [cmp_mod.fmt(s.noise[k].se, "") if k in s.noise and
                            s.noise[k].se is not None else "\u2013" for s in ss],
                     "cells": cells,
                     "floor": (f"{fl.value:g} {unit}: {fl.source}" if fl else
                               mdc.NO_FLOOR_TEXT)})
    sessions = []
    for s in ss:
        w = s.window
        sessions.append({
            "name": s.name, "file": (s.rep.get("source") or {}).get("file", ""),
            "date": s.date.strftime("%Y-%m-%d %H:%M UTC") if s.date else "unknown",
            "date_source": s.date_source,
            "window": "" if w == (None, None) else
            f"{w[0] if w[0] is not None else 0:g}-{'end' if w[1] is None else f'{w[1]:g}'} s",
            "view": (f"{(s.rep.get('view') or {}).get('view', '?')}, "
                     f"{(s.rep.get('view') or {}).get('setting', '?')}"),
            "fps": cmp_mod.fmt((s.rep.get("quality") or {}).get("fps_real"), ""),
            "steps": (s.rep.get("quality") or {}).get("steps_detected", 0),
            "still": build_still(s) if stills else {"ok": False, "note": "stills off"},
            "drift": [d for d in drift_items(s.rep, s.steps, f"{s.name}: ")
                      if d["verdict"] != "not_assessed"],
        })
    sev = {"marked": "marked \u25b2\u25b2", "mild": "mild \u25b2", "none": "OK \u2713",
           "na": "not assessed", None: "\u2013"}
    findings = [{"title": f["title"], "cells": [sev.get(x, str(x)) for x in f["severity"]]}
                for f in c.findings]
    pairs = [{"from": ss[0].name, "to": s.name, "warnings": list(w)}
             for s, w in zip(ss[1:], c.warnings, strict=True)]
    n_changed = [sum(1 for x in ch.values() if x.verdict == cmp_mod.CHANGED)
                 for ch in c.changes]
    return _environment().get_template("compare.html.j2").render(
        sessions=sessions, rows=rows, findings=findings, pairs=pairs, notes=list(c.notes),
        n_changed=n_changed, baseline=ss[0].name, later=[s.name for s in ss[1:]],
        method=mdc.report_section({"metrics": {}})["method"], no_change=cmp_mod.NO_CHANGE)


def write_compare(c: cmp_mod.Comparison, path: str | Path, stills: bool = True) -> None:
    """Write compare.html to ``path``."""
    Path(path).write_text(render_compare(c, stills), encoding="utf-8")
