"""``formcheck batch``: a folder (and a manifest) of real clips through the real CLI.

The input folder holds short stream-copied cuts of the sample clip (as .mp4 and .mov, so
the two output folders must not collide), the panning outdoor sample in a nested folder, a
truncated MP4, a text file named ``.MP4``, a hidden macOS resource-fork file and a non-video
file.  Every run uses the real pose model in real worker processes (or a real Dask
``LocalCluster`` on loopback); ``--no-video`` keeps it quick.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLE, SAMPLE_DIR, run_cli

STAMP = ".formcheck-done.json"
GOOD = ["a/run1.mov", "a/run1.mp4", "b/nested/pan.mp4"]
BAD = ["bad/corrupt.mp4", "bad/notes.MP4"]
REPORT_FILES = {"report.json", "metrics.json", "steps.csv", "landmarks.npz", "landmarks.csv",
                "report.html", "people.png"}
HIDDEN_TEMP = re.compile(r"^\..+\.(part|old)-[0-9a-f]{8}$")


def cut_clip(src: Path, dst: Path, seconds: float) -> None:
    """The first ``seconds`` of ``src`` into ``dst`` (any container), by stream copy."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s = inp.streams.video[0]
        o = out.add_stream_from_template(s)
        for pkt in inp.demux(s):
            if pkt.dts is None:
                continue
            if pkt.pts is not None and float(pkt.pts * s.time_base) >= seconds:
                continue
            pkt.stream = o
            out.mux(pkt)


def make_good(root: Path) -> None:
    (root / "a").mkdir(parents=True)
    (root / "b" / "nested").mkdir(parents=True)
    cut_clip(SAMPLE, root / "a" / "run1.mp4", 4.5)
    cut_clip(SAMPLE, root / "a" / "run1.mov", 4.5)
    shutil.copyfile(SAMPLE_DIR / "outdoor_side_short_pan.mp4", root / "b/nested/pan.mp4")


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch_in")
    make_good(root)
    (root / "bad").mkdir()
    (root / "bad" / "corrupt.mp4").write_bytes(SAMPLE.read_bytes()[:20000])
    (root / "bad" / "notes.MP4").write_text("session notes, not a video\n")
    (root / "a" / "._run1.mp4").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 60)  # AppleDouble
    (root / "readme.txt").write_text("not a video extension\n")
    return root


@pytest.fixture(scope="module")
def first_run(clip_dir: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("batch_out") / "out"
    proc = run_cli("batch", str(clip_dir), "-o", str(out), "--no-video", "--jobs", "2")
    return proc, out


def read_summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def file_mtimes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns
            for p in root.rglob("*") if p.is_file() and p.suffix != ".lock"
            and not p.name.startswith("summary.")}


def hidden_temps(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if HIDDEN_TEMP.match(p.name)]


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_ok_row(row: dict[str, str], out: Path) -> dict:
    """The row's values are those of its report.json; returns the report."""
    folder = out / (row["path"] + "_formcheck")
    rep = json.loads((folder / "report.json").read_text())
    cad = rep["metrics"]["cadence_spm"]["value"]
    assert (float(row["cadence_spm"]) if row["cadence_spm"] else None) == cad
    assert row["view"] == rep["view"]["view"] and row["gait"] == rep["view"]["gait"]
    assert float(row["duration_s"]) == rep["source"]["video"]["duration_s"]
    for f in rep["findings"]:
        assert row[f["id"]] == (f["severity"] if f["assessed"] else "n/a"), f["id"]
    tl = rep["metrics"]["trunk_lean_deg"]["value"]
    assert (float(row["trunk_lean_deg"]) if row["trunk_lean_deg"] else None) == tl
    assert row["report"] == f"{row['path']}_formcheck/report.html"
    return rep


def test_folder_batch_outputs_and_summary(first_run: tuple, clip_dir: Path) -> None:
    proc, out = first_run
    assert proc.returncode == 10, proc.stderr
    rows = read_summary(out)
    assert [r["path"] for r in rows] == sorted(GOOD + BAD)  # hidden and .txt files skipped
    by = {r["path"]: r for r in rows}
    for p in GOOD:
        assert by[p]["status"] == "ok" and by[p]["reason"] == "", by[p]
        assert by[p]["action"] == "analysed"
        folder = out / (p + "_formcheck")
        assert {f.name for f in folder.iterdir()} == REPORT_FILES | {STAMP}
        stamp = json.loads((folder / STAMP).read_text())
        assert stamp["sha256"] == sha256(clip_dir / p)
        assert max(f.stat().st_mtime_ns for f in folder.iterdir()) == \
            (folder / STAMP).stat().st_mtime_ns  # the stamp is written last
        check_ok_row(by[p], out)
    # the treadmill cut is measurable; the same clip in two containers, two folders
    assert 150 < float(by["a/run1.mp4"]["cadence_spm"]) < 190
    assert by["a/run1.mov"]["cadence_spm"] == by["a/run1.mp4"]["cadence_spm"]
    # the 1.7 s pan has too few steps: the summary says so at a glance, not "ok" alone
    assert "not measurable" in by["b/nested/pan.mp4"]["attention"], by["b/nested/pan.mp4"]
    assert by["b/nested/pan.mp4"]["warnings"]
    assert by["a/run1.mp4"]["people"] == "1"
    assert "damaged" in by["bad/corrupt.mp4"]["reason"]
    assert "not a video" in by["bad/notes.MP4"]["reason"]
    for p in BAD:
        assert by[p]["status"] == "failed" and by[p]["report"] == ""
        assert by[p]["attention"] == "failed: " + by[p]["reason"]
        assert "\n" not in by[p]["reason"] and str(clip_dir) not in by[p]["reason"]
        assert not (out / (p + "_formcheck")).exists()
        assert f"formcheck: failed: {p}: {by[p]['reason']}" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("formcheck: error: 2 of 5 ")
    assert "Traceback" not in proc.stderr
    assert hidden_temps(out) == []


def test_batch_report_equals_analyze(first_run: tuple, clip_dir: Path, tmp_path: Path) -> None:
    """A batch folder holds exactly what ``formcheck analyze`` writes for the same clip."""
    _, out = first_run
    folder = out / "a/run1.mp4_formcheck"
    proc = run_cli("analyze", str(clip_dir / "a/run1.mp4"), "-o", str(tmp_path / "single"),
                   "--no-video", "-q")
    assert proc.returncode == 0, proc.stderr
    single = json.loads((tmp_path / "single/report.json").read_text())
    batch = json.loads((folder / "report.json").read_text())
    for key in ("source", "options", "view", "quality", "metrics", "findings", "summary",
                "steps"):
        assert batch[key] == single[key], key
    assert {f.name for f in (tmp_path / "single").iterdir()} == REPORT_FILES
    assert (folder / "steps.csv").read_text() == (tmp_path / "single/steps.csv").read_text()


def test_rerun_skips_unchanged_and_redoes_changed(first_run: tuple, clip_dir: Path,
                                                  tmp_path: Path) -> None:
    _, out0 = first_run
    inp, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(clip_dir, inp)
    shutil.copytree(out0, out)
    before = file_mtimes(out)
    t0 = time.perf_counter()
    proc = run_cli("batch", str(inp), "-o", str(out), "--no-video")
    rerun_s = time.perf_counter() - t0
    assert proc.returncode == 10, proc.stderr
    rows = {r["path"]: r for r in read_summary(out)}
    assert [rows[p]["action"] for p in GOOD] == ["unchanged"] * 3
    assert file_mtimes(out) == before  # nothing rewritten
    old = {r["path"]: r for r in read_summary(out0)}
    for p in GOOD:
        assert {k: v for k, v in rows[p].items() if k != "action"} == \
            {k: v for k, v in old[p].items() if k != "action"}
    print(f"no-op rerun: {rerun_s:.1f} s")

    cut_clip(SAMPLE, inp / "a/run1.mov", 3.5)  # new content for one recording
    proc = run_cli("batch", str(inp), "-o", str(out), "--no-video")
    assert proc.returncode == 10, proc.stderr
    rows = {r["path"]: r for r in read_summary(out)}
    assert {p: rows[p]["action"] for p in GOOD} == {
        "a/run1.mov": "analysed", "a/run1.mp4": "unchanged", "b/nested/pan.mp4": "unchanged"}
    assert abs(float(rows["a/run1.mov"]["duration_s"]) - 3.5) < 0.05
    check_ok_row(rows["a/run1.mov"], out)
    after = file_mtimes(out)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed and all(k.startswith("a/run1.mov_formcheck/") for k in changed)

    # a recording replaced by something unreadable: failed, and its old report removed
    (inp / "a/run1.mp4").write_text("overwritten by mistake\n")
    proc = run_cli("batch", str(inp), "-o", str(out), "--no-video")
    assert proc.returncode == 10, proc.stderr
    rows = {r["path"]: r for r in read_summary(out)}
    assert rows["a/run1.mp4"]["status"] == "failed" and rows["a/run1.mp4"]["report"] == ""
    assert not (out / "a/run1.mp4_formcheck").exists()
    assert rows["a/run1.mov"]["action"] == rows["b/nested/pan.mp4"]["action"] == "unchanged"
    assert hidden_temps(out) == []


def test_manifest_settings_labels_and_resume(clip_dir: Path, tmp_path: Path) -> None:
    clips = tmp_path / "clinic" / "clips"
    clips.mkdir(parents=True)
    shutil.copyfile(clip_dir / "b/nested/pan.mp4", clips / "pan.mp4")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(clip_dir / "b/nested/pan.mp4", elsewhere / "pan2.mp4")
    manifest = tmp_path / "clinic" / "visits.csv"

    def write(r2_slowmo: str, r1_name: str = "Ann") -> None:
        manifest.write_text(
            "ID,Runner,path,view,direction,slowmo,session\n"
            f"r1,{r1_name},clips/pan.mp4,side,right,,s1\n"
            f"r2,Bob,clips/pan.mp4,,,{r2_slowmo},s1\n"
            f"r3,Cy,{elsewhere / 'pan2.mp4'},,,,s2\n"
            "r4,Di,clips/missing.mp4,,,,s2\n"
            "r5,Ed,clips/pan.mp4,,,fast,s3\n"
            ",,,,,,\n", encoding="utf-8")

    write("2")
    out = tmp_path / "out"
    proc = run_cli("batch", str(manifest), "-o", str(out), "--no-video", "--no-html",
                   "--jobs", "1")
    assert proc.returncode == 10, proc.stderr
    rows = read_summary(out)
    assert list(rows[0])[:4] == ["ID", "Runner", "session", "path"]
    assert [(r["ID"], r["Runner"], r["session"], r["status"]) for r in rows] == [
        ("r1", "Ann", "s1", "ok"), ("r2", "Bob", "s1", "ok"), ("r3", "Cy", "s2", "ok"),
        ("r4", "Di", "s2", "failed"), ("r5", "Ed", "s3", "failed")]
    assert "no such file" in rows[3]["reason"]
    assert rows[4]["reason"] == "manifest row 6: slowmo 'fast' is not a number"
    # one file listed twice: the ID keeps the folders apart; settings reach the analysis
    r1 = json.loads((out / "clips/pan.mp4_r1_formcheck/report.json").read_text())
    r2 = json.loads((out / "clips/pan.mp4_r2_formcheck/report.json").read_text())
    assert r1["options"]["view"] == "side" and r1["view"]["direction"] == "right"
    assert "direction" in r1["view"]["overridden"]
    assert r2["options"]["slowmo"] == 2.0
    assert float(rows[1]["duration_s"]) == pytest.approx(float(rows[0]["duration_s"]) / 2,
                                                         abs=1e-3)
    assert rows[0]["report"] == "clips/pan.mp4_r1_formcheck/report.json"  # --no-html
    outside = out / "_outside" / Path(*(elsewhere / "pan2.mp4").parts[1:])
    assert rows[2]["report"] == outside.relative_to(out).as_posix() + "_formcheck/report.json"
    assert (out / rows[2]["report"]).is_file()

    # a changed setting redoes only that recording (a changed label redoes nothing);
    # --force redoes all
    write("4", r1_name="Anna")
    proc = run_cli("batch", str(manifest), "-o", str(out), "--no-video", "--no-html",
                   "--jobs", "1")
    assert proc.returncode == 10, proc.stderr
    rows = read_summary(out)
    assert [r["action"] for r in rows[:3]] == ["unchanged", "analysed", "unchanged"]
    assert rows[0]["Runner"] == "Anna"
    r2 = json.loads((out / "clips/pan.mp4_r2_formcheck/report.json").read_text())
    assert r2["options"]["slowmo"] == 4.0
    proc = run_cli("batch", str(manifest), "-o", str(out), "--no-video", "--no-html",
                   "--jobs", "1", "--force")
    assert proc.returncode == 10, proc.stderr
    assert [r["action"] for r in read_summary(out)[:3]] == ["analysed"] * 3


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (from /proc)."""
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_batch(inp: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "formcheck", "batch", str(inp), "-o",
                             str(out), "--no-video", "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def wait_for_stamps(out: Path, n: int, proc: subprocess.Popen[str], timeout_s: float = 240
                    ) -> None:
    deadline = time.monotonic() + timeout_s
    while len(list(out.rglob(STAMP))) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "batch made no progress"
        time.sleep(0.2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_interrupted_and_killed_batch_resumes(tmp_path: Path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    make_good(inp)
    (inp / "c").mkdir()
    cut_clip(SAMPLE, inp / "c" / "run2.mp4", 4.5)  # last in order: still running when killed
    # Ctrl-C (SIGINT to the batch process) after the first recording: exit 130, no partial
    # output, the finished recording kept
    proc = start_batch(inp, out)
    wait_for_stamps(out, 1, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == \
        "formcheck: error: interrupted; no partial output was left"
    assert hidden_temps(out) == []
    done = [p.parent for p in out.rglob(STAMP)]
    folders = [p for p in out.rglob("*_formcheck") if p.is_dir()]
    assert len(done) >= 1
    for f in folders:  # every visible result folder is complete
        assert REPORT_FILES <= {x.name for x in f.iterdir()}, f

    # SIGKILL the batch after one more recording: its worker must not outlive it
    proc = start_batch(inp, out)
    wait_for_stamps(out, len(done) + 1, proc)
    kids = children_of(proc.pid)
    assert kids
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 30
    while any(alive(k) for k in kids):
        assert time.monotonic() < deadline, "worker processes outlived the killed batch"
        time.sleep(0.2)
    # what a power cut mid-write leaves behind: a hidden staging folder
    stale = out / "a" / ".run1.mp4_formcheck.part-0badc0de"
    stale.mkdir(parents=True, exist_ok=True)
    (stale / "report.json").write_text("{")
    n_before = len(list(out.rglob(STAMP)))

    proc2 = run_cli("batch", str(inp), "-o", str(out), "--no-video")
    assert proc2.returncode == 0, proc2.stderr
    rows = read_summary(out)
    assert [r["status"] for r in rows] == ["ok"] * 4
    assert sum(r["action"] == "unchanged" for r in rows) == n_before
    assert hidden_temps(out) == []
    for p in [*GOOD, "c/run2.mp4"]:
        folder = out / (p + "_formcheck")
        assert {x.name for x in folder.iterdir()} == REPORT_FILES | {STAMP}
        check_ok_row(next(r for r in rows if r["path"] == p), out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_killed_worker_is_retried(tmp_path: Path) -> None:
    """A worker process killed mid-analysis (as by the out-of-memory killer) only costs a
    retry: the batch still finishes every recording."""
    inp, out = tmp_path / "in", tmp_path / "out"
    make_good(inp)
    proc = subprocess.Popen([sys.executable, "-m", "formcheck", "batch", str(inp), "-o",
                             str(out), "--no-video", "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    victim = None
    while victim is None:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        for k in children_of(proc.pid):
            cmd = Path(f"/proc/{k}/cmdline").read_bytes()
            # a pool worker that has loaded the model (the resource tracker has no threads)
            threads = int(re.search(rb"Threads:\s+(\d+)",
                                    Path(f"/proc/{k}/status").read_bytes()).group(1))
            if b"spawn_main" in cmd and threads > 4:
                victim = k
                break
        time.sleep(0.2)
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    rows = read_summary(out)
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert hidden_temps(out) == []


def test_dask_cluster_matches_local(first_run: tuple, clip_dir: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    _, local_out = first_run
    out = tmp_path / "dask_out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        proc = run_cli("batch", str(clip_dir), "-o", str(out), "--no-video", "--scheduler",
                       cluster.scheduler_address)
    assert proc.returncode == 10, proc.stderr
    assert read_summary(out) == read_summary(local_out)
    for p in GOOD:
        assert (out / (p + "_formcheck") / STAMP).is_file()


def test_usage_errors(clip_dir: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    proc = run_cli("batch", str(tmp_path / "nope"), "-o", out)
    assert proc.returncode == 3 and "no such file or folder" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = run_cli("batch", str(tmp_path / "empty"), "-o", out)
    assert proc.returncode == 3 and "no video files found" in proc.stderr
    proc = run_cli("batch", str(clip_dir / "a/run1.mp4"), "-o", out)
    assert proc.returncode == 2 and "formcheck analyze" in proc.stderr
    bad = tmp_path / "m.csv"
    bad.write_text("file,view\nx.mp4,side\n")
    proc = run_cli("batch", str(bad), "-o", out)
    assert proc.returncode == 2 and "no 'path' column" in proc.stderr
    (tmp_path / "file").write_text("x")
    proc = run_cli("batch", str(clip_dir), "-o", str(tmp_path / "file"))
    assert proc.returncode == 7
    # Dask missing (an install without formcheck[cluster]): one line, before any work
    code = ("import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None; "
            "from formcheck.cli import main; main()")
    p = subprocess.run([sys.executable, "-c", code, "batch", str(clip_dir / "bad"), "-o", out,
                        "--scheduler", "tcp://127.0.0.1:1"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "formcheck: error: --scheduler needs Dask, which is not installed; install it with: "
        "pip install 'formcheck[cluster]'"]


def test_summary_html_sorts_and_links(first_run: tuple, artifacts_dir: Path) -> None:
    from browser import launch, require_chromium

    require_chromium()
    _, out = first_run
    html = (out / "summary.html").read_text()
    assert "<script src" not in html and "<link" not in html  # self-contained
    with launch() as browser:
        page = browser.open(out / "summary.html")
        assert page.errors == [] and page.foreign_requests() == []
        paths = "() => [...document.querySelectorAll('#summary tbody tr')]" \
                ".map(r => r.cells[0].textContent.trim())"
        assert page.evaluate(paths) == sorted(GOOD + BAD)
        rows = {r["path"]: r for r in read_summary(out)}
        dur_head = page.raw.locator('#summary th[data-col="duration_s"]')
        dur_head.click()  # ascending, empty cells last
        order = page.evaluate(paths)
        dur = [float(rows[p]["duration_s"]) for p in order if rows[p]["duration_s"]]
        assert dur == sorted(dur) and len(dur) == 3 and order[3:] == [
            p for p in sorted(BAD)]
        dur_head.click()  # descending
        order = page.evaluate(paths)
        assert [float(rows[p]["duration_s"]) for p in order[:3]] == sorted(dur, reverse=True)
        page.screenshot(artifacts_dir / "batch_summary.png")
        flagged = page.evaluate("() => [...document.querySelectorAll('td.attention.flag')]"
                                ".map(td => td.parentElement.cells[0].textContent.trim())")
        assert sorted(flagged) == sorted(p for p in rows if rows[p]["attention"])
        assert "b/nested/pan.mp4" in flagged
        hrefs = page.evaluate("() => [...document.querySelectorAll('#summary a')]"
                              ".map(a => a.getAttribute('href'))")
        assert sorted(hrefs) == sorted(rows[p]["report"] for p in GOOD)
        page.raw.locator("#summary a", has_text="b/nested/pan.mp4").click()
        page.raw.wait_for_load_state()
        assert page.raw.url == (out / "b/nested/pan.mp4_formcheck/report.html").as_uri()
    with launch(viewport=(1366, 768)) as browser:  # a laptop screen
        page = browser.open(out / "summary.html")
        width = page.evaluate("() => [document.documentElement.scrollWidth, "
                              "document.querySelector('#summary').getBoundingClientRect().right]")
        assert width[0] <= 1366 and width[1] <= 1366, width  # no sideways scrolling
        page.screenshot(artifacts_dir / "batch_summary_laptop.png")
