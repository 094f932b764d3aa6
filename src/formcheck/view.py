"""Camera view, running direction, setting (treadmill / overground) and gait (running / walking).

* View: the horizontal width of the shoulders and hips relative to trunk length is small in a
  side (sagittal) view and large in a front or back view; in between is oblique.  Front vs
  back: MediaPipe labels the runner's own left/right, so the left shoulder appears on the image
  right when the runner faces the camera; the face landmarks' visibility confirms it.
* Direction (side view): toes point the way the runner faces (toe x - heel x), and the nose is
  ahead of the ears.
* Setting: a runner whose hips travel across the image (static camera), or a camera that pans
  to follow (measured background shift), is overground; otherwise treadmill (or in place).
* Gait: walking has double support, so duty factor > 50 %; running has a flight phase.

Every field can be overridden by the user (``--view``, ``--direction``, ``--setting``,
``--gait``); overridden fields are marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    NOSE,
    R_ANKLE,
    R_EAR,
    R_HEEL,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_TOE,
)
from formcheck.signals import CleanSeries

VIEWS = ("side", "front", "back", "oblique")
SETTINGS = ("treadmill", "overground")
GAITS = ("running", "walking")


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
        camera_pan_leg: total camera pan over the clip (leg lengths).
        leg_length_px: median hip-knee + knee-ankle length (px).
        overridden: names of fields the user set.
    """

    view: str
    direction: str
    setting: str
    gait: str
    width_ratio: float
    hip_travel_leg: float
    camera_pan_leg: float
    leg_length_px: float
    overridden: tuple[str, ...] = ()

    @property
    def sign(self) -> int:
        """+1 when the runner faces image-right, -1 when image-left."""
        return 1 if self.direction == "right" else -1

    def to_dict(self) -> dict[str, object]:
        return {
            "view": self.view, "direction": self.direction, "setting": self.setting,
            "gait": self.gait, "width_ratio": round(self.width_ratio, 3),
            "hip_travel_leg": round(self.hip_travel_leg, 2),
            "camera_pan_leg": round(self.camera_pan_leg, 2),
            "leg_length_px": round(self.leg_length_px, 1), "overridden": list(self.overridden),
        }


def _nanmedian(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def leg_length_px(xy: np.ndarray) -> float:
    """Median over frames and legs of thigh + shank length (px)."""
    vals = []
    for h, k, a in ((L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE)):
        vals.append(np.linalg.norm(xy[:, h] - xy[:, k], axis=1)
                    + np.linalg.norm(xy[:, k] - xy[:, a], axis=1))
    return _nanmedian(np.concatenate(vals))


def classify(clean: CleanSeries, camera_shift_px: np.ndarray | None = None,
             view: str | None = None, direction: str | None = None,
             setting: str | None = None) -> ViewInfo:
    """Classify the view from cleaned landmarks; any argument given overrides the guess."""
    g = settings()["gates"]
    xy = clean.xy_px
    sh_w = np.abs(xy[:, L_SHOULDER, 0] - xy[:, R_SHOULDER, 0])
    hip_w = np.abs(xy[:, L_HIP, 0] - xy[:, R_HIP, 0])
    sh_mid = (xy[:, L_SHOULDER] + xy[:, R_SHOULDER]) / 2
    hip_mid = (xy[:, L_HIP] + xy[:, R_HIP]) / 2
    trunk = np.linalg.norm(sh_mid - hip_mid, axis=1)
    ratio = _nanmedian((sh_w + hip_w) / (2 * trunk))
    if not np.isfinite(ratio):
        guess_view = "side"
    elif ratio < g["side_max_width_ratio"]:
        guess_view = "side"
    elif ratio > g["front_min_width_ratio"]:
        # runner's left shoulder on the image right => facing the camera
        lr = _nanmedian(np.sign(xy[:, L_SHOULDER, 0] - xy[:, R_SHOULDER, 0]))
        guess_view = "front" if lr >= 0 else "back"
    else:
        guess_view = "oblique"
    toe_dx = np.concatenate([xy[:, L_TOE, 0] - xy[:, L_HEEL, 0], xy[:, R_TOE, 0] - xy[:, R_HEEL, 0]])
    ear_mid = (xy[:, L_EAR] + xy[:, R_EAR]) / 2
    nose_dx = xy[:, NOSE, 0] - ear_mid[:, 0]
    vote = np.nanmean(np.sign(toe_dx)) + np.nanmean(np.sign(nose_dx))
    guess_dir = "right" if (np.isfinite(vote) and vote > 0) else "left"
    leg = leg_length_px(xy)
    hx = hip_mid[:, 0][np.isfinite(hip_mid[:, 0])]
    travel = float((np.percentile(hx, 95) - np.percentile(hx, 5)) / leg) if hx.size and leg > 0 \
        else 0.0
    pan = 0.0
    if camera_shift_px is not None and camera_shift_px.size and leg > 0:
        pan = float(np.abs(np.nansum(camera_shift_px[:, 0])) / leg)
    guess_setting = "overground" if (travel > 1.5 or pan > 3.0) else "treadmill"
    over = tuple(n for n, v in (("view", view), ("direction", direction), ("setting", setting))
                 if v is not None)
    return ViewInfo(
        view=view or guess_view, direction=direction or guess_dir,
        setting=setting or guess_setting, gait="unknown", width_ratio=float(ratio),
        hip_travel_leg=travel, camera_pan_leg=pan, leg_length_px=float(leg), overridden=over,
    )


def with_gait(info: ViewInfo, duty_factor_pct: float | None, gait: str | None = None
              ) -> ViewInfo:
    """Set running/walking from the duty factor (> walking_duty_factor_pct: walking)."""
    if gait is not None:
        return replace(info, gait=gait, overridden=info.overridden + ("gait",))
    if duty_factor_pct is None or not np.isfinite(duty_factor_pct):
        return replace(info, gait="unknown")
    limit = settings()["gates"]["walking_duty_factor_pct"]
    return replace(info, gait="walking" if duty_factor_pct > limit else "running")
