"""Cross-body arm swing (front or back view).

The body midline is the vertical through the shoulder midpoint.  For each wrist, the crossing
distance is how far it lies past the midline on the *other* side of the body, as % of shoulder
width (negative when it stays on its own side).  ``arm_cross_share_pct`` is the share of frames
in which either wrist is past the midline; ``arm_cross_depth_pct_shoulder`` the median over
strides of the deepest crossing.  No published numeric threshold exists; one open tool flags
crossing in > 25 % of frames (research.md): a lower-confidence cue.  Not measurable from a
side view.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import L_SHOULDER, L_WRIST, R_SHOULDER, R_WRIST, shoulder_mid
from formcheck.metrics.registry import FRONTAL, MetricDef
from formcheck.metrics.summary import Context, gate
from formcheck.results import MetricSummary, Status, not_measurable


def crossing_pct_shoulder(xy: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame crossing distance of each wrist, % shoulder width (NaN where unknown)."""
    ls, rs = xy[:, L_SHOULDER, 0], xy[:, R_SHOULDER, 0]
    mid = shoulder_mid(xy)[:, 0]
    width = np.abs(ls - rs)
    with np.errstate(invalid="ignore", divide="ignore"):
        width = np.where(width > 1e-6, width, np.nan)
        out = {}
        for s, sh, wr in (("L", ls, xy[:, L_WRIST, 0]), ("R", rs, xy[:, R_WRIST, 0])):
            own = np.sign(sh - mid)
            out[s] = 100.0 * (-(wr - mid) * own) / width
    return out


def summarise(cross: dict[str, np.ndarray], t: np.ndarray, stride_s: float
              ) -> tuple[float, float, dict[str, float], int]:
    """(share of frames crossed %, median per-stride max depth %, share per side, n frames)."""
    both = np.vstack([cross["L"], cross["R"]])
    ok = np.isfinite(both).all(axis=0)
    n = int(ok.sum())
    if n == 0:
        return float("nan"), float("nan"), {}, 0
    crossed = (both[:, ok] > 0).any(axis=0)
    share = 100.0 * float(crossed.mean())
    per_side = {s: 100.0 * float((cross[s][ok] > 0).mean()) for s in ("L", "R")}
    depth = []
    if np.isfinite(stride_s) and stride_s > 0:
        tt = t[ok]
        mx = np.nanmax(both[:, ok], axis=0)
        edges = np.arange(tt[0], tt[-1] + stride_s, stride_s)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            m = (tt >= a) & (tt < b)
            if m.sum() >= 3:
                depth.append(float(mx[m].max()))
    return share, float(np.median(depth)) if depth else float("nan"), per_side, n


#: Told with every arm-crossing number.
CAUTION = "no published threshold: a lower-confidence cue"


def _both(ctx: Context) -> tuple[MetricSummary, MetricSummary]:
    """The share and depth summaries, made together (one pass over the frames)."""
    cross = crossing_pct_shoulder(ctx.clean.xy_px)
    sr = ctx.stride_times_s
    stride_s = float(np.nanmedian(sr)) if np.isfinite(sr).any() else float("nan")
    share, depth, side_share, nfr = summarise(cross, ctx.clean.t_s, stride_s)
    block, _ = gate(SHARE, ctx)
    if block or nfr < ctx.fps * 2:
        reason = "; ".join(block) or "wrists visible in under 2 s of the clip"
        return (not_measurable(SHARE.id, SHARE.unit, reason),
                not_measurable(DEPTH.id, DEPTH.unit, reason))
    ok = np.isfinite(depth)
    return (MetricSummary(id=SHARE.id, value=share, unit=SHARE.unit,
                          status=Status.LOW_CONFIDENCE, reason=CAUTION, n_steps=nfr,
                          per_side=side_share),
            MetricSummary(id=DEPTH.id, value=depth if ok else None, unit=DEPTH.unit,
                          status=Status.LOW_CONFIDENCE if ok else Status.NOT_MEASURABLE,
                          reason=CAUTION if ok else "stride time unknown", n_steps=nfr))


def summarize_share(ctx: Context) -> MetricSummary:
    """Share of frames with a wrist past the midline (always low confidence)."""
    return _both(ctx)[0]


def summarize_depth(ctx: Context) -> MetricSummary:
    """Median over strides of the deepest crossing (always low confidence)."""
    return _both(ctx)[1]


SHARE = MetricDef("arm_cross_share_pct", "Arm crosses midline", "% of frames", "arms",
                  views=FRONTAL, basis="frames", groups=("key",), summarize=summarize_share)
DEPTH = MetricDef("arm_cross_depth_pct_shoulder", "Arm crossing depth", "% shoulder width",
                  "arms", views=FRONTAL, basis="frames", summarize=summarize_depth)
METRICS = (SHARE, DEPTH)
