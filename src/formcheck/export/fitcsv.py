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
vertical_oscillation      mm      ``vertical_oscillation_pct_leg`` x leg length (report.json
                                  ``view.leg_length_px``) / the image scale (report.json
                                  ``scale``), as for ``vertical_oscillation_cm``; empty
                                  without a scale (``--height`` or ``--scale``)
speed                     m/s     ``speed_mps`` (FIT stores it in mm/s, scale 1000)
enhanced_speed            m/s     the same (FIT's 32-bit field for speeds over 65 m/s)
step_length               mm      ``step_length_m`` x 1000 (FIT's step: one footfall to
                                  the next)
vertical_ratio            %       ``vertical_ratio_pct`` (vertical oscillation / step
                                  length x 100)
========================  ======  ===================================================

``stance_time_balance`` is not written: it is a running left/right share, not a per-step
value (formcheck's is report.json's ``contact_time_asymmetry_pct``).  Speed and step length
are empty when formcheck gives no speed (no scale, a panning camera, a treadmill setting only
guessed, a clip that looks slowed down: see docs/metrics.md), vertical ratio when there is
no speed.  Empty cells: not measured for that step.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from formcheck.export.source import ExportSource

SUFFIX = "_fit.csv"
DESCRIPTION = ("FIT-style CSV: per-step cadence, stance time, vertical oscillation, speed, "
               "step length, vertical ratio (FIT names)")

COLUMNS = ("step", "foot", "time_s", "valid", "side_confident", "cadence",
           "fractional_cadence", "stance_time", "stance_time_percent", "vertical_oscillation",
           "speed", "enhanced_speed", "step_length", "vertical_ratio")


def _f(row: dict, key: str) -> float | None:
    v = row.get(key)
    return None if v is None or v == "" or not math.isfinite(float(v)) else float(v)


def _withheld(report: dict) -> set[str]:
    """Metric ids the report gives no number for (not measurable, or not assessed): their
    per-step values are not exported either."""
    return {k for k, m in report.get("metrics", {}).items() if m.get("value") is None}


def _kept(row: dict, key: str, withheld: set[str], nd: int) -> float | None:
    v = _f(row, key)
    return None if v is None or key in withheld else round(v, nd)


def rows(src: ExportSource) -> list[dict[str, object]]:
    """The CSV rows (None = empty cell)."""
    leg_px = src.report.get("view", {}).get("leg_length_px")
    leg_mm = None if src.m_per_px is None or not leg_px \
        else float(leg_px) * src.m_per_px * 1000.0
    withheld = _withheld(src.report)
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
            or "vertical_oscillation_cm" in withheld else round(vo / 100.0 * leg_mm, 1),
            "speed": _kept(s, "speed_mps", withheld, 3),
            "enhanced_speed": _kept(s, "speed_mps", withheld, 3),
            "step_length": None if (sl := _kept(s, "step_length_m", withheld, 4)) is None
            else round(sl * 1000.0),
            "vertical_ratio": _kept(s, "vertical_ratio_pct", withheld, 2),
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
