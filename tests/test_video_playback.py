"""annotated.mp4 plays in a real browser: headless Chromium (Debian's, which decodes H.264)
loads it in a ``<video>`` element from a page served on http://127.0.0.1, reports it playable
with the clip's duration and size, plays it through to the end, and shows the same picture
PyAV decodes from the file.

Skipped locally when Chromium or Playwright is missing; in CI (``CI`` set) it must run
(see ``tests/browser.py``).
"""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from browser import launch, require_chromium, serve_dir
from conftest import SAMPLE

from formcheck import annotate
from formcheck.api import Options, analyze_pose

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>playback</title><link rel="icon" href="data:,">
</head>
<body><video id="v" src="annotated.mp4" preload="auto" muted playsinline></video>
<canvas id="c"></canvas></body></html>
"""

#: JS: the video's state once it can show a frame or has failed, else null (keep waiting).
READY = """() => { const v = document.getElementById('v');
  if (v.error) return {error: v.error.code + ' ' + (v.error.message || '')};
  if (v.readyState < 2) return null;
  return {readyState: v.readyState, duration: v.duration, width: v.videoWidth,
          height: v.videoHeight, error: null}; }"""

#: JS: seek to ``t`` (s) and return the frame shown there as a PNG data URL ("seeked" fires
#: once that frame is ready); gives up after 15 s rather than hang the test.
GRAB = """async (t) => { const v = document.getElementById('v');
  await new Promise((ok, bad) => {
    const timer = setTimeout(() => bad(new Error('no seeked event within 15 s')), 15000);
    v.onseeked = () => { clearTimeout(timer); ok(); };
    v.onerror = () => { clearTimeout(timer); bad(new Error('media error')); };
    v.currentTime = t; });
  const c = document.getElementById('c');
  c.width = v.videoWidth; c.height = v.videoHeight;
  c.getContext('2d').drawImage(v, 0, 0);
  return c.toDataURL('image/png'); }"""

#: JS: start playing from 0 at 4x (muted, so autoplay is allowed); resolves when playing.
PLAY = """() => { const v = document.getElementById('v'); v.currentTime = 0;
  v.playbackRate = 4;
  return Promise.race([v.play().then(() => true),
                       new Promise((ok) => setTimeout(() => ok(false), 15000))]); }"""


@pytest.fixture(scope="module")
def annotated(pose_of, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    """annotated.mp4 of the sample at the default size, alone in a folder with the page."""
    require_chromium()
    analysis = replace(analyze_pose(pose_of(SAMPLE), Options()), source=str(SAMPLE))
    d = tmp_path_factory.mktemp("playback")
    annotate.write_annotated(analysis, None, d / "annotated.mp4", progress=False)
    (d / "index.html").write_text(PAGE, encoding="utf-8")
    return d / "annotated.mp4"


def _frames(path: Path) -> tuple[np.ndarray, list[np.ndarray], float]:
    """(frame times s, a few RGB frames by index 0, 100, 200, file duration s) via PyAV."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        ts, imgs = [], {}
        for i, f in enumerate(c.decode(s)):
            ts.append(float(f.pts * f.time_base))
            if i in (100, 200):
                imgs[i] = f.to_ndarray(format="rgb24")
        return np.array(ts), imgs, float(s.duration * s.time_base)


def _grab(page: object, t: float, tries: int = 5) -> np.ndarray:
    """The RGB picture Chromium shows after seeking to ``t`` s, once two grabs in a row agree
    (a busy machine can paint the seek's frame a moment after the ``seeked`` event)."""
    prev = None
    for _ in range(tries):
        png = base64.b64decode(page.evaluate(GRAB, t).split(",", 1)[1])
        img = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR),
                           cv2.COLOR_BGR2RGB).astype(int)
        if prev is not None and np.array_equal(img, prev):
            return img
        prev = img
    return prev


def test_chromium_plays_the_annotated_video(annotated: Path) -> None:
    ts, imgs, file_dur = _frames(annotated)
    with av.open(str(SAMPLE)) as c:
        s = c.streams.video[0]
        clip_dur = float(s.duration * s.time_base)
    frame_s = float(np.median(np.diff(ts)))
    with serve_dir(annotated.parent) as url, launch() as browser:
        page = browser.open(url + "index.html")
        state = page.wait_for(READY, timeout_s=30)
        assert state["error"] is None, f"Chromium cannot play annotated.mp4: {state['error']}"
        assert state["readyState"] >= 2
        assert abs(state["duration"] - clip_dur) <= frame_s + 1e-6, (state, clip_dur)
        assert abs(state["duration"] - file_dur) <= frame_s + 1e-6
        assert (state["width"], state["height"]) == (imgs[100].shape[1], imgs[100].shape[0])
        # the browser decodes the pictures: at frame k's time it shows what PyAV decodes
        shown = {k: _grab(page, float(ts[k] - ts[0] + 0.5 * frame_s)) for k in (100, 200)}
        right = np.abs(shown[100] - imgs[100]).mean()
        wrong = np.abs(shown[100] - imgs[200]).mean()
        assert right < 4, f"Chromium's frame differs from the file's by {right:.1f} levels"
        assert right < wrong / 2, (right, wrong)
        assert np.abs(shown[200] - imgs[200]).mean() < 4
        # and it plays through to the end without an error
        assert page.evaluate(PLAY) is True, "play() did not start within 15 s"
        end = page.wait_for("() => { const v = document.getElementById('v');"
                            " return v.error ? {error: v.error.code} : (v.ended ?"
                            " {error: null, t: v.currentTime} : null); }", timeout_s=60)
        assert end["error"] is None
        assert abs(end["t"] - clip_dur) <= frame_s + 1e-6
        assert page.errors == []
