"""Synthetic 2D running/walking gait with ground truth known by construction.

This module is an *independent* source of truth for testing the metrics code: it
imports nothing from ``formcheck`` and uses only numpy and the standard library.
Every truth value is either a configuration parameter that the kinematics obey
exactly, or is measured off the noiseless constructed skeleton at the exact
(continuous) event time -- never by running any detection code.

Usage::

    clip = generate(GaitConfig(cadence_spm=172, foot_strike_angle_deg=-8))
    clip.xy_px          # [T, 33, 2] pixels, BlazePose order, NaN rows = dropped
    clip.truth.ic_t_s   # {"L": array, "R": array} initial-contact times (s)

Conventions
-----------
* Landmarks follow MediaPipe BlazePose order (:data:`LANDMARK_NAMES`); "left"/"right"
  are the runner's own sides.
* Image coordinates: x to the right, y DOWN, in pixels.  ``t_s`` is real time (s),
  starting at 0 and strictly increasing (variable when ``vfr_jitter > 0``).
* Internally the body is built in a 3D runner frame: ``u`` forward (running
  direction, measured relative to the hip), ``v`` up from the ground, ``w`` towards
  the runner's left.  The side view is an orthographic projection onto (u, v): the
  runner faces image-left (``direction="left"``, x = x_hip - u) or image-right
  (x = x_hip + u); y = ground_y - v.  The front view projects onto (w, v) with the
  runner facing the camera, so the runner's LEFT appears on image RIGHT
  (x = x_centre + w).  Left and right hips (and shoulders) coincide in the side view.
* Facing image-left, the runner's left side is nearest the camera (and vice versa);
  far-side landmarks get lower ``visibility`` but keep their true positions.
* Leg length = thigh + shank (hip-knee + knee-ankle); "% leg" quantities use it.
* Each foot alternates stance (IC -> TO) and swing.  In stance the foot is on the
  ground: it rotates about the heel (toe, if ``foot_strike_angle_deg < 0``) from the
  strike angle to flat over the first 15 % of stance, stays flat, then the heel lifts
  (rotation about the toe) from 60 % of stance to TO.  All ground-fixed points move
  backwards relative to the hip at ``speed_mps``: on a treadmill the hip stays put in
  the image and the stance foot slides back at belt speed; overground the hip moves
  across the image at ``speed_mps`` and the stance foot is fixed in the image.
  The heel lift is increased automatically where needed for the leg to reach the
  ground (knee flexion never below :data:`MIN_KNEE_FLEXION_DEG`); the truth reports
  the realised TO heel-lift angle.
* The hip height oscillates with peak-to-peak ``vertical_oscillation_pct_leg`` per
  step (lowest at midstance when running, highest at midstance when walking) and is
  chosen so that the knee flexion at mid-stance time (IC+TO)/2 equals
  ``knee_flexion_midstance_deg``.  If the stance leg then cannot reach the ground
  (large overstride/oscillation, long contact), the hip is lowered just enough
  (recorded in ``GaitTruth.adjustments``; the truth knee angles are those realised)
  unless ``strict=True``, which raises instead.  Knees come from 2-link IK, pointing
  forward.
* Overground clips are not clipped to the image: keep ``duration_s``/``height_px``
  small enough for the runner to stay in frame (``SyntheticClip.in_frame`` tells);
  out-of-image landmarks get visibility 0.1.
* Angle sign conventions (truth): foot-strike angle = heel->toe vector vs
  horizontal, positive = toe up; shank angle = knee->ankle vs vertical, positive
  when the ankle is ahead of the knee; trunk lean = hip-mid -> shoulder-mid vs
  vertical, positive = forward; knee flexion = 180 - interior hip-knee-ankle angle.
* Corruption is applied in this order: landmark lag, L/R swaps, noise, dropouts.
  ``xy_px_clean`` keeps the noiseless, unswapped, unlagged positions, ``xy_px_model`` the
  same after the lag.

Realism (defaults; ``GaitConfig(**IDEAL)`` switches it all off)
-------------------------------------------------------------------
The truth is the TRUE foot (:func:`true_foot_at`): IC = the sole's lowest point touches the
ground, TO = the toe-off pivot leaves it, joint angles from the true hip/knee/ankle centres at
those instants.  The landmarks are what MediaPipe shows of that foot, fitted to the real pose
model's heel/foot_index trajectories around hand-labelled events (:data:`REAL_CLIP_EVIDENCE`):

* terminal swing: the foot keeps its clearance late, drops, then hovers: the sole's lowest
  point descends slowly from ``hover_pct_leg`` to the ground over the last ``hover_s`` (real
  feet hover 1-2 cm over the belt for ~50 ms; the heel landmark plateaus before IC);
* forefoot slap: the foot rotates from the strike angle to flat over ``flat_end_frac`` of
  stance (real toe landmarks reach the ground ~3 frames of a ~9.5-frame stance after IC);
* heel/foot_index markers: MediaPipe's heel point sits above (and ahead of) the sole's rear
  edge, its foot_index behind the toe-off pivot, so in stance the heel landmark is higher than
  the toe landmark (real: 2-8 % leg) and during heel lift the foot_index rises before the toe
  leaves the ground (real: 8-9 % leg up at the labelled TO: "toe roll-off");
* landing settle: the landing foot's ankle/heel/foot_index landmarks are shown
  ``landing_settle_pct_leg`` above the true foot at IC, settling with ``landing_settle_s``
  (real: heel landmark still 5-12 % leg above its stance level at the labelled IC, settled
  ~2 frames later);
* landmark lag: every landmark trails the body with a first-order lag ``landmark_lag_s``
  (pose-model temporal smoothing); correlated noise (``noise_corr_s`` in time,
  ``noise_foot_share`` across a foot's points); camera roll (``camera_roll_deg``);
* v2, horizontal motion (REAL_CLIP_EVIDENCE["profiles"]): foot jitter as measured in real
  stance (``foot_jitter_pct_leg``, white, ``foot_jitter_share`` common to a foot's points;
  on by default, so event rules that compare a velocity with its stance noise see real-sized
  noise); the foot_index landmark's landing slide (``toe_slide_*``: ahead of the true foot
  in the first ~35 ms after IC, then back faster than the ground, as the real toe point is at
  IC+2..+3) and roll-off drag (``toe_drag_pct_leg``: it drifts forward relative to the ground
  while the heel lifts, before the toe leaves).  The toe slide is zero at the true IC and over
  by 110 ms, so the foot-strike angle at the true IC and its mid-stance reference are the
  sole's.

Overstride truth is measured on the anatomical heel point (the heel marker without settle,
lag or noise), since the metric is defined on MediaPipe's heel; every other truth is on the
sole or the joint centres.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = [
    "LANDMARK_NAMES",
    "LEFT_IDX",
    "RIGHT_IDX",
    "MIN_KNEE_FLEXION_DEG",
    "GaitConfig",
    "SideTruth",
    "GaitTruth",
    "SyntheticClip",
    "generate",
    "pose_at",
    "true_foot_at",
    "truth_at",
    "strike_class",
    "IDEAL",
    "REAL_CLIP_EVIDENCE",
    "PROFILE_OFFSETS",
    "landmark_profiles",
    "ErrorStats",
    "EventScore",
    "score_events",
]

LANDMARK_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear",
    "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)  # fmt: skip
_IDX = {n: i for i, n in enumerate(LANDMARK_NAMES)}
#: Landmark indices of the runner's left side and their right-side mirrors, paired.
LEFT_IDX: tuple[int, ...] = (1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
RIGHT_IDX: tuple[int, ...] = (4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32)

#: The stance leg is never straighter than this (reach limit used for the IK).
MIN_KNEE_FLEXION_DEG = 10.0

_SIDES = ("L", "R")
_LIFT_START = 0.60  # stance fraction at which the scheduled heel lift begins
_MAX_KNEE_FLEXION_MIDSTANCE_DEG = 75.0  # limit when lowering the hip automatically
_MAX_HEEL_LIFT_DEG = 65.0  # beyond this the hip is lowered instead
_SWING_RETRACTION = 0.5  # swing end tangents as a fraction of belt speed
#: Swing fraction (of the swing before the hover) until which the foot keeps full clearance:
#: real feet are still ~13 % leg up 100 ms before IC, then drop fast to the hover (EVIDENCE).
_SWING_PEAK = 0.8
#: ... after rising to full clearance by this fraction (fast lift after TO, as real feet).
_SWING_RISE = 0.3

_RUN_DEFAULTS = {
    "cadence_spm": 170.0,
    "speed_mps": 3.0,
    "duty_factor": 0.35,
    "foot_strike_angle_deg": 12.0,
    "overstride_pct_leg": 10.0,
    "trunk_lean_deg": 6.0,
    "vertical_oscillation_pct_leg": 8.0,
    "knee_flexion_midstance_deg": 40.0,
    "swing_clearance_pct_leg": 25.0,
}
_WALK_DEFAULTS = {
    "cadence_spm": 115.0,
    "speed_mps": 1.4,
    "duty_factor": 0.62,
    "foot_strike_angle_deg": 20.0,
    "overstride_pct_leg": 30.0,
    "trunk_lean_deg": 2.0,
    "vertical_oscillation_pct_leg": 5.0,
    "knee_flexion_midstance_deg": 15.0,
    "swing_clearance_pct_leg": 10.0,
}


#: Switches off every realism feature (landmarks on the sole's contact points, no hover, no
#: lag, no landing settle, foot flat at 15 % of stance): the idealised runner of earlier
#: versions, for exact-geometry self-checks.  ``GaitConfig(**IDEAL)``.
IDEAL: dict[str, object] = {
    "flat_end_frac": 0.15,
    "hover_pct_leg": 0.0,
    "hover_s": 0.0,
    "heel_marker_fwd_pct_leg": 0.0,
    "heel_marker_up_pct_leg": 0.0,
    "toe_marker_back_pct_leg": 0.0,
    "toe_marker_up_pct_leg": 0.0,
    "landmark_lag_s": 0.0,
    "landing_settle_pct_leg": 0.0,
    "foot_jitter_pct_leg": (0.0, 0.0),
    "toe_slide_pct_leg": 0.0,
    "toe_drag_pct_leg": 0.0,
}

#: What MediaPipe's foot landmarks really do around hand-labelled events (the evidence the
#: realism defaults were fitted to).  Measured with the real pose model (formcheck pose, the
#: 'full' BlazePose model) on treadmill_side_30fps.mp4 (34 labelled steps, 31 with the
#: whole window in the clip; labels.json event_labels, hand-labelled from pixels): for each
#: step, the height of the step foot's heel / foot_index landmark above its own lowest
#: position during the labelled stance, in % leg length (hip-knee + knee-ankle, median over
#: the clip: 290 px), at whole frames relative to the labelled frame, then the median over
#: steps; the value is the mean of the near-foot and far-foot medians.  A step's labelled
#: IC/TO frame is the first frame of contact / first frame the toe is clearly off, so the
#: synthetic equivalent is the first frame at or after the true event.  The outdoor clip
#: (outdoor_side_pace_segments.mp4, 30 steps) and the slow-motion lab clip show the same
#: shapes (heel still 6-12 % leg up at the labelled IC, toe 8-9 % leg up at the labelled
#: TO, heel landmark 2-8 % leg above the toe landmark in stance).
REAL_CLIP_EVIDENCE: dict[str, object] = {
    "source": "treadmill_side_30fps.mp4, real MediaPipe landmarks vs hand labels",
    "fps": 30.0,
    # heel height (% leg above its stance level) at labelled IC -3 .. +2 frames
    "heel_at_ic_offsets": (-3, -2, -1, 0, 1, 2),
    "heel_at_ic_pct_leg": (13.1, 9.0, 8.3, 6.8, 3.4, 2.4),
    # foot_index height at labelled TO -2 .. +1 frames
    "toe_at_to_offsets": (-2, -1, 0, 1),
    "toe_at_to_pct_leg": (2.0, 3.9, 9.1, 17.0),
    # heel height at labelled TO -2 .. +1 frames
    "heel_at_to_pct_leg": (8.8, 14.2, 21.7, 32.0),
    # heel landmark's stance level above the foot_index's (near 5.3, far 1.9; outdoor 7.7 /
    # 2.7; slow-motion lab clip 3.4-6.1), % leg
    "heel_above_toe_in_stance_pct_leg": 3.6,
    # formcheck's detector (threshold band, before issue #11) on the real clips vs labels
    "detector_contact_bias_ms": {"treadmill_side_30fps": -74, "outdoor_side_pace_segments": -53},
    # ---- v2: horizontal motion and jitter (bench/real_foot_profiles.py on the same clip's raw
    # landmarks, legs' labels repaired, 32 steps, near and far foot pooled, median over steps).
    # Velocity = central difference in the running direction relative to the ground's (median
    # of the stance foot over labelled IC+2..TO-2), in % of the ground's speed relative to the
    # hip (belt speed, 2.70 leg/s): 0 = moving with the belt, +100 = standing still in the
    # image.  Heights as above but pooled, above the lowest position over the labelled stance.
    "profile_offsets": (-4, -3, -2, -1, 0, 1, 2, 3, 4),
    "profiles": {  # (ankle, heel, foot_index) per offset
        "h_ic": ((16.8, 17.5, 14.0), (12.2, 11.8, 15.9), (11.5, 10.0, 19.7), (10.3, 8.2, 21.3),
                 (7.2, 5.4, 17.5), (4.8, 3.2, 10.5), (3.0, 2.3, 5.6), (0.2, 0.6, 1.3),
                 (0.7, 2.0, 0.8)),
        "v_ic": ((237, 252, 296), (230, 254, 258), (175, 189, 173), (96, 94, 95), (45, 30, 42),
                 (21, 6, 3), (-10, -24, -17), (-10, -26, -49), (15, 8, -15)),
        "h_to": ((2.2, 4.0, 0.8), (4.4, 6.1, 1.6), (7.5, 10.6, 2.5), (12.2, 16.6, 5.6),
                 (19.1, 22.4, 12.2), (26.0, 34.1, 18.9), (30.5, 38.0, 20.2), (30.9, 41.2, 24.9),
                 (30.4, 38.0, 23.8)),
        "v_to": ((6, 3, 0), (4, -7, 0), (29, 25, 4), (46, 40, 13), (92, 91, 58), (133, 139, 98),
                 (154, 166, 138), (194, 187, 166), (200, 191, 193)),
    },
    # stance jitter of the foot points (labelled IC+2..TO-3, % leg): second-difference estimate
    # x 3.3-3.6 / y 1.5-2.5 (heel highest), white (linear-fit residual / second difference
    # 1.03), 75-90 % correlated between a foot's points.  Defaults: white, x 3.5 / y 1.7.
    "foot_jitter_2nd_diff_pct_leg": (3.5, 1.7),
    # the toe landmark's velocity as the event detector sees it (signals.clean, np.gradient)
    # relative to the stance median, % of ground speed, median over steps: at the first two
    # frames after the toe is planted -23 / -15 (it comes back faster than the belt), at the
    # two frames before it rises +13 / +16 (partial departure); robust SD over the planted
    # stance 25 %.  Defaults toe_slide_pct_leg / toe_drag_pct_leg reproduce them (model: 0 /
    # -16 after planting, +5 / +19 before rising, SD 24 %).
    "toe_velocity_detector_view_pct_ground": {"planted+0,+1": (-23, -15),
                                              "rise-2,-1": (13, 16), "stance_sd": 25},
    # formcheck's detectors on the real treadmill clip vs labels: (IC fr, TO fr, contact ms),
    # mean over steps; median in brackets (the means include 4-5 gross failures per clip)
    "detector_bias_treadmill": {"old f92eb7b": (0.31, -1.92, -74), "old median": (0.39, -1.15, -62),
                                "new 60ee690": (0.41, 0.37, -1), "new median": (0.31, 0.69, -8)},
}


def strike_class(angle_deg: float) -> str:
    """Foot-strike class of a heel->toe angle at IC (positive = toe up)."""
    if angle_deg > 8.0:
        return "rearfoot"
    if angle_deg < -1.6:
        return "forefoot"
    return "midfoot"


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class GaitConfig:
    """Parameters of a synthetic clip.

    Fields defaulting to ``None`` are resolved in ``__post_init__`` to running or
    walking defaults (see ``_RUN_DEFAULTS`` / ``_WALK_DEFAULTS``), so after
    construction they always hold floats.  Per-side tuples are ``(left, right)``.
    """

    cadence_spm: float | None = None  # 170 running / 115 walking
    fps: float = 30.0
    duration_s: float = 12.0
    view: Literal["side", "front"] = "side"
    direction: Literal["left", "right"] = "left"  # image direction faced (side view)
    setting: Literal["treadmill", "overground"] = "treadmill"
    speed_mps: float | None = None  # 3.0 / 1.4 (belt or ground speed)
    body_height_m: float = 1.75  # sets the px-per-metre scale with height_px
    height_px: float = 600.0  # runner height in the image
    image_size: tuple[int, int] = (720, 1280)  # (width, height) in px
    duty_factor: float | None = None  # 0.35 / 0.62; contact = duty * stride time
    foot_strike_angle_deg: float | None = None  # 12 / 20; + toe up, - toe down
    overstride_pct_leg: float | None = None  # 10 / 30; sole's rear edge ahead of hip at IC
    trunk_lean_deg: float | None = None  # 6 / 2; + forward
    vertical_oscillation_pct_leg: float | None = None  # 8 / 5; hip p-p per step
    knee_flexion_midstance_deg: float | None = None  # 40 / 15
    swing_clearance_pct_leg: float | None = None  # 25 / 10; extra ankle rise in swing
    heel_lift_deg: float = 38.0  # scheduled foot angle (toe down) at TO; may grow
    arm_swing_deg: float = 30.0  # upper-arm swing amplitude about its mean
    elbow_flexion_deg: float = 85.0
    arm_cross_pct_shoulder: float = 0.0  # front view: wrist reach past the midline
    contact_scale: tuple[float, float] = (1.0, 1.0)  # per-side contact-time factor
    overstride_offset_pct_leg: tuple[float, float] = (0.0, 0.0)  # added per side
    right_ic_phase: float = 0.5  # right IC, as a fraction of the stride after left IC
    first_ic_s: float = 0.1  # time of a left IC (sets the phase)
    walking: bool = False
    noise_px: float = 0.0  # Gaussian std added to xy
    dropout_frac: float = 0.0  # frames set to NaN, runs of 1-3
    swap_frac: float = 0.0  # frames with all L/R pairs swapped, runs of 1-4
    vfr_jitter: float = 0.0  # relative frame-interval jitter, uniform +-
    seed: int = 0
    strict: bool = False  # raise instead of lowering the hip when the leg can't reach
    # ---- realism: how real feet and the pose model look (defaults measured on the labelled
    # clips, see REAL_CLIP_EVIDENCE; IDEAL switches all of it off)
    flat_end_frac: float = 0.30  # stance fraction at which the foot is flat (forefoot slap)
    hover_pct_leg: float = 3.0  # lowest sole point's height when the terminal-swing hover starts
    hover_s: float = 0.05  # duration of the slow last descent to IC (s)
    heel_marker_fwd_pct_leg: float = 3.0  # MediaPipe heel point ahead of the sole's rear edge
    heel_marker_up_pct_leg: float = 4.0  # ... and above the sole (foot frame, % leg)
    toe_marker_back_pct_leg: float = 12.0  # MediaPipe foot_index behind the toe-off pivot
    toe_marker_up_pct_leg: float = 1.0  # ... and above the sole (foot frame, % leg)
    # first-order lag of every landmark (pose-model smoothing), s: the 8 ms the landmarks
    # trailed by at 30 fps when the realism defaults were fitted (see _lag)
    landmark_lag_s: float = 0.008
    landing_settle_pct_leg: float = 6.5  # landing foot's landmarks this far above it at IC
    landing_settle_s: float = 0.03  # ... decaying with this time constant after IC (s)
    noise_corr_s: float = 0.0  # noise time constant (AR(1)); 0 = white
    noise_foot_share: float = 0.0  # share of noise variance common to a foot's 3 points
    camera_roll_deg: float = 0.0  # image rotated by this about its centre (+ = clockwise)
    # jitter of each foot's ankle/heel/foot_index (image x and y std, % leg; AR(1) in time):
    # fitted to the real treadmill clip's stance (REAL_CLIP_EVIDENCE["foot_jitter"])
    foot_jitter_pct_leg: tuple[float, float] = (3.5, 1.7)
    foot_jitter_share: float = 0.8  # share of that variance common to the foot's 3 points
    foot_jitter_corr_s: float = 0.0  # AR(1) time constant of that jitter (s); 0 = white
    # rate (Hz) the jitter is drawn at, and interpolated from, when the clip's frame rate is
    # higher: the 30 fps it was measured at (pessimistic for true high-speed capture, where the
    # pose model runs on every frame); a higher value draws it per frame up to that rate
    foot_jitter_rate_hz: float = 30.0
    # landing: the foot_index landmark drifts ahead of the true foot just after IC, then comes back
    # faster than the ground once the forefoot is down (real: -23/-15 % of ground speed at the
    # two frames after the toe is planted); roll-off: it drifts ahead before TO (real +13/+16 %
    # two frames before the toe rises).  Peak offsets % leg; times s after IC / stance fraction
    toe_slide_pct_leg: float = 8.0
    toe_slide_start_s: float = 0.0
    toe_slide_peak_s: float = 0.035
    toe_slide_end_s: float = 0.11
    toe_drag_pct_leg: float = 4.0
    toe_drag_start: float = 0.6

    def __post_init__(self) -> None:
        defaults = _WALK_DEFAULTS if self.walking else _RUN_DEFAULTS
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, float(value))
        if self.view not in ("side", "front"):
            raise ValueError(f"view must be 'side' or 'front', got {self.view!r}")
        if self.direction not in ("left", "right"):
            raise ValueError(f"direction must be 'left' or 'right', got {self.direction!r}")
        if self.setting not in ("treadmill", "overground"):
            raise ValueError(f"unknown setting {self.setting!r}")
        if self.view == "front" and self.setting != "treadmill":
            raise ValueError("front view is only generated running in place (treadmill)")
        if not 0.0 < self.duty_factor * max(self.contact_scale) < 1.0:  # type: ignore[operator]
            raise ValueError("duty_factor * contact_scale must lie in (0, 1)")
        if self.walking and self.duty_factor * min(self.contact_scale) <= 0.5:  # type: ignore[operator]
            raise ValueError("walking needs duty_factor > 0.5 (double support)")
        if not 0.0 < self.right_ic_phase < 1.0:
            raise ValueError("right_ic_phase must lie in (0, 1)")
        if self.knee_flexion_midstance_deg <= MIN_KNEE_FLEXION_DEG + 0.5:  # type: ignore[operator]
            raise ValueError(f"knee_flexion_midstance_deg must exceed {MIN_KNEE_FLEXION_DEG}")
        for name in ("dropout_frac", "swap_frac"):
            if not 0.0 <= getattr(self, name) < 0.8:
                raise ValueError(f"{name} must lie in [0, 0.8)")
        if not 0.0 <= self.vfr_jitter < 0.9:
            raise ValueError("vfr_jitter must lie in [0, 0.9)")
        if not 0.0 < self.flat_end_frac < 0.5:
            raise ValueError("flat_end_frac must lie in (0, 0.5)")
        if not 0.0 <= self.foot_jitter_share <= 1.0 or min(self.foot_jitter_pct_leg) < 0:
            raise ValueError("foot_jitter_pct_leg must be >= 0, foot_jitter_share in [0, 1]")
        if not 0.0 <= self.noise_foot_share <= 1.0:
            raise ValueError("noise_foot_share must lie in [0, 1]")
        if not 0.0 <= self.toe_slide_start_s < self.toe_slide_peak_s < self.toe_slide_end_s:
            raise ValueError("toe slide times must satisfy 0 <= start < peak < end")
        for name in ("hover_pct_leg", "hover_s", "landmark_lag_s", "noise_corr_s",
                     "landing_settle_pct_leg", "landing_settle_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.fps <= 0 or self.duration_s <= 0 or self.cadence_spm <= 0:  # type: ignore[operator]
            raise ValueError("fps, duration_s and cadence_spm must be positive")


# --------------------------------------------------------------------------- truth


@dataclass(frozen=True)
class SideTruth:
    """Per-leg truth (sagittal quantities are None in the front view)."""

    contact_time_ms: float
    duty_factor_pct: float
    step_time_s: float  # time from the other foot's IC to this foot's IC
    foot_strike_angle_deg: float | None
    overstride_pct_leg: float | None
    shank_angle_ic_deg: float | None
    knee_flexion_ic_deg: float | None
    knee_flexion_midstance_deg: float | None
    heel_lift_to_deg: float | None  # realised toe-down foot angle at TO


@dataclass(frozen=True, eq=False)
class GaitTruth:
    """Ground truth of a clip.  Scalar values are the mean of the two legs."""

    view: str
    direction: str | None  # "left"/"right" (side view), None for front view
    setting: str
    walking: bool
    near_side: str | None  # "L"/"R" = side nearest the camera (side view)
    cadence_spm: float  # 120 / stride time
    step_time_s: float  # mean step time (60 / cadence)
    stride_time_s: float
    speed_mps: float
    step_length_m: float
    ic_t_s: dict[str, np.ndarray]  # IC times inside [t_s[0], t_s[-1]]
    to_t_s: dict[str, np.ndarray]
    midstance_t_s: dict[str, np.ndarray]  # (IC + TO) / 2
    contact_time_ms: float
    flight_time_ms: float  # mean step time - contact time; negative = double support
    duty_factor_pct: float
    foot_strike_angle_deg: float | None
    strike_class: str | None
    overstride_pct_leg: float | None
    overstride_px: float | None
    shank_angle_ic_deg: float | None
    knee_flexion_ic_deg: float | None
    knee_flexion_midstance_deg: float | None
    trunk_lean_deg: float | None
    vertical_oscillation_pct_leg: float
    vertical_oscillation_px: float
    arm_cross_share_pct: float | None
    arm_cross_depth_pct_shoulder: float | None  # frame-sampled, noiseless
    leg_length_px: float
    px_per_m: float
    shoulder_width_px: float
    ground_y_px: float
    segment_lengths_px: dict[str, float]
    side: dict[str, SideTruth] = field(default_factory=dict)
    adjustments: tuple[str, ...] = ()  # automatic changes made for feasibility


@dataclass(frozen=True, eq=False)
class SyntheticClip:
    """A generated clip: MediaPipe-like arrays plus the truth."""

    t_s: np.ndarray  # [T] seconds
    xy_px: np.ndarray  # [T, 33, 2] corrupted image coordinates
    z: np.ndarray  # [T, 33] zeros (NaN where dropped)
    visibility: np.ndarray  # [T, 33] in [0, 1]
    presence: np.ndarray  # [T, 33] in [0, 1]
    world_m: np.ndarray  # [T, 33, 3] metres about the hip midpoint, y down, z = 0
    width_px: int
    height_px: int
    truth: GaitTruth
    config: GaitConfig
    xy_px_clean: np.ndarray  # [T, 33, 2] noiseless, unswapped, no dropouts, no lag
    xy_px_model: np.ndarray  # [T, 33, 2] as xy_px_clean after the landmark lag
    dropped: np.ndarray  # [T] bool
    swapped: np.ndarray  # [T] bool (labels swapped in xy_px and friends)
    in_frame: np.ndarray  # [T] bool, hip midpoint inside the image


# --------------------------------------------------------------------------- kinematics


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _rot(u: np.ndarray | float, v: np.ndarray | float, ang: np.ndarray) -> np.ndarray:
    """Rotate vector(s) (u, v) counter-clockwise (u fwd, v up) by ``ang`` rad -> [N, 2]."""
    c, s = np.cos(ang), np.sin(ang)
    return np.stack([u * c - v * s, u * s + v * c], axis=-1)


def _knee_ik(hip: np.ndarray, ankle: np.ndarray, a: float, b: float) -> np.ndarray:
    """Knee of a 2-link leg (thigh a, shank b), bending so the knee points forward."""
    vec = ankle - hip
    d = np.hypot(vec[:, 0], vec[:, 1])
    e = vec / d[:, None]
    d = np.clip(d, abs(a - b) + 1e-9, a + b - 1e-9)
    alpha = np.arccos(np.clip((a * a + d * d - b * b) / (2.0 * a * d), -1.0, 1.0))
    return hip + a * _rot(e[:, 0], e[:, 1], alpha)


class _Model:
    """Continuous-time kinematics in the runner frame (u fwd rel. hip, v up, w left)."""

    def __init__(self, cfg: GaitConfig) -> None:
        self.cfg = cfg
        h = float(cfg.height_px)
        self.H = h
        self.thigh, self.shank = 0.245 * h, 0.246 * h
        self.leg = self.thigh + self.shank
        self.foot_len = 0.152 * h  # sole: rear edge of the heel to the toe-off pivot
        pct = self.leg / 100.0
        self.heel_mk = (cfg.heel_marker_fwd_pct_leg * pct, cfg.heel_marker_up_pct_leg * pct)
        self.toe_mk = (-cfg.toe_marker_back_pct_leg * pct, cfg.toe_marker_up_pct_leg * pct)
        self.hover = cfg.hover_pct_leg * pct
        self.ankle_fwd, self.ankle_up = 0.03 * h, 0.039 * h  # ankle rel. heel, foot flat
        self.trunk = 0.29 * h
        self.head_off, self.head_r = 0.11 * h, 0.06 * h
        self.upper_arm, self.forearm = 0.186 * h, 0.146 * h
        self.shoulder_w, self.hip_w, self.foot_w = 0.23 * h, 0.06 * h, 0.05 * h
        self.sway = 0.012 * h if cfg.view == "front" else 0.0
        self.ppm = h / cfg.body_height_m
        self.v_px = float(cfg.speed_mps) * self.ppm
        self.stride = 120.0 / float(cfg.cadence_spm)
        self.offset = {"L": 0.0, "R": cfg.right_ic_phase * self.stride}
        self.tc = {
            s: cfg.duty_factor * self.stride * k
            for s, k in zip(_SIDES, cfg.contact_scale, strict=True)
        }
        self.strike = math.radians(cfg.foot_strike_angle_deg)
        self.overstride = {
            s: (cfg.overstride_pct_leg + off) / 100.0 * self.leg
            for s, off in zip(_SIDES, cfg.overstride_offset_pct_leg, strict=True)
        }
        # heel ground position (rel. hip at IC) once the foot is flat
        flat_shift = 0.0 if self.strike >= 0 else self.foot_len * (math.cos(self.strike) - 1.0)
        self.heel_flat = {s: self.overstride[s] + flat_shift for s in _SIDES}
        self.osc = cfg.vertical_oscillation_pct_leg / 100.0 * self.leg
        self.clearance = cfg.swing_clearance_pct_leg / 100.0 * self.leg
        a, b = self.thigh, self.shank
        kmin = math.radians(180.0 - MIN_KNEE_FLEXION_DEG)
        self.r_max = math.sqrt(a * a + b * b - 2 * a * b * math.cos(kmin))
        h_cfg = self._hip_height_for(float(cfg.knee_flexion_midstance_deg))
        self.x_centre = cfg.image_size[0] / 2.0
        self.ground_y = (cfg.image_size[1] + h) / 2.0
        self.sign = -1.0 if cfg.direction == "left" else 1.0
        self.unreachable = False
        self.adjustments: tuple[str, ...] = ()
        self.h_mid = h_cfg
        if not self._feasible():
            if cfg.strict:
                raise ValueError(
                    "infeasible: the stance leg cannot reach the ground at the configured "
                    "knee_flexion_midstance_deg; raise it, lower the vertical oscillation, "
                    "overstride, speed or duty factor, or use strict=False"
                )
            lo, hi = self._hip_height_for(_MAX_KNEE_FLEXION_MIDSTANCE_DEG), h_cfg
            self.h_mid = lo
            if not self._feasible():
                raise ValueError(
                    "infeasible: the stance leg cannot reach the ground even with "
                    f"{_MAX_KNEE_FLEXION_MIDSTANCE_DEG:.0f} deg knee flexion at midstance; "
                    "lower speed_mps/duty_factor/overstride or raise cadence"
                )
            for _ in range(30):
                self.h_mid = 0.5 * (lo + hi)
                lo, hi = (self.h_mid, hi) if self._feasible() else (lo, self.h_mid)
            self.h_mid = lo
            self.adjustments = (f"hip lowered by {h_cfg - lo:.2f} px to reach the ground",)

    def _hip_height_for(self, knee_flexion_deg: float) -> float:
        """Midstance hip height giving this knee flexion (mean over legs, foot flat)."""
        a, b = self.thigh, self.shank
        interior = math.radians(180.0 - knee_flexion_deg)
        d = math.sqrt(a * a + b * b - 2 * a * b * math.cos(interior))
        heights = []
        for s in _SIDES:
            du = self.heel_flat[s] - 0.5 * self.v_px * self.tc[s] + self.ankle_fwd
            if abs(du) >= 0.95 * d:
                raise ValueError(
                    f"infeasible: the {s} ankle is {du / self.leg:+.2f} leg lengths from the "
                    "hip at midstance; lower speed_mps/duty_factor or raise overstride"
                )
            heights.append(self.ankle_up + math.sqrt(d * d - du * du))
        return float(np.mean(heights))

    # ---- timing
    def ic_index(self, side: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stride index of the last IC at or before ``t`` and the time since it."""
        rel = t - self.cfg.first_ic_s - self.offset[side]
        k = np.floor(rel / self.stride)
        return k, rel - k * self.stride

    def ic_times(self, side: str, t0: float, t1: float) -> np.ndarray:
        base = self.cfg.first_ic_s + self.offset[side]
        k0 = math.ceil((t0 - base) / self.stride - 1e-12)
        k1 = math.floor((t1 - base) / self.stride + 1e-12)
        return base + self.stride * np.arange(k0, k1 + 1)

    def hip_v(self, t: np.ndarray) -> np.ndarray:
        """Hip height; per step a full cosine cycle between successive midstances."""
        t = np.asarray(t, dtype=float)
        lo, hi = float(t.min()) - 2 * self.stride, float(t.max()) + 2 * self.stride
        mids = np.sort(
            np.concatenate([self.ic_times(s, lo, hi) + 0.5 * self.tc[s] for s in _SIDES])
        )
        j = np.clip(np.searchsorted(mids, t, side="right") - 1, 0, len(mids) - 2)
        tau = (t - mids[j]) / (mids[j + 1] - mids[j])
        bump = 0.5 * self.osc * (1.0 - np.cos(2.0 * np.pi * tau))
        return self.h_mid - bump if self.cfg.walking else self.h_mid + bump

    def hip_x_img(self, t: np.ndarray) -> np.ndarray:
        if self.cfg.view == "front" or self.cfg.setting == "treadmill":
            return np.full_like(t, self.x_centre)
        return self.x_centre + self.sign * self.v_px * (t - 0.5 * self.cfg.duration_s)

    # ---- feet
    def _foot_from(self, heel: np.ndarray, ang: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        toe = heel + self.foot_len * _rot(1.0, 0.0, ang)
        ankle = heel + _rot(self.ankle_fwd, self.ankle_up, ang)
        return toe, ankle

    def _ankle_dist(self, toe: np.ndarray, hip_v: np.ndarray, phi: np.ndarray) -> np.ndarray:
        rel = _rot(self.ankle_fwd - self.foot_len, self.ankle_up, -phi)
        return np.hypot(toe[:, 0] + rel[:, 0], toe[:, 1] + rel[:, 1] - hip_v)

    def stance(self, side: str, t: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, ...]:
        """Foot (heel, toe, ankle [N,2], angle [N]) in stance, ``dt`` s after IC."""
        n = len(t)
        s = dt / self.tc[side]
        th0, lf = self.strike, self.foot_len
        hf = self.heel_flat[side]
        ang = np.zeros(n)
        heel = np.zeros((n, 2))
        toe = np.zeros((n, 2))
        # early stance: rotate from the strike angle to flat about the first contact
        ang_a = th0 * (1.0 - _smoothstep(s / self.cfg.flat_end_frac))
        if th0 >= 0:
            heel[:] = (self.overstride[side], 0.0)
            toe = heel + lf * _rot(1.0, 0.0, ang_a)
        else:
            toe[:] = (self.overstride[side] + lf * math.cos(th0), 0.0)
            heel = toe - lf * _rot(1.0, 0.0, ang_a)
        ang[:] = ang_a
        # late stance (s >= 0.5): heel lift about the toe, as scheduled or as needed
        late = s >= 0.5
        if late.any():
            toe_l = np.column_stack([np.full(late.sum(), hf + lf), np.zeros(late.sum())])
            toe_l[:, 0] -= self.v_px * dt[late]
            hv = self.hip_v(t[late])
            sched = np.radians(self.cfg.heel_lift_deg) * _smoothstep(
                (s[late] - _LIFT_START) / (1.0 - _LIFT_START)
            )
            lo, hi = np.zeros(late.sum()), np.full(late.sum(), np.radians(_MAX_HEEL_LIFT_DEG))
            self.unreachable |= bool((self._ankle_dist(toe_l, hv, hi) > self.r_max).any())
            for _ in range(48):
                mid = 0.5 * (lo + hi)
                ok = self._ankle_dist(toe_l, hv, mid) <= self.r_max
                hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
            need = np.where(self._ankle_dist(toe_l, hv, lo) <= self.r_max, lo, hi)
            phi = np.maximum(sched, need)
            ang[late] = -phi
            toe[late] = toe_l + (self.v_px * dt[late])[:, None] * np.array([1.0, 0.0])
            heel[late] = toe[late] - lf * _rot(1.0, 0.0, -phi)
        heel[:, 0] -= self.v_px * dt  # ground moves backwards relative to the hip
        toe[:, 0] -= self.v_px * dt
        ankle = heel + _rot(self.ankle_fwd, self.ankle_up, ang)
        return heel, toe, ankle, ang

    def swing(self, side: str, t: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, ...]:
        """Foot in swing, ``dt`` s after the last IC (so Tc <= dt < stride)."""
        tc, ts = self.tc[side], self.stride - self.tc[side]
        s = (dt - tc) / ts
        t_to = t - (dt - tc)
        _, _, a0, ang0 = self.stance(side, t_to, np.full_like(t, tc))
        t_ic = t_to + ts
        _, _, a1, ang1 = self.stance(side, t_ic, np.zeros_like(t))
        m = -_SWING_RETRACTION * self.v_px * ts
        h00, h01 = 2 * s**3 - 3 * s**2 + 1, -2 * s**3 + 3 * s**2
        h10, h11 = s**3 - 2 * s**2 + s, s**3 - s**2
        u = h00 * a0[:, 0] + h01 * a1[:, 0] + (h10 + h11) * m
        # vertical: a clearance bump over the swing up to the hover, which ends with zero
        # vertical speed, then a slow straight descent from hover height to the ground in the
        # last hover_s before IC (real feet hover near the ground before landing)
        s_h = np.clip(1.0 - self.cfg.hover_s / ts, 0.5, 1.0)
        x = np.minimum(s / s_h, 1.0)
        xp = _SWING_PEAK
        bump = np.where(x < xp, np.sin(0.5 * np.pi * np.minimum(x / _SWING_RISE, 1.0)),
                        0.5 * (1.0 + np.cos(np.pi * (x - xp) / (1.0 - xp))))
        desc = np.clip((s - s_h) / np.maximum(1.0 - s_h, 1e-12), 0.0, 1.0)
        hover = self.hover * np.where(s < s_h, _smoothstep(x), 1.0 - desc)
        w = _smoothstep(x)  # TO height -> IC height, done by the hover
        v = (1 - w) * a0[:, 1] + w * a1[:, 1] + self.clearance * bump + hover
        ankle = np.column_stack([u, v])
        ang = ang0 + (ang1 - ang0) * w  # at the strike angle through the hover
        heel = ankle - _rot(self.ankle_fwd, self.ankle_up, ang)
        toe, _ = self._foot_from(heel, ang)
        lift = np.maximum(0.0, -np.minimum(heel[:, 1], toe[:, 1]))
        shift = np.column_stack([np.zeros_like(lift), lift])
        heel, toe, ankle = heel + shift, toe + shift, ankle + shift
        hip = np.column_stack([np.zeros_like(t), self.hip_v(t)])
        d = np.hypot(*(ankle - hip).T)
        pull = np.where(d > self.r_max, self.r_max / d, 1.0)[:, None]
        new_ankle = hip + (ankle - hip) * pull
        delta = new_ankle - ankle
        return heel + delta, toe + delta, new_ankle, ang

    def foot(self, side: str, t: np.ndarray) -> tuple[np.ndarray, ...]:
        """Heel, toe, ankle ([N, 2], (u, v)) and foot angle [N] of one foot at ``t``."""
        t = np.asarray(t, dtype=float)
        _, dt = self.ic_index(side, t)
        heel, toe, ankle = (np.zeros((len(t), 2)) for _ in range(3))
        ang = np.zeros(len(t))
        st = dt < self.tc[side]
        for mask, fn in ((st, self.stance), (~st, self.swing)):
            if mask.any():
                heel[mask], toe[mask], ankle[mask], ang[mask] = fn(side, t[mask], dt[mask])
        return heel, toe, ankle, ang

    def _feasible(self) -> bool:
        """Whether both stance legs reach the ground with the current ``h_mid``."""
        for side in _SIDES:
            t = self.cfg.first_ic_s + self.offset[side] + np.linspace(0, self.tc[side], 201)
            self.unreachable = False
            _, _, ankle, _ = self.stance(side, t, t - t[0])
            d = np.hypot(ankle[:, 0], ankle[:, 1] - self.hip_v(t))
            if self.unreachable or (d > self.r_max * (1 + 1e-9)).any():
                return False
        return True

    def settle(self, side: str, t: np.ndarray) -> np.ndarray:
        """Height (px) by which the pose model shows the landing foot above the true foot.

        Real landmarks (REAL_CLIP_EVIDENCE) put the heel and ankle of a landing foot several %
        leg above their stance height at the hand-labelled IC; they settle over ~2 frames.
        Modelled as ``landing_settle_pct_leg`` at IC, blending in over the hover before IC and
        decaying exponentially (``landing_settle_s``) after it.  Landmarks only: the truth
        (contact, joint angles) is the true foot's.
        """
        amp = self.cfg.landing_settle_pct_leg / 100.0 * self.leg
        if amp == 0:
            return np.zeros(len(t))
        _, dt = self.ic_index(side, t)
        tau = max(self.cfg.landing_settle_s, 1e-9)
        after = np.exp(-dt / tau)
        pre = self.stride - dt  # time to the next IC
        ramp = max(2.0 * self.cfg.hover_s, 1e-9)  # blends in over twice the hover
        before = _smoothstep(1.0 - pre / ramp)
        return amp * np.maximum(after, before)

    def toe_slide(self, side: str, t: np.ndarray) -> np.ndarray:
        """Forward offset (px, runner frame) of the foot_index landmark beyond the rigid foot's:
        landing slide (zero until ``toe_slide_start_s`` after IC, ``toe_slide_pct_leg`` at
        ``toe_slide_peak_s``, zero again at ``toe_slide_end_s``) plus roll-off drag (0 until
        ``toe_drag_start`` of stance, ``toe_drag_pct_leg`` at TO, fading over the first tenth
        of swing).  Landmarks only; the truth is the true foot's."""
        cfg = self.cfg
        _, dt = self.ic_index(side, t)
        out = np.zeros(len(t))
        amp = cfg.toe_slide_pct_leg / 100.0 * self.leg
        if amp:
            d0, dp, de = cfg.toe_slide_start_s, cfg.toe_slide_peak_s, cfg.toe_slide_end_s
            up = _smoothstep((dt - d0) / max(dp - d0, 1e-9))
            down = 1.0 - _smoothstep((dt - dp) / max(de - dp, 1e-9))
            out += amp * np.where(dt < dp, up, down)
        drag = cfg.toe_drag_pct_leg / 100.0 * self.leg
        if drag:
            s = dt / self.tc[side]
            s_sw = (dt - self.tc[side]) / (self.stride - self.tc[side])
            rise = _smoothstep((s - cfg.toe_drag_start) / (1.0 - cfg.toe_drag_start))
            out += drag * np.where(s < 1.0, rise, 1.0 - _smoothstep(s_sw / 0.1))
        return out

    # ---- whole body
    def arm_phase(self, side: str, t: np.ndarray) -> np.ndarray:
        """0 at the arm's forward extreme (= IC of the opposite leg)."""
        other = "R" if side == "L" else "L"
        return 2.0 * np.pi * (t - self.cfg.first_ic_s - self.offset[other]) / self.stride

    def wrist_w(self, side: str, t: np.ndarray) -> np.ndarray:
        """Lateral wrist position relative to the shoulder midpoint (w, + = runner's left)."""
        sgn = 1.0 if side == "L" else -1.0
        g = 0.5 * (1.0 + np.cos(self.arm_phase(side, t)))
        back = 0.45 * self.shoulder_w
        front = -self.cfg.arm_cross_pct_shoulder / 100.0 * self.shoulder_w
        return sgn * (back + (front - back) * g)

    def pose3d(self, t: np.ndarray) -> np.ndarray:
        """All 33 landmarks in the runner frame, [N, 33, 3] as (u, v, w)."""
        t = np.asarray(t, dtype=float)
        n = len(t)
        out = np.zeros((n, 33, 3))
        hv = self.hip_v(t)
        mid_l = self.cfg.first_ic_s + 0.5 * self.tc["L"]
        sway = self.sway * np.cos(2.0 * np.pi * (t - mid_l) / self.stride)
        hip = np.column_stack([np.zeros(n), hv])
        lean = math.radians(self.cfg.trunk_lean_deg)
        tdir = np.array([math.sin(lean), math.cos(lean)])
        sh_mid = hip + self.trunk * tdir
        for side in _SIDES:
            sgn = 1.0 if side == "L" else -1.0
            p = "left_" if side == "L" else "right_"
            heel, toe, ankle, ang = self.foot(side, t)
            knee = _knee_ik(hip, ankle, self.thigh, self.shank)
            # MediaPipe's heel and foot_index points are not the sole's contact points
            heel = heel + _rot(self.heel_mk[0], self.heel_mk[1], ang)
            toe = toe + _rot(self.toe_mk[0], self.toe_mk[1], ang)
            settle = np.column_stack([np.zeros(n), self.settle(side, t)])
            heel, toe, ankle = heel + settle, toe + settle, ankle + settle
            toe = toe + np.column_stack([self.toe_slide(side, t), np.zeros(n)])
            hip_w = sgn * self.hip_w + sway
            foot_w = np.full(n, sgn * self.foot_w)
            knee_w = hip_w + (foot_w - hip_w) * self.thigh / self.leg
            for name, uv, w in (
                ("hip", hip, hip_w),
                ("knee", knee, knee_w),
                ("ankle", ankle, foot_w),
                ("heel", heel, foot_w),
                ("foot_index", toe, foot_w + sgn * 0.01 * self.H),
            ):
                out[:, _IDX[p + name], :2] = uv
                out[:, _IDX[p + name], 2] = w
            # arm: pendulum about the shoulder, in phase with the opposite leg
            ph = self.arm_phase(side, t)
            beta = math.radians(-10.0) + math.radians(self.cfg.arm_swing_deg) * np.cos(ph)
            beta_f = beta + math.radians(self.cfg.elbow_flexion_deg)
            elbow = sh_mid + self.upper_arm * np.column_stack([np.sin(beta), -np.cos(beta)])
            fdir = np.column_stack([np.sin(beta_f), -np.cos(beta_f)])
            wrist = elbow + self.forearm * fdir
            sh_w = sgn * 0.5 * self.shoulder_w + sway
            wr_w = self.wrist_w(side, t) + sway
            el_w = sh_w + 0.35 * (wr_w - sh_w) + sgn * 0.03 * self.H
            for name, uv, w in (
                ("shoulder", sh_mid, sh_w),
                ("elbow", elbow, el_w),
                ("wrist", wrist, wr_w),
                ("index", wrist + 0.07 * self.H * fdir, wr_w),
                ("pinky", wrist + 0.06 * self.H * fdir, wr_w + sgn * 0.015 * self.H),
                ("thumb", wrist + 0.04 * self.H * fdir, wr_w - sgn * 0.015 * self.H),
            ):
                out[:, _IDX[p + name], :2] = uv
                out[:, _IDX[p + name], 2] = w
        # head: centre above the shoulders along the trunk; face points on a sphere
        centre = sh_mid + self.head_off * tdir
        r = self.head_r
        face = (  # (name, u, v, w) offsets in head radii
            ("nose", 1.0, -0.1, 0.0),
            ("left_eye_inner", 0.85, 0.25, 0.15),
            ("left_eye", 0.8, 0.25, 0.3),
            ("left_eye_outer", 0.7, 0.25, 0.45),
            ("left_ear", -0.1, 0.1, 0.95),
            ("mouth_left", 0.85, -0.45, 0.25),
        )
        for name, du, dv, dw in face:
            mirror = name.replace("left", "right")
            for nm, sgn in ((name, 1.0), (mirror, -1.0)) if mirror != name else ((name, 1.0),):
                out[:, _IDX[nm], 0] = centre[:, 0] + r * du
                out[:, _IDX[nm], 1] = centre[:, 1] + r * dv
                out[:, _IDX[nm], 2] = sway + sgn * r * dw
        return out

    def project(self, p3: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Runner frame -> image pixels [N, 33, 2]."""
        xy = np.empty(p3.shape[:-1] + (2,))
        if self.cfg.view == "front":
            xy[..., 0] = self.x_centre + p3[..., 2]
        else:
            xy[..., 0] = self.hip_x_img(t)[:, None] + self.sign * p3[..., 0]
        xy[..., 1] = self.ground_y - p3[..., 1]
        if self.cfg.camera_roll_deg:
            c = np.array(self.cfg.image_size, dtype=float) / 2.0
            r = math.radians(self.cfg.camera_roll_deg)
            d = xy - c
            xy = c + np.stack([d[..., 0] * math.cos(r) - d[..., 1] * math.sin(r),
                               d[..., 0] * math.sin(r) + d[..., 1] * math.cos(r)], axis=-1)
        return xy


# --------------------------------------------------------------------------- public API


@functools.lru_cache(maxsize=32)
def _model_for(cfg: GaitConfig) -> _Model:
    return _Model(cfg)


def pose_at(cfg: GaitConfig, t_s: np.ndarray | float) -> np.ndarray:
    """Noiseless image coordinates [N, 33, 2] at arbitrary (continuous) times."""
    model = _model_for(cfg)
    t = np.atleast_1d(np.asarray(t_s, dtype=float))
    return model.project(model.pose3d(t), t)


def true_foot_at(cfg: GaitConfig, side: str, t_s: np.ndarray | float) -> dict[str, np.ndarray]:
    """The TRUE foot of ``side`` ("L"/"R") in image pixels at arbitrary times: ``heel`` (rear
    edge of the sole), ``toe`` (toe-off pivot) and ``ankle`` (joint centre), each [N, 2].
    These define the truth (IC = sole touches the ground, TO = pivot leaves it); the
    landmarks of :func:`pose_at` are offset from them as MediaPipe's are (heel/foot_index
    markers, landing settle), before any lag or noise."""
    model = _model_for(cfg)
    t = np.atleast_1d(np.asarray(t_s, dtype=float))
    heel, toe, ankle, _ = model.foot(side, t)
    p3 = np.zeros((len(t), 3, 3))
    p3[:, 0, :2], p3[:, 1, :2], p3[:, 2, :2] = heel, toe, ankle
    xy = model.project(p3, t)
    return {"heel": xy[:, 0], "toe": xy[:, 1], "ankle": xy[:, 2]}


def _frame_times(cfg: GaitConfig, rng: np.random.Generator) -> np.ndarray:
    n = max(2, int(round(cfg.duration_s * cfg.fps)))
    dt = np.full(n - 1, 1.0 / cfg.fps)
    if cfg.vfr_jitter > 0:
        dt *= 1.0 + cfg.vfr_jitter * rng.uniform(-1.0, 1.0, n - 1)
    return np.concatenate([[0.0], np.cumsum(dt)])


def _runs_mask(n: int, frac: float, max_run: int, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    target = int(round(frac * n))
    while mask.sum() < target:
        start = int(rng.integers(0, n))
        mask[start : start + int(rng.integers(1, max_run + 1))] = True
    return mask


def _lag(xy: np.ndarray, t: np.ndarray, tau_s: float) -> np.ndarray:
    """First-order causal lag (time constant ``tau_s``) of landmark tracks [T, 33, 2].

    Exact for an input that moves linearly between frames (first-order-hold, ramp-invariant
    discretisation of dy/dt = (x - y) / tau): y[n] = E y[n-1] + (1 - b) x[n] + (b - E) x[n-1],
    E = exp(-dt / tau), b = tau (1 - E) / dt, so the landmarks trail a steady motion by
    ``tau_s`` at every frame rate.  (The earlier form, exact only for an input held constant
    between frames, trailed by 8 ms at 30 fps but 18 ms at 240 fps with tau = 20 ms: it made
    the synthetic IC drift later with frame rate, -1 ms at 30 fps to +10 ms at 240, which the
    events rules were blamed for.)  Stands in for the pose model's temporal smoothing, which
    makes landmarks trail fast motion (the landing heel reaches its stance height after IC).
    """
    if tau_s <= 0:
        return xy.copy()
    out = xy.copy()
    dt = np.diff(t)
    e = np.exp(-dt / tau_s)
    b = tau_s * (1.0 - e) / dt
    for i in range(1, len(t)):
        out[i] = (e[i - 1] * out[i - 1] + (1.0 - b[i - 1]) * xy[i]
                  + (b[i - 1] - e[i - 1]) * xy[i - 1])
    return out


_FOOT_POINTS = ((27, 29, 31), (28, 30, 32))  # (ankle, heel, foot_index) of the L and R foot


def _noise(t: np.ndarray, cfg: GaitConfig, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance landmark noise [T, 33, 2]: white by default; ``noise_foot_share`` of the
    variance common to a foot's three points (the whole foot jitters together) and AR(1) in
    time with time constant ``noise_corr_s`` (jitter persists over frames)."""
    w = rng.standard_normal((len(t), 33, 2))
    if cfg.noise_foot_share > 0:
        common = rng.standard_normal((len(t), 2, 2))
        a, b = math.sqrt(1.0 - cfg.noise_foot_share), math.sqrt(cfg.noise_foot_share)
        for k, idx in enumerate(_FOOT_POINTS):
            w[:, idx] = a * w[:, idx] + b * common[:, k, None, :]
    if cfg.noise_corr_s > 0:
        rho = np.exp(-np.diff(t) / cfg.noise_corr_s)
        for i in range(1, len(t)):
            w[i] = rho[i - 1] * w[i - 1] + math.sqrt(1.0 - rho[i - 1] ** 2) * w[i]
    return w


_JITTER_FPS = 30.0  # frame rate of the clips the foot jitter was measured on


def _foot_jitter(t: np.ndarray, cfg: GaitConfig, leg: float, rng: np.random.Generator
                 ) -> np.ndarray:
    """Frame-to-frame jitter of the foot landmarks [T, 33, 2] (px): white in time, std
    ``foot_jitter_pct_leg`` (x, y) % leg, ``foot_jitter_share`` of the variance common to a
    foot's ankle, heel and foot_index (MediaPipe's foot jitters as a whole; REAL_CLIP_EVIDENCE).
    Zero elsewhere and in the front view (not measured there)."""
    out = np.zeros((len(t), 33, 2))
    sx, sy = (p / 100.0 * leg for p in cfg.foot_jitter_pct_leg)
    if (sx == 0 and sy == 0) or cfg.view != "side":  # measured on side views only
        return out
    # drawn at the frame rate it was measured at (30 fps) or the clip's, whichever is lower,
    # and interpolated to the frames: a faster camera does not add jitter
    rate = min(float(cfg.fps), float(cfg.foot_jitter_rate_hz))
    tg = float(t[0]) + np.arange(int(math.ceil((t[-1] - t[0]) * rate)) + 2) / rate
    m = len(tg)
    a, b = math.sqrt(1.0 - cfg.foot_jitter_share), math.sqrt(cfg.foot_jitter_share)
    for idx in _FOOT_POINTS:
        w = a * rng.standard_normal((m, 3, 2)) + b * rng.standard_normal((m, 1, 2))
        if cfg.foot_jitter_corr_s > 0:
            rho = math.exp(-1.0 / (cfg.foot_jitter_corr_s * rate))
            for i in range(1, m):
                w[i] = rho * w[i - 1] + math.sqrt(1.0 - rho * rho) * w[i]
        if cfg.fps <= rate:
            wt = w[:len(t)]
        else:
            wt = np.stack([np.stack([np.interp(t, tg, w[:, k, d]) for d in (0, 1)], axis=-1)
                           for k in range(3)], axis=1)
        out[:, idx] = wt * np.array([sx, sy])
    return out


def _angle_deg(vu: np.ndarray, vv: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(vv, vu))


def _true_angles(model: _Model, side: str, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Knee flexion, shank angle, sole angle (deg) and anatomical heel point (u, px) of the
    true skeleton of ``side`` at times ``t`` (the truth definitions of the module docstring)."""
    heel, toe, ankle, _ = model.foot(side, t)
    hip = np.column_stack([np.zeros_like(t), model.hip_v(t)])
    knee = _knee_ik(hip, ankle, model.thigh, model.shank)
    v1, v2 = hip - knee, ankle - knee
    cosk = np.sum(v1 * v2, axis=1) / (np.linalg.norm(v1, axis=1) * np.linalg.norm(v2, axis=1))
    flex = 180.0 - np.degrees(np.arccos(np.clip(cosk, -1.0, 1.0)))
    shank = np.degrees(np.arctan2(ankle[:, 0] - knee[:, 0], knee[:, 1] - ankle[:, 1]))
    foot_ang = _angle_deg(toe[:, 0] - heel[:, 0], toe[:, 1] - heel[:, 1])
    ang = np.radians(foot_ang)
    # overstride is defined on the heel landmark, i.e. the anatomical heel point (the marker
    # offset from the sole's rear edge; no settle, lag or noise)
    heel_pt = heel[:, 0] + _rot(model.heel_mk[0], model.heel_mk[1], ang)[:, 0]
    return flex, shank, foot_ang, heel_pt


def truth_at(cfg: GaitConfig, side: str, t_s: np.ndarray | float) -> dict[str, np.ndarray]:
    """The truth's angle definitions evaluated on the true skeleton of ``side`` at ANY
    instants (e.g. formcheck's detected events): ``knee_flexion_deg``, ``shank_angle_deg``,
    ``foot_angle_deg`` (sole vs ground, + = toe up) and ``overstride_pct_leg`` (anatomical
    heel point ahead of the hip), each [N].  At the true IC these are the clip's truth."""
    model = _model_for(cfg)
    t = np.atleast_1d(np.asarray(t_s, dtype=float))
    flex, shank, foot_ang, heel_u = _true_angles(model, side, t)
    return {"knee_flexion_deg": flex, "shank_angle_deg": shank, "foot_angle_deg": foot_ang,
            "overstride_pct_leg": heel_u / model.leg * 100.0}


def _side_truth(model: _Model, side: str, ic: np.ndarray) -> SideTruth:
    cfg = model.cfg
    tc = model.tc[side]
    step = model.stride * (cfg.right_ic_phase if side == "R" else 1.0 - cfg.right_ic_phase)
    common = {
        "contact_time_ms": 1000.0 * tc,
        "duty_factor_pct": 100.0 * tc / model.stride,
        "step_time_s": step,
    }
    if cfg.view == "front":
        return SideTruth(
            **common,
            foot_strike_angle_deg=None,
            overstride_pct_leg=None,
            shank_angle_ic_deg=None,
            knee_flexion_ic_deg=None,
            knee_flexion_midstance_deg=None,
            heel_lift_to_deg=None,
        )

    def knee_metrics(t: np.ndarray) -> tuple[np.ndarray, ...]:
        return _true_angles(model, side, t)

    flex_ic, shank_ic, foot_ic, heel_u = knee_metrics(ic)
    flex_ms, _, _, _ = knee_metrics(ic + 0.5 * tc)
    _, _, foot_to, _ = knee_metrics(ic + tc - 1e-9)
    return SideTruth(
        **common,
        foot_strike_angle_deg=float(np.mean(foot_ic)),
        overstride_pct_leg=float(np.mean(heel_u) / model.leg * 100.0),
        shank_angle_ic_deg=float(np.mean(shank_ic)),
        knee_flexion_ic_deg=float(np.mean(flex_ic)),
        knee_flexion_midstance_deg=float(np.mean(flex_ms)),
        heel_lift_to_deg=float(-np.mean(foot_to)),
    )


def _arm_cross(
    model: _Model, t: np.ndarray, valid: np.ndarray
) -> tuple[float | None, float | None]:
    if model.cfg.view != "front":
        return None, None
    sw = model.shoulder_w
    tol = 1e-9 * sw
    # crossing distance past the mid-shoulder line, towards the opposite side
    depth = {"L": -model.wrist_w("L", t), "R": model.wrist_w("R", t)}
    crossing = (depth["L"] > tol) | (depth["R"] > tol)
    share = 100.0 * float(np.mean(crossing[valid])) if valid.any() else 0.0
    maxima = []
    for side in _SIDES:
        other = "R" if side == "L" else "L"
        for t_ext in model.ic_times(other, float(t[0]), float(t[-1])):
            win = valid & (np.abs(t - t_ext) < 0.5 * model.stride)
            if win.any():
                maxima.append(max(0.0, float(depth[side][win].max())))
    depth_pct = 100.0 * float(np.median(maxima)) / sw if maxima else 0.0
    return share, depth_pct


def generate(cfg: GaitConfig | None = None) -> SyntheticClip:
    """Generate a synthetic clip with known truth (see the module docstring)."""
    cfg = cfg or GaitConfig()
    model = _model_for(cfg)
    rng_t, rng_drop, rng_swap, rng_noise, rng_vis, rng_jit = (
        np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(6)
    )
    t = _frame_times(cfg, rng_t)
    n = len(t)
    clean = model.project(model.pose3d(t), t)

    # visibility: far side lower in the side view, low outside the image
    vis = np.full((n, 33), 0.95)
    if cfg.view == "side":
        far = RIGHT_IDX if cfg.direction == "left" else LEFT_IDX
        vis[:, list(far)] = 0.7
    vis += rng_vis.uniform(-0.03, 0.03, vis.shape)
    w_img, h_img = cfg.image_size
    outside = (
        (clean[..., 0] < 0)
        | (clean[..., 0] > w_img)
        | (clean[..., 1] < 0)
        | (clean[..., 1] > h_img)
    )
    vis[outside] = 0.1
    hip_mid = 0.5 * (clean[:, _IDX["left_hip"]] + clean[:, _IDX["right_hip"]])
    in_frame = (hip_mid[:, 0] >= 0) & (hip_mid[:, 0] <= w_img)
    in_frame &= (hip_mid[:, 1] >= 0) & (hip_mid[:, 1] <= h_img)

    # corruption: swaps, noise, dropouts
    dropped = _runs_mask(n, cfg.dropout_frac, 3, rng_drop)
    swapped = _runs_mask(n, cfg.swap_frac, 4, rng_swap)
    perm = np.arange(33)
    perm[list(LEFT_IDX)], perm[list(RIGHT_IDX)] = RIGHT_IDX, LEFT_IDX
    lagged = _lag(clean, t, cfg.landmark_lag_s)
    xy = lagged + _foot_jitter(t, cfg, model.leg, rng_jit)
    xy[swapped] = lagged[swapped][:, perm]
    vis[swapped] = vis[swapped][:, perm]
    if cfg.noise_px > 0:
        xy += cfg.noise_px * _noise(t, cfg, rng_noise)
    z = np.zeros((n, 33))
    xy[dropped], z[dropped], vis[dropped] = np.nan, np.nan, 0.0
    vis = np.clip(vis, 0.0, 1.0)
    hm = 0.5 * (xy[:, _IDX["left_hip"]] + xy[:, _IDX["right_hip"]])
    world = np.zeros((n, 33, 3))
    world[..., :2] = (xy - hm[:, None, :]) / model.ppm
    world[dropped] = np.nan

    # truth
    t0, t1 = float(t[0]), float(t[-1])
    ic = {s: model.ic_times(s, t0, t1) for s in _SIDES}
    to = {
        s: np.sort(model.ic_times(s, t0 - model.tc[s], t1 - model.tc[s]) + model.tc[s])
        for s in _SIDES
    }
    mids = {
        s: model.ic_times(s, t0 - 0.5 * model.tc[s], t1 - 0.5 * model.tc[s]) + 0.5 * model.tc[s]
        for s in _SIDES
    }
    sides = {}
    for s in _SIDES:
        ev = ic[s] if len(ic[s]) else model.ic_times(s, t0, t0 + model.stride)
        sides[s] = _side_truth(model, s, ev)

    def mean_of(attr: str) -> float | None:
        vals = [getattr(sides[s], attr) for s in _SIDES]
        return None if vals[0] is None else float(np.mean(vals))

    share, depth = _arm_cross(model, t, ~dropped)
    strike = mean_of("foot_strike_angle_deg")
    over = mean_of("overstride_pct_leg")
    side_view = cfg.view == "side"
    truth = GaitTruth(
        view=cfg.view,
        direction=cfg.direction if side_view else None,
        setting=cfg.setting,
        walking=cfg.walking,
        near_side=("L" if cfg.direction == "left" else "R") if side_view else None,
        cadence_spm=120.0 / model.stride,
        step_time_s=0.5 * model.stride,
        stride_time_s=model.stride,
        speed_mps=float(cfg.speed_mps),
        step_length_m=float(cfg.speed_mps) * 0.5 * model.stride,
        ic_t_s=ic,
        to_t_s=to,
        midstance_t_s=mids,
        contact_time_ms=mean_of("contact_time_ms"),  # type: ignore[arg-type]
        flight_time_ms=1000.0 * 0.5 * model.stride - mean_of("contact_time_ms"),  # type: ignore[operator]
        duty_factor_pct=mean_of("duty_factor_pct"),  # type: ignore[arg-type]
        foot_strike_angle_deg=strike,
        strike_class=strike_class(strike) if strike is not None else None,
        overstride_pct_leg=over,
        overstride_px=over / 100.0 * model.leg if over is not None else None,
        shank_angle_ic_deg=mean_of("shank_angle_ic_deg"),
        knee_flexion_ic_deg=mean_of("knee_flexion_ic_deg"),
        knee_flexion_midstance_deg=mean_of("knee_flexion_midstance_deg"),
        trunk_lean_deg=float(cfg.trunk_lean_deg) if side_view else None,
        vertical_oscillation_pct_leg=100.0 * model.osc / model.leg,
        vertical_oscillation_px=model.osc,
        arm_cross_share_pct=share,
        arm_cross_depth_pct_shoulder=depth,
        leg_length_px=model.leg,
        px_per_m=model.ppm,
        shoulder_width_px=model.shoulder_w,
        ground_y_px=model.ground_y,
        segment_lengths_px={
            "thigh": model.thigh,
            "shank": model.shank,
            "foot": float(np.hypot(model.foot_len + model.toe_mk[0] - model.heel_mk[0],
                                   model.toe_mk[1] - model.heel_mk[1])),  # landmark heel-toe
            "sole": model.foot_len,
            "trunk": model.trunk,
            "upper_arm": model.upper_arm,
            "forearm": model.forearm,
        },
        side=sides,
        adjustments=model.adjustments,
    )
    return SyntheticClip(
        t_s=t,
        xy_px=xy,
        z=z,
        visibility=vis,
        presence=vis.copy(),
        world_m=world,
        width_px=int(w_img),
        height_px=int(h_img),
        truth=truth,
        config=cfg,
        xy_px_clean=clean,
        xy_px_model=lagged,
        dropped=dropped,
        swapped=swapped,
        in_frame=in_frame,
    )


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class ErrorStats:
    """Signed timing errors (detected - true) of one kind of event or interval.

    ``bias_ms`` is the mean signed error (ms; + = late for IC/TO, long for contact time),
    ``mae_ms`` the mean absolute error, ``p95_ms`` the 95th percentile of the absolute error,
    ``within_1_frame_pct`` the share of errors with |error| <= one frame (1 / fps), in %;
    ``*_frames`` are the same in frames at the clip's frame rate.  NaN when ``n == 0``.
    """

    n: int
    bias_ms: float
    mae_ms: float
    p95_ms: float
    within_1_frame_pct: float
    fps: float

    @property
    def bias_frames(self) -> float:
        return self.bias_ms * self.fps / 1000.0

    @property
    def mae_frames(self) -> float:
        return self.mae_ms * self.fps / 1000.0

    @property
    def p95_frames(self) -> float:
        return self.p95_ms * self.fps / 1000.0

    @staticmethod
    def of(err_s: np.ndarray, fps: float) -> ErrorStats:
        e = 1000.0 * np.asarray(err_s, dtype=float)
        e = e[np.isfinite(e)]
        if e.size == 0:
            return ErrorStats(0, math.nan, math.nan, math.nan, math.nan, fps)
        a = np.abs(e)
        return ErrorStats(int(e.size), float(e.mean()), float(a.mean()),
                          float(np.percentile(a, 95)),
                          float(100.0 * np.mean(a <= 1000.0 / fps + 1e-9)), fps)


@dataclass(frozen=True)
class EventScore:
    """Detected events scored against a clip's truth (see :func:`score_events`)."""

    ic: ErrorStats
    to: ErrorStats
    contact: ErrorStats
    n_true: int  # true ICs inside the scored window
    n_missed: int  # true ICs with no detected IC within half a step
    n_extra: int  # detected ICs inside the window matched to no true IC (doubles count)
    side_agreement_pct: float  # matched steps whose detected side is the true side (%)


def score_events(
    ic_t_s: np.ndarray,
    to_t_s: np.ndarray,
    truth: GaitTruth,
    fps: float,
    side: np.ndarray | None = None,
    t_range: tuple[float, float] | None = None,
) -> EventScore:
    """Score detected steps against the generator's truth.

    Args:
        ic_t_s: [K] detected initial contacts (s).
        to_t_s: [K] detected toe-off following each IC (s; NaN if none).
        truth: the clip's :class:`GaitTruth`.
        fps: frame rate used to express errors in frames.
        side: [K] detected side ("L"/"R") of each step, if known.
        t_range: only true ICs inside (lo, hi) are scored (default: the whole truth span
            minus 0.3 s at each end, where a detector cannot see a whole step).

    Each true IC is matched to the nearest detected IC within half a step time (whatever
    the detected side, so that a side-label error does not hide a timing error); the
    detected TO of that step is compared with the true TO one contact time after the true
    IC, and (TO - IC) with the true contact time.  Errors are detected - true.
    """
    ic_d = np.asarray(ic_t_s, dtype=float)
    to_d = np.asarray(to_t_s, dtype=float)
    ics = np.concatenate([truth.ic_t_s[s] for s in _SIDES])
    sides = np.concatenate([[s] * len(truth.ic_t_s[s]) for s in _SIDES])
    tcs = np.array([truth.side[s].contact_time_ms / 1000.0 for s in sides])
    if t_range is None:
        lo = min((float(v.min()) for v in truth.ic_t_s.values() if v.size), default=0.0)
        hi = max((float(v.max()) for v in truth.ic_t_s.values() if v.size), default=0.0)
        t_range = (lo + 0.3, hi - 0.3)
    keep = (ics > t_range[0]) & (ics < t_range[1])
    outside = ics[~keep]  # true ICs not scored: a detection of one is neither hit nor extra
    ics, sides, tcs = ics[keep], sides[keep], tcs[keep]
    half = 0.5 * truth.step_time_s
    e_ic, e_to, e_ct, agree = [], [], [], []
    used = np.zeros(ic_d.size, dtype=bool)
    missed = 0
    for t_true, s, tc in zip(ics, sides, tcs, strict=True):
        if ic_d.size == 0:
            missed += 1
            continue
        k = int(np.argmin(np.abs(ic_d - t_true)))
        if abs(ic_d[k] - t_true) > half:
            missed += 1
            continue
        used[k] = True
        e_ic.append(ic_d[k] - t_true)
        e_to.append(to_d[k] - (t_true + tc))
        e_ct.append((to_d[k] - ic_d[k]) - tc)
        if side is not None:
            agree.append(str(side[k]) == s)
    inside = (ic_d > t_range[0]) & (ic_d < t_range[1])
    if outside.size:
        inside &= np.min(np.abs(ic_d[:, None] - outside[None, :]), axis=1) > half
    return EventScore(
        ic=ErrorStats.of(np.array(e_ic), fps),
        to=ErrorStats.of(np.array(e_to), fps),
        contact=ErrorStats.of(np.array(e_ct), fps),
        n_true=int(ics.size),
        n_missed=missed,
        n_extra=int((inside & ~used).sum()),
        side_agreement_pct=100.0 * float(np.mean(agree)) if agree else math.nan,
    )


# --------------------------------------------------------------------------- landmark profiles

#: Frames (relative to the labelled frame) at which :func:`landmark_profiles` samples.
PROFILE_OFFSETS: tuple[int, ...] = (-4, -3, -2, -1, 0, 1, 2, 3, 4)
_PROFILE_POINTS = ("ankle", "heel", "foot_index")


def landmark_profiles(clip: SyntheticClip, xy: np.ndarray | None = None
                      ) -> dict[str, np.ndarray]:
    """The stance foot's landmark heights and horizontal velocities around each true IC / TO,
    measured exactly as ``bench/real_foot_profiles.py`` measures real MediaPipe landmarks
    around hand-labelled events (REAL_CLIP_EVIDENCE), median over steps.

    The "labelled" frame is the first frame at or after the true event (the labels' "first
    frame of contact" / "first frame the toe is clearly off").  At whole frames
    :data:`PROFILE_OFFSETS` from it: height of ankle / heel / foot_index above that point's
    lowest position over the labelled stance (% leg), and its horizontal velocity (central
    difference, running direction) relative to the ground's, in % of the ground's speed
    relative to the hip ((v - v_ground) / (v_hip - v_ground); v_ground = median velocity of
    the three points over labelled IC+2 .. TO-2).  Side view, constant frame rate.

    Returns ``{"h_ic", "v_ic", "h_to", "v_to"}``: each [len(PROFILE_OFFSETS), 3] (columns
    ankle, heel, foot_index).
    """
    cfg, tr = clip.config, clip.truth
    xy = clip.xy_px_model if xy is None else xy
    fps = float(cfg.fps)
    fwd = -1.0 if cfg.direction == "left" else 1.0
    x_hip = fwd * 0.5 * (xy[:, _IDX["left_hip"], 0] + xy[:, _IDX["right_hip"], 0])
    v_hip = np.gradient(x_hip)
    offs = np.array(PROFILE_OFFSETS)
    out: dict[str, list[np.ndarray]] = {"h_ic": [], "v_ic": [], "h_to": [], "v_to": []}
    n = len(clip.t_s)
    for side, idx in zip(_SIDES, _FOOT_POINTS, strict=True):
        pts = xy[:, idx]  # [T, 3, 2] ankle, heel, foot_index
        v = np.gradient(fwd * pts[..., 0], axis=0)
        tc = tr.side[side].contact_time_ms / 1000.0
        for t_ic in tr.ic_t_s[side]:
            ic = math.ceil(t_ic * fps - 1e-9)
            to = math.ceil((t_ic + tc) * fps - 1e-9)
            if ic + offs[0] - 1 < 0 or to + offs[-1] + 1 >= n:
                continue
            mid = np.arange(ic + 2, to - 1)
            vg = float(np.median(v[mid]))
            speed = float(np.median(v_hip[mid])) - vg
            low = pts[ic:to + 1, :, 1].max(axis=0)
            for ev, k in ((ic, "ic"), (to, "to")):
                rows = ev + offs
                out["h_" + k].append((low[None, :] - pts[rows, :, 1]) / tr.leg_length_px * 100)
                out["v_" + k].append((v[rows] - vg) / speed * 100.0)
    return {k: np.median(np.array(val), axis=0) for k, val in out.items()}
