"""report.html of the sample clip, opened in real headless Chromium.

The page comes from the real CLI (``formcheck analyze SAMPLE --pose landmarks.npz --no-video``,
on the session's cached pose of the sample, so the still frame is decoded from the real video).
Checks: no console errors or failed loads, no request other than file:/data: (the page is
self-contained), one card per finding, plots with event markers that match the steps in
report.json, the still frame decoded and drawn on, not-measurable metrics shown without a
number, dynamic text escaped; a screenshot goes to test-artifacts/report.png.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE, run_cli


@pytest.fixture(scope="module")
def report_dir(pose_of: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("html_report")
    npz = tmp / "landmarks.npz"
    pose_of(SAMPLE).save(npz)
    out = tmp / "out"
    res = run_cli("analyze", str(SAMPLE), "--pose", str(npz), "-o", str(out), "--no-video",
                  "--quiet")
    assert res.returncode == 0, res.stderr
    assert (out / "report.html").is_file()
    return out


def test_report_page_in_chromium(report_dir: Path, browser: Any, artifacts_dir: Path) -> None:
    rep = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    page = browser.open(report_dir / "report.html")
    page.screenshot(artifacts_dir / "report.png")

    assert page.errors == []
    assert page.foreign_requests() == [], "report.html must not load anything from outside"
    assert all(u.startswith(("file:", "data:")) for u in page.requests)
    assert page.evaluate("document.title").startswith("Running form report")

    # one card per finding, each with a severity badge in words
    findings = rep["findings"]
    assert page.count("article.finding") == len(findings) > 0
    for f in findings:
        card = f"article.finding[data-finding-id='{f['id']}']"
        assert page.count(card) == 1, f["id"]
        badge = page.evaluate(f"document.querySelector(\"{card} .badge\").textContent").strip()
        want = ("Not assessed" if not f["assessed"] else
                {"none": "OK", "mild": "Mild", "marked": "Marked"}[f["severity"]])
        assert badge.endswith(want), (f["id"], badge)
        text = page.evaluate(f"document.querySelector(\"{card}\").innerText")
        assert f["citation"].split()[0] in text
        if f["assessed"]:
            assert f["comparison"] in text
            if f["severity"] != "none":
                assert f["advice"]["cue"] in text and f["advice"]["drill"] in text
        else:
            assert f["reason"] in text

    # safety message and no-diagnosis disclaimer
    body = page.evaluate("document.body.innerText")
    assert rep["safety"]["disclaimer"].split(".")[0] in body
    assert rep["safety"]["warning_signs"][0] in body
    for w in rep["warnings"]:
        assert w in body

    # plots: inline SVG with initial contacts and toe-offs marked
    assert page.count("svg.plot") >= 4
    assert page.count("svg.plot .ev-ic") > 0 and page.count("svg.plot .ev-to") > 0
    titles = page.evaluate(
        "[...document.querySelectorAll('#plot-foot-forward .ev-ic title')]"
        ".map(t => t.textContent)")
    plotted = sorted(float(m.group(1)) for t in titles
                     if (m := re.search(r", ([0-9.]+) s,", t)))
    expected = sorted(s["ic_t_s"] for s in rep["steps"]
                      if s["valid"] and s["overstride_pct_leg"] not in (None, ""))
    assert len(plotted) == len(expected) > 0
    assert plotted == pytest.approx(expected, abs=0.006)
    n_rejected = sum(not s["valid"] for s in rep["steps"])
    assert page.count("#plot-foot-forward .ev-rejected") == n_rejected

    # the still frame: a decoded JPEG data URI with the overstride drawn over it
    assert page.count("img.still-frame") == 1
    still = page.evaluate("(() => { const i = document.querySelector('img.still-frame');"
                          " return [i.complete, i.naturalWidth, i.naturalHeight,"
                          " i.src.slice(0, 23)]; })()")
    assert still[0] and still[1] >= 100 and still[2] >= 100, still
    assert still[3] == "data:image/jpeg;base64,"
    for part in ("hip-vertical", "overstride", "shank"):
        assert page.count(f"figure.still svg.overlay .{part}") >= 1, part

    # metrics table: not-measurable rows carry the reason and no number
    rows = page.evaluate(
        "[...document.querySelectorAll('tr.metric')].map(r => [r.dataset.metricId,"
        " r.className, r.cells[1].innerText, r.innerText])")
    assert len(rows) == len(rep["metrics"])
    for mid, cls, value_cell, text in rows:
        m = rep["metrics"][mid]
        assert m["status"] in cls
        if m["status"] == "not_measurable":
            assert value_cell.strip() == "not measurable"
            assert not re.search(r"\d", value_cell)
            assert m["reason"] in text
        else:
            assert re.search(r"\d", value_cell), mid


def test_dynamic_text_is_escaped(pose_of: Any, browser: Any, tmp_path: Path) -> None:
    """Text from the analysis (warnings, file names, rules) is shown, never run as markup."""
    from formcheck.api import analyze_pose
    from formcheck.report import build_report
    from formcheck.report.html import write_html

    a = analyze_pose(pose_of(SAMPLE))
    evil = "<script>console.error('injected')</script><img src=x onerror=alert(1)>"
    a = replace(a, warnings=(evil,), source=str(SAMPLE))
    rep = build_report(a, None)
    rep["source"]["file"] = "clip<b>bold</b>.mp4"
    rep["findings"][0]["title"] = "Title <i>x</i> & more"
    path = tmp_path / "report.html"
    write_html(a, rep, path)
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html and "<img src=x" not in html
    page = browser.open(path)
    assert page.errors == [] and page.foreign_requests() == []
    assert page.count("script") == 0 and page.count("i") == 0
    assert not page.evaluate("[...document.querySelectorAll('b')]"
                             ".some(e => e.textContent === 'bold')")
    body = page.evaluate("document.body.innerText")
    assert evil in body
    assert "clip<b>bold</b>.mp4" in body and "Title <i>x</i> & more" in body


def test_missing_video_gives_a_note_not_a_still(pose_of: Any, tmp_path: Path) -> None:
    from formcheck.api import analyze_pose
    from formcheck.report import build_report
    from formcheck.report.html import write_html

    a = replace(analyze_pose(pose_of(SAMPLE)), source=str(tmp_path / "gone.mp4"))
    rep = build_report(a, None)
    path = tmp_path / "report.html"
    write_html(a, rep, path)
    html = path.read_text(encoding="utf-8")
    assert 'class="still-frame"' not in html
    assert "gone.mp4 is not available" in html
    assert 'class="plot"' in html  # the rest of the report is still there


def test_still_and_video_draw_one_construction(pose_of: Any) -> None:
    """The report's still frame and the annotated video draw the same contact construction:
    for the still's step both give that step's overstride, shank and knee values from the step
    table, the still's overlay writes them, and the construction's hip is the midpoint of the
    cleaned hips at the instant drawn (the IC for the video, the nearest frame for the still)."""
    import numpy as np

    from formcheck import annotate
    from formcheck.api import analyze_pose
    from formcheck.construction import contact
    from formcheck.landmarks import L_HIP, R_HIP
    from formcheck.report import build_report
    from formcheck.report.still import build_still

    a = replace(analyze_pose(pose_of(SAMPLE)), source=str(SAMPLE))
    rep = build_report(a, None)
    still = build_still(a, rep)
    assert still["ok"], still["note"]
    k = still["step"]
    video = annotate.contacts_of(a)[k]
    on_still = contact(a, k, at_frame=True)
    steps = a.metrics.steps.values
    for key, metric, attr in (("overstride", "overstride_pct_leg", "overstride_pct"),
                              ("shank", "shank_angle_ic_deg", "shank_deg"),
                              ("knee", "knee_flexion_ic_deg", "knee_deg")):
        expected = float(steps[metric][k])
        assert np.isfinite(expected), metric
        assert still[key] == expected, metric
        assert getattr(video, attr) == expected, metric
    assert f"knee {still['knee']:.0f}\u00b0 bent" in str(still["overlay"])
    assert f"shank {still['shank']:.0f}\u00b0" in str(still["overlay"])
    assert on_still.frame_index == video.frame_index >= 0
    assert still["t_s"] == on_still.frame_t_s and still["ic_t_s"] == video.t_s
    t, xy = a.clean.t_s, a.clean.xy_px
    for c, when in ((video, video.t_s), (on_still, on_still.frame_t_s)):
        hip = [(np.interp(when, t, xy[:, L_HIP, d]) + np.interp(when, t, xy[:, R_HIP, d])) / 2
               for d in (0, 1)]
        np.testing.assert_allclose(c.hip, hip, rtol=0, atol=1e-6)
