"""MOT export (OpenSim motion / storage file, version 1): the per-frame angles formcheck
defines (:mod:`.angles`), in degrees.

Header (OpenSim's ``STOFileAdapter`` layout)::

    <trial name>
    version=1
    nRows=N
    nColumns=M        (time included)
    inDegrees=yes
    endheader
    time  trunk_lean_deg  knee_flexion_l_deg ...

then one tab-separated row per frame of the analysed grid, ``time`` in s of clip real time.
Missing values are written ``NaN``.  The columns are formcheck's 2D angles, not the
coordinates of an OpenSim model (sign conventions and definitions differ: see
docs/export.md); they load as a table, not as a model's motion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from formcheck.export.source import ExportSource

SUFFIX = "_angles.mot"
DESCRIPTION = "MOT (OpenSim storage): per-frame knee, shank, foot and trunk angles (deg)"


def _num(x: float) -> str:
    return f"{x:.4f}" if np.isfinite(x) else "NaN"


def text(src: ExportSource) -> str:
    """The MOT file's text."""
    from formcheck.export import angles

    cols = angles.series_deg(src.xy_px, src.sign, src.sagittal)
    names = list(cols)
    lines = [src.name, "version=1", f"nRows={src.n}", f"nColumns={len(names) + 1}",
             "inDegrees=yes", "endheader", "time\t" + "\t".join(names)]
    data = np.column_stack([cols[c] for c in names]) if src.n else np.zeros((0, len(names)))
    for i in range(src.n):
        lines.append(f"{src.t_s[i]:.6f}\t" + "\t".join(_num(v) for v in data[i]))
    return "\n".join(lines) + "\n"


def write(src: ExportSource, path: Path) -> None:
    path.write_text(text(src), encoding="utf-8")
