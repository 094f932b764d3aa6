"""Batch records: one recording to analyse (:class:`Job`) and what happened to it
(:class:`Outcome`), plus the names of the files that mark a finished output folder.

Both records are picklable: they travel to local worker processes and Dask workers and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Name of the stamp written last into each finished output folder.
STAMP_NAME = ".formcheck-done.json"
#: Suffix of each recording's output folder (after the input file's full name).
OUT_SUFFIX = "_formcheck"
#: Version of the stamp's layout; a different version means "redo".
STAMP_VERSION = 1


@dataclass(frozen=True)
class Job:
    """One recording to analyse (picklable: sent to worker processes and Dask workers).

    Attributes:
        index: position in the input (summary rows keep this order).
        display: the path as shown in the summary (relative to INPUT, or as in the manifest).
        src: absolute path of the video.
        outdir: absolute path of its output folder.
        rel_out: output folder relative to OUTDIR (POSIX separators).
        options: :class:`formcheck.api.Options` fields.
        labels: manifest label/ID columns, passed through to the summary.
        html, video, max_video_side_px: what to write besides the JSON/CSV reports.
        settings_key: everything that, when changed, makes a finished result stale.
        error: a manifest problem found while planning (the recording then fails with it).
        sha256: the input's content hash when the planner computed it (None = not yet).
        force: redo even when the stamp matches.
        clip_jobs: worker processes for this one recording's pose model and video (the
            batch gives the cores to the recordings first; a batch of fewer recordings than
            cores splits each recording in time segments, see formcheck.pose_parallel).
    """

    index: int
    display: str
    src: str
    outdir: str
    rel_out: str
    options: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    html: bool = True
    video: bool = True
    max_video_side_px: int = 1080
    settings_key: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    sha256: str | None = None
    clip_jobs: int = 1
    force: bool = False


@dataclass(frozen=True)
class Outcome:
    """What happened to one recording.

    ``status`` is ``ok`` or ``failed``; ``action`` is ``analysed``, ``unchanged`` (a matching
    earlier result was kept) or ``none`` (failed before/while analysing); ``fields`` holds the
    summary values read from report.json; ``elapsed_s`` is the wall time spent (s)."""

    index: int
    status: str
    action: str
    reason: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
