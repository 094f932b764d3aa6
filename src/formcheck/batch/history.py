"""Runner history after a batch: ``history/<runner>.html`` for every runner (manifest column
``runner``) with at least one analysed session.

Each page is self-contained (inline CSS and SVG, no JavaScript, no network) and lists the
runner's sessions in recording order (the manifest's ``date`` when given, else the recording
date :func:`formcheck.change.compare.recording_date` finds), each linking to its report
folder; the key metrics over time (change.toml ``[drift] metrics``: one small plot each, every
session's value with its 95 % interval, t(df) x SE from :mod:`formcheck.change.mdc`); and the
verdicts between consecutive sessions, from :func:`formcheck.change.compare.compare_sessions`
("changed" only beyond both clips' noise and the between-session floor), with its fairness
warnings.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from markupsafe import Markup

from formcheck.batch.jobs import Job, Outcome
from formcheck.batch.plan import DATE_COLUMN, RUNNER_COLUMN, label_value
from formcheck.change import compare as cmp_mod
from formcheck.change import mdc
from formcheck.change.html import VERDICT_STYLE
from formcheck.errors import FormcheckError
from formcheck.outputs import write_text_atomic
from formcheck.report.charts import Line, Marks, svg_plot
from formcheck.report.style import HEX, fmt_num, fmt_value, label_of

#: Folder of the history pages, inside the batch's output folder.
HISTORY_DIR = "history"


def page_names(runners: list[str]) -> dict[str, str]:
    """File name of each runner's page: the name made safe for every file system
    (``history/Ann Lee.html`` -> ``Ann_Lee.html``), numbered when two would clash (also by
    case alone)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for r in runners:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", r).strip("._") or "runner"
        name, i = base, 1
        while name.lower() in used:
            i += 1
            name = f"{base}_{i}"
        used.add(name.lower())
        out[r] = f"{name}.html"
    return out


def runner_jobs(job_list: list[Job], outcomes: dict[int, Outcome]) -> dict[str, list[Job]]:
    """Analysed recordings (status ok) by runner, in input order; recordings without a
    runner are left out."""
    out: dict[str, list[Job]] = {}
    for j in job_list:
        o = outcomes.get(j.index)
        r = label_value(j.labels, RUNNER_COLUMN)
        if r and o is not None and o.status == "ok":
            out.setdefault(r, []).append(j)
    return out


def load_sessions(jobs: list[Job]) -> tuple[list[cmp_mod.Session], dict[str, str], list[str]]:
    """(sessions in recording order, report link of each by session name, notes) of one
    runner's recordings.  A session's date is the manifest's ``date`` when given (checked
    when the manifest was read).  A report folder that cannot be read is left out, said
    in the notes."""
    sessions, links, notes = [], {}, []
    for j in jobs:
        d = label_value(j.labels, DATE_COLUMN)
        try:
            s = cmp_mod.load_session(j.outdir, cmp_mod.parse_date(d) if d else None)
        except (FormcheckError, ValueError) as exc:
            notes.append(f"{j.display} left out: {str(exc).splitlines()[0]}")
            continue
        if d:
            s = replace(s, date_source="the manifest's date")
        s = replace(s, name=j.display)
        sessions.append(s)
        page = "report.html" if (Path(j.outdir) / "report.html").is_file() else "report.json"
        links[s.name] = "../" + quote(f"{j.rel_out}/{page}")
    return cmp_mod.order_sessions(sessions), links, notes


def _days(sessions: list[cmp_mod.Session]) -> tuple[np.ndarray, str]:
    """x of each session: days since the first one, or its number when a date is unknown."""
    if all(s.date is not None for s in sessions):
        d0: datetime = sessions[0].date  # type: ignore[assignment]
        return (np.array([(s.date - d0).total_seconds() / 86400 for s in sessions
                          if s.date is not None]),
                f"days since {d0.strftime('%Y-%m-%d')}")
    return np.arange(1, len(sessions) + 1, dtype=float), "session"


def metric_plot(metric_id: str, sessions: list[cmp_mod.Session]) -> Markup | None:
    """One metric over the sessions: each value with its 95 % interval (t(df) x SE, the
    clip's own noise); None when no session has a number for it."""
    x, xlabel = _days(sessions)
    vals = np.array([s.value(metric_id) if s.value(metric_id) is not None else np.nan
                     for s in sessions], float)
    if not np.isfinite(vals).any():
        return None
    unit = cmp_mod._unit(sessions, metric_id)
    half = []
    for s in sessions:
        n = s.noise.get(metric_id)
        half.append(mdc.t95(n.df) * n.se if n is not None and n.se is not None else np.nan)
    h = np.array(half, float)
    bars_x = np.repeat(x, 3)
    bars_y = np.column_stack([vals - h, vals + h, np.full(x.size, np.nan)]).ravel()
    bars_x[2::3] = np.nan
    titles = [f"{s.name} ({s.date.strftime('%Y-%m-%d') if s.date else 'date unknown'}): "
              f"{fmt_value(v, unit) if math.isfinite(v) else 'not measured'}"
              + (f" \u00b1 {fmt_value(e, unit)} (95 %)" if math.isfinite(e) else "")
              for s, v, e in zip(sessions, vals, h, strict=True)]
    span = float(x.max() - x.min())
    pad = max(0.5, 0.06 * span)
    return svg_plot(
        title=f"{label_of(metric_id)} over time", xlim=(float(x.min()) - pad,
                                                      float(x.max()) + pad),
        xlabel=xlabel, ylabel=unit, height=170, xmlns=False,
        lines=[Line(bars_x, bars_y, "95 % interval of the clip value", HEX["grey"],
                    width=1.4),
               Line(x, vals, "", HEX["blue"], width=1.6)],
        marks=[Marks(x, vals, "session", "circle", HEX["blue"], "session", titles)])


def pair_rows(c: cmp_mod.Comparison) -> list[dict[str, Any]]:
    """Rows of a two-session comparison: metric, before, after, change, smallest real change
    and verdict (metrics neither session measured are left out)."""
    a, b = c.sessions
    rows = []
    for k in c.metrics:
        unit = cmp_mod._unit(c.sessions, k)
        if a.value(k) is None and b.value(k) is None:
            continue
        x = c.changes[0][k]
        text, sym, _ = VERDICT_STYLE[x.verdict]
        rows.append({"id": k, "label": label_of(k), "unit": unit,
                     "before": cmp_mod.fmt(x.before, unit), "after": cmp_mod.fmt(x.after, unit),
                     "change": "" if x.change is None else
                     f"{x.change:+.{0 if unit == 'ms' else 1}f}",
                     "threshold": "" if x.threshold is None else cmp_mod.fmt(x.threshold, unit),
                     "by": ("between-session floor" if x.floor_applied else "the clips' noise")
                     if x.threshold is not None else "",
                     "verdict": x.verdict, "text": text, "sym": sym,
                     "reason": x.reason, "caution": x.caution})
    return rows


def render_history(runner: str, sessions: list[cmp_mod.Session], links: dict[str, str],
                   notes: list[str]) -> str:
    """One runner's history page (module docstring) as a string."""
    import jinja2

    from formcheck import __version__

    ids = [k for k in mdc.config()["drift"]["metrics"]
           if any(s.value(k) is not None for s in sessions)]
    plots = [{"id": k, "label": label_of(k), "svg": metric_plot(k, sessions)} for k in ids]
    pairs = []
    for a, b in zip(sessions, sessions[1:], strict=False):
        c = cmp_mod.compare_sessions([a, b])
        pairs.append({"from": a.name, "to": b.name, "rows": pair_rows(c),
                      "warnings": list(c.warnings[0]), "notes": list(c.notes),
                      "n_changed": sum(x.verdict == cmp_mod.CHANGED
                                       for x in c.changes[0].values())})
    rows = [{"name": s.name, "href": links.get(s.name, ""),
             "date": "unknown" if s.date is None else s.date.strftime(
                 "%Y-%m-%d" if (s.date.hour, s.date.minute) == (0, 0) else "%Y-%m-%d %H:%M"),
             "date_source": s.date_source,
             "view": f"{(s.rep.get('view') or {}).get('view', '?')}, "
                     f"{(s.rep.get('view') or {}).get('setting', '?')}",
             "fps": fmt_num((s.rep.get("quality") or {}).get("fps_real"), 0),
             "steps": (s.rep.get("quality") or {}).get("steps_detected", 0)}
            for s in sessions]
    env = jinja2.Environment(loader=jinja2.PackageLoader("formcheck", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template("history.html.j2").render(
        runner=runner, sessions=rows, plots=plots, pairs=pairs, notes=notes,
        no_change=cmp_mod.NO_CHANGE, version=__version__,
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


def write_histories(job_list: list[Job], outcomes: dict[int, Outcome], out_p: Path
                    ) -> list[dict[str, Any]]:
    """Write ``history/<runner>.html`` for each runner with an analysed session; returns
    [{runner, href (relative to OUTDIR), n_sessions}] for the summary page.  Pages of
    runners no longer in the input are removed (the folder is formcheck's own)."""
    groups = runner_jobs(job_list, outcomes)
    folder = out_p / HISTORY_DIR
    names = page_names(list(groups))
    written: list[dict[str, Any]] = []
    for runner, jobs in groups.items():
        sessions, links, notes = load_sessions(jobs)
        if not sessions:
            continue
        folder.mkdir(exist_ok=True)
        write_text_atomic(folder / names[runner],
                          render_history(runner, sessions, links, notes))
        written.append({"runner": runner, "href": f"{HISTORY_DIR}/{quote(names[runner])}",
                        "n_sessions": len(sessions)})
    keep = {names[w["runner"]] for w in written}
    if folder.is_dir():
        for p in folder.glob("*.html"):
            if p.name not in keep:
                with contextlib.suppress(OSError):
                    p.unlink()
    return written
