"""Command-line interface (click): parse, call the API, print.  No maths here.

Exit codes are listed in :mod:`formcheck.errors` and the README.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from formcheck import __version__
from formcheck.errors import (
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_RULES,
    EXIT_TERMINATED,
    FormcheckError,
    Terminated,
)

RULES_EXIT = EXIT_RULES  # kept for callers of the old name


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(msg: str, code: int) -> None:
    """Print ``formcheck: error: MSG`` as one stderr line and exit with ``code``."""
    try:
        click.echo(f"formcheck: error: {_one_line(msg)}", err=True)
    finally:
        sys.exit(code)


def _raise_terminated(signum: int, frame: object) -> None:
    """SIGTERM/SIGHUP handler: unwind like Ctrl-C so every clean-up (staged output folders,
    open containers) runs."""
    raise Terminated(f"signal {signum}")


def install_signal_handlers() -> dict[int, Any]:
    """Make SIGTERM (and SIGHUP, a closed terminal) raise :class:`Terminated`, a
    KeyboardInterrupt, so ``with``/``finally`` clean-ups run as for Ctrl-C.  Returns the
    previous handlers (only the main thread can install handlers; elsewhere nothing is
    changed)."""
    old: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            old[sig] = signal.signal(sig, _raise_terminated)
        except (ValueError, OSError):  # not the main thread / not supported
            pass
    return old


def _restore_signal_handlers(old: dict[int, Any]) -> None:
    for sig, handler in old.items():
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError, TypeError):
            pass


def run_guarded(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; turn every failure into one stderr line and its documented exit code
    (see :mod:`formcheck.errors`).  No traceback reaches the user unless FORMCHECK_DEBUG is
    set; SIGTERM is handled like Ctrl-C so staged outputs are removed."""
    from formcheck.rules import RulesError

    old = install_signal_handlers()
    try:
        return fn(*args, **kwargs)
    except FormcheckError as exc:
        _fail(str(exc), exc.exit_code)
    except RulesError as exc:
        _fail(str(exc), EXIT_RULES)
    except Terminated:
        _fail("terminated; no partial output was left", EXIT_TERMINATED)
    except KeyboardInterrupt:
        _fail("interrupted; no partial output was left", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # stdout was closed early (e.g. piped into 'head'): not an error worth a message
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        sys.exit(141)
    except MemoryError:
        _fail("out of memory; analyse a shorter part of the clip with --start/--end, or "
              "close other programs", EXIT_BUG)
    except click.exceptions.Exit:
        raise
    except click.ClickException as exc:  # a usage problem found once the input is known
        _fail(exc.format_message(), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback
        if os.environ.get("FORMCHECK_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        _fail(f"internal error ({type(exc).__name__}: {first}); set FORMCHECK_DEBUG=1 for "
              "the traceback and please report it", EXIT_BUG)
    finally:
        _restore_signal_handlers(old)


def _options(**kw: Any) -> Any:
    from formcheck.api import DEFAULT_NUM_POSES, Options

    return Options(
        model=kw.get("model"), slowmo=kw.get("slowmo") or 1.0, view=kw.get("view"),
        direction=kw.get("direction"), setting=kw.get("setting"), gait=kw.get("gait"),
        height_cm=kw.get("height"), start_s=kw.get("start"), end_s=kw.get("end"),
        rules=kw.get("rules"), num_poses=kw.get("max_people") or DEFAULT_NUM_POSES,
        person=kw.get("person"), jobs=kw.get("jobs"),
    )


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


def _start_pool(jobs: int | None) -> Any:
    """Start the worker processes for one clip (once the input has passed its checks; their
    start-up then overlaps reading the clip's timeline and the imports here): a context
    manager giving the :class:`~formcheck.pose_parallel.PosePool`, or None for one job."""
    import contextlib

    from formcheck.pose_parallel import PosePool, resolve_jobs

    n = resolve_jobs(jobs)
    return PosePool(n) if n > 1 else contextlib.nullcontext(None)


common_model = [
    click.option("--model", type=click.Path(), default=None,
                 help="Pose model bundle (.task); default: the one shipped with formcheck."),
    click.option("--slowmo", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
                 help="Slow-motion factor of the clip (e.g. 4 for 120 fps played at 30)."),
    click.option("--force", is_flag=True, help="Replace an existing output folder."),
    click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary."),
    click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                 help="Worker processes for the clip (default: the usable CPU cores): the "
                 "pose model and annotated.mp4 run in time segments in parallel."),
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
@click.option("--max-people", type=click.IntRange(1, 5), default=4, show_default=True,
              help="People the model may find per frame (all are kept in landmarks.npz).")
def pose(video: str, out: str, model: str | None, slowmo: float, force: bool,
         quiet: bool, jobs: int | None, max_people: int) -> None:
    """Extract pose landmarks from VIDEO (landmarks.npz, landmarks.csv, pose.json)."""

    def job() -> None:
        import contextlib

        with contextlib.ExitStack() as stack:
            run(lambda: stack.enter_context(_start_pool(jobs)))

    def run(start_pool: Any) -> None:
        from formcheck.outputs import staged_dir
        from formcheck.video import probe

        info = probe(video, slowmo=slowmo)
        from formcheck.outputs import check_free

        check_free(Path(out), force)
        pool = start_pool()  # after the input checks: a bad input starts no processes
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


def _load_pose_file(pose_file: str, info: Any) -> Any:
    """Load a ``--pose`` landmarks.npz, or raise :class:`PoseFileError` saying why not."""
    import zipfile

    from formcheck.errors import InputNotFoundError, PoseFileError
    from formcheck.pose import PoseSeries

    p = Path(pose_file)
    if not p.is_file():
        raise InputNotFoundError("no such landmarks file; pass the landmarks.npz written by "
                                 "'formcheck pose' or 'formcheck analyze'", p)
    try:
        ps = PoseSeries.load(p)
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        raise PoseFileError(f"not a formcheck landmarks file ({type(exc).__name__}); pass the "
                            "landmarks.npz written by 'formcheck pose' or 'formcheck analyze'",
                            p) from exc
    if (ps.width_px, ps.height_px) != (info.width_px, info.height_px):
        raise PoseFileError(f"the landmarks were made from a {ps.width_px}x{ps.height_px} "
                            f"video, but the video is {info.width_px}x{info.height_px}; pass "
                            "the landmarks of this video", p)
    return ps


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
@click.option("--max-people", type=click.IntRange(1, 5), default=4, show_default=True,
              help="People the model may find per frame; the runner is chosen among them "
              "(1 skips the census of everyone: about 1.4x faster, but sees nobody else).")
@click.option("--person", type=click.IntRange(min=1), default=None,
              help="Analyse this person (the number boxed in people.png) instead of the one "
              "formcheck chooses.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json to stdout.")
@click.option("--no-video", is_flag=True, help="Do not write annotated.mp4.")
@click.option("--no-html", is_flag=True, help="Do not write report.html.")
@click.option("--max-size", type=click.IntRange(240, 4320), default=1080, show_default=True,
              help="Longest side of annotated.mp4 (px).")
@click.option("--slowmo-contacts", is_flag=True,
              help="Slow annotated.mp4 down 4x around each initial contact (same frames, "
              "longer video).")
@click.option("--frames", is_flag=True, help="Write a PNG still per initial contact.")
def analyze(video: str, out: str | None, pose_file: str | None, as_json: bool,
            no_video: bool, no_html: bool, max_size: int, slowmo_contacts: bool,
            frames: bool, force: bool, quiet: bool, **kw: Any) -> None:
    """Analyse the running form in VIDEO and write reports to --out."""
    start, end = kw.get("start"), kw.get("end")
    if start is not None and end is not None and end <= start:
        raise click.BadParameter(f"--end ({end} s) must be after --start ({start} s)",
                                 param_hint="--end")

    def job() -> None:
        import contextlib

        with contextlib.ExitStack() as stack:
            run(lambda: stack.enter_context(_start_pool(kw.get("jobs"))))

    def run(start_pool: Any) -> None:
        from formcheck import rules as rules_mod
        from formcheck.api import analyze_pose, run_pose
        from formcheck.outputs import check_free
        from formcheck.report import dumps
        from formcheck.report.terminal import summary_text
        from formcheck.report.writer import OutputOptions, write_outputs
        from formcheck.video import probe

        opts = _options(**kw)
        outdir = Path(out) if out else Path(video).with_name(Path(video).stem + "_formcheck")
        info = probe(video, slowmo=opts.slowmo)  # fail fast: input problems first
        _start_preload()
        if opts.start_s is not None and info.duration_s > 0 and \
                opts.start_s >= info.duration_s:
            raise click.BadParameter(f"{opts.start_s:g} s is not before the end of the clip "
                                     f"({info.duration_s:.1f} s)", param_hint="'--start'")
        if opts.rules:
            rules_mod.load_rules(Path(opts.rules))  # fail fast on a bad rules file
        check_free(outdir, force)
        pool = start_pool()  # after the input checks: a bad input starts no processes
        if pose_file:
            ps = _load_pose_file(pose_file, info)
        else:
            ps = run_pose(video, opts, progress=None if not quiet else False, pool=pool)
        analysis = analyze_pose(ps, opts)
        from dataclasses import replace

        analysis = replace(analysis, source=str(video))
        oo = OutputOptions(html=not no_html, video=not no_video, max_video_side_px=max_size,
                           slowmo_contacts=slowmo_contacts, frames=frames, force=force)
        rep = write_outputs(analysis, outdir, info.to_dict(), oo,
                            progress=None if not quiet else False, pool=pool)
        if as_json:
            click.echo(dumps(rep), nl=False)
        elif not quiet:
            click.echo(summary_text(rep, color=sys.stdout.isatty()))
            click.echo(f"\nReports written to {outdir}/")

    run_guarded(job)


from formcheck.batch import batch_command  # noqa: E402

main.add_command(batch_command, name="batch")


if __name__ == "__main__":  # pragma: no cover
    main()
