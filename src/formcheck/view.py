"""Camera view, running direction, setting (treadmill / overground) and gait (running / walking).

* View: the horizontal width of the shoulders and hips relative to trunk length is small in a
  side (sagittal) view and large in a front or back view; in between is oblique.  Front vs
  back: MediaPipe labels the runner's own left/right, so the left shoulder appears on the image
  right when the runner faces the camera; the face landmarks' visibility confirms it.
* Direction (side view): toes point the way the runner faces (toe x - heel x), and the nose is
  ahead of the ears.
* Setting: a runner whose hips travel across the image (static camera) is overground;
  otherwise "treadmill", which also covers running in place and a camera that pans to follow
  the runner: from the runner's landmarks alone these look the same (the stance foot moves
  back in the image at running speed in all three), so ``--setting`` overrides it.
* Gait: walking has double support, so duty factor > 50 %; running has a flight phase.

Every field can be overridden by the user (``--view``, ``--direction``, ``--setting``,
``--gait``); overridden fields are marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.config import settings
from formcheck.landmarks import (
    L_ANKLE,
    L_EAR,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_TOE,
    LEG,
    NOSE,
    R_ANKLE,
    R_EAR,
    R_HEEL,
    R_HIP,
    R_SHOULDER,
    R_TOE,
    hip_mid,
    shoulder_mid,
)
from formcheck.results import Doubt
from formcheck.signals import CleanSeries, finite_median


@dataclass(frozen=True)
class ViewInfo:
    """How the runner was filmed.

    Attributes:
        view: side / front / back / oblique.
        direction: "left" or "right": the image direction the runner faces (side, oblique).
        setting: treadmill / overground.
        gait: running / walking / unknown (set after events).
        width_ratio: median (shoulder + hip width) / (2 * trunk length).
        hip_travel_leg: hip-midpoint travel across the image over the clip (leg lengths).
        leg_length_px: median hip-knee + knee-ankle length (px).
        overridden: names of fields the user set.
        yaw_deg: median angle between the camera's image plane and the runner's shoulder and
            hip lines, from the model's 3D world landmarks (0 = facing or backing the
            camera, 90 = side on); NaN without world landmarks.
        scale_change: trunk length in the last quarter of the clip over the first (> 1: the
            runner comes closer; < 1: moves away); NaN when unknown.
    """

    view: str
    direction: str
    setting: str
    gait: str
    width_ratio: float
    hip_travel_leg: float
    leg_length_px: float
    overridden: tuple[str, ...] = ()
    yaw_deg: float = float("nan")
    scale_change: float = float("nan")

    @property
    def sign(self) -> int:
        """+1 when the runner faces image-right, -1 when image-left."""
        return 1 if self.direction == "right" else -1

    def to_dict(self) -> dict[str, object]:
        return {
            "view": self.view, "direction": self.direction, "setting": self.setting,
            "gait": self.gait, "width_ratio": round(self.width_ratio, 3),
            "hip_travel_leg": round(self.hip_travel_leg, 2),
            "leg_length_px": round(self.leg_length_px, 1), "overridden": list(self.overridden),
            "yaw_deg": None if not np.isfinite(self.yaw_deg) else round(self.yaw_deg, 1),
            "scale_change": None if not np.isfinite(self.scale_change)
            else round(self.scale_change, 3),
        }


def leg_length_px(xy: np.ndarray) -> float:
    """Median over frames and legs of thigh + shank length (px)."""
    vals = []
    for h, k, a in (LEG["L"][:3], LEG["R"][:3]):  # hip, knee, ankle
        vals.append(np.linalg.norm(xy[:, h] - xy[:, k], axis=1)
                    + np.linalg.norm(xy[:, k] - xy[:, a], axis=1))
    return finite_median(np.concatenate(vals))


def yaw_deg(world_m: np.ndarray | None) -> float:
    """Median angle (deg) between the image plane and the runner's shoulder and hip lines,
    from the model's world landmarks [T, 33, 3] (x right, y down, z away from the camera):
    atan2(|dz|, |dx|) of the left-to-right vector, averaged over shoulders and hips.  0 = the
    runner faces (or backs) the camera, 90 = side on.  NaN without world landmarks."""
    if world_m is None or not np.isfinite(world_m).any():
        return float("nan")
    out = []
    for a, b in ((L_SHOULDER, R_SHOULDER), (L_HIP, R_HIP)):
        v = world_m[:, a] - world_m[:, b]
        out.append(finite_median(np.degrees(np.arctan2(np.abs(v[:, 2]), np.abs(v[:, 0])))))
    return float(np.nanmean(out)) if np.isfinite(out).any() else float("nan")


def trunk_scale_change(xy: np.ndarray) -> float:
    """Median trunk length (shoulder midpoint to hip midpoint, px) in the last quarter of
    the frames where it is known over that in the first quarter: > 1 when the runner comes
    closer to the camera.  (The trunk, not the whole body: legs leaving the frame do not
    change it.)  NaN with fewer than 8 such frames."""
    sh = shoulder_mid(xy)
    hip = hip_mid(xy)
    trunk = np.linalg.norm(sh - hip, axis=1)
    trunk = trunk[np.isfinite(trunk)]
    if trunk.size < 8:
        return float("nan")
    q = trunk.size // 4
    first, last = np.median(trunk[:q]), np.median(trunk[-q:])
    return float(last / first) if first > 0 else float("nan")


def classify(clean: CleanSeries, view: str | None = None, direction: str | None = None,
             setting: str | None = None, world_m: np.ndarray | None = None) -> ViewInfo:
    """Classify the view from cleaned landmarks; any argument given overrides the guess.

    ``world_m`` (the pose stage's world landmarks) adds the 3D cue: a runner whose shoulder
    and hip lines are within ``front_max_yaw_deg`` of the image plane faces (or backs) the
    camera, whatever the width ratio says (a narrow build, or a runner coming closer, whose
    trunk is foreshortened, reads as "oblique" from widths alone); and one who comes closer
    or moves away by ``approach_min_scale_change`` with the lines within
    ``approach_max_yaw_deg`` runs toward or away from the camera: a front or back view."""
    g = settings()["gates"]
    xy = clean.xy_px
    sh_w = np.abs(xy[:, L_SHOULDER, 0] - xy[:, R_SHOULDER, 0])
    hip_w = np.abs(xy[:, L_HIP, 0] - xy[:, R_HIP, 0])
    sh_c = shoulder_mid(xy)
    hip_c = hip_mid(xy)
    trunk = np.linalg.norm(sh_c - hip_c, axis=1)
    ratio = finite_median((sh_w + hip_w) / (2 * trunk))
    if not np.isfinite(ratio):
        guess_view = "side"
    elif ratio < g["side_max_width_ratio"]:
        guess_view = "side"
    elif ratio > g["front_min_width_ratio"]:
        # runner's left shoulder on the image right => facing the camera
        lr = finite_median(np.sign(xy[:, L_SHOULDER, 0] - xy[:, R_SHOULDER, 0]))
        guess_view = "front" if lr >= 0 else "back"
    else:
        guess_view = "oblique"
    yaw = yaw_deg(world_m)
    scale = trunk_scale_change(xy)
    if guess_view == "oblique" and np.isfinite(yaw):
        big_change = np.isfinite(scale) and max(scale, 1 / scale) >= g["approach_min_scale_change"]
        if yaw <= g["front_max_yaw_deg"] or (big_change and yaw <= g["approach_max_yaw_deg"]):
            lr = finite_median(np.sign(xy[:, L_SHOULDER, 0] - xy[:, R_SHOULDER, 0]))
            guess_view = "front" if lr >= 0 else "back"
    toe_dx = np.concatenate([xy[:, L_TOE, 0] - xy[:, L_HEEL, 0],
                             xy[:, R_TOE, 0] - xy[:, R_HEEL, 0]])
    ear_mid = (xy[:, L_EAR] + xy[:, R_EAR]) / 2
    nose_dx = xy[:, NOSE, 0] - ear_mid[:, 0]
    vote = np.nanmean(np.sign(toe_dx)) + np.nanmean(np.sign(nose_dx))
    guess_dir = "right" if (np.isfinite(vote) and vote > 0) else "left"
    leg = leg_length_px(xy)
    hx = hip_c[:, 0][np.isfinite(hip_c[:, 0])]
    travel = float((np.percentile(hx, 95) - np.percentile(hx, 5)) / leg) if hx.size and leg > 0 \
        else 0.0
    guess_setting = "overground" if travel > 1.5 else "treadmill"
    over = tuple(n for n, v in (("view", view), ("direction", direction), ("setting", setting))
                 if v is not None)
    return ViewInfo(
        view=view or guess_view, direction=direction or guess_dir,
        setting=setting or guess_setting, gait="unknown", width_ratio=float(ratio),
        hip_travel_leg=travel, leg_length_px=float(leg), overridden=over, yaw_deg=yaw,
        scale_change=scale,
    )






def body_plausible_share(xy: np.ndarray) -> float:
    """Share of detected frames whose landmarks form an upright body: shoulder midpoint above
    the hip midpoint above the ankles, and trunk length 0.4-1.0 x leg length.  A model
    shown only legs (or a partial body) invents the rest, and fails this."""
    sh = shoulder_mid(xy)
    hip = hip_mid(xy)
    ank_y = np.fmax(xy[:, L_ANKLE, 1], xy[:, R_ANKLE, 1])
    trunk = np.linalg.norm(sh - hip, axis=1)
    leg = (np.linalg.norm(xy[:, L_HIP] - xy[:, L_KNEE], axis=1)
           + np.linalg.norm(xy[:, L_KNEE] - xy[:, L_ANKLE], axis=1))
    det = np.isfinite(sh[:, 1]) & np.isfinite(hip[:, 1]) & np.isfinite(ank_y) & (leg > 0)
    if not det.any():
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (sh[:, 1] < hip[:, 1]) & (hip[:, 1] < ank_y) & (trunk / leg >= 0.4) & (
            trunk / leg <= 1.0)
    return float(ok[det].mean())


def count_cuts(xy: np.ndarray) -> int:
    """Number of likely cuts (edits) in the clip, from the runner's raw landmarks [T, 33, 2]:
    places where the median trunk length over the 5 detected frames after differs from the
    5 before by more than ``cut_scale_jump`` (relative), or the median hip centre moves by
    more than ``cut_hip_jump_trunk`` trunk lengths between one frame and the next.  Medians
    over 5 frames ignore one-frame pose glitches; a cut changes the picture for good."""
    g = settings()["gates"]
    sh = shoulder_mid(xy)
    hip = hip_mid(xy)
    trunk = np.linalg.norm(sh - hip, axis=1)
    ok = np.isfinite(trunk) & np.isfinite(hip).all(axis=1) & (trunk > 0)
    idx = np.flatnonzero(ok)
    if idx.size < 12:
        return 0
    tr, hp = trunk[idx], hip[idx]
    cuts, last = 0, -10
    for j in range(5, idx.size - 4):
        if idx[j] - idx[j - 1] > 3:  # the runner was out of view: not a cut between frames
            continue
        a, b = np.median(tr[j - 5:j]), np.median(tr[j:j + 5])
        jump = abs(b / a - 1) > g["cut_scale_jump"]
        move = np.linalg.norm(hp[j] - hp[j - 1]) / max(a, b) > g["cut_hip_jump_trunk"] and \
            np.linalg.norm(np.median(hp[j:j + 5], axis=0) - np.median(hp[j - 5:j], axis=0)) \
            / max(a, b) > g["cut_hip_jump_trunk"]
        if (jump or move) and j - last > 5:
            cuts += 1
            last = j
    return cuts


def vertical_travel_doubts(xy: np.ndarray, info: ViewInfo) -> tuple[Doubt, ...]:
    """Doubts on the runner's vertical travel in the image (vertical oscillation): it is the
    runner's only with a camera at a steady distance and no cuts.  Cuts (any view), and in a
    front or back view a runner coming closer or moving away (trunk length changing by
    ``steady_max_scale_change`` or more: the camera, or the runner, moves), withhold it."""
    ids = tuple(settings()["doubts"]["vertical_travel"])
    out = []
    n = count_cuts(xy)
    if n:
        msg = (f"the clip seems to have {n} cut{'s' if n > 1 else ''} (the runner's size or "
               "place jumps between frames): vertical travel is not the runner's alone")
        out.append(Doubt(msg, "not assessed: the clip has cuts, so the image's vertical "
                              "motion is not the runner's", ids, "cuts"))
    sc = info.scale_change
    if info.view in ("front", "back") and np.isfinite(sc) and \
            max(sc, 1 / sc) >= settings()["gates"]["steady_max_scale_change"]:
        how = "comes closer to" if sc > 1 else "gets farther from"
        msg = (f"the runner {how} the camera (the trunk ends {sc:.2f}x its size at the start): "
               f"in a {info.view} view the image's vertical motion then comes from the "
               "changing distance and a moving camera, not only from the runner")
        out.append(Doubt(msg, f"not assessed: the runner {how} the camera, so the image's "
                              "vertical motion is not the runner's", ids, "distance_changes"))
    return tuple(out)
