"""Per-frame joint and segment angles, with formcheck's own definitions (degrees).

Each column is the quantity a metric module defines, evaluated at every frame instead of at
one instant of a step, by calling the same geometry functions on the same landmark triples:

* ``trunk_lean_deg``: :func:`formcheck.metrics.trunk_lean.lean_series_deg` (hip midpoint ->
  shoulder midpoint from vertical, forward positive); side/oblique views only.
* ``knee_flexion_{l,r}_deg``: :func:`formcheck.metrics.geometry.flexion_deg` of hip-knee-ankle
  (:data:`formcheck.metrics.stance.KNEE`): 180 - interior angle, 0 = straight; as
  ``knee_flexion_ic_deg`` / ``knee_flexion_midstance_deg``.  Any view (in front/back views it
  is the projected angle and means little).
* ``shank_angle_{l,r}_deg``: knee -> ankle from vertical, positive when the ankle is ahead of
  the knee, as ``shank_angle_ic_deg`` (:func:`formcheck.metrics.overstride.at_contact`:
  minus :func:`~formcheck.metrics.geometry.angle_from_vertical_deg` of knee over ankle);
  side/oblique views only.
* ``foot_incline_{l,r}_deg``: heel -> foot index above the horizontal, toe up positive
  (:func:`formcheck.metrics.geometry.incline_deg`, the raw angle of
  :mod:`formcheck.metrics.foot_strike`, before the midstance reference is subtracted);
  side/oblique views only.

Left/right are the runner's sides as the report gives them (:mod:`.source`).
"""

from __future__ import annotations

import numpy as np

from formcheck.metrics import foot_strike, overstride, stance, trunk_lean
from formcheck.metrics.geometry import angle_from_vertical_deg, flexion_deg, incline_deg

#: Column name -> unit, in file order.
COLUMNS: tuple[str, ...] = (
    "trunk_lean_deg",
    "knee_flexion_l_deg", "knee_flexion_r_deg",
    "shank_angle_l_deg", "shank_angle_r_deg",
    "foot_incline_l_deg", "foot_incline_r_deg",
)


def series_deg(xy_px: np.ndarray, sign: int, sagittal: bool) -> dict[str, np.ndarray]:
    """[N] angle series (deg) per column of :data:`COLUMNS` from [N, 33, 2] image landmarks
    (x right, y down); columns that need a side view are NaN in front/back views."""
    xy = np.asarray(xy_px, dtype=float)
    n = xy.shape[0]
    nan = np.full(n, np.nan)
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["trunk_lean_deg"] = trunk_lean.lean_series_deg(xy, sign) if sagittal else nan
        for side in ("L", "R"):
            s = side.lower()
            h, k, a = stance.KNEE[side]
            out[f"knee_flexion_{s}_deg"] = flexion_deg(xy[:, h], xy[:, k], xy[:, a])
            _, kn, an, _ = overstride.LEGJ[side]
            out[f"shank_angle_{s}_deg"] = (-angle_from_vertical_deg(xy[:, kn], xy[:, an], sign)
                                           if sagittal else nan)
            he, to = foot_strike.FOOTJ[side]
            out[f"foot_incline_{s}_deg"] = (incline_deg(xy[:, he], xy[:, to], sign)
                                            if sagittal else nan)
    return {c: np.asarray(out[c], dtype=float) for c in COLUMNS}
