"""Compare formcheck's gait events with the hand-labelled events in ../shared/videos/labels.json.

The labels (``event_labels`` of three dev clips) were made from pixels only, independently of
formcheck: per step the initial-contact (IC) frame, the toe-off (TO) frame (x.5 = between two
frames), the leg nearer/farther from the camera, the runner's side (L/R), the strike class and
the labeller's uncertainty in frames.  Frames are 0-based decode order.

Matching: every labelled IC is paired with the nearest detected IC (in video frames) if it is
within 40 % of the labelled median step interval; a detected step pairs with at most one label.
Errors are detected minus labelled (positive = formcheck late), in video frames and, for
contact time, in real milliseconds (video frames / fps / slow-motion factor).

What is compared with a labelled frame is formcheck's frame-level event (``Events.ic_frame``,
``to_frame``: the first frame at or after the detected instant), because that is what the
labels are: the first frame showing the foot down (IC) or the toe off (TO).  A perfect
sub-frame instant compared directly with such a label reads half a frame early on average
(the synthetic runner shows it: -0.5 frame against the first frame at or after its true
instants); those instant errors are kept too (``ic_inst_err_fr``, ``to_inst_err_fr``).
Contact time is formcheck's (the instants' difference) against the labels' TO - IC.

Used by ``tests/test_events_real.py`` and ``bench/events_accuracy.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO.parent / "shared" / "videos" / "labels.json"

#: The labelled clips, with the slow-motion factor to analyse them with (the slowed lab clip's
#: labels estimate about 9x, plausible 8-10x; its notes explain why).
LABELLED = {
    "treadmill_side_30fps.mp4": 1.0,
    "outdoor_side_pace_segments.mp4": 1.0,
    "treadmill_side_lab_slowmo.mp4": 9.0,
}


def load_labels(clip: str, path: Path = LABELS) -> dict:
    return json.loads(path.read_text())[clip]["event_labels"]


@dataclass(frozen=True)
class EventScore:
    """Agreement of detected events with one clip's labels.

    Errors are detected - labelled, in video frames (ic_err_fr, to_err_fr) and real ms
    (contact_err_ms), one entry per matched labelled step (NaN where a side has no TO).
    """

    clip: str
    n_labelled: int
    n_matched: int
    n_detected: int
    ic_err_fr: np.ndarray
    ic_unc_fr: np.ndarray
    to_err_fr: np.ndarray
    ic_inst_err_fr: np.ndarray
    to_inst_err_fr: np.ndarray
    contact_err_ms: np.ndarray
    strike_agree: np.ndarray  # per matched step whose label is a clear class: True/False
    side_agree: np.ndarray  # per matched step: detected side == labelled side
    side_confident: np.ndarray  # per matched step: formcheck called its side reliable
    fps: float

    @staticmethod
    def _stats(e: np.ndarray) -> dict[str, float]:
        e = e[np.isfinite(e)]
        if not e.size:
            return {"n": 0, "bias": np.nan, "mae": np.nan, "p95": np.nan, "within1": np.nan}
        return {"n": int(e.size), "bias": float(e.mean()), "mae": float(np.abs(e).mean()),
                "p95": float(np.percentile(np.abs(e), 95)),
                "within1": float((np.abs(e) <= 1.0 + 1e-9).mean())}

    @property
    def ic(self) -> dict[str, float]:
        return self._stats(self.ic_err_fr)

    @property
    def to(self) -> dict[str, float]:
        return self._stats(self.to_err_fr)

    @property
    def ic_inst(self) -> dict[str, float]:
        return self._stats(self.ic_inst_err_fr)

    @property
    def to_inst(self) -> dict[str, float]:
        return self._stats(self.to_inst_err_fr)

    @property
    def contact(self) -> dict[str, float]:
        return self._stats(self.contact_err_ms)

    @property
    def ic_within_unc(self) -> float:
        ok = np.isfinite(self.ic_err_fr)
        if not ok.any():
            return float("nan")
        return float((np.abs(self.ic_err_fr[ok]) <= self.ic_unc_fr[ok] + 1e-9).mean())

    @property
    def strike_agreement(self) -> float:
        return float(self.strike_agree.mean()) if self.strike_agree.size else float("nan")

    @property
    def side_agreement(self) -> float:
        return float(self.side_agree.mean()) if self.side_agree.size else float("nan")


def frames_of(t_s: np.ndarray, pose_t_s: np.ndarray, frame_index: np.ndarray) -> np.ndarray:
    """Real times (s) of an analysis -> fractional video frame indices (decode order)."""
    return np.interp(t_s, pose_t_s, frame_index.astype(float), left=np.nan, right=np.nan)


def score(clip: str, analysis: object, labels: dict | None = None) -> EventScore:
    """Score an :class:`formcheck.api.Analysis` of ``clip`` against its event labels."""
    lab = labels or load_labels(clip)
    steps = lab["steps"]
    pose = analysis.pose  # type: ignore[attr-defined]
    ev = analysis.events  # type: ignore[attr-defined]
    table = analysis.metrics.steps  # type: ignore[attr-defined]
    slowmo = float(pose.slowmo)
    fps = float(lab["fps"])
    det_ic = frames_of(ev.ic_t_s, pose.t_s, pose.frame_index)
    det_to = frames_of(ev.to_t_s, pose.t_s, pose.frame_index)
    # the frame-level events (first frame showing the foot down / off); -1 = unknown
    def whole(a: np.ndarray) -> np.ndarray:
        return np.where(a >= 0, a, np.nan) if a.size == ev.n else np.full(ev.n, np.nan)

    fr_ic, fr_to = whole(ev.ic_frame), whole(ev.to_frame)
    l_ic = np.array([s["ic_frame"] for s in steps], float)
    l_to = np.array([np.nan if s["to_frame"] is None else s["to_frame"] for s in steps], float)
    l_unc = np.array([s.get("ic_unc", 1) for s in steps], float)
    gate = 0.4 * float(np.median(np.diff(l_ic)))
    used: set[int] = set()
    ic_e, to_e, ici_e, toi_e, ct_e, unc = [], [], [], [], [], []
    st, sd, conf = [], [], []
    side_conf = getattr(ev, "side_confident", None)
    for i, s in enumerate(steps):
        if not det_ic.size:
            break
        d = np.abs(det_ic - l_ic[i])
        d[list(used)] = np.inf
        j = int(np.nanargmin(d)) if np.isfinite(d).any() else -1
        if j < 0 or d[j] > gate:
            continue
        used.add(j)
        ic_e.append(fr_ic[j] - l_ic[i])
        to_e.append(fr_to[j] - l_to[i])
        ici_e.append(det_ic[j] - l_ic[i])
        toi_e.append(det_to[j] - l_to[i])
        unc.append(l_unc[i])
        ct_e.append(((det_to[j] - det_ic[j]) - (l_to[i] - l_ic[i])) / fps / slowmo * 1000.0)
        if s.get("strike") in ("rearfoot", "midfoot", "forefoot") and table.strike_class:
            got = table.strike_class[j]
            if got:
                st.append(got == s["strike"])
        sd.append(str(ev.foot[j]) == s["side"])
        conf.append(bool(side_conf[j]) if side_conf is not None else True)
    return EventScore(clip=clip, n_labelled=len(steps), n_matched=len(ic_e),
                      n_detected=int(ev.n), ic_err_fr=np.array(ic_e), ic_unc_fr=np.array(unc),
                      to_err_fr=np.array(to_e), ic_inst_err_fr=np.array(ici_e),
                      to_inst_err_fr=np.array(toi_e), contact_err_ms=np.array(ct_e),
                      strike_agree=np.array(st, bool), side_agree=np.array(sd, bool),
                      side_confident=np.array(conf, bool), fps=fps)
