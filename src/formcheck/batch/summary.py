"""The batch summary: one row per recording (``summary.csv`` and the sortable
``summary.html``), its values read from each recording's report.json.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formcheck.batch.jobs import Job, Outcome

if TYPE_CHECKING:
    from formcheck.rules import RuleSet

#: into the summary, after ``cadence_spm``.
def key_metrics() -> tuple[str, ...]:
    """The metric registry's key metrics (imported on use: the CLI starts without numpy)."""
    from formcheck.metrics.registry import key_metrics as registered

    return registered()


def __getattr__(name: str) -> Any:
    if name == "KEY_METRICS":
        return key_metrics()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
#: Summary columns before the per-rule and per-metric ones (labels come first of all).
BASE_COLUMNS = ("path", "status", "attention", "reason", "action", "duration_s", "view",
                "setting", "gait", "people", "cadence_spm", "warnings")

#: Low-confidence reasons that every clip carries (the method's own limits, stated in each
#: report), so they do not single a recording out for attention: only other reasons (few
#: steps, hidden feet, an oblique view, a low frame rate ...) do.
STANDING_CAUTIONS = ("2D knee angles carry", "no published threshold", "No published threshold",
                     "always a low-confidence cue", "measure: read this as a cue")


def _clip_specific(reason: str) -> bool:
    """True when a finding's low-confidence reason has a part that is about this clip."""
    parts = [p.strip() for p in str(reason).split(";") if p.strip()]
    return any(not any(c in p for c in STANDING_CAUTIONS) for p in parts)


#: Findings that need a side (sagittal) view: in another view they are "wrong view".
_SIDE_VIEW_REASON = "needs a side view"


def attention_reasons(report: dict[str, Any]) -> list[str]:
    """Why a clinician should look at (or re-film) this recording, from its report.json:
    slowed down / sped up (time-based results withheld), not measurable (no finding could be
    assessed), several people in view, walking (running findings withheld), low confidence
    (a fault judged only at low confidence), wrong view (findings that need a side view, in a
    front/back/oblique clip).  Empty = nothing to check."""
    out: list[str] = []
    kinds = {d.get("kind"): d for d in report.get("doubts", [])}
    if "slowed_down" in kinds:
        r = str(kinds["slowed_down"].get("reason", ""))
        out.append("slowed down" + (f" ({r.split('about ')[1].split(';')[0]})"
                                    if "about " in r else ""))
    if "sped_up" in kinds:
        out.append("sped up")
    for k in kinds:
        if k not in ("slowed_down", "sped_up"):
            out.append(str(k).replace("_", " "))
    findings = report.get("findings", [])
    if findings and not any(f.get("assessed") for f in findings):
        gait = report.get("view", {}).get("gait")
        out.append("walking: running form not assessed" if gait == "walking"
                   else "not measurable: no finding could be assessed")
    ppl = report.get("people") or {}
    if (ppl.get("n_people") or 0) > 1:
        out.append(f"{ppl['n_people']} people in view (person {ppl.get('chosen')} analysed)")
    low = [f["id"] for f in findings if f.get("assessed") and f.get("confidence") == "low"
           and f.get("severity") in ("mild", "marked") and _clip_specific(f.get("reason", ""))]
    if low:
        out.append("low confidence: " + ", ".join(low))
    wrong = [f["id"] for f in findings if not f.get("assessed")
             and _SIDE_VIEW_REASON in str(f.get("reason", ""))]
    if wrong and any(f.get("assessed") for f in findings):
        out.append(f"wrong view for {len(wrong)} finding{'s' if len(wrong) > 1 else ''} "
                   "(film from the side)")
    return out


def summary_fields(report: dict[str, Any]) -> dict[str, Any]:
    """Summary values of one report.json document.

    ``duration_s`` is the clip's duration (real time, s); ``view``/``setting``/``gait`` as
    classified (or overridden); each metric column is the report's per-clip value (the median
    over steps; shares in %); each rule column is the finding's severity (``none``, ``mild``,
    ``marked``) or ``n/a`` when the rule could not assess the clip."""
    ppl = report.get("people") or {}
    out: dict[str, Any] = {
        "duration_s": report.get("source", {}).get("video", {}).get("duration_s"),
        "view": report.get("view", {}).get("view"),
        "setting": report.get("view", {}).get("setting"),
        "gait": report.get("view", {}).get("gait"),
        "people": ppl.get("n_people"),
        "attention": "; ".join(attention_reasons(report)),
        "warnings": " | ".join(report.get("warnings", [])),
    }
    metrics = report.get("metrics", {})
    for mid in ("cadence_spm", *key_metrics()):
        out[mid] = (metrics.get(mid) or {}).get("value")
    for f in report.get("findings", []):
        out["rule:" + f["id"]] = f["severity"] if f.get("assessed") else "n/a"
    return out


def summary_rows(job_list: list[Job], outcomes: dict[int, Outcome], label_cols: list[str],
                  rule_ids: list[str], html: bool) -> tuple[list[str], list[dict[str, Any]]]:
    """Summary columns and one row per recording, in input order."""
    fixed = set(BASE_COLUMNS) | set(key_metrics()) | set(rule_ids) | {"report"}
    shown_labels = [(c, f"label_{c}" if c in fixed else c) for c in label_cols]
    columns = ([s for _, s in shown_labels] + list(BASE_COLUMNS) + rule_ids
               + list(key_metrics()) + ["report"])
    rows: list[dict[str, Any]] = []
    for j in job_list:
        o = outcomes.get(j.index) or Outcome(index=j.index, status="failed", action="none",
                                             reason="not run")
        row: dict[str, Any] = {s: j.labels.get(c, "") for c, s in shown_labels}
        row.update({"path": j.display, "status": o.status, "reason": o.reason,
                    "action": o.action})
        for c in ("duration_s", "view", "setting", "gait", "people", "cadence_spm",
                  "warnings", *key_metrics()):
            row[c] = o.fields.get(c)
        row["attention"] = ("failed: " + (o.reason or "see reason")) if o.status == "failed" \
            else (o.fields.get("attention") or "")
        for rid in rule_ids:
            row[rid] = o.fields.get("rule:" + rid)
        if o.status == "ok":
            name = "report.html" if html and (Path(j.outdir) / "report.html").is_file() \
                else "report.json"
            row["report"] = f"{j.rel_out}/{name}"
        else:
            row["report"] = None
        rows.append(row)
    return columns, rows


def summary_csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """summary.csv: one header row, one row per recording; empty cell = no value."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return buf.getvalue()


def summary_html_text(columns: list[str], rows: list[dict[str, Any]],
                      ruleset: RuleSet | None, histories: Any = ()) -> str:
    """summary.html: one self-contained page (inline CSS and JS), a sortable table whose
    path cells link to each recording's report (relative links), and links to the runner
    history pages (``histories``: {runner, href, n_sessions} each)."""
    import jinja2

    from formcheck import __version__

    env = jinja2.Environment(loader=jinja2.PackageLoader("formcheck", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    from formcheck.results import LABELS

    numeric = {"duration_s", "cadence_spm", "people", *key_metrics()}
    titles = {r.id: r.title for r in getattr(ruleset, "rules", ())}
    heads = {c: LABELS.get(c) or titles.get(c) or c.replace("_", " ") for c in columns}
    heads.update({"duration_s": "duration (s)", "cadence_spm": "cadence (steps/min)",
                  "attention": "needs attention"})
    return env.get_template("summary.html.j2").render(
        columns=columns, rows=rows, numeric=numeric, version=__version__, heads=heads,
        # in the page, a failure's reason is in "needs attention"; the action is in the CSV
        hidden={"report", "reason", "action"}, wide={"path", "attention", "warnings"},
        n_attention=sum(bool(r.get("attention")) for r in rows),
        n_ok=sum(r["status"] == "ok" for r in rows),
        n_failed=sum(r["status"] == "failed" for r in rows),
        n_unchanged=sum(r["action"] == "unchanged" for r in rows),
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        disclaimer=getattr(getattr(ruleset, "safety", None), "disclaimer", ""),
        histories=list(histories),
    )
