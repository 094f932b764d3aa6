"""TRC export (OpenSim / Motion Analysis marker file): the analysed 2D landmarks.

Tab-separated, OpenSim's layout (``PathFileType 4 (X/Y/Z)``): a header naming DataRate,
CameraRate, NumFrames, NumMarkers, Units, OrigDataRate, OrigDataStartFrame, OrigNumFrames,
then the marker names (each over its X/Y/Z columns), the ``X1 Y1 Z1 ...`` row, a blank line
and one row per frame: ``Frame#`` (from 1), ``Time`` (clip real time, s) and X, Y, Z of each
marker.  Markers are the 33 BlazePose landmarks (leg labels as the report's sides); axes and
Units ("m" or "px") as :mod:`.source`; Z = 0.  Missing samples are written ``NaN`` (OpenSim
reads them so; it rejects a row whose trailing fields are empty).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from formcheck.export.source import ExportSource

SUFFIX = ".trc"
DESCRIPTION = "TRC (OpenSim markers): landmarks"


def _num(x: float) -> str:
    return f"{x:.6f}" if np.isfinite(x) else "NaN"


def text(src: ExportSource, filename: str) -> str:
    """The TRC file's text."""
    k = len(src.names)
    rate = f"{src.fps:.6f}"
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{filename}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\t"
        "OrigDataStartFrame\tOrigNumFrames",
        f"{rate}\t{rate}\t{src.n}\t{k}\t{src.unit}\t{rate}\t1\t{src.n}",
        "Frame#\tTime\t" + "\t".join(f"{nm}\t\t" for nm in src.names).rstrip("\t"),
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, k + 1)),
        "",
    ]
    flat = src.points.reshape(src.n, 3 * k)
    for i in range(src.n):
        lines.append(f"{i + 1}\t{src.t_s[i]:.6f}\t" + "\t".join(_num(v) for v in flat[i]))
    return "\n".join(lines) + "\n"


def write(src: ExportSource, path: Path) -> None:
    path.write_text(text(src, path.name), encoding="utf-8")
