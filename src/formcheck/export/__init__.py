"""Exports of a report folder to formats other tools read: C3D, TRC and MOT (OpenSim), and a
FIT-style CSV (docs/export.md).  The registry and writers live in :mod:`.registry`; this
package resolves its public names lazily (PEP 562) so that the command line, which defines
``formcheck export`` from :data:`FORMAT_NAMES`, starts without importing numpy or the format
libraries.

Usage::

    from formcheck.export import export_folder
    export_folder("runs/sample", ["c3d", "mot"])          # -> runs/sample/export/
"""

from __future__ import annotations

from typing import Any

from formcheck.export.names import DEFAULT_SUBDIR, FORMAT_NAMES

__all__ = ["FORMATS", "FORMAT_NAMES", "DEFAULT_SUBDIR", "ExportSource", "ReportFolderError",
           "export_folder", "file_name", "formats_from", "from_analysis", "load", "write_all"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from formcheck.export import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'formcheck.export' has no attribute {name!r}")
