"""C3D export (written with ezc3d): the analysed 2D landmarks as points, the gait events as
``Foot Strike`` / ``Foot Off`` events.

* POINT: the 33 BlazePose landmarks (labels = :data:`formcheck.landmarks.NAMES`, leg labels
  as the report's sides), one frame per sample of the analysed uniform grid, ``POINT:RATE`` =
  its real-time rate; axes and unit as :mod:`.source` (``POINT:UNITS`` "m" or "px", stated
  also in ``POINT:DESCRIPTIONS`` and ``FORMCHECK:AXES``).  Missing samples are invalid
  points (residual -1; NaN when read back).
* EVENT: one ``Foot Strike`` per step at its initial contact and one ``Foot Off`` at its
  toe-off (when found), context ``Left``/``Right`` from the step's side; times in s from the
  first frame (frame 1 = 0 s; ``FORMCHECK:TIME_OFFSET_S`` is the clip time of frame 1).
  ``EVENT:DESCRIPTIONS`` say the step number and whether it is a valid step / has a confident side.
* FORMCHECK group: ``TIME_OFFSET_S`` (clip real time of frame 1; event time + offset = the
  times in report.json), ``AXES``, ``SCALE_M_PER_PX`` (0 when in pixels), ``VIEW``,
  ``SOURCE`` and the formcheck version.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from formcheck.export.source import ExportSource

SUFFIX = ".c3d"
DESCRIPTION = "C3D: landmarks as points, Foot Strike / Foot Off events (ezc3d)"

#: C3D context of each formcheck side.
CONTEXT = {"L": "Left", "R": "Right"}


def _event_time(t_s: float) -> list[float]:
    """C3D stores an event time as (minutes, seconds)."""
    m = float(np.floor(t_s / 60.0))
    return [m, float(t_s - 60.0 * m)]


def write(src: ExportSource, path: Path) -> None:
    import ezc3d

    c = ezc3d.c3d()
    n, k = src.n, len(src.names)
    c["parameters"]["POINT"]["RATE"]["value"] = [float(src.fps)]
    c["parameters"]["POINT"]["LABELS"]["value"] = tuple(src.names)
    pts = np.ones((4, k, n))
    pts[:3] = np.transpose(src.points, (2, 1, 0))
    c["data"]["points"] = pts
    ok = np.isfinite(src.points).all(axis=-1).T  # [33, N]
    c["data"]["meta_points"]["residuals"] = np.where(ok, 0.0, -1.0)[None]
    c.add_parameter("POINT", "UNITS", src.unit)
    c.add_parameter("POINT", "DESCRIPTIONS",
                    tuple(f"BlazePose {nm} (2D, {src.unit})" for nm in src.names))
    t0 = float(src.t_s[0]) if n else 0.0
    for i, s in enumerate(src.steps):
        ctx = CONTEXT.get(s.foot, "General")
        desc = (f"formcheck step {i}; {'valid' if s.valid else 'not valid'}; side "
                f"{'confident' if s.side_confident else 'uncertain'}")
        c.add_event(_event_time(s.ic_t_s - t0), context=ctx, label="Foot Strike",
                    description=desc, icon_id=1)
        if np.isfinite(s.to_t_s):
            c.add_event(_event_time(s.to_t_s - t0), context=ctx, label="Foot Off",
                        description=desc, icon_id=2)
    c.add_parameter("FORMCHECK", "TIME_OFFSET_S", t0, "clip real time (s) of frame 1")
    c.add_parameter("FORMCHECK", "AXES", src.axes)
    c.add_parameter("FORMCHECK", "SCALE_M_PER_PX", float(src.m_per_px or 0.0),
                    "metres per pixel (0: points are in pixels)")
    c.add_parameter("FORMCHECK", "VIEW", src.view)
    c.add_parameter("FORMCHECK", "SOURCE", src.name)
    c.add_parameter("FORMCHECK", "VERSION", str(src.report.get("formcheck_version", "")))
    c.write(str(path))
