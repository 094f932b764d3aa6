"""Gait events against hand-labelled real video (../shared/videos/labels.json, event_labels).

The labels were made from pixels only, independently of formcheck (docs/validation.md).  These
tests assert the issue's goals where they are met and guard the rest at today's level (each
says which); docs/validation.md has the figures.  Bounds are signed.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLE, shared_clip
from event_labels import LABELS, score

from formcheck.api import Options, analyze_pose

#: Where an unbiased estimate of the true instant falls relative to a label that names the
#: first frame showing the event (labels.json "how": ic_frame is the first frame of contact,
#: to_frame the first frame the toe is clearly off): between one frame before it and it.
LABEL_CONVENTION_FR = (-1.0, 0.0)


def _score(pose_of, clip: str, path, slowmo: float = 1.0):
    if not LABELS.is_file():
        pytest.skip(f"{LABELS} is absent: the event labels live beside the repository")
    an = analyze_pose(pose_of(path), Options(slowmo=slowmo))
    return an, score(clip, an)


def test_treadmill_events_match_labels(pose_of) -> None:
    an, s = _score(pose_of, "treadmill_side_30fps.mp4", SAMPLE)
    assert s.n_matched >= s.n_labelled - 1  # the last IC has its TO after the clip's end
    ic, ct = s.ic, s.contact
    # goal met: IC MAE <= 0.7 frame, >= 80 % within +/-1 frame (formcheck's first frame
    # showing contact against the labels' first frame of contact)
    assert ic["mae"] <= 0.7 and ic["within1"] >= 0.8, ic
    assert abs(ic["bias"]) <= 0.5, ic
    # the sub-frame instants: an estimate of the true instant sits half a frame before a
    # first-frame label on average, so unbiased = within [-1, 0] frames of the labels
    assert LABEL_CONVENTION_FR[0] <= s.ic_inst["bias"] <= LABEL_CONVENTION_FR[1], s.ic_inst
    # toe-off used to be found ~2 frames early (contact time -74 ms), then, with the toe's
    # speed relative to the ground, 2.32 frames MAE (a few steps 4-8 frames off) and -19 ms.
    # Goals (TO MAE <= 1 frame, contact bias +/-15 ms) met since toe-off is read at the foot's
    # roll-off pivot (0.98 frame, -3 ms; three steps at leg crossings still 2.5-4.5 frames
    # early, docs/validation.md)
    assert abs(ct["bias"]) <= 15.0, ct
    assert abs(s.to["bias"]) <= 0.5 and s.to["mae"] <= 1.0, s.to
    assert LABEL_CONVENTION_FR[0] <= s.to_inst["bias"] <= LABEL_CONVENTION_FR[1], s.to_inst
    assert s.strike_agreement >= 0.9  # goal; every labelled landing is rearfoot
    # 31 of 33 today (94 %); 30 (91 %) while the previous stance's swap mask could cover the
    # frame before a contact (the landing at 3.04 s then read -30 deg, between two feet)
    assert s.strike_agreement >= 31 / 33 - 1e-9, s.strike_agree
    assert s.side_agreement >= 0.95 and s.side_confident.all()
    assert abs(an.metrics.summaries["cadence_spm"].value - 168.9) <= 0.5


def test_outdoor_pace_events_match_labels(pose_of) -> None:
    clip = "outdoor_side_pace_segments.mp4"
    _, s = _score(pose_of, clip, shared_clip(clip))
    assert s.n_matched == s.n_labelled
    ic, ct = s.ic, s.contact
    # goal met: IC MAE <= 0.7 frame, >= 80 % within +/-1 frame (first frames, as labelled)
    assert ic["mae"] <= 0.7 and ic["within1"] >= 0.8, ic
    assert LABEL_CONVENTION_FR[0] <= s.ic_inst["bias"] <= LABEL_CONVENTION_FR[1], s.ic_inst
    # goals TO MAE <= 1 frame and contact +/-15 ms met since toe-off is read at the foot's
    # roll-off pivot (0.90 frame, +10 ms; were 1.47 frames, +22 ms with the toe's speed
    # relative to the ground, and TO 0.92, -53 ms with its height)
    assert abs(ct["bias"]) <= 15.0, ct
    assert abs(s.to["bias"]) <= 0.5 and s.to["mae"] <= 1.0, s.to
    assert LABEL_CONVENTION_FR[0] <= s.to_inst["bias"] <= LABEL_CONVENTION_FR[1], s.to_inst
    assert s.side_agreement >= 0.95


def test_side_confidence_follows_evidence(pose_of) -> None:
    """On the sample the camera is above the belt, so the near (left) foot lands lower in the
    image: geometry fixes the sides although the pose model's labels agree with alternation in
    under 80 % of steps.  Asymmetry is then reported; without evidence it must not be."""
    from dataclasses import replace

    from formcheck import metrics

    an = analyze_pose(pose_of(SAMPLE))
    ev = an.events
    assert ev.side_confident.all()
    assert an.metrics.summaries["step_time_asymmetry_pct"].usable
    doubtful = replace(ev, side_confident=np.zeros(ev.n, bool))
    m = metrics.compute(an.clean, an.view, doubtful)
    for sid in ("step_time_asymmetry_pct", "contact_time_asymmetry_pct"):
        assert not m.summaries[sid].usable
        assert "left and which right is uncertain" in m.summaries[sid].reason
    assert all(not v.per_side for v in m.summaries.values())


SPRINT = "sprint_start_pan.mp4"
#: The clip's published touchdown/take-off frames are +/-1 frame; one more for the detector.
SPRINT_TOL_FRAMES = 2.0


def _sprint_frames() -> tuple[list[float], list[float]]:
    """(touchdowns, take-offs) published with the sprint clip (labels.json
    event_frames_approx: take-off first, then alternating touchdown / take-off)."""
    import json

    if not LABELS.is_file():
        pytest.skip(f"{LABELS} is absent: the labels live beside the repository")
    frames = [float(x) for x in json.loads(LABELS.read_text())[SPRINT]["event_frames_approx"]]
    return frames[1::2], frames[0::2]


def test_sprint_clip_reports_no_events_it_cannot_back(pose_of) -> None:
    """The accelerating block start (far, small runner; the step rhythm changes every step)
    is beyond formcheck's events today (docs/validation.md).  What users get must then be no
    steps rather than wrong ones: every contact the analysis reports lies within
    SPRINT_TOL_FRAMES of a published touchdown, and no cadence is measured without steps."""
    touchdowns, _ = _sprint_frames()
    ps = pose_of(shared_clip(SPRINT))
    an = analyze_pose(ps)
    ic_f = np.interp(an.events.ic_t_s, ps.t_s, ps.frame_index.astype(float))
    td = np.array(touchdowns)
    wrong = [float(f) for f in ic_f if np.min(np.abs(td - f)) > SPRINT_TOL_FRAMES]
    if wrong:
        assert not an.metrics.summaries["cadence_spm"].usable, (
            f"contacts at frames {wrong} match no published touchdown, yet cadence is reported")
    else:
        assert an.events.n == 0 or ic_f.size <= td.size


@pytest.mark.xfail(strict=True, reason="accelerating sprint start: the spectral step rhythm "
                   "is meaningless on 2 s of accelerating steps, so no contact is found "
                   "(docs/validation.md); strict, so finding them flags this test for update")
def test_sprint_clip_published_events_found(pose_of) -> None:
    """Goal: every published touchdown, and the take-off after it, found within
    SPRINT_TOL_FRAMES by the events stage run on the landmarks as a side view (the clip fails
    the upright-body gate, so the full analysis withholds it)."""
    from formcheck import events as events_mod
    from formcheck import signals, view

    touchdowns, take_offs = _sprint_frames()
    ps = pose_of(shared_clip(SPRINT))
    c = signals.clean(ps.t_s, ps.xy_px, ps.visibility, repair_identity=True)
    ev = events_mod.detect(c, view.classify(c, view="side"))
    fi = ps.frame_index.astype(float)
    ic_f = np.interp(ev.ic_t_s, ps.t_s, fi)
    to_f = np.interp(ev.to_t_s[np.isfinite(ev.to_t_s)], ps.t_s, fi)
    for f in touchdowns:
        assert ic_f.size and np.min(np.abs(ic_f - f)) <= SPRINT_TOL_FRAMES, (f, ic_f)
    for f in (x for x in take_offs if x > touchdowns[0]):
        assert to_f.size and np.min(np.abs(to_f - f)) <= SPRINT_TOL_FRAMES, (f, to_f)


def test_frame_events_are_the_first_frames_showing_them() -> None:
    """ic_frame/to_frame: the first decoded frame at or after the instant (a frame exactly at
    the instant shows it), -1 for an unknown instant or one after the last frame; decode
    indices, so frames the pose stage skipped are skipped here too."""
    from formcheck.events import first_frames

    frame_t = np.array([0.0, 1 / 30, 2 / 30, 4 / 30])  # frame 3 was not analysed
    idx = np.array([0, 1, 2, 4])
    got = first_frames(np.array([0.01, 1 / 30, 2.5 / 30, np.nan, 0.2]), frame_t, idx)
    assert got.tolist() == [1, 1, 4, -1, -1]
