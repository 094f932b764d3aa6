"""The batch task: analyse one recording into its output folder (run in a local worker
process or on a Dask worker), or keep an earlier result that still matches its input.

A small stamp, ``.formcheck-done.json``, is written last into each finished folder: the
input's content hash (SHA-256), the settings, the files written and the time taken.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from formcheck.batch.jobs import STAMP_NAME, Job, Outcome
from formcheck.batch.summary import summary_fields
from formcheck.errors import FormcheckError
from formcheck.hashing import sha256_of

#: Set in a local worker process when it was told to stop (SIGTERM, see
#: :func:`mark_stopping`).
_STOPPING = False


def mark_stopping() -> None:
    """Record that this worker process was told to stop: a task interrupted by it then ends
    the process at once instead of returning to the pool."""
    global _STOPPING
    _STOPPING = True


def _read_stamp(outdir: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((outdir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def check_unchanged(job: Job, sha: str | None) -> Outcome | None:
    """The kept result when ``job``'s output folder is complete and was made from the same
    content (``sha``) and settings; None when the recording must be (re)analysed."""
    if job.force or job.error or sha is None:
        return None
    out = Path(job.outdir)
    stamp = _read_stamp(out)
    if (stamp is None or stamp.get("sha256") != sha
            or stamp.get("settings") != job.settings_key):
        return None
    files = stamp.get("files")
    if not isinstance(files, list) or not all((out / f).is_file() for f in files):
        return None
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Outcome(index=job.index, status="ok", action="unchanged",
                   fields=summary_fields(report), elapsed_s=float(stamp.get("elapsed_s", 0)))


def failure_reason(exc: BaseException, path: str | None = None) -> str:
    """One line: a :class:`FormcheckError`'s message (without the path prefix, which the
    summary shows in its own column), else ``ExceptionType: first line of the message``."""
    if isinstance(exc, FormcheckError):  # RulesError included
        msg = str(exc)
        p = getattr(exc, "path", None) or path
        if p and msg.startswith(f"{p}: "):
            msg = msg[len(p) + 2:]
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return " ".join(msg.split())


def _remove_dir(path: Path) -> None:
    """Remove a folder by first renaming it out of sight (so it never looks half-deleted)."""
    if not path.is_dir():
        return
    gone = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
    try:
        os.replace(path, gone)
    except OSError:
        return
    shutil.rmtree(gone, ignore_errors=True)


def run_recording(job: Job) -> Outcome:
    """Analyse one recording into ``job.outdir`` (the task run by local workers and Dask).

    Never raises for a problem with the recording: it returns a ``failed`` outcome with a
    one-line reason.  When the recording fails, an earlier result in ``job.outdir`` made from
    other content or settings (or without a stamp) is removed, so the output tree only holds
    results that match their inputs; one that still matches (a ``--force`` rerun), or any
    result when the input cannot be read (e.g. an unmounted drive), is kept."""
    t0 = time.perf_counter()
    if job.error:
        return Outcome(index=job.index, status="failed", action="none", reason=job.error)
    sha = job.sha256 or sha256_of(job.src)
    kept = check_unchanged(job, sha)
    if kept is not None:
        return kept
    out = Path(job.outdir)
    try:
        from formcheck.api import Options
        from formcheck.report.writer import OutputOptions
        from formcheck.run import analyze_to_folder

        # spare cores (clip_jobs > 1): this recording's own worker processes
        opts = replace(Options(**job.options), jobs=job.clip_jobs)
        oo = OutputOptions(html=job.html, video=job.video,
                           max_video_side_px=job.max_video_side_px, force=True)
        report = analyze_to_folder(job.src, out, opts, oo, progress=False)
        elapsed = time.perf_counter() - t0
        files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                       if p.is_file() and p.name != STAMP_NAME)
        stamp = {"input": job.display, "sha256": sha, "settings": job.settings_key,
                 "files": files, "elapsed_s": round(elapsed, 3),
                 "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        from formcheck.outputs import write_text_atomic

        write_text_atomic(out / STAMP_NAME, json.dumps(stamp, indent=2) + "\n")
        return Outcome(index=job.index, status="ok", action="analysed",
                       fields=summary_fields(report), elapsed_s=elapsed)
    except Exception as exc:  # noqa: BLE001 - a recording's failure must not stop the batch
        stamp = _read_stamp(out)
        if sha is not None and out.is_dir() and (
                stamp is None or stamp.get("sha256") != sha
                or stamp.get("settings") != job.settings_key):
            _remove_dir(out)  # a result of other content/settings: no longer this input's
        return Outcome(index=job.index, status="failed", action="none",
                       reason=failure_reason(exc, job.src),
                       elapsed_s=time.perf_counter() - t0)
    except BaseException:
        if _STOPPING:  # SIGTERM in a local worker: the staged folder is cleaned up; leave
            os._exit(143)  # now (the pool would otherwise wait for the next task)
        raise
