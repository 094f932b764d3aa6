"""Real multi-person clips made from real ones, for the people-stage tests.

:func:`with_still_person` puts a frozen copy of one frame (a person who does not move: a
bystander standing still) beside the moving clip, on either side.  Frames are real decoded
video, re-encoded with the project's own H.264 writer, so the pose model sees ordinary
compressed video.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from formcheck.video import VideoWriter, iter_frames, probe


def _resize_h(img: np.ndarray, h: int) -> np.ndarray:
    import cv2

    if img.shape[0] == h:
        return img
    w = int(round(img.shape[1] * h / img.shape[0]))
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def with_still_person(src: Path, out: Path, still: Path, still_frame: int = 0,
                      runner_left: bool = True, max_s: float = 6.0, height_px: int = 640,
                      crop_x: tuple[float, float] = (0.0, 1.0),
                      still_crop_x: tuple[float, float] = (0.0, 1.0)) -> Path:
    """``src``'s frames (first ``max_s`` s; columns ``crop_x``, as shares of the width) with
    frame ``still_frame`` of ``still`` held still beside them; ``runner_left``: the moving
    clip on the left.  (The pose model's person detector sees a 224 px copy of the frame: a
    composite much wider than its sources would shrink both people below what it finds.)"""
    frozen = None
    for fr in iter_frames(still):
        if fr.index == still_frame:
            frozen = _resize_h(fr.image, height_px)
            a, b = (int(round(c * frozen.shape[1])) for c in still_crop_x)
            frozen = frozen[:, a:b]
            break
    assert frozen is not None
    info = probe(src)
    writer = None
    try:
        for fr in iter_frames(src):
            if fr.t_s > max_s:
                break
            img = _resize_h(fr.image, height_px)
            a, b = (int(round(c * img.shape[1])) for c in crop_x)
            img = img[:, a:b]
            row = np.concatenate([img, frozen] if runner_left else [frozen, img], axis=1)
            if writer is None:
                writer = VideoWriter(out, row.shape[1], row.shape[0], info.nominal_fps,
                                     crf=18)
            writer.write(row, fr.t_s)
    finally:
        if writer is not None:
            writer.close()
    return out
