"""Small geometric helpers shared by the metric modules (image coordinates, y down)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def at(t_grid: np.ndarray, y: np.ndarray, t: float) -> np.ndarray:
    """Linear interpolation of a [N, ...] series at time ``t`` (NaN outside or across NaN)."""
    if t_grid.size == 0 or not np.isfinite(t) or t < t_grid[0] or t > t_grid[-1]:
        return np.full(y.shape[1:], np.nan)
    i = int(np.searchsorted(t_grid, t))
    if i == 0:
        return y[0].astype(float)
    a = (t - t_grid[i - 1]) / (t_grid[i] - t_grid[i - 1])
    return (1 - a) * y[i - 1] + a * y[i]


def angle_from_vertical_deg(top: np.ndarray, bottom: np.ndarray, sign: int) -> np.ndarray:
    """Angle (deg) of the segment bottom->top from the upward vertical, positive when ``top``
    lies ahead (in the running direction ``sign``) of ``bottom``."""
    dx = sign * (top[..., 0] - bottom[..., 0])
    dy = bottom[..., 1] - top[..., 1]  # up is positive
    return np.degrees(np.arctan2(dx, dy))


def flexion_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Flexion at joint ``b`` (deg): 180 minus the interior angle a-b-c (0 = straight)."""
    u = a - b
    v = c - b
    cos = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def incline_deg(back: np.ndarray, front: np.ndarray, sign: int) -> np.ndarray:
    """Angle (deg) of the segment back->front above the horizontal, seen with the runner moving
    in direction ``sign``; positive when ``front`` is higher (toe up)."""
    dx = sign * (front[..., 0] - back[..., 0])
    dy = back[..., 1] - front[..., 1]
    return np.degrees(np.arctan2(dy, dx))


def stance_windows(t: np.ndarray, ic_t_s: np.ndarray, to_t_s: np.ndarray,
                   window: tuple[float, float]) -> Iterator[tuple[int, np.ndarray]]:
    """(step index, boolean mask over ``t``) for every step with a toe-off after its contact:
    the samples between ``window`` fractions of its contact (IC -> TO, s)."""
    a, b = window
    for i, (ic, to) in enumerate(zip(ic_t_s, to_t_s, strict=True)):
        ic, to = float(ic), float(to)
        if np.isfinite(ic) and np.isfinite(to) and to > ic:
            yield i, (t >= ic + a * (to - ic)) & (t <= ic + b * (to - ic))
