"""``formcheck batch``: analyse a folder (or a manifest CSV) of recordings, in parallel.

Each recording goes through exactly what ``formcheck analyze`` runs
(:func:`formcheck.run.analyze_to_folder`) in its own output folder, written atomically.  A
small stamp, ``.formcheck-done.json``, is written last into each folder; a later run skips
recordings whose stamp matches the input's content hash (SHA-256) and the settings, so an
interrupted or extended batch resumes where it stopped.  ``summary.csv`` and ``summary.html``
in the output folder list every recording.

Work runs either in local worker processes (``--jobs``, a ``spawn`` process pool, one pose
model per worker process) or on a Dask cluster (``--scheduler``).  Both call the same task
function, :func:`run_recording`.

Modules, in the order data flows: :mod:`~formcheck.batch.plan` (INPUT -> :class:`Job` list),
:mod:`~formcheck.batch.task` (one :class:`Job` -> :class:`Outcome`),
:mod:`~formcheck.batch.runners` (local worker processes, Dask),
:mod:`~formcheck.batch.summary` (summary.csv, summary.html), :mod:`~formcheck.batch.driver`
(:func:`run_batch`: all of it) and :mod:`~formcheck.batch.command` (``formcheck batch``);
:mod:`~formcheck.batch.jobs` holds the records they pass.

Output layout (the input tree is mirrored; the file's full name, extension included, keeps
``clip.mp4`` and ``clip.mov`` apart)::

    INPUT/a/clip.mp4   ->  OUTDIR/a/clip.mp4_formcheck/{report.json, report.html, ...}
    INPUT/a/clip.mov   ->  OUTDIR/a/clip.mov_formcheck/

Top-level imports are kept light (standard library and click): worker processes import this
package to unpickle the task, and Dask is imported only for ``--scheduler``.
"""

from __future__ import annotations

from formcheck.batch.command import batch_command
from formcheck.batch.driver import BatchResult, clean_stale, run_batch
from formcheck.batch.jobs import OUT_SUFFIX, STAMP_NAME, STAMP_VERSION, Job, Outcome
from formcheck.batch.plan import (
    SETTING_COLUMNS,
    Entry,
    find_videos,
    output_rel,
    plan,
    read_manifest,
)
from formcheck.batch.runners import (
    DEFAULT_WORKER_THREADS,
    THREAD_ENV_VARS,
    connect,
    run_dask,
    run_local,
)
from formcheck.batch.summary import (
    BASE_COLUMNS,
    STANDING_CAUTIONS,
    attention_reasons,
    summary_csv_text,
    summary_fields,
    summary_html_text,
)
from formcheck.batch.task import check_unchanged, failure_reason, run_recording
from formcheck.errors import BatchSetupError

__all__ = [
    "BASE_COLUMNS",
    "DEFAULT_WORKER_THREADS",
    "KEY_METRICS",
    "OUT_SUFFIX",
    "SETTING_COLUMNS",
    "STAMP_NAME",
    "STAMP_VERSION",
    "STANDING_CAUTIONS",
    "THREAD_ENV_VARS",
    "BatchResult",
    "BatchSetupError",
    "Entry",
    "Job",
    "Outcome",
    "attention_reasons",
    "batch_command",
    "check_unchanged",
    "clean_stale",
    "connect",
    "failure_reason",
    "find_videos",
    "output_rel",
    "plan",
    "read_manifest",
    "run_batch",
    "run_dask",
    "run_local",
    "run_recording",
    "summary_csv_text",
    "summary_fields",
    "summary_html_text",
]


def __getattr__(name: str) -> object:
    """``KEY_METRICS`` comes from the metric registry, imported on first use."""
    if name == "KEY_METRICS":
        from formcheck.batch.summary import key_metrics

        return key_metrics()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
