"""Compare sessions: did the runner's form change between two or more report folders?

Each input is a report folder (report.json, and steps.csv when report.json has no steps).
Sessions are ordered by recording date (:func:`recording_date`: the container's creation time,
else the video file's modification time, else, said so, the analysis time), or as given with
dates supplied.  The first session is the baseline; every later one is compared with it.

Verdict per metric and pair (:func:`verdict`): ``changed`` only when the change exceeds the
threshold of :func:`formcheck.change.mdc.change_threshold` (the two clips' own noise, raised to
the metric's published between-session floor); otherwise ``no change you can tell from these
clips``; ``cannot compare`` when either clip has no number or no noise estimate for it.

Fairness (:func:`fairness_warnings`): views, treadmill vs overground, gait, frame rates, the
camera set-up (runner's size in the frame, camera angle, side filmed from), slow-motion factor
and analysis settings are checked, and every difference that makes a comparison unfair is
said by name.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.change import mdc
from formcheck.errors import InputNotFoundError, ReportFolderError
from formcheck.results import label

CHANGED = "changed"
NO_CHANGE = "no change you can tell from these clips"
CANNOT = "cannot compare"


@dataclass(frozen=True)
class Session:
    """One analysed clip.

    Attributes:
        folder: the report folder.
        rep: its report.json document.
        steps: per-step columns (:func:`formcheck.change.mdc.steps_from_report`).
        date: recording time (UTC) or None; ``date_source`` says where it came from.
        noise: per-metric noise (:func:`formcheck.change.mdc.metric_noise`).
        name: short name for tables (the folder name).
    """

    folder: Path
    rep: dict[str, Any]
    steps: dict[str, np.ndarray]
    date: datetime | None
    date_source: str
    noise: dict[str, mdc.MetricNoise] = field(default_factory=dict)
    name: str = ""

    @property
    def video_path(self) -> Path | None:
        p = ((self.rep.get("source") or {}).get("video") or {}).get("path")
        return Path(p) if p and Path(p).is_file() else None

    @property
    def window(self) -> tuple[float | None, float | None]:
        o = self.rep.get("options") or {}
        return o.get("start_s"), o.get("end_s")

    def value(self, metric_id: str) -> float | None:
        m = (self.rep.get("metrics") or {}).get(metric_id) or {}
        if m.get("value") is None or m.get("status") == "not_measurable":
            return None
        return float(m["value"])

    def to_dict(self) -> dict[str, object]:
        return {"folder": str(self.folder), "name": self.name,
                "file": (self.rep.get("source") or {}).get("file", ""),
                "window_s": list(self.window),
                "date": self.date.isoformat() if self.date else None,
                "date_source": self.date_source}


# ----------------------------------------------------------------------------- dates


def _parse_time(text: str) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset allowed; UTC when none), or None."""
    s = str(text).strip().replace("Z", "+00:00")
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        try:
            d = datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def parse_date(text: str) -> datetime:
    """A user-given date or time (ISO 8601: ``2024-05-01`` or ``2024-05-01T07:30``), UTC if
    no zone is given.  Raises ValueError."""
    d = _parse_time(text)
    if d is None:
        raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    return d


def container_creation_time(path: Path) -> datetime | None:
    """The video container's ``creation_time`` tag (phones and cameras write it), or None."""
    try:
        import av

        with av.open(str(path)) as c:
            tags = dict(c.metadata or {})
            for s in c.streams.video[:1]:
                tags = {**dict(s.metadata or {}), **tags}
    except Exception:  # noqa: BLE001 - no tag is not an error: the file time is used
        return None
    t = tags.get("creation_time") or tags.get("com.apple.quicktime.creationdate")
    d = _parse_time(t) if t else None
    # 1904/1970 epochs are what muxers write when they know no date
    return d if d is not None and d.year > 1990 else None


def recording_date(rep: dict[str, Any], folder: Path) -> tuple[datetime | None, str]:
    """(recording time, where it came from): report.json ``source.video.creation_time`` if
    present, else the container's creation time, else the video's file time (both read from
    ``source.video.path`` when that file is still there), else the analysis time
    (``created_utc``, said to be no recording date), else None."""
    video = (rep.get("source") or {}).get("video") or {}
    if video.get("creation_time"):
        d = _parse_time(video["creation_time"])
        if d is not None:
            return d, "the container's creation time"
    p = video.get("path")
    if p and Path(p).is_file():
        d = container_creation_time(Path(p))
        if d is not None:
            return d, "the container's creation time"
        return (datetime.fromtimestamp(os.stat(p).st_mtime, tz=timezone.utc),
                "the video file's time")
    if rep.get("created_utc"):
        d = _parse_time(rep["created_utc"])
        if d is not None:
            return d, "the analysis time (the video is not at hand: recording date unknown)"
    return None, "unknown"


def load_session(folder: str | os.PathLike[str], date: datetime | None = None) -> Session:
    """Read a report folder.  Raises :class:`ReportFolderError` (one line) if it is not one."""
    p = Path(folder)
    if not p.is_dir():
        raise InputNotFoundError("not a folder; give report folders written by "
                                "'formcheck analyze' (or videos)", p)
    if not (p / "report.json").is_file():
        raise ReportFolderError("no report.json here; give report folders written by "
                                "'formcheck analyze' (or videos)", p)
    try:
        rep, steps = mdc.load_report_folder(p)
    except (OSError, ValueError) as exc:
        why = type(exc).__name__ if not str(exc) else str(exc).splitlines()[0]
        raise ReportFolderError(f"report.json cannot be read ({why}); analyse the clip again",
                                p) from exc
    if date is not None:
        d, src = date, "given"
    else:
        d, src = recording_date(rep, p)
    return Session(folder=p, rep=rep, steps=steps, date=d, date_source=src,
                   noise=mdc.metric_noise(rep, steps), name=p.resolve().name)


def session_from_report(rep: dict[str, Any], name: str, date: datetime | None = None
                        ) -> Session:
    """A session from a report.json document held in memory (no folder: no still)."""
    steps = mdc.steps_from_report(rep)
    return Session(folder=Path(name), rep=rep, steps=steps, date=date,
                   date_source="given" if date else "unknown",
                   noise=mdc.metric_noise(rep, steps), name=name)


def order_sessions(sessions: list[Session], keep_order: bool = False) -> list[Session]:
    """Sessions by recording date (then analysed window start, then as given); unknown
    dates last.  ``keep_order``: as given."""
    if keep_order:
        return list(sessions)

    def key(ix: tuple[int, Session]) -> tuple[Any, ...]:
        i, s = ix
        ts = s.date.timestamp() if s.date else math.inf
        start = s.window[0] if s.window[0] is not None else -math.inf
        return (ts, start, i)

    return [s for _, s in sorted(enumerate(sessions), key=key)]


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Change:
    """One metric between the baseline session and a later one.

    ``threshold``: the smallest change called a change; ``noise_threshold``: the clips' own
    part of it; ``floor``: the between-session floor applied (None: no published figure, or
    one session)."""

    metric_id: str
    before: float | None
    after: float | None
    change: float | None
    threshold: float | None
    noise_threshold: float | None
    floor: mdc.Floor | None
    floor_applied: bool
    verdict: str
    reason: str = ""
    caution: str = ""

    def to_dict(self) -> dict[str, object]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(float(x), 4)

        return {"before": r(self.before), "after": r(self.after), "change": r(self.change),
                "threshold": r(self.threshold), "noise_threshold": r(self.noise_threshold),
                "floor": self.floor.to_dict() if self.floor else None,
                "floor_applied": self.floor_applied, "verdict": self.verdict,
                "reason": self.reason, "caution": self.caution}


def verdict(a: Session, b: Session, metric_id: str, same_session: bool = False) -> Change:
    """Change of ``metric_id`` from session ``a`` to ``b`` (module docstring)."""
    va, vb = a.value(metric_id), b.value(metric_id)
    fl = mdc.floors().get(metric_id)
    if va is None or vb is None:
        who = a.name if va is None else b.name
        m = ((a if va is None else b).rep.get("metrics") or {}).get(metric_id) or {}
        why = m.get("reason") or "not in the report"
        return Change(metric_id, va, vb, None, None, None, fl, False, CANNOT,
                      f"not measured in {who}: {why}")
    na, nb = a.noise.get(metric_id), b.noise.get(metric_id)
    if na is None or nb is None or na.se is None or nb.se is None:
        who = a.name if (na is None or na.se is None) else b.name
        why = (na if who == a.name else nb)
        reason = why.reason if why is not None else "no noise estimate"
        return Change(metric_id, va, vb, vb - va, None, None, fl, False, CANNOT,
                      f"{who}: {reason}")
    nt = mdc.noise_threshold(na.se, nb.se, na.df, nb.df)
    thr = mdc.change_threshold(na.se, nb.se, fl, same_session, na.df, nb.df)
    applied = fl is not None and not same_session and thr > nt
    d = vb - va
    cautions = []
    for s in (a, b):
        m = (s.rep.get("metrics") or {}).get(metric_id) or {}
        if m.get("status") == "low_confidence":
            cautions.append(f"low confidence in {s.name}: {m.get('reason', '')}")
    return Change(metric_id, va, vb, d, thr, nt, fl, applied,
                  CHANGED if abs(d) > thr else NO_CHANGE, caution="; ".join(cautions))


def metric_ids(sessions: list[Session]) -> list[str]:
    """Metrics present in any session, in report order."""
    out: list[str] = []
    for s in sessions:
        for k in (s.rep.get("metrics") or {}):
            if k not in out:
                out.append(k)
    return out


# ----------------------------------------------------------------------------- fairness


def _get(rep: dict[str, Any], *path: str) -> Any:
    cur: Any = rep
    for k in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


def fairness_warnings(a: Session, b: Session) -> list[str]:
    """Differences in how ``a`` and ``b`` were filmed or analysed that make comparing their
    numbers unfair, each naming what differs (empty: none found)."""
    cfg = mdc.config()["fairness"]
    out: list[str] = []
    A, B = a.name, b.name
    va, vb = _get(a.rep, "view", "view"), _get(b.rep, "view", "view")
    if va != vb:
        out.append(f"views differ ({A}: {va}, {B}: {vb}): metrics measured from different "
                   "views are not comparable")
    sa, sb = _get(a.rep, "view", "setting"), _get(b.rep, "view", "setting")
    if sa != sb:
        out.append(f"treadmill vs overground ({A}: {sa}, {B}: {sb}): running on a treadmill "
                   "changes contact time, cadence and foot landing")
    ga, gb = _get(a.rep, "view", "gait"), _get(b.rep, "view", "gait")
    if ga != gb:
        out.append(f"gait differs ({A}: {ga}, {B}: {gb})")
    fa, fb = _get(a.rep, "quality", "fps_real"), _get(b.rep, "quality", "fps_real")
    if fa and fb:
        lo, hi = sorted((float(fa), float(fb)))
        if hi / lo > float(cfg["fps_ratio"]):
            out.append(f"frame rates differ ({A}: {float(fa):.0f} fps, {B}: {float(fb):.0f} "
                       "fps): events and angles at contact are timed more coarsely in the "
                       "slower clip")
        if lo < float(cfg["contact_fps"]) <= hi:
            out.append(f"one clip is under {float(cfg['contact_fps']):.0f} fps ({A}: "
                       f"{float(fa):.0f}, {B}: {float(fb):.0f}): contact time and duty "
                       "factor are not comparable")
    size = []
    for s in (a, b):
        leg = _get(s.rep, "view", "leg_length_px")
        h = _get(s.rep, "source", "video", "height_px") or _get(s.rep, "quality", "height_px")
        size.append(float(leg) / float(h) if leg and h else None)
    if size[0] and size[1] and max(size) / min(size) > float(cfg["runner_size_ratio"]):
        out.append(f"camera set-up differs: the runner fills {100 * size[0]:.0f} % of the "
                   f"frame height in {A} (leg length) and {100 * size[1]:.0f} % in {B} "
                   "(camera distance or zoom changed)")
    ya, yb = _get(a.rep, "view", "yaw_deg"), _get(b.rep, "view", "yaw_deg")
    if ya is not None and yb is not None and abs(float(ya) - float(yb)) > float(cfg["yaw_deg"]):
        out.append(f"camera set-up differs: the camera sees the runner at {float(ya):.0f} deg "
                   f"in {A} and {float(yb):.0f} deg in {B} (angle to the running direction)")
    da, db = _get(a.rep, "view", "direction"), _get(b.rep, "view", "direction")
    if va == vb == "side" and da and db and da != db:
        out.append(f"filmed from the other side ({A}: runner faces {da}, {B}: faces {db}): "
                   "the leg nearer the camera changed")
    ma = _get(a.rep, "source", "video", "slowmo") or _get(a.rep, "options", "slowmo") or 1
    mb = _get(b.rep, "source", "video", "slowmo") or _get(b.rep, "options", "slowmo") or 1
    if float(ma) != float(mb):
        out.append(f"slow-motion factors differ ({A}: x{float(ma):g}, {B}: x{float(mb):g}): "
                   "check both were given correctly")
    oa, ob = a.rep.get("options") or {}, b.rep.get("options") or {}
    for k, what in (("model_side_px", "model input size"), ("num_poses", "people per frame"),
                    ("rules", "rules file"), ("height_cm", "runner height")):
        if oa.get(k) != ob.get(k):
            out.append(f"analysis settings differ: {what} ({A}: {oa.get(k)}, {B}: "
                       f"{ob.get(k)})")
    ra, rb = a.rep.get("formcheck_version"), b.rep.get("formcheck_version")
    if ra != rb:
        out.append(f"analysed by different formcheck versions ({A}: {ra}, {B}: {rb}): "
                   "re-analyse both with one version")
    return out


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True)
class Comparison:
    """Sessions in order, per later session its changes from the baseline, findings per
    session, fairness warnings per pair and notes."""

    sessions: tuple[Session, ...]
    changes: tuple[dict[str, Change], ...]  # one per later session, vs sessions[0]
    metrics: tuple[str, ...]
    warnings: tuple[tuple[str, ...], ...]  # one per later session, vs sessions[0]
    findings: tuple[dict[str, Any], ...]
    same_session: bool = False
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        base = self.sessions[0].name
        return {
            "schema": "formcheck.compare", "schema_version": "1.0",
            "same_session": self.same_session,
            "sessions": [s.to_dict() for s in self.sessions],
            "baseline": base,
            "pairs": [{"from": base, "to": s.name,
                       "warnings": list(w),
                       "metrics": {k: c.to_dict() for k, c in ch.items()}}
                      for s, ch, w in zip(self.sessions[1:], self.changes, self.warnings,
                                          strict=True)],
            "noise": {s.name: {k: n.to_dict() for k, n in s.noise.items()}
                      for s in self.sessions},
            "findings": list(self.findings), "notes": list(self.notes),
        }


def findings_table(sessions: list[Session]) -> list[dict[str, Any]]:
    """Per finding id: its title and, per session, its severity (``na`` when not
    assessed, None when absent)."""
    rows: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(sessions):
        for f in s.rep.get("findings") or []:
            r = rows.setdefault(f.get("id", "?"), {"id": f.get("id", "?"),
                                                   "title": f.get("title", f.get("id", "?")),
                                                   "severity": [None] * len(sessions)})
            r["severity"][i] = f.get("severity") if f.get("assessed", True) else "na"
    return list(rows.values())


def compare_sessions(sessions: list[Session], same_session: bool | None = None) -> Comparison:
    """Compare ordered sessions (the first is the baseline).  ``same_session``: the clips
    come from one session with one camera set-up, so the between-session floors do not
    apply; None = only when every session is a window of the same video file."""
    if len(sessions) < 2:
        raise ValueError("compare needs at least two sessions")
    shas = {(_get(s.rep, "source", "sha256") or "") for s in sessions}
    auto_same = len(shas) == 1 and "" not in shas
    same = auto_same if same_session is None else bool(same_session)
    ids = metric_ids(sessions)
    base = sessions[0]
    changes = tuple({k: verdict(base, s, k, same) for k in ids} for s in sessions[1:])
    warns = tuple(tuple(fairness_warnings(base, s)) for s in sessions[1:])
    notes = []
    if same:
        notes.append("the clips come from one session (one video file): the between-session "
                     "floors are not applied, only the clips' own noise")
    else:
        notes.append("changes are called only beyond both clips' own noise and, where a "
                     "published figure exists, the between-session floor")
    undated = [s.name for s in sessions if s.date_source.startswith("the analysis time")
               or s.date is None]
    if undated:
        notes.append("recording date unknown for " + ", ".join(undated)
                     + " (ordered by analysis time); give dates with --date")
    return Comparison(sessions=tuple(sessions), changes=changes, metrics=tuple(ids),
                      warnings=warns, findings=tuple(findings_table(sessions)),
                      same_session=same, notes=tuple(notes))


def compare_folders(folders: list[str | os.PathLike[str]], dates: list[str] | None = None,
                    keep_order: bool = False, same_session: bool | None = None
                    ) -> Comparison:
    """Load, order and compare report folders.  ``dates``: one per folder, in the given
    order (overrides the recorded dates)."""
    if dates and len(dates) != len(folders):
        raise ValueError(f"{len(dates)} dates given for {len(folders)} sessions: give one "
                         "--date per input, in order")
    ds = [parse_date(d) for d in dates] if dates else [None] * len(folders)
    sessions = [load_session(f, d) for f, d in zip(folders, ds, strict=True)]
    names = [s.name for s in sessions]
    if len(set(names)) < len(names):  # same folder names in different places
        sessions = [Session(**{**s.__dict__, "name": f"{i + 1}:{s.name}"})
                    for i, s in enumerate(sessions)]
    return compare_sessions(order_sessions(sessions, keep_order), same_session)


def fmt(v: float | None, unit: str = "") -> str:
    """A number with decimals suited to its unit ('-' for None)."""
    if v is None or not math.isfinite(v):
        return "\u2013"
    nd = 0 if unit in ("ms", "% of steps", "% of frames") else 1
    return f"{v:.{nd}f}"


def terminal_table(cmp: Comparison) -> str:
    """The comparison as plain text: sessions, one row per metric (values, change from the
    baseline, threshold, verdict), findings, warnings."""
    ss = cmp.sessions
    lines = ["Sessions (baseline first):"]
    for i, s in enumerate(ss):
        d = s.date.strftime("%Y-%m-%d %H:%M") if s.date else "date unknown"
        w = s.window
        win = "" if w == (None, None) else \
            f" [{w[0] if w[0] is not None else 0:g}-{'' if w[1] is None else f'{w[1]:g}'} s]"
        lines.append(f"  {i + 1}. {s.name}{win}  {d} ({s.date_source})")
    lines.append("")
    head = ["Metric"] + [s.name[:14] for s in ss]
    rows = []
    for k in cmp.metrics:
        unit = _unit(ss, k)
        vals = [fmt(s.value(k), unit) for s in ss]
        if all(v == "\u2013" for v in vals):
            continue
        verd = []
        for ch in cmp.changes:
            c = ch[k]
            if c.verdict == CANNOT:
                verd.append("cannot compare")
            else:
                sign = f"{c.change:+.{0 if unit == 'ms' else 1}f}"
                word = "CHANGED" if c.verdict == CHANGED else "no change"
                word += " (low conf.)" if c.caution else ""
                verd.append(f"{sign} (>{fmt(c.threshold, unit)}): {word}"
                            if c.verdict == CHANGED else
                            f"{sign} (<={fmt(c.threshold, unit)}): {word}")
        rows.append([f"{label(k)} ({unit})"] + vals + verd)
    head += [f"vs {ss[0].name[:10]} -> {s.name[:10]}" for s in ss[1:]]
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    fmt_row = "  ".join(f"{{:<{w}}}" for w in widths)
    lines.append(fmt_row.format(*head))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(fmt_row.format(*r) for r in rows)
    lines.append("")
    lines.append("'no change' = no change you can tell from these clips (within the noise "
                 "and the between-session floor).")
    if cmp.findings:
        lines.append("")
        lines.append("Findings: " + "  ".join(s.name[:14] for s in ss))
        for f in cmp.findings:
            lines.append(f"  {f['title']}: " + " -> ".join(str(x or "\u2013")
                                                          for x in f["severity"]))
    for s, w in zip(ss[1:], cmp.warnings, strict=True):
        for x in w:
            lines.append(f"warning ({ss[0].name} vs {s.name}): {x}")
    for n in cmp.notes:
        lines.append(f"note: {n}")
    return "\n".join(lines)


def _unit(sessions: tuple[Session, ...] | list[Session], metric_id: str) -> str:
    for s in sessions:
        m = (s.rep.get("metrics") or {}).get(metric_id)
        if m and m.get("unit"):
            return str(m["unit"])
    return ""
