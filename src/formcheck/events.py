"""Gait events: initial contact (IC) and toe-off (TO) of each foot.

Definitions (research.md): IC is the first foot-ground contact of a step, TO the instant the
foot leaves the ground; a step runs from IC of one foot to IC of the other, a stride from IC to
the next IC of the same foot.

Method.  The step frequency is first found from the spectrum (0.25-4.5 Hz, a wide band so slowed
clips are not read at a harmonic) of three signals that do not depend on left/right labels:
the pelvis vertical position (one bounce per step), the unsigned horizontal distance between
the ankles and the forward-most foot relative to the hip.  Events are then anchored on that
rhythm:

* side and oblique views: the forward-most of the two feet relative to the hip midpoint peaks
  once per step, at or just before IC (on a treadmill the stance foot then moves backwards at
  belt speed; overground the hip moves past it).  Peaks closer than a fraction of the spectral
  step period are merged (refractory window in real time).
* front and back views: each foot's highest point in swing is the anchor.

Each anchor is refined on the foot that lands there, followed through its stance by continuity
(:func:`_track_stance`: MediaPipe's leg labels can flip mid-stance).  IC is when the foot is
down (its lowest point within a tolerance of that step's ground level, staying there) *and*,
in side views, moves with the ground (the heel's horizontal velocity at the stance foot's:
belt speed on a treadmill, zero overground, the scenery's with a panning camera); TO is when
the toe is up *and* no longer moves with the ground (the foot pivots about the toe tip, so
MediaPipe's toe point rises before the toe leaves).  These are the definitions the
hand-labelled real clips use (docs/validation.md).  Every duration is a share of the step
period, so the rules hold at any frame rate.  Steps must alternate feet and have durations
close to the clip's median; inconsistent steps are rejected, not guessed.  Which foot is
left and which right comes from camera geometry where it can (:func:`_assign_sides`), else
from the landmark labels, with a per-step confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.config import settings
from formcheck.landmarks import (
    L_ANKLE,
    L_HEEL,
    L_HIP,
    L_TOE,
    R_ANKLE,
    R_HEEL,
    R_HIP,
    R_TOE,
)
from formcheck.signals import CleanSeries
from formcheck.view import ViewInfo

FEET = ("L", "R")
_FOOT = {"L": (L_ANKLE, L_HEEL, L_TOE), "R": (R_ANKLE, R_HEEL, R_TOE)}


@dataclass(frozen=True)
class Events:
    """Gait events of a clip, one entry per detected step (IC order).

    Attributes:
        ic_t_s: [K] initial-contact times (s, real time).
        foot: [K] "L" or "R": the runner's side, alternating within runs of valid steps.
        chain: [K] "L" or "R": which (identity-repaired) leg's landmarks belong to the landing
            foot: the forward-most one at the anchor, whatever its label.
        label_agreement: share of steps whose landmark label agrees with ``foot``.
        to_t_s: [K] toe-off of the same foot after each IC (s); NaN if not found.
        anchor_t_s: [K] time of the rhythm anchor of each step (forward-most foot peak in side
            views, highest foot lift in front views): less noisy than IC for timing.
        ic_refined: [K] True where IC was refined from vertical foot motion.
        valid: [K] step i (from IC i-1 to IC i) has a refined IC and both its anchor interval
            and its contact interval are within ``step_time_tolerance`` of the median (valid[0]
            is about IC 0 only): per-step metrics use these steps.
        timing_valid: [K] the anchor interval of step i is within tolerance of the median:
            cadence and step times use these (anchors are label-free and less noisy than the
            refined contacts).
        step_hz_spectral: step frequency from the spectrum (Hz, real time), NaN if none.
        spectral_peak_ratio: peak power over median in-band power (rhythm clarity).
        ground_y_px: [K] ground level used for each step (image y, px).
        n_rejected: number of steps rejected by the checks.
        notes: human-readable notes on what was rejected and why.
        stance_swap: [N] bool on the clean series' grid: frames of a stance whose foot is
            held by the other leg's landmarks (found by :func:`_track_stance`); swapping the
            legs' labels there makes ``chain`` hold the stance foot for the whole stance.
        side_confident: [K] bool: the step's side (``foot``) rests on reliable evidence
            (camera geometry, or consistent leg labels; see :func:`_assign_sides`).
    """

    ic_t_s: np.ndarray
    foot: np.ndarray
    chain: np.ndarray
    label_agreement: float
    to_t_s: np.ndarray
    anchor_t_s: np.ndarray
    ic_refined: np.ndarray
    valid: np.ndarray
    timing_valid: np.ndarray
    step_hz_spectral: float
    spectral_peak_ratio: float
    ground_y_px: np.ndarray
    n_rejected: int
    notes: tuple[str, ...] = ()
    stance_swap: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    side_confident: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def n(self) -> int:
        return int(self.ic_t_s.shape[0])

    @staticmethod
    def empty(step_hz: float = float("nan"), ratio: float = 0.0, note: str = "") -> Events:
        z = np.zeros(0)
        no = np.zeros(0, dtype="<U1")
        return Events(z, no, no, 0.0, z, z, np.zeros(0, bool), np.zeros(0, bool),
                      np.zeros(0, bool),
                      step_hz, ratio, z, 0, (note,) if note else ())


#: Largest zero-padded FFT length used by :func:`step_frequency` beyond the clip's own length
#: (frequency grid: fs / 65536, i.e. 0.03 steps/min at 30 fps).
NFFT_CAP = 1 << 16


def _fill(x: np.ndarray) -> np.ndarray | None:
    """Linear-fill NaNs for spectral use; None if under 60 % of samples are finite."""
    ok = np.isfinite(x)
    if ok.mean() < 0.6 or ok.sum() < 8:
        return None
    i = np.arange(x.size)
    return np.interp(i, i[ok], x[ok])


def step_frequency(signals: list[np.ndarray], fs: float) -> tuple[float, float]:
    """Dominant step frequency (Hz) of label-free gait signals sampled at ``fs`` Hz.

    The normalised periodograms (Hann window, zero-padded) of the signals are summed and the
    highest peak inside the configured band is taken.  Returns (frequency, peak / median
    in-band power); (nan, 0) if no signal is usable.
    """
    cfg = settings()["spectrum"]
    total = None
    freqs = None
    for s in signals:
        f = _fill(s)
        if f is None:
            continue
        f = f - np.mean(f)
        # zero-padded 8x for a fine frequency grid, but no finer than 1/65536 of fs once the
        # clip itself is long (a 10-minute clip would otherwise need ~10 MB of FFT buffers)
        nfft = max(4096, min(int(2 ** np.ceil(np.log2(f.size * 8))),
                             max(NFFT_CAP, int(2 ** np.ceil(np.log2(f.size))))))
        from scipy.signal import periodogram  # here: importing scipy.signal costs ~1 s

        fr, p = periodogram(f, fs=fs, window="hann", nfft=nfft, detrend="linear")
        band = (fr >= cfg["min_hz"]) & (fr <= cfg["max_hz"])
        if not band.any() or p[band].max() <= 0:
            continue
        p = p / p[band].max()
        total = p if total is None else total + p
        freqs = fr
    if total is None or freqs is None:
        return float("nan"), 0.0
    band = (freqs >= cfg["min_hz"]) & (freqs <= cfg["max_hz"])
    fb, pb = freqs[band], total[band]
    k = int(np.argmax(pb))
    ratio = float(pb[k] / max(np.median(pb), 1e-12))
    return float(fb[k]), ratio


#: |t| of the near/far ground-level difference (Welch) above which it decides the sides.
GROUND_T_MIN: float = settings()["events"]["near_far_ground_t"]


def _welch_t(a: np.ndarray, b: np.ndarray) -> float:
    """Welch t statistic of mean(a) - mean(b) (NaN with fewer than 3 finite values each)."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 3 or b.size < 3:
        return float("nan")
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return float((a.mean() - b.mean()) / se) if se > 0 else float("nan")


def _assign_sides(chain: np.ndarray, runs_ok: np.ndarray, ground_y: np.ndarray,
                  near_side: str | None) -> tuple[np.ndarray, float, np.ndarray]:
    """Which of the runner's feet made each contact: alternation plus evidence for its phase.

    Feet alternate, so within each run of consecutive steps with a regular rhythm the sides
    follow parity; what needs evidence is the phase.  Two independent kinds are used:

    * geometry (side views, ``near_side`` given): with the camera above the ground the ground
      plane rises in the image with distance, so the foot nearer the camera lands lower in the
      image.  The run's even and odd steps' ground levels (``ground_y``, px) are compared
      with a Welch t test; when |t| >= :data:`GROUND_T_MIN` the lower group is the near foot,
      which is the runner's ``near_side`` (left when facing image-left).
    * MediaPipe's leg labels (``chain``): the phase most steps' labels agree with.  These are
      a coin toss where the model mixes up the legs, so they decide only when geometry is
      silent, and then the run counts as reliable only if >= 80 % of its labels agree.

    Returns (side per step, share of steps whose landmark label agrees with it, [K] bool:
    the step's side rests on reliable evidence).
    """
    k = chain.size
    out = chain.copy()
    conf = np.zeros(k, dtype=bool)
    agree = 0
    start = 0
    while start < k:
        end = start + 1
        while end < k and runs_ok[end]:
            end += 1
        seg = chain[start:end]
        alt = np.array(["L" if (i % 2 == 0) else "R" for i in range(end - start)])
        flip = np.where(alt == "L", "R", "L")
        a, b = int((seg == alt).sum()), int((seg == flip).sum())
        labels_pick = alt if a >= b else flip
        pick, reliable = labels_pick, max(a, b) >= 0.8 * (end - start)
        if near_side is not None:
            g = ground_y[start:end]
            tt = _welch_t(g[0::2], g[1::2])  # even minus odd steps (px, y down)
            if np.isfinite(tt) and abs(tt) >= GROUND_T_MIN:
                even_near = tt > 0  # the even steps land lower: nearer the camera
                far_side = "R" if near_side == "L" else "L"
                first = near_side if even_near else far_side
                pick = alt if first == "L" else flip
                reliable = True
        out[start:end] = pick
        conf[start:end] = reliable
        agree += int((seg == pick).sum())
        start = end
    return out, (agree / k if k else 0.0), conf


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
    pts = {s: xy[:, list(_FOOT[s]), :].reshape(xy.shape[0], -1) for s in FEET}
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


def _peak_time(t: np.ndarray, y: np.ndarray, p: int) -> float:
    """Sub-sample time of the peak of ``y`` at sample ``p`` (parabola through p-1, p, p+1)."""
    if p <= 0 or p >= y.size - 1 or not np.all(np.isfinite(y[p - 1:p + 2])):
        return float(t[p])
    a, b, c = y[p - 1], y[p], y[p + 1]
    den = a - 2 * b + c
    if den >= 0:
        return float(t[p])
    off = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return float(t[p] + off * (t[min(p + 1, t.size - 1)] - t[p - 1]) / 2)


def _crossing(t: np.ndarray, y: np.ndarray, i: int, level: float) -> float:
    """Time where y crosses ``level`` between samples i-1 and i (linear interpolation)."""
    if i <= 0 or not np.isfinite(y[i - 1]) or y[i] == y[i - 1]:
        return float(t[i])
    a = (level - y[i - 1]) / (y[i] - y[i - 1])
    return float(t[i - 1] + np.clip(a, 0.0, 1.0) * (t[i] - t[i - 1]))


def detect(clean: CleanSeries, view: ViewInfo) -> Events:
    """Detect initial contacts and toe-offs (see module docstring)."""
    from scipy.signal import find_peaks  # here: importing scipy.signal costs ~1 s

    cfg = settings()["events"]
    xy, t, fs = clean.xy_px, clean.t_s, clean.fps
    leg = view.leg_length_px
    if clean.n < 8 or not np.isfinite(leg) or leg <= 0:
        return Events.empty(note="too few frames with a visible runner to find steps")
    hip = (xy[:, L_HIP] + xy[:, R_HIP]) / 2.0
    d = view.sign
    fwd = {}
    low = {}
    for s in FEET:
        a, h, k = _FOOT[s]
        fwd[s] = d * (xy[:, a, 0] - hip[:, 0]) / leg
        low[s] = np.fmax(xy[:, h, 1], xy[:, k, 1])  # lowest point of the foot (image y down)
    with np.errstate(invalid="ignore"):
        lead = np.fmax(fwd["L"], fwd["R"])
        sep = np.abs(xy[:, L_ANKLE, 0] - xy[:, R_ANKLE, 0]) / leg
    sagittal = view.view in ("side", "oblique")
    with np.errstate(invalid="ignore"):
        lift_gap = np.abs(low["L"] - low["R"]) / leg  # one peak per step, labels irrelevant
    spec_signals = [hip[:, 1] / leg, sep, lead] if sagittal else [hip[:, 1] / leg, lift_gap]
    f0, ratio = step_frequency(spec_signals, fs)
    if not np.isfinite(f0):
        return Events.empty(note="the runner is not visible long enough to find a rhythm")
    period = fs / f0  # samples per step
    dist = max(1, int(cfg["refractory_step_fraction"] * period))
    anchors: list[tuple[int, str]] = []
    if sagittal:
        lf = np.where(np.isfinite(lead), lead, -np.inf)
        peaks, _ = find_peaks(np.nan_to_num(lf, neginf=np.nanmin(lead) if np.isfinite(
            lead).any() else 0.0), distance=dist, prominence=0.1)
        for p in peaks:
            if not np.isfinite(lead[p]):
                continue
            fl, fr = fwd["L"][p], fwd["R"][p]
            foot = "L" if (np.nan_to_num(fl, nan=-9) >= np.nan_to_num(fr, nan=-9)) else "R"
            anchors.append((int(p), foot))
        anchor_sig = lead
    else:
        for s in FEET:
            lift = -low[s] / leg
            fill = np.where(np.isfinite(lift), lift, np.nanmin(lift) if np.isfinite(
                lift).any() else 0.0)
            peaks, _ = find_peaks(fill, distance=max(1, int(1.2 * period)), prominence=0.03)
            anchors += [(int(p), s) for p in peaks if np.isfinite(lift[p])]
        anchors.sort()
        anchor_sig = None
    # a peak within 0.3 step of the edges of the visible data may be cut short: drop it
    fin = np.flatnonzero(np.isfinite(hip[:, 0]))
    edge = 0.3 * period
    anchors = [(p, s) for p, s in anchors if fin.size and fin[0] + edge <= p <= fin[-1] - edge]
    tol = cfg["ground_tolerance_leg"] * leg
    ic, anc, feet, to, refined, ground = [], [], [], [], [], []
    n = t.size
    swap = np.zeros(n, dtype=bool)
    # the landing foot's points over one step's window, NaN elsewhere (reset after each step)
    heel_y, toe_y, toe_x, heel_x = np.full((4, n), np.nan)
    for p, s in anchors:
        lo, hi = max(0, p - int(0.5 * period)), min(n - 1, p + int(1.6 * period))
        if sagittal:
            sel = _track_stance(xy, p, s, lo, hi)
            for leg_s in FEET:
                m = np.flatnonzero(sel == leg_s) + lo
                heel_y[m] = xy[m, _FOOT[leg_s][1], 1]
                toe_y[m] = xy[m, _FOOT[leg_s][2], 1]
                toe_x[m] = d * xy[m, _FOOT[leg_s][2], 0]
                heel_x[m] = d * xy[m, _FOOT[leg_s][1], 0]
        else:
            heel_y[lo:hi + 1] = xy[lo:hi + 1, _FOOT[s][1], 1]
            toe_y[lo:hi + 1] = xy[lo:hi + 1, _FOOT[s][2], 1]
        t_ic, ok_ic, i_ic, t_to, g = _refine(t, heel_y, toe_y, p, period, sagittal, tol,
                                             toe_x if sagittal else None,
                                             heel_x if sagittal else None)
        for buf in (heel_y, toe_y, toe_x, heel_x):
            buf[lo:hi + 1] = np.nan
        if ok_ic and sagittal:
            # frames of this stance where the foot is held by the other leg's landmarks
            i_end = int(np.searchsorted(t, t_to)) if np.isfinite(t_to) else i_ic + int(
                0.4 * period)
            a_, b_ = max(lo, min(i_ic, p)), min(hi, i_end)
            swap[a_:b_ + 1] |= sel[a_ - lo:b_ - lo + 1] != s
        if not ok_ic:
            continue  # the foot never reached the ground near this peak: not a contact
        ic.append(t_ic)
        sig = anchor_sig if anchor_sig is not None else -low[s]
        anc.append(_peak_time(t, sig, p))
        feet.append(s)
        to.append(t_to)
        refined.append(ok_ic)
        ground.append(g)
    if not ic:
        return Events.empty(f0, ratio, "no foot contacts found")
    order = np.argsort(ic)
    ic_a = np.asarray(ic)[order]
    anc_a = np.asarray(anc)[order]
    feet_a = np.asarray(feet)[order]
    to_a = np.asarray(to)[order]
    ref_a = np.asarray(refined)[order]
    g_a = np.asarray(ground)[order]
    # merge anchors that refined to (nearly) the same contact
    keep = np.ones(ic_a.size, bool)
    for i in range(1, ic_a.size):
        if ic_a[i] - ic_a[i - 1] < cfg["refractory_step_fraction"] / f0 * 0.5:
            keep[i] = False
    ic_a, anc_a, feet_a, to_a, ref_a, g_a = (x[keep] for x in (ic_a, anc_a, feet_a, to_a, ref_a,
                                                                g_a))
    # consistency checks: timing first (labels do not matter for it) ...
    notes = []
    tol_t = cfg["step_time_tolerance"]
    timing = np.ones(ic_a.size, dtype=bool)
    anc_t = np.diff(anc_a)
    if anc_t.size:  # step rhythm from the label-free anchors
        med = float(np.median(anc_t))
        timing[1:] = np.abs(anc_t - med) <= tol_t * med
    valid = ref_a & timing
    step_t = np.diff(ic_a)
    if step_t.size:  # contacts themselves must be evenly spaced too
        med = float(np.median(step_t))
        bad_dur = np.abs(step_t - med) > tol_t * med
        valid[1:] &= ~bad_dur
        if (~valid[1:]).any():
            notes.append(f"{int((~valid[1:]).sum())} step(s) rejected: duration far from the "
                         f"median step time ({med * 1000:.0f} ms)")
    # ... then sides: feet alternate, so within each run of consecutive valid steps the side
    # labels follow parity; camera geometry, else the raw labels, give the phase.
    chain = feet_a.copy()
    near = None
    if view.view == "side" and view.direction in ("left", "right"):
        # facing image-left the camera sees the runner's left side (and vice versa)
        near = "L" if view.direction == "left" else "R"
    foot_lab, agree, side_ok = _assign_sides(chain, timing, g_a, near)
    if sagittal and not side_ok.all():
        notes.append(f"left/right identity is uncertain for {int((~side_ok).sum())} of "
                     f"{side_ok.size} steps (the pose model's leg labels agree with "
                     f"alternation in only {100 * agree:.0f} % of steps and the camera geometry "
                     "does not tell near from far foot): per-side values are not judged")
    # a toe-off must come before the same foot's next contact
    next_same: dict[str, float] = {}  # side -> time of that side's next contact
    for i in range(ic_a.size - 1, -1, -1):
        nxt = next_same.get(str(chain[i]))
        if nxt is not None and np.isfinite(to_a[i]) and to_a[i] >= nxt:
            to_a[i] = np.nan
        next_same[str(chain[i])] = float(ic_a[i])
    return Events(ic_t_s=ic_a, foot=foot_lab, chain=chain, label_agreement=agree,
                  to_t_s=to_a, anchor_t_s=anc_a, ic_refined=ref_a, valid=valid,
                  timing_valid=timing,
                  step_hz_spectral=f0, spectral_peak_ratio=ratio, ground_y_px=g_a,
                  n_rejected=int((~valid[1:]).sum()) if valid.size > 1 else 0,
                  notes=tuple(notes), stance_swap=swap, side_confident=side_ok)


def restrict(ev: Events, start_s: float | None, end_s: float | None) -> Events:
    """The steps whose initial contact lies in [start_s, end_s] (None = open).  The first kept
    step's interval from a contact outside the window is not counted."""
    from dataclasses import replace

    m = np.ones(ev.n, dtype=bool)
    if start_s is not None:
        m &= ev.ic_t_s >= start_s
    if end_s is not None:
        m &= ev.ic_t_s <= end_s
    valid = ev.valid[m].copy()
    timing = ev.timing_valid[m].copy()
    if valid.size:
        valid[0] = bool(ev.ic_refined[m][0])
        timing[0] = True
    return replace(ev, ic_t_s=ev.ic_t_s[m], foot=ev.foot[m], chain=ev.chain[m],
                   to_t_s=ev.to_t_s[m], anchor_t_s=ev.anchor_t_s[m], ic_refined=ev.ic_refined[m],
                   valid=valid, timing_valid=timing, ground_y_px=ev.ground_y_px[m],
                   side_confident=ev.side_confident[m] if ev.side_confident.size else
                   ev.side_confident,
                   n_rejected=int((~valid[1:]).sum()) if valid.size > 1 else 0)
