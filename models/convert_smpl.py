#!/usr/bin/env python3
"""Convert an official SMPL model file into the project's body-model format.

Usage (see models/TOOLS.md for the full walk-through)::

    .venv/bin/python models/convert_smpl.py basicModel_neutral_lbs_10_207_0_v1.0.0.pkl \\
        --out models/smpl-neutral.safetensors

Inputs: the neutral, male or female model as distributed on the SMPL / SMPLify sites,
either the ``.pkl`` form (older files are Python 2 pickles that hold chumpy objects and a
scipy sparse matrix) or the ``.npz`` form. Neither chumpy nor scipy is needed: the pickle
is read by a restricted unpickler that stands in for the few classes such a file refers to.

What the converter does with each field (arrays keep SMPL's layout; everything is stored
as float32 / uint32 / int32 as the format wants):

==============  ==========================  =============================================
SMPL field      SMPL shape                  body-model tensor
==============  ==========================  =============================================
v_template      (V, 3)                      v_template [V, 3], as is
f               (F, 3)                      faces [F, 3] uint32, as is
shapedirs       (V, 3, 10 or 300)           shapedirs [V, 3, N]: the first N (--num-betas)
posedirs        (V, 3, 207)                 posedirs [207, V*3] =
                                            posedirs.reshape(V*3, 207).T, i.e.
                                            out[p, 3*v + a] = posedirs[v, a, p]
J_regressor     sparse (24, V)              J_regressor [24, V] dense (zeros filled in)
weights         (V, 24)                     weights [V, 24], as is
kintree_table   (2, 24), parents in row 0   parents [24] int32, root -1 (must be SMPL's)
J, bs_style,    -                           only checked (J against J_regressor .
bs_type                                     v_template; bs_style lbs, bs_type lrotmin)
==============  ==========================  =============================================

After writing, the converter checks its output three ways on fixed random parameters:

1. the file reads back through ``body_model.load`` (shapes, dtypes, invariants);
2. ``body_model.forward`` on the converted file equals a float64 forward pass written
   directly against the source arrays in SMPL's own layout (catches any layout slip);
3. the Rust loader and skinning (the ``hmr2-skin`` binary of the launch crate) pose the
   converted file the same way as Python; max abs difference below 1e-5 m.

Step 3 builds the binary with cargo when it is not there yet; ``--no-rust-check`` skips it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import body_model  # noqa: E402  (the one definition of the format)

REPO_ROOT = Path(__file__).resolve().parent.parent
SMPL_ROOT_PARENT = 4294967295  # kintree_table's "no parent" (uint32 -1)
TOLERANCE_M = 1e-5


class ConversionError(Exception):
    """The input is not an SMPL model the converter understands, or a check failed."""


# ---------------------------------------------------------------------------------------
# Reading the pickle without chumpy and scipy
# ---------------------------------------------------------------------------------------


class ChumpyStandIn:
    """Takes the place of any chumpy class while unpickling.

    chumpy's ``Ch.__getstate__`` pickles the object's ``__dict__`` minus two weak-reference
    caches; for a plain ``Ch`` (what SMPL files hold) the array lives under the key ``x``
    (the other keys are bookkeeping: ``_dirty_vars``, ``_itr``, ``_depends_on_deps``,
    ``_make_dense``, ``_make_sparse``). Derived chumpy expressions (``chumpy.ch_ops.*``,
    ``chumpy.reordering.*``) keep their operands instead and have no ``x``; evaluating them
    would need chumpy itself, so :attr:`r` says so clearly.
    """

    chumpy_class = "chumpy.ch.Ch"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.state = {}
        return obj

    def __init__(self, *args, **kwargs):  # never called by pickle, kept for completeness
        if args:
            self.state = {"x": np.asarray(args[0])}

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"{self.chumpy_class}: unexpected pickled state {type(state).__name__}")
        self.state = dict(state)

    @property
    def x(self) -> np.ndarray:
        if "x" not in self.state:
            raise ConversionError(
                f"the file holds a derived chumpy expression ({self.chumpy_class}, state keys "
                f"{sorted(self.state)}), not a plain array; open the file once with chumpy "
                "installed and save its arrays with numpy, then convert that .npz"
            )
        return np.asarray(self.state["x"])

    @property
    def r(self) -> np.ndarray:
        return self.x

    def __array__(self, dtype=None, copy=None):
        a = self.x
        return a.astype(dtype) if dtype is not None else a

    def __repr__(self):
        return f"<stand-in for {self.chumpy_class}, keys {sorted(self.state)}>"


class SparseStandIn:
    """Takes the place of scipy.sparse's csc/csr/coo matrices while unpickling.

    A scipy sparse matrix pickles as its ``__dict__``: ``data``, ``indices``, ``indptr``
    (compressed formats) or ``row``, ``col``, ``data`` (coo), the shape under ``_shape``
    (``shape`` in very old scipy), plus ``format`` and ``maxprint``.
    """

    sparse_format = "csc"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.state = {}
        return obj

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:
            state = {**(state[0] or {}), **(state[1] or {})}
        self.state = dict(state)

    @property
    def shape(self) -> tuple:
        shape = self.state.get("_shape", self.state.get("shape"))
        if shape is None:
            raise ConversionError(f"sparse {self.sparse_format} matrix without a shape in its pickled state")
        return tuple(int(s) for s in shape)

    def toarray(self) -> np.ndarray:
        s = self.state
        fmt = s.get("format", self.sparse_format)
        rows, cols = self.shape
        data = np.asarray(s["data"], dtype=np.float64)
        out = np.zeros((rows, cols), dtype=np.float64)
        if fmt in ("csc", "csr"):
            indices = np.asarray(s["indices"], dtype=np.int64)
            indptr = np.asarray(s["indptr"], dtype=np.int64)
            major = cols if fmt == "csc" else rows
            if indptr.shape != (major + 1,) or indptr[-1] != data.size or indices.size != data.size:
                raise ConversionError(f"inconsistent {fmt} matrix: indptr {indptr.shape}, indices {indices.size}, data {data.size}")
            counts = np.diff(indptr)
            majors = np.repeat(np.arange(major), counts)
            if fmt == "csc":
                np.add.at(out, (indices, majors), data)  # duplicates add up, as in scipy
            else:
                np.add.at(out, (majors, indices), data)
        elif fmt == "coo":
            row = np.asarray(s.get("row", s.get("coords", [[]])[0]), dtype=np.int64)
            col = np.asarray(s.get("col", s.get("coords", [[], []])[1]), dtype=np.int64)
            np.add.at(out, (row, col), data)
        else:
            raise ConversionError(f"sparse format {fmt!r} is not supported (csc, csr, coo are)")
        return out

    def __repr__(self):
        return f"<stand-in for scipy.sparse {self.sparse_format} matrix {self.state.get('_shape')}>"


_SPARSE_CLASSES = {
    "csc_matrix": "csc", "csc_array": "csc",
    "csr_matrix": "csr", "csr_array": "csr",
    "coo_matrix": "coo", "coo_array": "coo",
}

# Globals an SMPL pickle may name besides chumpy and scipy.sparse; anything else is refused
# (unpickling can run arbitrary code, so only what such a file needs is allowed).
_ALLOWED_GLOBALS = {
    ("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"),
    ("copyreg", "__newobj__"), ("copy_reg", "__newobj__"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "object"),
    ("builtins", "list"), ("builtins", "dict"), ("builtins", "tuple"), ("builtins", "slice"),
    ("builtins", "complex"), ("builtins", "bytearray"),
    ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "object"),
    ("__builtin__", "list"), ("__builtin__", "dict"), ("__builtin__", "tuple"),
    ("__builtin__", "slice"), ("__builtin__", "complex"), ("__builtin__", "bytearray"),
    ("_codecs", "encode"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


class SmplUnpickler(pickle.Unpickler):
    """Unpickler for SMPL model files that needs neither chumpy nor scipy.

    Use with ``encoding="latin1"`` for Python 2 pickles: their ``str`` objects (numpy's
    raw array bytes among them) then come back byte for byte.
    """

    def find_class(self, module, name):
        if module == "chumpy" or module.startswith("chumpy."):
            return type(name, (ChumpyStandIn,), {"chumpy_class": f"{module}.{name}"})
        if module.startswith("scipy.sparse"):
            if name in _SPARSE_CLASSES:
                return type(name, (SparseStandIn,), {"sparse_format": _SPARSE_CLASSES[name]})
            raise pickle.UnpicklingError(f"unsupported scipy class {module}.{name} in an SMPL file")
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core"):]
        if (module, name) in _ALLOWED_GLOBALS or (module == "numpy" and name.endswith("DType")):
            return super().find_class(module, name)
        if module.startswith("numpy.dtypes"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: not something an SMPL model file holds"
        )


def _load_pickle(fileobj):
    return SmplUnpickler(fileobj, encoding="latin1").load()


def _as_array(value, what: str) -> np.ndarray:
    if isinstance(value, ChumpyStandIn):
        return np.asarray(value.x)
    if isinstance(value, SparseStandIn):
        return value.toarray()
    if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
        return _as_array(value.item(), what)
    try:
        return np.asarray(value)
    except Exception as e:  # pragma: no cover - defensive
        raise ConversionError(f"{what}: cannot read as an array ({type(value).__name__}): {e}")


def _read_npz(path: Path) -> dict:
    """Read an .npz without numpy's pickle path, so object entries go through SmplUnpickler."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            with zf.open(info) as raw:
                fp = io.BytesIO(raw.read())
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
            if dtype.hasobject:
                value = _load_pickle(fp)
                if isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
                    value = value.reshape(()).item()
                out[key] = value
            else:
                count = int(np.prod(shape)) if shape else 1
                data = np.frombuffer(fp.read(count * dtype.itemsize), dtype=dtype, count=count)
                out[key] = data.reshape(shape, order="F" if fortran else "C").copy()
    return out


def read_smpl(path) -> dict:
    """Read an official SMPL model (.pkl or .npz) into plain numpy arrays in SMPL's layout.

    Returns a dict with v_template, f, shapedirs, posedirs, J_regressor (dense float64),
    weights, kintree_table, and (when present) J, bs_style, bs_type.
    """
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        raw = _read_npz(path)
    else:
        try:
            with open(path, "rb") as f:
                raw = _load_pickle(f)
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise ConversionError(f"{path}: not a readable SMPL pickle: {e}") from e
    if not isinstance(raw, dict):
        raise ConversionError(f"{path}: top level is a {type(raw).__name__}, expected a dict of SMPL fields")
    raw = {str(k): v for k, v in raw.items()}
    needed = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")
    missing = [k for k in needed if k not in raw]
    if missing:
        raise ConversionError(f"{path}: missing SMPL fields {missing} (has {sorted(raw)})")
    src = {k: _as_array(raw[k], k) for k in needed}
    if "J" in raw:
        src["J"] = _as_array(raw["J"], "J")
    for k in ("bs_style", "bs_type"):
        if k in raw:
            v = raw[k]
            v = v.item() if isinstance(v, np.ndarray) else v
            src[k] = v.decode("latin1") if isinstance(v, bytes) else str(v)
    return src


# ---------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------


def parents_from_kintree(kintree_table) -> np.ndarray:
    kt = np.asarray(kintree_table).astype(np.int64)
    if kt.ndim != 2 or kt.shape[0] != 2:
        raise ConversionError(f"kintree_table: shape {kt.shape}, expected (2, 24)")
    if not np.array_equal(kt[1], np.arange(kt.shape[1])):
        raise ConversionError("kintree_table row 1 must list the joints 0..23 in order")
    parents = kt[0].copy()
    parents[(parents == SMPL_ROOT_PARENT) | (parents < 0)] = -1
    return parents.astype(np.int32)


def check_source(src: dict) -> int:
    """Validate shapes of the source arrays; returns V."""
    V = int(np.asarray(src["v_template"]).shape[0])
    want = {
        "v_template": (V, 3),
        "weights": (V, body_model.NUM_JOINTS),
        "J_regressor": (body_model.NUM_JOINTS, V),
        "posedirs": (V, 3, body_model.NUM_POSE_FEATURES),
        "kintree_table": (2, body_model.NUM_JOINTS),
    }
    for k, shape in want.items():
        if tuple(src[k].shape) != shape:
            raise ConversionError(f"{k}: shape {tuple(src[k].shape)}, expected {shape}")
    sd = src["shapedirs"]
    if sd.ndim != 3 or sd.shape[:2] != (V, 3):
        raise ConversionError(f"shapedirs: shape {sd.shape}, expected ({V}, 3, S)")
    f = src["f"]
    if f.ndim != 2 or f.shape[1] != 3:
        raise ConversionError(f"f: shape {f.shape}, expected (F, 3)")
    if f.size and (int(f.min()) < 0 or int(f.max()) >= V):
        raise ConversionError("f: indices out of range")
    parents = parents_from_kintree(src["kintree_table"])
    if not np.array_equal(parents, body_model.PARENTS):
        raise ConversionError(f"kintree_table parents {parents.tolist()} are not SMPL's {body_model.PARENTS.tolist()}")
    if src.get("bs_style", "lbs") != "lbs":
        raise ConversionError(f"bs_style {src['bs_style']!r}: only linear blend skinning ('lbs') is supported")
    if src.get("bs_type", "lrotmin") != "lrotmin":
        raise ConversionError(f"bs_type {src['bs_type']!r}: only 'lrotmin' pose blend shapes are supported")
    return V


def to_body_model(src: dict, num_betas: int = 10, source: str = "") -> body_model.BodyModel:
    V = check_source(src)
    S = src["shapedirs"].shape[2]
    if not 1 <= num_betas <= S:
        raise ConversionError(f"--num-betas {num_betas}: the file has {S} shape components")
    posedirs = np.asarray(src["posedirs"], dtype=np.float64).reshape(V * 3, body_model.NUM_POSE_FEATURES).T
    model = body_model.BodyModel(
        v_template=np.ascontiguousarray(src["v_template"], dtype=np.float32),
        faces=np.ascontiguousarray(src["f"]).astype(np.uint32),
        shapedirs=np.ascontiguousarray(src["shapedirs"][:, :, :num_betas], dtype=np.float32),
        posedirs=np.ascontiguousarray(posedirs, dtype=np.float32),
        J_regressor=np.ascontiguousarray(src["J_regressor"], dtype=np.float32),
        weights=np.ascontiguousarray(src["weights"], dtype=np.float32),
        parents=parents_from_kintree(src["kintree_table"]),
        source=source,
    )
    model.validate()
    return model


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


def random_params(seed: int = 0, num_betas: int = 10, angle: float = 0.6) -> dict:
    """Fixed random SMPL parameters: rotation matrices and betas (plain lists, JSON-ready)."""
    rng = np.random.default_rng(seed)
    aa = rng.normal(size=(24, 3))
    aa *= (rng.uniform(0.0, angle, size=(24, 1)) / np.linalg.norm(aa, axis=1, keepdims=True))
    R = body_model.axis_angle_to_matrix(aa)
    betas = rng.normal(0.0, 1.0, size=num_betas)
    return {
        "betas": betas.tolist(),
        "global_orient": R[0].tolist(),
        "body_pose": R[1:].tolist(),
    }


def smpl_forward_source(src: dict, global_orient, body_pose, betas) -> np.ndarray:
    """Float64 SMPL forward pass written against the source arrays in SMPL's own layout
    (posedirs [V, 3, 207], shapedirs [V, 3, S], kintree_table), independent of the
    format's reshapes. Returns posed vertices [V, 3]."""
    betas = np.asarray(betas, np.float64).reshape(-1)
    R = np.concatenate([np.asarray(global_orient, np.float64).reshape(1, 3, 3),
                        np.asarray(body_pose, np.float64).reshape(23, 3, 3)])
    sd = np.asarray(src["shapedirs"], np.float64)[:, :, : betas.size]
    v_shaped = np.asarray(src["v_template"], np.float64) + np.einsum("vak,k->va", sd, betas)
    J = np.asarray(src["J_regressor"], np.float64) @ v_shaped
    feat = (R[1:] - np.eye(3)).reshape(-1)
    v_posed = v_shaped + np.einsum("vap,p->va", np.asarray(src["posedirs"], np.float64), feat)
    parents = parents_from_kintree(src["kintree_table"])
    rot = [None] * 24
    trans = [None] * 24
    for j in range(24):
        p = parents[j]
        if p < 0:
            rot[j], trans[j] = R[j], J[j]
        else:
            rot[j] = rot[p] @ R[j]
            trans[j] = rot[p] @ (J[j] - J[p]) + trans[p]
    A = np.zeros((24, 3, 4))
    for j in range(24):
        A[j, :, :3] = rot[j]
        A[j, :, 3] = trans[j] - rot[j] @ J[j]
    T = np.einsum("vj,jab->vab", np.asarray(src["weights"], np.float64), A)
    return np.einsum("vab,vb->va", T[:, :, :3], v_posed) + T[:, :, 3]


def python_vertices(model: body_model.BodyModel, params: dict) -> np.ndarray:
    return body_model.forward(model, params["global_orient"], params["body_pose"], params["betas"]).vertices


def find_skin_binary(explicit=None, build: bool = True) -> Path:
    """Locate (and if needed build) the hmr2-skin binary; raises ConversionError with advice."""
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise ConversionError(f"--skin-bin {p}: no such file")
        return p
    env = os.environ.get("HMR2_SKIN_BIN")
    if env and Path(env).is_file():
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if build and Path(cargo).is_file():
        cmd = [cargo, "build", "-q", "-p", "hmr2-launch", "--bin", "hmr2-skin"]
        r = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
        if r.returncode == 0 and (target / "debug" / "hmr2-skin").is_file():
            return target / "debug" / "hmr2-skin"
        raise ConversionError(
            "the Rust comparison step could not build the hmr2-skin binary "
            f"(`{' '.join(cmd[1:])}` failed):\n{r.stderr.strip()[-2000:]}\n"
            "Fix the build, or pass --no-rust-check to skip the Rust comparison "
            "(the Python checks already passed)."
        )
    for profile in ("release", "debug"):
        p = target / profile / "hmr2-skin"
        if p.is_file():
            return p
    raise ConversionError(
        "the Rust comparison step needs the hmr2-skin binary "
        "(`cargo build -p hmr2-launch --bin hmr2-skin`), and neither it nor cargo was found; "
        "pass --skin-bin PATH, or --no-rust-check to skip this step"
    )


def rust_vertices(model_path, params: dict, skin_bin=None, build: bool = True) -> np.ndarray:
    """Pose ``model_path`` with the Rust loader and skinning (hmr2-skin)."""
    exe = find_skin_binary(skin_bin, build=build)
    with tempfile.TemporaryDirectory(prefix="hmr2-skin-") as tmp:
        pjson = Path(tmp) / "params.json"
        out = Path(tmp) / "vertices.npy"
        pjson.write_text(json.dumps(params))
        r = subprocess.run([str(exe), str(model_path), str(pjson), "--out", str(out)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise ConversionError(f"hmr2-skin failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        return np.load(out).astype(np.float64)


def verify(src: dict, model: body_model.BodyModel, out_path, rust: bool, skin_bin=None, seeds=(0, 1, 2),
           log=print) -> dict:
    """Run the output checks; raises ConversionError on the first failure. Returns the max diffs."""
    reloaded = body_model.load(out_path)
    for name in body_model.TENSOR_ORDER:
        if not np.array_equal(getattr(reloaded, name), getattr(model, name)):
            raise ConversionError(f"{out_path}: tensor {name} does not read back identically")
    nb = min(10, model.num_betas)
    diffs = {"python_vs_source": 0.0}
    for seed in seeds:
        params = random_params(seed, nb)
        ref = smpl_forward_source(src, params["global_orient"], params["body_pose"], params["betas"])
        py = python_vertices(reloaded, params)
        diffs["python_vs_source"] = max(diffs["python_vs_source"], float(np.abs(py - ref).max()))
    log(f"check: body_model.forward of the converted file vs SMPL-layout forward of the source: "
        f"max abs diff {diffs['python_vs_source']:.3g} m")
    if not diffs["python_vs_source"] < TOLERANCE_M:
        raise ConversionError(f"converted model poses differently from the source (max {diffs['python_vs_source']:.3g} m)")
    if rust:
        diffs["rust_vs_python"] = 0.0
        for seed in seeds:
            params = random_params(seed, nb)
            rs = rust_vertices(out_path, params, skin_bin)
            py = python_vertices(reloaded, params)
            if rs.shape != py.shape:
                raise ConversionError(f"hmr2-skin returned shape {rs.shape}, expected {py.shape}")
            diffs["rust_vs_python"] = max(diffs["rust_vs_python"], float(np.abs(rs - py).max()))
        log(f"check: Rust skinning (hmr2-skin) vs Python: max abs diff {diffs['rust_vs_python']:.3g} m")
        if not diffs["rust_vs_python"] < TOLERANCE_M:
            raise ConversionError(f"Rust and Python skinning differ by {diffs['rust_vs_python']:.3g} m (limit {TOLERANCE_M})")
    return diffs


def convert(src_path, out_path, num_betas: int = 10, rust_check: bool = True, skin_bin=None, log=print):
    src = read_smpl(src_path)
    name = Path(src_path).name
    source = (f"converted from {name} by models/convert_smpl.py ({num_betas} betas); SMPL model data, "
              "subject to the SMPL licence: do not redistribute")
    model = to_body_model(src, num_betas=num_betas, source=source)
    log(f"read {name}: V={model.num_vertices} F={model.num_faces} shape components "
        f"{src['shapedirs'].shape[2]} (keeping {num_betas})")
    if "J" in src and np.asarray(src["J"]).shape == (24, 3):
        dj = float(np.abs(src["J_regressor"] @ np.asarray(src["v_template"], np.float64) - src["J"]).max())
        log(f"note: J_regressor . v_template vs the file's J: max abs diff {dj:.3g} m")
    body_model.save(model, out_path)
    log(f"wrote {out_path} ({Path(out_path).stat().st_size / 1e6:.1f} MB)")
    try:
        verify(src, model, out_path, rust=rust_check, skin_bin=skin_bin, log=log)
    except ConversionError as e:
        raise ConversionError(f"{e}\n({out_path} was written but did not pass this check)") from e
    return model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See models/TOOLS.md for the step-by-step guide.")
    ap.add_argument("input", help="official SMPL model: .pkl (chumpy/Python 2 pickles are fine) or .npz")
    ap.add_argument("--out", required=True, help="body-model file to write (.safetensors)")
    ap.add_argument("--num-betas", type=int, default=10, help="shape components to keep (default 10)")
    ap.add_argument("--no-rust-check", action="store_true",
                    help="skip comparing with the Rust skinning (hmr2-skin)")
    ap.add_argument("--skin-bin", help="path of a built hmr2-skin binary (default: build it with cargo)")
    args = ap.parse_args(argv)
    try:
        convert(args.input, args.out, num_betas=args.num_betas, rust_check=not args.no_rust_check,
                skin_bin=args.skin_bin)
    except ConversionError as e:
        print(f"convert_smpl: error: {e}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
