"""Names the command line needs before any export code is imported."""

from __future__ import annotations

#: Names of the formats, in registry order (equal to ``tuple(registry.FORMATS)``; tested).
FORMAT_NAMES: tuple[str, ...] = ("c3d", "trc", "mot", "fit-csv")
#: Sub-folder of the report folder written when no output folder is given.
DEFAULT_SUBDIR = "export"
