"""The hmr2 pose metadata (``Hmr2PoseMeta``) for Python applications: read and write it with
PyGObject and numpy alone, no build step. Copy this file into your application or put
``hmr2-meta/python`` on ``sys.path``.

The layout is specified in ``hmr2-meta/src/pose.rs`` (``cargo doc -p hmr2-meta``): a
``GstCustomMeta`` named ``Hmr2PoseMeta`` whose structure ``hmr2-pose`` holds packed
little-endian arrays, one row per person.

Reading goes through PyGObject (``Gst.Buffer.get_custom_meta().get_structure()``). Writing
cannot: PyGObject hands back a *copy* of the meta's structure, so changes to it are lost.
:func:`write` therefore fills the meta's own structure through GStreamer's C API (ctypes,
``libgstreamer-1.0.so.0``), using the C pointers PyGObject exposes as ``hash()`` of a boxed
object.

    import hmr2_meta
    frame = hmr2_meta.read(buf)            # Poses or None
    hmr2_meta.write(buf, poses)            # buf must be writable
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

import numpy as np

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

META_NAME = "Hmr2PoseMeta"
STRUCTURE_NAME = "hmr2-pose"
VERSION = 1
# field -> (dtype, shape of one person's row)
ARRAYS = {
    "boxes": ("<f4", (4,)),
    "scores": ("<f4", ()),
    "track-ids": ("<i8", ()),
    "global-orient": ("<f4", (3, 3)),
    "body-pose": ("<f4", (23, 3, 3)),
    "betas": ("<f4", (10,)),
    "pred-cam": ("<f4", (3,)),
    "cam-t": ("<f4", (3,)),
    "focal-length": ("<f4", ()),
    "principal-point": ("<f4", (2,)),
}
# Optional fields: a structure without one reads as its default (layouts written before
# the field existed). ``predicted`` is 1 for a person a tracker predicted to fill a gap.
OPTIONAL_ARRAYS = {
    "predicted": ("u1", (), 0),
}


class PoseMetaError(ValueError):
    """The meta is present but does not follow the documented layout."""


@dataclass
class Poses:
    """All persons of one frame: the frame size the values refer to and one array per
    field, each shaped ``(num_persons,) + row shape`` (see ``ARRAYS``)."""

    frame_width: int
    frame_height: int
    arrays: dict = field(default_factory=dict)
    # arrays: every field of ARRAYS and OPTIONAL_ARRAYS (read fills the optional ones with
    # their default when absent; write does the same when they are left out).

    @property
    def num_persons(self) -> int:
        return len(self.arrays["scores"])

    @classmethod
    def empty(cls, frame_width: int, frame_height: int, num_persons: int = 0) -> "Poses":
        """Poses for ``num_persons`` persons with neutral values: identity rotations,
        zero shape, no track, score 1; fill in what you estimate."""
        arrays = {name: np.zeros((num_persons,) + row, dtype=dtype) for name, (dtype, row) in ARRAYS.items()}
        for name, (dtype, row, default) in OPTIONAL_ARRAYS.items():
            arrays[name] = np.full((num_persons,) + row, default, dtype=dtype)
        arrays["scores"][:] = 1.0
        arrays["track-ids"][:] = -1
        arrays["global-orient"][:] = np.eye(3)
        arrays["body-pose"][:] = np.eye(3)
        arrays["pred-cam"][:] = (1.0, 0.0, 0.0)
        arrays["principal-point"][:] = (frame_width / 2.0, frame_height / 2.0)
        return cls(frame_width, frame_height, arrays)


def check_rotations(name, mats, tolerance=1e-4):
    """Raises PoseMetaError unless every 3x3 matrix in `mats` is a rotation (orthonormal,
    det 1)."""
    mats = np.asarray(mats, dtype=np.float64).reshape(-1, 3, 3)
    if len(mats) == 0:
        return
    err = np.abs(mats @ mats.transpose(0, 2, 1) - np.eye(3)).max()
    if err > tolerance:
        raise PoseMetaError(f"{name}: not orthonormal (max |R R^T - I| = {err})")
    dets = np.linalg.det(mats)
    if np.abs(dets - 1.0).max() > tolerance:
        raise PoseMetaError(f"{name}: determinant not 1 ({dets.min()}..{dets.max()})")


def read(buf: Gst.Buffer) -> Poses | None:
    """The poses on a buffer, or None when it carries no pose meta. Raises PoseMetaError
    when the meta does not follow the layout (another name or version, a missing field,
    an array of the wrong length, a matrix that is not a rotation)."""
    meta = buf.get_custom_meta(META_NAME)
    if meta is None:
        return None
    s = meta.get_structure()
    if s.get_name() != STRUCTURE_NAME:
        raise PoseMetaError(f"structure is named '{s.get_name()}', expected '{STRUCTURE_NAME}'")
    if s.get_value("version") != VERSION:
        raise PoseMetaError(f"pose metadata version {s.get_value('version')} is not {VERSION}")
    n = s.get_value("num-persons")
    if n is None:
        raise PoseMetaError("field num-persons missing")
    arrays = {}
    for name, (dtype, row) in ARRAYS.items():
        data = s.get_value(name)
        if data is None:
            raise PoseMetaError(f"field {name} missing")
        arr = np.frombuffer(data.get_data(), dtype=dtype)
        want = n * int(np.prod(row, dtype=np.int64))
        if arr.size != want:
            raise PoseMetaError(f"{name}: {arr.size} values for {n} persons, expected {want}")
        arrays[name] = arr.reshape((n,) + row)
    for name, (dtype, row, default) in OPTIONAL_ARRAYS.items():
        data = s.get_value(name)
        if data is None:
            arrays[name] = np.full((n,) + row, default, dtype=dtype)
            continue
        arr = np.frombuffer(data.get_data(), dtype=dtype)
        want = n * int(np.prod(row, dtype=np.int64))
        if arr.size != want:
            raise PoseMetaError(f"{name}: {arr.size} values for {n} persons, expected {want}")
        arrays[name] = arr.reshape((n,) + row)
    check_rotations("global-orient", arrays["global-orient"])
    check_rotations("body-pose", arrays["body-pose"])
    return Poses(s.get_value("frame-width"), s.get_value("frame-height"), arrays)


def _libgst():
    lib = ctypes.CDLL("libgstreamer-1.0.so.0")
    p = ctypes.c_void_p
    lib.gst_mini_object_is_writable.argtypes = [p]
    lib.gst_mini_object_is_writable.restype = ctypes.c_int
    lib.gst_buffer_get_custom_meta.argtypes = [p, ctypes.c_char_p]
    lib.gst_buffer_get_custom_meta.restype = p
    lib.gst_buffer_add_custom_meta.argtypes = [p, ctypes.c_char_p]
    lib.gst_buffer_add_custom_meta.restype = p
    lib.gst_buffer_remove_meta.argtypes = [p, p]
    lib.gst_buffer_remove_meta.restype = ctypes.c_int
    lib.gst_custom_meta_get_structure.argtypes = [p]
    lib.gst_custom_meta_get_structure.restype = p
    lib.gst_structure_get_value.argtypes = [p, ctypes.c_char_p]
    lib.gst_structure_get_value.restype = p
    lib.gst_structure_set_value.argtypes = [p, ctypes.c_char_p, p]
    lib.gst_structure_set_value.restype = None
    lib.gst_structure_set_name.argtypes = [p, ctypes.c_char_p]
    lib.gst_structure_set_name.restype = None
    return lib


def register():
    """Registers the meta (tag ``video``) as the project's plugins do; a no-op when they, or
    an earlier call, registered it already."""
    if Gst.meta_get_info(META_NAME) is None:
        Gst.Meta.register_custom(META_NAME, ["video"], None, None)


def to_structure(poses: Poses) -> Gst.Structure:
    """The documented structure for `poses`, validated (fields, shapes, rotations)."""
    n = len(np.asarray(poses.arrays.get("scores", [])).reshape(-1))
    s = Gst.Structure.from_string(
        f"{STRUCTURE_NAME}, version=(uint){VERSION}, frame-width=(int){int(poses.frame_width)}, "
        f"frame-height=(int){int(poses.frame_height)}, num-persons=(uint){n}"
    )[0]
    values = {}
    for name, (dtype, row) in ARRAYS.items():
        if name not in poses.arrays:
            raise PoseMetaError(f"field {name} missing")
        arr = np.ascontiguousarray(np.asarray(poses.arrays[name], dtype=dtype))
        if arr.shape != (n,) + row:
            raise PoseMetaError(f"{name}: shape {arr.shape}, expected {(n,) + row}")
        values[name] = arr
    for name, (dtype, row, default) in OPTIONAL_ARRAYS.items():
        arr = np.ascontiguousarray(np.asarray(poses.arrays.get(name, np.full((n,) + row, default)), dtype=dtype))
        if arr.shape != (n,) + row:
            raise PoseMetaError(f"{name}: shape {arr.shape}, expected {(n,) + row}")
        values[name] = arr
    check_rotations("global-orient", values["global-orient"])
    check_rotations("body-pose", values["body-pose"])
    for name, arr in values.items():
        s.set_value(name, GLib.Bytes.new(arr.tobytes()))
    return s


def write(buf: Gst.Buffer, poses: Poses) -> None:
    """Attaches `poses` to a writable buffer, replacing a pose meta already there."""
    lib = _libgst()
    buf_ptr = ctypes.c_void_p(hash(buf))
    if not lib.gst_mini_object_is_writable(buf_ptr):
        raise PoseMetaError("the buffer is not writable (make it writable before attaching poses)")
    register()
    src = to_structure(poses)
    old = lib.gst_buffer_get_custom_meta(buf_ptr, META_NAME.encode())
    if old:
        lib.gst_buffer_remove_meta(buf_ptr, old)
    meta = lib.gst_buffer_add_custom_meta(buf_ptr, META_NAME.encode())
    if not meta:
        raise PoseMetaError(f"cannot add {META_NAME} to the buffer")
    dst = lib.gst_custom_meta_get_structure(meta)
    lib.gst_structure_set_name(dst, STRUCTURE_NAME.encode())
    src_ptr = ctypes.c_void_p(hash(src))
    for i in range(src.n_fields()):
        name = src.nth_field_name(i).encode()
        lib.gst_structure_set_value(dst, name, lib.gst_structure_get_value(src_ptr, name))
