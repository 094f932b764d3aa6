"""Change over time inside one report (issue 13): every metric's SE and MDC95 in report.json
and report.html, and the drift plots of report.html for long runs.

The runners are synthetic (tests/synthetic_gait.py, through the whole pipeline after the pose
model): a 15 s clip and a 10-minute run whose cadence falls 3 % (known by construction), so
no pose model runs here.  The numbers in report.json are checked against
:mod:`formcheck.change.mdc` run on the report's own per-step table (the one implementation),
the drift verdicts against the injected drop, and the pages in headless Chromium.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from synthetic_sessions import NOISE, analyse

from formcheck.change import drift, mdc
from formcheck.report import build_report, dumps, schema
from formcheck.report.style import fmt_value

RUNNER = dict(cadence_spm=170.0, overstride_pct_leg=20.0, trunk_lean_deg=6.0)
#: the injected cadence drop of the long run (%)
DROP_PCT = 3.0


@pytest.fixture(scope="module")
def short_run() -> tuple[Any, dict[str, Any]]:
    """A 15 s synthetic clip: its analysis and report.json as written (JSON round trip)."""
    a = analyse(**RUNNER, duration_s=15.0, **NOISE, seed=21)
    return a, json.loads(dumps(build_report(a, None)))


@pytest.fixture(scope="module")
def long_run() -> tuple[Any, dict[str, Any]]:
    """A 10-minute synthetic run whose cadence falls 3 % from start to end."""
    a = analyse(drift_pct=DROP_PCT, **RUNNER, duration_s=600.0, **NOISE, seed=22)
    return a, json.loads(dumps(build_report(a, None)))


def _without_noise(rep: dict[str, Any]) -> dict[str, Any]:
    r = copy.deepcopy(rep)
    r.pop("noise_method", None)
    for m in r["metrics"].values():
        m.pop("noise", None)
    return r


def _validator() -> jsonschema.Draft202012Validator:
    sch = schema()
    jsonschema.Draft202012Validator.check_schema(sch)
    return jsonschema.Draft202012Validator(sch)


# ----------------------------------------------------------------------------- report.json


@pytest.mark.parametrize("which", ["short_run", "long_run"])
def test_report_noise_is_what_mdc_computes_from_its_steps(which: str,
                                                          request: pytest.FixtureRequest
                                                          ) -> None:
    _, rep = request.getfixturevalue(which)
    assert rep["schema_version"] == "1.6" and "bootstrap" in rep["noise_method"]
    expect = mdc.metric_noise(_without_noise(rep))  # from the report's own steps table
    with_se = 0
    for k, m in rep["metrics"].items():
        if m["status"] == "not_measurable":
            assert m["noise"] is None, k
            assert k not in expect
            continue
        assert m["noise"] == expect[k].to_dict(), k
        n = m["noise"]
        if n["se"] is None:
            assert n["mdc95"] is None and n["reason"], k
            continue
        with_se += 1
        assert n["reason"] == "" and n["n"] >= mdc.config()["mdc"]["min_steps"]
        # MDC95 = t(95 %, 2 df) x sqrt(2) x SE (the SE is rounded in the report)
        assert n["mdc95"] == pytest.approx(mdc.t95(2 * n["df"]) * math.sqrt(2) * n["se"],
                                           rel=1e-3, abs=1e-3), k
        fl = mdc.floors().get(k)
        assert (n["floor"] is None) == (fl is None), k
        if fl is not None:
            assert n["floor"]["value"] == fl.value and n["floor"]["source"] == fl.source
        else:
            assert "no published" in n["floor_note"]
    assert with_se >= 10
    # a longer run of the same runner is less noisy: its MDC95 is smaller
    assert rep["metrics"]["cadence_spm"]["noise"]["mdc95"] < (2.0 if which == "long_run"
                                                               else 10.0)


def test_long_run_is_less_noisy_than_short(short_run: Any, long_run: Any) -> None:
    """40x the steps: the SE of a median shrinks by roughly sqrt(40) (at least 3x here)."""
    for k in ("overstride_pct_leg", "trunk_lean_deg", "shank_angle_ic_deg"):
        s = short_run[1]["metrics"][k]["noise"]["se"]
        lg = long_run[1]["metrics"][k]["noise"]["se"]
        assert lg < s / 3, (k, s, lg)


def test_report_with_noise_validates_and_the_schema_bites(short_run: Any) -> None:
    _, rep = short_run
    v = _validator()
    errors = sorted(v.iter_errors(rep), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    measured = next(k for k, m in rep["metrics"].items() if m["noise"] and m["noise"]["se"])
    nm = next(k for k, m in rep["metrics"].items() if m["status"] == "not_measurable")
    bad = copy.deepcopy(rep)
    bad["metrics"][nm]["noise"] = copy.deepcopy(rep["metrics"][measured]["noise"])
    assert not v.is_valid(bad)  # no noise on a metric without a number
    bad = copy.deepcopy(rep)
    bad["metrics"][measured]["noise"]["se"] = None  # an MDC without an SE
    assert not v.is_valid(bad)
    bad = copy.deepcopy(rep)
    bad["metrics"][measured]["noise"]["se"] = -1.0
    assert not v.is_valid(bad)
    bad = copy.deepcopy(rep)
    del bad["metrics"][measured]["noise"]["floor_note"]
    assert not v.is_valid(bad)


# ----------------------------------------------------------------------------- report.html


def _page(run: Any, tmp: Path, name: str) -> Path:
    from formcheck.report.html import write_html

    a, rep = run
    path = tmp / name
    write_html(a, rep, path)
    return path


def test_report_html_shows_each_metrics_mdc(short_run: Any, browser: Any,
                                            tmp_path: Path) -> None:
    _, rep = short_run
    page = browser.open(_page(short_run, tmp_path, "short.html"))
    assert page.errors == [] and page.foreign_requests() == []
    cells = page.evaluate(
        "[...document.querySelectorAll('tr.metric')].map(r => [r.dataset.metricId,"
        " (r.querySelector('td.mdc') || {innerText: ''}).innerText, r.innerText])")
    assert len(cells) == len(rep["metrics"])
    shown = 0
    for mid, mdc_cell, row in cells:
        m = rep["metrics"][mid]
        n = m["noise"]
        if n is None:
            assert "\u00b1" not in row, mid  # not measurable: no number, no noise
        elif n["mdc95"] is None:
            assert "\u00b1" not in mdc_cell and n["reason"] in mdc_cell, mid
        else:
            shown += 1
            assert f"\u00b1 {fmt_value(n['mdc95'], m['unit'])}" in mdc_cell, mid
            assert f"SE {fmt_value(n['se'], m['unit'])}" in mdc_cell, mid
            if n["floor"]:
                assert n["floor"]["source"].split()[0] in mdc_cell, mid
            else:
                assert "no published" in mdc_cell, mid
    assert shown >= 10
    # a finding's card repeats its metric's MDC95
    f = next(f for f in rep["findings"] if f["assessed"] and f["metric"] == "overstride_pct_leg")
    card = page.evaluate(f"document.querySelector(\"article[data-finding-id='{f['id']}']\")"
                         ".innerText")
    m = rep["metrics"]["overstride_pct_leg"]
    assert re.search(r"MDC95\): \u00b1 " + re.escape(fmt_value(m["noise"]["mdc95"],
                                                                m["unit"])), card)


# ----------------------------------------------------------------------------- drift


def test_drift_band_matches_the_verdicts_interval(long_run: Any) -> None:
    """The shaded band is the trend's own interval: at the first and last step its width in
    change terms brackets the reported change interval (the band of a line is wider than
    the slope's interval alone), and it is narrowest at the windows' centre."""
    _, rep = long_run
    d = drift.drift(rep)["cadence_spm"]
    t = np.linspace(d.windows[0].t0_s, d.windows[-1].t1_s, 201)
    fit, lo, hi = drift.trend_band(d, t)
    assert np.all(lo < fit) and np.all(fit < hi)
    assert fit[0] == pytest.approx(d.start_value)
    assert fit[-1] - fit[0] == pytest.approx(d.change, rel=1e-6)
    w = hi - lo
    assert abs(t[int(np.argmin(w))] - d.centre_t_s) <= (t[1] - t[0])
    # the slope's interval alone, over the run, is what the verdict reads; the band adds
    # the uncertainty of the line's level, so it is at least as wide at the ends
    assert (hi[-1] - lo[0]) >= d.change_ci[1] - 1e-9 and (lo[-1] - hi[0]) <= d.change_ci[0]


def test_long_run_report_html_plots_drift(long_run: Any, browser: Any, tmp_path: Path
                                          ) -> None:
    """10-minute run, cadence falling 3 % by construction: report.html plots every key
    metric's windows with the trend and its band, and says the cadence fell, in drift.py's
    own words."""
    _, rep = long_run
    want = drift.drift(rep)
    assert want["cadence_spm"].verdict == "drift" and "fell" in want["cadence_spm"].text
    path = _page(long_run, tmp_path, "long.html")
    page = browser.open(path)
    assert page.errors == [] and page.foreign_requests() == []
    assert page.count("#drift-too-short") == 0
    figs = page.evaluate(
        "[...document.querySelectorAll('figure.drift')].map(f => [f.dataset.metricId,"
        " f.dataset.verdict, f.querySelector('figcaption.verdict').innerText,"
        " f.querySelectorAll('svg.plot').length, f.querySelectorAll('path.trend-band').length,"
        " f.querySelectorAll('path.ev.window').length])")
    assert {f[0] for f in figs} == set(want)
    for mid, verdict, text, n_svg, n_band, n_points in figs:
        d = want[mid]
        assert verdict == d.verdict and text == d.text, mid
        if d.verdict == "not_assessed":
            assert n_svg == 0, mid
            continue
        assert n_svg == 1 and n_band == 1, mid
        assert n_points == sum(math.isfinite(w.value) for w in d.windows) >= 15, mid
    cad = next(f for f in figs if f[0] == "cadence_spm")
    assert cad[1] == "drift" and "fell" in cad[2]
    # the x axis is in minutes and spans the run
    xlabel = page.evaluate("[...document.querySelectorAll('#drift-cadence_spm svg text')]"
                           ".map(t => t.textContent)")
    assert "time (min)" in xlabel and "10" in xlabel


def test_short_clip_says_too_short_for_drift(short_run: Any, browser: Any,
                                             tmp_path: Path) -> None:
    _, rep = short_run
    page = browser.open(_page(short_run, tmp_path, "short_drift.html"))
    assert page.errors == []
    assert page.count("figure.drift") == 0 and page.count("#drift svg") == 0
    note = page.evaluate("document.querySelector('#drift-too-short').innerText")
    assert note.startswith("This clip is too short for drift")
    assert f"{drift.min_span_s() / 60:.1f} min" in note
