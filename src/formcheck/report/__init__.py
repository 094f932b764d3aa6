"""Reports: report.json (versioned, with a JSON Schema), metrics.json, steps.csv, landmarks,
report.html and the terminal summary, all built from one :class:`~formcheck.api.Analysis`."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from formcheck import __version__
from formcheck.hashing import sha256_of

SCHEMA_NAME = "formcheck.report"
#: 1.1: steps[].side_confident, quality.sides_reliable_share; 1.2: people, doubts;
#: 1.3: metrics[].noise (SE, MDC95, between-session floor) and noise_method; 1.4: scale (the
#: image scale at the runner), the speed metrics, setting "pan"; 1.5: steps[].ic_frame and
#: to_frame (the first video frame showing the foot down / off), camera (the camera's roll
#: the angles were corrected for, formcheck.level); 1.6: quality.leg_jump_share (the share of
#: the leg landmarks' samples that jump about, formcheck.signals.leg_jump_share)
SCHEMA_VERSION = "1.6"


def _clean(o: Any) -> Any:
    """Make numpy values JSON-serialisable and NaN -> None (deterministically)."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    if isinstance(o, (np.floating, float)):
        f = float(o)
        return None if not np.isfinite(f) else round(f, 4)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, np.str_):
        return str(o)
    if hasattr(o, "value") and hasattr(o, "name") and not isinstance(o, (str, int)):
        return o.value
    return o


def build_report(analysis: Any, video_info: dict[str, Any] | None = None,
                 timestamp: bool = True) -> dict[str, Any]:
    """The report.json document (see ``report.schema.json``)."""
    a = analysis
    pose, ev, met = a.pose, a.events, a.metrics
    findings = [f.to_dict() for f in a.findings]
    faults = [f for f in a.findings if getattr(f, "is_fault", False)]
    rep: dict[str, Any] = {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "formcheck_version": __version__,
        "source": {
            "file": Path(a.source).name if a.source else "",
            "sha256": sha256_of(a.source) if a.source else None,
            "video": video_info or {},
        },
        "options": {k: v for k, v in a.options.to_dict().items() if k != "model"},
        "view": a.view.to_dict(),
        "quality": {
            "n_frames": pose.n_frames,
            "detection_rate": pose.detection_rate,
            "fps_real": met.fps_real,
            "leg_swaps_repaired": a.clean.n_swaps_repaired,
            "outliers_rejected": a.clean.n_outliers,
            "leg_jump_share": getattr(a.clean, "leg_jump_share", float("nan")),
            "steps_detected": ev.n,
            "steps_rejected": ev.n_rejected,
            "side_label_agreement": ev.label_agreement,
            "sides_reliable_share": float(ev.side_confident.mean())
            if ev.side_confident.size else 0.0,
            "spectral_cadence_spm": 60.0 * ev.step_hz_spectral,
            "max_people_in_frame": (a.people.max_in_frame if getattr(a, "people", None)
                                    is not None else
                                    int(pose.n_people.max()) if pose.n_frames else 0),
        },
        "people": a.people.to_dict() if getattr(a, "people", None) is not None else None,
        "doubts": [d.to_dict() for d in getattr(met, "doubts", ())],
        "scale": met.scale.to_dict() if getattr(met, "scale", None) is not None else None,
        "camera": a.level.to_dict() if getattr(a, "level", None) is not None else None,
        "metrics": {k: v.to_dict() for k, v in met.summaries.items()},
        "findings": findings,
        "summary": {
            "faults": [{"id": f.id, "severity": f.severity.value} for f in faults],
            "n_assessed": sum(1 for f in a.findings if f.assessed),
        },
        "warnings": list(a.warnings),
        "safety": a.rules.safety.to_dict() if a.rules is not None else {},
        "steps": met.steps.rows(),
    }
    if timestamp:
        rep["created_utc"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return add_noise(_clean(rep))


def add_noise(rep: dict[str, Any]) -> dict[str, Any]:
    """Give every metric of a (cleaned) report its ``noise``: the standard error and MDC95
    that :func:`formcheck.change.mdc.metric_noise` computes from the report's own per-step
    table (so anyone can recompute them from report.json), and the metric's published
    between-session floor; ``None`` for a metric without a number.  Adds ``noise_method``.
    Changes ``rep`` in place and returns it."""
    from formcheck.change import mdc

    sec = mdc.report_section(rep)
    for k, m in (rep.get("metrics") or {}).items():
        m["noise"] = sec["metrics"].get(k)
    rep["noise_method"] = sec["method"]
    return rep


def schema() -> dict[str, Any]:
    """The JSON Schema of report.json."""
    text = resources.files("formcheck").joinpath("report.schema.json").read_text("utf-8")
    return json.loads(text)


_JSON_OPTS: dict[str, Any] = {"indent": 2, "sort_keys": False, "ensure_ascii": False,
                              "allow_nan": False}


def dumps(doc: dict[str, Any]) -> str:
    """The report as JSON text (what :func:`dump` writes)."""
    return json.dumps(doc, **_JSON_OPTS) + "\n"


def dump(doc: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write the report as JSON to ``path``, streamed (a long clip's report is never held
    as one string)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, **_JSON_OPTS)
        fh.write("\n")
