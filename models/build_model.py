"""Build ``models/pose_landmarker_full.task`` from the BlazePose models in the
``mediapipe==0.10.21`` wheel.

This is a one-off *build* script, not part of the formcheck package. It must
run in a throwaway virtualenv that has the legacy 0.10.21 wheel (which ships
both the raw ``.tflite`` files and the metadata / bundle writers); the runtime
package uses mediapipe 1.x, which only needs the resulting ``.task`` file.

Why: mediapipe 1.x's PoseLandmarker loads a "model asset bundle" (a zip with
``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``). The raw
models in the 0.10.21 wheel cannot be used as-is, because the landmark model
has no TFLite metadata and 1.x refuses float32 image inputs without
``NormalizationOptions`` ("Input tensor has type float32: it requires
specifying NormalizationOptions metadata"). The detector *does* carry metadata
in the wheel, but it is a copy-paste from the face detector ("Full Range Face
Detection"); we replace it with correct pose metadata (same normalisation).

Normalisation (matching the legacy graphs in mediapipe/modules/):
  * pose_detection.tflite  (224x224x3 float32): pixels -> [-1, 1],
    i.e. mean 127.5, std 127.5   (pose_detection_cpu.pbtxt, float range -1..1)
  * pose_landmark_full.tflite (256x256x3 float32): pixels -> [0, 1],
    i.e. mean 0, std 255          (pose_landmark_by_roi_cpu.pbtxt, range 0..1)

Everything else the Tasks graphs need (SSD anchors, box decoding, ROI
expansion, landmark split ranges) is hard-coded in mediapipe's C++
PoseDetectorGraph / PoseLandmarksDetectorGraph, so image-input metadata is all
the models need.

How to run (from the repository root)::

    python3 -m venv /work/venv_legacy
    /work/venv_legacy/bin/pip install mediapipe==0.10.21 av   # pulls numpy<2
    /work/venv_legacy/bin/python models/build_model.py

Options: ``--output PATH`` (default: models/pose_landmarker_full.task next to
this script). The script prints the sha256 of its inputs and of the output.
The output is byte-for-byte reproducible for the same wheel.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

EXPECTED_MEDIAPIPE = "0.10.21"

DETECTOR_SRC = "modules/pose_detection/pose_detection.tflite"
LANDMARKER_SRC = "modules/pose_landmark/pose_landmark_full.tflite"

# Names expected inside the bundle by mediapipe's PoseLandmarkerGraph.
DETECTOR_NAME = "pose_detector.tflite"
LANDMARKER_NAME = "pose_landmarks_detector.tflite"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _import_legacy_mediapipe():
    try:
        import mediapipe as mp
        from mediapipe.tasks.python.metadata.metadata_writers import (
            metadata_writer,
            model_asset_bundle_utils,
        )
    except ImportError as exc:  # pragma: no cover - environment problem
        sys.exit(
            "This script needs mediapipe==%s (the legacy wheel with the metadata "
            "writers); run it in the throwaway venv, see the docstring. (%s)"
            % (EXPECTED_MEDIAPIPE, exc)
        )
    if mp.__version__ != EXPECTED_MEDIAPIPE:
        sys.exit(
            "Expected mediapipe==%s, found %s" % (EXPECTED_MEDIAPIPE, mp.__version__)
        )
    return mp, metadata_writer, model_asset_bundle_utils


def add_detector_metadata(metadata_writer, model: bytes) -> bytes:
    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(
        "BlazePose detector",
        "Detects a person (face/upper-body box and 4 alignment keypoints: hip "
        "centre, full-body scale point, shoulder centre, upper-body scale "
        "point). Input 224x224 RGB, float in [-1, 1].",
    )
    writer.add_image_input(
        norm_mean=[127.5],
        norm_std=[127.5],
        color_space_type=metadata_writer.MetadataWriter.color_space_types.RGB,
    )
    writer.add_feature_output(
        name="raw boxes/keypoints",
        description="2254 SSD anchors x 12 (box cx, cy, w, h + 4 keypoints x 2).",
    )
    writer.add_feature_output(
        name="scores", description="2254 raw (pre-sigmoid) person scores."
    )
    model_with_md, _ = writer.populate()
    return bytes(model_with_md)


def add_landmarker_metadata(metadata_writer, model: bytes) -> bytes:
    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(
        "BlazePose GHUM 3D landmarks (full)",
        "33 body landmarks (+ 6 auxiliary) on a 256x256 RGB crop around the "
        "person, float in [0, 1].",
    )
    writer.add_image_input(
        norm_mean=[0.0],
        norm_std=[255.0],
        color_space_type=metadata_writer.MetadataWriter.color_space_types.RGB,
    )
    # Output order is what PoseLandmarksDetectorGraph splits on (by index).
    for name, desc in (
        ("landmarks", "39 landmarks x 5 (x, y, z, visibility, presence) in crop pixels."),
        ("pose flag", "Pose presence score (raw)."),
        ("segmentation", "256x256 person segmentation logits."),
        ("heatmap", "64x64x39 heatmap used to refine landmark positions."),
        ("world landmarks", "39 landmarks x 3, metric, hip-centred."),
    ):
        writer.add_feature_output(name=name, description=desc)
    model_with_md, _ = writer.populate()
    return bytes(model_with_md)


def main(argv=None) -> int:
    default_out = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "pose_landmarker_full.task"
    )
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=default_out)
    args = parser.parse_args(argv)

    mp, metadata_writer, bundle_utils = _import_legacy_mediapipe()
    root = os.path.dirname(mp.__file__)

    with open(os.path.join(root, DETECTOR_SRC), "rb") as f:
        detector_raw = f.read()
    with open(os.path.join(root, LANDMARKER_SRC), "rb") as f:
        landmarker_raw = f.read()
    print("input  mediapipe/%s  sha256=%s" % (DETECTOR_SRC, sha256(detector_raw)))
    print("input  mediapipe/%s  sha256=%s" % (LANDMARKER_SRC, sha256(landmarker_raw)))

    detector = add_detector_metadata(metadata_writer, detector_raw)
    landmarker = add_landmarker_metadata(metadata_writer, landmarker_raw)
    print("bundle %s  sha256=%s" % (DETECTOR_NAME, sha256(detector)))
    print("bundle %s  sha256=%s" % (LANDMARKER_NAME, sha256(landmarker)))

    bundle_utils.create_model_asset_bundle(
        {DETECTOR_NAME: detector, LANDMARKER_NAME: landmarker}, args.output
    )
    # zipfile stamps entries with the current time; pin it so rebuilds are
    # byte-identical.
    _normalise_zip_timestamps(args.output)
    with open(args.output, "rb") as f:
        out = f.read()
    print("output %s  %d bytes  sha256=%s" % (args.output, len(out), sha256(out)))
    return 0


def _normalise_zip_timestamps(path: str) -> None:
    """Rewrite the DOS date/time fields of every entry to 1980-01-01 00:00.

    Done in place on the local and central-directory headers so the 4-byte
    alignment chosen by model_asset_bundle_utils is untouched.
    """
    import struct
    import zipfile

    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    dos_time, dos_date = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        for info in infos:
            off = info.header_offset
            assert data[off:off + 4] == b"PK\x03\x04"
            struct.pack_into("<HH", data, off + 10, dos_time, dos_date)
        # Walk the central directory from the end-of-central-directory record.
        eocd = data.rfind(b"PK\x05\x06")
        n_entries, _, cd_offset = struct.unpack_from("<HII", data, eocd + 10)
        pos = cd_offset
        for _ in range(n_entries):
            assert data[pos:pos + 4] == b"PK\x01\x02"
            struct.pack_into("<HH", data, pos + 12, dos_time, dos_date)
            name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
            pos += 46 + name_len + extra_len + comment_len
        f.seek(0)
        f.write(data)


if __name__ == "__main__":
    sys.exit(main())
