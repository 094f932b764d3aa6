"""Gait events against the hand-labelled real clips (and the synthetic runner beside them).

Usage:  python bench/events_accuracy.py [--cache DIR]

For each clip with ``event_labels`` in ../shared/videos/labels.json: the real pose model's
landmarks (cached as .npz in --cache), the full analysis (the slowed lab clip with --slowmo 9,
the labels' own estimate), then per clip: initial contact (IC) and toe-off (TO) error in video
frames (bias, mean absolute error, 95th percentile of |error|, share within +/-1 frame, share
within the labels' own uncertainty), contact-time bias in real ms, strike-class agreement on
steps the labels call clear, and leg-identity (side) agreement.  Errors are formcheck minus
label (positive = late).  How the labels were made: docs/validation.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args()

    from event_labels import LABELLED, LABELS, score

    from formcheck.api import Options, analyze_pose
    from formcheck.pose import PoseSeries, extract

    if not LABELS.is_file():
        sys.exit(f"{LABELS} is absent: the labelled clips live beside the repository")
    cache = args.cache or Path(tempfile.mkdtemp(prefix="formcheck_events_"))
    cache.mkdir(parents=True, exist_ok=True)
    print(f"{'clip':32s} {'n lab/match':>11s} | {'IC bias':>7s} {'MAE':>5s} {'p95':>5s} "
          f"{'<=1fr':>5s} {'<=unc':>5s} | {'TO bias':>7s} {'MAE':>5s} {'p95':>5s} {'<=1fr':>5s} "
          f"| {'contact ms':>10s} | {'strike':>6s} {'side':>5s}")
    for clip, slowmo in LABELLED.items():
        path = LABELS.parent / clip
        f = cache / (clip + ".npz")
        if f.exists():
            ps = PoseSeries.load(f)
        else:
            ps = extract(path, progress=False)
            ps.save(f)
        an = analyze_pose(ps, Options(slowmo=slowmo))
        s = score(clip, an)
        ic, to, ct = s.ic, s.to, s.contact

        def pct(x: float) -> str:
            return "  -  " if x != x else f"{100 * x:4.0f}%"

        print(f"{clip[:32]:32s} {s.n_labelled:>5d}/{s.n_matched:<5d} | {ic['bias']:+7.2f} "
              f"{ic['mae']:5.2f} {ic['p95']:5.1f} {pct(ic['within1'])} {pct(s.ic_within_unc)} | "
              f"{to['bias']:+7.2f} {to['mae']:5.2f} {to['p95']:5.1f} {pct(to['within1'])} | "
              f"{ct['bias']:+6.0f} ({ct['mae']:3.0f}) | {pct(s.strike_agreement):>6s} "
              f"{pct(s.side_agreement)}")
    print("(frames are video frames; contact ms is real time: bias (mean absolute error))")
    try:
        from synthetic_gait import bench_figures  # type: ignore[attr-defined]
    except ImportError:
        return
    print("\nsynthetic runner (truth known by construction):")
    bench_figures()


if __name__ == "__main__":
    main()
