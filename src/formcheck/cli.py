"""Command-line interface (click): parse, call the API, print.  No maths here.

Exit codes are listed in :mod:`formcheck.errors` and the README.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from formcheck import __version__
from formcheck.errors import FormcheckError

RULES_EXIT = 8


def _fail(msg: str, code: int) -> None:
    click.echo(f"formcheck: error: {msg}", err=True)
    sys.exit(code)


def run_guarded(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; turn known failures into one stderr line and their exit code."""
    from formcheck.rules import RulesError

    try:
        return fn(*args, **kwargs)
    except FormcheckError as exc:
        _fail(str(exc), exc.exit_code)
    except RulesError as exc:
        _fail(str(exc), RULES_EXIT)
    except KeyboardInterrupt:
        _fail("interrupted; no partial output was left", 130)
    except MemoryError:
        _fail("out of memory", 1)
    except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback
        if os.environ.get("FORMCHECK_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        _fail(f"internal error ({type(exc).__name__}: {first}); set FORMCHECK_DEBUG=1 for "
              "the traceback and please report it", 1)


def _options(**kw: Any) -> Any:
    from formcheck.api import Options

    return Options(
        model=kw.get("model"), slowmo=kw.get("slowmo") or 1.0, view=kw.get("view"),
        direction=kw.get("direction"), setting=kw.get("setting"), gait=kw.get("gait"),
        height_cm=kw.get("height"), start_s=kw.get("start"), end_s=kw.get("end"),
        rules=kw.get("rules"), num_poses=kw.get("max_people") or 1,
    )


common_model = [
    click.option("--model", type=click.Path(), default=None,
                 help="Pose model bundle (.task); default: the one shipped with formcheck."),
    click.option("--slowmo", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
                 help="Slow-motion factor of the clip (e.g. 4 for 120 fps played at 30)."),
    click.option("--force", is_flag=True, help="Replace an existing output folder."),
    click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary."),
]


def _apply(opts: list[Any]) -> Any:
    def deco(f: Any) -> Any:
        for o in reversed(opts):
            f = o(f)
        return f
    return deco


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="formcheck")
def main() -> None:
    """formcheck: running-form analysis from ordinary video."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@main.command()
@click.argument("video", type=click.Path())
@click.option("-o", "--out", "out", type=click.Path(), required=True, help="Output folder.")
@_apply(common_model)
def pose(video: str, out: str, model: str | None, slowmo: float, force: bool,
         quiet: bool) -> None:
    """Extract pose landmarks from VIDEO (landmarks.npz, landmarks.csv, pose.json)."""

    def job() -> None:
        from formcheck.outputs import staged_dir
        from formcheck.pose import extract
        from formcheck.video import probe

        info = probe(video, slowmo=slowmo)
        from formcheck.outputs import check_free

        check_free(Path(out), force)
        ps = extract(video, model_path=model, slowmo=slowmo, progress=None if not quiet else False)
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
@_apply(common_model)
@click.option("--view", type=click.Choice(["side", "front", "back", "oblique"]), default=None,
              help="Override the detected camera view.")
@click.option("--direction", type=click.Choice(["left", "right"]), default=None,
              help="Override the direction the runner faces in the image (side view).")
@click.option("--setting", type=click.Choice(["treadmill", "overground"]), default=None,
              help="Override treadmill/overground.")
@click.option("--gait", type=click.Choice(["running", "walking"]), default=None,
              help="Override running/walking.")
@click.option("--height", type=click.FloatRange(min=50, max=250), default=None,
              help="Runner's height in cm (vertical oscillation in cm).")
@click.option("--start", type=float, default=None, help="Analyse from this time (s).")
@click.option("--end", type=float, default=None, help="Analyse up to this time (s).")
@click.option("--rules", type=click.Path(), default=None, help="Rules TOML overriding the "
              "packaged thresholds and advice.")
@click.option("--max-people", type=click.IntRange(1, 5), default=1, show_default=True,
              help="People the model may find per frame (the runner is followed).")
@click.option("--json", "as_json", is_flag=True, help="Print report.json to stdout.")
@click.option("--no-video", is_flag=True, help="Do not write annotated.mp4.")
@click.option("--no-html", is_flag=True, help="Do not write report.html.")
@click.option("--max-size", type=click.IntRange(240, 4320), default=1080, show_default=True,
              help="Longest side of annotated.mp4 (px).")
@click.option("--slowmo-contacts", is_flag=True,
              help="Slow the annotated video down around each initial contact.")
@click.option("--frames", is_flag=True, help="Write a PNG still per initial contact.")
def analyze(video: str, out: str | None, pose_file: str | None, as_json: bool,
            no_video: bool, no_html: bool, max_size: int, slowmo_contacts: bool,
            frames: bool, force: bool, quiet: bool, **kw: Any) -> None:
    """Analyse the running form in VIDEO and write reports to --out."""

    def job() -> None:
        from formcheck import rules as rules_mod
        from formcheck.api import analyze_pose, run_pose
        from formcheck.outputs import check_free
        from formcheck.pose import PoseSeries
        from formcheck.report import dumps
        from formcheck.report.terminal import summary_text
        from formcheck.report.writer import OutputOptions, write_outputs
        from formcheck.video import probe

        opts = _options(**kw)
        outdir = Path(out) if out else Path(video).with_name(Path(video).stem + "_formcheck")
        if opts.rules:
            rules_mod.load_rules(Path(opts.rules))  # fail fast on a bad rules file
        check_free(outdir, force)
        info = probe(video, slowmo=opts.slowmo)
        if pose_file:
            if not Path(pose_file).is_file():
                from formcheck.errors import InputNotFoundError

                raise InputNotFoundError("no such landmarks file", pose_file)
            ps = PoseSeries.load(pose_file)
        else:
            ps = run_pose(video, opts, progress=None if not quiet else False)
        analysis = analyze_pose(ps, opts)
        from dataclasses import replace

        analysis = replace(analysis, source=str(video))
        oo = OutputOptions(html=not no_html, video=not no_video, max_video_side_px=max_size,
                           slowmo_contacts=slowmo_contacts, frames=frames, force=force)
        rep = write_outputs(analysis, outdir, info.to_dict(), oo,
                            progress=None if not quiet else False)
        if as_json:
            click.echo(dumps(rep), nl=False)
        elif not quiet:
            click.echo(summary_text(rep, color=sys.stdout.isatty()))
            click.echo(f"\nReports written to {outdir}/")

    run_guarded(job)


if __name__ == "__main__":  # pragma: no cover
    main()
