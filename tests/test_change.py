"""Change over time (issue 13): noise of each metric (SE, MDC95), comparing sessions and
drift within a run, on synthetic runners with known changes and on real clips.

The synthetic runners come from tests/synthetic_gait.py (independent of formcheck), analysed
by the real pipeline after the pose model and written as real report folders; the verdicts are
checked against the changes built into them, never against formcheck's own numbers.  The
false-alarm and sensitivity rates over many seeds are printed by bench/change_false_alarms.py
(too slow for the suite); here a few seeds are checked.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLE, shared_clip
from synthetic_sessions import NOISE, report, write_folder

from formcheck.api import Options, analyze_pose
from formcheck.change import compare, drift, mdc
from formcheck.change.command import compare_command
from formcheck.report import build_report

BASE = dict(cadence_spm=170.0, overstride_pct_leg=20.0, trunk_lean_deg=6.0, duration_s=15.0)
CHANGED = dict(cadence_spm=170.0 * 1.05, overstride_pct_leg=10.0, trunk_lean_deg=10.0,
               duration_s=15.0)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Report folders: the baseline runner, the same runner with other noise, the changed
    runner (dated so that the changed one is the latest whatever the argument order)."""
    root = tmp_path_factory.mktemp("sessions")
    return {
        "base": write_folder(root / "base", created="2024-03-01T08:00:00Z", **BASE, **NOISE,
                             seed=11),
        "same": write_folder(root / "same", created="2024-03-15T08:00:00Z", **BASE, **NOISE,
                             seed=12),
        "changed": write_folder(root / "changed", created="2024-04-20T08:00:00Z", **CHANGED,
                                **NOISE, seed=13),
    }


# ----------------------------------------------------------------------------- mdc


def test_bootstrap_se_of_a_median_matches_theory() -> None:
    """For independent normal steps the SE of the median is about 1.2533 sigma / sqrt(n):
    on average over 20 clips of 40 and of 200 steps the bootstrap gives that, and the
    spread of the 20 clips' medians agrees with it."""
    sigma = 3.0
    for n in (40, 200):
        ses, meds = [], []
        for seed in range(20):
            v = np.random.default_rng(seed).normal(10.0, sigma, n)
            steps = {"ic_t_s": np.arange(n) * 0.35,
                     "foot": np.array(["L", "R"] * (n // 2), object), "trunk_lean_deg": v}
            se, n_used, block, why = mdc.standard_error("trunk_lean_deg", steps)
            assert why == "" and n_used == n and block % 2 == 0
            ses.append(se)
            meds.append(np.median(v))
        theory = 1.2533 * sigma / math.sqrt(n)
        assert np.mean(ses) == pytest.approx(theory, rel=0.15), n
        assert np.std(meds, ddof=1) == pytest.approx(np.mean(ses), rel=0.4), n


def test_bootstrap_keeps_serial_correlation() -> None:
    """Slowly wandering steps (AR(1), rho 0.8) are noisier as a mean than independent ones:
    the block bootstrap sees more of that than resampling single steps would."""
    rng = np.random.default_rng(1)
    n, rho = 400, 0.8
    e = rng.normal(0, 5.0, n)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + e[i]
    st = 350.0 + x
    steps = {"ic_t_s": np.cumsum(st) / 1000, "foot": np.array(["L", "R"] * (n // 2), object),
             "step_time_ms": st}
    se_block, *_ = mdc.standard_error("step_time_ms", steps)
    se_iid = float(np.std(st, ddof=1) / math.sqrt(n)) * 1.2533
    assert se_block > 1.3 * se_iid


def test_noise_is_deterministic_and_recomputes_the_reported_value(folders: dict[str, Path]
                                                                  ) -> None:
    rep, steps = mdc.load_report_folder(folders["base"])
    a = mdc.metric_noise(rep, steps)
    b = mdc.metric_noise(rep, mdc.read_steps_csv(folders["base"] / "steps.csv"))
    assert a.keys() == b.keys() and "cadence_spm" in a
    for k, n in a.items():
        assert n.to_dict() == b[k].to_dict()  # same steps from report.json and steps.csv
        if n.value is not None:
            # the statistic is the one the report gives (per-step values are rounded)
            assert n.value == pytest.approx(rep["metrics"][k]["value"], abs=0.02), k
    assert a["cadence_spm"].se is not None and a["cadence_spm"].mdc95 > a["cadence_spm"].se
    sec = mdc.report_section(rep)
    assert sec["metrics"]["knee_flexion_ic_deg"]["floor"]["source"].startswith("Damsted")
    assert sec["metrics"]["cadence_spm"]["floor"] is None
    assert "no published" in sec["metrics"]["cadence_spm"]["floor_note"]
    json.dumps(sec, allow_nan=False)


def test_every_floor_has_a_source_and_a_known_metric() -> None:
    fl = mdc.floors()
    assert fl, "no floors loaded"
    for k, f in fl.items():
        assert k in mdc.STATISTICS
        assert f.value > 0 and f.source and f.kind


# ----------------------------------------------------------------------------- compare


def test_known_changes_are_reported_as_changed(folders: dict[str, Path]) -> None:
    c = compare.compare_folders([folders["changed"], folders["base"]])
    assert [s.name for s in c.sessions] == ["base", "changed"]  # ordered by date
    ch = c.changes[0]
    base, new = c.sessions
    truth = {"cadence_spm": 0.05 * 170.0, "overstride_pct_leg": -10.0, "trunk_lean_deg": 4.0}
    for k, d in truth.items():
        assert ch[k].verdict == compare.CHANGED, (k, ch[k])
        assert np.sign(ch[k].change) == np.sign(d)
        assert ch[k].change == pytest.approx(d, abs=0.35 * abs(d)), k


def test_same_runner_other_noise_is_no_change(folders: dict[str, Path]) -> None:
    c = compare.compare_folders([folders["base"], folders["same"]])
    changed = {k: (x.change, x.threshold) for k, x in c.changes[0].items()
               if x.verdict == compare.CHANGED}
    assert changed == {}
    assert c.changes[0]["cadence_spm"].verdict == compare.NO_CHANGE


def test_false_alarms_over_seed_pairs() -> None:
    """Same runner, 8 seed pairs: at most one false alarm per metric (the full rate over 30
    pairs is printed by bench/change_false_alarms.py)."""
    alarms: dict[str, int] = {}
    for i in range(8):
        a = compare.session_from_report(report(**{**BASE, "duration_s": 10.0}, **NOISE,
                                               seed=300 + 2 * i), "a")
        b = compare.session_from_report(report(**{**BASE, "duration_s": 10.0}, **NOISE,
                                               seed=301 + 2 * i), "b")
        for k, x in compare.compare_sessions([a, b]).changes[0].items():
            alarms[k] = alarms.get(k, 0) + (x.verdict == compare.CHANGED)
    assert alarms and max(alarms.values()) <= 1, alarms


def test_fairness_warnings_name_what_differs(folders: dict[str, Path]) -> None:
    a = compare.load_session(folders["base"])
    rep = json.loads(json.dumps(a.rep))
    rep["view"]["view"] = "oblique"
    rep["view"]["setting"] = "overground"
    rep["quality"]["fps_real"] = 120.0
    rep["view"]["yaw_deg"] = (a.rep["view"].get("yaw_deg") or 0) + 40
    b = compare.session_from_report(rep, "other")
    w = " | ".join(compare.fairness_warnings(a, b))
    for word in ("views differ", "treadmill vs overground", "frame rates differ",
                 "under 60 fps", "camera set-up differs"):
        assert word in w, word
    assert compare.fairness_warnings(a, compare.session_from_report(a.rep, "twin")) == []


def test_dates_order_and_override(folders: dict[str, Path]) -> None:
    c = compare.compare_folders([folders["same"], folders["base"]])
    assert [s.name for s in c.sessions] == ["base", "same"]
    assert "analysis time" in c.sessions[0].date_source  # no video at hand: said so
    c = compare.compare_folders([folders["same"], folders["base"]],
                                dates=["2024-01-01", "2024-02-01"])
    assert [s.name for s in c.sessions] == ["same", "base"]
    assert c.sessions[0].date_source == "given"
    c = compare.compare_folders([folders["same"], folders["base"]], keep_order=True)
    assert [s.name for s in c.sessions] == ["same", "base"]


def test_cli_writes_page_and_json_and_fails_in_one_line(folders: dict[str, Path],
                                                        tmp_path: Path) -> None:
    run = CliRunner()
    out = tmp_path / "cmp"
    r = run.invoke(compare_command, [str(folders["base"]), str(folders["changed"]),
                                     "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "CHANGED" in r.output and "Cadence" in r.output
    doc = json.loads((out / "compare.json").read_text())
    assert doc["pairs"][0]["metrics"]["cadence_spm"]["verdict"] == compare.CHANGED
    html = (out / "compare.html").read_text()
    assert "changed" in html and "http://" not in html and "https://" not in html
    # again without --force: the output holds results (7); a missing input (3); one input (2)
    r = run.invoke(compare_command, [str(folders["base"]), str(folders["same"]), "-o",
                                     str(out)])
    assert r.exit_code == 7 and "--force" in r.output
    r = run.invoke(compare_command, [str(folders["base"]), str(tmp_path / "nope"), "-o",
                                     str(tmp_path / "x")])
    assert r.exit_code == 3 and len(r.output.strip().splitlines()) == 1
    r = run.invoke(compare_command, [str(tmp_path), str(folders["base"]), "-o",
                                     str(tmp_path / "y")])
    assert r.exit_code == 13 and "report.json" in r.output  # ReportFolderError, as export
    r = run.invoke(compare_command, [str(folders["base"])])
    assert r.exit_code == 2
    r = run.invoke(compare_command, [str(folders["base"]), str(folders["same"]), "--date",
                                     "2024-01-01", "--date", "soon", "-o", str(tmp_path / "z")])
    assert r.exit_code == 2 and not (tmp_path / "z").exists()


# ----------------------------------------------------------------------------- drift


@pytest.mark.parametrize("drop", [3.0, 0.0])
def test_drift_found_only_when_injected(drop: float) -> None:
    """A 4-minute synthetic run whose cadence falls 3 % is found drifting, by about 3 %;
    without the drop no drift is found in any key metric."""
    rep = report(drift_pct=drop, **{**BASE, "duration_s": 240.0}, **NOISE, seed=77)
    d = drift.drift(rep)
    cad = d["cadence_spm"]
    assert len(cad.windows) >= 7  # about 30 s windows
    if drop:
        assert cad.verdict == "drift" and "fell" in cad.text
        assert cad.change_pct == pytest.approx(-drop, abs=1.0)
        assert cad.change_pct_ci[0] < -drop < cad.change_pct_ci[1]
    else:
        found = {k: x.text for k, x in d.items() if x.verdict == "drift"}
        assert found == {}


def test_short_clip_gets_no_trend() -> None:
    rep = report(**{**BASE, "duration_s": 8.0}, seed=5)
    d = drift.drift(rep)
    assert d["cadence_spm"].verdict == "not_assessed"
    assert "too short" in d["cadence_spm"].text


# ----------------------------------------------------------------------------- real clips


@pytest.fixture(scope="module")
def sample_halves(pose_of: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    ps = pose_of(SAMPLE)
    mid = float(ps.t_s[-1]) / 2
    return (build_report(analyze_pose(ps, Options(end_s=mid)), None, timestamp=False),
            build_report(analyze_pose(ps, Options(start_s=mid)), None, timestamp=False))


def _halves(sample_halves: Any) -> compare.Comparison:
    a, b = (compare.session_from_report(r, n) for r, n in zip(sample_halves,
                                                              ("first", "second"), strict=True))
    return compare.compare_sessions([a, b])


def test_real_clip_halves_no_change(sample_halves: Any) -> None:
    """The two halves of the sample (one runner, one session): no change in any metric."""
    c = _halves(sample_halves)
    assert c.same_session  # windows of one file: only the clips' own noise applies
    got = {k: x.verdict for k, x in c.changes[0].items() if x.verdict != compare.CANNOT}
    assert {"cadence_spm", "overstride_pct_leg", "trunk_lean_deg"} <= got.keys()
    changed = {k: (c.changes[0][k].change, c.changes[0][k].threshold) for k, v in got.items()
               if v == compare.CHANGED}
    assert changed == {}


def test_real_clip_halves_contact_time_asymmetry(sample_halves: Any) -> None:
    """Contact-time asymmetry does not change between the sample's halves either, and the
    report's low confidence (30 fps) is carried along.  Until toe-off was read at the foot's
    roll-off pivot, half the left contacts of the second half were timed 100-200 ms (the
    right ones ~335 ms; labels 270-330) and this read "changed"; now one step per half is
    short (171-218 ms) and the change is 3.2 % against a 9.7 % threshold."""
    x = _halves(sample_halves).changes[0]["contact_time_asymmetry_pct"]
    assert x.caution  # the report's own low confidence is carried along
    assert x.verdict != compare.CHANGED


def test_pace_segments_cadence_drifts_up(pose_of: Any) -> None:
    """The dev clip's runner speeds up segment by segment (captions 6:30 to 2:10 min/km):
    cadence drifts up, more than the noise."""
    ps = pose_of(shared_clip("outdoor_side_pace_segments.mp4"))
    rep = build_report(analyze_pose(ps), None, timestamp=False)
    cad = drift.drift(rep)["cadence_spm"]
    assert cad.verdict == "drift" and cad.change > 0, cad.text
    assert "rose" in cad.text


# ----------------------------------------------------------------------------- browser


def test_compare_page_in_chromium(folders: dict[str, Path], tmp_path: Path,
                                  artifacts_dir: Path) -> None:
    from browser import launch, require_chromium

    require_chromium()
    from formcheck.change import html as html_mod

    c = compare.compare_folders([folders["base"], folders["same"], folders["changed"]])
    page_path = tmp_path / "compare.html"
    html_mod.write_compare(c, page_path)
    with launch() as browser:
        page = browser.open(page_path)
        assert page.errors == []
        assert page.foreign_requests() == []
        assert page.count("tr[data-metric]") >= 10
        verdict = page.evaluate(
            "() => document.querySelector('tr[data-metric=\"cadence_spm\"] "
            "td[data-verdict]:last-child').dataset.verdict")
        assert verdict == compare.CHANGED
        page.screenshot(artifacts_dir / "compare.png")
