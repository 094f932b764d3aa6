"""Running speed (side view, static camera), in m/s.

``speed_mps``, per step, by the setting (:mod:`formcheck.view`, ``--setting``):

* **treadmill** (the camera stands still beside it): the belt's speed, i.e. the stance foot's
  backward image velocity while it is flat on the belt (heel, ankle and toe landmarks, the
  samples between ``[speed] belt_window`` fractions of the contact, 20-70 %, pooled, median),
  over the image scale.  OpenCap reads belt speed the same way (mean ankle velocity over 10-70 % of
  stance, research.md).  On a treadmill the runner's speed over the belt *is* the belt's.
* **overground** (static camera, the runner crosses the frame): the hip midpoint's horizontal
  travel from the step's first contact to its last, over the time between them.  The stance
  foot must then stand still in the image: when it moves at more than
  ``max_ground_motion_share`` of the hip's speed the camera pans (or the contacts are
  wrong), and nothing is given; nor when the hips travel backwards in more than that share
  of the steps (the runner turns round).
* **pan** (``--setting pan``: the camera turns or travels to follow the runner): not
  measurable.  The image then moves with the camera, whose motion the landmarks do not
  give, and the scale changes with the runner's distance.
* A *guessed* treadmill is not enough: from the runner's landmarks a treadmill, running in
  place and a camera following the runner look alike (:mod:`formcheck.view`), and with a
  following camera the stance foot's backward speed is the camera's, not a belt's.  Speed is
  given on a treadmill only when ``--setting treadmill`` says the camera stood still.

The speed in m/s needs the image scale (:mod:`formcheck.metrics.scale`: ``--scale`` or
``--height``); its summary carries the scale's relative uncertainty in ``extra``.  Speed, step
length and stride length rest on the clip's time base, so a clip that looks slowed down or
sped up withholds them (settings.toml ``[doubts] time_based``).  Definition of speed as the
running-dynamics ``speed`` field of a FIT ``record`` (m/s): Garmin FIT SDK, Profile.xlsx.
"""

from __future__ import annotations

import numpy as np

from formcheck.config import settings
from formcheck.landmarks import FOOT, hip_mid
from formcheck.metrics.geometry import at, stance_windows
from formcheck.metrics.registry import MetricDef
from formcheck.metrics.scale import NO_SCALE
from formcheck.metrics.summary import Context, gate, over_steps
from formcheck.results import MetricSummary

#: The camera views speed is measured in (horizontal travel, seen square on).
SIDE: tuple[str, ...] = ("side",)

GUESSED_TREADMILL = (
    "treadmill only guessed: the camera may be following the runner (from the runner's "
    "landmarks a treadmill, running in place and a camera panning to follow the runner look "
    "alike: the stance foot moves back in the image in all three); give --setting treadmill "
    "if the camera stood still beside a treadmill")
PANNING = ("the camera follows the runner (--setting pan): the image moves with the camera, "
           "whose motion the landmarks do not give, so the runner's speed over the ground is "
           "not in the image")


def belt_speed_px_s(ctx: Context) -> np.ndarray:
    """[K] per step: the stance foot's backward image speed (px/s, + = backward) while flat
    on the ground (module docstring); NaN without a toe-off or a seen foot."""
    cfg = settings()["speed"]
    a, b = (float(x) for x in cfg["belt_window"])
    ev, t, xy = ctx.ev, ctx.clean.t_s, ctx.clean.xy_px
    out = np.full(ev.n, np.nan)
    if t.size < 3:
        return out
    vel = {s: -ctx.view.sign * np.gradient(xy[:, list(FOOT[s]), 0], t, axis=0)
           for s in ("L", "R")}
    for i, m in stance_windows(t, ev.ic_t_s, ev.to_t_s, (a, b)):
        v = vel[str(ev.chain[i])][m].ravel()
        v = v[np.isfinite(v)]
        if v.size:
            out[i] = float(np.median(v))
    return out


def hip_speed_px_s(ctx: Context) -> np.ndarray:
    """[K] per step: the hip midpoint's forward image travel from the previous initial
    contact to this one over the time between them (px/s); NaN for the first step."""
    ev, t = ctx.ev, ctx.clean.t_s
    hx = hip_mid(ctx.clean.xy_px)[:, 0]
    out = np.full(ev.n, np.nan)
    for i in range(1, ev.n):
        t0, t1 = float(ev.ic_t_s[i - 1]), float(ev.ic_t_s[i])
        if t1 > t0:
            dx = float(at(t, hx[:, None], t1)[0] - at(t, hx[:, None], t0)[0])
            out[i] = ctx.view.sign * dx / (t1 - t0)
    return out


def speed_px_s(ctx: Context) -> np.ndarray:
    """[K] per-step running speed in image px/s by the setting (module docstring); all NaN
    where it is not measurable: not a side view, or a setting that gives none
    (:func:`blockers` says why), so steps.csv holds no number the summary withholds."""
    setting = ctx.view.setting
    if ctx.view.view not in SIDE or blockers(ctx):
        return np.full(ctx.ev.n, np.nan)
    if setting == "treadmill":
        return ctx.once("belt_speed_px_s", belt_speed_px_s)
    if setting == "overground":
        return ctx.once("hip_speed_px_s", hip_speed_px_s)
    return np.full(ctx.ev.n, np.nan)


def blockers(ctx: Context) -> list[str]:
    """Why the setting gives no speed (empty when it does; computed once per clip)."""
    return list(ctx.once("speed_blockers", _blockers))


def _blockers(ctx: Context) -> list[str]:
    setting = ctx.view.setting
    if setting == "pan":
        return [PANNING]
    if setting == "treadmill" and "setting" not in ctx.view.overridden:
        return [GUESSED_TREADMILL]
    if setting == "overground":
        hip = ctx.once("hip_speed_px_s", hip_speed_px_s)
        hip = hip[np.isfinite(hip)]
        foot = np.abs(ctx.once("belt_speed_px_s", belt_speed_px_s))
        share = settings()["speed"]["max_ground_motion_share"]
        if hip.size and float(np.mean(hip < 0)) > share:
            return [f"the runner changes direction in the clip (the hips travel backwards in "
                    f"{100 * float(np.mean(hip < 0)):.0f} % of the steps)"]
        if hip.size and np.isfinite(foot).any():
            h, f = float(np.median(hip)), float(np.nanmedian(foot))
            if h > 0 and f > share * h:
                return [f"the stance foot is not still in the image (it moves at "
                        f"{100 * f / h:.0f} % of the hips' speed; with a static camera it "
                        f"stands still): the camera moves, or the contacts are not found "
                        f"reliably, so the hips' travel is not the runner's speed"]
    return []


def summarize_metres(d: MetricDef, ctx: Context, needs_scale: bool = True) -> MetricSummary:
    """Median over steps of ``ctx.vals[d.id]``, gated by the view and the metric's gates, the
    setting (:func:`blockers`) and, for figures in metres, the scale; ``extra`` says where the
    scale came from and its relative uncertainty (with the value's share of it)."""
    block, cautions = gate(d, ctx)
    block += blockers(ctx)
    sc = ctx.scale
    if needs_scale and (sc is None or not sc.known):
        block.append(sc.reason if sc is not None and sc.reason else NO_SCALE)
    g = ctx.gates
    out = over_steps(d.id, d.unit, ctx.vals[d.id], ctx.ev.foot, ctx.ev.ic_t_s,
                     g["min_steps_any"], 0, block, cautions, sides=False)
    if needs_scale and out.usable and sc is not None and sc.known:
        out = MetricSummary(**{**out.__dict__, "extra": sc.extra(float(out.value))})
    return out


def per_step(ctx: Context) -> dict[str, np.ndarray]:
    """Per-step running speed (m/s); NaN without a scale or in a setting with no speed."""
    sc = ctx.scale
    if sc is None or not sc.known:
        return {SPEED.id: np.full(ctx.ev.n, np.nan)}
    return {SPEED.id: speed_px_s(ctx) / float(sc.px_per_m)}


SPEED = MetricDef("speed_mps", "Running speed", "m/s", "rhythm", views=SIDE, step_column=True,
                  valid_only=True, gates=("feet",),
                  summarize=lambda ctx: summarize_metres(SPEED, ctx))
METRICS = (SPEED,)
