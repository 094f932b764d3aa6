"""Drift within one run: each key metric per time window, its linear trend and whether the
trend is more than the noise (fatigue shows as drift).

Definitions
-----------
* Windows: the analysed span (first to last step, s) is cut into equal windows of about
  ``window_s`` (change.toml ``[drift]``, 30 s).  A clip shorter than ``min_windows`` such
  windows is cut into ``min_windows`` equal windows instead, if each is at least
  ``min_window_s`` long; otherwise no trend is given.  A window's value is the clip
  statistic of the steps whose initial contact (``ic_t_s``) falls in it (the median of the
  per-step values; cadence = 60 000 / mean step time, as in :mod:`formcheck.change.mdc`);
  windows with fewer than ``min_values`` steps are left out.
* Trend: ordinary least squares of the window values on the mean contact time of their
  steps; its ``confidence`` (95 %) interval from Student's t with (n_eff - 2) degrees of
  freedom, n_eff = windows x (1 - r1) / (1 + r1) when the residuals' lag-1 autocorrelation
  r1 is positive (the standard error scaled to match; Santer et al. 2000, J Geophys Res
  105:7337).  The windows, not the steps, are the units: step values are serially
  correlated within a window, window medians much less so, and r1 covers what is left.
* Change over the run = slope x span; for cadence and the step, stride and contact times
  also as % of the trend's value at the first step.
* Confidence band of the trend line (what the plots shade): at time t the fitted value
  +/- t_q x sqrt(SE_c^2 + SE_b^2 (t - t_c)^2), SE_c the standard error of the fit at the
  windows' mean time t_c and SE_b the slope's, both with the n_eff scaling above.
* Verdict: ``drift`` when the trend's interval excludes zero (the change is more than the
  step-to-step noise and the scatter of the windows), else ``no_drift`` ("no drift you can
  tell from this clip"); ``not_assessed`` with the reason when there are too few windows.

Between-session floors (mdc.py) do not apply: within one run the camera set-up is the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from formcheck.change import mdc
from formcheck.results import label

#: Metrics whose change is also given in % of their starting value.
RATIO_METRICS = ("cadence_spm", "step_time_ms", "stride_time_ms", "contact_time_ms")


@dataclass(frozen=True)
class Window:
    """One time window: [t0_s, t1_s), the metric's value there (NaN when too few steps),
    the steps behind it and their mean contact time (s)."""

    t0_s: float
    t1_s: float
    value: float
    n: int
    t_mid_s: float

    def to_dict(self) -> dict[str, object]:
        return {"t0_s": round(self.t0_s, 3), "t1_s": round(self.t1_s, 3),
                "value": None if not math.isfinite(self.value) else round(self.value, 4),
                "n": self.n, "t_mid_s": round(self.t_mid_s, 3)}


@dataclass(frozen=True)
class Drift:
    """The trend of one metric over one run (module docstring).

    Attributes:
        id, unit: the metric.
        windows: every window (also those left out of the fit: value NaN).
        window_s: window length (s).
        span_s: first to last step (s).
        slope_per_min: trend (unit per minute); ``slope_ci_per_min`` its interval.
        start_value: the trend's value at the first step.
        change: slope x span (unit); ``change_ci`` its interval.
        change_pct, change_pct_ci: the same in % of ``start_value`` (RATIO_METRICS only).
        verdict: ``drift`` / ``no_drift`` / ``not_assessed``.
        text: the verdict as a sentence.
        centre_t_s, se_centre: mean time (s) of the fitted windows and the standard error of
            the trend's value there; ``se_slope_per_min`` the slope's; ``t_quantile`` the
            Student-t quantile of the interval (:func:`trend_band`).
    """

    id: str
    unit: str
    windows: tuple[Window, ...]
    window_s: float
    span_s: float
    verdict: str
    text: str
    slope_per_min: float | None = None
    slope_ci_per_min: tuple[float, float] | None = None
    start_value: float | None = None
    change: float | None = None
    change_ci: tuple[float, float] | None = None
    change_pct: float | None = None
    change_pct_ci: tuple[float, float] | None = None
    centre_t_s: float | None = None
    se_centre: float | None = None
    se_slope_per_min: float | None = None
    t_quantile: float | None = None

    def to_dict(self) -> dict[str, object]:
        def r(x: Any) -> Any:
            if x is None:
                return None
            if isinstance(x, tuple):
                return [r(v) for v in x]
            return round(float(x), 4) if math.isfinite(float(x)) else None

        return {"id": self.id, "unit": self.unit, "verdict": self.verdict, "text": self.text,
                "window_s": r(self.window_s), "span_s": r(self.span_s),
                "slope_per_min": r(self.slope_per_min),
                "slope_ci_per_min": r(self.slope_ci_per_min),
                "start_value": r(self.start_value), "change": r(self.change),
                "change_ci": r(self.change_ci), "change_pct": r(self.change_pct),
                "change_pct_ci": r(self.change_pct_ci),
                "windows": [w.to_dict() for w in self.windows]}


def fmt_duration(s: float) -> str:
    """``22 s`` under two minutes, else ``10.0 min``."""
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def min_span_s(cfg: dict[str, Any] | None = None) -> float:
    """Shortest run (first to last step, s) cut into full-length windows: ``min_windows``
    windows of ``window_s`` (change.toml ``[drift]``: 4 x 30 s = 2 min).  Shorter runs get
    shorter windows (:func:`window_edges`), too short to show slow drift such as fatigue;
    report.html plots drift only from this length on."""
    cfg = cfg or mdc.config()["drift"]
    return float(cfg["min_windows"]) * float(cfg["window_s"])


def trend_band(d: Drift, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trend, lower, upper) of a drift's trend line at times ``t_s`` (s): its confidence
    band (module docstring).  Raises ValueError for a drift without a trend."""
    if d.slope_per_min is None or d.start_value is None or d.centre_t_s is None \
            or d.se_centre is None or d.se_slope_per_min is None or d.t_quantile is None:
        raise ValueError(f"{d.id}: no trend")
    t = np.asarray(t_s, float)
    t_first = d.windows[0].t0_s if d.windows else 0.0
    fit = d.start_value + d.slope_per_min * (t - t_first) / 60.0
    half = d.t_quantile * np.sqrt(d.se_centre ** 2
                                  + (d.se_slope_per_min * (t - d.centre_t_s) / 60.0) ** 2)
    return fit, fit - half, fit + half


def window_edges(t0: float, t1: float, cfg: dict[str, Any] | None = None
                 ) -> np.ndarray | None:
    """Window edges (s) over [t0, t1] (module docstring), or None when too short."""
    cfg = cfg or mdc.config()["drift"]
    span = t1 - t0
    k = max(int(cfg["min_windows"]), int(span // float(cfg["window_s"])))
    if span <= 0 or span / k < float(cfg["min_window_s"]):
        return None
    return np.linspace(t0, t1, k + 1)


def drift_of(metric_id: str, steps: dict[str, np.ndarray], unit: str = "",
             reported: float | None = None) -> Drift:
    """The trend of one metric over the run whose per-step table is ``steps``."""
    import scipy.stats

    cfg = mdc.config()["drift"]
    name = label(metric_id)
    t_all = np.asarray(steps.get("ic_t_s", np.zeros(0)), float)
    v, f, stat, scale = mdc._prepare(metric_id, steps, reported)
    # the times of the kept values (the same selection _prepare made)
    col = mdc.STATISTICS.get(metric_id, ("", ""))[0]
    order = np.argsort(t_all, kind="stable")
    t_sorted = t_all[order]
    if stat == "share":
        t = t_sorted[steps[col][order] != ""]
    elif col in steps:
        raw = np.asarray(steps[col], float)[order]
        keep = np.isfinite(raw)
        if stat == "asym":
            keep &= np.isin(steps["foot"][order], ("L", "R"))
        t = t_sorted[keep]
    else:
        t = np.zeros(0)
    if t.size < 2:
        return Drift(metric_id, unit, (), 0.0, 0.0, "not_assessed",
                     f"{name}: no trend (too few steps)")
    span = float(t[-1] - t[0])
    edges = window_edges(float(t[0]), float(t[-1]), cfg)
    if edges is None:
        return Drift(metric_id, unit, (), 0.0, span, "not_assessed",
                     f"{name}: no trend (the run is too short to cut into "
                     f"{cfg['min_windows']} windows of {cfg['min_window_s']:g} s)")
    wins = []
    for i in range(edges.size - 1):
        last = i == edges.size - 2
        m = (t >= edges[i]) & ((t <= edges[i + 1]) if last else (t < edges[i + 1]))
        n = int(m.sum())
        val = float(mdc._stat(v[m], f[m], stat, scale)) if n >= int(cfg["min_values"]) \
            else float("nan")
        wins.append(Window(float(edges[i]), float(edges[i + 1]), val, n,
                           float(t[m].mean()) if n else float("nan")))
    window_s = float(edges[1] - edges[0])
    ok = [w for w in wins if math.isfinite(w.value)]
    if len(ok) < max(3, int(cfg["min_windows"]) - 1):
        return Drift(metric_id, unit, tuple(wins), window_s, span, "not_assessed",
                     f"{name}: no trend (only {len(ok)} windows with at least "
                     f"{cfg['min_values']} steps)")
    x = np.array([w.t_mid_s for w in ok]) / 60.0
    y = np.array([w.value for w in ok])
    xm = x.mean()
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (y - y.mean())).sum() / sxx)
    icpt = float(y.mean() - slope * xm)
    resid = y - (icpt + slope * x)
    n_w = len(ok)
    # windows next to each other can share slow structure (the pose model's errors beat with
    # the frame rate, the pace wanders): with lag-1 autocorrelation r1 > 0 of the residuals,
    # n_eff = n (1 - r1) / (1 + r1) windows count (Santer et al. 2000, J Geophys Res
    # 105:7337)
    r1 = float(np.sum(resid[1:] * resid[:-1]) / np.sum(resid ** 2)) \
        if n_w > 3 and np.sum(resid ** 2) > 0 else 0.0
    n_eff = n_w * (1 - r1) / (1 + r1) if r1 > 0 else float(n_w)
    n_eff = max(3.0, min(float(n_w), n_eff))
    dof = n_eff - 2
    inflate = math.sqrt((n_w - 2) / dof)
    s2 = float((resid ** 2).sum()) / (n_w - 2)  # residual variance of the fit
    se = math.sqrt(s2 / sxx) * inflate
    se_c = math.sqrt(s2 / n_w) * inflate
    tq = float(scipy.stats.t.ppf(0.5 + float(cfg["confidence"]) / 2, dof))
    lo, hi = slope - tq * se, slope + tq * se
    span_min = span / 60.0
    start = icpt + slope * float(t[0]) / 60.0
    change, cci = slope * span_min, (lo * span_min, hi * span_min)
    pct = pci = None
    if metric_id in RATIO_METRICS and start > 0:
        pct = 100.0 * change / start
        pci = (100.0 * cci[0] / start, 100.0 * cci[1] / start)
    found = lo > 0 or hi < 0
    verdict = "drift" if found else "no_drift"
    conf = f"{100 * float(cfg['confidence']):.0f} %"
    if pct is not None:
        amount, ci = f"{abs(pct):.1f} %", f"{pci[0]:+.1f} to {pci[1]:+.1f} %"
        signed = f"{pct:+.1f} %"
    else:
        u = f" {unit}" if unit else ""
        amount, ci = f"{abs(change):.1f}{u}", f"{cci[0]:+.1f} to {cci[1]:+.1f}{u}"
        signed = f"{change:+.1f}{u}"
    over = fmt_duration(span)
    if found:
        word = "rose" if change > 0 else "fell"
        text = (f"{name} {word} {amount} over {over} ({conf} CI {ci}): more than the noise")
    else:
        text = (f"{name}: no drift you can tell from this clip ({signed} over {over}, "
                f"{conf} CI {ci})")
    return Drift(metric_id, unit, tuple(wins), window_s, span, verdict, text,
                 slope_per_min=slope, slope_ci_per_min=(lo, hi), start_value=start,
                 change=change, change_ci=cci, change_pct=pct, change_pct_ci=pci,
                 centre_t_s=60.0 * xm, se_centre=se_c, se_slope_per_min=se, t_quantile=tq)


def drift(rep: dict[str, Any], steps: dict[str, np.ndarray] | None = None,
          metric_ids: Any = None) -> dict[str, Drift]:
    """Trends of the key metrics (change.toml ``[drift] metrics``, or ``metric_ids``) that
    the report gives a number for."""
    steps = mdc.steps_from_report(rep) if steps is None else steps
    ids = list(metric_ids) if metric_ids is not None else list(mdc.config()["drift"]["metrics"])
    out: dict[str, Drift] = {}
    for mid in ids:
        m = (rep.get("metrics") or {}).get(mid)
        if not m or m.get("value") is None or m.get("status") == "not_measurable":
            continue
        out[mid] = drift_of(mid, steps, str(m.get("unit", "")), m.get("value"))
    return out


def report_section(rep: dict[str, Any]) -> dict[str, Any]:
    """What report.json should carry (for the integrator): the settings and every key
    metric's trend (:meth:`Drift.to_dict`)."""
    cfg = mdc.config()["drift"]
    return {"method": (f"windows of about {cfg['window_s']:g} s (at least {cfg['min_windows']}"
                       f"); OLS trend of the window values, {100 * cfg['confidence']:.0f} % "
                       "Student-t interval"),
            "metrics": {k: d.to_dict() for k, d in drift(rep).items()}}
