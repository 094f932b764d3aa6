"""FIT-style CSV: one row per step with the running-dynamics fields of the FIT profile's
``record`` message (the names and units Garmin and other watches write), so the video's
figures sit beside a watch's.

Columns: ``step``, ``foot`` (L/R), ``time_s`` (initial contact, s of clip real time; a FIT
``timestamp`` is a wall-clock time, which a video does not give), ``valid``,
``side_confident`` (formcheck's, as in steps.csv), then the FIT fields, each in the FIT
profile's unit:

========================  ======  ===================================================
FIT field                 unit    from formcheck (per step, report.json ``steps``)
========================  ======  ===================================================
cadence                   rpm     strides/min, the integer part: 60000 / (2 x
                                  ``step_time_ms``) (running watches count strides)
fractional_cadence        rpm     the remainder, in FIT's 1/128 steps
stance_time               ms      ``contact_time_ms``
stance_time_percent       %       ``duty_factor_pct`` (contact / stride time)
vertical_oscillation      mm      ``vertical_oscillation_pct_leg`` x leg length, the leg
                                  taken as 0.491 x height as for
                                  ``vertical_oscillation_cm``; empty without --height
========================  ======  ===================================================

``stance_time_balance``, ``step_length`` and ``vertical_ratio`` are not written: the first
is a running left/right share, not a per-step value, and the others need the running speed,
which a video does not give.  Empty cells: not measured for that step.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from formcheck.export.source import ExportSource

SUFFIX = "_fit.csv"
DESCRIPTION = "FIT-style CSV: per-step cadence, stance time, vertical oscillation (FIT names)"

COLUMNS = ("step", "foot", "time_s", "valid", "side_confident", "cadence",
           "fractional_cadence", "stance_time", "stance_time_percent", "vertical_oscillation")


def _f(row: dict, key: str) -> float | None:
    v = row.get(key)
    return None if v is None or v == "" or not math.isfinite(float(v)) else float(v)


def rows(src: ExportSource) -> list[dict[str, object]]:
    """The CSV rows (None = empty cell)."""
    from formcheck.metrics.stance import LEG_FRACTION_OF_HEIGHT

    height_cm = src.report.get("options", {}).get("height_cm")
    leg_mm = LEG_FRACTION_OF_HEIGHT * float(height_cm) * 10.0 if height_cm else None
    out = []
    for i, s in enumerate(src.report["steps"]):
        st = _f(s, "step_time_ms")
        # cadence + fractional_cadence in FIT's resolution (1/128 rpm)
        q = round(60000.0 / (2.0 * st) * 128) if st else None
        vo = _f(s, "vertical_oscillation_pct_leg")
        out.append({
            "step": s.get("step", i), "foot": s["foot"], "time_s": round(float(s["ic_t_s"]), 4),
            "valid": bool(s["valid"]), "side_confident": bool(s.get("side_confident")),
            "cadence": None if q is None else q // 128,
            "fractional_cadence": None if q is None else (q % 128) / 128,
            "stance_time": _f(s, "contact_time_ms"),
            "stance_time_percent": _f(s, "duty_factor_pct"),
            "vertical_oscillation": None if vo is None or leg_mm is None
            else round(vo / 100.0 * leg_mm, 1),
        })
    return out


def text(src: ExportSource) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows(src):
        w.writerow({k: "" if v is None else v for k, v in r.items()})
    return buf.getvalue()


def write(src: ExportSource, path: Path) -> None:
    path.write_text(text(src), encoding="utf-8")
