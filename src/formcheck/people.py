"""People stage: who is in view, and which of them is the runner.

The pose stage keeps every person the model found in each frame (``PoseSeries.people``, in
the model's order, which is not stable from frame to frame).  This stage

1. **tracks** identities (:func:`formcheck.people_track.track`: nearest-first linking with
   gates in body heights, then fragments of one person joined).  Tracks seen in fewer than
   ``min_track_s`` seconds of frames are detector flicker, not people, and are dropped.
   People in view = the most tracked people found in one frame;
2. **describes** each person: share of the clip in view, body height (share of the frame
   height), share of their frames with both feet inside the frame (ankles and heels inside
   the image with presence >= 0.5: a person cut off at the knees cannot be the runner whose
   feet are analysed), leg motion (5-95 % range of the ankle-to-ankle distance, in leg
   lengths: near 0 for someone standing) and gait rhythm (the step frequency and
   spectral-peak clarity that :func:`formcheck.events.detect` finds in their landmarks);
3. **chooses** the runner: among people with feet in frame and moving legs, the highest
   score = in-view share x rhythm clarity (peak ratio, capped) x leg motion (capped) x
   sqrt(relative body height); with nobody eligible, the one in view longest, and the
   analysis says so.  ``--person N`` overrides the choice.

Thresholds are in ``settings.toml`` ``[people]``.  Output: a :class:`People` (small, frozen)
and the chosen person's :class:`~formcheck.pose.PoseSeries`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from formcheck.config import settings
from formcheck.errors import FormcheckError
from formcheck.landmarks import FOOT, L_ANKLE, R_ANKLE, hip_mid
from formcheck.people_track import (
    STILL_SAME_PLACE_BODY,
    STILL_SPREAD_BODY,
    join_gait_fragments,
    track,
)
from formcheck.pose import PoseSeries

__all__ = ["STILL_SAME_PLACE_BODY", "STILL_SPREAD_BODY", "People", "Person", "PersonChoiceError",
           "choose", "draw", "track", "with_census"]

#: Ankles and heels of both feet (the feet-in-frame check: their order does not matter).
_FEET = FOOT["L"][:2] + FOOT["R"][:2]


class PersonChoiceError(FormcheckError):
    """``--person N`` names nobody tracked in the clip."""

    exit_code = 2


@dataclass(frozen=True)
class Person:
    """One tracked person.

    Attributes:
        number: 1-based number, in order of first appearance (as boxed in people.png).
        n_frames: frames the person was found in.
        in_view_share: n_frames / frames of the clip (0-1).
        height_share: median body height (top to bottom landmark) / frame height (0-1+).
        feet_in_frame_share: share of their frames with both ankles and heels in the image.
        leg_motion_leg: 5-95 % range of the ankle-to-ankle distance, in leg lengths.
        rhythm_spm: step rhythm found in their landmarks (steps/min of video time), NaN if
            none.
        rhythm_peak_ratio: spectral peak over median in-band power (rhythm clarity).
        eligible: feet in frame and legs moving: could be the runner.
        score: choice score (0 when not eligible).
        box_px: (x0, y0, x1, y1) landmark bounding box in the people.png frame (NaN when the
            person is not in that frame).
    """

    number: int
    n_frames: int
    in_view_share: float
    height_share: float
    feet_in_frame_share: float
    leg_motion_leg: float
    rhythm_spm: float
    rhythm_peak_ratio: float
    eligible: bool
    score: float
    box_px: tuple[float, float, float, float]

    def describe(self) -> str:
        """Short description, e.g. for the report: why the person was (not) chosen."""
        parts = [f"in view {100 * self.in_view_share:.0f} % of the clip",
                 f"{100 * self.height_share:.0f} % of the frame height",
                 f"feet in frame {100 * self.feet_in_frame_share:.0f} %",
                 f"leg motion {self.leg_motion_leg:.2f} leg lengths"]
        if np.isfinite(self.rhythm_spm):
            parts.append(f"step rhythm {self.rhythm_spm:.0f}/min (clarity "
                         f"{self.rhythm_peak_ratio:.0f})")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, object]:
        def r(x: float, nd: int = 3) -> float | None:
            return None if not np.isfinite(x) else round(float(x), nd)

        return {
            "number": self.number, "n_frames": self.n_frames,
            "in_view_share": r(self.in_view_share), "height_share": r(self.height_share),
            "feet_in_frame_share": r(self.feet_in_frame_share),
            "leg_motion_leg": r(self.leg_motion_leg), "rhythm_spm": r(self.rhythm_spm, 1),
            "rhythm_peak_ratio": r(self.rhythm_peak_ratio, 1), "eligible": self.eligible,
            "score": r(self.score, 4), "box_px": [r(v, 1) for v in self.box_px],
        }


@dataclass(frozen=True)
class People:
    """Output of the people stage.

    Attributes:
        persons: every tracked person (number order).
        chosen: number of the person analysed (None: nobody found).
        chosen_by: "only person", "automatic" or "--person".
        why: one sentence on why that person was chosen.
        max_in_frame: most people the model found in one frame.
        frame_index: decoded frame drawn in people.png (-1: none).
        poses_per_frame: people the model was allowed to find per frame.
        n_in_view: people in view: the most tracked people found in one frame (a person the
            model lost and found again unrecognised is not counted twice, so this can be
            less than ``len(persons)``; at most ``poses_per_frame``).
        span_t_s: (first, last) time (s) the chosen person is in view: the analysis covers
            that stretch.
        from_tracking: the landmarks analysed come from the one-person (tracking) run of the
            model; False: from the several-person run (see :func:`formcheck.api.run_pose`).
    """

    persons: tuple[Person, ...]
    chosen: int | None
    chosen_by: str
    why: str
    max_in_frame: int
    frame_index: int
    poses_per_frame: int
    n_in_view: int = 0
    span_t_s: tuple[float, float] | None = None
    from_tracking: bool = True

    @property
    def n_people(self) -> int:
        """People in view (see ``n_in_view``)."""
        return max(self.n_in_view, 1 if self.persons else 0)

    def to_dict(self) -> dict[str, object]:
        return {"n_people": self.n_people, "n_tracks": len(self.persons),
                "from_tracking": self.from_tracking,
                "max_in_frame": self.max_in_frame,
                "span_t_s": None if self.span_t_s is None else [round(float(v), 3)
                                                                for v in self.span_t_s],
                "chosen": self.chosen, "chosen_by": self.chosen_by, "why": self.why,
                "frame_index": self.frame_index, "poses_per_frame": self.poses_per_frame,
                "persons": [p.to_dict() for p in self.persons]}


def _series_of(pose: PoseSeries, ids: np.ndarray, k: int) -> PoseSeries:
    """The pose series of track ``k`` (NaN where the person is not in view)."""
    assert pose.people is not None
    T = pose.n_frames
    rows = np.full((T,) + pose.people.shape[2:], np.nan, dtype=np.float32)
    tt, slot = np.nonzero(ids == k)
    rows[tt] = pose.people[tt, slot]
    return replace(pose, xy_px=np.ascontiguousarray(rows[:, :, :2]),
                   z=np.ascontiguousarray(rows[:, :, 2]),
                   visibility=np.ascontiguousarray(rows[:, :, 3]),
                   presence=np.ascontiguousarray(rows[:, :, 4]),
                   world_m=np.ascontiguousarray(rows[:, :, 5:]))


def _rhythm(ps: PoseSeries) -> tuple[float, float]:
    """(steps/min, peak ratio) the events stage finds in one person's landmarks."""
    from formcheck import events, signals, view

    det = ps.detected
    if det.sum() < 10:
        return float("nan"), 0.0
    keep = np.flatnonzero(det)
    sub = ps.slice(float(ps.t_s[keep[0]]), float(ps.t_s[keep[-1]]))
    try:
        clean = signals.clean(sub.t_s, sub.xy_px, sub.visibility)
        ev = events.detect(clean, view.classify(clean))
    except Exception:  # noqa: BLE001 - a bystander's odd landmarks must not end the analysis
        return float("nan"), 0.0
    hz = ev.step_hz_spectral
    return (60.0 * hz if np.isfinite(hz) else float("nan"),
            float(ev.spectral_peak_ratio) if np.isfinite(ev.spectral_peak_ratio) else 0.0)


def _box(xy: np.ndarray) -> tuple[float, float, float, float]:
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return (float("nan"),) * 4  # type: ignore[return-value]
    p = xy[ok]
    return (float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()),
            float(p[:, 1].max()))


def _single(pose: PoseSeries) -> People:
    n = 1 if pose.detected.any() else 0
    rows = np.flatnonzero(pose.detected)
    row = int(rows[len(rows) // 2]) if rows.size else -1
    persons: tuple[Person, ...] = ()
    if n:
        persons = (Person(number=1, n_frames=int(pose.detected.sum()),
                          in_view_share=pose.detection_rate, height_share=float("nan"),
                          feet_in_frame_share=float("nan"), leg_motion_leg=float("nan"),
                          rhythm_spm=float("nan"), rhythm_peak_ratio=0.0, eligible=True,
                          score=1.0, box_px=_box(pose.xy_px[row])),)
    return People(persons=persons, chosen=1 if n else None, chosen_by="only person",
                  why="the model was asked for one person per frame" if n else "", n_in_view=n,
                  max_in_frame=int(pose.n_people.max()) if pose.n_frames else 0,
                  frame_index=int(pose.frame_index[row]) if row >= 0 else -1,
                  poses_per_frame=1)


def _features(pose: PoseSeries, ids: np.ndarray, k: int, n_sampled: int
              ) -> dict[str, object]:
    """What the choice looks at for track ``k`` (see the module docstring); ``n_sampled``:
    frames people were looked for on (the in-view share is of those)."""
    from formcheck.view import leg_length_px

    W, H = pose.width_px, pose.height_px
    ps = _series_of(pose, ids, k)
    own = np.flatnonzero(ps.detected)  # the track's own frames: its span
    n_seen = int(own.size)
    # where the one-person run follows this person, its landmarks are at the full frame rate
    # (the census looks every few frames): rhythm, motion and feet are read from them
    dense = _follows(pose, ids, k, min_share=0.0)
    if dense is not None and int(dense.detected.sum()) > n_seen:
        ps = dense
    xy, pres = ps.xy_px, ps.presence
    det = ps.detected
    ys = xy[det, :, 1]
    height = float(np.nanmedian(np.nanmax(ys, axis=1) - np.nanmin(ys, axis=1))) / H \
        if det.any() else 0.0
    f = xy[det][:, _FEET]
    inside = (np.isfinite(f).all(axis=2) & (f[..., 0] >= 0) & (f[..., 0] < W)
              & (f[..., 1] >= 0) & (f[..., 1] < H) & (pres[det][:, _FEET] >= 0.5))
    feet = float(inside.all(axis=1).mean()) if det.any() else 0.0
    leg = leg_length_px(xy[det])
    sep = np.linalg.norm(xy[det, L_ANKLE] - xy[det, R_ANKLE], axis=1)
    sep = sep[np.isfinite(sep)]
    motion = float(np.ptp(np.percentile(sep, [5, 95])) / leg) if (sep.size and leg > 0) \
        else 0.0
    spm, ratio = _rhythm(ps)
    return dict(n=n_seen, share=float(n_seen) / max(n_sampled, 1), height=height,
                feet=feet, motion=motion, spm=spm, ratio=ratio,
                t0=int(own[0]) if own.size else 0, t1=int(own[-1]) if own.size else 0)


def choose(pose: PoseSeries, person: int | None = None) -> tuple[PoseSeries, People]:
    """Track everyone in ``pose.people`` and return (the runner's PoseSeries, People).

    The returned series covers the whole clip (NaN where the runner is not in view) and keeps
    ``people``, so it can be saved and re-analysed (``--pose``, ``--person``);
    ``People.span_t_s`` is the stretch the runner is in view, which the analysis covers.

    Args:
        pose: the pose stage's output (with ``people`` when the model was asked for several).
        person: the number of the person to analyse (``--person N``, as in people.png);
            None = choose automatically.

    Raises:
        PersonChoiceError: ``person`` is not one of the tracked people.
    """
    if pose.people is None:
        if person not in (None, 1):
            raise PersonChoiceError(f"--person {person}: the landmarks hold one person per "
                                    "frame; re-run the pose model with --max-people 2 or more")
        return pose, _single(pose)
    cfg = settings()["people"]
    T = pose.n_frames
    ids = track(pose.people, pose.n_people, pose.t_s)
    # frames the people were looked for on (all, or the census frames): shares count those
    sampled = np.isfinite(pose.people[:, :, 0, 0]).any(axis=1)
    ts = pose.t_s[sampled]
    dt = float(np.median(np.diff(ts))) if ts.size > 1 else 1.0
    n_sampled = max(int(sampled.sum()), 1)
    min_frames = max(3, int(round(float(cfg["min_track_s"]) / max(dt, 1e-6))))

    def tracks_of(ids: np.ndarray) -> list[int]:
        counts = np.bincount(ids[ids >= 0].ravel(), minlength=int(ids.max()) + 1
                             if ids.size else 0)
        return [k for k in range(counts.size) if counts[k] >= min_frames]

    feats = {k: _features(pose, ids, k, n_sampled) for k in tracks_of(ids)}
    ids = join_gait_fragments(ids, feats, float(cfg["min_leg_motion_leg"]))
    tracks = tracks_of(ids)
    if not tracks and ids.size and ids.max() >= 0:  # a short clip: its longest track counts
        tracks = [int(np.argmax(np.bincount(ids[ids >= 0].ravel())))]
    feats = {k: feats[k] if k in feats and int(feats[k]["n"]) == int((ids == k).any(axis=1)
                                                                      .sum())
             else _features(pose, ids, k, n_sampled) for k in tracks}
    # the frame for people.png: the most tracked people in view, earliest
    in_frame = np.array([len({int(k) for k in ids[t] if k in tracks}) for t in range(T)])
    row = int(np.argmax(in_frame)) if T else -1
    raw: list[dict[str, object]] = []
    for k in tracks:
        r = dict(feats[k])
        tt, slot = np.nonzero(ids[row:row + 1] == k) if row >= 0 else ((), ())
        r["box"] = _box(pose.people[row, slot[0], :, :2]) if len(slot) else (float("nan"),) * 4
        r["k"] = k
        raw.append(r)
    # people in view: the most tracked people found in one frame (a person the model lost
    # and found again, unrecognised, is not counted twice; flicker tracks do not count)
    n_view = int(in_frame.max()) if in_frame.size else 0
    tallest = max((float(r["height"]) for r in raw), default=1.0) or 1.0
    persons = []
    for num, r in enumerate(raw, start=1):
        eligible = (float(r["feet"]) >= cfg["min_feet_in_frame_share"]
                    and float(r["motion"]) >= cfg["min_leg_motion_leg"])
        score = 0.0
        if eligible:
            score = (float(r["share"]) * min(float(r["ratio"]), cfg["rhythm_ratio_cap"])
                     / cfg["rhythm_ratio_cap"] * min(float(r["motion"]), 1.0)
                     * float(np.sqrt(max(float(r["height"]), 0.0) / tallest)))
        persons.append(Person(number=num, n_frames=int(r["n"]),  # type: ignore[arg-type]
                              in_view_share=float(r["share"]),  # type: ignore[arg-type]
                              height_share=float(r["height"]),  # type: ignore[arg-type]
                              feet_in_frame_share=float(r["feet"]),  # type: ignore[arg-type]
                              leg_motion_leg=float(r["motion"]),  # type: ignore[arg-type]
                              rhythm_spm=float(r["spm"]),  # type: ignore[arg-type]
                              rhythm_peak_ratio=float(r["ratio"]),  # type: ignore[arg-type]
                              eligible=eligible, score=score,
                              box_px=r["box"]))  # type: ignore[arg-type]
    max_in = int(pose.n_people.max()) if T else 0
    frame_index = int(pose.frame_index[row]) if row >= 0 else -1
    common = dict(max_in_frame=max_in, frame_index=frame_index,
                  poses_per_frame=int(pose.people.shape[1]), n_in_view=n_view)
    if not persons:
        if person is not None:
            raise PersonChoiceError(f"--person {person}: nobody was tracked in this clip")
        return pose, People(persons=(), chosen=None, chosen_by="automatic", why="", **common)
    if person is not None:
        if not 1 <= person <= len(persons):
            raise PersonChoiceError(f"--person {person}: this clip has people 1-{len(persons)} "
                                    "(see people.png)")
        chosen, by = persons[person - 1], "--person"
        why = f"person {person} was chosen with --person ({chosen.describe()})"
    elif len(persons) == 1:
        chosen, by = persons[0], "only person"
        why = f"the only person tracked ({chosen.describe()})"
    else:
        by = "automatic"
        ok = [p for p in persons if p.eligible]
        if ok:
            chosen = max(ok, key=lambda p: p.score)
            why = (f"person {chosen.number} has the clearest gait (feet in frame, moving legs, "
                   f"steady step rhythm): {chosen.describe()}")
        else:
            chosen = max(persons, key=lambda p: (p.in_view_share, p.height_share))
            why = (f"nobody in view has both feet in the frame and moving legs; person "
                   f"{chosen.number} stayed in view longest ({chosen.describe()})")
        others = []
        for p in persons:
            if p is chosen:
                continue
            if p.feet_in_frame_share < cfg["min_feet_in_frame_share"]:
                others.append(f"person {p.number}: feet out of the frame in "
                              f"{100 * (1 - p.feet_in_frame_share):.0f} % of frames")
            elif p.leg_motion_leg < cfg["min_leg_motion_leg"]:
                others.append(f"person {p.number}: legs barely move (standing?)")
            else:
                others.append(f"person {p.number}: weaker gait evidence (score "
                              f"{p.score:.2f} vs {chosen.score:.2f})")
        if others:
            why += "; not " + "; ".join(others)
    k = tracks[chosen.number - 1]
    ps = _follows(pose, ids, k)
    tracking = ps is not None
    if ps is None:
        ps = _series_of(pose, ids, k)
    seen = np.flatnonzero(ps.detected)
    span = (float(ps.t_s[seen[0]]), float(ps.t_s[seen[-1]])) if seen.size else None
    return ps, People(persons=tuple(persons), chosen=chosen.number, chosen_by=by, why=why,
                      span_t_s=span, from_tracking=tracking, **common)


def with_census(main: PoseSeries, census: PoseSeries) -> PoseSeries:
    """``main`` (one person per frame, every frame) with the people of ``census`` (several
    per frame, some frames) in its ``people`` slots (NaN on frames the census skipped) and
    its person counts on census frames."""
    if census.people is None or main.n_frames == 0:
        return main
    row = {int(f): i for i, f in enumerate(main.frame_index)}
    people = np.full((main.n_frames,) + census.people.shape[1:], np.nan, np.float32)
    n = main.n_people.copy()
    for j, f in enumerate(census.frame_index):
        i = row.get(int(f))
        if i is not None:
            people[i] = census.people[j]
            n[i] = census.n_people[j]
    return replace(main, people=people, n_people=n)


def _follows(pose: PoseSeries, ids: np.ndarray, k: int, min_share: float | None = None
             ) -> PoseSeries | None:
    """The main (one-person, tracking) series restricted to track ``k``'s person, when it
    follows that person: its hips are within ``follow_max_body`` body heights of the
    track's on at least ``follow_min_share`` of the frames the track is seen in; frames where
    it is elsewhere (interpolated between the track's frames) or beyond the track's span are
    NaN.  None when the main series follows someone else (``min_share``: instead of
    ``follow_min_share``)."""
    cfg = settings()["people"]
    tt, sl = np.nonzero(ids == k)
    if tt.size < 3:
        return None
    order = np.argsort(tt)
    tt, sl = tt[order], sl[order]
    txy = pose.people[tt, sl, :, :2]  # type: ignore[index]
    thip = hip_mid(txy)
    size = np.nanmax(txy[..., 1], axis=1) - np.nanmin(txy[..., 1], axis=1)
    mhip = hip_mid(pose.xy_px)
    d = np.linalg.norm(mhip[tt] - thip, axis=1) / np.maximum(size, 1.0)
    near = np.isfinite(d) & (d <= cfg["follow_max_body"])
    if near.mean() < (cfg["follow_min_share"] if min_share is None else min_share) \
            or not near.any():
        return None
    t = pose.t_s
    hx = np.interp(t, t[tt], thip[:, 0])
    hy = np.interp(t, t[tt], thip[:, 1])
    sz = np.interp(t, t[tt], np.nan_to_num(size, nan=float(np.nanmedian(size))))
    dd = np.hypot(mhip[:, 0] - hx, mhip[:, 1] - hy) / np.maximum(sz, 1.0)
    # the census looks every few frames: the span reaches one census interval further
    pad = 1.5 * float(np.median(np.diff(t[tt]))) if tt.size > 1 else 0.0
    keep = (t >= t[tt[0]] - pad) & (t <= t[tt[-1]] + pad) & ~(dd > cfg["follow_max_body"])
    if keep.all():
        return pose
    m = ~keep
    nan2, nan1, nan3 = np.float32(np.nan), np.float32(np.nan), np.float32(np.nan)
    xy, z, vis, pres, world = (a.copy() for a in (pose.xy_px, pose.z, pose.visibility,
                                                  pose.presence, pose.world_m))
    xy[m], z[m], vis[m], pres[m], world[m] = nan2, nan1, nan1, nan1, nan3
    return replace(pose, xy_px=xy, z=z, visibility=vis, presence=pres, world_m=world)


def draw(image_rgb: np.ndarray, people: People, sx: float = 1.0, sy: float = 1.0
         ) -> np.ndarray:
    """``image_rgb`` (the frame ``people.frame_index``) with each tracked person boxed and
    numbered; the chosen one in a thicker, different colour.  ``sx``, ``sy``: scale from
    pose pixels to the image's."""
    import cv2

    img = np.ascontiguousarray(image_rgb.copy())
    u = max(1.0, float(np.sqrt(img.shape[0] * img.shape[1])) / 600.0)
    for p in people.persons:
        if not np.all(np.isfinite(p.box_px)):
            continue
        x0, y0, x1, y1 = p.box_px
        pad = 0.06 * (y1 - y0)
        a = (int(max(0, (x0 - pad) * sx)), int(max(0, (y0 - pad) * sy)))
        b = (int(min(img.shape[1] - 1, (x1 + pad) * sx)),
             int(min(img.shape[0] - 1, (y1 + pad) * sy)))
        chosen = p.number == people.chosen
        col = (230, 159, 0) if chosen else (86, 180, 233)  # orange / sky blue (RGB)
        th = int(round((4 if chosen else 2) * u))
        cv2.rectangle(img, a, b, (0, 0, 0), th + 2, cv2.LINE_AA)
        cv2.rectangle(img, a, b, col, th, cv2.LINE_AA)
        text = f"{p.number}" + (" analysed" if chosen else "")
        fs = 0.9 * u
        (tw, th_), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, fs, 2)
        org = (a[0] + 4, max(th_ + 4, a[1] - 6) if a[1] - 6 > th_ else a[1] + th_ + 6)
        cv2.rectangle(img, (org[0] - 3, org[1] - th_ - 4), (org[0] + tw + 3, org[1] + 5),
                      (0, 0, 0), -1)
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_DUPLEX, fs, col, 2, cv2.LINE_AA)
    return img
