"""Fuzz: damaged copies of a short real clip (fixed seeds) never crash or hang formcheck.

The bytes of a 1.5 s clip of the sample are mutated (truncations, flipped bytes anywhere or in
the index, zeroed ranges, spliced chunks, shuffled top-level MP4 boxes); each copy goes through
``formcheck analyze`` in a subprocess with a timeout.  Every run must either succeed (exit 0,
complete report) or stop with a documented exit code and one ``formcheck: error:`` line --
never a signal death, a hang, exit 1 (a bug) or a traceback, and never a half-written output.

``bench/fuzz.py`` runs the same mutations over many more seeds.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import SAMPLE

#: Exit codes a damaged video may legitimately produce (see formcheck.errors).  8 (invalid
#: rules file) and 9 (pose model cannot be loaded) are deliberately absent: neither depends on
#: the video, so accepting them would hide a rules or model-loading regression as a "clean
#: refusal" of a damaged clip.
ALLOWED_CODES = {0, 3, 4, 5, 6, 7}
#: Mutation kinds; case ``seed`` uses ``KINDS[seed % len(KINDS)]``.
KINDS = ("truncate", "flip", "flip_index", "zero_range", "splice", "shuffle_boxes")
#: Seeds run by the test (4 of each kind); bench/fuzz.py runs more.
TEST_SEEDS = tuple(range(24))
#: A run taking longer than this is a hang (s; a 1.5 s clip analyses in ~5 s when idle).
TIMEOUT_S = 180.0
#: Runs at a time in the test (the machine has 2 cores).
PARALLEL = 2


def make_base_clip(path: Path, seconds: float = 1.5, faststart: bool = True) -> Path:
    """A short H.264 MP4 of the sample at half size (360x640), index first by default, so
    that truncated copies still hold decodable frames."""
    tb = Fraction(1, 90000)
    opts = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(SAMPLE)) as src, av.open(str(path), "w", options=opts) as dst:
        s = dst.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 360, 640, "yuv420p"
        s.codec_context.time_base = tb
        s.options = {"preset": "ultrafast", "crf": "28"}
        for f in src.decode(video=0):
            t = float(f.pts * f.time_base)
            if t >= seconds:
                break
            g = f.reformat(width=360, height=640, format="yuv420p")
            g.pts, g.time_base = int(round(t / tb)), tb
            for p in s.encode(g):
                dst.mux(p)
        for p in s.encode():
            dst.mux(p)
    return path


def top_level_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of the top-level MP4 boxes."""
    out, i = [], 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        if size == 1 and i + 16 <= len(data):
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
        if size < 8 or i + size > len(data):
            size = len(data) - i
        out.append((kind, i, size))
        i += size
    return out


def mutate(data: bytes, seed: int) -> tuple[str, bytes]:
    """A damaged copy of ``data``: (description, bytes).  Deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    b = bytearray(data)
    n = len(b)
    if kind == "truncate":
        cut = int(rng.uniform(0.01, 0.99) * n)
        return f"truncate at {cut}/{n}", bytes(b[:cut])
    if kind == "flip":
        k = int(rng.integers(1, 65))
        pos = rng.integers(0, n, size=k)
        for p in pos:
            b[p] ^= int(rng.integers(1, 256))
        return f"flip {k} bytes anywhere", bytes(b)
    if kind == "flip_index":
        boxes = {k: (o, s) for k, o, s in top_level_boxes(data)}
        o, s = boxes.get(b"moov", (0, min(n, 4096)))
        k = int(rng.integers(1, 9))
        for p in rng.integers(o, o + s, size=k):
            b[p] ^= int(rng.integers(1, 256))
        return f"flip {k} bytes in the moov index", bytes(b)
    if kind == "zero_range":
        length = int(rng.integers(1, max(2, n // 10)))
        start = int(rng.integers(0, n - length))
        b[start:start + length] = bytes(length)
        return f"zero {length} bytes at {start}", bytes(b)
    if kind == "splice":
        length = int(rng.integers(16, max(17, n // 8)))
        src = int(rng.integers(0, n - length))
        dst = int(rng.integers(0, n))
        chunk = bytes(b[src:src + length])
        return f"copy {length} bytes from {src} to {dst}", bytes(b[:dst] + chunk + b[dst:])
    # shuffle_boxes
    boxes = top_level_boxes(data)
    order = rng.permutation(len(boxes))
    if len(boxes) > 1 and np.all(order == np.arange(len(boxes))):
        order = order[::-1]
    names = [boxes[i][0].decode("latin-1") for i in order]
    return f"shuffle boxes to {names}", b"".join(data[boxes[i][1]:boxes[i][1] + boxes[i][2]]
                                                 for i in order)


def run_case(base: bytes, seed: int, workdir: Path, timeout_s: float = TIMEOUT_S
             ) -> tuple[str, subprocess.CompletedProcess[str] | None, list[str]]:
    """Mutate with ``seed``, run the CLI on it; returns (description, result or None on a
    hang, list of problems)."""
    desc, data = mutate(base, seed)
    case = workdir / f"seed{seed}"
    case.mkdir(parents=True, exist_ok=True)
    video = case / "clip.mp4"
    video.write_bytes(data)
    out = case / "out"
    cmd = [sys.executable, "-m", "formcheck", "analyze", str(video), "-o", str(out),
           "--no-video", "--no-html", "-q"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return desc, None, [f"hang: no result after {timeout_s:.0f} s"]
    problems = []
    if res.returncode < 0:
        problems.append(f"killed by signal {-res.returncode}")
    elif res.returncode not in ALLOWED_CODES:
        problems.append(f"exit {res.returncode} (not a documented code for a damaged video)")
    if "Traceback" in res.stderr:
        problems.append("traceback on stderr")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    if res.returncode == 0:
        try:
            json.loads((out / "report.json").read_text())
        except (OSError, ValueError) as exc:
            problems.append(f"exit 0 without a readable report.json ({exc})")
    elif res.returncode > 0:
        if len(lines) != 1 or not lines[0].startswith("formcheck: error: "):
            problems.append(f"stderr is not one error line: {lines[:5]}")
        if out.exists():
            problems.append("output folder left after a failure")
    if any(".part-" in p.name for p in case.iterdir()):
        problems.append("staged .part- folder left behind")
    if video.read_bytes() != data:
        problems.append("input modified")
    return desc, res, problems


@pytest.fixture(scope="module")
def base_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_base_clip(tmp_path_factory.mktemp("fuzz") / "base.mp4").read_bytes()


@pytest.fixture(scope="module")
def fuzz_results(base_clip: bytes, tmp_path_factory: pytest.TempPathFactory
                 ) -> dict[int, tuple[str, subprocess.CompletedProcess[str] | None, list[str]]]:
    """Every test seed's run, two at a time (each run is its own process)."""
    work = tmp_path_factory.mktemp("fuzz_runs")
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        runs = pool.map(lambda seed: run_case(base_clip, seed, work), TEST_SEEDS)
        return dict(zip(TEST_SEEDS, runs, strict=True))


def test_base_clip_analyses(base_clip: bytes, tmp_path: Path) -> None:
    """The unmutated clip succeeds, so failures below come from the damage."""
    video = tmp_path / "base.mp4"
    video.write_bytes(base_clip)
    res = subprocess.run([sys.executable, "-m", "formcheck", "analyze", str(video), "-o",
                          str(tmp_path / "out"), "--no-video", "--no-html", "-q"],
                         capture_output=True, text=True, timeout=TIMEOUT_S)
    assert res.returncode == 0, res.stderr


def test_mutations_cover_every_kind() -> None:
    kinds = {KINDS[s % len(KINDS)] for s in TEST_SEEDS}
    assert kinds == set(KINDS)
    data = bytes(range(256)) * 64
    assert mutate(data, 7) == mutate(data, 7)  # deterministic
    assert mutate(data, 1)[1] != data


def test_fuzz_cases_reach_both_outcomes(fuzz_results: dict) -> None:
    """The seeds exercise both paths: analyses of damaged-but-decodable clips and clean
    refusals (a fuzz whose every case fails at the header would test little)."""
    codes = [res.returncode for _, res, _ in fuzz_results.values() if res is not None]
    assert sum(c == 0 for c in codes) >= 5
    assert sum(c in (4, 5) for c in codes) >= 3


@pytest.mark.parametrize("seed", TEST_SEEDS)
def test_damaged_clip_never_crashes(fuzz_results: dict, seed: int) -> None:
    desc, res, problems = fuzz_results[seed]
    detail = "" if res is None else f"\nrc={res.returncode}\nstderr={res.stderr[-3000:]}"
    assert not problems, f"seed {seed} ({desc}): {problems}{detail}"
