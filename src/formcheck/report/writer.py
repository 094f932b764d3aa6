"""Write every output of one analysis into a folder (atomically, via outputs.staged_dir)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formcheck.outputs import staged_dir
from formcheck.report import build_report, dump


@dataclass(frozen=True)
class OutputOptions:
    """What to write besides the JSON/CSV reports."""

    html: bool = True
    video: bool = True
    max_video_side_px: int = 1080
    slowmo_contacts: bool = False
    frames: bool = False
    force: bool = False
    #: Export formats written into ``export/`` (names of :data:`formcheck.export.FORMATS`,
    #: or "all"); empty = none.
    export: tuple[str, ...] = ()


def write_outputs(analysis: Any, outdir: str | Path, video_info: dict[str, Any] | None,
                  opts: OutputOptions = OutputOptions(), progress: bool | None = None,
                  pool: Any = None) -> dict[str, Any]:
    """Write report.json, metrics.json, steps.csv, landmarks.npz/.csv, people.png,
    report.html and annotated.mp4 to ``outdir``; returns the report document.  ``pool`` (a
    :class:`formcheck.pose_parallel.PosePool`) renders annotated.mp4 in parallel pieces."""
    rep = build_report(analysis, video_info)
    with staged_dir(outdir, force=opts.force) as tmp:
        video = None
        if opts.video and analysis.source and Path(analysis.source).is_file():
            video = _Background(_write_video, analysis, rep, tmp, opts, progress, pool) \
                if pool is not None else None
        # on an error or Ctrl-C here the caller stops the workers, which ends the thread
        dump(rep, tmp / "report.json")
        metrics_doc = {k: rep[k] for k in ("schema_version", "source", "view", "quality",
                                           "metrics", "warnings")}
        (tmp / "metrics.json").write_text(json.dumps(metrics_doc, indent=2) + "\n",
                                          encoding="utf-8")
        analysis.metrics.steps.to_csv(tmp / "steps.csv")
        full = getattr(analysis, "pose_full", None)
        (full if full is not None else analysis.pose).save(tmp / "landmarks.npz")
        analysis.pose.to_csv(tmp / "landmarks.csv")
        people = getattr(analysis, "people", None)
        if people is not None and people.persons and people.frame_index >= 0 \
                and analysis.source and Path(analysis.source).is_file():
            write_people_png(analysis, tmp / "people.png")
        if opts.html:
            from formcheck.report import html

            html.write_html(analysis, rep, tmp / "report.html")
        if opts.export:
            _write_exports(analysis, rep, tmp, opts.export)
        if video is not None:
            video.join()  # re-raises its error
        if video is None and opts.video and analysis.source and \
                Path(analysis.source).is_file():
            _write_video(analysis, rep, tmp, opts, progress, None)
    return rep


def _write_exports(analysis: Any, rep: dict[str, Any], tmp: Path,
                   formats: tuple[str, ...]) -> None:
    """The export files (C3D, TRC, MOT, FIT-style CSV: docs/export.md) into ``export/``,
    from the analysis in memory (no re-analysis), inside the same atomic folder."""
    from formcheck.export import DEFAULT_SUBDIR, FORMATS, file_name, formats_from, from_analysis

    src = from_analysis(analysis, rep)
    sub = tmp / DEFAULT_SUBDIR
    sub.mkdir()
    for f in formats_from(formats):
        FORMATS[f].write(src, sub / file_name(src, f))


def _write_video(analysis: Any, rep: dict[str, Any], tmp: Path, opts: OutputOptions,
                 progress: bool | None, pool: Any) -> None:
    from formcheck import annotate

    annotate.write_annotated(analysis, rep, tmp / "annotated.mp4",
                             max_side_px=opts.max_video_side_px,
                             slowmo_contacts=opts.slowmo_contacts,
                             frames_dir=(tmp / "frames") if opts.frames else None,
                             progress=progress, pool=pool)


class _Background:
    """Run ``fn(*args)`` in a thread; :meth:`join` waits and re-raises its exception.

    With worker processes the annotated video is rendered by them, so this thread mostly
    waits: the other outputs (HTML still, landmarks CSV) are written meanwhile."""

    def __init__(self, fn: Any, *args: Any) -> None:
        import threading

        self._exc: BaseException | None = None

        def run() -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to join()
                self._exc = exc

        self._thread = threading.Thread(target=run, name="formcheck-video", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        if self._exc is not None:
            raise self._exc


def write_people_png(analysis: Any, path: Path) -> None:
    """people.png: the frame with the most tracked people, each boxed and numbered (the
    numbers ``--person N`` takes), the analysed person marked "analysed"."""
    import cv2

    from formcheck import people as people_mod
    from formcheck.report.still import decode_frame

    ppl = analysis.people
    img, _ = decode_frame(str(analysis.source), ppl.frame_index, float(analysis.pose.slowmo))
    sx = img.shape[1] / max(1, analysis.pose.width_px)
    sy = img.shape[0] / max(1, analysis.pose.height_px)
    out = people_mod.draw(img, ppl, sx, sy)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
    if ok:
        path.write_bytes(buf.tobytes())
