"""Accuracy against the labelled real clips: prints each reference value beside formcheck's.

Usage:  python bench/accuracy.py [--videos ../shared/videos] [--cache DIR]

Runs the real pose model once per clip (cached as .npz in --cache, default a temp folder)
and the full analysis.  Reference values come from ../shared/videos/labels.json and
sample_videos/treadmill_side_30fps.json: 'measured' references are independent of
formcheck; 'caption' and 'observed' ones are weaker.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fmt(v: object, nd: int = 1) -> str:
    return "-" if v is None else f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=Path, default=REPO.parent / "shared" / "videos")
    ap.add_argument("--cache", type=Path, default=None)
    from formcheck.api import DEFAULT_NUM_POSES, Options, analyze_pose, run_pose

    ap.add_argument("--max-people", type=int, default=DEFAULT_NUM_POSES,
                    help="people the model may find per frame (as formcheck analyze)")
    args = ap.parse_args()

    from formcheck.pose import PoseSeries

    cache = args.cache or Path(tempfile.mkdtemp(prefix="formcheck_acc_"))
    cache.mkdir(parents=True, exist_ok=True)

    def pose(path: Path) -> PoseSeries:
        f = cache / (path.name + ("" if args.max_people == 1 else f".census{args.max_people}")
                     + ".npz")
        if f.exists():
            return PoseSeries.load(f)
        t0 = time.perf_counter()
        ps = run_pose(path, Options(num_poses=args.max_people), progress=False)
        print(f"  (pose model: {path.name}, {ps.n_frames} frames, "
              f"{ps.n_frames / (time.perf_counter() - t0):.1f} fps)")
        ps.save(f)
        return ps

    def line(clip: str, what: str, ref: object, got: object, note: str = "") -> None:
        print(f"{clip:34s} {what:28s} {fmt(ref):>22s} {fmt(got):>12s}  {note}")

    print(f"{'clip':34s} {'quantity':28s} {'reference':>22s} {'formcheck':>12s}  status")
    sample = REPO / "sample_videos" / "treadmill_side_30fps.mp4"
    ref = json.loads(sample.with_suffix(".json").read_text())
    an = analyze_pose(pose(sample))
    s = an.metrics.summaries
    line(sample.name, "cadence (steps/min)", f"{ref['cadence_spm']['value']} +/- 0.5",
         s["cadence_spm"].value, s["cadence_spm"].status.value)
    line("", "contact time (ms)", f"{ref['contact_time_ms_plausible']} plausible",
         s["contact_time_ms"].value, s["contact_time_ms"].status.value)
    line("", "duty factor (%)", f"{ref['duty_factor_pct_plausible']} plausible",
         s["duty_factor_pct"].value, s["duty_factor_pct"].status.value)
    line("", "view / gait", "side-left / running", f"{an.view.view}-{an.view.direction} / "
         f"{an.view.gait}")

    lp = args.videos / "labels.json"
    if not lp.is_file():
        print(f"\n{lp} not found: shared clips skipped")
        return
    labels = json.loads(lp.read_text())
    for name, lab in labels.items():
        if not isinstance(lab, dict):
            continue
        path = args.videos / name
        if not path.is_file():
            continue
        ps = pose(path)
        an = analyze_pose(ps)
        s = an.metrics.summaries
        cad = s["cadence_spm"]
        line(name, "view / gait", lab.get("view", ""), f"{an.view.view}-{an.view.direction} / "
             f"{an.view.gait}")
        line("", "cadence (steps/min)", lab.get("playback", ""), cad.value,
             cad.status.value + (f": {cad.reason}" if cad.reason else ""))
        if "segments" in lab:
            for seg in lab["segments"]:
                a, b = seg["frames"]
                sa = analyze_pose(ps, Options(start_s=float(ps.t_s[a]), end_s=float(ps.t_s[b])))
                m = sa.metrics.summaries["cadence_spm"]
                line("", f"  frames {a}-{b} cadence", f"pace {seg['pace_caption_min_per_km']}",
                     m.value, m.status.value)
            line("", "  expected", lab.get("expect", "")[:60], "")
        if "event_frames_approx" in lab:
            ev_frames = sorted(int(round(float(t) * ps.nominal_fps))
                               for t in list(an.events.ic_t_s) + list(an.events.to_t_s)
                               if t == t)
            line("", "event frames (IC+TO)", str(lab["event_frames_approx"])[:22],
                 str(ev_frames)[:40])
        for mid in ("overstride_pct_leg", "foot_strike_angle_deg", "trunk_lean_deg",
                    "arm_cross_share_pct"):
            m = s[mid]
            line("", mid, "", m.value, m.status.value + (f": {m.reason[:50]}" if m.reason
                                                         else ""))
        for w in an.warnings:
            line("", "warning", "", "", w[:100])
        line("", "expected behaviour", "", "", lab.get("expect", "")[:100])
        print()


if __name__ == "__main__":
    main()
