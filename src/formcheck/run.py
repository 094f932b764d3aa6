"""Analyse one video into an output folder: the sequence ``formcheck analyze`` and each
recording of ``formcheck batch`` run.

probe the video -> (the caller's own input checks) -> check the output folder is free ->
start the clip's worker processes -> pose (the model, or a ``--pose`` landmarks file) ->
:func:`formcheck.api.analyze_pose` -> :func:`formcheck.report.writer.write_outputs`.

It sits between the stages and the commands: :mod:`formcheck.api` analyses without touching
the file system and :mod:`formcheck.report.writer` writes a finished :class:`Analysis`; this
module joins the two for a file on disk, and the CLI and the batch task only parse their
inputs and report.  No click here (the commands turn errors into exit codes).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from formcheck.api import Analysis, Options
    from formcheck.pose import PoseSeries
    from formcheck.report.writer import OutputOptions
    from formcheck.video import VideoInfo


def start_pool(jobs: int | None) -> Any:
    """A context manager giving the clip's :class:`~formcheck.pose_parallel.PosePool` of
    ``jobs`` worker processes (None = the usable cores), or None for one job."""
    from formcheck.pose_parallel import PosePool, resolve_jobs

    n = resolve_jobs(jobs)
    return PosePool(n) if n > 1 else contextlib.nullcontext(None)


def load_pose_file(pose_file: str | os.PathLike[str], info: VideoInfo) -> PoseSeries:
    """Load a ``--pose`` landmarks.npz, or raise :class:`PoseFileError` saying why not."""
    from formcheck.errors import InputNotFoundError, PoseFileError
    from formcheck.pose_series import load_checked

    p = Path(pose_file)
    if not p.is_file():
        raise InputNotFoundError("no such landmarks file; pass the landmarks.npz written by "
                                 "'formcheck pose' or 'formcheck analyze'", p)
    ps = load_checked(p, "pass the landmarks.npz written by 'formcheck pose' or 'formcheck "
                         "analyze'")
    if (ps.width_px, ps.height_px) != (info.width_px, info.height_px):
        raise PoseFileError(f"the landmarks were made from a {ps.width_px}x{ps.height_px} "
                            f"video, but the video is {info.width_px}x{info.height_px}; pass "
                            "the landmarks of this video", p)
    return ps


def analyze_to_folder(video: str | os.PathLike[str], outdir: str | os.PathLike[str],
                      options: Options, outputs: OutputOptions, *,
                      pose_file: str | os.PathLike[str] | None = None,
                      progress: bool | None = None,
                      check: Callable[[VideoInfo], None] | None = None) -> dict[str, Any]:
    """Analyse ``video`` and write every output into ``outdir`` (atomically); returns the
    report.json document.

    Args:
        video: the clip.
        outdir: the output folder (must be absent or empty unless ``outputs.force``).
        options: the analysis settings; ``options.jobs`` worker processes run the pose model
            and annotated.mp4 in time segments (started only once the input has passed its
            checks, so a bad input starts no processes).
        outputs: what to write besides the JSON/CSV reports.
        pose_file: landmarks.npz of an earlier run, used instead of the pose model.
        progress: progress bars (None = when stderr is a terminal, False = never).
        check: called with the probed video before anything else is done (the caller's own
            input checks, e.g. a ``--start`` past the end of the clip).

    Raises:
        FormcheckError: the input, the model, the rules or the output folder is unusable.
    """
    from formcheck.api import analyze_pose, run_pose
    from formcheck.outputs import check_free
    from formcheck.report.writer import write_outputs
    from formcheck.video import probe

    info = probe(video, slowmo=options.slowmo)  # fail fast: input problems first
    if check is not None:
        check(info)
    check_free(Path(outdir), outputs.force)
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(start_pool(options.jobs))
        if pose_file:
            ps = load_pose_file(pose_file, info)
        else:
            ps = run_pose(video, options, progress=progress, pool=pool)
        analysis: Analysis = replace(analyze_pose(ps, options), source=str(video))
        return write_outputs(analysis, outdir, info.to_dict(), outputs, progress=progress,
                             pool=pool)
