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
(MediaPipe's leg labels can flip mid-stance): IC when the foot is down and, in side views,
moves with the ground; TO when the toe is up and no longer moves with the ground
(:mod:`formcheck.events_stance` gives the definitions in full).  Steps must alternate feet
and have durations close to the clip's median; inconsistent steps are rejected, not guessed.
Which foot is left and which right comes from camera geometry where it can
(:func:`_assign_sides`), else from the landmark labels, with a per-step confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.config import settings
from formcheck.events_stance import (
    FEET,
    GROUND_PERCENTILE,
    GROUND_SPEED_SHARE,
    SUSTAIN_STEP_FRACTION,
    _refine,
    _track_stance,
)
from formcheck.landmarks import FOOT, L_ANKLE, R_ANKLE, hip_mid
from formcheck.signals import CleanSeries
from formcheck.view import ViewInfo

__all__ = ["FEET", "GROUND_PERCENTILE", "GROUND_SPEED_SHARE", "GROUND_T_MIN", "NFFT_CAP",
           "SUSTAIN_STEP_FRACTION", "Events", "detect", "restrict", "step_frequency"]



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
            held by the other leg's landmarks (found by :func:`_track_stance`), from its
            contact to its toe-off but never into the sample before the next contact;
            swapping the legs' labels there makes ``chain`` hold the stance foot for the
            whole stance.
        side_confident: [K] bool: the step's side (``foot``) rests on reliable evidence
            (camera geometry, or consistent leg labels; see :func:`_assign_sides`).
        ic_frame, to_frame: [K] int: the events at the video's own resolution, set by
            :func:`with_frames`: the first decoded frame (0-based decode order) at or after
            ``ic_t_s`` (the first frame that shows the foot on the ground) and after
            ``to_t_s`` (the first frame that shows it off); -1 where the time is unknown or
            after the last frame.  This is how events are read off video frame by frame
            (and how the hand labels in docs/validation.md are defined); the times stay
            sub-frame estimates of the instants, which contact time is computed from.
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
    ic_frame: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    to_frame: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

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



def detect(clean: CleanSeries, view: ViewInfo) -> Events:
    """Detect initial contacts and toe-offs (see module docstring)."""
    from scipy.signal import find_peaks  # here: importing scipy.signal costs ~1 s

    cfg = settings()["events"]
    xy, t, fs = clean.xy_px, clean.t_s, clean.fps
    leg = view.leg_length_px
    if clean.n < 8 or not np.isfinite(leg) or leg <= 0:
        return Events.empty(note="too few frames with a visible runner to find steps")
    hip = hip_mid(xy)
    d = view.sign
    fwd = {}
    low = {}
    for s in FEET:
        a, h, k = FOOT[s]
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
    # per stance: (IC time, first frame, whether each frame from there on is held by the other
    # leg's landmarks), merged into ``swap`` once every contact is known
    stance_held: list[tuple[float, int, np.ndarray]] = []
    # the landing foot's points over one step's window, NaN elsewhere (reset after each step)
    heel_y, toe_y, toe_x, heel_x = np.full((4, n), np.nan)
    for p, s in anchors:
        lo, hi = max(0, p - int(0.5 * period)), min(n - 1, p + int(1.6 * period))
        if sagittal:
            sel = _track_stance(xy, p, s, lo, hi)
            for leg_s in FEET:
                m = np.flatnonzero(sel == leg_s) + lo
                heel_y[m] = xy[m, FOOT[leg_s][1], 1]
                toe_y[m] = xy[m, FOOT[leg_s][2], 1]
                toe_x[m] = d * xy[m, FOOT[leg_s][2], 0]
                heel_x[m] = d * xy[m, FOOT[leg_s][1], 0]
        else:
            heel_y[lo:hi + 1] = xy[lo:hi + 1, FOOT[s][1], 1]
            toe_y[lo:hi + 1] = xy[lo:hi + 1, FOOT[s][2], 1]
        t_ic, ok_ic, i_ic, t_to, g = _refine(t, heel_y, toe_y, p, period, sagittal, tol,
                                             toe_x if sagittal else None,
                                             heel_x if sagittal else None,
                                             d * hip[:, 0] if sagittal else None)
        for buf in (heel_y, toe_y, toe_x, heel_x):
            buf[lo:hi + 1] = np.nan
        if ok_ic and sagittal:
            # frames of this stance where the foot is held by the other leg's landmarks
            i_end = int(np.searchsorted(t, t_to)) if np.isfinite(t_to) else i_ic + int(
                0.4 * period)
            a_, b_ = max(lo, min(i_ic, p)), min(hi, i_end)
            stance_held.append((t_ic, a_, sel[a_ - lo:b_ - lo + 1] != s))
        if not ok_ic:
            continue  # the foot never reached the ground near this peak: not a contact
        ic.append(t_ic)
        sig = anchor_sig if anchor_sig is not None else -low[s]
        anc.append(_peak_time(t, sig, p))
        feet.append(s)
        to.append(t_to)
        refined.append(ok_ic)
        ground.append(g)
    # A stance's frames held by the other leg's landmarks end before the next contact's
    # frames begin: the sample before the next IC is interpolated with that contact's, and
    # swapping it for the previous stance (whose toe-off can come within a frame of the next
    # contact) read the foot angle at that contact between the two feet
    # (treadmill_side_30fps.mp4: -30 deg on a rearfoot landing; docs/validation.md).
    stance_held.sort(key=lambda x: x[0])
    for k, (_t0, a_, held) in enumerate(stance_held):
        b_ = a_ + held.size
        if k + 1 < len(stance_held) and np.isfinite(stance_held[k + 1][0]):
            b_ = min(b_, max(a_, int(np.searchsorted(t, stance_held[k + 1][0])) - 1))
        swap[a_:b_] |= held[:b_ - a_]
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
                   ic_frame=ev.ic_frame[m] if ev.ic_frame.size else ev.ic_frame,
                   to_frame=ev.to_frame[m] if ev.to_frame.size else ev.to_frame,
                   n_rejected=int((~valid[1:]).sum()) if valid.size > 1 else 0)


#: Slack (s) below which an event instant counts as falling on a frame: the sub-frame times
#: come from interpolation and may sit a rounding error before the frame that shows them.
FRAME_SLACK_S = 1e-6


def first_frames(t_s: np.ndarray, frame_t_s: np.ndarray, frame_index: np.ndarray) -> np.ndarray:
    """For each instant in ``t_s`` (s), the decode index of the first frame whose time
    (``frame_t_s``, s, ascending) is at or after it; -1 for NaN or after the last frame."""
    t = np.asarray(t_s, dtype=float)
    out = np.full(t.shape, -1, dtype=np.int64)
    ok = np.isfinite(t)
    if not ok.any() or not frame_t_s.size:
        return out
    j = np.searchsorted(frame_t_s, t[ok] - FRAME_SLACK_S, side="left")
    inside = j < frame_t_s.size
    vals = np.full(j.shape, -1, dtype=np.int64)
    vals[inside] = np.asarray(frame_index)[j[inside]]
    out[ok] = vals
    return out


def with_frames(ev: Events, frame_t_s: np.ndarray, frame_index: np.ndarray) -> Events:
    """``ev`` with ``ic_frame``/``to_frame`` set from the decoded frames' times (real time,
    the pose series' ``t_s``) and decode indices."""
    from dataclasses import replace

    return replace(ev, ic_frame=first_frames(ev.ic_t_s, frame_t_s, frame_index),
                   to_frame=first_frames(ev.to_t_s, frame_t_s, frame_index))
