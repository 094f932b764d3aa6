"""Signal cleaning: left/right identity repair, outlier rejection, short-gap filling, resampling
to a uniform real-time grid and zero-lag low-pass filtering.  NaN-aware throughout.

Order matters (research.md): identity swaps look like outliers, so legs are re-labelled
first; then a Hampel filter rejects isolated outliers; gaps up to ``max_gap_s`` are filled by
linear interpolation while longer gaps stay missing; the series is resampled to a uniform grid
at the clip's median real frame interval (phone video is often variable-frame-rate) and
low-passed with a 4th-order Butterworth run forwards and backwards (``scipy.signal.sosfiltfilt``)
with its cutoff in real-time Hz, so slow-motion and 240 fps clips are smoothed alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from formcheck.config import settings
from formcheck.landmarks import LEG, LEG_SWAP, hip_mid
from formcheck.results import Doubt

_LEG_L = np.array(LEG["L"][1:])  # knee, ankle, heel, toe
_LEG_R = np.array(LEG["R"][1:])



def finite_median(x: np.ndarray) -> float:
    """Median of the finite values of ``x``; NaN (and no warning) if there are none."""
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")

@dataclass(frozen=True)
class CleanSeries:
    """Cleaned landmarks on a uniform real-time grid.

    Attributes:
        t_s: [N] uniform times (s, real time).
        xy_px: [N, 33, 2] cleaned, filtered landmark positions (NaN where missing; float32).
        visibility: [N, 33] visibility resampled to the grid (0 where missing; float32).
        fps: sampling rate of the grid (Hz, real time).
        leg_swapped: [N] True where the legs' labels were swapped back by the repair.
        n_swaps_repaired: number of raw frames whose leg labels were corrected.
        n_outliers: number of coordinates rejected by the Hampel filter.
        leg_jump_share: share of the raw leg landmarks' samples that jump about
            (:func:`leg_jump_share`, 0-1; NaN if not known).
    """

    t_s: np.ndarray
    xy_px: np.ndarray
    visibility: np.ndarray
    fps: float
    leg_swapped: np.ndarray
    n_swaps_repaired: int
    n_outliers: int
    leg_jump_share: float = float("nan")

    @property
    def n(self) -> int:
        return int(self.t_s.shape[0])


def repair_leg_identity(xy_px: np.ndarray) -> np.ndarray:
    """Decide, per frame, whether MediaPipe swapped the legs' left/right labels.

    A two-state (keep / swap) Viterbi over the frames where the legs were found, whose cost is
    the squared distance between each leg's knee, ankle, heel and toe (relative to the hip
    midpoint, in leg lengths) and a constant-velocity prediction from the two previous frames.
    Each leg thus follows the smoothest path; the global labelling is then chosen to agree with
    MediaPipe's raw labels in most frames.

    Args:
        xy_px: [T, 33, 2] raw landmarks.

    Returns:
        [T] bool, True where the leg labels should be swapped.
    """
    T = xy_px.shape[0]
    swap = np.zeros(T, dtype=bool)
    hip = hip_mid(xy_px)
    L = xy_px[:, _LEG_L] - hip[:, None, :]
    R = xy_px[:, _LEG_R] - hip[:, None, :]
    ok = np.isfinite(L).all(axis=(1, 2)) & np.isfinite(R).all(axis=(1, 2))
    idx = np.flatnonzero(ok)
    if idx.size < 3:
        return swap
    scale = np.nanmedian(np.linalg.norm(L[idx, 1] - L[idx, 0], axis=1)) * 2.0
    scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    A = np.stack([L[idx], R[idx]], axis=1) / scale  # [n, 2(state), 4, 2]: track-1 pos per state
    B = A[:, ::-1]  # the other track
    n = idx.size
    # state k = (s_prev, s_cur) encoded as 2*s_prev + s_cur
    cost = np.zeros(4)
    # first two frames: first-order cost only
    for sp in range(2):
        for sc in range(2):
            d = A[1, sc] - A[0, sp]
            e = B[1, sc] - B[0, sp]
            cost[2 * sp + sc] = (d * d).sum() + (e * e).sum()
    back = np.zeros((n, 4), dtype=np.int8)
    for t in range(2, n):
        new = np.full(4, np.inf)
        for sp in range(2):
            for sc in range(2):
                best, arg = np.inf, 0
                for spp in range(2):
                    prev_k = 2 * spp + sp
                    pa = 2 * A[t - 1, sp] - A[t - 2, spp]
                    pb = 2 * B[t - 1, sp] - B[t - 2, spp]
                    d = A[t, sc] - pa
                    e = B[t, sc] - pb
                    c = cost[prev_k] + (d * d).sum() + (e * e).sum()
                    if c < best:
                        best, arg = c, prev_k
                new[2 * sp + sc] = best
                back[t, 2 * sp + sc] = arg
        cost = new
    states = np.zeros(n, dtype=bool)
    k = int(np.argmin(cost))
    for t in range(n - 1, 1, -1):
        states[t] = bool(k & 1)
        k = int(back[t, k])
    states[1] = bool(k & 1)
    states[0] = bool(k >> 1)
    if states.mean() > 0.5:
        states = ~states
    swap[idx] = states
    return swap


#: Frames x window samples handled at once by :func:`hampel`, so its memory does not grow
#: with clip length (a whole 10-minute clip at once took ~330 MB; blocks take ~50 MB).
HAMPEL_BLOCK = 1 << 14


def hampel(x: np.ndarray, half_window: int, n_sigma: float) -> np.ndarray:
    """NaN-aware Hampel filter along axis 0: returns a bool mask of outliers (samples more
    than ``n_sigma`` scaled MADs from the median of a centred window of 2 x half_window + 1).
    Works in blocks of frames so memory does not grow with clip length."""
    if half_window < 1 or x.shape[0] < 2 * half_window + 1:
        return np.zeros(x.shape, dtype=bool)
    w = 2 * half_window + 1
    pad = np.pad(x, [(half_window, half_window)] + [(0, 0)] * (x.ndim - 1),
                 mode="constant", constant_values=np.nan)
    out = np.zeros(x.shape, dtype=bool)
    step = max(1, HAMPEL_BLOCK // w)
    for s in range(0, x.shape[0], step):
        e = min(x.shape[0], s + step)
        win = sliding_window_view(pad[s:e + 2 * half_window], w, axis=0)
        with np.errstate(all="ignore"), _quiet():
            med = np.nanmedian(win, axis=-1)
            mad = 1.4826 * np.nanmedian(np.abs(win - med[..., None]), axis=-1)
        with np.errstate(invalid="ignore"):
            out[s:e] = np.abs(x[s:e] - med) > n_sigma * np.maximum(mad, 1e-6)
    return out


class _quiet:
    """Silence numpy's All-NaN slice warnings inside a block."""

    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._w.__exit__(*exc)


def implausible_runs(t_s: np.ndarray, rel_px: np.ndarray, leg_px: float, max_speed_leg_s: float,
                     min_run_s: float) -> np.ndarray:
    """Samples of a landmark track that sit in a run too short to be a real movement.

    The track (``rel_px`` [T, 2], a landmark relative to the hip midpoint, image px) is cut
    wherever it moves faster than ``max_speed_leg_s`` leg lengths per second between two
    samples (real time ``t_s``): no knee or foot moves that fast relative to the pelvis (a
    sprinter's swing foot, the fastest, about ten leg lengths per second).  Runs between
    cuts that last under ``min_run_s`` are the pose model jumping between the feet or onto
    nothing.  In real time, so the rule is the same at any frame rate; at 30 fps only a
    lone sample between two such jumps counts.

    Returns [T] bool, True for the samples in such runs (missing samples are never flagged).
    """
    bad = np.zeros(rel_px.shape[0], dtype=bool)
    fin = np.flatnonzero(np.isfinite(rel_px).all(axis=1))
    if fin.size < 3 or not np.isfinite(leg_px) or leg_px <= 0:
        return bad
    t, r = t_s[fin], rel_px[fin]
    speed = np.linalg.norm(np.diff(r, axis=0), axis=1) / leg_px / np.maximum(np.diff(t), 1e-9)
    cuts = np.flatnonzero(speed > max_speed_leg_s) + 1
    edges = np.concatenate([[0], cuts, [fin.size]])
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if a == 0 or b == fin.size:
            continue  # a run at either end of the track may continue beyond it
        # a run spans half an interval beyond its first and last samples (a lone sample at
        # fps f lasts 1/f)
        span = 0.5 * (t[b] - t[a - 1]) + 0.5 * (t[b - 1] - t[a])
        if span < min_run_s:
            bad[fin[a:b]] = True
    return bad


def leg_jump_share(t_s: np.ndarray, xy_px: np.ndarray, swapped: np.ndarray | None = None
                   ) -> float:
    """Share (0-1) of the leg landmarks' samples (knee, ankle, heel, toe of both legs, after
    the identity repair, :func:`repair_leg_identity`) that :func:`implausible_runs` flags,
    with the ``[signals]`` settings ``max_speed_leg_s`` and ``min_run_s``: how often the
    model's legs jump about rather than move.  Measured: 0-0.2 % of samples on the two
    labelled 30 fps clips (up to 3 % on the other shared clips), 39 % on the slowed lab clip
    (with --slowmo 9), where for about a third of every step the swinging foot's points jump
    50-150 px between frames while the foot moves about 5 px (docs/validation.md).
    ``swapped`` [T]: the repair's result when already known.  NaN if no leg is seen."""
    cfg = settings()["signals"]
    if xy_px.shape[0] < 3:
        return float("nan")
    if swapped is None:  # a label swap is repaired, not a jump
        swapped = repair_leg_identity(xy_px)
    hip = hip_mid(xy_px).astype(np.float64)
    # each leg's knee, ankle, heel, toe (float64 copies: the caller's array is not touched)
    legs = {s: xy_px[:, c].astype(np.float64) for s, c in (("L", _LEG_L), ("R", _LEG_R))}
    if swapped.any():
        legs["L"][swapped], legs["R"][swapped] = legs["R"][swapped], legs["L"][swapped].copy()
    with np.errstate(invalid="ignore"), _quiet():
        leg = float(np.nanmedian(np.concatenate([
            np.linalg.norm(legs[s][:, 0] - xy_px[:, LEG[s][0]], axis=1)
            + np.linalg.norm(legs[s][:, 1] - legs[s][:, 0], axis=1) for s in ("L", "R")])))
    flagged = seen = 0
    for pts in legs.values():
        for k in range(pts.shape[1]):
            rel = pts[:, k] - hip
            seen += int(np.isfinite(rel).all(axis=1).sum())
            flagged += int(implausible_runs(t_s, rel, leg, cfg["max_speed_leg_s"],
                                            cfg["min_run_s"]).sum())
    return flagged / seen if seen else float("nan")


def landmark_jump_doubts(share: float) -> tuple[Doubt, ...]:
    """A doubt on the per-step events and angles (``[doubts] landmark_jumps``) when more than
    ``[gates] max_leg_jump_share`` of the raw leg landmarks jump about (``share``:
    :func:`leg_jump_share`, e.g. :attr:`CleanSeries.leg_jump_share`)."""
    limit = settings()["gates"]["max_leg_jump_share"]
    if not np.isfinite(share) or share <= limit:
        return ()
    msg = (f"the pose model's leg landmarks jump between the feet (or off them) in "
           f"{100 * share:.0f} % of samples, faster than any foot moves: steps, contacts, "
           "toe-offs and the angles read at them are unreliable in this clip")
    return (Doubt(msg, f"not assessed: the leg landmarks jump about in {100 * share:.0f} % of "
                       "samples, so the steps and their contacts are not reliably found",
                  tuple(settings()["doubts"]["landmark_jumps"]), "landmarks_jump"),)


def _interp_short_gaps(t: np.ndarray, y: np.ndarray, grid: np.ndarray, max_gap_s: float
                       ) -> np.ndarray:
    """Linear interpolation of samples ``y(t)`` onto ``grid``; grid points inside a gap longer
    than ``max_gap_s`` (or outside the data) are NaN."""
    good = np.isfinite(y)
    out = np.full(grid.shape, np.nan)
    if good.sum() < 2:
        return out
    tg, yg = t[good], y[good]
    out = np.interp(grid, tg, yg, left=np.nan, right=np.nan)
    j = np.searchsorted(tg, grid)
    j = np.clip(j, 1, tg.size - 1)
    gap = tg[j] - tg[j - 1]
    # exact hits on a sample are never in a gap
    near = np.minimum(np.abs(grid - tg[j - 1]), np.abs(grid - tg[j])) < 1e-9
    out[(gap > max_gap_s + 1e-9) & ~near] = np.nan
    return out


def lowpass(y: np.ndarray, fps: float, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-lag Butterworth low-pass along axis 0, applied to each run of finite samples
    separately (runs too short to filter are left as they are)."""
    out = y.copy()
    nyq = fps / 2.0
    if cutoff_hz >= nyq * 0.95:
        return out
    from scipy.signal import butter, sosfiltfilt  # here: importing it costs ~1 s

    sos = butter(order, cutoff_hz / nyq, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    flat = out.reshape(out.shape[0], -1)
    for c in range(flat.shape[1]):
        col = flat[:, c]
        fin = np.isfinite(col)
        if not fin.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[0], fin.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            if b - a > padlen:
                col[a:b] = sosfiltfilt(sos, col[a:b])
        flat[:, c] = col
    return flat.reshape(out.shape)


def clean(t_s: np.ndarray, xy_px: np.ndarray, visibility: np.ndarray,
          repair_identity: bool = True) -> CleanSeries:
    """Clean one runner's landmark series (see module docstring for the steps).

    Works one landmark at a time (float64 inside, float32 out), so besides its float32 output
    (~0.4 kB per grid sample) it needs memory for only a couple of single-landmark series:
    a long clip costs no more than its result.

    Args:
        t_s: [T] real times (s), strictly increasing.
        xy_px: [T, 33, 2] raw landmarks (NaN where missing).
        visibility: [T, 33].
        repair_identity: run the leg identity repair (side and oblique views).
    """
    cfg = settings()["signals"]
    T, n_lm = xy_px.shape[0], xy_px.shape[1]
    swapped = repair_leg_identity(xy_px) if repair_identity and T >= 3 else np.zeros(T, bool)
    any_swap = bool(swapped.any())
    dt = 1.0 / 30.0 if T < 2 else float(np.median(np.diff(t_s)))
    fps = 1.0 / dt
    hw = max(1, int(round(cfg["hampel_half_window_s"] * fps)))
    if T >= 2:
        grid = t_s[0] + dt * np.arange(int(np.floor((t_s[-1] - t_s[0]) / dt + 1e-6)) + 1)
    else:
        grid = np.array(t_s, dtype=np.float64)
    N = grid.size
    out = np.full((N, n_lm, 2), np.nan, dtype=np.float32)
    vis_g = np.zeros((N, n_lm), dtype=np.float32)
    n_out = 0
    for j in range(n_lm):
        xy = xy_px[:, j].astype(np.float64)
        vis = np.nan_to_num(visibility[:, j].astype(np.float64), nan=0.0)
        if any_swap and LEG_SWAP[j] != j:
            xy[swapped] = xy_px[swapped, LEG_SWAP[j]]
            vis[swapped] = np.nan_to_num(visibility[swapped, LEG_SWAP[j]], nan=0.0)
        # an outlier in x or y removes the point
        bad = hampel(xy, hw, cfg["hampel_n_sigma"]).any(axis=-1)
        n_out += int(bad.sum())
        xy[bad] = np.nan
        if T >= 2:
            col = np.stack([_interp_short_gaps(t_s, xy[:, k], grid, cfg["max_gap_s"])
                            for k in range(2)], axis=1)
            out[:, j] = lowpass(col, fps, cfg["lowpass_hz"], cfg["lowpass_order"])
            vis_g[:, j] = np.interp(grid, t_s, vis)
        else:
            out[:, j] = xy
            vis_g[:, j] = vis
    sw = (np.interp(grid, t_s, swapped.astype(float)) > 0.5) if T >= 2 else swapped.copy()
    vis_g[~np.isfinite(out[:, :, 0])] = 0.0
    jumps = leg_jump_share(t_s, xy_px, swapped) if T >= 3 else float("nan")
    return CleanSeries(t_s=grid, xy_px=out, visibility=vis_g, fps=fps, leg_swapped=sw,
                       n_swaps_repaired=int(swapped.sum()), n_outliers=n_out,
                       leg_jump_share=jumps)


def swap_legs(series: CleanSeries, mask: np.ndarray) -> CleanSeries:
    """The series with the legs' labels exchanged in the frames where ``mask`` [N] is True
    (e.g. :attr:`formcheck.events.Events.stance_swap`: stances the identity repair handed to
    the other leg's landmarks)."""
    from dataclasses import replace

    if mask.shape[0] != series.n or not mask.any():
        return series
    xy = series.xy_px.copy()
    vis = series.visibility.copy()
    xy[mask] = series.xy_px[mask][:, LEG_SWAP]
    vis[mask] = series.visibility[mask][:, LEG_SWAP]
    return replace(series, xy_px=xy, visibility=vis, leg_swapped=series.leg_swapped ^ mask)
