"""Gait events, per step: the landing foot followed through its stance, and its contact and
toe-off found (the refinement of each rhythm anchor of :func:`formcheck.events.detect`).

Each anchor is refined on the foot that lands there, followed through its stance by continuity
(:func:`_track_stance`: MediaPipe's leg labels can flip mid-stance).  IC is when the foot is
down (its lowest point within a tolerance of that step's ground level, staying there) *and*,
in side views, moves with the ground (the heel's horizontal velocity at the stance foot's:
belt speed on a treadmill, zero overground, the scenery's with a panning camera); TO is when
the toe is up *and* no longer moves with the ground; in side views, when the point about
which the foot rolls off leaves its path on the ground (:func:`_pivot_to`: MediaPipe's toe
point is not that point in a shoe, and rises before the toe leaves).  These are the
definitions the hand-labelled real clips use (docs/validation.md).  Every duration is a share
of the step period, so the rules hold at any frame rate.
"""

from __future__ import annotations

import numpy as np

from formcheck.config import settings
from formcheck.landmarks import FOOT
from formcheck.signals import finite_median

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


#: A candidate toe rise: (sample, the heel's and toe's velocities relative to the ground or
#: None, the toe-off speed threshold or None).
_Rise = tuple[int, tuple[np.ndarray, np.ndarray] | None, float | None]


def _refine(t: np.ndarray, heel_y: np.ndarray, toe_y: np.ndarray, p: int, period: float,
            sagittal: bool, tol: float, toe_x: np.ndarray | None = None,
            heel_x: np.ndarray | None = None, hip_x: np.ndarray | None = None
            ) -> tuple[float, bool, int, float, float]:
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
    :func:`_velocity_to`), as the labels of real clips define them; ``hip_x`` (the hip
    midpoint, same units) gives the runner's speed over the ground that scales the toe-off
    rule.  An apparent toe-off after which the toe is soon back on the ground, moving with
    it, is a landmark glitch at a leg crossing, not a toe-off (:func:`_recontact`), unless
    every rise in the search comes back down: then the first was the toe-off.  Interpolated
    between samples.  Returns (t_ic, found, i_ic, t_to, ground_y).
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
            # the ground's velocity is read over at least half a step of stance, so that an
            # early apparent rise (a glitch at the leg crossing) leaves enough of it
            stance_end = planted + int(0.5 * period)
            first: _Rise | None = None  # where the toe first rose (a glitch or the toe-off)
            chosen: _Rise | None = None
            for i in range(planted + 1, end):
                if not np.isfinite(toe_y[i]):
                    break
                if toe_y[i] < g_late - tol and _sustained(toe_y, i, m, g_late - tol, False):
                    rel = None if toe_x is None or heel_x is None else \
                        _relative_velocities(heel_x, toe_x, planted, max(i, stance_end))
                    thr = None if rel is None else _toe_off_threshold(
                        rel[1], hip_x, heel_x, toe_x, planted, max(i, stance_end), i, period)
                    if first is None:
                        first = (i, rel, thr)
                    if rel is not None and thr is not None and toe_x is not None and \
                            _recontact(toe_y, toe_x, rel[1], i, g_late - tol, period, thr):
                        continue
                    chosen = (i, rel, thr)
                    break
            # every rise came back down (or the toe was lost): no later toe-off to prefer, so
            # the first rise was it (walking: the toe lifts and settles in a long push-off)
            chosen = chosen or first
            if chosen is not None and first is not None:
                i, rel, thr = chosen
                t_to = _crossing(t, -toe_y, i, -(g_late - tol))
                if rel is not None:
                    t_to = _velocity_to(t, rel[1], planted, i, period, t_to, thr)
                    t_to = _pivot_to(t, heel_x, heel_y, toe_x, toe_y, planted, i,
                                     period, tol, m, t_to)
                    # the heel's ground velocity over the stance before the toe first rose
                    # (glitch or not), as the IC rule was validated
                    rel_ic = _relative_velocities(heel_x, toe_x, planted, first[0])
                    if rel_ic is not None:
                        t_ic = _velocity_ic(t, rel_ic[0], lo, planted, period, t_ic)
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
#: Side views, toe-off: share of the runner's speed over the ground that the toe's speed
#: relative to the ground must exceed (settings.toml ``[events] toe_off_runner_speed_share``).
TOE_OFF_RUNNER_SPEED_SHARE: float = settings()["events"]["toe_off_runner_speed_share"]
#: An apparent toe-off followed this soon (share of a step) by the toe back on the ground,
#: moving with it, is a landmark glitch (settings.toml ``recontact_step_fraction``).
RECONTACT_STEP_FRACTION: float = settings()["events"]["recontact_step_fraction"]


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


def _toe_off_threshold(v_toe: np.ndarray, hip_x: np.ndarray | None, heel_x: np.ndarray,
                       toe_x: np.ndarray, planted: int, st_end: int, i_up: int, period: float
                       ) -> float | None:
    """Relative toe speed (image px per sample) above which the toe has left the ground:
    :data:`TOE_OFF_RUNNER_SPEED_SHARE` of the runner's speed over the ground (the hip
    midpoint's forward velocity minus the ground's, median over the stance [planted, st_end):
    belt speed on a treadmill, running speed overground).  Without the hip, or if that speed
    is not positive, :data:`GROUND_SPEED_SHARE` of the toe's following swing peak (the older
    rule, which moved with the duty factor).  None if neither is known."""
    if hip_x is not None:
        vh, vt, vp = np.gradient(heel_x), np.gradient(toe_x), np.gradient(hip_x)
        st = np.concatenate([vh[planted:st_end], vt[planted:st_end]])
        st, hp = st[np.isfinite(st)], vp[planted:st_end]
        hp = hp[np.isfinite(hp)]
        if st.size >= 3 and hp.size >= 3:
            speed = float(np.median(hp)) - float(np.median(st))
            if speed > 0:
                return TOE_OFF_RUNNER_SPEED_SHARE * speed
    b = min(v_toe.size, i_up + int(0.6 * period))
    seg = v_toe[i_up:b]
    if not np.isfinite(seg).any() or np.nanmax(seg) <= 0:
        return None
    return GROUND_SPEED_SHARE * float(np.nanmax(seg))


def _recontact(toe_y: np.ndarray, toe_x: np.ndarray, v_toe: np.ndarray, i_up: int,
               level: float, period: float, thr: float) -> bool:
    """True if the toe that rose at ``i_up`` is back on the ground, where it was, within
    :data:`RECONTACT_STEP_FRACTION` of a step: at ground level for
    :data:`SUSTAIN_STEP_FRACTION` of a step (at least 2 samples) while its displacement
    relative to the ground since ``i_up`` stays under a quarter of a step length (the
    runner's speed over the ground, ``thr / TOE_OFF_RUNNER_SPEED_SHARE``, times the step
    period).  At leg crossings the pose model
    draws the stance toe on the swinging foot for a frame or two, or several times over one
    crossing (treadmill_side_30fps.mp4 frames 122-128 and 337-341): the followed toe "rises"
    and comes back to the same place on the ground.  A foot really in swing has moved forward
    by about two step lengths relative to the ground by the time it is that low again.
    ``v_toe``: the toe's velocity relative to the ground (:func:`_relative_velocities`)."""
    m = max(2, int(round(SUSTAIN_STEP_FRACTION * period)))
    end = min(toe_y.size, i_up + int(RECONTACT_STEP_FRACTION * period) + 1)
    vg = np.gradient(toe_x) - v_toe  # the ground's velocity (a constant where known)
    vg_k = vg[np.isfinite(vg)]
    if not vg_k.size or not np.isfinite(toe_x[i_up]):
        return False
    g = float(np.median(vg_k))
    reach = 0.25 * period * thr / TOE_OFF_RUNNER_SPEED_SHARE
    run = 0
    for j in range(i_up + 1, end):
        moved = toe_x[j] - toe_x[i_up] - g * (j - i_up)
        down = bool(np.isfinite(toe_y[j]) and toe_y[j] >= level and np.isfinite(moved)
                    and abs(moved) < reach)
        run = run + 1 if down else 0
        if run >= m:
            return True
    return False


def _velocity_to(t: np.ndarray, v: np.ndarray, planted: int, i_up: int, period: float,
                 t_to: float, thr: float | None = None) -> float:
    """Toe-off: the instant the toe stops moving with the ground.

    As the foot rolls off, the heel rises and the foot pivots about the toe tip, which stays
    on the ground and moves with it; MediaPipe's toe point is not exactly at the tip, so it
    rises with the pivoting foot before the toe leaves, and "toe above the ground" read
    toe-off about a frame early on every labelled clip.  A point near the pivot moves mostly
    upward while the foot rotates and keeps the ground's horizontal velocity until the toe is
    off (foot-velocity event detection: Fellin et al. 2010; Handsaker et al. 2016).  TO is
    the first instant at which the toe's forward speed relative to the ground (``v``,
    :func:`_relative_velocities`) exceeds ``thr`` (:func:`_toe_off_threshold`; None: not
    known, falls back to ``t_to``), searched from
    :data:`SUSTAIN_STEP_FRACTION` of a step before the toe rose (``i_up``, height rule): the
    stance toe's landmark can stall for a frame where the swinging foot passes it, which read
    a toe-off 4-5 frames early when the search began at mid-stance.  The speed must stay
    above ``thr`` for :data:`SUSTAIN_STEP_FRACTION` of a step, as every state change in this
    module (half that, one sample at 30 fps, read the sample's toe stalls as toe-offs: TO MAE
    1.05 against 0.98 frame).  Falls back to ``t_to`` if the velocity is not seen.
    """
    if thr is None:
        return t_to
    b = min(v.size, i_up + int(0.6 * period))
    m = max(1, int(round(SUSTAIN_STEP_FRACTION * period)))
    for j in range(max(planted + 1, i_up - m), b):
        if not np.isfinite(v[j]):
            return t_to
        if v[j] > thr and np.all(v[j:j + m] > thr):
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


#: Toe-off, side views: the foot's roll-off pivot is located over this share of a step before
#: the toe point rose (settings.toml ``[events] pivot_window_step_fraction``).
PIVOT_WINDOW_STEP_FRACTION: float = settings()["events"]["pivot_window_step_fraction"]
#: Where on the heel->foot_index line the pivot may lie (0 = heel, 1 = foot_index;
#: settings.toml ``[events] pivot_range``).
PIVOT_RANGE: tuple[float, float] = tuple(settings()["events"]["pivot_range"])  # type: ignore[assignment]


def _pivot_place(heel_x: np.ndarray, heel_y: np.ndarray, toe_x: np.ndarray, toe_y: np.ndarray,
                 planted: int, i_up: int, period: float) -> float:
    """Where the foot pivots as it rolls off: the instantaneous centre of rotation on the
    heel->foot_index line, as ``s`` along it (0 = heel, 1 = foot_index), or NaN.

    The ground's velocity (image px per sample) is the median velocity of the heel and the
    toe point over the stance [planted, i_up) (x) and of the toe point (y); relative to it,
    over the :data:`PIVOT_WINDOW_STEP_FRACTION` of a step up to ``i_up`` (where the toe point
    rose), the point heel + s (toe - heel) is the one whose velocity is least (least squares
    over the window's samples: s = -sum(v_heel . dv) / sum(dv . dv), dv = v_toe - v_heel).
    Kept within :data:`PIVOT_RANGE`: a foot rolls off about the toe tip or the ball of the foot,
    at or ahead of MediaPipe's foot_index, within a foot length of it."""
    vhx, vtx = np.gradient(heel_x), np.gradient(toe_x)
    vhy, vty = np.gradient(heel_y), np.gradient(toe_y)
    gx = finite_median(np.concatenate([vhx[planted:i_up], vtx[planted:i_up]]))
    gy = finite_median(vty[planted:i_up])
    if not (np.isfinite(gx) and np.isfinite(gy)) or i_up - planted < 2:
        return float("nan")
    k = max(1, int(round(PIVOT_WINDOW_STEP_FRACTION * period)))
    a, b = max(planted, i_up - k), i_up + 1
    hx, hy = vhx[a:b] - gx, vhy[a:b] - gy
    dx, dy = vtx[a:b] - vhx[a:b], vty[a:b] - vhy[a:b]
    ok = np.isfinite(hx) & np.isfinite(hy) & np.isfinite(dx) & np.isfinite(dy)
    den = float(np.sum(dx[ok] ** 2 + dy[ok] ** 2))
    if not ok.any() or den <= 0:
        return float("nan")
    sv = -float(np.sum(hx[ok] * dx[ok] + hy[ok] * dy[ok])) / den
    return float(np.clip(sv, *PIVOT_RANGE))


def _pivot_to(t: np.ndarray, heel_x: np.ndarray, heel_y: np.ndarray, toe_x: np.ndarray,
              toe_y: np.ndarray, planted: int, i_up: int, period: float, tol: float, m: int,
              t_to: float) -> float:
    """Toe-off: the instant the foot's roll-off pivot leaves its path on the ground.

    Through the stance the pivot (:func:`_pivot_place`) is on the ground, so it moves with
    the ground: along a straight line at the ground's velocity (the belt's on a treadmill,
    still overground).  Its departure from that path, as a distance in the image plane (px),
    is the same whatever the camera's roll, unlike a height: after toe-off the foot moves
    forward relative to the ground, and with a tilted camera that motion leaks into image
    height by sin(roll) (a height rule read the synthetic treadmill runner's toe-off 9 ms
    early at -3 deg and 14 ms late at +3 deg).  The path is the pivot's median velocity and
    its median position over the ``2 m`` samples (two sustain spans) up to ``t_to``, the
    velocity rule's toe-off (:func:`_velocity_to`, which reads no height and so is also
    roll-free; it is taken as the end of the stance, not as the event); toe-off is the first
    instant from ``m`` samples before it at which the pivot is more than ``tol`` from its
    path and stays so for ``m`` samples (:data:`SUSTAIN_STEP_FRACTION`), interpolated.
    MediaPipe's foot_index is not the pivot in a shoe: it sits behind the toe tip and rises
    and drifts forward while the foot still pivots on the tip, which read toe-off early or
    late depending on the footwear; the pivot is on time for both.  Falls back to ``t_to``.
    """
    sv = _pivot_place(heel_x, heel_y, toe_x, toe_y, planted, i_up, period)
    if not np.isfinite(sv) or not np.isfinite(t_to):
        return t_to
    end = min(heel_x.size, i_up + int(0.6 * period))
    i_ref = int(min(max(planted + 2, np.searchsorted(t, t_to)), end - 1))
    px, py = heel_x + sv * (toe_x - heel_x), heel_y + sv * (toe_y - heel_y)
    ux, uy = finite_median(np.gradient(px)[planted:i_ref]), \
        finite_median(np.gradient(py)[planted:i_ref])
    if not (np.isfinite(ux) and np.isfinite(uy)):
        return t_to
    idx = np.arange(px.size) - i_ref
    pxd, pyd = px - ux * idx, py - uy * idx
    ref = slice(max(planted, i_ref - 2 * m), i_ref + 1)
    cx, cy = finite_median(pxd[ref]), finite_median(pyd[ref])
    off = np.hypot(pxd - cx, pyd - cy)
    for j in range(max(planted + 1, i_ref - m), end):
        if not np.isfinite(off[j]):
            return t_to
        if off[j] > tol and _sustained(-off, j, m, -tol, False):
            return _crossing(t, off, j, tol)
    return t_to
