"""Shared fixtures: paths to the sample and shared clips, a per-session cache of pose runs
(the real model is the slow part, so each clip is run through it once per test session), and
a helper to run the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "sample_videos"
SAMPLE = SAMPLE_DIR / "treadmill_side_30fps.mp4"
SHARED_VIDEOS = REPO.parent / "shared" / "videos"
ARTIFACTS = REPO / "test-artifacts"


def shared_clip(name: str) -> Path:
    """Path of a clip in ../shared/videos, or skip the test saying why."""
    p = SHARED_VIDEOS / name
    if not p.is_file():
        pytest.skip(f"{p} is absent: the shared, non-redistributable clips are only available "
                    "beside the repository (../shared/videos)")
    return p


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser() -> object:
    """A headless Chromium (tests/browser.py) for one test module; skips with the reason if
    Chromium is not installed."""
    from browser import launch, require_chromium

    require_chromium()
    with launch() as b:
        yield b


@pytest.fixture(scope="session")
def pose_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., object]:
    """pose_of(path, slowmo=1.0) -> PoseSeries, computed once per session per clip."""
    from formcheck.pose import PoseSeries, extract

    cache_dir = tmp_path_factory.mktemp("pose_cache")
    memo: dict[tuple[str, float], PoseSeries] = {}

    def get(path: Path | str, slowmo: float = 1.0) -> PoseSeries:
        key = (str(path), slowmo)
        if key not in memo:
            f = cache_dir / f"{Path(path).stem}_{slowmo}.npz"
            if f.exists():
                memo[key] = PoseSeries.load(f)
            else:
                ps = extract(path, slowmo=slowmo, progress=False)
                ps.save(f)
                memo[key] = ps
        return memo[key]

    return get


def run_cli(*args: str, timeout: float = 600, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``formcheck ARGS`` as a user would (a subprocess of this Python's entry point)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([sys.executable, "-m", "formcheck", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=e, stdin=subprocess.DEVNULL)
