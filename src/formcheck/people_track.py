"""People stage, part 1: tracking identities over a clip (who is who from frame to frame).

The pose stage keeps every person the model found in each frame (``PoseSeries.people``, in
the model's order, which is not stable from frame to frame).  :func:`track` links them: a
person found in a frame continues the track they are nearest to (greedy, nearest first):
within ``track_gate_body`` body heights per frame of where it was last seen, or of where its
velocity takes it for a track seen in 3+ frames (``track_gate_velocity_body``), with a body
height within ``track_max_size_ratio``, seen no more than ``track_max_gap_s`` ago; anyone else
starts a new track.  Fragments of one person (the model loses people for a while) are then
joined: by position and velocity (:func:`_merge_fragments`), someone standing still
reappearing where they stood, and tracks that never share a frame and show the same gait
(:func:`join_gait_fragments`).  Choosing the runner among the tracks is
:mod:`formcheck.people`.

Thresholds are in ``settings.toml`` ``[people]``.
"""

from __future__ import annotations

import numpy as np

from formcheck.config import settings
from formcheck.landmarks import hip_mid

#: A fragment whose hip stays within this range (body heights) is someone standing still ...
STILL_SPREAD_BODY = 0.3
#: ... and two still fragments this close (body heights) are one person, whatever the gap.
STILL_SAME_PLACE_BODY = 0.25


def track(people: np.ndarray, n_people: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Track identities: [T, P] int track id of each slot (-1 = empty), ids from 0 in order
    of first appearance.  See the module docstring for the linking rule.

    A track with a known velocity (seen in 3+ frames) is expected where that velocity takes
    it, within ``track_gate_velocity_body`` body heights per frame (a bystander the model loses
    does not turn into the walker passing in front); a newer track may have moved by
    ``track_gate_body`` per frame in any direction."""
    cfg = settings()["people"]
    gate, max_gap = float(cfg["track_gate_body"]), float(cfg["track_max_gap_s"])
    gate_v = float(cfg["track_gate_velocity_body"])
    size_ratio = float(cfg["track_max_size_ratio"])
    T, P = people.shape[:2]
    frame_s = float(np.median(np.diff(t_s))) if T > 1 else 1.0
    ids = np.full((T, P), -1, dtype=np.int32)
    # per track: hip (px), body height (px), time (s), velocity (px/s), frames seen
    hip_l: list[np.ndarray] = []
    size_l: list[float] = []
    time_l: list[float] = []
    vel_l: list[np.ndarray] = []
    seen_l: list[int] = []
    for t in range(T):
        n = int(min(n_people[t], P))
        hips, sizes = [], []
        for i in range(n):
            xy = people[t, i, :, :2]
            hips.append(hip_mid(xy))
            ys = xy[:, 1][np.isfinite(xy[:, 1])]
            sizes.append(float(np.ptp(ys)) if ys.size else 0.0)
        now = float(t_s[t])
        active = [k for k in range(len(hip_l)) if now - time_l[k] <= max_gap]
        pairs = []
        for i in range(n):
            if not np.all(np.isfinite(hips[i])):
                continue
            for k in active:
                a, b = max(sizes[i], 1.0), max(size_l[k], 1.0)
                if max(a, b) / min(a, b) > size_ratio:
                    continue  # not the same person: body height changed too much
                dt = now - time_l[k]
                missed = max(1.0, dt / max(frame_s, 1e-6))
                if seen_l[k] >= 3:
                    d = float(np.linalg.norm(hips[i] - (hip_l[k] + vel_l[k] * dt))) / max(a, b)
                    ok = d <= gate_v * missed
                else:
                    d = float(np.linalg.norm(hips[i] - hip_l[k])) / max(a, b)
                    ok = d <= gate * missed
                if ok:
                    pairs.append((d, i, k))
        pairs.sort()
        used: set[int] = set()
        for _, i, k in pairs:
            if ids[t, i] < 0 and k not in used:
                ids[t, i] = k
                used.add(k)
        for i in range(n):
            if not np.all(np.isfinite(hips[i])):
                continue
            if ids[t, i] < 0:
                hip_l.append(hips[i])
                size_l.append(sizes[i])
                time_l.append(now)
                vel_l.append(np.zeros(2))
                seen_l.append(0)
                ids[t, i] = len(hip_l) - 1
            k = int(ids[t, i])
            dt = now - time_l[k]
            if seen_l[k] >= 1 and dt > 0:
                v = (hips[i] - hip_l[k]) / dt
                vel_l[k] = v if seen_l[k] == 1 else 0.5 * vel_l[k] + 0.5 * v
            hip_l[k], size_l[k], time_l[k] = hips[i], sizes[i], now
            seen_l[k] += 1
    return _merge_fragments(ids, people, t_s, float(cfg["track_gate_max_body"]), size_ratio,
                            float(cfg["fragment_max_gap_s"]))


def _merge_fragments(ids: np.ndarray, people: np.ndarray, t_s: np.ndarray, gate_max: float,
                     size_ratio: float, max_gap_s: float) -> np.ndarray:
    """Join track fragments of one person: the model sometimes loses a person for a while.
    A track that starts after another ended (no frame in common), within ``max_gap_s``, and
    of similar body height, continues it when it starts within ``gate_max`` body heights of
    where that one would be by then (moving on at its final velocity) and moves at a similar
    velocity (``fragment_max_speed_change_body_s``): a walker appearing beside a bystander
    the model lost for a moment is not the bystander.  Fragments under 5 frames (velocity
    unknown) are not joined.  Nearest first, in order of start
    time; ids are renumbered from 0 by first appearance."""
    n = int(ids.max()) + 1 if ids.size and ids.max() >= 0 else 0
    if n < 2:
        return ids
    dv_max = float(settings()["people"]["fragment_max_speed_change_body_s"])
    info: list[dict[str, object] | None] = []
    for k in range(n):
        tt, sl = np.nonzero(ids == k)
        if tt.size < 5:  # too short to know its velocity: left alone (flicker is dropped)
            info.append(None)
            continue
        order = np.argsort(tt)
        tt, sl = tt[order], sl[order]
        xy = people[tt, sl, :, :2]
        hip = hip_mid(xy)
        size = float(np.nanmedian(np.nanmax(xy[..., 1], axis=1) - np.nanmin(xy[..., 1], axis=1)))
        size = size if np.isfinite(size) and size > 0 else 1.0

        def vel(sel: slice, tt: np.ndarray = tt, hip: np.ndarray = hip) -> np.ndarray | None:
            ts, hs = t_s[tt[sel]], hip[sel]
            if ts.size < 5 or ts[-1] - ts[0] <= 0:
                return None
            return (hs[-1] - hs[0]) / (ts[-1] - ts[0])

        spread = float(np.nanmax(np.ptp(hip, axis=0))) / size  # body heights
        info.append(dict(t0=int(tt[0]), t1=int(tt[-1]), h0=hip[0], h1=hip[-1], size=size,
                         v0=vel(slice(0, 10)), v1=vel(slice(-10, None)),
                         still=spread < STILL_SPREAD_BODY, centre=np.nanmedian(hip, axis=0)))
    parent = list(range(n))

    def root(k: int) -> int:
        while parent[k] != k:
            k = parent[k]
        return k

    ends: dict[int, dict[str, object]] = {}  # root -> its latest fragment
    for b in sorted((k for k in range(n) if info[k] is not None),
                    key=lambda k: info[k]["t0"]):  # type: ignore[index]
        ib = info[b]
        assert ib is not None
        best, best_d = None, float("inf")
        for r, ia in ends.items():
            if ia["t1"] >= ib["t0"]:  # type: ignore[operator]
                continue
            gap = float(t_s[ib["t0"]] - t_s[ia["t1"]])  # type: ignore[index]
            sa, sb = float(ia["size"]), float(ib["size"])  # type: ignore[arg-type]
            big = max(sa, sb)
            va, vb = ia["v1"], ib["v0"]
            pred = ia["h1"] + (va if va is not None else 0.0) * gap  # type: ignore[operator]
            d = float(np.linalg.norm(ib["h0"] - pred)) / big  # type: ignore[operator]
            dv = 0.0 if va is None or vb is None else float(
                np.linalg.norm(vb - va)) / big  # type: ignore[operator]
            # someone standing still who reappears where they stood is the same person,
            # however long the model lost them
            still = bool(ia["still"] and ib["still"]) and float(np.linalg.norm(
                ia["centre"] - ib["centre"])) / big <= STILL_SAME_PLACE_BODY  # type: ignore[operator]
            if still:
                d = dv = 0.0
            if (gap <= max_gap_s or still) \
                    and big / min(sa, sb) <= size_ratio and d <= gate_max \
                    and dv <= dv_max and d < best_d:
                best, best_d = r, d
        r = best if best is not None else b
        parent[b] = r
        if r not in ends or ends[r]["t1"] < ib["t1"]:  # type: ignore[operator]
            ends[r] = ib
    roots = {k: root(k) for k in range(n)}
    first: dict[int, int] = {}
    starts = [np.flatnonzero((ids == k).any(axis=1)) for k in range(n)]
    for k in range(n):
        if starts[k].size:
            r = roots[k]
            first[r] = min(first.get(r, 1 << 30), int(starts[k][0]))
    renum = {r: i for i, r in enumerate(sorted(first, key=lambda r: first[r]))}
    out = ids.copy()
    m = ids >= 0
    out[m] = [renum[roots[int(k)]] for k in ids[m]]
    return out


def join_gait_fragments(ids: np.ndarray, feats: dict[int, dict[str, object]],
                         min_motion: float) -> np.ndarray:
    """Join tracks that never share a frame and show the same gait: legs moving, step
    rhythms within 10 % and body heights within 1.5x.  A walker who leaves the frame and
    comes back, or whom the model loses beside someone else, is one person; two different
    people could only be joined this way if they were never in view together."""
    ks = sorted(feats, key=lambda k: int(feats[k]["t0"]))  # type: ignore[call-overload]
    group: dict[int, int] = {}
    spans: dict[int, list[tuple[int, int]]] = {}
    for k in ks:
        f = feats[k]
        target = None
        if float(f["motion"]) >= min_motion and np.isfinite(float(f["spm"])):  # type: ignore[arg-type]
            for g, sp in spans.items():
                fg = feats[g]
                if float(fg["motion"]) < min_motion or not np.isfinite(float(fg["spm"])):  # type: ignore[arg-type]
                    continue
                if any(not (int(f["t1"]) < a or int(f["t0"]) > b) for a, b in sp):  # type: ignore[call-overload]
                    continue
                r = float(f["spm"]) / float(fg["spm"])  # type: ignore[arg-type]
                hr = max(float(f["height"]), 1e-6) / max(float(fg["height"]), 1e-6)  # type: ignore[arg-type]
                if 1 / 1.1 <= r <= 1.1 and 1 / 1.5 <= hr <= 1.5:
                    target = g
                    break
        if target is None:
            target = k
            spans[k] = []
        group[k] = target
        spans[target].append((int(f["t0"]), int(f["t1"])))  # type: ignore[call-overload]
    out = ids.copy()
    for k, g in group.items():
        if g != k:
            out[ids == k] = g
    return out
