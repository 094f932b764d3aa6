"""The one entry point the CLI, batch and tests share: :func:`analyze`.

video -> pose.extract -> people.choose -> signals.clean -> view.classify -> events.detect
-> gait.classify -> level.level (the camera's roll; the metrics see the landmarks turned
level) -> metrics.compute -> rules.evaluate.  Each stage is a function from plain
data to plain data; reports and the annotated video are written from the resulting
:class:`Analysis`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck import events as events_mod
from formcheck import gait, signals, view
from formcheck import level as level_mod
from formcheck import metrics as metrics_mod
from formcheck import people as people_mod
from formcheck.errors import NoRunnerError
from formcheck.metrics.cadence import cadence_spm
from formcheck.pose import DEFAULT_MODEL_SIDE_PX, PoseSeries, extract

#: People the pose model may find per frame by default.  Measured on the 360-frame 720x1280
#: sample (one person, 2 shared cores): the model alone runs at 37-39 fps asked for 1 person
#: and 20-24 fps asked for 3 or 5 (it then runs its person detector on every frame; the count
#: itself barely matters), and its landmarks of a lone runner get worse.  So several people
#: are looked for in a census at ``census_hz`` beside the one-person run (see
#: :func:`run_pose`); that census is what the default costs: the whole pose stage on the
#: sample ran at 41-44 fps for one person, 29-30 fps with the census (1.4x the time).  It
#: buys seeing bystanders, coaches and other runners, without which the runner cannot be
#: chosen.
DEFAULT_NUM_POSES = 4

#: Context (s) analysed on each side of a --start/--end window.
WINDOW_MARGIN_S = 1.0


@dataclass(frozen=True)
class Options:
    """User settings for one analysis (all optional).

    Attributes:
        model: pose model bundle path (None = packaged model).
        slowmo: slow-motion factor of the clip (2 = plays at half speed).
        view, direction, setting, gait: override the automatic classification.
        height_cm: runner's height, for the figures in metres (the image scale from the
            runner's leg length, :mod:`formcheck.metrics.scale`).
        scale_px_per_m: the image scale at the runner (px per metre); wins over
            ``height_cm``.
        start_s, end_s: analyse only this window (real time, s).
        rules: rules TOML path (None = packaged rules).
        model_side_px: longest side of frames handed to the model.
        num_poses: people the model may find per frame (:data:`DEFAULT_NUM_POSES`; 1 is
            faster but cannot see anyone else, so cannot choose the runner among them).
        person: analyse this tracked person (number as in people.png); None = the runner
            is chosen automatically (:mod:`formcheck.people`).
        jobs: worker processes for the clip's pose model and annotated video (None = the
            usable CPU cores; 1 = one pass in this process).
        camera_roll_deg: the camera's roll (deg, + = image turned clockwise) to correct the
            angles for; None = measured from the ground line (:mod:`formcheck.level`), 0 =
            no correction.
    """

    model: str | None = None
    slowmo: float = 1.0
    view: str | None = None
    direction: str | None = None
    setting: str | None = None
    gait: str | None = None
    height_cm: float | None = None
    start_s: float | None = None
    end_s: float | None = None
    rules: str | None = None
    model_side_px: int | None = DEFAULT_MODEL_SIDE_PX
    num_poses: int = DEFAULT_NUM_POSES
    person: int | None = None
    jobs: int | None = 1
    scale_px_per_m: float | None = None
    camera_roll_deg: float | None = None

    def to_dict(self) -> dict[str, object]:
        """The analysis settings (``jobs`` is left out: it changes how fast, not what)."""
        return {k: v for k, v in self.__dict__.items() if k != "jobs"}


@dataclass(frozen=True)
class Analysis:
    """Everything one analysis produced.

    ``pose`` is the analysed person over the analysed stretch; ``pose_full`` the same person
    over the whole clip with every person's landmarks (what landmarks.npz holds)."""

    source: str
    options: Options
    pose: PoseSeries
    clean: signals.CleanSeries
    view: view.ViewInfo
    events: events_mod.Events
    metrics: metrics_mod.Metrics
    findings: list = field(default_factory=list)
    rules: object | None = None
    warnings: tuple[str, ...] = ()
    people: people_mod.People | None = None
    pose_full: PoseSeries | None = None
    level: level_mod.Level | None = None


def run_pose(path: str | os.PathLike[str], options: Options, progress: bool | None = None,
             pool: Any = None) -> PoseSeries:
    """Pose stage: the runner's landmarks, and everyone in view.

    Asked for one person per frame, the model tracks that person from frame to frame (the
    best landmarks it gives); asked for several, it re-detects people in every frame, and the
    landmarks of even a lone runner change (bench/accuracy.py: sample contact time 230 ->
    163 ms, left/right agreement 79 -> 64 %).  So with ``num_poses`` > 1 the clip is run
    (1) with one person per frame at full rate and (2) as a census of everyone, with
    ``num_poses`` per frame on frames ``census_hz`` apart (settings.toml ``[people]``).  When
    the census finds the runner (:func:`formcheck.people.choose`) to be the person the
    tracking run followed, the tracking run's landmarks are used; otherwise (3) the model is
    run again on every frame with ``num_poses`` people, and the runner's landmarks come from
    that run.  ``pool``: a :class:`formcheck.pose_parallel.PosePool` for the one-person
    run's time segments (``options.jobs``); the census runs in one pass.
    """
    kw = dict(model_path=options.model, slowmo=options.slowmo,
              model_side_px=options.model_side_px)
    main = extract(path, num_poses=1, progress=progress, jobs=options.jobs, pool=pool, **kw)
    if options.num_poses <= 1 or main.n_frames == 0:
        return main
    from formcheck.config import settings
    from formcheck.pose import extract_frames
    from formcheck.video import iter_frames, probe

    info = probe(path, slowmo=options.slowmo)
    # video frames/s: the series' times are real time, which --slowmo FACTOR makes FACTOR x
    # faster than the video's (multiplying here took one census frame in 81 on a 9x clip,
    # missed the runner and so re-ran the model with several people per frame: worse landmarks)
    fps = main.fps_real / options.slowmo if main.n_frames > 1 else 30.0
    step = max(1, int(round(fps / float(settings()["people"]["census_hz"]))))
    frames = (fr for fr in iter_frames(path, slowmo=options.slowmo,
                                       max_side_px=options.model_side_px)
              if fr.index % step == 0)
    census = extract_frames(frames, info, model_path=options.model,
                            num_poses=options.num_poses, progress=progress)
    pose = people_mod.with_census(main, census)
    if pose.people is None or people_mod.choose(pose, options.person)[1].from_tracking:
        return pose
    return extract(path, num_poses=options.num_poses, progress=progress, **kw)


def analyze_pose(pose: PoseSeries, options: Options | None = None) -> Analysis:
    """Run every stage after the pose model on a landmark series."""
    from formcheck import rules as rules_mod

    options = options or Options()
    if options.slowmo != pose.slowmo:
        pose = pose.with_slowmo(options.slowmo)
    pose_full, ppl = people_mod.choose(pose, options.person)
    pose = pose_full
    if ppl.span_t_s is not None and ppl.n_people > 1 and pose.n_frames and (
            ppl.span_t_s[0] > pose.t_s[0] or ppl.span_t_s[1] < pose.t_s[-1]):
        # with others in view, the analysis covers the stretch the runner is in view (their
        # absence before and after is not "runner not visible")
        pose = pose.slice(*ppl.span_t_s)
    window = options.start_s is not None or options.end_s is not None
    if window:
        # clean and find events with a margin of context, then keep the window's steps: the
        # filter and the event search have no edge effects at the window's limits
        full = pose
        pose = pose.slice(options.start_s, options.end_s)
        context = full.slice(None if options.start_s is None else options.start_s - WINDOW_MARGIN_S,
                             None if options.end_s is None else options.end_s + WINDOW_MARGIN_S)
    if pose.n_frames == 0 or not pose.detected.any():
        raise NoRunnerError("no person was found in any frame; is the runner in view?",
                            pose.source or None)
    det_rate = pose.detection_rate
    raw_view = options.view
    repair = raw_view not in ("front", "back")
    clean = signals.clean(pose.t_s, pose.xy_px, pose.visibility, repair_identity=repair)
    vinfo = view.classify(clean, view=options.view, direction=options.direction,
                          setting=options.setting, world_m=pose.world_m)
    if vinfo.view in ("front", "back") and repair:
        # the identity repair is for side views; in front/back views labels are reliable
        clean = signals.clean(pose.t_s, pose.xy_px, pose.visibility, repair_identity=False)
    centre = (pose.width_px / 2.0, pose.height_px / 2.0)
    if window:
        ctx_clean = signals.clean(context.t_s, context.xy_px, context.visibility,
                                  repair_identity=vinfo.view not in ("front", "back"))
        ev = events_mod.restrict(events_mod.detect(ctx_clean, vinfo), options.start_s,
                                 options.end_s)
    else:
        ev = events_mod.detect(clean, vinfo)
    # the camera's roll from the ground line at these events; the metrics read angles and
    # vertical travel in the camera's level frame (the image frame stays in ``clean``, for
    # the annotated video)
    # stances whose foot the identity repair handed to the other leg: relabel them so
    # every per-step value is read from the foot that is on the ground
    stance = clean if window else signals.swap_legs(clean, ev.stance_swap)
    lv = level_mod.level(stance, vinfo, ev, options.camera_roll_deg)
    if lv.corrected:
        # the events again in the level frame: a rolled image tilts the rising foot's path
        # (overground at +3 deg, toe-off read 20 ms late)
        if window:
            ev = events_mod.restrict(events_mod.detect(level_mod.apply(ctx_clean, lv, centre),
                                                       vinfo), options.start_s, options.end_s)
        else:
            ev = events_mod.detect(level_mod.apply(clean, lv, centre), vinfo)
            stance = signals.swap_legs(clean, ev.stance_swap)
    clean = stance
    ev = events_mod.with_frames(ev, pose.t_s, pose.frame_index)
    vinfo = gait.classify(clean, vinfo, ev, cadence_spm(ev)[0], options.gait)
    plausible = view.body_plausible_share(pose.xy_px)  # undetected frames are NaN: skipped
    camera = view.vertical_travel_doubts(pose.xy_px, vinfo) + signals.landmark_jump_doubts(
        clean.leg_jump_share)
    level_clean = level_mod.apply(clean, lv, centre)
    met = metrics_mod.compute(level_clean, vinfo, ev, height_cm=options.height_cm,
                              detection_rate=det_rate, body_plausible=plausible,
                              extra_doubts=camera, scale_px_per_m=options.scale_px_per_m)
    ruleset = rules_mod.load_rules(Path(options.rules) if options.rules else None)
    findings = rules_mod.evaluate(gait.judged(met.summaries, vinfo.gait), ruleset, met.doubts)
    warnings = met.warnings
    if ppl.n_people > 1:
        warnings = (f"{ppl.n_people} people were in view (up to {ppl.max_in_frame} at once): "
                    f"formcheck analysed person {ppl.chosen}, because {ppl.why}. Check "
                    "people.png and annotated.mp4; pick another with --person N",
                    ) + tuple(warnings)
    return Analysis(source=pose.source, options=options, pose=pose, clean=clean, view=vinfo,
                    events=ev, metrics=met, findings=findings, rules=ruleset,
                    warnings=warnings, people=ppl, pose_full=pose_full, level=lv)


def analyze(path: str | os.PathLike[str], options: Options | None = None,
            progress: bool | None = None) -> Analysis:
    """Analyse a running video end to end."""
    options = options or Options()
    pose = run_pose(path, options, progress=progress)
    return analyze_pose(pose, options)
