"""How real MediaPipe foot landmarks move around hand-labelled IC and TO (evidence for the
synthetic runner, tests/synthetic_gait.py REAL_CLIP_EVIDENCE).

Usage:  python bench/real_foot_profiles.py [--cache /work/cache]

For each labelled clip (../shared/videos/labels.json ``event_labels``) and each labelled step,
on the RAW pose-model landmarks (legs' labels repaired by formcheck.signals.repair_leg_identity;
no smoothing): the stance foot is the leg whose heel is lower over the labelled stance.  At
whole frames k = -4..+4 relative to the labelled frame (ceil of an x.5 label, i.e. the first
frame at or after the event, as the labels define it):

* height of heel / foot_index / ankle above that point's lowest position in the stance, % leg;
* horizontal velocity (central difference, running direction) of each point relative to the
  ground's, in % of the ground's speed relative to the hip (belt speed on a treadmill):
  (v - v_ground) / (v_hip - v_ground).  0 % = moving with the ground; +100 % = moving with the
  hip; v_ground is the median velocity of the stance foot's three points over the middle of
  the labelled stance (IC+2 .. TO-2).

Medians over steps (near and far foot pooled), plus the robust SD (1.4826 MAD) of the
mid-stance velocities in % ground speed (landmark jitter).  Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO.parent / "shared" / "videos" / "labels.json"
CLIPS = ("treadmill_side_30fps", "outdoor_side_pace_segments", "treadmill_side_lab_slowmo")
FOOT = {"L": (27, 29, 31), "R": (28, 30, 32)}  # ankle, heel, foot_index
OFFS = np.arange(-4, 5)


def profiles(clip: str, cache: Path, step_scale: int = 1) -> dict[str, np.ndarray]:
    from formcheck.pose import PoseSeries
    from formcheck.signals import LEG_SWAP, repair_leg_identity

    ps = PoseSeries.load(cache / clip / "landmarks.npz")
    lab = json.loads(LABELS.read_text())[clip + ".mp4"]["event_labels"]
    xy = ps.xy_px.astype(float).copy()
    sw = repair_leg_identity(xy)
    xy[sw] = xy[sw][:, LEG_SWAP]
    fwd = -1.0 if lab["direction"] == "left" else 1.0
    hip_x = fwd * 0.5 * (xy[:, 23, 0] + xy[:, 24, 0])
    fi = {int(f): i for i, f in enumerate(ps.frame_index)}
    leg = np.nanmedian(np.hypot(*(xy[:, 23] - xy[:, 25]).T) + np.hypot(*(xy[:, 25] - xy[:, 27]).T))
    out: dict[str, list] = {k: [] for k in (
        "h_ic", "h_to", "v_ic", "v_to", "jit")}
    s = step_scale
    for st in lab["steps"]:
        if st["to_frame"] is None:
            continue
        ic, to = int(np.ceil(st["ic_frame"])), int(np.ceil(st["to_frame"]))
        lo, hi = ic - 5 * s, to + 5 * s
        if lo not in fi or hi not in fi:
            continue
        mid = np.array([fi[f] for f in range(ic + 2 * s, to - 2 * s + 1)])
        side = min(FOOT, key=lambda k: -np.nanmean(xy[mid, FOOT[k][1], 1]))
        pts = xy[:, FOOT[side]]  # [T, 3, 2]
        x = fwd * pts[..., 0]
        v = np.full_like(x, np.nan)  # central difference over +-s frames, px per frame
        v[s:-s] = (x[2 * s:] - x[:-2 * s]) / (2 * s)
        vh = np.full_like(hip_x, np.nan)
        vh[s:-s] = (hip_x[2 * s:] - hip_x[:-2 * s]) / (2 * s)
        vg = float(np.nanmedian(v[mid]))
        speed = float(np.nanmedian(vh[mid])) - vg
        if not speed > 0:
            continue
        y_low = np.nanmax(pts[np.array([fi[f] for f in range(ic, to + 1)]), :, 1], axis=0)

        def at(e: int) -> np.ndarray:
            idx = np.array([fi[e + s * k] for k in OFFS])
            return idx

        for ev, hk, vk in ((ic, "h_ic", "v_ic"), (to, "h_to", "v_to")):
            idx = at(ev)
            out[hk].append((y_low[None, :] - pts[idx, :, 1]) / leg * 100.0)
            out[vk].append((v[idx] - vg) / speed * 100.0)
        core = np.array([fi[f] for f in range(ic + 3 * s, to - 3 * s + 1)], dtype=int)
        jit = (v[core][:, 1:] - vg) / speed * 100.0  # heel and foot_index, core of stance
        out["jit"].append(1.4826 * np.nanmedian(np.abs(jit - np.nanmedian(jit)))
                          if jit.size >= 4 else np.nan)
        # real time: the slowed clip is ~9x slow motion, so s = 9 frames are 1/30 s
        real_fps = ps.nominal_fps * (9.0 / s if s > 1 else 1.0)
        out.setdefault("speed_leg_s", []).append(speed / leg * real_fps)
    return {k: np.array(val) for k, val in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/work/cache"))
    args = ap.parse_args()
    names = ("ankle", "heel", "foot_index")
    for clip in CLIPS:
        # slow-motion clip: sample every 9th frame (~real 30 fps), labels' ~9x estimate
        scale = 9 if "slowmo" in clip else 1
        try:
            p = profiles(clip, args.cache, scale)
        except FileNotFoundError as e:
            print(f"{clip}: {e}", file=sys.stderr)
            continue
        n = len(p["jit"])
        print(f"\n### {clip} ({n} steps; ground speed {np.median(p['speed_leg_s']):.2f} leg/s; "
              f"mid-stance velocity jitter (robust SD) {np.nanmedian(p['jit']):.0f} % of it)")
        print("| frame rel. to label | " + " | ".join(f"{k:+d}" for k in OFFS) + " |")
        print("|---" * (len(OFFS) + 1) + "|")
        for ev in ("ic", "to"):
            for j, nm in enumerate(names):
                h = np.nanmedian(p["h_" + ev][:, :, j], axis=0)
                print(f"| {nm} height at {ev.upper()} (% leg) | "
                      + " | ".join(f"{x:.1f}" for x in h) + " |")
            for j, nm in enumerate(names):
                vv = np.nanmedian(p["v_" + ev][:, :, j], axis=0)
                print(f"| {nm} velocity at {ev.upper()} (% ground) | "
                      + " | ".join(f"{x:+.0f}" for x in vv) + " |")


if __name__ == "__main__":
    main()
