"""Runner history pages of ``formcheck batch`` (issue 13): ``history/<runner>.html``.

Two checks: the pages' verdicts against known changes (synthetic runners from
tests/synthetic_gait.py written as real report folders, no pose model), and a real batch
over a manifest with two runners (cuts of the sample clip, real pose model, ``--no-video``)
whose pages must exist, link to the reports and the summary, and render in headless
Chromium with no console errors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import SAMPLE, run_cli
from synthetic_sessions import NOISE, write_folder

from formcheck.batch.history import page_names, write_histories
from formcheck.batch.jobs import Job, Outcome
from formcheck.change import compare

BASE = dict(cadence_spm=170.0, overstride_pct_leg=20.0, trunk_lean_deg=6.0, duration_s=15.0)
CHANGED = dict(cadence_spm=170.0 * 1.05, overstride_pct_leg=10.0, trunk_lean_deg=10.0,
               duration_s=15.0)


def _hrefs(html: str, cls: str = "") -> list[str]:
    pat = (r'<a class="' + re.escape(cls) + r'" href="([^"]+)"') if cls else \
        r'<a href="([^"]+)"'
    return re.findall(pat, html)


def test_page_names_are_safe_and_distinct() -> None:
    names = page_names(["Ann Lee", "ann lee", "../x", ""])
    assert names["Ann Lee"] == "Ann_Lee.html"
    assert names["ann lee"].lower() != names["Ann Lee"].lower()
    assert "/" not in names["../x"] and names[""] == "runner.html"


@pytest.fixture(scope="module")
def synthetic_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """A batch output folder by hand: runner Ann has three sessions given out of date order
    (the same runner twice, then changed), runner Bob one; plus a failed recording."""
    out = tmp_path_factory.mktemp("hist_out")
    specs = [("ann/3.mp4", "Ann", "2024-04-20", CHANGED, 13),
             ("ann/1.mp4", "Ann", "2024-03-01", BASE, 11),
             ("ann/2.mp4", "Ann", "2024-03-15", BASE, 12),
             ("bob/1.mp4", "Bob", "2024-03-02", BASE, 14)]
    jobs, outcomes = [], {}
    for i, (disp, runner, date, cfg, seed) in enumerate(specs):
        rel = f"{disp}_formcheck"
        write_folder(out / rel, **cfg, **NOISE, seed=seed)
        jobs.append(Job(index=i, display=disp, src=str(out / disp), outdir=str(out / rel),
                        rel_out=rel, options={}, labels={"Runner": runner, "date": date}))
        outcomes[i] = Outcome(index=i, status="ok", action="analysed")
    jobs.append(Job(index=4, display="cat/x.mp4", src="", outdir=str(out / "none"),
                    rel_out="none", options={}, labels={"runner": "Cat"}))
    outcomes[4] = Outcome(index=4, status="failed", action="none", reason="not a video")
    return out, write_histories(jobs, outcomes, out)


def test_history_verdicts_follow_the_known_changes(synthetic_out: Any) -> None:
    out, written = synthetic_out
    assert {w["runner"]: w["n_sessions"] for w in written} == {"Ann": 3, "Bob": 1}
    assert not (out / "history" / "Cat.html").exists()  # no analysed session
    html = (out / "history" / "Ann.html").read_text(encoding="utf-8")
    # sessions in date order (given out of order), each linking to its report folder
    order = re.findall(r'<tr class="session" data-session="([^"]+)"', html)
    assert order == ["ann/1.mp4", "ann/2.mp4", "ann/3.mp4"]
    for h in _hrefs(html):
        assert (out / "history" / unquote(h)).resolve().is_file(), h
    # consecutive pairs: 1 -> 2 the same runner (no change), 2 -> 3 the changed one
    pairs = re.findall(r'<section class="pair" data-from="([^"]+)" data-to="([^"]+)">(.*?)'
                       r"</section>", html, re.S)
    assert [(a, b) for a, b, _ in pairs] == [("ann/1.mp4", "ann/2.mp4"),
                                             ("ann/2.mp4", "ann/3.mp4")]
    first, second = (dict(re.findall(r'<tr data-metric="([^"]+)" data-verdict="([^"]+)"', body))
                     for _, _, body in pairs)
    assert compare.CHANGED not in first.values(), first
    for k in ("cadence_spm", "overstride_pct_leg", "trunk_lean_deg"):
        assert first[k] == compare.NO_CHANGE and second[k] == compare.CHANGED, k
    # the same verdicts as formcheck compare gives for that pair
    c = compare.compare_folders([out / "ann/2.mp4_formcheck", out / "ann/3.mp4_formcheck"],
                                dates=["2024-03-15", "2024-04-20"])
    assert second == {k: x.verdict for k, x in c.changes[0].items() if k in second}
    # one small plot per key metric measured
    assert html.count('class="plot-card"') >= 8
    bob = (out / "history" / "Bob.html").read_text(encoding="utf-8")
    assert 'id="one-session"' in bob and "<section class=\"pair\"" not in bob


def test_history_page_in_chromium(synthetic_out: Any, browser: Any) -> None:
    out, _ = synthetic_out
    page = browser.open(out / "history" / "Ann.html")
    assert page.errors == [] and page.foreign_requests() == []
    assert page.count("svg.plot") >= 8 and page.count("svg.plot .ev.session") >= 24
    assert page.count("tr[data-verdict='changed']") >= 3


# ----------------------------------------------------------------------------- real batch


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A manifest: Ann twice (one clip's content in two containers, dated a month apart,
    listed newest first), Bob once, and a row with a bad date."""
    from test_batch import cut_clip

    root = tmp_path_factory.mktemp("hist_batch")
    cut_clip(SAMPLE, root / "ann_may.mp4", 4.5)
    cut_clip(SAMPLE, root / "ann_june.mov", 4.5)
    cut_clip(SAMPLE, root / "bob.mp4", 4.5)
    (root / "visits.csv").write_text(
        "runner,date,path\n"
        "Ann,2024-06-01,ann_june.mov\n"
        "Ann,2024-05-01,ann_may.mp4\n"
        "Bob Lee,,bob.mp4\n"
        "Bob Lee,soon,bob.mp4\n", encoding="utf-8")
    out = root / "out"
    proc = run_cli("batch", str(root / "visits.csv"), "-o", str(out), "--no-video",
                   "--jobs", "2")
    return proc, out


def test_batch_writes_linked_history_pages(batch_out: Any, browser: Any) -> None:
    proc, out = batch_out
    assert proc.returncode == 10, proc.stderr  # the bad-date row fails, alone
    assert "date 'soon' is not a date" in (out / "summary.csv").read_text(encoding="utf-8")
    summary = (out / "summary.html").read_text(encoding="utf-8")
    links = _hrefs(summary, "history")
    assert links == ["history/Ann.html", "history/Bob_Lee.html"]
    for h in links:
        assert (out / h).is_file()
    ann = (out / "history" / "Ann.html").read_text(encoding="utf-8")
    order = re.findall(r'<tr class="session" data-session="([^"]+)"', ann)
    assert order == ["ann_may.mp4", "ann_june.mov"]  # by the manifest's dates
    assert "the manifest&#39;s date" in ann or "the manifest's date" in ann
    reports = [h for h in _hrefs(ann) if h.endswith("report.html")]
    assert len(reports) == 2
    for h in reports:
        assert (out / "history" / unquote(h)).resolve().is_file(), h
    # the same frames in both sessions: nothing can have changed
    verdicts = dict(re.findall(r'<tr data-metric="([^"]+)" data-verdict="([^"]+)"', ann))
    assert verdicts and compare.CHANGED not in verdicts.values(), verdicts
    assert verdicts["cadence_spm"] == compare.NO_CHANGE
    page = browser.open(out / "history" / "Ann.html")
    assert page.errors == [] and page.foreign_requests() == []
    assert page.count("section.pair") == 1 and page.count("svg.plot") >= 5
    # the link leads to the session's report
    page.raw.click("tr.session a >> nth=0")
    page.raw.wait_for_load_state()
    assert page.raw.title().startswith("Running form report")
    page = browser.open(out / "summary.html")
    assert page.errors == []
    assert page.count("a.history") == 2


def test_pages_of_runners_gone_from_the_input_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    rel = "x.mp4_formcheck"
    write_folder(out / rel, **BASE, **NOISE, seed=31)
    job = Job(index=0, display="x.mp4", src="", outdir=str(out / rel), rel_out=rel,
              options={}, labels={"runner": "Dee"})
    ok = {0: Outcome(index=0, status="ok", action="analysed")}
    assert [w["href"] for w in write_histories([job], ok, out)] == ["history/Dee.html"]
    (out / "history" / "notes.txt").write_text("kept")
    renamed = Job(**{**job.__dict__, "labels": {"runner": "Eve"}})
    assert [w["href"] for w in write_histories([renamed], ok, out)] == ["history/Eve.html"]
    assert not (out / "history" / "Dee.html").exists()
    assert (out / "history" / "notes.txt").is_file()  # only the .html pages are formcheck's
