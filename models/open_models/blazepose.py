"""BlazePose GHUM 3D (MediaPipe, Apache-2.0) as ONNX: what is converted, and what it means.

Sources (pinned in packages.py): `pose_landmark_full.tflite` and `pose_detection.tflite`
from the PyPI wheel mediapipe 0.10.21; `pose_landmark_lite.tflite` and
`pose_landmark_heavy.tflite` from npm @mediapipe/pose 0.5.1675469404. Converted with the
project's tflite_to_onnx.py into `.deps/models/` (see TARGETS).

Landmark models (lite / full / heavy share the interface), ONNX opset 17:

  input  `image`           float32 [batch, 3, 256, 256]  planar (CHW) RGB in [0, 1]: the
                           square person crop, turned so the body is upright (hips -> head
                           pointing up), sampled bilinearly, edge pixels repeated outside the
                           frame (images.crop). The TFLite model takes NHWC [1, 256, 256, 3];
                           the ONNX graph is NCHW so a planar crop writer feeds it directly.
  output `landmarks`       float32 [batch, 195]  39 points x (x, y, z, visibility, presence):
                           x, y in crop pixels (0 at the crop's left / top edge, 256 at the
                           right / bottom edge; x right, y down); z in the same pixel scale,
                           0 at the hips' mid-point, smaller = nearer the camera; visibility
                           and presence are LOGITS: MediaPipe applies a sigmoid to both.
                           Points 0-32: POSE_LANDMARK_NAMES; 33 = the hips' mid-point, 34 = a
                           point above the head on the body's axis (roi_from_tracking_points).
  output `pose_presence`   float32 [batch, 1]  probability that a person is in the crop (the
                           graph ends in a sigmoid; MediaPipe drops the result below 0.5).
  output `world_landmarks` float32 [batch, 117]  39 points x (x, y, z) in metres, origin at
                           the hips' mid-point, in the crop's axes: x right, y down, z away
                           from the camera (right-handed, like OpenCV's camera axes). MediaPipe
                           turns x, y by the crop's rotation to give them in the frame's axes
                           (WorldLandmarkProjectionCalculator); an upright crop needs nothing.

The TFLite graphs' segmentation (256 x 256 logits) and heatmap (64 x 64 x 39 logits)
outputs are left out of the default files (they cost time; see bench.py). MediaPipe uses the
heatmap to refine x, y: per point, over a 7x7 window of the 64x64 map around the point,
the sigmoid-weighted mean of the cell indices (col / 64, row / 64) replaces x, y when the
window's largest sigmoid is at least 0.5. The `*_with_heatmap` targets keep it (`heatmap`
[batch, 39, 64, 64], NCHW logits) for whoever wants that refinement.

Detector (`pose_detection.onnx`): input `image` float32 [batch, 3, 224, 224] RGB in [-1, 1]
(the frame letterboxed to a square); outputs `boxes` [batch, 2254, 12] (per anchor: box
centre x, y, width, height, then 4 keypoints x, y, as offsets in input pixels) and `scores`
[batch, 2254, 1] (logits). Anchors and decoding: models/README.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np

from . import packages as pk

POSE_LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
NUM_POINTS = 39  # 33 pose landmarks, 2 tracking helpers, 4 unused
CROP_SIZE = 256
HIPS_CENTRE_POINT = 33
BEYOND_HEAD_POINT = 34

_LANDMARK_OUTPUTS = {"Identity": "landmarks", "Identity_1": "pose_presence", "Identity_4": "world_landmarks"}
_HEATMAP_OUTPUT = {"Identity_3": "heatmap"}


@dataclasses.dataclass(frozen=True)
class Target:
    name: str  # what the entry point calls it
    source: pk.PackagedFile
    onnx_file: str  # in .deps/models/
    outputs: dict
    doc: str


def _landmark_doc(variant: str, heatmap: bool) -> str:
    return (f"BlazePose GHUM 3D landmark model ({variant}), MediaPipe, Apache-2.0. "
            "Input image [batch,3,256,256] planar RGB in [0,1] (upright person crop). Outputs: "
            "landmarks [batch,195] = 39 x (x, y, z in crop pixels, visibility logit, presence logit); "
            "pose_presence [batch,1] probability; world_landmarks [batch,117] = 39 x (x, y, z) metres, "
            "origin at the hips' mid-point, x right, y down, z away from the camera (crop axes)"
            + ("; heatmap [batch,39,64,64] logits." if heatmap else ".")
            + " Converted from TFLite by hmr2-gst models/open_models.")


def _landmark_target(name: str, source: pk.PackagedFile, variant: str, heatmap: bool = False) -> Target:
    outputs = dict(_LANDMARK_OUTPUTS, **(_HEATMAP_OUTPUT if heatmap else {}))
    suffix = "_with_heatmap" if heatmap else ""
    return Target(name, source, f"pose_landmark_{variant}{suffix}.onnx", outputs, _landmark_doc(variant, heatmap))


TARGETS = {t.name: t for t in [
    _landmark_target("pose_landmark_full", pk.POSE_LANDMARK_FULL, "full"),
    _landmark_target("pose_landmark_full_with_heatmap", pk.POSE_LANDMARK_FULL, "full", heatmap=True),
    _landmark_target("pose_landmark_lite", pk.POSE_LANDMARK_LITE, "lite"),
    _landmark_target("pose_landmark_heavy", pk.POSE_LANDMARK_HEAVY, "heavy"),
    Target("pose_detection", pk.POSE_DETECTION, "pose_detection.onnx",
           {"Identity": "boxes", "Identity_1": "scores"},
           "BlazePose person detector, MediaPipe, Apache-2.0. Input image [batch,3,224,224] RGB in "
           "[-1,1] (letterboxed frame). Outputs boxes [batch,2254,12] (per anchor: cx, cy, w, h, "
           "4 keypoints x, y; offsets in input pixels), scores [batch,2254,1] logits. "
           "Converted from TFLite by hmr2-gst models/open_models."),
]}
# What `fetch_open_models.py pose` makes; the rest are on request.
DEFAULT_TARGETS = ("pose_landmark_full", "pose_detection")


def models_dir(deps: Path | None = None) -> Path:
    return (deps or pk.DEPS) / "models"


def source_dir(pf: pk.PackagedFile, deps: Path | None = None) -> Path:
    """Where a package's extracted files live: .deps/models/<package>-<version>/."""
    return models_dir(deps) / f"{pf.package.name.lstrip('@').replace('/', '-')}-{pf.package.version}"


def tflite_path(target: Target, deps: Path | None = None) -> Path:
    return source_dir(target.source, deps) / Path(target.source.member).name


def onnx_path(target: Target, deps: Path | None = None) -> Path:
    return models_dir(deps) / target.onnx_file


def recipe_fingerprint(target: Target) -> str:
    """Changes when the converter, this recipe or the onnx package does: the output is stale then."""
    import onnx  # noqa: PLC0415  (only when a fingerprint is needed)

    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for f in ("tflite_to_onnx.py", "blazepose.py"):
        h.update((here / f).read_bytes())
    h.update(json.dumps([target.name, target.source.sha256, target.outputs, target.doc,
                         onnx.__version__]).encode())
    return h.hexdigest()


def _stamp_path(out: Path) -> Path:
    return out.with_name(out.name + ".stamp")


def is_current(target: Target, deps: Path | None = None) -> bool:
    out = onnx_path(target, deps)
    try:
        stamp = json.loads(_stamp_path(out).read_text())
    except (OSError, ValueError):
        return False
    src = tflite_path(target, deps)  # the tests compare against it: it must be there too
    return (out.exists() and src.exists() and stamp.get("recipe") == recipe_fingerprint(target)
            and stamp.get("onnx_sha256") == pk.sha256_of(out) and pk.sha256_of(src) == target.source.sha256
            and all(Path(p).exists() for p in stamp.get("licence_files", [])))


def _licence_files(target: Target, deps: Path | None) -> list[Path]:
    pkg = target.source.package
    if pkg is pk.MEDIAPIPE_WHEEL:
        return [pk.extract(pk.MEDIAPIPE_LICENSE, source_dir(pk.MEDIAPIPE_LICENSE, deps) / "LICENSE")]
    if pkg is pk.MEDIAPIPE_POSE_NPM:
        return [pk.extract(pk.MEDIAPIPE_POSE_PACKAGE_JSON,
                           source_dir(pk.MEDIAPIPE_POSE_PACKAGE_JSON, deps) / "package.json")]
    return []


def build(target: Target, deps: Path | None = None, force: bool = False) -> tuple[Path, bool]:
    """Fetch, check, extract and convert `target`; returns (onnx path, whether it was rebuilt)."""
    out = onnx_path(target, deps)
    if not force and is_current(target, deps):
        return out, False
    from . import tflite_to_onnx as t2o  # noqa: PLC0415  (heavy imports only when converting)

    downloads = (deps or pk.DEPS) / "downloads"
    src = pk.extract(target.source, tflite_path(target, deps), downloads)
    licences = _licence_files(target, deps)
    model = t2o.read_tflite(src)
    pkg = target.source.package
    metadata = {
        "source.package": f"{pkg.registry}:{pkg.spec}",
        "source.package_file": pkg.filename,
        "source.package_sha256": pkg.sha256,
        "source.file": target.source.member,
        "source.file_sha256": target.source.sha256,
        "licence": pkg.licence,
        "converter": "hmr2-gst models/open_models/tflite_to_onnx.py",
    }
    onnx_model = t2o.convert(model, {"input_1": "image"}, target.outputs, graph_name=target.name,
                             doc_string=target.doc, metadata=metadata, dynamic_batch=True)
    data = onnx_model.SerializeToString()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    stamp = {
        "recipe": recipe_fingerprint(target),
        "onnx_sha256": hashlib.sha256(data).hexdigest(),
        "source": str(src),
        "source_sha256": target.source.sha256,
        "licence_files": [str(p) for p in licences],
    }
    _stamp_path(out).write_text(json.dumps(stamp, indent=1) + "\n")
    return out, True


# ---------------------------------------------------------------------------------------
# Reading the outputs (numpy reference of what the integrator implements)
# ---------------------------------------------------------------------------------------

def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def split_landmarks(landmarks: np.ndarray) -> dict:
    """One crop's `landmarks` [195] -> xyz [39, 3] crop pixels, visibility / presence [39] probabilities."""
    p = np.asarray(landmarks, np.float64).reshape(NUM_POINTS, 5)
    return {"xyz": p[:, :3], "visibility": sigmoid(p[:, 3]), "presence": sigmoid(p[:, 4])}


def roi_from_tracking_points(p33, p34, scale: float = 1.25) -> tuple[float, float, float, float]:
    """MediaPipe's next-frame crop from points 33 and 34, both in frame pixels (y down).

    Centre = point 33 (the hips' mid-point); side = 2 |p34 - p33| * scale; rotation =
    pi/2 - atan2(-(y34 - y33), x34 - x33), wrapped to [-pi, pi): 0 when point 34 is straight
    above point 33, positive when it leans to the frame's right (images.py's crop turns the
    same way). scale 1.25 is what mediapipe 0.10.21 does (PoseLandmarksToRoi; measured
    against it on three photos); its detector path applies the same rule to the detector's
    keypoints 0 and 1, also with 1.25. Returns (cx, cy, side, rotation).
    """
    (x0, y0), (x1, y1) = np.asarray(p33, float)[:2], np.asarray(p34, float)[:2]
    side = 2.0 * math.hypot(x1 - x0, y1 - y0) * scale
    rotation = math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0)
    rotation = rotation - 2 * math.pi * math.floor((rotation + math.pi) / (2 * math.pi))
    return float(x0), float(y0), side, rotation


def refine_with_heatmap(xyz: np.ndarray, heatmap: np.ndarray, kernel: int = 7,
                        min_confidence: float = 0.5) -> np.ndarray:
    """MediaPipe's heatmap refinement of x, y (RefineLandmarksFromHeatmapCalculator, as its
    pose graph configures it): xyz [39, 3] crop pixels, heatmap [39, 64, 64] logits (the
    `heatmap` output of a *_with_heatmap model). Per point: the kernel x kernel window of
    cells around the point's cell; when the window's largest sigmoid reaches min_confidence,
    x, y become the sigmoid-weighted mean cell index (col, row) / 64 * 256. z is kept.
    """
    out = np.array(xyz, np.float64, copy=True)
    n, rows, cols = heatmap.shape
    half = (kernel - 1) // 2
    for i in range(n):
        c, r = int(out[i, 0] / CROP_SIZE * cols), int(out[i, 1] / CROP_SIZE * rows)
        if not (0 <= c < cols and 0 <= r < rows):
            continue
        r0, r1, c0, c1 = max(0, r - half), min(rows, r + half + 1), max(0, c - half), min(cols, c + half + 1)
        conf = sigmoid(heatmap[i, r0:r1, c0:c1].astype(np.float64))
        if conf.max() >= min_confidence and conf.sum() > 0:
            rr, cc = np.mgrid[r0:r1, c0:c1]
            out[i, 0] = (cc * conf).sum() / conf.sum() / cols * CROP_SIZE
            out[i, 1] = (rr * conf).sum() / conf.sum() / rows * CROP_SIZE
    return out
