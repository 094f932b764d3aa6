"""Gait events against hand-labelled real video (../shared/videos/labels.json, event_labels).

The labels were made from pixels only, independently of formcheck (docs/validation.md).  These
tests guard what the events stage reaches on them today; the issue's goals (IC MAE <= 0.7
frame, contact-time bias within +/-15 ms on every clip, the slowed lab clip) are not all met
yet, and docs/validation.md says which.  Bounds are signed where the error used to be a bias.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLE, shared_clip
from event_labels import LABELS, score

from formcheck.api import Options, analyze_pose


def _score(pose_of, clip: str, path, slowmo: float = 1.0):
    if not LABELS.is_file():
        pytest.skip(f"{LABELS} is absent: the event labels live beside the repository")
    an = analyze_pose(pose_of(path), Options(slowmo=slowmo))
    return an, score(clip, an)


def test_treadmill_events_match_labels(pose_of) -> None:
    an, s = _score(pose_of, "treadmill_side_30fps.mp4", SAMPLE)
    assert s.n_matched >= s.n_labelled - 1  # the last IC has its TO after the clip's end
    ic, to, ct = s.ic, s.to, s.contact
    assert abs(ic["bias"]) <= 0.5 and ic["mae"] <= 1.05, ic
    # toe-off used to be found ~2 frames early (contact time -74 ms): now unbiased in the mean
    assert -0.7 <= to["bias"] <= 0.7, to
    assert abs(ct["bias"]) <= 30.0, ct
    assert s.strike_agreement >= 0.9  # every labelled landing is rearfoot
    assert s.side_agreement >= 0.95 and s.side_confident.all()
    assert abs(an.metrics.summaries["cadence_spm"].value - 168.9) <= 0.5


def test_outdoor_pace_events_match_labels(pose_of) -> None:
    clip = "outdoor_side_pace_segments.mp4"
    _, s = _score(pose_of, clip, shared_clip(clip))
    assert s.n_matched == s.n_labelled
    ic, to, ct = s.ic, s.to, s.contact
    assert abs(ic["bias"]) <= 0.8 and ic["mae"] <= 1.0, ic
    assert to["bias"] >= -0.8 and to["mae"] <= 1.4, to
    assert ct["bias"] >= -50.0, ct  # was -53 ms; the goal (+/-15 ms) is not reached here yet
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
