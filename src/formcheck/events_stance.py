"""Gait events, per step: the landing foot followed through its stance, and its contact and
toe-off found (the refinement of each rhythm anchor of :func:`formcheck.events.detect`).

Each anchor is refined on the foot that lands there, followed through its stance by continuity
(:func:`_track_stance`: MediaPipe's leg labels can flip mid-stance).  IC is when the foot is
down (its lowest point within a tolerance of that step's ground level, staying there) *and*,
in side views, moves with the ground (the heel's horizontal velocity at the stance foot's:
belt speed on a treadmill, zero overground, the scenery's with a panning camera); TO is when
the toe is up *and* no longer moves with the ground (the foot pivots about the toe tip, so
MediaPipe's toe point rises before the toe leaves).  These are the definitions the
hand-labelled real clips use (docs/validation.md).  Every duration is a share of the step
period, so the rules hold at any frame rate.
"""

from __future__ import annotations

import numpy as np

from formcheck.config import settings
from formcheck.landmarks import FOOT

#: The two feet (leg chains), by label.
FEET = ("L", "R")

#: Share of a step (real time) a foot must stay in its new state (down after a contact, up after
#: a toe-off) for the change to count: 0.15 step is ~50 ms at 170 steps/min, 2 frames at
#: 30 fps and 14 at 270 fps, so a one-frame landmark dip or flicker is not an event at any frame
#: rate.  The shortest real state is a sprinter's contact, about half a step.
SUSTAIN_STEP_FRACTION: float = settings()["events"]["sustain_step_fraction"]
#: Percentile (of image y, which grows downwards) that sets a foot point's ground level over
#: its early stance: near the lowest position, but not a single outlying sample.
GROUND_PERCENTILE: float = settings()["events"]["ground_percentile"]


def _sustained(y: np.ndarray, i: int, m: int, level: float, below: bool) -> bool:
    """True if ``y[i:i+m]`` all lie on one side of ``level`` (``below``: y >= level, i.e. at
    or under it in the image; else y < level).  Missing samples count as not holding."""
    seg = y[i:i + m]
    if seg.size == 0 or not np.isfinite(seg).all():
        return False
    return bool((seg >= level).all() if below else (seg < level).all())


def _ground_level(y: np.ndarray, a0: int, period: float) -> float:
    """Ground level of a foot point (image y, px): the :data:`GROUND_PERCENTILE` of its y over
    the half step of stance from ``a0``; NaN if it is not seen there."""
    win = y[max(0, a0): min(y.size, a0 + int(0.5 * period) + 1)]
    win = win[np.isfinite(win)]
    return float(np.percentile(win, GROUND_PERCENTILE)) if win.size else float("nan")


def _first_at_ground(t: np.ndarray, y: np.ndarray, a0: int, lo: int, hi: int, period: float,
                     tol: float) -> tuple[float, int, float]:
    """First instant in [lo, hi] at which ``y`` (a foot point's image y) comes within ``tol`` of
    its ground level (:func:`_ground_level`) and stays there for
    :data:`SUSTAIN_STEP_FRACTION` of a step.
    Returns (time, index, ground level); time is NaN if never."""
    g = _ground_level(y, a0, period)
    if not np.isfinite(g):
        return float("nan"), -1, float("nan")
    m = max(1, int(round(SUSTAIN_STEP_FRACTION * period)))
    for i in range(lo, hi + 1):
        if np.isfinite(y[i]) and y[i] >= g - tol and _sustained(y, i, m, g - tol, True):
            return _crossing(t, y, i, g - tol), i, g
    return float("nan"), -1, g


def _refine(t: np.ndarray, heel_y: np.ndarray, toe_y: np.ndarray, p: int, period: float,
            sagittal: bool, tol: float, toe_x: np.ndarray | None = None,
            heel_x: np.ndarray | None = None) -> tuple[float, bool, int, float, float]:
    """IC and TO around anchor ``p`` from the heel's and toe's image height (px, y down).

    Each point has its own ground level (:func:`_ground_level`, over the early stance that
    follows the anchor: only early stance, because with a tilted camera or perspective the
    planted foot drifts in image y as it travels back; and separately, because MediaPipe's
    heel point sits above the sole while the toe point touches the ground).  IC is the first
    instant (from 0.15 step before the anchor) at which the heel or the toe, whichever is
    first, comes within ``tol`` of its ground level and stays there
    (:data:`SUSTAIN_STEP_FRACTION`).  TO is the first instant after the toe has been planted
    at which the toe, the last part to leave, rises above its ground level minus ``tol`` and
    stays up; the toe's ground level is re-read over the late stance (the foot drifts in image
    y as it travels back).  In side views (``toe_x``/``heel_x`` given: image px in the running
    direction) these height-based instants only locate the stance: the events themselves are
    where the foot starts and stops moving with the ground (:func:`_velocity_ic`,
    :func:`_velocity_to`), as the labels of real clips define them.  Interpolated between
    samples.  Returns (t_ic, found, i_ic, t_to, ground_y).
    """
    n = heel_y.size
    a0 = p if sagittal else p + int(0.2 * period)
    reach = 0.6 if sagittal else 1.0
    lo, hi = max(1, p - int(0.15 * period)), min(n - 1, p + int(reach * period))
    cands = [_first_at_ground(t, y, a0, lo, hi, period, tol) for y in (heel_y, toe_y)]
    found = [c for c in cands if np.isfinite(c[0])]
    if not found:
        return float(t[p]), False, p, float("nan"), float("nan")
    t_ic, i_ic, _ = min(found)
    m = max(1, int(round(SUSTAIN_STEP_FRACTION * period)))
    g_toe = cands[1][2]
    t_to = float("nan")
    end = min(n, i_ic + int(1.6 * period) + 1)
    if np.isfinite(g_toe):
        # after a heel strike the toe is still coming down: wait until it is planted
        planted = next((i for i in range(i_ic, end)
                        if np.isfinite(toe_y[i]) and toe_y[i] >= g_toe - tol), None)
        if planted is not None:
            late = _ground_level(toe_y, planted, period)
            g_late = max(g_toe, late) if np.isfinite(late) else g_toe
            for i in range(planted + 1, end):
                if not np.isfinite(toe_y[i]):
                    break
                if toe_y[i] < g_late - tol and _sustained(toe_y, i, m, g_late - tol, False):
                    t_to = _crossing(t, -toe_y, i, -(g_late - tol))
                    rel = None if toe_x is None or heel_x is None else \
                        _relative_velocities(heel_x, toe_x, planted, i)
                    if rel is not None:
                        t_to = _velocity_to(t, rel[1], planted, i, period, t_to)
                        t_ic = _velocity_ic(t, rel[0], lo, planted, period, t_ic)
                    break
    ground = float(np.nanmax([c[2] for c in cands if np.isfinite(c[2])]))
    return t_ic, True, i_ic, t_to, ground


def _relative_velocities(heel_x: np.ndarray, toe_x: np.ndarray, planted: int, i_up: int
                         ) -> tuple[np.ndarray, np.ndarray] | None:
    """Horizontal velocities of the heel and the toe relative to the ground under the stance
    foot (image px per sample, + = forward); None if fewer than 3 stance velocities are known.
    The ground's velocity is the median of both points' velocities over the stance
    [planted, i_up): belt speed on a treadmill, zero overground with a static camera, the
    scenery's when the camera pans."""
    vh, vt = np.gradient(heel_x), np.gradient(toe_x)
    st = np.concatenate([vh[planted:i_up], vt[planted:i_up]])
    st = st[np.isfinite(st)]
    if st.size < 3:
        return None
    vg = float(np.median(st))
    return vh - vg, vt - vg


#: Side views: a foot moves with the ground while its forward speed relative to the ground is
#: under this share of its swing speed (settings.toml ``[events] ground_speed_share``).
GROUND_SPEED_SHARE: float = settings()["events"]["ground_speed_share"]


def _velocity_ic(t: np.ndarray, v: np.ndarray, lo: int, planted: int, period: float,
                 t_ic: float) -> float:
    """Initial contact: the instant the landing heel starts to move with the ground.

    All three labelled real clips define contact as the foot arriving *and* travelling with
    the ground (backwards with the belt, or with the scenery), and a foot on the ground moves
    with it: so the heel's forward speed relative to the ground, large in swing, falls to
    about zero at contact (foot-velocity event detection: Fellin et al. 2010; Handsaker et al.
    2016; O'Connor et al. 2007 for walking).  IC is where that relative speed, going back in
    time from the planted stance, last exceeds :data:`GROUND_SPEED_SHARE` of its swing peak
    (the preceding 0.3 step), interpolated between samples.  ``v``: the heel's velocity
    relative to the ground (:func:`_relative_velocities`).  Unlike a height band it needs no
    ground level, and the image's foot landmarks, which settle onto the ground a frame or
    two after the foot does, bias it less (synthetic runner: IC within a few ms of the true
    contact; docs/validation.md).  Falls back to ``t_ic`` (the height rule) if the velocity
    is not seen.
    """
    a = max(0, lo - int(0.3 * period))
    seg = v[a:planted + 1]
    if not np.isfinite(seg).any() or np.nanmax(seg) <= 0:
        return t_ic
    thr = GROUND_SPEED_SHARE * float(np.nanmax(seg))
    for j in range(planted, a, -1):
        if not np.isfinite(v[j - 1]):
            return t_ic
        if v[j - 1] > thr:
            return _crossing(t, -v, j, -thr)
    return t_ic


def _velocity_to(t: np.ndarray, v: np.ndarray, planted: int, i_up: int, period: float,
                 t_to: float) -> float:
    """Toe-off: the instant the toe stops moving with the ground.

    As the foot rolls off, the heel rises and the foot pivots about the toe tip, which stays
    on the ground and moves with it; MediaPipe's toe point is not exactly at the tip, so it
    rises with the pivoting foot before the toe leaves, and "toe above the ground" read
    toe-off about a frame early on every labelled clip.  A point near the pivot moves mostly
    upward while the foot rotates and keeps the ground's horizontal velocity until the toe is
    off.  TO is the first instant after mid-stance at which the toe's forward speed relative
    to the ground (``v``, :func:`_relative_velocities`) exceeds :data:`GROUND_SPEED_SHARE` of
    its following swing peak (the same rule as :func:`_velocity_ic`, mirrored).  ``i_up`` is
    where the toe rose (height rule); falls back to ``t_to`` if the velocity is not seen.
    """
    b = min(v.size, i_up + int(0.6 * period))
    seg = v[i_up:b]
    if not np.isfinite(seg).any() or np.nanmax(seg) <= 0:
        return t_to
    thr = GROUND_SPEED_SHARE * float(np.nanmax(seg))
    for j in range((planted + i_up) // 2, b):
        if not np.isfinite(v[j]):
            return t_to
        if v[j] > thr:
            return _crossing(t, v, j, thr)
    return t_to


def _track_stance(xy: np.ndarray, p: int, chain: str, lo: int, hi: int) -> np.ndarray:
    """Follow one foot through a step by continuity, whatever its landmark label.

    MediaPipe's leg labels can flip within a step, and at leg crossings it may put both feet
    on one foot; the identity repair (:func:`formcheck.signals.repair_leg_identity`) then
    sometimes hands the stance foot to the other leg's landmarks for part of the stance (seen
    on ``treadmill_side_30fps.mp4``: the stance foot's toe "rose" 5 frames early because the
    labels switched at the crossing).  From the anchor ``p``, where the foot is identified as
    the forward-most one (``chain``), each following (and preceding) frame takes whichever
    leg's heel, toe and ankle lie nearest to a constant-velocity prediction from the two
    previous frames (image px; after the anchor the height is predicted to stay put, since a
    stance foot moves with the ground and not up or down, while the swing foot passes it fast
    and high), so the prediction tells them apart even where both labels sit on one foot.

    Returns [hi - lo + 1] array of "L"/"R": the landmark leg holding that foot in each frame.
    """
    other = "R" if chain == "L" else "L"
    pts = {s: xy[:, list(FOOT[s]), :].reshape(xy.shape[0], -1) for s in FEET}
    out = np.full(hi - lo + 1, chain, dtype="<U1")

    def walk(rng: range, step: int) -> None:
        hist: list[np.ndarray] = [pts[chain][p]]
        for i in rng:
            pred = hist[-1].copy()
            if len(hist) >= 2:
                vel = np.median(np.diff(np.stack(hist[-4:]), axis=0), axis=0)
                pred[0::2] += vel[0::2]  # x: steady motion with the ground (or the swing)
                if step < 0:  # before the anchor the foot is still coming down
                    pred[1::2] += vel[1::2]
            best, best_d = None, np.inf
            for s in (chain, other):
                q = pts[s][i]
                if not np.all(np.isfinite(q)) or not np.all(np.isfinite(pred)):
                    continue
                dd = float(((q - pred) ** 2).sum())
                if dd < best_d:
                    best, best_d = s, dd
            if best is None:
                out[i - lo] = out[i - lo - step] if lo <= i - step <= hi else chain
                hist.append(hist[-1])
            else:
                out[i - lo] = best
                hist.append(pts[best][i])
            hist = hist[-5:]

    if not np.all(np.isfinite(pts[chain][p])):
        return out
    walk(range(p + 1, hi + 1), 1)
    walk(range(p - 1, lo - 1, -1), -1)
    return out


def _crossing(t: np.ndarray, y: np.ndarray, i: int, level: float) -> float:
    """Time where y crosses ``level`` between samples i-1 and i (linear interpolation)."""
    if i <= 0 or not np.isfinite(y[i - 1]) or y[i] == y[i - 1]:
        return float(t[i])
    a = (level - y[i - 1]) / (y[i] - y[i - 1])
    return float(t[i - 1] + np.clip(a, 0.0, 1.0) * (t[i] - t[i - 1]))
