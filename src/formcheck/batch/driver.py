"""The whole batch: plan, keep what is up to date, run the rest (locally or on Dask), write
``summary.csv``, ``summary.html`` and the runners' ``history/<runner>.html`` pages
(:func:`run_batch`, the code behind ``formcheck batch``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formcheck.batch.jobs import Job, Outcome
from formcheck.batch.plan import plan
from formcheck.batch.runners import DEFAULT_WORKER_THREADS, connect, run_dask, run_local
from formcheck.batch.summary import summary_csv_text, summary_html_text, summary_rows
from formcheck.batch.task import check_unchanged, run_recording
from formcheck.errors import OutputExistsError
from formcheck.hashing import sha256_of

if TYPE_CHECKING:
    from formcheck.rules import RuleSet

_STALE_RE = re.compile(r"^\..+\.(part|old)-[0-9a-f]{8}$")


def clean_stale(outdir: Path) -> int:
    """Remove hidden temporary folders/files left in ``outdir`` by a killed run
    (``.<name>.part-xxxxxxxx`` from staged writes, ``.<name>.old-xxxxxxxx`` from
    replacements); returns how many were removed."""
    n = 0
    if not outdir.is_dir():
        return 0
    for root, dirs, files in os.walk(outdir):
        for d in list(dirs):
            if _STALE_RE.match(d):
                shutil.rmtree(Path(root) / d, ignore_errors=True)
                dirs.remove(d)
                n += 1
        for name in files:
            if _STALE_RE.match(name):
                with contextlib.suppress(OSError):
                    (Path(root) / name).unlink()
                    n += 1
    return n


@contextlib.contextmanager
def _lock(outdir: Path) -> Iterator[None]:
    """Hold an exclusive lock on OUTDIR so two batches never write into it at once
    (released automatically when the process ends, even by SIGKILL)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    fh = open(outdir / ".formcheck-batch.lock", "a")  # noqa: SIM115 - held for the block
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputExistsError("another 'formcheck batch' is writing to this output "
                                    "folder; wait for it to finish", outdir) from None
        yield
    finally:
        fh.close()


@dataclass
class BatchResult:
    """Rows of the summary, in input order, and where it was written; ``histories``: the
    runner history pages written ({runner, href relative to OUTDIR, n_sessions})."""

    columns: list[str]
    rows: list[dict[str, Any]]
    summary_csv: Path
    summary_html: Path
    histories: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_failed(self) -> int:
        return sum(1 for r in self.rows if r["status"] == "failed")


def _rule_ids(rules_path: str | None) -> tuple[list[str], RuleSet]:
    from formcheck import rules as rules_mod

    rs = rules_mod.load_rules(Path(rules_path) if rules_path else None)
    return [r.id for r in rs.rules], rs


def run_batch(input_path: str | os.PathLike[str], outdir: str | os.PathLike[str],
              defaults: dict[str, Any] | None = None, jobs: int | None = None,
              scheduler: str | None = None, html: bool = True, video: bool = True,
              max_video_side_px: int = 1080, force: bool = False, progress: bool = False,
              threads: int | None = DEFAULT_WORKER_THREADS) -> BatchResult:
    """Analyse every recording of ``input_path`` into ``outdir`` and write the summaries.

    Args:
        input_path: a folder (searched recursively) or a manifest CSV.
        outdir: output folder (created; earlier results in it are reused when unchanged).
        defaults: :class:`formcheck.api.Options` fields for every recording.
        jobs: local worker processes (default: the usable CPU cores).
        scheduler: Dask scheduler address; when given, work runs on that cluster.
        html, video, max_video_side_px: outputs per recording (as ``formcheck analyze``).
        force: redo every recording even when its result is up to date.
        progress: show the overall progress bar on stderr.
        threads: BLAS/OpenMP threads per local worker process (None = library defaults).

    Returns:
        the summary rows (``status`` is ``ok`` or ``failed`` for each).
    """

    defaults = dict(defaults or {})
    for key in ("model", "rules"):  # workers (on other machines, too) need absolute paths
        if defaults.get(key):
            defaults[key] = os.path.abspath(defaults[key])
    in_p, out_p = Path(input_path), Path(outdir)
    if out_p.exists() and not out_p.is_dir():
        raise OutputExistsError("output path exists and is not a folder", out_p)
    rule_ids, ruleset = _rule_ids(defaults.get("rules"))  # fails fast on a bad rules file
    job_list, label_cols = plan(in_p, out_p, defaults, html=html, video=video,
                                max_video_side_px=max_video_side_px, force=force)
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(connect(scheduler)) if scheduler else None
        return _run_planned(job_list, label_cols, rule_ids, ruleset, out_p, client, jobs,
                            html, progress, threads)


def _run_planned(job_list: list[Job], label_cols: list[str], rule_ids: list[str],
                 ruleset: RuleSet, out_p: Path, client: Any, jobs: int | None, html: bool,
                 progress: bool, threads: int | None) -> BatchResult:
    """Skip what is up to date, run the rest (locally or on ``client``), write summaries."""
    from tqdm import tqdm

    out_p.mkdir(parents=True, exist_ok=True)
    outcomes: dict[int, Outcome] = {}
    with _lock(out_p):
        clean_stale(out_p)
        todo: list[Job] = []
        for j in job_list:
            if j.error:
                outcomes[j.index] = run_recording(j)
                continue
            sha = sha256_of(j.src)
            kept = check_unchanged(j, sha)
            if kept is not None:
                outcomes[j.index] = kept
            else:
                todo.append(Job(**{**asdict(j), "sha256": sha}))
        bar = tqdm(total=len(job_list), initial=len(outcomes), unit="rec", desc="batch",
                   disable=not progress, file=sys.stderr, dynamic_ncols=True)
        counts = {"failed": sum(o.status == "failed" for o in outcomes.values()),
                  "unchanged": sum(o.action == "unchanged" for o in outcomes.values())}

        def done(o: Outcome) -> None:
            outcomes[o.index] = o
            counts["failed"] += o.status == "failed"
            bar.set_postfix(failed=counts["failed"], unchanged=counts["unchanged"],
                            refresh=False)
            bar.update(1)

        bar.set_postfix(failed=counts["failed"], unchanged=counts["unchanged"], refresh=False)
        try:
            if todo and client is not None:
                run_dask(todo, client, done)
            elif todo:
                n = jobs or _cpu_count()
                if len(todo) < n:  # spare cores: each recording gets a share of them
                    share = n // len(todo)
                    todo = [Job(**{**asdict(j), "clip_jobs": share}) for j in todo]
                run_local(todo, max(1, min(n, len(todo))), done, threads=threads)
        finally:
            bar.close()
        columns, rows = summary_rows(job_list, outcomes, label_cols, rule_ids, html)
        csv_path, html_path = out_p / "summary.csv", out_p / "summary.html"
        from formcheck.batch.history import write_histories
        from formcheck.outputs import write_text_atomic

        histories = write_histories(job_list, outcomes, out_p)
        write_text_atomic(csv_path, summary_csv_text(columns, rows))
        write_text_atomic(html_path, summary_html_text(columns, rows, ruleset, histories))
    return BatchResult(columns=columns, rows=rows, summary_csv=csv_path,
                       summary_html=html_path, histories=histories)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1
