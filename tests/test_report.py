"""report.json, steps.csv and ``--json`` of the sample clip: schema, completeness, determinism.

The outputs come from the real CLI (``formcheck analyze SAMPLE --pose landmarks.npz -o OUT
--no-video --json``) run once for this module on the session's cached pose of the sample clip
(the same landmarks ``formcheck analyze SAMPLE`` computes; ``--pose`` only skips re-running
the model), so everything after the model is what a user gets.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import SAMPLE, run_cli

from formcheck.report import SCHEMA_NAME, build_report, dumps, schema

#: steps.csv columns, in order, as documented (formcheck.metrics.STEP_COLUMNS).
DOCUMENTED_STEP_COLUMNS = [
    "step", "foot", "ic_t_s", "to_t_s", "ic_frame", "to_frame", "valid", "side_confident",
    "step_time_ms",
    "stride_time_ms", "contact_time_ms", "duty_factor_pct", "overstride_pct_leg",
    "shank_angle_ic_deg", "knee_flexion_ic_deg", "foot_strike_angle_deg", "strike_class",
    "trunk_lean_deg",
    "knee_flexion_midstance_deg", "vertical_oscillation_pct_leg",
    "speed_mps", "step_length_m", "stride_length_m", "vertical_ratio_pct",
]


@pytest.fixture(scope="module")
def cli_run(pose_of: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real CLI run on the sample: its output folder, report.json and stdout."""
    tmp = tmp_path_factory.mktemp("report_cli")
    npz = tmp / "landmarks.npz"
    pose_of(SAMPLE).save(npz)
    out = tmp / "out"
    res = run_cli("analyze", str(SAMPLE), "--pose", str(npz), "-o", str(out), "--no-video",
                  "--no-html", "--json")
    assert res.returncode == 0, res.stderr
    rep = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {"out": out, "rep": rep, "stdout": res.stdout, "stderr": res.stderr}


def _validator() -> jsonschema.Draft202012Validator:
    sch = schema()
    jsonschema.Draft202012Validator.check_schema(sch)
    return jsonschema.Draft202012Validator(sch)


def test_report_validates_against_schema(cli_run: dict[str, Any]) -> None:
    rep = cli_run["rep"]
    errors = sorted(_validator().iter_errors(rep), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert rep["schema"] == SCHEMA_NAME
    assert rep["source"]["file"] == SAMPLE.name
    assert rep["created_utc"]


def test_schema_rejects_a_number_on_a_not_measurable_metric(cli_run: dict[str, Any]) -> None:
    """The schema bites: a not-measurable metric must carry no value (and a reason), a
    measured one must carry a value."""
    v = _validator()
    rep = cli_run["rep"]
    nm = [k for k, m in rep["metrics"].items() if m["status"] == "not_measurable"]
    ok = [k for k, m in rep["metrics"].items() if m["status"] == "measured"]
    assert nm and ok, "the sample should have both measured and not-measurable metrics"

    bad = copy.deepcopy(rep)
    bad["metrics"][nm[0]]["value"] = 1.0
    assert not v.is_valid(bad)
    bad = copy.deepcopy(rep)
    bad["metrics"][ok[0]]["status"] = "not_measurable"  # keeps its number: invalid
    assert not v.is_valid(bad)
    bad = copy.deepcopy(rep)
    bad["metrics"][nm[0]]["reason"] = ""
    assert not v.is_valid(bad)
    bad = copy.deepcopy(rep)
    bad["metrics"][ok[0]]["value"] = None
    assert not v.is_valid(bad)
    bad = copy.deepcopy(rep)
    bad["findings"][0]["citation"] = ""
    assert not v.is_valid(bad)


def test_every_finding_is_complete(cli_run: dict[str, Any]) -> None:
    from formcheck.rules import load_rules

    rep = cli_run["rep"]
    enabled = [r.id for r in load_rules().rules if r.enabled]
    assert sorted(f["id"] for f in rep["findings"]) == sorted(enabled), \
        "every enabled rule must yield exactly one finding"
    for f in rep["findings"]:
        fid = f["id"]
        assert f["title"].strip(), fid
        assert f["citation"].strip(), fid
        assert isinstance(f["threshold"], (int, float)), fid
        assert f["threshold"] in f["thresholds"].values(), fid
        if f["assessed"]:
            assert f["comparison"].strip(), fid
            assert f["value"] is not None, fid
            for key in ("what", "cue", "drill", "progress", "why"):
                assert f["advice"].get(key, "").strip(), f"{fid}: advice.{key} is empty"
            assert "{" not in "".join(f["advice"].values()), f"{fid}: unfilled placeholder"
        else:
            assert f["severity"] == "none" and f["reason"].strip(), fid
    faults = {(x["id"], x["severity"]) for x in rep["summary"]["faults"]}
    assert faults == {(f["id"], f["severity"]) for f in rep["findings"]
                      if f["assessed"] and f["severity"] != "none"}
    assert rep["summary"]["n_assessed"] == sum(f["assessed"] for f in rep["findings"])
    s = rep["safety"]
    assert s["disclaimer"].strip() and s["stop_if_pain"].strip() and s["warning_signs"]


def test_steps_csv_has_one_row_per_step(cli_run: dict[str, Any]) -> None:
    from formcheck.metrics import STEP_COLUMNS

    rep = cli_run["rep"]
    with open(cli_run["out"] / "steps.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        rows = list(reader)
    assert header == DOCUMENTED_STEP_COLUMNS == list(STEP_COLUMNS)
    assert len(rows) == len(rep["steps"]) == rep["quality"]["steps_detected"] > 0
    ics = [float(r["ic_t_s"]) for r in rows]
    assert all(b > a for a, b in zip(ics, ics[1:], strict=False)), "steps must be in IC order"
    for i, (row, js) in enumerate(zip(rows, rep["steps"], strict=True)):
        assert int(row["step"]) == js["step"] == i
        assert row["foot"] in ("L", "R") and row["foot"] == js["foot"]
        assert row["valid"] in ("True", "False") and (row["valid"] == "True") == js["valid"]
        assert row["side_confident"] in ("True", "False")
        assert (row["side_confident"] == "True") == js["side_confident"]
        for col in ("ic_frame", "to_frame"):  # the first frame showing the event
            assert (row[col] == "") == (js[col] is None), (i, col)
            if row[col]:
                assert int(row[col]) == js[col] >= 0, (i, col)
        if row["to_frame"]:
            assert int(row["to_frame"]) > int(row["ic_frame"]), i
        for col in DOCUMENTED_STEP_COLUMNS[8:]:
            if col == "strike_class":
                assert row[col] in ("", "rearfoot", "midfoot", "forefoot")
                continue
            jv = js[col]
            assert (row[col] == "") == (jv is None or jv == ""), (i, col)
            if row[col]:
                assert float(row[col]) == pytest.approx(jv), (i, col)
    assert any(r["valid"] == "True" for r in rows)


def test_json_flag_prints_the_report(cli_run: dict[str, Any]) -> None:
    printed = json.loads(cli_run["stdout"])
    saved = dict(cli_run["rep"])
    printed.pop("created_utc", None)
    saved.pop("created_utc", None)
    assert printed == saved


def test_report_is_deterministic(pose_of: Any) -> None:
    """Same landmarks in, byte-identical report out (no timestamp)."""
    from formcheck.api import analyze_pose

    ps = pose_of(SAMPLE)
    a = dumps(build_report(analyze_pose(ps), None, timestamp=False))
    b = dumps(build_report(analyze_pose(ps), None, timestamp=False))
    assert a == b
    doc = json.loads(a)
    assert "created_utc" not in doc
    assert _validator().is_valid(doc)


def test_metrics_json_agrees_with_report(cli_run: dict[str, Any]) -> None:
    m = json.loads(Path(cli_run["out"] / "metrics.json").read_text(encoding="utf-8"))
    assert m["metrics"] == cli_run["rep"]["metrics"]
    assert m["view"] == cli_run["rep"]["view"]


def test_camera_section_and_camera_roll_option(cli_run: dict[str, Any], pose_of: Any,
                                               tmp_path: Any) -> None:
    """report.json ``camera``: on the sample (a treadmill) the roll is not measured, with the
    setting found or given (--setting treadmill: the foot's travel along the belt cannot be
    told from its own rise and fall in stance, docs/metrics.md "Camera roll"), and the reason
    says how to give it; --camera-roll 2.5 is taken as given and in the terminal summary; a
    bad value is a usage error."""
    cam = cli_run["rep"]["camera"]
    assert cam["status"] == "not_measured" and cam["roll_deg"] is None and cam["reason"]
    npz = tmp_path / "landmarks.npz"
    pose_of(SAMPLE).save(npz)
    outs = {}
    for name, extra in (("tm", ["--setting", "treadmill"]), ("given", ["--camera-roll", "2.5"])):
        out = tmp_path / name
        res = run_cli("analyze", str(SAMPLE), "--pose", str(npz), "-o", str(out), "--no-video",
                      "--no-html", *extra)
        assert res.returncode == 0, res.stderr
        rep = json.loads((out / "report.json").read_text(encoding="utf-8"))
        errors = list(_validator().iter_errors(rep))
        assert not errors, errors[0].message
        outs[name] = (rep, res.stdout)
    rep, stdout = outs["tm"]
    assert rep["camera"]["status"] == "not_measured" and rep["camera"]["roll_deg"] is None
    assert "treadmill" in rep["camera"]["reason"] and "--camera-roll" in rep["camera"]["reason"]
    assert "Camera roll:" not in stdout
    rep, stdout = outs["given"]
    assert rep["camera"]["status"] == "given" and rep["camera"]["roll_deg"] == 2.5
    assert rep["options"]["camera_roll_deg"] == 2.5 and "Camera roll: +2.5 deg" in stdout
    bad = run_cli("analyze", str(SAMPLE), "--pose", str(npz), "-o", str(tmp_path / "bad"),
                  "--camera-roll", "level")
    assert bad.returncode == 2 and "auto" in bad.stderr and "Traceback" not in bad.stderr
