"""``formcheck batch``: analyse a folder (or a manifest CSV) of recordings, in parallel.

Each recording goes through exactly what ``formcheck analyze`` runs (:mod:`formcheck.api`
and :func:`formcheck.report.writer.write_outputs`) in its own output folder, written
atomically.  A small stamp, ``.formcheck-done.json``, is written last into each folder; a
later run skips recordings whose stamp matches the input's content hash (SHA-256) and the
settings, so an interrupted or extended batch resumes where it stopped.  ``summary.csv`` and
``summary.html`` in the output folder list every recording.

Work runs either in local worker processes (``--jobs``, a ``spawn`` process pool, one pose
model per worker process) or on a Dask cluster (``--scheduler``).  Both call the same task
function, :func:`run_recording`.

Output layout (the input tree is mirrored; the file's full name, extension included, keeps
``clip.mp4`` and ``clip.mov`` apart)::

    INPUT/a/clip.mp4   ->  OUTDIR/a/clip.mp4_formcheck/{report.json, report.html, ...}
    INPUT/a/clip.mov   ->  OUTDIR/a/clip.mov_formcheck/

Top-level imports are kept light (standard library and click): worker processes import this
module to unpickle the task, and Dask is imported only for ``--scheduler``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import shutil
import signal
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from formcheck.errors import (
    BatchFailuresError,
    FormcheckError,
    InputNotFoundError,
    OutputExistsError,
)

#: Name of the stamp written last into each finished output folder.
STAMP_NAME = ".formcheck-done.json"
#: Suffix of each recording's output folder (after the input file's full name).
OUT_SUFFIX = "_formcheck"
#: Version of the stamp's layout; a different version means "redo".
STAMP_VERSION = 1
#: Manifest columns that are per-recording settings (everything else but ``path`` is a label).
SETTING_COLUMNS = ("view", "direction", "setting", "gait", "slowmo", "height_cm", "start_s",
                   "end_s")
#: Metrics whose per-clip value (median over steps, or share for ``*_share_pct``) is copied
#: into the summary, after ``cadence_spm``.
KEY_METRICS = ("overstride_pct_leg", "foot_strike_angle_deg", "heel_strike_share_pct",
               "trunk_lean_deg", "contact_time_ms", "knee_flexion_midstance_deg",
               "vertical_oscillation_pct_leg", "arm_cross_share_pct",
               "step_time_asymmetry_pct")
#: Summary columns before the per-rule and per-metric ones (labels come first of all).
BASE_COLUMNS = ("path", "status", "attention", "reason", "action", "duration_s", "view",
                "setting", "gait", "people", "cadence_spm", "warnings")
#: Environment variables that cap the BLAS/OpenMP thread pools of a worker process.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: Threads per local worker process for the BLAS/OpenMP pools (None = library defaults).
#: Chosen by measurement with ``bench/batch_speed.py`` (see docs/batch.md).
DEFAULT_WORKER_THREADS: int | None = 1

_CHOICES = {
    "view": ("side", "front", "back", "oblique"),
    "direction": ("left", "right"),
    "setting": ("treadmill", "overground"),
    "gait": ("running", "walking"),
}
_STALE_RE = re.compile(r"^\..+\.(part|old)-[0-9a-f]{8}$")


class BatchSetupError(FormcheckError):
    """A batch that cannot start: bad manifest, Dask missing, scheduler unreachable.

    These are command-line usage problems, so they share click's exit code 2."""

    exit_code = 2


# --------------------------------------------------------------------------------------------
# Planning: what to analyse, with which settings, into which folder


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


def _sha256(path: str | os.PathLike[str]) -> str | None:
    """SHA-256 of a file's content, or None when it cannot be read."""
    from hashlib import sha256

    h = sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def find_videos(folder: Path, exclude: Path | None = None) -> list[Path]:
    """Video files under ``folder`` (recursive; extensions from
    :data:`formcheck.video.VIDEO_EXTENSIONS`, any case), sorted by relative path.

    Skipped: hidden files and folders (names starting with ``.``, e.g. macOS ``._clip.mp4``
    resource forks), folders ending in ``_formcheck`` (formcheck's own outputs, which hold
    ``annotated.mp4``), ``exclude`` (the batch's output folder when it lies inside the
    input) and symlinked folders (not followed, to avoid loops)."""
    from formcheck.video import VIDEO_EXTENSIONS

    exts = {e.lower() for e in VIDEO_EXTENSIONS}
    skip = os.path.realpath(exclude) if exclude is not None else None
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs
                   if not d.startswith(".") and not d.endswith(OUT_SUFFIX)
                   and os.path.realpath(os.path.join(root, d)) != skip]
        for name in files:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in exts:
                continue
            p = Path(root) / name
            if p.is_file():
                found.append(p)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _parse_value(col: str, raw: str) -> Any:
    """One manifest setting, validated like the CLI option of the same meaning."""
    v = raw.strip()
    if col in _CHOICES:
        low = v.lower()
        if low not in _CHOICES[col]:
            raise ValueError(f"{col} {v!r} is not one of {', '.join(_CHOICES[col])}")
        return low
    try:
        x = float(v)
    except ValueError:
        raise ValueError(f"{col} {v!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{col} {v!r} is not a finite number")
    if col == "slowmo" and x < 0.01:
        raise ValueError(f"slowmo {v!r} must be at least 0.01")
    if col == "height_cm" and not 50 <= x <= 250:
        raise ValueError(f"height_cm {v!r} must be between 50 and 250")
    if col in ("start_s", "end_s") and x < 0:
        raise ValueError(f"{col} {v!r} must not be negative")
    return x


def _sniff_delimiter(header: str) -> str:
    """``,`` unless the header line only has ``;`` or tabs (spreadsheet exports)."""
    if "," in header:
        return ","
    for d in (";", "\t"):
        if d in header:
            return d
    return ","


@dataclass(frozen=True)
class Entry:
    """One recording before output paths are assigned."""

    src: Path
    display: str
    rel: Path | None  # relative path inside the input tree (None: outside the manifest folder)
    overrides: dict[str, Any]
    labels: dict[str, str]
    row: int | None = None
    error: str | None = None


def read_manifest(csv_path: Path) -> tuple[list[Entry], list[str]]:
    """Entries of a manifest CSV and its label column names (in file order).

    Required column: ``path`` (relative to the CSV's folder, or absolute).  Optional setting
    columns: :data:`SETTING_COLUMNS` (empty cell = the command-line default).  Every other
    column is a label passed through to the summary.  Column names are matched without
    regard to case or surrounding spaces.  A bad value fails only its own row."""
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BatchSetupError("the manifest is not UTF-8 text; save it as 'CSV UTF-8'",
                              csv_path) from None
    except OSError as exc:
        raise InputNotFoundError(f"cannot be read ({exc.strerror or exc})", csv_path) from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise BatchSetupError("the manifest is empty; it needs a header row with a 'path' "
                              "column", csv_path)
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(lines[0]))
    header = [h.strip() for h in next(reader)]
    keys = [h.lower() for h in header]
    if "path" not in keys:
        raise BatchSetupError(f"the manifest has no 'path' column (columns: "
                              f"{', '.join(header) or 'none'})", csv_path)
    dup = sorted({k for k in keys if keys.count(k) > 1 and k})
    if dup:
        raise BatchSetupError(f"the manifest repeats column(s) {', '.join(dup)}", csv_path)
    label_cols = [h for h, k in zip(header, keys, strict=True)
                  if k and k != "path" and k not in SETTING_COLUMNS]
    base = csv_path.parent.absolute()
    entries: list[Entry] = []
    for lineno, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        rec = dict(zip(keys, cells, strict=False))
        labels = {h: cells[i].strip() for i, h in enumerate(header) if h in label_cols}
        raw_path = rec.get("path", "").strip()
        error = None
        overrides: dict[str, Any] = {}
        for col in SETTING_COLUMNS:
            if rec.get(col, "").strip():
                try:
                    overrides[col] = _parse_value(col, rec[col])
                except ValueError as exc:
                    error = error or f"manifest row {lineno}: {exc}"
        if not raw_path:
            entries.append(Entry(src=base / f"row{lineno}", display=f"(row {lineno})",
                                 rel=None, overrides=overrides, labels=labels, row=lineno,
                                 error=f"manifest row {lineno}: the 'path' cell is empty"))
            continue
        src = Path(os.path.normpath(base / Path(raw_path).expanduser()))
        try:
            rel: Path | None = src.relative_to(base)
        except ValueError:
            rel = None
        entries.append(Entry(src=src, display=raw_path, rel=rel, overrides=overrides,
                             labels=labels, row=lineno, error=error))
    if not entries:
        raise BatchSetupError("the manifest lists no recordings", csv_path)
    return entries, label_cols


def output_rel(entries: list[Entry]) -> list[Path]:
    """Output folder of each entry, relative to OUTDIR.

    ``<relative dir>/<file name with extension>_formcheck``; a recording outside the
    manifest's folder goes under ``_outside/<its absolute path>``; a file listed more than
    once in a manifest gets the row's ``id`` label (or ``row<N>``) appended to the name, so
    output folders never collide."""
    seen: dict[str, int] = {}
    for e in entries:
        seen[os.path.normcase(str(e.src))] = seen.get(os.path.normcase(str(e.src)), 0) + 1
    ids = [next((v for k, v in e.labels.items() if k.lower() == "id"), "") for e in entries]
    outs: list[Path] = []
    for e, id_ in zip(entries, ids, strict=True):
        if e.rel is not None:
            rel = e.rel
        else:
            rel = Path("_outside", *Path(e.src).absolute().parts[1:])
        name = rel.name
        if seen[os.path.normcase(str(e.src))] > 1:
            tag = re.sub(r"[^A-Za-z0-9._-]+", "_", id_).strip("._") if id_ else ""
            same = [i for i, x in zip(ids, entries, strict=True) if x.src == e.src]
            if not tag or same.count(id_) > 1:
                tag = f"row{e.row}"
            name = f"{name}_{tag}"
        outs.append(rel.with_name(name + OUT_SUFFIX))
    lowered = [os.path.normcase(str(p)).lower() for p in outs]
    if len(set(lowered)) != len(lowered):  # pragma: no cover - defensive (case-only clashes)
        raise BatchSetupError("two recordings would share an output folder (names that "
                              "differ only in case); rename one")
    return outs


def _file_key(path: str | None) -> dict[str, Any] | None:
    """Path and content hash of an optional settings file (rules, model)."""
    if not path:
        return None
    return {"path": os.path.abspath(path), "sha256": _sha256(path)}


def plan(input_path: Path, outdir: Path, defaults: dict[str, Any], html: bool, video: bool,
         max_video_side_px: int = 1080, force: bool = False
         ) -> tuple[list[Job], list[str]]:
    """Turn INPUT (a folder or a manifest CSV) into jobs; returns (jobs, label columns).

    ``defaults`` are :class:`formcheck.api.Options` fields from the command line; manifest
    settings override them per recording."""
    from formcheck import __version__
    from formcheck.api import Options

    if not input_path.exists():
        raise InputNotFoundError("no such file or folder; check the path", input_path)
    if input_path.is_dir():
        exclude = outdir if _is_strictly_inside(outdir, input_path) else None
        vids = find_videos(input_path, exclude=exclude)
        if not vids:
            from formcheck.video import VIDEO_EXTENSIONS

            raise InputNotFoundError("no video files found in this folder (looked for "
                                     f"{', '.join(VIDEO_EXTENSIONS)})", input_path)
        entries = [Entry(src=p.absolute(), display=p.relative_to(input_path).as_posix(),
                         rel=p.relative_to(input_path), overrides={}, labels={}) for p in vids]
        label_cols: list[str] = []
    elif input_path.suffix.lower() == ".csv":
        entries, label_cols = read_manifest(input_path)
    else:
        hint = (" (for a single video use 'formcheck analyze')"
                if input_path.suffix.lower() in _video_exts() else "")
        raise BatchSetupError(f"INPUT must be a folder of videos or a manifest .csv{hint}",
                              input_path)
    rels = output_rel(entries)
    model_key = _file_key(defaults.get("model"))
    rules_key = _file_key(defaults.get("rules"))
    jobs: list[Job] = []
    for i, (e, rel) in enumerate(zip(entries, rels, strict=True)):
        fields = dict(defaults)
        fields.update(e.overrides)
        opts = Options(**fields).to_dict()
        key = {"stamp_version": STAMP_VERSION, "formcheck_version": __version__,
               "options": {k: v for k, v in opts.items() if k not in ("model", "rules")},
               "model": model_key, "rules": rules_key,
               "outputs": {"html": html, "video": video,
                           "max_video_side_px": max_video_side_px}}
        jobs.append(Job(index=i, display=e.display, src=str(e.src),
                        outdir=str((outdir / rel).absolute()), rel_out=rel.as_posix(),
                        options=opts, labels=e.labels, html=html, video=video,
                        max_video_side_px=max_video_side_px,
                        settings_key=json.loads(json.dumps(key)), error=e.error,
                        force=force))
    return jobs, label_cols


def _video_exts() -> set[str]:
    from formcheck.video import VIDEO_EXTENSIONS

    return {e.lower() for e in VIDEO_EXTENSIONS}


def _is_strictly_inside(child: Path, parent: Path) -> bool:
    c, p = os.path.realpath(child), os.path.realpath(parent)
    return c != p and os.path.commonpath([c, p]) == p


# --------------------------------------------------------------------------------------------
# The task: one recording (runs in a worker process or on a Dask worker)


#: Low-confidence reasons that every clip carries (the method's own limits, stated in each
#: report), so they do not single a recording out for attention: only other reasons (few
#: steps, hidden feet, an oblique view, a low frame rate ...) do.
STANDING_CAUTIONS = ("2D knee angles carry", "no published threshold", "No published threshold",
                     "always a low-confidence cue", "measure: read this as a cue")


def _clip_specific(reason: str) -> bool:
    """True when a finding's low-confidence reason has a part that is about this clip."""
    parts = [p.strip() for p in str(reason).split(";") if p.strip()]
    return any(not any(c in p for c in STANDING_CAUTIONS) for p in parts)


#: Findings that need a side (sagittal) view: in another view they are "wrong view".
_SIDE_VIEW_REASON = "needs a side view"


def attention_reasons(report: dict[str, Any]) -> list[str]:
    """Why a clinician should look at (or re-film) this recording, from its report.json:
    slowed down / sped up (time-based results withheld), not measurable (no finding could be
    assessed), several people in view, walking (running findings withheld), low confidence
    (a fault judged only at low confidence), wrong view (findings that need a side view, in a
    front/back/oblique clip).  Empty = nothing to check."""
    out: list[str] = []
    kinds = {d.get("kind"): d for d in report.get("doubts", [])}
    if "slowed_down" in kinds:
        r = str(kinds["slowed_down"].get("reason", ""))
        out.append("slowed down" + (f" ({r.split('about ')[1].split(';')[0]})"
                                    if "about " in r else ""))
    if "sped_up" in kinds:
        out.append("sped up")
    for k in kinds:
        if k not in ("slowed_down", "sped_up"):
            out.append(str(k).replace("_", " "))
    findings = report.get("findings", [])
    if findings and not any(f.get("assessed") for f in findings):
        gait = report.get("view", {}).get("gait")
        out.append("walking: running form not assessed" if gait == "walking"
                   else "not measurable: no finding could be assessed")
    ppl = report.get("people") or {}
    if (ppl.get("n_people") or 0) > 1:
        out.append(f"{ppl['n_people']} people in view (person {ppl.get('chosen')} analysed)")
    low = [f["id"] for f in findings if f.get("assessed") and f.get("confidence") == "low"
           and f.get("severity") in ("mild", "marked") and _clip_specific(f.get("reason", ""))]
    if low:
        out.append("low confidence: " + ", ".join(low))
    wrong = [f["id"] for f in findings if not f.get("assessed")
             and _SIDE_VIEW_REASON in str(f.get("reason", ""))]
    if wrong and any(f.get("assessed") for f in findings):
        out.append(f"wrong view for {len(wrong)} finding{'s' if len(wrong) > 1 else ''} "
                   "(film from the side)")
    return out


def summary_fields(report: dict[str, Any]) -> dict[str, Any]:
    """Summary values of one report.json document.

    ``duration_s`` is the clip's duration (real time, s); ``view``/``setting``/``gait`` as
    classified (or overridden); each metric column is the report's per-clip value (the median
    over steps; shares in %); each rule column is the finding's severity (``none``, ``mild``,
    ``marked``) or ``n/a`` when the rule could not assess the clip."""
    ppl = report.get("people") or {}
    out: dict[str, Any] = {
        "duration_s": report.get("source", {}).get("video", {}).get("duration_s"),
        "view": report.get("view", {}).get("view"),
        "setting": report.get("view", {}).get("setting"),
        "gait": report.get("view", {}).get("gait"),
        "people": ppl.get("n_people"),
        "attention": "; ".join(attention_reasons(report)),
        "warnings": " | ".join(report.get("warnings", [])),
    }
    metrics = report.get("metrics", {})
    for mid in ("cadence_spm", *KEY_METRICS):
        out[mid] = (metrics.get(mid) or {}).get("value")
    for f in report.get("findings", []):
        out["rule:" + f["id"]] = f["severity"] if f.get("assessed") else "n/a"
    return out


def _read_stamp(outdir: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((outdir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def check_unchanged(job: Job, sha: str | None) -> Outcome | None:
    """The kept result when ``job``'s output folder is complete and was made from the same
    content (``sha``) and settings; None when the recording must be (re)analysed."""
    if job.force or job.error or sha is None:
        return None
    out = Path(job.outdir)
    stamp = _read_stamp(out)
    if (stamp is None or stamp.get("sha256") != sha
            or stamp.get("settings") != job.settings_key):
        return None
    files = stamp.get("files")
    if not isinstance(files, list) or not all((out / f).is_file() for f in files):
        return None
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Outcome(index=job.index, status="ok", action="unchanged",
                   fields=summary_fields(report), elapsed_s=float(stamp.get("elapsed_s", 0)))


def failure_reason(exc: BaseException, path: str | None = None) -> str:
    """One line: a :class:`FormcheckError`'s message (without the path prefix, which the
    summary shows in its own column), else ``ExceptionType: first line of the message``."""
    from formcheck.rules import RulesError

    if isinstance(exc, (FormcheckError, RulesError)):
        msg = str(exc)
        p = getattr(exc, "path", None) or path
        if p and msg.startswith(f"{p}: "):
            msg = msg[len(p) + 2:]
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return " ".join(msg.split())


def _remove_dir(path: Path) -> None:
    """Remove a folder by first renaming it out of sight (so it never looks half-deleted)."""
    if not path.is_dir():
        return
    gone = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
    try:
        os.replace(path, gone)
    except OSError:
        return
    shutil.rmtree(gone, ignore_errors=True)


def run_recording(job: Job) -> Outcome:
    """Analyse one recording into ``job.outdir`` (the task run by local workers and Dask).

    Never raises for a problem with the recording: it returns a ``failed`` outcome with a
    one-line reason.  When the recording fails, an earlier result in ``job.outdir`` made from
    other content or settings (or without a stamp) is removed, so the output tree only holds
    results that match their inputs; one that still matches (a ``--force`` rerun), or any
    result when the input cannot be read (e.g. an unmounted drive), is kept."""
    t0 = time.perf_counter()
    if job.error:
        return Outcome(index=job.index, status="failed", action="none", reason=job.error)
    sha = job.sha256 or _sha256(job.src)
    kept = check_unchanged(job, sha)
    if kept is not None:
        return kept
    out = Path(job.outdir)
    try:
        from dataclasses import replace

        from formcheck.api import Options, analyze_pose, run_pose
        from formcheck.report.writer import OutputOptions, write_outputs
        from formcheck.video import probe

        opts = replace(Options(**job.options), jobs=job.clip_jobs)
        with contextlib.ExitStack() as stack:
            pool = None
            if job.clip_jobs > 1:  # spare cores: this recording's own worker processes
                from formcheck.pose_parallel import PosePool

                pool = stack.enter_context(PosePool(job.clip_jobs))
            info = probe(job.src, slowmo=opts.slowmo)
            pose = run_pose(job.src, opts, progress=False, pool=pool)
            analysis = replace(analyze_pose(pose, opts), source=job.src)
            oo = OutputOptions(html=job.html, video=job.video,
                               max_video_side_px=job.max_video_side_px, force=True)
            report = write_outputs(analysis, out, info.to_dict(), oo, progress=False,
                                   pool=pool)
        elapsed = time.perf_counter() - t0
        files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                       if p.is_file() and p.name != STAMP_NAME)
        stamp = {"input": job.display, "sha256": sha, "settings": job.settings_key,
                 "files": files, "elapsed_s": round(elapsed, 3),
                 "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        from formcheck.outputs import write_text_atomic

        write_text_atomic(out / STAMP_NAME, json.dumps(stamp, indent=2) + "\n")
        return Outcome(index=job.index, status="ok", action="analysed",
                       fields=summary_fields(report), elapsed_s=elapsed)
    except Exception as exc:  # noqa: BLE001 - a recording's failure must not stop the batch
        stamp = _read_stamp(out)
        if sha is not None and out.is_dir() and (
                stamp is None or stamp.get("sha256") != sha
                or stamp.get("settings") != job.settings_key):
            _remove_dir(out)  # a result of other content/settings: no longer this input's
        return Outcome(index=job.index, status="failed", action="none",
                       reason=failure_reason(exc, job.src),
                       elapsed_s=time.perf_counter() - t0)
    except BaseException:
        if _STOPPING:  # SIGTERM in a local worker: the staged folder is cleaned up; leave
            os._exit(143)  # now (the pool would otherwise wait for the next task)
        raise


# --------------------------------------------------------------------------------------------
# Running jobs: local process pool or Dask


#: Set in a local worker process when it was told to stop (SIGTERM).
_STOPPING = False


def _worker_init(parent_pid: int) -> None:
    """Worker process setup: Ctrl-C is the parent's to handle (it stops the workers with
    SIGTERM, which raises SystemExit here so staged output folders are cleaned up), and on
    Linux the worker is sent SIGTERM when the parent dies (even by SIGKILL)."""
    import threading

    from tqdm import tqdm

    # tqdm would otherwise create a multiprocessing lock (a named semaphore) per worker,
    # which a worker stopped by SIGTERM leaves behind (a resource_tracker warning)
    tqdm.set_lock(threading.RLock())
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _term(signum: int, frame: object) -> None:
        global _STOPPING
        _STOPPING = True
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _term)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - exotic libc
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


@contextlib.contextmanager
def _thread_env(threads: int | None) -> Iterator[None]:
    """Set the BLAS/OpenMP thread caps for worker processes started inside the block
    (variables the user set are left alone)."""
    if threads is None:
        yield
        return
    added = [v for v in THREAD_ENV_VARS if v not in os.environ]
    for v in added:
        os.environ[v] = str(threads)
    try:
        yield
    finally:
        for v in added:
            os.environ.pop(v, None)


def _stop_children(kids: list[Any], grace_s: float = 15.0) -> None:
    """SIGTERM the pool's worker processes (they clean up their staged folders), then
    SIGKILL any still alive after ``grace_s``."""
    for p in kids:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + grace_s
    for p in kids:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            with contextlib.suppress(Exception):
                p.kill()
            p.join(2.0)


def run_local(jobs: list[Job], n_workers: int, on_done: Callable[[Outcome], None],
              threads: int | None = DEFAULT_WORKER_THREADS) -> None:
    """Run ``jobs`` in ``n_workers`` spawned worker processes, calling ``on_done`` per job.

    At most ``n_workers`` jobs are in flight, so if a worker process dies (killed, out of
    memory, a crash in native code), only those jobs are affected: each is then retried
    alone in a fresh pool, and fails ("the worker process died") only if it kills that one
    too."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")
    pending: deque[Job] = deque(jobs)
    suspects: deque[Job] = deque()
    with _thread_env(threads):
        while pending or suspects:
            size = max(1, min(n_workers, len(pending) + len(suspects)))
            others = set(mp.active_children())  # the caller's own child processes
            ex = ProcessPoolExecutor(max_workers=size, mp_context=ctx,
                                     initializer=_worker_init, initargs=(os.getpid(),))
            inflight: dict[Any, tuple[Job, bool]] = {}
            broken = False
            try:
                while (pending or suspects or inflight) and not broken:
                    try:
                        if suspects:
                            if not inflight:
                                j = suspects.popleft()
                                try:
                                    inflight[ex.submit(run_recording, j)] = (j, True)
                                except BaseException:
                                    suspects.appendleft(j)
                                    raise
                        else:
                            while pending and len(inflight) < size:
                                j = pending.popleft()
                                try:
                                    inflight[ex.submit(run_recording, j)] = (j, False)
                                except BaseException:
                                    pending.appendleft(j)
                                    raise
                    except BrokenProcessPool:
                        broken = True
                    if not inflight:
                        continue
                    done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                    for f in done:
                        j, alone = inflight.pop(f)
                        try:
                            on_done(f.result())
                        except BrokenProcessPool:
                            broken = True
                            if alone:
                                on_done(Outcome(
                                    index=j.index, status="failed", action="none",
                                    reason="the worker process died while analysing it "
                                           "(killed, out of memory or crashed)"))
                            else:
                                suspects.append(j)
                        except Exception as exc:  # noqa: BLE001 - e.g. pickling problems
                            on_done(Outcome(index=j.index, status="failed", action="none",
                                            reason=failure_reason(exc, j.src)))
                if broken:  # collect every other in-flight job: it died with the pool
                    for f in list(inflight):
                        j, _alone = inflight.pop(f)
                        try:
                            on_done(f.result())
                        except Exception:  # noqa: BLE001
                            suspects.append(j)
            except BaseException:
                ex.shutdown(wait=False, cancel_futures=True)
                _stop_children([p for p in mp.active_children() if p not in others])
                raise
            ex.shutdown(wait=True, cancel_futures=True)


def connect(address: str) -> Any:
    """A ``dask.distributed.Client`` for the scheduler at ``address`` (one-line errors when
    Dask is not installed or the scheduler cannot be reached)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise BatchSetupError("--scheduler needs Dask, which is not installed; install it "
                              "with: pip install 'formcheck[cluster]'") from None
    try:
        return Client(address, timeout="20s")
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError ...
        raise BatchSetupError(f"cannot connect to the Dask scheduler at {address} "
                              f"({failure_reason(exc)}); is 'dask scheduler' running "
                              "there?") from None


def run_dask(jobs: list[Job], client: Any, on_done: Callable[[Outcome], None]) -> None:
    """Run ``jobs`` on a Dask cluster (``client`` from :func:`connect`): one task per
    recording (:func:`run_recording`, ``pure=False``), results as they complete.  On
    Ctrl-C the tasks not yet finished are cancelled."""
    from dask.distributed import as_completed

    futures: dict[Any, Job] = {}
    try:
        for j in jobs:
            futures[client.submit(run_recording, j, pure=False,
                                  key=f"formcheck-{j.index}-{uuid.uuid4().hex[:8]}")] = j
        for f in as_completed(list(futures)):
            j = futures[f]
            try:
                on_done(f.result())
            except Exception as exc:  # noqa: BLE001 - worker lost, unpicklable, ...
                on_done(Outcome(index=j.index, status="failed", action="none",
                                reason=failure_reason(exc, j.src)))
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        raise


# --------------------------------------------------------------------------------------------
# The whole batch


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
    """Rows of the summary, in input order, and where it was written."""

    columns: list[str]
    rows: list[dict[str, Any]]
    summary_csv: Path
    summary_html: Path

    @property
    def n_failed(self) -> int:
        return sum(1 for r in self.rows if r["status"] == "failed")


def _rule_ids(rules_path: str | None) -> tuple[list[str], Any]:
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
                 ruleset: Any, out_p: Path, client: Any, jobs: int | None, html: bool,
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
            sha = _sha256(j.src)
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
        columns, rows = _summary_rows(job_list, outcomes, label_cols, rule_ids, html)
        csv_path, html_path = out_p / "summary.csv", out_p / "summary.html"
        from formcheck.outputs import write_text_atomic

        write_text_atomic(csv_path, summary_csv_text(columns, rows))
        write_text_atomic(html_path, summary_html_text(columns, rows, ruleset))
    return BatchResult(columns=columns, rows=rows, summary_csv=csv_path,
                       summary_html=html_path)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _summary_rows(job_list: list[Job], outcomes: dict[int, Outcome], label_cols: list[str],
                  rule_ids: list[str], html: bool) -> tuple[list[str], list[dict[str, Any]]]:
    """Summary columns and one row per recording, in input order."""
    fixed = set(BASE_COLUMNS) | set(KEY_METRICS) | set(rule_ids) | {"report"}
    shown_labels = [(c, f"label_{c}" if c in fixed else c) for c in label_cols]
    columns = ([s for _, s in shown_labels] + list(BASE_COLUMNS) + rule_ids
               + list(KEY_METRICS) + ["report"])
    rows: list[dict[str, Any]] = []
    for j in job_list:
        o = outcomes.get(j.index) or Outcome(index=j.index, status="failed", action="none",
                                             reason="not run")
        row: dict[str, Any] = {s: j.labels.get(c, "") for c, s in shown_labels}
        row.update({"path": j.display, "status": o.status, "reason": o.reason,
                    "action": o.action})
        for c in ("duration_s", "view", "setting", "gait", "people", "cadence_spm",
                  "warnings", *KEY_METRICS):
            row[c] = o.fields.get(c)
        row["attention"] = ("failed: " + (o.reason or "see reason")) if o.status == "failed" \
            else (o.fields.get("attention") or "")
        for rid in rule_ids:
            row[rid] = o.fields.get("rule:" + rid)
        if o.status == "ok":
            name = "report.html" if html and (Path(j.outdir) / "report.html").is_file() \
                else "report.json"
            row["report"] = f"{j.rel_out}/{name}"
        else:
            row["report"] = None
        rows.append(row)
    return columns, rows


def summary_csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """summary.csv: one header row, one row per recording; empty cell = no value."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return buf.getvalue()


def summary_html_text(columns: list[str], rows: list[dict[str, Any]], ruleset: Any) -> str:
    """summary.html: one self-contained page (inline CSS and JS), a sortable table whose
    path cells link to each recording's report (relative links)."""
    import jinja2

    from formcheck import __version__

    env = jinja2.Environment(loader=jinja2.PackageLoader("formcheck", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    from formcheck.results import LABELS

    numeric = {"duration_s", "cadence_spm", "people", *KEY_METRICS}
    titles = {r.id: r.title for r in getattr(ruleset, "rules", ())}
    heads = {c: LABELS.get(c) or titles.get(c) or c.replace("_", " ") for c in columns}
    heads.update({"duration_s": "duration (s)", "cadence_spm": "cadence (steps/min)",
                  "attention": "needs attention"})
    return env.get_template("summary.html.j2").render(
        columns=columns, rows=rows, numeric=numeric, version=__version__, heads=heads,
        # in the page, a failure's reason is in "needs attention"; the action is in the CSV
        hidden={"report", "reason", "action"}, wide={"path", "attention", "warnings"},
        n_attention=sum(bool(r.get("attention")) for r in rows),
        n_ok=sum(r["status"] == "ok" for r in rows),
        n_failed=sum(r["status"] == "failed" for r in rows),
        n_unchanged=sum(r["action"] == "unchanged" for r in rows),
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        disclaimer=getattr(getattr(ruleset, "safety", None), "disclaimer", ""),
    )


# --------------------------------------------------------------------------------------------
# Command line


@click.command("batch")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--out", "out", type=click.Path(), required=True,
              help="Output folder (the input tree is mirrored inside it).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Recordings analysed at once on this computer [default: CPU cores].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on a Dask cluster (e.g. tcp://10.0.0.5:8786) instead of locally; "
                   "needs formcheck[cluster].")
@click.option("--no-video", is_flag=True, help="Do not write annotated.mp4 (much faster).")
@click.option("--no-html", is_flag=True, help="Do not write report.html.")
@click.option("--max-size", type=click.IntRange(240, 4320), default=1080, show_default=True,
              help="Longest side of annotated.mp4 (px).")
@click.option("--force", is_flag=True, help="Redo every recording, even unchanged ones.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or final summary line.")
@click.option("--model", type=click.Path(), default=None,
              help="Pose model bundle (.task); default: the one shipped with formcheck.")
@click.option("--rules", type=click.Path(), default=None,
              help="Rules TOML overriding the packaged thresholds and advice.")
@click.option("--slowmo", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
              help="Slow-motion factor (a manifest 'slowmo' column overrides it).")
@click.option("--view", type=click.Choice(_CHOICES["view"]), default=None,
              help="Camera view for every recording (default: detected).")
@click.option("--direction", type=click.Choice(_CHOICES["direction"]), default=None,
              help="Direction the runner faces (default: detected).")
@click.option("--setting", type=click.Choice(_CHOICES["setting"]), default=None,
              help="Treadmill or overground (default: detected).")
@click.option("--gait", type=click.Choice(_CHOICES["gait"]), default=None,
              help="Running or walking (default: detected).")
@click.option("--height", type=click.FloatRange(min=50, max=250), default=None,
              help="Runner's height in cm (a manifest 'height_cm' column overrides it).")
@click.option("--max-people", type=click.IntRange(1, 5), default=4, show_default=True,
              help="People the model may find per frame; the runner is chosen among them "
              "(1 skips the census of everyone: about 1.4x faster, but sees nobody else).")
def batch_command(input_path: str, out: str, jobs: int | None, scheduler: str | None,
                  no_video: bool, no_html: bool, max_size: int, force: bool, quiet: bool,
                  model: str | None, rules: str | None, slowmo: float, view: str | None,
                  direction: str | None, setting: str | None, gait: str | None,
                  height: float | None, max_people: int) -> None:
    """Analyse every recording in INPUT (a folder, searched recursively, or a manifest CSV)
    and write one report folder per recording plus summary.csv and summary.html to --out.

    A rerun skips recordings whose content and settings are unchanged. Exit code 0 when
    every recording succeeded, 10 when any failed (listed in summary.csv with the reason).
    """
    from formcheck.cli import run_guarded

    defaults = {"model": model, "rules": rules, "slowmo": slowmo, "view": view,
                "direction": direction, "setting": setting, "gait": gait,
                "height_cm": height, "num_poses": max_people}

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

