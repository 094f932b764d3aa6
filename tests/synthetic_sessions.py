"""Synthetic sessions for the change tests and bench/change_false_alarms.py: a synthetic
runner (tests/synthetic_gait.py) analysed by formcheck and written as a real report folder.

``drift_pct`` slows the runner's rhythm linearly over the clip: the generator's clock tau is
mapped to real time t with dt/dtau = 1 / (1 - drift * tau / D), so the cadence in real time
falls from the configured value to (1 - drift) x it at the end (the belt speed and every
duration scale with it: the runner slows down as a tiring runner does).  The frame times
become gently variable (the frame interval grows by drift_pct over the clip), which the
pipeline reads from the timestamps.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from synthetic_gait import GaitConfig, SyntheticClip, generate

from formcheck.api import Analysis, Options, analyze_pose
from formcheck.pose import PoseSeries

#: Noisy pose-model conditions (as test_metrics_synthetic.NOISY, without VFR jitter, which
#: the drift warp replaces): landmark noise, dropped frames and leg-label swaps.
NOISE = dict(noise_px=2.0, dropout_frac=0.05, swap_frac=0.05)


def to_pose(clip: SyntheticClip, t_s: np.ndarray | None = None) -> PoseSeries:
    """The clip as the PoseSeries the pose model would have produced (``t_s``: other frame
    times)."""
    T = clip.t_s.size
    return PoseSeries(
        t_s=clip.t_s if t_s is None else t_s, frame_index=np.arange(T), xy_px=clip.xy_px,
        z=clip.z, visibility=clip.visibility, presence=clip.presence, world_m=clip.world_m,
        n_people=np.ones(T, np.int16), width_px=clip.width_px, height_px=clip.height_px,
        nominal_fps=float(clip.config.fps), source="",
    )


def warp_times(tau: np.ndarray, drift: float) -> np.ndarray:
    """Real times of generator times ``tau`` for a linear cadence change of ``-drift``
    (a fraction) over the clip: t = -(D / d) ln(1 - d tau / D)."""
    if drift == 0:
        return tau.copy()
    D = float(tau[-1] - tau[0]) or 1.0
    x = tau - tau[0]
    return tau[0] - (D / drift) * np.log1p(-drift * x / D)


def analyse(drift_pct: float = 0.0, options: Options | None = None, **cfg: Any) -> Analysis:
    """Analyse a synthetic clip (GaitConfig ``cfg``) with an optional cadence drift."""
    clip = generate(GaitConfig(**cfg))
    t = warp_times(clip.t_s, drift_pct / 100.0)
    return analyze_pose(to_pose(clip, t), options or Options())


def report(drift_pct: float = 0.0, **cfg: Any) -> dict[str, Any]:
    """The report.json document of a synthetic clip (no folder written)."""
    from formcheck.report import build_report

    return build_report(analyse(drift_pct, **cfg), None, timestamp=False)


def write_folder(folder: Path, drift_pct: float = 0.0, created: str | None = None,
                 **cfg: Any) -> Path:
    """Analyse a synthetic clip and write its report folder (report.json, steps.csv,
    landmarks; no HTML or video) with formcheck.report.writer; returns ``folder``.
    ``created``: the report's created_utc (the recording date when no video is at hand)."""
    import json

    from formcheck.report.writer import OutputOptions, write_outputs

    a = analyse(drift_pct, **cfg)
    a = replace(a, source="")
    write_outputs(a, folder, None, OutputOptions(html=False, video=False))
    if created is not None:
        p = Path(folder) / "report.json"
        rep = json.loads(p.read_text(encoding="utf-8"))
        rep["created_utc"] = created
        p.write_text(json.dumps(rep, indent=2) + "\n", encoding="utf-8")
    return Path(folder)
