"""Metrics stage: per-step values and clip summaries with honest status.

Each metric module defines one quantity (definition, units, citation in its docstring); this
module assembles the per-step table and decides, for each metric, whether the clip supports a
number: ``measured``, ``low_confidence`` (with the reason) or ``not_measurable`` (with the
reason: camera view, too few steps, occlusion, frame rate).  Gates are in settings.toml.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field, replace

import numpy as np

from formcheck.config import settings
from formcheck.events import Events
from formcheck.landmarks import L_HEEL, L_TOE, R_HEEL, R_TOE
from formcheck.metrics import arm_swing, cadence, foot_strike, overstride, stance, trunk_lean
from formcheck.results import Doubt, MetricSummary, Status, apply_doubts, not_measurable
from formcheck.signals import CleanSeries
from formcheck.view import ViewInfo

UNITS = {
    "cadence_spm": "steps/min",
    "step_time_ms": "ms",
    "stride_time_ms": "ms",
    "overstride_pct_leg": "% leg length",
    "shank_angle_ic_deg": "deg",
    "knee_flexion_ic_deg": "deg",
    "foot_strike_angle_deg": "deg",
    "heel_strike_share_pct": "% of steps",
    "trunk_lean_deg": "deg",
    "arm_cross_share_pct": "% of frames",
    "arm_cross_depth_pct_shoulder": "% shoulder width",
    "contact_time_ms": "ms",
    "duty_factor_pct": "%",
    "vertical_oscillation_pct_leg": "% leg length",
    "vertical_oscillation_cm": "cm",
    "knee_flexion_midstance_deg": "deg",
    "step_time_asymmetry_pct": "%",
    "contact_time_asymmetry_pct": "%",
}

#: Per-step columns written to steps.csv, in order.
STEP_COLUMNS = (
    "step", "foot", "ic_t_s", "to_t_s", "valid", "side_confident", "step_time_ms", "stride_time_ms",
    "contact_time_ms", "duty_factor_pct", "overstride_pct_leg", "shank_angle_ic_deg",
    "knee_flexion_ic_deg", "foot_strike_angle_deg", "strike_class", "trunk_lean_deg",
    "knee_flexion_midstance_deg", "vertical_oscillation_pct_leg",
)


@dataclass(frozen=True)
class StepTable:
    """One row per detected step (IC order); arrays of equal length K, NaN where unknown.

    ``side_confident``: the step's side (``foot``) rests on evidence (events.side_confident).
    """

    foot: np.ndarray
    ic_t_s: np.ndarray
    to_t_s: np.ndarray
    valid: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    strike_class: tuple[str, ...] = ()
    side_confident: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def n(self) -> int:
        return int(self.ic_t_s.size)

    def rows(self) -> list[dict[str, object]]:
        out = []
        for i in range(self.n):
            row: dict[str, object] = {
                "step": i, "foot": str(self.foot[i]), "ic_t_s": round(float(self.ic_t_s[i]), 4),
                "to_t_s": _r(self.to_t_s[i], 4), "valid": bool(self.valid[i]),
                "strike_class": self.strike_class[i] if self.strike_class else "",
                "side_confident": bool(self.side_confident[i])
                if self.side_confident.size == self.n else False,
            }
            for k, v in self.values.items():
                row[k] = _r(v[i], 2)
            out.append({c: row.get(c, "") for c in STEP_COLUMNS})
        return out

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(STEP_COLUMNS))
            w.writeheader()
            for row in self.rows():
                w.writerow({k: ("" if v is None else v) for k, v in row.items()})


def _r(x: float, nd: int) -> float | None:
    return None if not np.isfinite(x) else round(float(x), nd)


@dataclass(frozen=True)
class Metrics:
    """Output of the metrics stage."""

    steps: StepTable
    summaries: dict[str, MetricSummary]
    warnings: tuple[str, ...]
    fps_real: float
    lean_series_deg: np.ndarray
    doubts: tuple[Doubt, ...] = ()


def _summary(id_: str, values: np.ndarray, foot: np.ndarray, t: np.ndarray,
             min_steps: int, min_per_side: int, blockers: list[str], cautions: list[str],
             sides: bool = True) -> MetricSummary:
    """Median, IQR, n and status of a per-step metric."""
    unit = UNITS[id_]
    if blockers:
        return not_measurable(id_, unit, "; ".join(blockers))
    ok = np.isfinite(values)
    n = int(ok.sum())
    if n < min_steps:
        return not_measurable(id_, unit, f"too few steps ({n}; need at least {min_steps})")
    v = values[ok]
    per_side = {}
    reasons = list(cautions)
    if sides:
        for s in ("L", "R"):
            m = ok & (foot == s)
            per_side[s] = float(np.median(values[m])) if m.any() else None
        n_min = min(int((ok & (foot == s)).sum()) for s in ("L", "R"))
        if n_min < min_per_side:
            reasons.append(f"only {n_min} steps on one side (want {min_per_side} per side)")
    q1, q3 = np.percentile(v, [25, 75])
    return MetricSummary(
        id=id_, value=float(np.median(v)), unit=unit,
        status=Status.LOW_CONFIDENCE if reasons else Status.MEASURED,
        reason="; ".join(reasons), spread=float(q3 - q1), n_steps=n, per_side=per_side,
        evidence_t_s=tuple(float(x) for x in t[ok]),
    )


def _asym(values: np.ndarray, foot: np.ndarray) -> tuple[float, int, float]:
    """Left/right asymmetry |L - R| / mean x 100 of the per-side medians, the fewer steps of
    the two sides, and the asymmetry that per-step scatter alone produces (%): twice the
    standard error of the difference of the medians (SE of a median ~ 1.2533 sigma / sqrt(n),
    sigma from 1.4826 x MAD)."""
    ok = np.isfinite(values)
    lv, rv = values[ok & (foot == "L")], values[ok & (foot == "R")]
    if lv.size == 0 or rv.size == 0:
        return float("nan"), 0, float("nan")
    a, b = float(np.median(lv)), float(np.median(rv))
    se = [1.2533 * 1.4826 * float(np.median(np.abs(v - np.median(v)))) / np.sqrt(v.size)
          for v in (lv, rv)]
    mean = (a + b) / 2
    noise = 100.0 * 2.0 * float(np.hypot(*se)) / mean
    return 100.0 * abs(a - b) / mean, int(min(lv.size, rv.size)), noise


def _drop_implausible(vals: dict[str, np.ndarray], ranges: dict[str, list[float]]
                      ) -> dict[str, int]:
    """Set per-step values outside ``ranges`` (settings.toml [plausible]: metric id ->
    [min, max]) to NaN, in place; returns how many were dropped per metric (only those with
    any)."""
    dropped = {}
    for k, (lo, hi) in ranges.items():
        v = vals.get(k)
        if v is None:
            continue
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(v) & ((v < lo) | (v > hi))
        if bad.any():
            vals[k] = np.where(bad, np.nan, v)
            dropped[k] = int(bad.sum())
    return dropped


def compute(clean: CleanSeries, view: ViewInfo, ev: Events, height_cm: float | None = None,
            detection_rate: float = 1.0, body_plausible: float = 1.0,
            extra_doubts: tuple[Doubt, ...] = ()) -> Metrics:
    """Per-step metrics and clip summaries (see module docstring).

    ``extra_doubts`` (found by earlier stages, e.g. a moving camera) and the doubts found here
    (the clip looks slowed down or sped up) turn the metrics they name into "not assessed"
    (:func:`formcheck.results.apply_doubts`)."""
    g = settings()["gates"]
    t, xy, sign, leg = clean.t_s, clean.xy_px, view.sign, view.leg_length_px
    K = ev.n
    vals: dict[str, np.ndarray] = {}
    st = cadence.step_times_s(ev)
    sr = cadence.stride_times_s(ev)
    vals["step_time_ms"] = st * 1000
    vals["stride_time_ms"] = sr * 1000
    ct = (ev.to_t_s - ev.ic_t_s) * 1000
    ct[~ev.valid] = np.nan
    vals["contact_time_ms"] = ct
    med_stride = np.nanmedian(sr) if np.isfinite(sr).any() else (
        2 * np.nanmedian(st) if np.isfinite(st).any() else np.nan)
    vals["duty_factor_pct"] = 100.0 * ct / 1000 / med_stride if np.isfinite(med_stride) \
        else np.full(K, np.nan)
    oc = overstride.at_contact(t, xy, ev.ic_t_s, ev.chain, sign, leg) if K else {}
    for k in ("overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg"):
        vals[k] = oc.get(k, np.zeros(0))
    vals["foot_strike_angle_deg"] = foot_strike.strike_angles(t, xy, ev.ic_t_s, ev.to_t_s,
                                                              ev.chain, sign)
    lean = trunk_lean.lean_series_deg(xy, sign)
    vals["trunk_lean_deg"] = trunk_lean.at_midstance(t, lean, ev.ic_t_s, ev.to_t_s)
    vals["knee_flexion_midstance_deg"] = stance.knee_flexion_stance(t, xy, ev.ic_t_s, ev.to_t_s,
                                                                    ev.chain)
    vals["vertical_oscillation_pct_leg"] = stance.vertical_oscillation(t, xy, ev.ic_t_s,
                                                                       ev.valid, leg)
    # per-step values only count for valid steps (IC found and consistent)
    for k in ("overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg",
              "foot_strike_angle_deg", "trunk_lean_deg", "knee_flexion_midstance_deg"):
        vals[k] = np.where(ev.valid, vals[k], np.nan)
    implausible = _drop_implausible(vals, settings()["plausible"])
    classes = tuple(foot_strike.classify(a) for a in vals["foot_strike_angle_deg"])
    # the steps' sides rest on evidence (events.side_confident: camera geometry or consistent
    # leg labels); an Events made without it has none
    side_ok = ev.side_confident if ev.side_confident.size == ev.n else np.zeros(ev.n, bool)
    steps = StepTable(foot=ev.foot, ic_t_s=ev.ic_t_s, to_t_s=ev.to_t_s, valid=ev.valid,
                      values=vals, strike_class=classes, side_confident=side_ok)

    # ---- gates --------------------------------------------------------------------------
    warnings: list[str] = []
    fps = clean.fps
    common: list[str] = []
    if detection_rate < g["min_detection_rate"]:
        common.append(f"runner visible in only {100 * detection_rate:.0f} % of frames")
    if body_plausible < g["min_whole_body_share"]:
        common.append("the whole body is not in view, or the runner is not upright (the "
                      "landmarks do not form an upright body in "
                      f"{100 * (1 - body_plausible):.0f} % of frames): film the runner from "
                      "head to feet while running")
    cad, n_int = cadence.cadence_spm(ev)
    side = view.view == "side"
    oblique = view.view == "oblique"
    sag_block = [] if (side or oblique) else [f"needs a side view (this is a {view.view} view)"]
    sag_caution = ["oblique view: angles are foreshortened"] if oblique else []
    if implausible and not common and not sag_block:
        # (the ranges are for sagittal angles: in other views those are not reported anyway)
        warnings.append(
            f"{sum(implausible.values())} per-step value(s) outside any running stride's "
            "range were discarded as pose errors (" + ", ".join(
                f"{k}: {n}" for k, n in implausible.items()) + ")")
    foot_vis = float(np.mean(clean.visibility[:, [L_HEEL, L_TOE, R_HEEL, R_TOE]])) \
        if clean.n else 0.0
    foot_caution = [f"feet often hidden (mean visibility {foot_vis:.2f})"] \
        if foot_vis < g["min_foot_visibility"] else []
    legs_visible = clean.n and np.isfinite(xy[:, [L_HEEL, R_HEEL], 1]).mean() > 0.5
    leg_block = [] if legs_visible else ["feet not visible in most frames"]
    walking = view.gait == "walking"
    summaries: dict[str, MetricSummary] = {}

    n_any = g["min_steps_any"]
    per_side = g["min_steps_per_side"]
    # cadence
    cad_block = list(common)
    n_contacts = n_int + 1 if n_int else 0
    if n_contacts < g["min_steps_any"]:
        cad_block.append(f"too few steps ({n_contacts} contacts; need at least "
                         f"{g['min_steps_any']})")
    if cad_block or not np.isfinite(cad):
        summaries["cadence_spm"] = not_measurable(
            "cadence_spm", UNITS["cadence_spm"], "; ".join(cad_block) or "no steps found")
    else:
        cautions = []
        if n_contacts < g["min_steps_cadence"]:
            cautions.append(f"only {n_contacts} contacts (want {g['min_steps_cadence']})")
        spec = 60.0 * ev.step_hz_spectral
        if np.isfinite(spec) and abs(spec - cad) > 0.05 * cad:
            cautions.append(f"step count ({cad:.1f}) and body rhythm ({spec:.1f} steps/min) "
                            "disagree")
        ok = np.isfinite(st)
        q1, q3 = np.percentile(60.0 / st[ok], [25, 75])
        summaries["cadence_spm"] = MetricSummary(
            id="cadence_spm", value=cad, unit=UNITS["cadence_spm"],
            status=Status.LOW_CONFIDENCE if cautions else Status.MEASURED,
            reason="; ".join(cautions), spread=float(q3 - q1), n_steps=n_int,
            per_side={s: _r(float(60.0 / np.nanmedian(st[ok & (ev.foot == s)])), 2)
                      if (ok & (ev.foot == s)).any() else None for s in ("L", "R")},
            evidence_t_s=tuple(float(x) for x in ev.ic_t_s[ok]),
            extra={"step_time_ms": _r(float(np.nanmedian(st) * 1000), 1),
                   "stride_time_ms": _r(float(np.nanmedian(sr) * 1000), 1)
                   if np.isfinite(sr).any() else None,
                   "spectral_spm": _r(spec, 2)},
        )

    # playback-speed sanity: from the step count, else from the body's rhythm
    rhythm = summaries["cadence_spm"].value
    if rhythm is None and not common and np.isfinite(ev.step_hz_spectral) \
            and ev.spectral_peak_ratio > 5:
        rhythm = 60.0 * ev.step_hz_spectral
    doubts: list[Doubt] = []
    time_based = tuple(settings()["doubts"]["time_based"])
    if rhythm is not None and not walking and rhythm < g["min_running_cadence_spm"]:
        factor = 170.0 / rhythm
        hint = slowmo_hint(factor)
        msg = (f"cadence {rhythm:.0f} steps/min is implausibly low for running: the clip looks "
               f"slowed down (about {factor:.1f}x if the real cadence is near 170). Re-run "
               f"with --slowmo {hint}.")
        warnings.append(msg)
        doubts.append(Doubt(msg, f"not assessed: the clip looks slowed down about "
                                 f"{factor:.1f}x; re-run with --slowmo {hint}", time_based,
                            "slowed_down"))
    if rhythm is not None and rhythm > g["max_running_cadence_spm"]:
        msg = (f"cadence {rhythm:.0f} steps/min is implausibly high: is the clip sped up "
               "(time-lapse)?")
        warnings.append(msg)
        factor = rhythm / 170.0
        doubts.append(Doubt(msg, f"not assessed: the clip looks sped up about {factor:.1f}x; "
                                 f"re-run with --slowmo {slowmo_hint(1.0 / factor)}",
                            time_based, "sped_up"))
    for sid in ("step_time_ms", "stride_time_ms"):
        summaries[sid] = _summary(sid, vals[sid], ev.foot, ev.ic_t_s, n_any, 0, list(common),
                                  [])
    # sagittal angles at contact
    knee_caution = ["2D knee angles carry about 8 deg error (Van Hooren et al. 2023)"]
    for sid in ("overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg"):
        summaries[sid] = _summary(
            sid, vals[sid], ev.foot, ev.ic_t_s, n_any, per_side, common + sag_block + leg_block,
            sag_caution + foot_caution + (knee_caution if sid == "knee_flexion_ic_deg" else []))
    summaries["foot_strike_angle_deg"] = _summary(
        "foot_strike_angle_deg", vals["foot_strike_angle_deg"], ev.foot, ev.ic_t_s, n_any,
        per_side, common + sag_block + leg_block, sag_caution + foot_caution)
    fs = summaries["foot_strike_angle_deg"]
    if fs.usable:
        cls = [c for c in classes if c]
        share = 100.0 * sum(c == "rearfoot" for c in cls) / len(cls)
        summaries["heel_strike_share_pct"] = MetricSummary(
            id="heel_strike_share_pct", value=share, unit=UNITS["heel_strike_share_pct"],
            status=fs.status, reason=fs.reason, n_steps=len(cls),
            evidence_t_s=tuple(float(ev.ic_t_s[i]) for i, c in enumerate(classes)
                               if c == "rearfoot"),
            extra={"pattern": foot_strike.classify(fs.value or float("nan")),
                   "counts": {k: sum(c == k for c in cls)
                              for k in ("rearfoot", "midfoot", "forefoot")}})
        summaries["foot_strike_angle_deg"] = MetricSummary(
            **{**fs.__dict__, "extra": {"pattern": foot_strike.classify(fs.value or np.nan)}})
    else:
        summaries["heel_strike_share_pct"] = not_measurable(
            "heel_strike_share_pct", UNITS["heel_strike_share_pct"], fs.reason)
    # trunk lean
    summaries["trunk_lean_deg"] = _summary(
        "trunk_lean_deg", vals["trunk_lean_deg"], ev.foot, ev.ic_t_s, n_any, 0,
        common + sag_block + (["shoulders or hips not visible"]
                              if not np.isfinite(lean).any() else []),
        sag_caution, sides=False)
    if summaries["trunk_lean_deg"].usable:
        s0 = summaries["trunk_lean_deg"]
        summaries["trunk_lean_deg"] = MetricSummary(
            **{**s0.__dict__, "extra": {"cycle_mean_deg": _r(float(np.nanmean(lean)), 2)}})
    # stance timing
    low_fps = [f"frame rate {fps:.0f} fps is under {g['min_fps_contact']:.0f}: contact timing is "
               f"only good to about +/-{1000 / fps:.0f} ms"] if fps < g["min_fps_contact"] else []
    for sid in ("contact_time_ms", "duty_factor_pct"):
        summaries[sid] = _summary(sid, vals[sid], ev.foot, ev.ic_t_s, n_any, per_side,
                                  common + leg_block, low_fps + foot_caution)
    summaries["knee_flexion_midstance_deg"] = _summary(
        "knee_flexion_midstance_deg", vals["knee_flexion_midstance_deg"], ev.foot, ev.ic_t_s,
        n_any, per_side, common + sag_block + leg_block,
        sag_caution + foot_caution + knee_caution)
    summaries["vertical_oscillation_pct_leg"] = _summary(
        "vertical_oscillation_pct_leg", vals["vertical_oscillation_pct_leg"], ev.foot,
        ev.ic_t_s, n_any, 0, list(common),
        [] if side else ["not a side view: depth changes distort vertical travel"], sides=False)
    vo = summaries["vertical_oscillation_pct_leg"]
    if height_cm and vo.usable:
        k = stance.LEG_FRACTION_OF_HEIGHT * height_cm / 100.0
        summaries["vertical_oscillation_cm"] = MetricSummary(
            **{**vo.__dict__, "id": "vertical_oscillation_cm", "unit": "cm",
               "value": float(vo.value) * k, "spread": (vo.spread or 0.0) * k})
    else:
        summaries["vertical_oscillation_cm"] = not_measurable(
            "vertical_oscillation_cm", "cm",
            vo.reason if not vo.usable else "give the runner's height with --height CM")
    # left/right: per-side values and asymmetry only where the steps' sides rest on evidence
    ident_ok = bool(side_ok[ev.valid].mean() >= 0.95) if ev.valid.any() else False
    ident_reason = "which steps are left and which right is uncertain in this clip"
    if not ident_ok:
        summaries = {k: replace(v, per_side={}) if v.per_side else v
                     for k, v in summaries.items()}
    # asymmetry
    for sid, src in (("step_time_asymmetry_pct", "step_time_ms"),
                     ("contact_time_asymmetry_pct", "contact_time_ms")):
        base = summaries[src]
        a, nmin, noise = _asym(vals[src], ev.foot)
        if not ident_ok and base.usable:
            summaries[sid] = not_measurable(sid, UNITS[sid], ident_reason)
        elif not base.usable or not np.isfinite(a) or nmin < n_any // 2:
            summaries[sid] = not_measurable(sid, UNITS[sid], base.reason or
                                            "too few steps on each side")
        else:
            reasons = [base.reason] if base.reason else []
            if nmin < per_side:
                reasons.append(f"only {nmin} steps on one side (want {per_side} per side)")
            if np.isfinite(noise) and a < noise:
                reasons.append(f"within what the step-to-step scatter alone gives "
                               f"({noise:.1f} %)")
            summaries[sid] = MetricSummary(
                id=sid, value=a, unit=UNITS[sid],
                status=Status.LOW_CONFIDENCE if reasons else Status.MEASURED,
                reason="; ".join(reasons), n_steps=nmin * 2, per_side=base.per_side,
                spread=noise if np.isfinite(noise) else None)
    # arm crossing
    cross = arm_swing.crossing_pct_shoulder(xy)
    stride_s = float(np.nanmedian(sr)) if np.isfinite(sr).any() else float("nan")
    share, depth, side_share, nfr = arm_swing.summarise(cross, t, stride_s)
    arm_block = list(common)
    if view.view not in ("front", "back"):
        arm_block.append(f"needs a front or back view (this is a {view.view} view)")
    if arm_block or nfr < fps * 2:
        reason = "; ".join(arm_block) or "wrists visible in under 2 s of the clip"
        summaries["arm_cross_share_pct"] = not_measurable(
            "arm_cross_share_pct", UNITS["arm_cross_share_pct"], reason)
        summaries["arm_cross_depth_pct_shoulder"] = not_measurable(
            "arm_cross_depth_pct_shoulder", UNITS["arm_cross_depth_pct_shoulder"], reason)
    else:
        caution = "no published threshold: a lower-confidence cue"
        summaries["arm_cross_share_pct"] = MetricSummary(
            id="arm_cross_share_pct", value=share, unit=UNITS["arm_cross_share_pct"],
            status=Status.LOW_CONFIDENCE, reason=caution, n_steps=nfr, per_side=side_share)
        summaries["arm_cross_depth_pct_shoulder"] = MetricSummary(
            id="arm_cross_depth_pct_shoulder", value=None if not np.isfinite(depth) else depth,
            unit=UNITS["arm_cross_depth_pct_shoulder"],
            status=Status.LOW_CONFIDENCE if np.isfinite(depth) else Status.NOT_MEASURABLE,
            reason=caution if np.isfinite(depth) else "stride time unknown", n_steps=nfr)
    if walking:
        warnings.append("this looks like walking, not running (the pelvis rises over the "
                        "stance foot and there is no flight phase): running-form findings are "
                        "not assessed; use --gait running to override")
    if common:
        warnings.extend(common)
    warnings.extend(ev.notes)
    for d in extra_doubts:
        if any(summaries.get(m) is not None and summaries[m].usable for m in d.metric_ids):
            warnings.append(d.message)  # said only where it withholds a number
            doubts.append(d)
    summaries = apply_doubts(summaries, doubts)
    return Metrics(steps=steps, summaries=summaries, warnings=tuple(warnings), fps_real=fps,
                   lean_series_deg=lean, doubts=tuple(doubts))


def slowmo_hint(factor: float) -> str:
    """The ``--slowmo`` value to suggest for an estimated slow-down ``factor``: whole numbers
    from 1.5x up (slow-motion modes are 2x, 4x, 8x ...; the estimate assumes a cadence near
    170, so finer digits would be false precision), else two decimals."""
    if factor >= 1.5:
        return f"{round(factor):d}"
    return f"{factor:.2f}"
