"""Level stage: the camera's roll, measured from the ground line, and the landmarks turned
level for the metrics.

clean -> events -> **level** -> metrics: after the gait events (which need only image
heights relative to each step's own ground level), before any angle, so every metric reads
its angles, overstrides and vertical travel against the true vertical, not the image's.

**Roll** (``roll_deg``): the angle of the ground line in the image, in degrees, positive when
the ground descends to the image right (y down), i.e. the picture is turned clockwise: a
phone propped at a clockwise tilt of r films the level ground r deg clockwise.  Turning the
landmarks by -roll about the image centre undoes it (:func:`apply`).  Small roll changes a
segment's angle from vertical by exactly the roll, and a horizontal distance at height h
above the foot by about h x roll (rad): 3 deg moves a shank angle by 3 deg and an overstride
by 5 % of a leg length.

**The ground line** (:func:`estimate`): the stance foot's contact points lie on the ground.
From each contact (IC -> TO, side view) the heel landmark is taken over ``heel_window`` and
the foot_index (toe) landmark over ``toe_window`` fractions of the contact (the heel is down
until it lifts at about mid-stance, the forefoot from the flat foot until push-off), read at
``samples_per_window`` interpolated instants, and each window's median is one contact point.
With a static camera overground the foot stands still in the image during stance and the
successive contacts lie along the ground across the frame: one line per foot and point (the
near and the far foot may stand on lines at different image heights), with a common slope
fitted by least squares over the contacts, the points beyond ``outlier_mads`` robust SDs of
the residuals dropped (twice); its uncertainty is the cluster-robust (sandwich) standard
error with each contact as one cluster.  Measured accuracy (docs/metrics.md "Camera roll"):
within 0.03 deg of the synthetic runner's roll.

**Refused** (status ``not_measured``, no correction, the reason said): a runner who stays in
place in the image (a treadmill, given or guessed, or a camera panning with the runner): the
belt carries the foot backward at a steady speed, so within a stance its image x is linear
in time, while the foot's own rise and fall in stance (heel settle, heel lift, push-off) is
an unknown function of time: a slope of y on x cannot be told from that profile.  On the
synthetic treadmill runner the estimate followed the window choice far more than the roll
(true 0 deg: -0.9..+1.3 deg with the overground windows, -7.0..+7.8 with both windows at
20-50 % of stance), and a panning camera tilts the ground's path in the image besides (the
hand-held pace clip's feet travel along a line at -5.2 deg while its field edge is within
about 1 deg of level); ``--camera-roll DEG`` corrects for a tilted phone there.  Also
refused: a view that is not a side view (front, back: the foot does not travel across the
image; oblique: the ground is seen in perspective and its lines slope in the image even
with a level camera); fewer than ``min_contacts`` contacts; contacts spread too little along
the ground to define a direction (RMS under ``min_travel_leg`` leg lengths); an SE over
``max_se_deg``; an estimate beyond ``max_roll_deg`` (more likely a wrong view or a sloped
path than a tilted phone); or slopes that differ between consecutive parts of the clip
(``blocks``, ``block_z``, ``block_min_deg``: a camera that turns has no one roll).

The correction cannot tell a tilted phone from a sloped ground: an inclined treadmill or a
hill reads as roll (1 % grade = 0.57 deg) and the angles are then given against the
perpendicular to the ground, not gravity.  ``--camera-roll DEG`` sets the roll (0 turns the
correction off).  A runner whose path is not parallel to the image plane also makes the
ground slope in the image (perspective); the estimate then includes it.
Constants: settings.toml ``[level]``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from formcheck.config import settings
from formcheck.events import Events
from formcheck.landmarks import LEG
from formcheck.signals import CleanSeries
from formcheck.view import ViewInfo

MEASURED = "measured"
GIVEN = "given"
NOT_MEASURED = "not_measured"


@dataclass(frozen=True)
class Level:
    """The camera's roll and what was done with it.

    Attributes:
        roll_deg: the roll the metrics were corrected for (deg, + = image turned clockwise;
            0 when not measured or turned off).
        se_deg: standard error of a measured roll (deg; NaN when given or not measured).
        status: "measured", "given" (``--camera-roll DEG``) or "not_measured".
        reason: why it was not measured (empty otherwise).
        estimate_deg: the ground line's angle the estimator found, also when it refused it
            (NaN when there was none to compute).
        n_contacts: contacts behind the estimate.
        travel_leg: RMS spread of the contact points along the ground (leg lengths).
        mode: "across_contacts" (static camera overground: the contacts along the ground
            across the frame) or "" (none).
    """

    roll_deg: float
    se_deg: float
    status: str
    reason: str = ""
    estimate_deg: float = float("nan")
    n_contacts: int = 0
    travel_leg: float = float("nan")
    mode: str = ""

    @property
    def corrected(self) -> bool:
        """The metrics were computed in a turned frame (a non-zero roll was applied)."""
        return self.status in (MEASURED, GIVEN) and self.roll_deg != 0.0

    def to_dict(self) -> dict[str, object]:
        """report.json's ``camera`` section: the roll the angles were corrected for and why
        (a refused estimate gives no number)."""
        def r(x: float, nd: int) -> float | None:
            return None if not np.isfinite(x) else round(float(x), nd)

        return {"roll_deg": r(self.roll_deg, 2) if self.status != NOT_MEASURED else None,
                "se_deg": r(self.se_deg, 2) if self.status == MEASURED else None,
                "status": self.status, "reason": self.reason, "mode": self.mode or None,
                "n_contacts": int(self.n_contacts), "travel_leg": r(self.travel_leg, 3)}


def not_measured(reason: str, **kw: object) -> Level:
    """No roll: the metrics keep the image's vertical."""
    return Level(roll_deg=0.0, se_deg=float("nan"), status=NOT_MEASURED, reason=reason,
                 **kw)  # type: ignore[arg-type]


def contact_samples(clean: CleanSeries, ev: Events, heel_window: tuple[float, float],
                    toe_window: tuple[float, float], n: int
                    ) -> list[tuple[int, int, np.ndarray]]:
    """(contact index, point 0 = heel / 1 = toe, [n, 3] time s, image x, y px) of every
    contact with a toe-off: the stance foot's heel over ``heel_window`` and its foot_index over
    ``toe_window`` fractions of the contact, read at ``n`` evenly spaced instants (linear
    interpolation of the cleaned series: a short contact at 30 fps has one or two frames in a
    window); only windows whose samples are all finite."""
    t, xy = clean.t_s, clean.xy_px
    out = []
    for i, (ic, to) in enumerate(zip(ev.ic_t_s, ev.to_t_s, strict=True)):
        ic, to = float(ic), float(to)
        if not (np.isfinite(ic) and np.isfinite(to) and to > ic) or t.size < 2:
            continue
        for point, (a, b), k in ((0, heel_window, 3), (1, toe_window, 4)):
            ts = ic + (to - ic) * np.linspace(a, b, n)
            if ts[0] < t[0] or ts[-1] > t[-1]:
                continue
            j = LEG[str(ev.chain[i])][k]
            p = np.stack([ts, np.interp(ts, t, xy[:, j, 0]), np.interp(ts, t, xy[:, j, 1])],
                         axis=1)
            if np.isfinite(p).all():
                out.append((i, point, p))
    return out


def fit_slope(groups: np.ndarray, clusters: np.ndarray, x: np.ndarray, y: np.ndarray,
              outlier_mads: float) -> tuple[float, float, np.ndarray]:
    """Common slope dy/dx of the lines y = a_g + b x (one intercept per group) by least
    squares, with outliers dropped: (b, cluster-robust SE of b, mask of the samples kept).

    b = sum dx dy / sum dx^2, with each sample's values minus its group's means.  Samples whose
    residual lies beyond ``outlier_mads`` x 1.4826 MAD of the residuals are dropped and the fit
    repeated (twice).  SE: sqrt(sum over clusters of (sum dx r)^2) / sum dx^2, r = dy - b dx."""
    keep = np.ones(x.size, dtype=bool)
    b, se = float("nan"), float("nan")
    for _ in range(3):
        g, c = groups[keep], clusters[keep]
        ug, gi = np.unique(g, return_inverse=True)
        cnt = np.bincount(gi, minlength=ug.size).astype(float)

        def centred(v: np.ndarray, gi: np.ndarray = gi, m: int = ug.size,
                    cnt: np.ndarray = cnt) -> np.ndarray:
            return v - (np.bincount(gi, v, m) / cnt)[gi]

        dx, dy = centred(x[keep]), centred(y[keep])
        sxx = float((dx * dx).sum())
        if sxx == 0 or not np.isfinite(sxx):
            return float("nan"), float("nan"), keep
        b = float((dx * dy).sum()) / sxx
        res = dy - b * dx
        uc, ci = np.unique(c, return_inverse=True)
        score = np.bincount(ci, dx * res, uc.size)
        se = float(np.sqrt((score * score).sum())) / sxx
        mad = 1.4826 * float(np.median(np.abs(res - np.median(res))))
        bad = np.abs(res) > outlier_mads * max(mad, 1e-9)
        if not bad.any():
            break
        idx = np.flatnonzero(keep)
        keep = keep.copy()
        keep[idx[bad]] = False
    return b, se, keep


def drift_deg(groups: np.ndarray, clusters: np.ndarray, x: np.ndarray, y: np.ndarray,
              blocks: int, max_z: float, min_deg: float
              ) -> tuple[float, float] | None:
    """The lowest and highest slope (deg) of the clip's consecutive parts when they differ:
    the contacts cut into ``blocks`` runs of equal count, each fitted alone (no outlier
    drop); returned when some part's slope lies more than ``max_z`` of its standard error
    (with the others' mean's), and more than ``min_deg``, from the mean of the others (the
    floor: a cluster SE from a handful of contacts can be far too small).  None when they
    agree, or with too few contacts for parts of four."""
    uc = np.unique(clusters)
    k = min(blocks, uc.size // 4)
    if k < 2:
        return None
    edges = [c[0] for c in np.array_split(uc, k)][1:]
    part = np.searchsorted(np.asarray(edges), clusters, side="right")
    b, se = np.full(k, np.nan), np.full(k, np.nan)
    for j in range(k):
        m = part == j
        bj, sj, _ = fit_slope(groups[m], clusters[m], x[m], y[m], np.inf)
        b[j], se[j] = np.degrees(np.arctan(bj)), np.degrees(sj / (1 + bj * bj))
    if not (np.isfinite(b).all() and np.isfinite(se).all()):
        return None
    for j in range(k):
        o = np.arange(k) != j
        w = 1.0 / np.maximum(se[o], 1e-6) ** 2
        mean_o = float((w * b[o]).sum() / w.sum())
        lim = max(min_deg, max_z * float(np.hypot(se[j], 1.0 / np.sqrt(w.sum()))))
        if abs(b[j] - mean_o) > lim:
            return float(b.min()), float(b.max())
    return None


def estimate(clean: CleanSeries, view: ViewInfo, ev: Events) -> Level:
    """The camera's roll from the ground line (module docstring), or why it is not
    measured."""
    cfg = settings()["level"]
    if view.view != "side":
        why = ("oblique view: the ground is seen in perspective, so its lines slope in the "
               "image even with a level camera" if view.view == "oblique" else
               f"{view.view} view: the feet do not travel across the image along the ground")
        return not_measured(f"camera roll not measured ({why}); angles are read against the "
                            "image vertical")
    prefix = "camera roll not measured"
    if view.setting != "overground":
        on_belt = "setting" in view.overridden
        where = ("on a treadmill" if on_belt else
                 "the runner stays in place in the image: a treadmill, or a camera panning "
                 "with the runner, which also tilts the ground's path in the image")
        return not_measured(
            f"{prefix} ({where}: the foot's travel along the "
            f"{'belt' if on_belt else 'ground'} in stance cannot be told from its own rise "
            "and fall; give --camera-roll DEG, e.g. the deck edge's angle, to correct for a "
            "tilted phone); angles are read against the image vertical")
    samples = contact_samples(clean, ev, tuple(cfg["heel_window"]), tuple(cfg["toe_window"]),
                              int(cfg["samples_per_window"]))
    contacts = sorted({i for i, _, _ in samples})
    need = int(cfg["min_contacts"])
    if len(contacts) < need:
        return not_measured(f"{prefix} (the stance foot is seen in {len(contacts)} contacts; "
                            f"need {need}); angles are read against the image vertical",
                            n_contacts=len(contacts))
    groups, clusters, xs, ys = [], [], [], []
    for i, point, p in samples:
        # the foot stands still: one point per contact, one line per foot and point
        q = np.median(p, axis=0)
        side = 0 if str(ev.chain[i]) == "L" else 1
        groups.append(2 * side + point)
        clusters.append(i)
        xs.append(q[1])
        ys.append(q[2])
    g_a, c_a = np.asarray(groups), np.asarray(clusters)
    x_a, y_a = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    b, se_b, keep = fit_slope(g_a, c_a, x_a, y_a, float(cfg["outlier_mads"]))
    n_used = int(np.unique(c_a[keep]).size)
    # RMS spread along the ground about each line's centre, in leg lengths
    ug, gi = np.unique(g_a[keep], return_inverse=True)
    xk = x_a[keep]
    dx = xk - (np.bincount(gi, xk, ug.size) / np.bincount(gi, minlength=ug.size))[gi]
    leg = float(view.leg_length_px)
    travel = float(np.sqrt(np.mean(dx * dx))) / leg if leg > 0 and dx.size else float("nan")
    kw = dict(n_contacts=n_used, travel_leg=travel, mode="across_contacts")
    if not np.isfinite(travel) or travel < float(cfg["min_travel_leg"]):
        return not_measured(f"{prefix} (the contacts spread {travel:.2f} leg lengths along "
                            f"the ground, under {float(cfg['min_travel_leg']):.2f}: too little to "
                            "give its direction); angles are read against the image vertical",
                            **kw)
    roll = float(np.degrees(np.arctan(b)))
    se = float(np.degrees(se_b / (1.0 + b * b)))  # d(atan b) = db / (1 + b^2)
    kw["estimate_deg"] = roll
    if not np.isfinite(se) or se > float(cfg["max_se_deg"]):
        return not_measured(f"{prefix} (the contact points scatter: SE {se:.1f} deg, over "
                            f"{float(cfg['max_se_deg']):.1f}); angles are read against the "
                            "image vertical", **kw)
    spread = drift_deg(g_a[keep], c_a[keep], x_a[keep], y_a[keep],
                       int(cfg["blocks"]), float(cfg["block_z"]), float(cfg["block_min_deg"]))
    if spread is not None:
        lo, hi = spread
        return not_measured(f"{prefix} (the ground line's slope changes over the clip, from "
                            f"{lo:+.1f} to {hi:+.1f} deg between its parts: a camera that "
                            "moves or turns, not a steady roll); angles are read against the "
                            "image vertical", **kw)
    if abs(roll) > float(cfg["max_roll_deg"]):
        return not_measured(f"{prefix} (the ground line slopes {roll:+.1f} deg, more than a "
                            f"tilted phone's {float(cfg['max_roll_deg']):.0f}: a sloped path or "
                            "a wrong view more likely); angles are read against the image "
                            "vertical", **kw)
    return Level(roll_deg=roll, se_deg=se, status=MEASURED, **kw)


def given(roll_deg: float) -> Level:
    """The user's roll (``--camera-roll DEG``; 0 = no correction)."""
    return Level(roll_deg=float(roll_deg), se_deg=float("nan"), status=GIVEN,
                 reason="" if roll_deg else "camera roll correction turned off (--camera-roll 0)")


def level(clean: CleanSeries, view: ViewInfo, ev: Events, roll_deg: float | None = None
          ) -> Level:
    """The level stage's answer: the user's ``roll_deg`` if given, else :func:`estimate`."""
    return given(roll_deg) if roll_deg is not None else estimate(clean, view, ev)


def apply(clean: CleanSeries, lv: Level, centre_px: tuple[float, float]) -> CleanSeries:
    """``clean`` with every landmark turned by -roll about ``centre_px`` (the image centre):
    the ground level, the body's vertical the image's.  Unchanged when no roll applies."""
    if not lv.corrected:
        return clean
    r = np.radians(lv.roll_deg)
    c, s = np.cos(r), np.sin(r)
    cx, cy = float(centre_px[0]), float(centre_px[1])
    dx = clean.xy_px[..., 0].astype(np.float64) - cx
    dy = clean.xy_px[..., 1].astype(np.float64) - cy
    # the inverse of the camera's turn (x' = c dx - s dy, y' = s dx + c dy)
    xy = np.stack([cx + c * dx + s * dy, cy - s * dx + c * dy], axis=-1)
    return replace(clean, xy_px=xy.astype(clean.xy_px.dtype))
