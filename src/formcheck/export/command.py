"""``formcheck export REPORT_DIR --format FMT [-o OUTDIR] [--force]`` as a click command
object; the CLI adds it with ``main.add_command(export)``."""

from __future__ import annotations

import click

from formcheck.export.names import DEFAULT_SUBDIR, FORMAT_NAMES


@click.command("export")
@click.argument("report_dir", type=click.Path())
@click.option("--format", "-f", "formats", multiple=True, default=("all",), show_default=True,
              type=click.Choice([*FORMAT_NAMES, "all"], case_sensitive=False),
              help="Format to write; repeat for several, or 'all'. c3d: landmarks as points "
              "and Foot Strike / Foot Off events; trc: OpenSim markers; mot: OpenSim storage of "
              "per-frame knee, shank, foot and trunk angles (deg); fit-csv: per-step values "
              "under FIT names (docs/export.md).")
@click.option("-o", "--out", "out", type=click.Path(), default=None,
              help=f"Output folder (default: REPORT_DIR/{DEFAULT_SUBDIR}).")
@click.option("--force", is_flag=True, help="Replace the output folder if it holds files.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
def export(report_dir: str, formats: tuple[str, ...], out: str | None, force: bool,
           quiet: bool) -> None:
    """Export the analysis in REPORT_DIR (written by 'formcheck analyze -o REPORT_DIR') to
    C3D, TRC, MOT or a FIT-style CSV (see docs/export.md)."""
    from formcheck.cli_common import run_guarded

    def job() -> None:
        from formcheck.export import export_folder

        paths = export_folder(report_dir, formats, out, force=force)
        if not quiet:
            for p in paths:
                click.echo(str(p))

    run_guarded(job)


if __name__ == "__main__":  # pragma: no cover
    export()
