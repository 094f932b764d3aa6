"""Batch planning: what to analyse (a folder, searched recursively, or a manifest CSV), with
which settings, into which output folder (the input tree mirrored, see :mod:`formcheck.batch`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formcheck.batch.jobs import OUT_SUFFIX, STAMP_VERSION, Job
from formcheck.cli_common import CHOICES
from formcheck.errors import BatchSetupError, InputNotFoundError
from formcheck.hashing import sha256_of

#: Manifest columns that are per-recording settings (everything else but ``path`` is a label).
SETTING_COLUMNS = ("view", "direction", "setting", "gait", "slowmo", "height_cm",
                   "scale_px_per_m", "start_s", "end_s")
#: Label columns with a meaning: ``runner`` groups recordings into history pages
#: (:mod:`formcheck.batch.history`) and ``date`` (ISO 8601) is the recording date there,
#: overriding the one read from the video.  Both are also copied into the summary.
RUNNER_COLUMN, DATE_COLUMN = "runner", "date"


def label_value(labels: dict[str, str], name: str) -> str:
    """A manifest label by column name (lower case), ignoring the column's case and
    surrounding spaces ('' when the manifest has no such column)."""
    return next((str(v).strip() for k, v in labels.items() if k.strip().lower() == name), "")


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
    if col in CHOICES:
        low = v.lower()
        if low not in CHOICES[col]:
            raise ValueError(f"{col} {v!r} is not one of {', '.join(CHOICES[col])}")
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
    if col == "scale_px_per_m" and not 1 <= x <= 100000:
        raise ValueError(f"scale_px_per_m {v!r} must be between 1 and 100000")
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
    column is a label passed through to the summary; ``runner`` and ``date`` also feed the
    runner history pages (a ``date`` that is not a date fails its row).  Column names are
    matched without regard to case or surrounding spaces.  A bad value fails only its own
    row."""
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
        if rec.get(DATE_COLUMN, "").strip():
            from formcheck.change.compare import parse_date

            try:
                parse_date(rec[DATE_COLUMN])
            except ValueError as exc:
                error = error or f"manifest row {lineno}: date {exc}"
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
    ids = [label_value(e.labels, "id") for e in entries]
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
    return {"path": os.path.abspath(path), "sha256": sha256_of(path)}


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
