"""The project's body-model file format ("hmr2 body model") and a numpy SMPL-style forward pass.

This module is the single Python definition of the format documented in
``models/BODY_MODEL_FORMAT.md``. Every Python tool of the project (the mannequin
generator, the sample-clip renderer, the tests, the converter from an official SMPL
file) reads and writes body models through it.

File format, in short: a safetensors file holding

==============  =====  ============  =================================================
name            dtype  shape         meaning
==============  =====  ============  =================================================
v_template      F32    [V, 3]        rest vertices, metres (T-pose, y up, faces +z)
faces           U32    [F, 3]        triangles, counter-clockwise seen from outside
shapedirs       F32    [V, 3, S]     shape blend shapes (metres per unit beta)
posedirs        F32    [207, V*3]    optional: pose blend shapes; row = pose
                                     feature, column = vertex*3 + axis
J_regressor     F32    [24, V]       joint regressor (dense)
weights         F32    [V, 24]       linear-blend-skinning weights, rows sum to 1
parents         I32    [24]          kinematic tree, -1 for the root
==============  =====  ============  =================================================

plus ``__metadata__`` with ``format`` = ``hmr2-body-model``, ``version`` = ``1``,
``joint_names`` (comma separated) and ``source``.

The forward pass (:func:`forward`) is plain linear blend skinning with shape and pose
blend shapes, the same arithmetic as SMPL:

1. ``v_shaped = v_template + shapedirs . betas``
2. ``J = J_regressor . v_shaped`` (rest joints)
3. ``pose_feature = flatten(R_j - I for j in 1..23)`` (207 values, row-major per joint)
4. ``v_posed = v_shaped + reshape(pose_feature . posedirs, [V, 3])`` (skipped when the
   model has no ``posedirs``)
5. world transforms ``G_j = G_parent(j) . [R_j | J_j - J_parent(j)]`` along the tree
6. skinning: ``v = sum_j w_vj (G_j with the rest joint removed) . v_posed``

Rotations are 3x3 matrices. ``R_0`` (global orientation) rotates the whole body about the
pelvis joint; the other 23 are relative to their parent joint.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT_NAME = "hmr2-body-model"
FORMAT_VERSION = "1"

NUM_JOINTS = 24
NUM_POSE_FEATURES = 9 * (NUM_JOINTS - 1)  # 207

JOINT_NAMES = (
    "pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle",
    "r_ankle", "spine3", "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head",
    "l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_hand",
    "r_hand",
)

PARENTS = np.array(
    [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21],
    dtype=np.int32,
)

# Tensor order in the file (the loader does not depend on it; the writer uses it so the
# output is byte-for-byte reproducible).
TENSOR_ORDER = ("v_template", "faces", "shapedirs", "posedirs", "J_regressor", "weights", "parents")
# Tensors a file may leave out: a model without pose correctives has no posedirs.
OPTIONAL_TENSORS = ("posedirs",)

_DTYPES = {
    "v_template": np.float32,
    "faces": np.uint32,
    "shapedirs": np.float32,
    "posedirs": np.float32,
    "J_regressor": np.float32,
    "weights": np.float32,
    "parents": np.int32,
}

_SAFETENSORS_DTYPE = {np.dtype(np.float32): "F32", np.dtype(np.uint32): "U32", np.dtype(np.int32): "I32"}


@dataclass
class BodyModel:
    """A body model in memory (arrays exactly as stored in the file)."""

    v_template: np.ndarray  # float32 [V, 3]
    faces: np.ndarray  # uint32 [F, 3]
    shapedirs: np.ndarray  # float32 [V, 3, S]
    posedirs: np.ndarray | None  # float32 [207, V*3], or None: no pose correctives
    J_regressor: np.ndarray  # float32 [24, V]
    weights: np.ndarray  # float32 [V, 24]
    parents: np.ndarray = field(default_factory=lambda: PARENTS.copy())  # int32 [24]
    joint_names: tuple = JOINT_NAMES
    source: str = ""

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    @property
    def num_betas(self) -> int:
        return int(self.shapedirs.shape[2])

    @property
    def has_pose_correctives(self) -> bool:
        return self.posedirs is not None

    def tensors(self) -> dict:
        """The tensors the file holds (``posedirs`` only when present)."""
        return {name: getattr(self, name) for name in TENSOR_ORDER if getattr(self, name) is not None}

    def validate(self) -> None:
        """Raise ValueError when shapes, dtypes or invariants do not match the format."""
        V = self.v_template.shape[0] if self.v_template.ndim == 2 else -1
        expect = {
            "v_template": (V, 3),
            "faces": (self.faces.shape[0] if self.faces.ndim == 2 else -1, 3),
            "shapedirs": (V, 3, self.shapedirs.shape[-1] if self.shapedirs.ndim == 3 else -1),
            "posedirs": (NUM_POSE_FEATURES, V * 3),
            "J_regressor": (NUM_JOINTS, V),
            "weights": (V, NUM_JOINTS),
            "parents": (NUM_JOINTS,),
        }
        for name, shape in expect.items():
            arr = getattr(self, name)
            if arr is None and name in OPTIONAL_TENSORS:
                continue
            if arr.dtype != np.dtype(_DTYPES[name]):
                raise ValueError(f"{name}: dtype {arr.dtype}, expected {np.dtype(_DTYPES[name])}")
            if tuple(arr.shape) != shape or V <= 0:
                raise ValueError(f"{name}: shape {tuple(arr.shape)}, expected {shape}")
        if not np.array_equal(self.parents, PARENTS):
            raise ValueError(f"parents {self.parents.tolist()} differ from SMPL's {PARENTS.tolist()}")
        if self.faces.size and int(self.faces.max()) >= V:
            raise ValueError("faces index a vertex that does not exist")
        if not np.allclose(self.weights.sum(axis=1), 1.0, atol=1e-4):
            raise ValueError("skinning weight rows must sum to 1")
        if len(self.joint_names) != NUM_JOINTS:
            raise ValueError("joint_names must have 24 entries")


# ---------------------------------------------------------------------------------------
# File I/O
# ---------------------------------------------------------------------------------------


def save(model: BodyModel, path) -> None:
    """Write ``model`` as a safetensors file.

    The safetensors container is written here directly (it is a tiny format: an 8-byte
    little-endian header length, a JSON header, then the raw little-endian tensor bytes)
    so that the header order, and thus the file, is byte-for-byte reproducible; the
    ``safetensors`` package reads it back like any other file.
    """
    model.validate()
    metadata = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "joint_names": ",".join(model.joint_names),
        "source": model.source,
    }
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, arr in model.tensors().items():
        arr = np.ascontiguousarray(arr)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        data = arr.tobytes(order="C")
        header[name] = {
            "dtype": _SAFETENSORS_DTYPE[np.dtype(_DTYPES[name])],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * ((-len(header_bytes)) % 8)  # pad so the data starts 8-aligned
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for data in blobs:
            f.write(data)


def load(path) -> BodyModel:
    """Read a body-model file, check it against the format and return a :class:`BodyModel`."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT_NAME:
            raise ValueError(f"{path}: metadata format is {meta.get('format')!r}, expected {FORMAT_NAME!r}")
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported version {meta.get('version')!r}")
        names = set(f.keys())
        missing = [n for n in TENSOR_ORDER if n not in names and n not in OPTIONAL_TENSORS]
        if missing:
            raise ValueError(f"{path}: missing tensors {missing}")
        arrays = {n: (f.get_tensor(n) if n in names else None) for n in TENSOR_ORDER}
    joint_names = tuple(meta.get("joint_names", ",".join(JOINT_NAMES)).split(","))
    model = BodyModel(**arrays, joint_names=joint_names, source=meta.get("source", ""))
    model.validate()
    return model


# ---------------------------------------------------------------------------------------
# Rotation helpers (numpy; float64)
# ---------------------------------------------------------------------------------------


def axis_angle_to_matrix(axis_angle) -> np.ndarray:
    """Rodrigues: rotation vector(s) [..., 3] (radians) -> rotation matrices [..., 3, 3]."""
    aa = np.asarray(axis_angle, dtype=np.float64)
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)
    k = aa / np.maximum(theta, 1e-12)
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(kx)
    K = np.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], axis=-1).reshape(aa.shape[:-1] + (3, 3))
    s = np.sin(theta)[..., None]
    c = np.cos(theta)[..., None]
    eye = np.broadcast_to(np.eye(3), K.shape)
    return eye + s * K + (1.0 - c) * (K @ K)


def rot_x(angle: float) -> np.ndarray:
    return axis_angle_to_matrix([angle, 0.0, 0.0])


def rot_y(angle: float) -> np.ndarray:
    return axis_angle_to_matrix([0.0, angle, 0.0])


def rot_z(angle: float) -> np.ndarray:
    return axis_angle_to_matrix([0.0, 0.0, angle])


def rot6d_to_matrix(x) -> np.ndarray:
    """6D rotation representation [..., 6] -> rotation matrices [..., 3, 3].

    The 6 numbers are two 3-vectors ``a1 = x[0:3]``, ``a2 = x[3:6]``. Gram-Schmidt:
    ``b1 = a1/|a1|``, ``b2 = normalize(a2 - (b1.a2) b1)``, ``b3 = b1 x b2``; the matrix has
    the columns ``[b1 b2 b3]``. This is the convention of the HMR2 network's outputs and of
    ``models/hmr2-test.onnx``.
    """
    x = np.asarray(x, dtype=np.float64)
    a1, a2 = x[..., 0:3], x[..., 3:6]
    b1 = a1 / np.maximum(np.linalg.norm(a1, axis=-1, keepdims=True), 1e-12)
    b2 = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    b2 = b2 / np.maximum(np.linalg.norm(b2, axis=-1, keepdims=True), 1e-12)
    b3 = np.cross(b1, b2)
    return np.stack([b1, b2, b3], axis=-1)


def matrix_to_rot6d(R) -> np.ndarray:
    """Inverse of :func:`rot6d_to_matrix` for proper rotations: the first two columns."""
    R = np.asarray(R, dtype=np.float64)
    return np.concatenate([R[..., :, 0], R[..., :, 1]], axis=-1)


# ---------------------------------------------------------------------------------------
# Forward pass
# ---------------------------------------------------------------------------------------


@dataclass
class ForwardResult:
    vertices: np.ndarray  # float64 [V, 3] posed vertices (model space, before translation)
    joints: np.ndarray  # float64 [24, 3] posed joints
    rest_joints: np.ndarray  # float64 [24, 3] joints of the shaped rest mesh
    v_shaped: np.ndarray  # float64 [V, 3] rest mesh with shape blend shapes applied


def forward(model: BodyModel, global_orient=None, body_pose=None, betas=None) -> ForwardResult:
    """Pose and shape the body model (one body).

    Args:
        global_orient: [3, 3] or [1, 3, 3] root rotation (identity when None).
        body_pose: [23, 3, 3] rotations of joints 1..23 relative to their parents
            (identity when None).
        betas: [S'] shape coefficients with S' <= S (zeros when None; missing trailing
            coefficients count as zero).

    Returns a :class:`ForwardResult`; add a camera translation to ``vertices`` and
    ``joints`` to place them in a camera frame.
    """
    V = model.num_vertices
    eye = np.eye(3)
    R0 = eye if global_orient is None else np.asarray(global_orient, np.float64).reshape(3, 3)
    Rb = np.broadcast_to(eye, (23, 3, 3)) if body_pose is None else np.asarray(body_pose, np.float64).reshape(23, 3, 3)
    R = np.concatenate([R0[None], Rb], axis=0)  # [24, 3, 3]

    shapedirs = model.shapedirs.astype(np.float64)
    b = np.zeros(model.num_betas)
    if betas is not None:
        betas = np.asarray(betas, np.float64).reshape(-1)
        if betas.size > b.size:
            raise ValueError(f"{betas.size} betas given, the model has {b.size}")
        b[: betas.size] = betas

    # 1-2. shape and rest joints
    v_shaped = model.v_template.astype(np.float64) + shapedirs @ b  # [V, 3]
    J = model.J_regressor.astype(np.float64) @ v_shaped  # [24, 3]

    # 3-4. pose blend shapes (none when the model has no posedirs)
    if model.posedirs is None:
        v_posed = v_shaped
    else:
        pose_feature = (R[1:] - eye).reshape(NUM_POSE_FEATURES)
        v_posed = v_shaped + (pose_feature @ model.posedirs.astype(np.float64)).reshape(V, 3)

    # 5. world transforms along the kinematic tree
    parents = model.parents
    G = np.zeros((NUM_JOINTS, 4, 4))
    for j in range(NUM_JOINTS):
        local = np.eye(4)
        local[:3, :3] = R[j]
        p = parents[j]
        local[:3, 3] = J[j] if p < 0 else J[j] - J[p]
        G[j] = local if p < 0 else G[p] @ local
    posed_joints = G[:, :3, 3].copy()

    # 6. skinning: remove the rest joint from each transform, blend, apply
    G_rel = G.copy()
    G_rel[:, :3, 3] -= np.einsum("jab,jb->ja", G[:, :3, :3], J)
    T = (model.weights.astype(np.float64) @ G_rel.reshape(NUM_JOINTS, 16)).reshape(V, 4, 4)
    vertices = np.einsum("vab,vb->va", T[:, :3, :3], v_posed) + T[:, :3, 3]
    return ForwardResult(vertices=vertices, joints=posed_joints, rest_joints=J, v_shaped=v_shaped)


# ---------------------------------------------------------------------------------------
# Mesh helpers (used by the generators and the tests)
# ---------------------------------------------------------------------------------------


def connected_components(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """Label per vertex of the face-connected component it belongs to (0, 1, ...)."""
    parent = np.arange(num_vertices)

    def find(a):
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    for tri in np.asarray(faces, dtype=np.int64):
        ra, rb, rc = find(tri[0]), find(tri[1]), find(tri[2])
        parent[rb] = ra
        parent[find(rc)] = ra
    roots = np.array([find(v) for v in range(num_vertices)])
    _, labels = np.unique(roots, return_inverse=True)
    return labels


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume enclosed by a closed triangle mesh (positive for outward normals)."""
    v = np.asarray(vertices, np.float64)[np.asarray(faces, np.int64)]
    return float(np.einsum("fi,fi->f", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6.0)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (outward for counter-clockwise faces)."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
