"""Atomic output folders: results are written to a hidden temporary folder beside the target
and renamed into place only when complete, so an interrupted run leaves no half reports.
An existing, non-empty output folder is never overwritten without ``force``."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from formcheck.errors import OutputExistsError


def check_free(outdir: Path, force: bool) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise OutputExistsError("output path exists and is not a folder", outdir)
    if outdir.is_dir() and any(outdir.iterdir()) and not force:
        raise OutputExistsError("output folder is not empty; pass --force to replace it", outdir)


@contextmanager
def staged_dir(outdir: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``outdir`` atomically."""
    out = Path(outdir)
    check_free(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.part-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write a file via a temporary name and rename."""
    p = Path(path)
    tmp = p.parent / f".{p.name}.part-{uuid.uuid4().hex[:8]}"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
