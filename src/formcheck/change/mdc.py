"""How much a metric could move by noise alone: standard error and minimal detectable change.

Definitions
-----------
* Clip value: the statistic the metrics stage reports, recomputed from the report's per-step
  table (report.json ``steps``): the median of the per-step values for the per-step metrics;
  cadence = 60 000 / mean step time (ms), i.e. 60 x steps / their summed duration, as in
  :mod:`formcheck.metrics.cadence`; heel-strike share = % of classified steps that are
  rearfoot; vertical oscillation in cm = the % leg median scaled as the report scaled it;
  left/right asymmetry = |median L - median R| / their mean x 100.
  For the heel-strike share the SE is at least the Agresti-Coull standard error of a
  proportion (Agresti & Coull 1998, Am Stat 52:119), as a clip whose steps all agree gives
  resamples that all agree.
* SE (standard error, the metric's unit): the standard deviation of that statistic over
  moving-block bootstrap resamples of the clip's steps (Kunsch 1989, Ann Stat 17:1217).
  Steps are resampled in blocks of consecutive steps (an even number, about n^(1/3), at
  least 2), not one by one: step values are serially correlated (left and right alternate,
  pace drifts), and an i.i.d. bootstrap would understate the noise.  ``n_boot`` resamples
  with a fixed seed (change.toml ``[mdc]``), so the same report always gives the same SE.
  The resamples are made of only k = ceil(n / block) blocks, so their spread understates the
  variance by (k - 1) / k; the SE is corrected by sqrt(k / (k - 1)) and carries k - 1
  degrees of freedom (``df``).
* MDC95 (minimal detectable change, 95 %): ``t95 x sqrt(2) x SE`` (Weir 2005, J Strength
  Cond Res 19:231; Haley & Fragala-Pinkham 2006, Phys Ther 86:735), with Student's t
  quantile for 2 df (the normal 1.96 when there are many steps): the smallest difference
  between this clip and another clip as noisy that step-to-step noise alone produces less
  than 5 % of the time.  Two clips with their own SEs are compared with
  ``t95 x sqrt(SE_A^2 + SE_B^2)``, df by Welch-Satterthwaite (:func:`noise_threshold`).
* Floor (change.toml ``[floors]``): what one clip cannot show, the variation between
  sessions (camera placement, treadmill or ground, day), as published for comparable 2D video
  measures, with its source.  A comparison calls a change only when it exceeds both the
  clips' own noise and the floor (:func:`change_threshold`).  Metrics without a published
  figure have no floor, and say so.

Frame-level metrics (arm crossing) have no per-step values: no SE is given for them.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: metric id -> (per-step column, statistic).  Statistics: ``median``, ``rate`` (60 000 /
#: mean of a time in ms), ``share`` (% rearfoot of the classified steps), ``asym``
#: (left/right asymmetry %), ``scaled`` (median scaled by value / median of the column).
STATISTICS: dict[str, tuple[str, str]] = {
    "cadence_spm": ("step_time_ms", "rate"),
    "step_time_ms": ("step_time_ms", "median"),
    "stride_time_ms": ("stride_time_ms", "median"),
    "overstride_pct_leg": ("overstride_pct_leg", "median"),
    "shank_angle_ic_deg": ("shank_angle_ic_deg", "median"),
    "knee_flexion_ic_deg": ("knee_flexion_ic_deg", "median"),
    "foot_strike_angle_deg": ("foot_strike_angle_deg", "median"),
    "heel_strike_share_pct": ("strike_class", "share"),
    "trunk_lean_deg": ("trunk_lean_deg", "median"),
    "contact_time_ms": ("contact_time_ms", "median"),
    "duty_factor_pct": ("duty_factor_pct", "median"),
    "vertical_oscillation_pct_leg": ("vertical_oscillation_pct_leg", "median"),
    "vertical_oscillation_cm": ("vertical_oscillation_pct_leg", "scaled"),
    "knee_flexion_midstance_deg": ("knee_flexion_midstance_deg", "median"),
    "step_time_asymmetry_pct": ("step_time_ms", "asym"),
    "contact_time_asymmetry_pct": ("contact_time_ms", "asym"),
    # the clip's step (stride) length is the median speed x the median step (stride) time
    # (metrics/step_length.py), so its per-step column's median is scaled to it
    "speed_mps": ("speed_mps", "median"),
    "step_length_m": ("step_length_m", "scaled"),
    "stride_length_m": ("stride_length_m", "scaled"),
    "vertical_ratio_pct": ("vertical_ratio_pct", "median"),
}

#: Per-step columns that are text, not numbers.
TEXT_COLUMNS = ("foot", "strike_class")


@cache
def config() -> dict[str, Any]:
    """change.toml as a nested dict."""
    text = resources.files("formcheck.change").joinpath("change.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class Floor:
    """A published between-session floor of one metric (change.toml ``[floors.<id>]``).

    Attributes:
        value: smallest between-session change that is more than measurement variation
            (the metric's unit).
        kind: what the figure measures, e.g. ``"between_day"``.
        source: citation.
        note: how the figure was turned into the floor.
    """

    value: float
    kind: str
    source: str
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "kind": self.kind, "source": self.source,
                "note": self.note}


def floors() -> dict[str, Floor]:
    """The packaged floors by metric id (metrics without a published figure are absent)."""
    return {k: Floor(value=float(v["value"]), kind=str(v["kind"]), source=str(v["source"]),
                     note=str(v.get("note", "")))
            for k, v in config().get("floors", {}).items()}


NO_FLOOR_TEXT = "no published between-session figure: only this clip's own noise is known"


@dataclass(frozen=True)
class MetricNoise:
    """Noise of one clip value.

    Attributes:
        id: metric id.
        value: the statistic recomputed from the per-step table (None without steps).
        se: standard error (metric's unit), or None with ``reason``.
        mdc95: ``t95(2 df) * sqrt(2) * se``, or None.
        n: usable steps behind the value.
        block: bootstrap block length (steps).
        df: degrees of freedom of ``se`` (blocks - 1).
        floor: the between-session floor, or None (no published figure).
        reason: why there is no SE (empty when there is one).
    """

    id: str
    value: float | None
    se: float | None
    mdc95: float | None
    n: int
    block: int = 0
    df: int = 0
    floor: Floor | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        def r(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else round(float(x), 4)

        return {"se": r(self.se), "mdc95": r(self.mdc95), "n": self.n, "block": self.block,
                "df": self.df,
                "floor": self.floor.to_dict() if self.floor else None,
                "floor_note": "" if self.floor else NO_FLOOR_TEXT, "reason": self.reason}


# ----------------------------------------------------------------------------- step table


def steps_from_report(rep: dict[str, Any]) -> dict[str, np.ndarray]:
    """report.json ``steps`` as column arrays: numbers as float (None -> NaN), ``foot`` and
    ``strike_class`` as str, ``valid`` as bool."""
    return _columns(rep.get("steps") or [])


def read_steps_csv(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """steps.csv as column arrays (as :func:`steps_from_report`)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return _columns(rows)


def _columns(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    names: list[str] = []
    for row in rows[:1]:
        names = list(row)
    out: dict[str, np.ndarray] = {}
    for k in names:
        vals = [row.get(k) for row in rows]
        if k in TEXT_COLUMNS:
            out[k] = np.array(["" if v is None else str(v) for v in vals], dtype=object)
        elif k in ("valid", "side_confident"):
            out[k] = np.array([v is True or str(v).lower() == "true" for v in vals], bool)
        else:
            out[k] = np.array([_num(v) for v in vals], float)
    return out


def _num(v: Any) -> float:
    if v is None or v == "":
        return float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


# ----------------------------------------------------------------------------- statistics


def _prepare(metric_id: str, steps: dict[str, np.ndarray], reported: float | None
             ) -> tuple[np.ndarray, np.ndarray, str, float]:
    """(values in time order, feet, statistic, scale) of the usable steps of a metric."""
    col, stat = STATISTICS[metric_id]
    if col not in steps or "ic_t_s" not in steps:
        return np.zeros(0), np.zeros(0, object), stat, 1.0
    order = np.argsort(steps["ic_t_s"], kind="stable")
    foot = steps.get("foot", np.full(order.size, "", object))[order]
    if stat == "share":
        cls = steps[col][order]
        keep = cls != ""
        return (cls[keep] == "rearfoot").astype(float), foot[keep], stat, 1.0
    v = np.asarray(steps[col], float)[order]
    keep = np.isfinite(v)
    if stat == "asym":
        keep &= (foot == "L") | (foot == "R")
    scale = 1.0
    if stat == "scaled":
        med = float(np.median(v[keep])) if keep.any() else float("nan")
        scale = float(reported) / med if reported is not None and med else float("nan")
    return v[keep], foot[keep], stat, scale


def _stat(v: np.ndarray, foot: np.ndarray, stat: str, scale: float) -> np.ndarray:
    """The statistic of each row of ``v`` ([B, n] or [n] -> [B] or scalar)."""
    v2 = np.atleast_2d(v)
    f2 = np.atleast_2d(foot)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: NaN, dropped later
        if stat == "rate":
            out = 60000.0 / np.mean(v2, axis=1)
        elif stat == "share":
            out = 100.0 * np.mean(v2, axis=1)
        elif stat == "asym":
            a = np.nanmedian(np.where(f2 == "L", v2, np.nan), axis=1)
            b = np.nanmedian(np.where(f2 == "R", v2, np.nan), axis=1)
            out = 100.0 * np.abs(a - b) / ((a + b) / 2)
        else:
            out = np.median(v2, axis=1) * scale
    return out if np.ndim(v) > 1 else out[0]


def statistic(metric_id: str, steps: dict[str, np.ndarray],
              reported: float | None = None) -> tuple[float, int]:
    """(clip value recomputed from the per-step table, steps behind it); NaN, 0 when the
    table has none.  ``reported``: the report's value (needed for ``scaled`` metrics)."""
    v, f, stat, scale = _prepare(metric_id, steps, reported)
    if v.size == 0 or (stat == "asym" and not ((f == "L").any() and (f == "R").any())):
        return float("nan"), 0
    return float(_stat(v, f, stat, scale)), int(v.size)


def block_length(n: int) -> int:
    """Bootstrap block length for ``n`` steps: an even number near n^(1/3), at least 2
    (even keeps left and right steps in their order inside a block)."""
    return max(2, 2 * math.ceil(n ** (1.0 / 3.0) / 2.0))


def block_bootstrap_indices(n: int, block: int, n_boot: int, seed: int) -> np.ndarray:
    """[n_boot, n] indices of moving-block bootstrap resamples of 0..n-1 (blocks of
    ``block`` consecutive indices starting anywhere in 0..n-block, concatenated and cut to
    n)."""
    rng = np.random.default_rng(seed)
    block = min(block, n)
    n_blocks = math.ceil(n / block)
    starts = rng.integers(0, n - block + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n_boot, -1)
    return idx[:, :n]


def standard_error(metric_id: str, steps: dict[str, np.ndarray],
                   reported: float | None = None) -> tuple[float | None, int, int, str]:
    """(SE, n steps, block length, reason) of a metric's clip value (module docstring)."""
    cfg = config()["mdc"]
    if metric_id not in STATISTICS:
        return None, 0, 0, "no per-step values (a frame-level metric): its noise is unknown"
    v, f, stat, scale = _prepare(metric_id, steps, reported)
    n = int(v.size)
    if n < int(cfg["min_steps"]):
        return None, n, 0, f"too few steps to estimate its noise ({n}; need {cfg['min_steps']})"
    if stat == "scaled" and not math.isfinite(scale):
        return None, n, 0, "no value to scale"
    b = block_length(n)
    idx = block_bootstrap_indices(n, b, int(cfg["n_boot"]), int(cfg["seed"]))
    reps = _stat(v[idx], f[idx], stat, scale)
    reps = reps[np.isfinite(reps)]
    if reps.size < 0.9 * idx.shape[0]:
        return None, n, b, "too few steps on each side to estimate its noise"
    # the resamples are made of only k = ceil(n / block) blocks: their spread understates
    # the variance by (k - 1) / k, as an i.i.d. bootstrap of k values does
    k = math.ceil(n / b)
    se = float(np.std(reps, ddof=1)) * math.sqrt(k / (k - 1))
    if stat == "share":
        # all (or no) steps rearfoot: every resample agrees, yet a few more steps could
        # differ; the Agresti-Coull standard error of the proportion is the least SE given
        z = float(cfg["z95"])
        p = (float(v.sum()) + z * z / 2) / (n + z * z)
        se = max(se, 100.0 * math.sqrt(p * (1 - p) / (n + z * z)))
    return se, n, b, ""


def dof(n: int, block: int) -> int:
    """Degrees of freedom of a clip's SE: its number of bootstrap blocks less one."""
    return max(1, math.ceil(n / max(1, block)) - 1)


def t95(df: float) -> float:
    """Two-sided ``confidence`` (change.toml, 95 %) quantile of Student's t."""
    import scipy.stats

    c = float(config()["mdc"]["confidence"])
    return float(scipy.stats.t.ppf(0.5 + c / 2, df))


def metric_noise(rep: dict[str, Any], steps: dict[str, np.ndarray] | None = None,
                 metric_ids: Any = None) -> dict[str, MetricNoise]:
    """Noise of every metric the report gives a number for (``metric_ids`` to restrict).

    ``steps`` defaults to the report's own per-step table."""
    steps = steps_from_report(rep) if steps is None else steps
    fl = floors()
    out: dict[str, MetricNoise] = {}
    for mid, m in (rep.get("metrics") or {}).items():
        if metric_ids is not None and mid not in metric_ids:
            continue
        if m.get("value") is None or m.get("status") == "not_measurable":
            continue
        se, n, b, why = standard_error(mid, steps, m.get("value"))
        val, _ = statistic(mid, steps, m.get("value")) if mid in STATISTICS else (None, 0)
        df = dof(n, b) if se is not None else 0
        out[mid] = MetricNoise(
            id=mid, value=None if val is None or not math.isfinite(val) else val, se=se,
            mdc95=None if se is None else t95(2 * df) * math.sqrt(2.0) * se, n=n, block=b,
            df=df, floor=fl.get(mid), reason=why)
    return out


def noise_threshold(se_a: float, se_b: float, df_a: float = math.inf,
                    df_b: float = math.inf) -> float:
    """Change between two clips that their own noise exceeds only 5 % of the time:
    ``t95(df) * sqrt(se_a^2 + se_b^2)``, df by Welch-Satterthwaite from the clips' own."""
    v = se_a ** 2 + se_b ** 2
    den = (se_a ** 4 / df_a if df_a > 0 else 0.0) + (se_b ** 4 / df_b if df_b > 0 else 0.0)
    df = v ** 2 / den if den > 0 else math.inf
    return t95(df) * math.sqrt(v)


def change_threshold(se_a: float, se_b: float, floor: Floor | None,
                     same_session: bool = False, df_a: float = math.inf,
                     df_b: float = math.inf) -> float:
    """Smallest change called a change: the clips' noise threshold, raised to the
    between-session floor unless the clips come from one session (same camera set-up)."""
    t = noise_threshold(se_a, se_b, df_a, df_b)
    if floor is not None and not same_session:
        t = max(t, floor.value)
    return t


def report_section(rep: dict[str, Any]) -> dict[str, Any]:
    """What report.json carries (:func:`formcheck.report.add_noise`: each metric's
    ``noise`` and ``noise_method``): per metric id its ``se``, ``mdc95``, ``n``, ``block``,
    ``df``, ``floor`` (value, kind, source, note; or None with ``floor_note``) and
    ``reason``, plus how they were computed."""
    cfg = config()["mdc"]
    return {
        "method": (f"moving-block bootstrap over the clip's steps ({cfg['n_boot']} resamples, "
                   f"seed {cfg['seed']}); MDC95 = t(95 %, 2 x df) x sqrt(2) x SE, df = "
                   "blocks - 1"),
        "metrics": {k: v.to_dict() for k, v in metric_noise(rep).items()},
    }


def load_report_folder(folder: str | os.PathLike[str]) -> tuple[dict[str, Any],
                                                                 dict[str, np.ndarray]]:
    """(report.json document, per-step columns) of a report folder; the steps come from
    report.json, else steps.csv.  Raises OSError / ValueError on an unreadable folder."""
    import json

    p = Path(folder)
    rep = json.loads((p / "report.json").read_text(encoding="utf-8"))
    if not isinstance(rep, dict) or "metrics" not in rep:
        raise ValueError("report.json is not a formcheck report")
    steps = steps_from_report(rep)
    if not steps and (p / "steps.csv").is_file():
        steps = read_steps_csv(p / "steps.csv")
    return rep, steps
