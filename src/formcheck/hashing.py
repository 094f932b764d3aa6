"""Content hashes of input files (report provenance, batch's unchanged-input check)."""

from __future__ import annotations

import os
from hashlib import sha256


def sha256_of(path: str | os.PathLike[str]) -> str | None:
    """SHA-256 (hex) of a regular file's content, or None when it is not a file or cannot be
    read.  Read in 1 MiB chunks, so memory stays flat with file size."""
    h = sha256()
    try:
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()
