"""The export formats' registry and the functions that write them (re-exported by
:mod:`formcheck.export`).

Exports of a report folder to formats other tools read: C3D, TRC and MOT (OpenSim), and a
FIT-style CSV.  One module per format, each with ``SUFFIX``, ``DESCRIPTION`` and
``write(source, path)``; :data:`FORMATS` is the registry the command and ``analyze
--export`` use.  What each format holds, its axes and units: docs/export.md.

Usage::

    from formcheck.export import export_folder
    export_folder("runs/sample", ["c3d", "mot"])          # -> runs/sample/export/
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from formcheck.export import c3d, fitcsv, mot, trc
from formcheck.export.names import DEFAULT_SUBDIR
from formcheck.export.source import ExportSource, ReportFolderError, from_analysis, load

#: Format name (as given to ``--format``) -> its module.
FORMATS: dict[str, ModuleType] = {"c3d": c3d, "trc": trc, "mot": mot, "fit-csv": fitcsv}
__all__ = ["FORMATS", "DEFAULT_SUBDIR", "ExportSource", "ReportFolderError", "export_folder",
           "file_name", "formats_from", "from_analysis", "load", "write_all"]


def formats_from(names: Iterable[str]) -> list[str]:
    """The formats to write, in registry order, from names given ('all' = every one)."""
    asked = {n.strip().lower() for n in names}
    if not asked or "all" in asked:
        return list(FORMATS)
    unknown = sorted(asked - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown export format(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(FORMATS)} or all")
    return [f for f in FORMATS if f in asked]


def file_name(src: ExportSource, fmt: str) -> str:
    """Output file name of format ``fmt`` (trial name + the format's suffix)."""
    return src.name + FORMATS[fmt].SUFFIX


def write_all(src: ExportSource, formats: Iterable[str], outdir: str | os.PathLike[str],
              force: bool = False) -> list[Path]:
    """Write ``formats`` of ``src`` into ``outdir`` atomically (the whole folder appears at
    once, :func:`formcheck.outputs.staged_dir`); returns the final paths.

    Raises OutputExistsError (``outdir`` not empty, no ``force``) or OutputWriteError."""
    from formcheck.outputs import staged_dir

    fmts = formats_from(formats)
    out = Path(outdir)
    with staged_dir(out, force=force) as tmp:
        for f in fmts:
            FORMATS[f].write(src, tmp / file_name(src, f))
    return [out / file_name(src, f) for f in fmts]


def export_folder(report_dir: str | os.PathLike[str], formats: Iterable[str] = ("all",),
                  outdir: str | os.PathLike[str] | None = None,
                  force: bool = False) -> list[Path]:
    """Read a report folder (:func:`.source.load`) and write ``formats`` into ``outdir``
    (default ``REPORT_DIR/export``); returns the paths written."""
    fmts = formats_from(formats)  # fail on a bad name before any work
    src = load(report_dir)
    return write_all(src, fmts, Path(outdir) if outdir else Path(report_dir) / DEFAULT_SUBDIR,
                     force=force)
