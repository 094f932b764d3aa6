"""report.html: one self-contained page per analysis (no network, no JavaScript).

Everything the page shows is inside the file: CSS inline, plots as inline SVG
(:mod:`formcheck.report.plots`, drawn with :mod:`formcheck.report.charts` from the cleaned
landmark series), the still frame as a JPEG ``data:`` URI (:mod:`formcheck.report.still`).
All dynamic text goes through Jinja2's autoescaping; the SVG built here escapes its own text
with ``markupsafe``.

Contents: clip facts, warnings, the no-diagnosis disclaimer and safety message, one card per
finding (severity badge with text, value against threshold, evidence, confidence, advice,
citation), a still frame at a typical initial contact (IC) with the overstride, shank angle and
knee flexion drawn over it, plots of the signals the events were found on (with the events
marked), the drift of the key metrics over a long run (:mod:`formcheck.report.drift_plot`),
and the table of metrics with their status and noise (SE, MDC95).

Colours and number formats come from :mod:`formcheck.report.style` (the Okabe-Ito palette,
safe for colour-blind readers); every colour is paired with text, a line style or a marker
shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from formcheck.report.drift_plot import drift_section
from formcheck.report.plots import build_plots
from formcheck.report.still import build_still
from formcheck.report.style import (
    CONSTRUCTION_PAGE,
    HEX,
    SEVERITY_PAGE,
    decimals,
    fmt_num,
    fmt_value,
    label_of,
)
from formcheck.results import LABELS

if TYPE_CHECKING:
    from formcheck.api import Analysis

__all__ = ["render_html", "write_html"]

INK = HEX["ink"]
#: Colour of each severity (badges, gauge zones).
SEVERITY_COLOR = {k: HEX[v] for k, v in SEVERITY_PAGE.items()}
STATUS_TEXT = {"measured": "Measured", "low_confidence": "Low confidence",
               "not_measurable": "Not measurable"}
#: severity -> (badge text, symbol); the symbol repeats the meaning in shape, not colour.
SEVERITY_TEXT = {"marked": ("Marked", "\u25b2\u25b2"), "mild": ("Mild", "\u25b2"),
                 "none": ("OK", "\u2713"), "na": ("Not assessed", "\u2013")}
ADVICE_LABELS = (("what", "What to change"), ("cue", "Cue"), ("drill", "Drill"),
                 ("progress", "How to progress"), ("why", "Why"))

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
    fills = {"OK": SEVERITY_COLOR["none"], "mild": SEVERITY_COLOR["mild"],
             "marked": SEVERITY_COLOR["marked"]}
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


def build_cards(analysis: Analysis, rep: dict[str, Any]) -> list[dict[str, Any]]:
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
        mdc, _ = noise_texts(rep.get("metrics", {}).get(f.get("metric", ""), {}))
        cards.append({
            "mdc": mdc,
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


def noise_texts(m: dict[str, Any]) -> tuple[str, str]:
    """(MDC95 as ``± x unit``, the detail: SE, and the between-session floor or that there is
    none) of a report.json metric's ``noise``; ``("", reason)`` without an estimate and
    ``("", "")`` for a metric without a number."""
    n = m.get("noise")
    if not n:
        return "", ""
    if n.get("mdc95") is None:
        return "", str(n.get("reason", ""))
    unit = m.get("unit", "")
    fl = n.get("floor")
    between = (f"between sessions at least \u00b1 {fmt_value(fl['value'], unit)} "
               f"({fl['source']})" if fl else str(n.get("floor_note", "")))
    return ("\u00b1 " + fmt_value(n["mdc95"], unit),
            f"SE {fmt_value(n['se'], unit)} from {n.get('n', 0)} steps; {between}")


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
                f"{s} {fmt_num(ps.get(s), decimals(ps_unit or unit))}"
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
            "mdc": noise_texts(m)[0], "mdc_detail": noise_texts(m)[1],
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


def render_html(analysis: Analysis, rep: dict[str, Any]) -> str:
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
    cam = rep.get("camera") or {}
    if cam.get("status"):
        se = cam.get("se_deg")
        facts.append(("Camera roll", "not measured; angles against the image vertical"
                      if cam.get("roll_deg") is None else
                      "correction off (--camera-roll 0)" if not cam["roll_deg"] else
                      f"{cam['roll_deg']:+.1f} deg ({cam['status']}"
                      + (f", \u00b1{fmt_num(se, 1)}" if se is not None else "")
                      + "); angles corrected for it"))
    ppl = rep.get("people") or {}
    quality = [
        ("Leg-label swaps repaired", q.get("leg_swaps_repaired")),
        ("Outlier coordinates rejected", q.get("outliers_rejected")),
        ("Leg landmarks jumping about", None if q.get("leg_jump_share") is None
         else f"{fmt_num(100 * q['leg_jump_share'], 1)} % of samples"),
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
        "drift": drift_section(rep),
        "still": still, "quality": [(k, x) for k, x in quality if x is not None],
        "version": rep.get("formcheck_version", ""),
        "schema": f"{rep.get('schema', '')} {rep.get('schema_version', '')}",
        "created": rep.get("created_utc", ""),
        "rules_version": getattr(rules, "version", "") if rules is not None else "",
        "sha256": src.get("sha256") or "", "fmt_num": fmt_num,
        "colors": {**SEVERITY_COLOR, "ink": INK, "accent": HEX["blue"]},
        "still_colors": {k: HEX[v] for k, v in CONSTRUCTION_PAGE.items()},
    }
    return _environment().get_template("report.html.j2").render(**ctx)


def write_html(analysis: Analysis, rep: dict[str, Any], path: Path) -> None:
    """Write report.html for ``analysis`` (``rep`` is its report.json document) to ``path``."""
    Path(path).write_text(render_html(analysis, rep), encoding="utf-8")
