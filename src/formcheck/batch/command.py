"""``formcheck batch``: the command line over :func:`formcheck.batch.driver.run_batch`."""

from __future__ import annotations

import sys
from typing import Any

import click

from formcheck.batch.driver import run_batch
from formcheck.cli_common import (
    ANALYSIS_OPTIONS,
    OUTPUT_OPTIONS,
    analysis_fields,
    apply,
    run_guarded,
)
from formcheck.errors import BatchFailuresError


@click.command("batch")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--out", "out", type=click.Path(), required=True,
              help="Output folder (the input tree is mirrored inside it).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Recordings analysed at once on this computer [default: CPU cores].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on a Dask cluster (e.g. tcp://10.0.0.5:8786) instead of locally; "
                   "needs formcheck[cluster].")
@click.option("--force", is_flag=True, help="Redo every recording, even unchanged ones.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or final summary line.")
@apply(*ANALYSIS_OPTIONS)
@apply(*OUTPUT_OPTIONS)
def batch_command(input_path: str, out: str, jobs: int | None, scheduler: str | None,
                  force: bool, quiet: bool, no_video: bool, no_html: bool, max_size: int,
                  **kw: Any) -> None:
    """Analyse every recording in INPUT (a folder, searched recursively, or a manifest CSV)
    and write one report folder per recording plus summary.csv and summary.html to --out.

    The settings apply to every recording; a manifest's columns view, direction, setting,
    gait, slowmo, height_cm, scale_px_per_m, start_s and end_s override them for their row.
    A rerun skips recordings whose content and settings are unchanged. Exit code 0 when
    every recording succeeded, 10 when any failed (listed in summary.csv with the reason).
    """
    defaults = analysis_fields(kw)

    def job() -> None:
        res = run_batch(input_path, out, defaults, jobs=jobs, scheduler=scheduler,
                        html=not no_html, video=not no_video, max_video_side_px=max_size,
                        force=force, progress=not quiet and sys.stderr.isatty())
        n = len(res.rows)
        n_ok = n - res.n_failed
        n_kept = sum(r["action"] == "unchanged" for r in res.rows)
        for r in res.rows:
            if r["status"] == "failed":
                click.echo(f"formcheck: failed: {r['path']}: {r['reason']}", err=True)
        if not quiet:
            click.echo(f"{n} recording{'s' if n != 1 else ''}: {n_ok} ok ({n_ok - n_kept} "
                       f"analysed, {n_kept} unchanged), {res.n_failed} failed -> "
                       f"{res.summary_csv}, {res.summary_html.name}")
        if res.n_failed:
            raise BatchFailuresError(f"{res.n_failed} of {n} recordings failed; see "
                                     f"{res.summary_csv}")

    run_guarded(job)
