"""Change detection on synthetic runners: false alarms and sensitivity (issue 13).

1. Same runner, other noise seeds: every later clip is the same runner with different
   landmark noise, dropped frames and leg-label swaps.  Any "changed" is a false alarm.
   Printed per metric: false alarms / pairs compared (goal <= 5 % per metric).
2. Known changes between two clips (+5 % cadence, -10 % leg overstride, +4 deg trunk lean):
   share of seed pairs where each is reported as changed (goal: all).
3. Drift within a 10-minute run: cadence falling 3 % over the run, and no drift: share of
   seeds where a cadence drift is found (sensitivity), and false drifts per metric.

Runs the whole analysis after the pose model (formcheck.api.analyze_pose) on the synthetic
landmarks; no video or model.  Usage:
    PYTHONPATH=src python bench/change_false_alarms.py [--pairs 24] [--drift-seeds 8]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

#: The baseline runner (a 15 s treadmill clip, noisy landmarks).
BASE = dict(cadence_spm=170.0, overstride_pct_leg=20.0, trunk_lean_deg=6.0, duration_s=15.0)
#: The changed runner of part 2.
CHANGED = dict(cadence_spm=170.0 * 1.05, overstride_pct_leg=10.0, trunk_lean_deg=10.0,
               duration_s=15.0)


def main() -> int:
    from synthetic_sessions import NOISE, report

    from formcheck.change import compare, drift

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=24, help="seed pairs (parts 1 and 2)")
    ap.add_argument("--drift-seeds", type=int, default=8, help="10-min runs per condition")
    ap.add_argument("--drift-minutes", type=float, default=10.0)
    args = ap.parse_args()
    t0 = time.time()

    # ---- 1 and 2: pairs of clips
    alarms: Counter[str] = Counter()
    compared: Counter[str] = Counter()
    found: Counter[str] = Counter()
    n_known = 0
    for i in range(args.pairs):
        a = compare.session_from_report(report(**BASE, **NOISE, seed=1000 + 2 * i), "A")
        b = compare.session_from_report(report(**BASE, **NOISE, seed=1001 + 2 * i), "B")
        c = compare.compare_sessions([a, b])
        for k, ch in c.changes[0].items():
            if ch.verdict != compare.CANNOT:
                compared[k] += 1
                alarms[k] += ch.verdict == compare.CHANGED
        x = compare.session_from_report(report(**CHANGED, **NOISE, seed=1001 + 2 * i), "X")
        cx = compare.compare_sessions([a, x]).changes[0]
        n_known += 1
        for k, sign in (("cadence_spm", 1), ("overstride_pct_leg", -1),
                        ("trunk_lean_deg", 1)):
            ch = cx[k]
            found[k] += ch.verdict == compare.CHANGED and ch.change * sign > 0
    print(f"1. same runner, other noise seeds: {args.pairs} pairs of "
          f"{BASE['duration_s']:.0f} s clips")
    print(f"   {'metric':34s} false alarms / pairs   rate")
    worst = 0.0
    for k in compared:
        r = alarms[k] / compared[k]
        worst = max(worst, r)
        print(f"   {k:34s} {alarms[k]:4d} / {compared[k]:<4d}          {100 * r:5.1f} %")
    print(f"   worst metric: {100 * worst:.1f} % (goal <= 5 %)")
    print(f"2. known changes ({n_known} pairs): "
          + ", ".join(f"{k} {found[k]}/{n_known}" for k in ("cadence_spm",
                                                           "overstride_pct_leg",
                                                           "trunk_lean_deg")))

    if args.drift_seeds <= 0:
        print(f"({time.time() - t0:.0f} s)")
        return 0
    # ---- 3: drift in a long run
    dur = 60.0 * args.drift_minutes
    hits, false_drift, n_d = 0, Counter(), Counter()
    changes = []
    for j in range(args.drift_seeds):
        for drop in (3.0, 0.0):
            rep = report(drift_pct=drop, **{**BASE, "duration_s": dur}, **NOISE,
                         seed=5000 + j)
            d = drift.drift(rep)
            cad = d["cadence_spm"]
            if drop:
                hits += cad.verdict == "drift" and (cad.change_pct or 0) < 0
                changes.append(cad.change_pct)
            else:
                for k, x in d.items():
                    if x.verdict != "not_assessed":
                        n_d[k] += 1
                        false_drift[k] += x.verdict == "drift"
    print(f"3. drift over {args.drift_minutes:g} min runs ({args.drift_seeds} seeds each): "
          f"3 % cadence drop found in {hits}/{args.drift_seeds} "
          f"(measured {min(changes):+.2f} to {max(changes):+.2f} %)")
    print("   false drifts without a drop: " + ", ".join(
        f"{k} {false_drift[k]}/{n_d[k]}" for k in n_d))
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
