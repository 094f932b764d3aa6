"""``formcheck compare A B [C ...]``: the click command (the CLI group adds it with
``main.add_command(compare_command, name="compare")``).

Inputs are report folders (written by ``formcheck analyze``) or videos, which are analysed
first (reports without annotated.mp4, in ``<out>/sessions/<name>``).  Writes compare.html and
compare.json to ``--out`` (atomically: :func:`formcheck.outputs.staged_dir`) and prints the
table.  Exit codes as for every command (:mod:`formcheck.errors`): 3 when an input is neither
a report folder nor a file, 4/5/6 for a video that cannot be analysed, 7 when ``--out``
holds results (pass ``--force``), 2 for bad usage (fewer than two inputs, a bad --date).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


def _analyse_video(video: Path, outdir: Path, quiet: bool) -> Path:
    """Analyse ``video`` into ``outdir`` (no annotated video) with the one analyse-into-a-folder
    function ``formcheck analyze`` uses; returns ``outdir``."""
    from formcheck.api import Options
    from formcheck.report.writer import OutputOptions
    from formcheck.run import analyze_to_folder

    analyze_to_folder(video, outdir, Options(), OutputOptions(html=True, video=False),
                      progress=None if not quiet else False)
    return outdir


@click.command("compare")
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option("-o", "--out", "out", type=click.Path(), default="formcheck_compare",
              show_default=True, help="Output folder for compare.html and compare.json.")
@click.option("--date", "dates", multiple=True, metavar="DATE",
              help="Recording date of each input, in the order given (YYYY-MM-DD or "
              "YYYY-MM-DDTHH:MM; repeat once per input); overrides the recorded dates.")
@click.option("--keep-order", is_flag=True,
              help="Keep the inputs in the order given (the first is the baseline) instead "
              "of ordering them by recording date.")
@click.option("--same-session/--separate-sessions", "same_session", default=None,
              help="The clips were filmed in one session with one camera set-up, so the "
              "between-session floors do not apply (default: only when all inputs are "
              "windows of one video file).")
@click.option("--no-stills", is_flag=True, help="Leave the contact stills out of the page.")
@click.option("--json", "as_json", is_flag=True, help="Print compare.json to stdout.")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def compare_command(inputs: tuple[str, ...], out: str, dates: tuple[str, ...],
                    keep_order: bool, same_session: bool | None, no_stills: bool,
                    as_json: bool, force: bool, quiet: bool) -> None:
    """Compare sessions: did the running form change between INPUTS (report folders or
    videos, two or more)?

    Per metric: the values, the change from the earliest session and a verdict, "changed"
    only when the change exceeds what the clips' own noise (and the published
    between-session variation) can produce; findings before and after; warnings when the
    clips were filmed too differently to compare fairly.
    """
    from formcheck.cli_common import run_guarded

    if len(inputs) < 2:
        raise click.UsageError("give at least two report folders or videos to compare")
    if dates and len(dates) != len(inputs):
        raise click.BadParameter(f"{len(dates)} dates for {len(inputs)} inputs: give one "
                                 "--date per input, in order", param_hint="--date")
    from formcheck.change.compare import parse_date

    for d in dates:
        try:
            parse_date(d)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--date") from None

    def job() -> None:
        from formcheck.change import compare as cmp_mod
        from formcheck.change import html as html_mod
        from formcheck.errors import InputNotFoundError
        from formcheck.outputs import check_free, staged_dir

        paths = [Path(p) for p in inputs]
        for p in paths:
            if not p.exists():
                raise InputNotFoundError("no such file or folder", p)
        check_free(Path(out), force)
        with staged_dir(out, force=force) as tmp:
            folders: list[Any] = []
            for i, p in enumerate(paths):
                if p.is_dir():
                    folders.append(p)
                else:
                    folders.append(_analyse_video(p, tmp / "sessions" / f"{i + 1}_{p.stem}",
                                                  quiet))
            c = cmp_mod.compare_folders(folders, list(dates) or None, keep_order,
                                        same_session)
            doc = c.to_dict()
            text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
            # sessions analysed here live in the staged folder until it becomes --out
            text = text.replace(json.dumps(str(tmp))[1:-1], json.dumps(str(Path(out)))[1:-1])
            (tmp / "compare.json").write_text(text, encoding="utf-8")
            html_mod.write_compare(c, tmp / "compare.html", stills=not no_stills)
        if as_json:
            click.echo(text, nl=False)
        elif not quiet:
            click.echo(cmp_mod.terminal_table(c))
            click.echo(f"\nComparison written to {out}/compare.html", file=sys.stdout)

    run_guarded(job)
