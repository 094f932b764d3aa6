"""The 33 BlazePose landmarks: names, indices and index groups, defined in one place.

Index order is MediaPipe's (BlazePose GHUM 3D topology).  "Left"/"right" are the
runner's own sides, as MediaPipe labels them (which it gets wrong in side views; see
:mod:`formcheck.signals` for the identity repair).
"""

from __future__ import annotations

import numpy as np

NAMES: tuple[str, ...] = (
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
)
N_LANDMARKS = len(NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(NAMES)}

NOSE = 0
L_EAR, R_EAR = 7, 8
L_SHOULDER, R_SHOULDER = 11, 12
L_ELBOW, R_ELBOW = 13, 14
L_WRIST, R_WRIST = 15, 16
L_HIP, R_HIP = 23, 24
L_KNEE, R_KNEE = 25, 26
L_ANKLE, R_ANKLE = 27, 28
L_HEEL, R_HEEL = 29, 30
L_TOE, R_TOE = 31, 32

#: Indices of each side's landmarks, paired so that LEFT_SIDE[i] mirrors RIGHT_SIDE[i].
LEFT_SIDE: tuple[int, ...] = tuple(i for i, n in enumerate(NAMES) if n.startswith("left_"))
RIGHT_SIDE: tuple[int, ...] = tuple(INDEX["right_" + NAMES[i][5:]] for i in LEFT_SIDE)

#: Per-leg landmark chains (hip, knee, ankle, heel, toe) used by the identity repair.
LEG = {"L": (L_HIP, L_KNEE, L_ANKLE, L_HEEL, L_TOE), "R": (R_HIP, R_KNEE, R_ANKLE, R_HEEL, R_TOE)}
ARM = {"L": (L_SHOULDER, L_ELBOW, L_WRIST), "R": (R_SHOULDER, R_ELBOW, R_WRIST)}

#: For each landmark, the landmark whose label it takes when the legs' labels are swapped
#: (knee, ankle, heel and toe trade sides; everything else, hips included, keeps its own):
#: ``xy[LEG_SWAP]`` is a frame with its leg labels swapped.
LEG_SWAP: tuple[int, ...] = tuple(
    dict(zip(LEG["L"][1:] + LEG["R"][1:], LEG["R"][1:] + LEG["L"][1:], strict=True)).get(i, i)
    for i in range(N_LANDMARKS))

#: Bones drawn for the skeleton overlay, as (a, b) index pairs.
BONES: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 23), (12, 24), (23, 24),
    (11, 13), (13, 15), (12, 14), (14, 16),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31),
    (24, 26), (26, 28), (28, 30), (30, 32), (28, 32),
    (0, 11), (0, 12),
)

#: Landmarks drawn as joints in the overlays (nose, arms, legs; not the face or hands).
JOINTS: tuple[int, ...] = (NOSE, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST,
                           L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE, L_HEEL, R_HEEL,
                           L_TOE, R_TOE)


def hip_mid(xy: np.ndarray) -> np.ndarray:
    """Midpoint of the two hip landmarks.  ``xy`` has the landmark axis second to last
    (``(..., 33, D)``); the result drops it (``(..., D)``), in ``xy``'s units."""
    return (xy[..., L_HIP, :] + xy[..., R_HIP, :]) / 2


def shoulder_mid(xy: np.ndarray) -> np.ndarray:
    """Midpoint of the two shoulder landmarks (shapes and units as :func:`hip_mid`)."""
    return (xy[..., L_SHOULDER, :] + xy[..., R_SHOULDER, :]) / 2


#: Per-foot landmarks (ankle, heel, toe), the tail of each :data:`LEG` chain.
FOOT = {"L": LEG["L"][2:], "R": LEG["R"][2:]}
