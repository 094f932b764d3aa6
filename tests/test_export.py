"""Exports (formcheck.export): C3D round trip with ezc3d, TRC/MOT headers (and OpenSim's own
readers when its package is installed), the FIT-style CSV against report.json, the command's
errors.  Report folders are written once per module from the sample clip's landmarks (the
session's pose run, tests/conftest.py), one with --height 180 (metres) and one without
(pixels)."""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLE

from formcheck.api import Options, analyze_pose
from formcheck.config import settings
from formcheck.export import FORMATS, export_folder, file_name, load
from formcheck.export import angles as angles_mod
from formcheck.export.command import export
from formcheck.landmarks import L_HEEL, L_HIP, L_KNEE, L_SHOULDER, NAMES, NOSE, R_HEEL, hip_mid
from formcheck.metrics import overstride, trunk_lean
from formcheck.pose import PoseSeries
from formcheck.report.writer import OutputOptions, write_outputs
from formcheck.video import probe

HEIGHT_CM = 180.0
LEG_FRACTION = settings()["scale"]["leg_fraction_of_height"]


def _folder(pose: object, root: Path, name: str, height_cm: float | None) -> Path:
    analysis = analyze_pose(pose, Options(height_cm=height_cm))
    out = root / name
    write_outputs(analysis, out, probe(SAMPLE).to_dict(), OutputOptions(html=False, video=False))
    return out


@pytest.fixture(scope="module")
def folders(pose_of, tmp_path_factory) -> dict[str, Path]:
    pose = pose_of(SAMPLE)
    root = tmp_path_factory.mktemp("export")
    return {"m": _folder(pose, root, "sample_height", HEIGHT_CM),
            "px": _folder(pose, root, "sample", None)}


@pytest.fixture(scope="module")
def exported(folders) -> dict[str, dict[str, Path]]:
    """Every format of both folders, through the API's default output folder."""
    out = {}
    for k, d in folders.items():
        paths = export_folder(d, ["all"])
        out[k] = {p.name: p for p in paths}
        assert [p.parent for p in paths] == [d / "export"] * len(FORMATS)
    return out


@functools.cache
def _load(folder: Path):
    """load() once per folder (it re-runs the stages after the pose model)."""
    return load(folder)


def _report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())


def _path(exported, folders, unit: str, fmt: str) -> Path:
    return exported[unit][file_name(_load(folders[unit]), fmt)]


# ---- C3D ----------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["m", "px"])
def test_c3d_round_trip_points_rate_events(folders, exported, unit):
    import ezc3d

    src = _load(folders[unit])
    c = ezc3d.c3d(str(_path(exported, folders, unit, "c3d")))
    p = c["parameters"]
    assert tuple(p["POINT"]["LABELS"]["value"]) == NAMES
    assert p["POINT"]["UNITS"]["value"] == [unit]
    assert p["POINT"]["RATE"]["value"][0] == pytest.approx(src.fps, rel=1e-6)
    assert c["header"]["points"]["frame_rate"] == pytest.approx(src.fps, rel=1e-6)
    pts = np.transpose(c["data"]["points"][:3], (2, 1, 0))  # [N, 33, 3]
    assert pts.shape == src.points.shape == (src.n, 33, 3)
    assert src.n > 300
    # same points (C3D stores float32), missing samples missing
    np.testing.assert_array_equal(np.isnan(pts), np.isnan(src.points))
    assert np.isfinite(pts).mean() > 0.95
    scale = float(np.nanmax(np.abs(src.points)))
    np.testing.assert_allclose(pts, src.points, rtol=0, atol=2e-7 * scale, equal_nan=True)
    res = c["data"]["meta_points"]["residuals"][0].T  # [N, 33]
    assert ((res < 0) == np.isnan(pts[..., 0])).all()
    # events: a Foot Strike per step, a Foot Off per toe-off found, report.json's times/sides
    ev = p["EVENT"]
    times = ev["TIMES"]["value"]
    t = 60.0 * times[0] + times[1] + p["FORMCHECK"]["TIME_OFFSET_S"]["value"][0]
    labels, contexts = list(ev["LABELS"]["value"]), list(ev["CONTEXTS"]["value"])
    assert ev["USED"]["value"][0] == len(labels) == len(contexts) == t.size
    steps = _report(folders[unit])["steps"]
    assert len(steps) > 20
    side = {"L": "Left", "R": "Right"}
    for label, key in (("Foot Strike", "ic_t_s"), ("Foot Off", "to_t_s")):
        want = [(s[key], side[s["foot"]]) for s in steps if s[key] is not None]
        got = [(float(tt), cx) for tt, lb, cx in zip(t, labels, contexts, strict=True)
               if lb == label]
        assert len(got) == len(want) > 20
        assert [g[1] for g in got] == [w[1] for w in want]
        np.testing.assert_allclose([g[0] for g in got], [w[0] for w in want], atol=1e-4)


def test_c3d_units_are_stated_and_metres_follow_the_height(folders, exported):
    """The unit is in POINT:UNITS, the point descriptions and FORMCHECK:AXES; in metres, the
    exported leg (hip-knee + knee-ankle, median) is 0.491 x the height given (the scale is
    read from the stance leg, report.json ``scale``: within 5 % over all frames), and pixel
    and metre exports differ by the one scale, report.json's."""
    import ezc3d

    cm = ezc3d.c3d(str(_path(exported, folders, "m", "c3d")))["parameters"]
    cp = ezc3d.c3d(str(_path(exported, folders, "px", "c3d")))["parameters"]
    assert cm["FORMCHECK"]["AXES"]["value"][0].split(";")[-1].strip().startswith("m (scale")
    assert cp["FORMCHECK"]["AXES"]["value"][0].endswith("; px")
    assert all(d.endswith("(2D, m)") for d in cm["POINT"]["DESCRIPTIONS"]["value"])
    assert cp["FORMCHECK"]["SCALE_M_PER_PX"]["value"][0] == 0
    src_m, src_px = _load(folders["m"]), _load(folders["px"])
    p = src_m.points
    leg = (np.linalg.norm(p[:, L_HIP] - p[:, L_KNEE], axis=-1)
           + np.linalg.norm(p[:, L_KNEE] - p[:, 27], axis=-1))
    assert float(np.nanmedian(leg)) == pytest.approx(
        LEG_FRACTION * HEIGHT_CM / 100, rel=0.05)
    rep = _report(folders["m"])
    sc = rep["scale"]
    assert sc["source"] == "height" and sc["height_cm"] == HEIGHT_CM
    k = LEG_FRACTION * HEIGHT_CM / 100 / sc["leg_px"]
    assert src_m.m_per_px == pytest.approx(k, rel=1e-3)
    assert src_m.m_per_px == pytest.approx(1 / sc["px_per_m"], rel=1e-4)
    assert _report(folders["px"])["scale"]["px_per_m"] is None
    np.testing.assert_allclose(src_m.points, src_px.points * src_m.m_per_px, rtol=1e-9,
                               equal_nan=True)


def test_axes_x_forward_y_up_from_the_image(folders):
    """Un-doing the stated axes gives back the analysed image landmarks (the landmarks whose
    labels are never changed: nose, shoulders; the legs' change side, so the hip midpoint);
    X grows in the running direction."""
    folder = folders["px"]
    rep = _report(folder)
    src = _load(folder)
    analysis = analyze_pose(PoseSeries.load(folder / "landmarks.npz"), Options())
    assert rep["view"]["view"] == "side"
    sign = 1 if rep["view"]["direction"] == "right" else -1
    w, h = src.width_px, src.height_px
    x_img = src.points[..., 0] if sign > 0 else w - src.points[..., 0]
    y_img = h - src.points[..., 1]
    img = np.stack([x_img, y_img], axis=-1)
    for j in (NOSE, L_SHOULDER):
        np.testing.assert_allclose(img[:, j], analysis.clean.xy_px[:, j], atol=1e-3)
    np.testing.assert_allclose(hip_mid(img), hip_mid(analysis.clean.xy_px), atol=1e-3)
    assert np.nanmedian(src.points[..., 2]) == 0
    # the head is above the heels
    assert np.nanmedian(src.points[:, NOSE, 1] - src.points[:, L_HEEL, 1]) > 0


def test_leg_points_follow_the_reported_side(folders):
    """At each valid step's Foot Strike, the foot of the event's side is the one in front
    (the landing foot; overstride_pct_leg > 0 in report.json says it is ahead of the hip):
    the leg points are labelled as the report's sides, not MediaPipe's leg labels."""
    folder = folders["m"]
    src = _load(folder)
    heel = {"L": L_HEEL, "R": R_HEEL}
    other = {"L": "R", "R": "L"}
    ahead = []
    for s in _report(folder)["steps"]:
        if not s["valid"] or s["overstride_pct_leg"] is None or s["overstride_pct_leg"] < 5:
            continue
        i = int(np.argmin(np.abs(src.t_s - s["ic_t_s"])))
        x = src.points[i, :, 0]
        ahead.append(bool(x[heel[s["foot"]]] > x[heel[other[s["foot"]]]]))
    assert len(ahead) > 20
    assert np.mean(ahead) >= 0.9, ahead


# ---- TRC ----------------------------------------------------------------------------------


def _read_trc(path: Path) -> tuple[dict[str, str], list[str], np.ndarray]:
    lines = path.read_text().split("\n")
    assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    head = dict(zip(lines[1].split("\t"), lines[2].split("\t"), strict=True))
    names_row = lines[3].split("\t")
    assert names_row[:2] == ["Frame#", "Time"]
    markers = [m for m in names_row[2:] if m]
    assert names_row[2::3] == markers
    assert lines[4].split("\t")[2:] == [f"{a}{i}" for i in range(1, len(markers) + 1)
                                        for a in "XYZ"]
    assert lines[5] == ""
    rows = [r.split("\t") for r in lines[6:] if r]
    data = np.array([[float(v) for v in r] for r in rows])
    return head, markers, data


@pytest.mark.parametrize("unit", ["m", "px"])
def test_trc_header_parses_and_matches_the_data(folders, exported, unit):
    src = _load(folders[unit])
    head, markers, data = _read_trc(_path(exported, folders, unit, "trc"))
    assert head["Units"] == unit
    assert int(head["NumFrames"]) == data.shape[0] == src.n
    assert int(head["NumMarkers"]) == len(markers) == 33
    assert markers == list(NAMES)
    assert float(head["DataRate"]) == pytest.approx(src.fps, rel=1e-6)
    np.testing.assert_array_equal(data[:, 0], np.arange(1, src.n + 1))
    np.testing.assert_allclose(data[:, 1], src.t_s, atol=1e-6)
    assert np.diff(data[:, 1]) == pytest.approx(1 / src.fps, abs=2e-6)
    np.testing.assert_allclose(data[:, 2:].reshape(src.n, 33, 3), src.points, atol=1e-6,
                               equal_nan=True)


# ---- MOT ----------------------------------------------------------------------------------


def _read_mot(path: Path) -> tuple[dict[str, str], list[str], np.ndarray]:
    lines = path.read_text().split("\n")
    end = lines.index("endheader")
    head = dict(ln.split("=", 1) for ln in lines[1:end])
    cols = lines[end + 1].split("\t")
    data = np.array([[float(v) for v in r.split("\t")] for r in lines[end + 2:] if r])
    return head, cols, data


def test_mot_header_and_angles_use_formcheck_definitions(folders, exported):
    folder = folders["m"]
    src = _load(folder)
    head, cols, data = _read_mot(_path(exported, folders, "m", "mot"))
    assert head["version"] == "1" and head["inDegrees"] == "yes"
    assert int(head["nRows"]) == data.shape[0] == src.n
    assert int(head["nColumns"]) == len(cols) == data.shape[1] == 1 + len(angles_mod.COLUMNS)
    assert cols[0] == "time" and tuple(cols[1:]) == angles_mod.COLUMNS
    col = {c: data[:, i] for i, c in enumerate(cols)}
    np.testing.assert_allclose(col["time"], src.t_s, atol=1e-6)
    # the metric modules' own functions give the same values at the frames
    t, xy = src.t_s, src.xy_px
    for side in ("L", "R"):
        s = side.lower()
        ref = overstride.at_contact(t, xy, t, np.full(src.n, side), src.sign, 1.0)
        for name, key in ((f"knee_flexion_{s}_deg", "knee_flexion_ic_deg"),
                          (f"shank_angle_{s}_deg", "shank_angle_ic_deg")):
            both = np.isfinite(ref[key]) & np.isfinite(col[name])
            assert both.mean() > 0.9
            np.testing.assert_allclose(col[name][both], ref[key][both], atol=1e-3)
    lean = trunk_lean.lean_series_deg(xy, src.sign)
    np.testing.assert_allclose(col["trunk_lean_deg"], lean, atol=1e-3, equal_nan=True)
    # and report.json's per-step knee flexion at contact is the stance leg's column there
    diffs = []
    for st in _report(folder)["steps"]:
        v = st["knee_flexion_ic_deg"]
        if v is None:
            continue
        c = col[f"knee_flexion_{st['foot'].lower()}_deg"]
        ok = np.isfinite(c)
        diffs.append(abs(float(np.interp(st["ic_t_s"], t[ok], c[ok])) - v))
    # (the report interpolates landmarks to the contact, this the angles: a little apart
    # where the knee moves fast; a step read from the other leg would be off by ~10 deg)
    assert len(diffs) > 20
    assert float(np.percentile(diffs, 90)) < 0.2 and max(diffs) < 3.0, sorted(diffs)


# ---- OpenSim ------------------------------------------------------------------------------


def test_trc_and_mot_load_in_opensim(folders, exported):
    osim = pytest.importorskip(
        "opensim", reason="OpenSim's Python package is not installed (pip install opensim: "
        "wheels for CPython >= 3.11 on PyPI; the 'opensim' extra)")
    src = _load(folders["m"])
    trc = osim.TimeSeriesTableVec3(str(_path(exported, folders, "m", "trc")))
    assert trc.getNumRows() == src.n and trc.getNumColumns() == 33
    assert list(trc.getColumnLabels()) == list(NAMES)
    assert trc.getTableMetaDataAsString("Units") == "m"
    assert list(trc.getIndependentColumn()) == pytest.approx(list(src.t_s), abs=1e-6)
    row = trc.getRowAtIndex(src.n // 2)
    for j in (NOSE, L_HIP):
        v = row[j]
        assert [v[0], v[1], v[2]] == pytest.approx(list(src.points[src.n // 2, j]), abs=1e-6)
    mot = osim.TimeSeriesTable(str(_path(exported, folders, "m", "mot")))
    assert mot.getNumRows() == src.n
    assert tuple(mot.getColumnLabels()) == angles_mod.COLUMNS
    assert mot.getTableMetaDataAsString("inDegrees") == "yes"
    knee = mot.getDependentColumn("knee_flexion_l_deg").to_numpy()
    ref = angles_mod.series_deg(src.xy_px, src.sign, src.sagittal)["knee_flexion_l_deg"]
    np.testing.assert_allclose(knee, ref, atol=1e-4, equal_nan=True)


# ---- FIT-style CSV ------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["m", "px"])
def test_fit_csv_matches_the_report(folders, exported, unit):
    rep = _report(folders[unit])
    with _path(exported, folders, unit, "fit-csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["step", "foot", "time_s", "valid", "side_confident", "cadence",
                             "fractional_cadence", "stance_time", "stance_time_percent",
                             "vertical_oscillation", "speed", "enhanced_speed", "step_length",
                             "vertical_ratio"]
    steps = rep["steps"]
    assert len(rows) == len(steps)
    vo = []
    for r, s in zip(rows, steps, strict=True):
        assert r["foot"] == s["foot"] and float(r["time_s"]) == pytest.approx(s["ic_t_s"])
        if s["contact_time_ms"] is None:
            assert r["stance_time"] == ""
        else:
            assert float(r["stance_time"]) == pytest.approx(s["contact_time_ms"])
        if s["step_time_ms"] is None:
            assert r["cadence"] == ""
        else:
            rpm = int(r["cadence"]) + float(r["fractional_cadence"])
            assert rpm == pytest.approx(60000 / (2 * s["step_time_ms"]), abs=1 / 256)
            assert 0 <= float(r["fractional_cadence"]) < 1
        if r["vertical_oscillation"]:
            vo.append(float(r["vertical_oscillation"]))
    summary = rep["metrics"]["vertical_oscillation_cm"]
    if unit == "px":
        assert vo == [] and summary["value"] is None
    else:
        assert len(vo) > 20
        assert float(np.median(vo)) == pytest.approx(10 * summary["value"], abs=0.6)
    # the sample's setting is only guessed (treadmill, or a camera following the runner): no
    # speed, so no speed, step length or vertical ratio cells (test_speed.py checks them)
    assert rep["metrics"]["speed_mps"]["value"] is None
    assert all(r[k] == "" for r in rows for k in ("speed", "enhanced_speed", "step_length",
                                                  "vertical_ratio"))
    cad = rep["metrics"]["cadence_spm"]["value"]
    rpm_all = [int(r["cadence"]) + float(r["fractional_cadence"]) for r in rows if r["cadence"]]
    assert 2 * float(np.median(rpm_all)) == pytest.approx(cad, rel=0.03)


# ---- command ------------------------------------------------------------------------------


def _run(*args: str):
    return CliRunner().invoke(export, list(args), catch_exceptions=False)


def test_command_writes_the_formats_asked(folders, tmp_path):
    out = tmp_path / "x"
    r = _run(str(folders["px"]), "-f", "trc", "--format", "MOT", "-o", str(out))
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    src = _load(folders["px"])
    assert names == sorted([file_name(src, "trc"), file_name(src, "mot")])
    assert r.output.split() == [str(out / file_name(src, f)) for f in ("trc", "mot")]
    # not over results without --force; with it, the folder is replaced as a whole
    r = _run(str(folders["px"]), "-f", "c3d", "-o", str(out))
    assert r.exit_code == 7 and r.output.count("\n") == 1 and "--force" in r.output
    r = _run(str(folders["px"]), "-f", "c3d", "-o", str(out), "--force", "-q")
    assert r.exit_code == 0 and r.output == ""
    assert [p.name for p in out.iterdir()] == [file_name(src, "c3d")]


def test_command_errors_are_one_line(folders, tmp_path):
    r = _run(str(tmp_path / "nope"))
    assert r.exit_code == 3 and r.output.count("\n") == 1
    assert r.output.startswith("formcheck: error: ") and "no such report folder" in r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _run(str(empty))
    assert r.exit_code == 13 and r.output.count("\n") == 1 and "report.json" in r.output
    (empty / "report.json").write_text("{not json")
    r = _run(str(empty))
    assert r.exit_code == 13 and r.output.count("\n") == 1
    (empty / "report.json").write_text((folders["px"] / "report.json").read_text())
    r = _run(str(empty))
    assert r.exit_code == 12 and "landmarks.npz" in r.output
    (empty / "landmarks.npz").write_text("not a zip")
    r = _run(str(empty))
    assert r.exit_code == 12 and r.output.count("\n") == 1
    # a report whose steps its landmarks do not give
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "landmarks.npz").write_bytes((folders["px"] / "landmarks.npz").read_bytes())
    rep = _report(folders["px"])
    rep["steps"] = rep["steps"][1:]
    (bad / "report.json").write_text(json.dumps(rep))
    r = _run(str(bad))
    assert r.exit_code == 13 and "other steps" in r.output and r.output.count("\n") == 1
    assert not (bad / "export").exists()
    r = _run(str(folders["px"]), "-f", "xls")
    assert r.exit_code == 2


def test_format_names_match_the_registry() -> None:
    """The command line's static list of formats (kept so it starts without numpy) is the
    registry's."""
    from formcheck.export import FORMAT_NAMES

    assert FORMAT_NAMES == tuple(FORMATS)


def test_analyze_export_writes_the_same_files_as_export(folders, tmp_path) -> None:
    """``analyze --export`` (from the analysis in memory) writes what ``formcheck export``
    writes from the folder afterwards (which re-derives the analysis from landmarks.npz)."""
    from formcheck.cli import main

    out = tmp_path / "a"
    res = CliRunner().invoke(main, ["analyze", str(SAMPLE), "--pose",
                                    str(folders["px"] / "landmarks.npz"), "-o", str(out),
                                    "--no-video", "--no-html", "-q", "--jobs", "1",
                                    "--export", "c3d", "--export", "fit-csv"])
    assert res.exit_code == 0, res.output
    made = sorted(p.name for p in (out / "export").iterdir())
    assert [p.rsplit(".", 1)[1] for p in made] == ["c3d", "csv"]
    later = export_folder(out, ["fit-csv"], tmp_path / "later")
    (fit_now,) = [p for p in (out / "export").iterdir() if p.suffix == ".csv"]
    assert fit_now.read_text() == later[0].read_text()
