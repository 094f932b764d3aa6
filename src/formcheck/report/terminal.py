"""The short, readable terminal summary of an analysis."""

from __future__ import annotations

import textwrap
from typing import Any

import click

from formcheck.report.style import SEVERITY_TERMINAL, fmt_plain
from formcheck.results import LABELS

#: severity -> (tag, ANSI colour name)
SEV_STYLE = SEVERITY_TERMINAL


def summary_text(rep: dict[str, Any], color: bool = False, width: int = 92) -> str:
    """Render report.json as a terminal summary."""

    def st(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if color else text

    v, q = rep["view"], rep["quality"]
    lines = [st(f"formcheck {rep['formcheck_version']}: {rep['source']['file']}", bold=True)]
    lines.append(
        f"View: {v['view']} (runner faces {v['direction']}), {v['setting']}, {v['gait']}; "
        f"{q['n_frames']} frames at {q['fps_real'] or 0:.1f} fps real time; runner found in "
        f"{100 * q['detection_rate']:.0f} % of frames; {q['steps_detected']} steps "
        f"({q.get('steps_rejected', 0)} rejected)")
    cam = rep.get("camera") or {}
    if cam.get("status") in ("measured", "given") and cam.get("roll_deg"):
        se = f" +/- {cam['se_deg']:.1f}" if cam.get("se_deg") is not None else ""
        lines.append(f"Camera roll: {cam['roll_deg']:+.1f}{se} deg ({cam['status']}); angles "
                     "corrected for it (--camera-roll 0 turns this off)")
    ppl = rep.get("people") or {}
    if ppl.get("persons"):
        n = ppl["n_people"]
        lines.append(f"People in view: {n}" + (
            f"; analysed person {ppl['chosen']} (see people.png; --person N picks another)"
            if n > 1 or len(ppl["persons"]) > 1 else ""))
    for w in rep["warnings"]:
        lines.append(st("! " + w, fg="yellow"))
    lines.append("")
    lines.append(st(f"{'Metric':<30} {'Value':>18} {'Spread':>9} {'Steps':>6}  Status", bold=True))
    for mid, label in LABELS.items():
        if mid == "cadence_spm" and v["gait"] == "walking":
            label = "Cadence (walking)"
        m = rep["metrics"].get(mid)
        if m is None:
            continue
        if mid == "vertical_oscillation_cm" and m["value"] is None:
            continue
        status = m["status"].replace("_", " ")
        if m["reason"].startswith("not assessed"):  # a warning doubts this number
            status = m["reason"]
        elif m["status"] != "measured":
            status += f": {m['reason']}"
        val = fmt_plain(m["value"], m["unit"])
        spread = "" if m["spread"] is None else f"{m['spread']:.1f}"
        row = f"{label:<30} {val:>18} {spread:>9} {m['n_steps']:>6}  "
        lines.append(row + textwrap.shorten(status, max(20, width - len(row)), placeholder="..."))
    lines.append("")
    lines.append(st("Findings", bold=True))
    assessed = [f for f in rep["findings"] if f["assessed"]]
    order = {"marked": 0, "mild": 1, "none": 2}
    for f in sorted(assessed, key=lambda f: order[f["severity"]]):
        tag, colour = SEV_STYLE[f["severity"]]
        conf = " (low confidence)" if f["confidence"] == "low" else ""
        lines.append(f"  {st(f'[{tag}]', fg=colour, bold=True)} {f['title']}: {f['comparison']}"
                     f"{conf}")
        if f["severity"] != "none":
            adv = f["advice"]
            for key, name in (("what", "Change"), ("cue", "Cue"), ("drill", "Drill")):
                if adv.get(key):
                    lines.extend(textwrap.wrap(f"{name}: {adv[key]}", width,
                                               initial_indent="      ",
                                               subsequent_indent="      "))
        elif f.get("note"):
            lines.extend(textwrap.wrap(f["note"], width, initial_indent="      ",
                                       subsequent_indent="      "))
    na = [f for f in rep["findings"] if not f["assessed"]]
    if na:
        lines.append("  Not assessed: " + "; ".join(f"{f['title']} ({f['reason']})" for f in na))
    s = rep.get("safety") or {}
    if s.get("disclaimer"):
        lines.append("")
        lines.extend(textwrap.wrap(s["disclaimer"], width))
    return "\n".join(lines)
