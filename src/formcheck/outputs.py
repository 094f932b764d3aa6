"""Atomic output folders: results are written to a hidden temporary folder beside the target
(``.<name>.part-<random>``) and renamed into place only when complete, so an interrupted or
failed run leaves no half-written report.  An existing, non-empty output folder is never
overwritten without ``force``.

Guarantees (tested in ``tests/test_robustness.py``):

* any exception in the ``with`` body, Ctrl-C (KeyboardInterrupt) or SIGTERM (the CLI turns it
  into a KeyboardInterrupt) removes the temporary folder, and the target is left as it was;
* the clean-up and the final rename are shielded from a second Ctrl-C/SIGTERM, which is
  delivered right after them;
* a full or read-only disk, or a folder without write permission, raises
  :class:`~formcheck.errors.OutputWriteError` (exit 11), not a traceback.

Only SIGKILL or a power cut can leave a ``.<name>.part-*`` folder behind; it is hidden, never
mistaken for results, and safe to delete.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from formcheck.errors import OutputExistsError, OutputWriteError

#: OSError numbers that mean "this output cannot be written here".
_WRITE_ERRNOS = frozenset(
    e for e in (getattr(errno, n, None) for n in
                ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EFBIG", "ENAMETOOLONG"))
    if e is not None
)


def _write_error(exc: OSError, path: Path) -> OutputWriteError:
    why = exc.strerror or type(exc).__name__
    return OutputWriteError(f"cannot write the output ({why}); choose another folder with -o "
                            "or free some disk space", path)


def check_free(outdir: Path, force: bool) -> None:
    """Raise :class:`OutputExistsError` unless ``outdir`` is absent, an empty folder, or
    ``force`` is set."""
    outdir = Path(outdir)
    try:
        if outdir.exists() and not outdir.is_dir():
            raise OutputExistsError("output path exists and is not a folder; choose another "
                                    "path with -o", outdir)
        if outdir.is_dir() and any(outdir.iterdir()) and not force:
            raise OutputExistsError("output folder is not empty; pass --force to replace it "
                                    "or choose another folder with -o", outdir)
    except OSError as exc:
        raise _write_error(exc, outdir) from exc


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back SIGINT/SIGTERM during a short critical section (clean-up, renames) and
    deliver them right after it.  Outside the main thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def hold(signum: int, frame: object) -> None:
        got.append(signum)

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, hold)
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if got:
            signal.raise_signal(got[0])


def _remove(path: Path) -> None:
    with signals_deferred():
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def staged_dir(outdir: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``outdir`` atomically.

    Raises:
        OutputExistsError: ``outdir`` holds files (checked before and again at the rename)
            and ``force`` is not set.
        OutputWriteError: the folder cannot be created or written.
    """
    out = Path(outdir)
    check_free(out, force)
    tmp = out.parent / f".{out.name}.part-{uuid.uuid4().hex[:8]}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
    except OSError as exc:
        raise _write_error(exc, out) from exc
    try:
        yield tmp
    except OSError as exc:
        _remove(tmp)
        if exc.errno in _WRITE_ERRNOS:
            raise _write_error(exc, out) from exc
        raise
    except BaseException:
        _remove(tmp)
        raise
    with signals_deferred():
        try:
            check_free(out, force)  # someone may have written there meanwhile
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = None
        try:
            if out.exists():
                old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
                os.replace(out, old)
            os.replace(tmp, out)
        except OSError as exc:
            if old is not None and not out.exists():
                os.replace(old, out)  # put the previous results back
                old = None
            shutil.rmtree(tmp, ignore_errors=True)
            raise _write_error(exc, out) from exc
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write a file via a temporary name and rename."""
    p = Path(path)
    tmp = p.parent / f".{p.name}.part-{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(exc, p) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
