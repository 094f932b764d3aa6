"""Command-line interface (click): parse, call the API, print.  No maths here.

Exit codes are listed in :mod:`formcheck.errors` and the README.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from formcheck import __version__
from formcheck.batch.command import batch_command
from formcheck.change.command import compare_command
from formcheck.cli_common import (
    ANALYSIS_OPTIONS,
    MODEL,
    OUTPUT_OPTIONS,
    SLOWMO,
    analysis_fields,
    apply,
    install_signal_handlers,
    run_guarded,
)
from formcheck.errors import EXIT_RULES
from formcheck.export.command import export as export_command
from formcheck.export.names import FORMAT_NAMES
from formcheck.run import analyze_to_folder, start_pool

if TYPE_CHECKING:
    from formcheck.api import Options
    from formcheck.video import VideoInfo

RULES_EXIT = EXIT_RULES  # kept for callers of the old name
__all__ = ["RULES_EXIT", "install_signal_handlers", "main", "run_guarded"]


def _options(**kw: Any) -> Options:
    from formcheck.api import Options

    return Options(**analysis_fields(kw), start_s=kw.get("start"), end_s=kw.get("end"),
                   person=kw.get("person"), jobs=kw.get("jobs"))


def _preload() -> None:
    """Import what the analysis and the reports need (scipy, jinja2, OpenCV: ~2 s of CPU)
    in a background thread, while the pose model runs."""
    import importlib

    for name in ("scipy.signal", "scipy.ndimage", "formcheck.rules", "formcheck.metrics",
                 "formcheck.report.html", "jinja2", "cv2", "formcheck.annotate"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - imported again, with its error, where used
            continue


def _start_preload() -> None:
    import threading

    threading.Thread(target=_preload, name="formcheck-preload", daemon=True).start()


#: Options of the commands that analyse one clip (``pose`` and ``analyze``).
clip_options = [
    click.option("--force", is_flag=True, help="Replace an existing output folder."),
    click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary."),
    click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                 help="Worker processes for the clip (default: the usable CPU cores): the "
                 "pose model and annotated.mp4 run in time segments in parallel."),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="formcheck")
def main() -> None:
    """formcheck: running-form analysis from ordinary video."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@main.command()
@click.argument("video", type=click.Path())
@click.option("-o", "--out", "out", type=click.Path(), required=True, help="Output folder.")
@apply(MODEL, SLOWMO, *clip_options)
@click.option("--max-people", type=click.IntRange(1, 5), default=4, show_default=True,
              help="People the model may find per frame (all are kept in landmarks.npz).")
def pose(video: str, out: str, model: str | None, slowmo: float, force: bool,
         quiet: bool, jobs: int | None, max_people: int) -> None:
    """Extract pose landmarks from VIDEO (landmarks.npz, landmarks.csv, pose.json)."""

    def job() -> None:
        import contextlib

        with contextlib.ExitStack() as stack:
            run(lambda: stack.enter_context(start_pool(jobs)))

    def run(begin_pool: Any) -> None:
        from formcheck.outputs import staged_dir
        from formcheck.video import probe

        info = probe(video, slowmo=slowmo)
        from formcheck.outputs import check_free

        check_free(Path(out), force)
        pool = begin_pool()  # after the input checks: a bad input starts no processes
        from formcheck.api import Options, run_pose

        ps = run_pose(video, Options(model=model, slowmo=slowmo, num_poses=max_people,
                                     jobs=jobs),
                      progress=None if not quiet else False, pool=pool)
        with staged_dir(out, force=force) as tmp:
            ps.save(tmp / "landmarks.npz")
            ps.to_csv(tmp / "landmarks.csv")
            doc = {"video": info.to_dict(), "n_frames": ps.n_frames,
                   "detection_rate": round(ps.detection_rate, 4),
                   "measured_fps": round(ps.fps_real, 3), "model": ps.model}
            (tmp / "pose.json").write_text(json.dumps(doc, indent=2) + "\n")
        if not quiet:
            click.echo(f"{Path(video).name}: {ps.n_frames} frames, runner found in "
                       f"{100 * ps.detection_rate:.1f} % ({info.codec} {info.width_px}x"
                       f"{info.height_px}, {ps.fps_real:.2f} fps measured, "
                       f"{info.nominal_fps:.2f} nominal) -> {out}")

    run_guarded(job)


@main.command()
@click.argument("video", type=click.Path())
@click.option("-o", "--out", "out", type=click.Path(), default=None,
              help="Output folder (default: <video name>_formcheck beside the video).")
@click.option("--pose", "pose_file", type=click.Path(), default=None,
              help="Use landmarks from a previous run (landmarks.npz) instead of the model.")
@apply(*clip_options)
@apply(*ANALYSIS_OPTIONS)
@click.option("--start", type=float, default=None, help="Analyse from this time (s).")
@click.option("--end", type=float, default=None, help="Analyse up to this time (s).")
@click.option("--person", type=click.IntRange(min=1), default=None,
              help="Analyse this person (the number boxed in people.png) instead of the one "
              "formcheck chooses.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json to stdout.")
@apply(*OUTPUT_OPTIONS)
@click.option("--slowmo-contacts", is_flag=True,
              help="Slow annotated.mp4 down 4x around each initial contact (same frames, "
              "longer video).")
@click.option("--frames", is_flag=True, help="Write a PNG still per initial contact.")
@click.option("--export", "export_formats", multiple=True,
              type=click.Choice([*FORMAT_NAMES, "all"], case_sensitive=False),
              help="Also write this export into <out>/export (repeat for several, or 'all'; "
              "see 'formcheck export' and docs/export.md).")
def analyze(video: str, out: str | None, pose_file: str | None, as_json: bool,
            no_video: bool, no_html: bool, max_size: int, slowmo_contacts: bool,
            frames: bool, force: bool, quiet: bool, export_formats: tuple[str, ...],
            **kw: Any) -> None:
    """Analyse the running form in VIDEO and write reports to --out."""
    start, end = kw.get("start"), kw.get("end")
    if start is not None and end is not None and end <= start:
        raise click.BadParameter(f"--end ({end} s) must be after --start ({start} s)",
                                 param_hint="--end")

    def job() -> None:
        from formcheck.report import dumps
        from formcheck.report.terminal import summary_text
        from formcheck.report.writer import OutputOptions

        opts = _options(**kw)
        outdir = Path(out) if out else Path(video).with_name(Path(video).stem + "_formcheck")

        def check(info: VideoInfo) -> None:
            """The command line's own input checks, once the video is known to be readable."""
            _start_preload()
            if opts.start_s is not None and info.duration_s > 0 and \
                    opts.start_s >= info.duration_s:
                raise click.BadParameter(f"{opts.start_s:g} s is not before the end of the "
                                         f"clip ({info.duration_s:.1f} s)",
                                         param_hint="'--start'")
            if opts.rules:
                from formcheck.rules import load_rules

                load_rules(Path(opts.rules))  # fail fast on a bad rules file

        oo = OutputOptions(html=not no_html, video=not no_video, max_video_side_px=max_size,
                           slowmo_contacts=slowmo_contacts, frames=frames, force=force,
                           export=export_formats)
        rep = analyze_to_folder(video, outdir, opts, oo, pose_file=pose_file,
                                progress=None if not quiet else False, check=check)
        if as_json:
            click.echo(dumps(rep), nl=False)
        elif not quiet:
            click.echo(summary_text(rep, color=sys.stdout.isatty()))
            click.echo(f"\nReports written to {outdir}/")

    run_guarded(job)


main.add_command(batch_command, name="batch")
main.add_command(export_command, name="export")
main.add_command(compare_command, name="compare")


if __name__ == "__main__":  # pragma: no cover
    main()
