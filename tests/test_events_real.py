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
    ic, to, ct = s.ic, s.to, s.contact
    # goal met: IC MAE <= 0.7 frame, >= 80 % within +/-1 frame
    assert ic["mae"] <= 0.7 and ic["within1"] >= 0.8, ic
    # a label is the first frame showing contact, so an estimate of the true instant sits
    # half a frame before it on average: unbiased = within [-1, 0] frames of the labels
    assert LABEL_CONVENTION_FR[0] <= ic["bias"] <= LABEL_CONVENTION_FR[1], ic
    # toe-off used to be found ~2 frames early (contact time -74 ms); goal (TO MAE <= 1 frame,
    # contact bias +/-15 ms) not met: a few toe-offs are 4-8 frames off (docs/validation.md)
    assert to["bias"] >= -1.3 and to["mae"] <= 2.3, to
    assert abs(ct["bias"]) <= 30.0, ct
    assert s.strike_agreement >= 0.9  # goal; every labelled landing is rearfoot
    assert s.side_agreement >= 0.95 and s.side_confident.all()
    assert abs(an.metrics.summaries["cadence_spm"].value - 168.9) <= 0.5


def test_outdoor_pace_events_match_labels(pose_of) -> None:
    clip = "outdoor_side_pace_segments.mp4"
    _, s = _score(pose_of, clip, shared_clip(clip))
    assert s.n_matched == s.n_labelled
    ic, to, ct = s.ic, s.to, s.contact
    # goals (IC MAE <= 0.7, TO MAE <= 1 frame, contact +/-15 ms) not met on this clip's
    # 20-25 px barefoot feet; guarded at today's level (was: IC 1.10, TO 0.92, -53 ms)
    assert LABEL_CONVENTION_FR[0] <= ic["bias"] <= LABEL_CONVENTION_FR[1], ic
    assert ic["mae"] <= 1.0, ic
    assert abs(to["bias"]) <= 0.8 and to["mae"] <= 1.4, to
    assert abs(ct["bias"]) <= 30.0, ct
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
