"""The per-step table (steps.csv): one row per detected step, the registry's step columns."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field

import numpy as np

from formcheck.metrics.registry import step_columns
from formcheck.metrics.summary import r

#: Per-step columns written to steps.csv, in order (derived from the registry).
STEP_COLUMNS = step_columns()


@dataclass(frozen=True)
class StepTable:
    """One row per detected step (IC order); arrays of equal length K, NaN where unknown.

    ``side_confident``: the step's side (``foot``) rests on evidence (events.side_confident).
    ``ic_frame``/``to_frame``: the first video frame (decode index) showing the foot down /
    off (events.with_frames); -1 (an empty cell) where unknown.
    """

    foot: np.ndarray
    ic_t_s: np.ndarray
    to_t_s: np.ndarray
    valid: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    strike_class: tuple[str, ...] = ()
    side_confident: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    ic_frame: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    to_frame: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def _frame(self, a: np.ndarray, i: int) -> int | None:
        return int(a[i]) if a.size == self.n and a[i] >= 0 else None

    @property
    def n(self) -> int:
        return int(self.ic_t_s.size)

    def rows(self) -> list[dict[str, object]]:
        out = []
        for i in range(self.n):
            row: dict[str, object] = {
                "step": i, "foot": str(self.foot[i]), "ic_t_s": round(float(self.ic_t_s[i]), 4),
                "to_t_s": r(self.to_t_s[i], 4), "ic_frame": self._frame(self.ic_frame, i),
                "to_frame": self._frame(self.to_frame, i), "valid": bool(self.valid[i]),
                "strike_class": self.strike_class[i] if self.strike_class else "",
                "side_confident": bool(self.side_confident[i])
                if self.side_confident.size == self.n else False,
            }
            for k, v in self.values.items():
                row[k] = r(v[i], 2)
            out.append({c: row.get(c, "") for c in STEP_COLUMNS})
        return out

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(STEP_COLUMNS))
            w.writeheader()
            for row in self.rows():
                w.writerow({k: ("" if v is None else v) for k, v in row.items()})
