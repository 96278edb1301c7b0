"""Reads the hmr2 pose metadata in Python with PyGObject and numpy alone: a reference reader
for applications (copy it freely into yours). The layout it follows is documented in
gst-plugin-hmr2/src/pose_meta.rs; this is the tests' one Python statement of it.
"""
import numpy as np

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


def check_rotations(name, mats, tolerance=1e-4):
    """Raises unless every 3x3 matrix in `mats` is a rotation (orthonormal, det 1)."""
    mats = np.asarray(mats, dtype=np.float64).reshape(-1, 3, 3)
    if len(mats) == 0:
        return
    err = np.abs(mats @ mats.transpose(0, 2, 1) - np.eye(3)).max()
    if err > tolerance:
        raise AssertionError(f"{name}: not orthonormal (max |R R^T - I| = {err})")
    dets = np.linalg.det(mats)
    if np.abs(dets - 1.0).max() > tolerance:
        raise AssertionError(f"{name}: determinant not 1 ({dets.min()}..{dets.max()})")


def read(buf):
    """The poses on a Gst.Buffer as (frame_width, frame_height, {field: array}), each array
    shaped (num_persons,) + row shape; raises AssertionError when the meta is absent or
    does not follow the layout."""
    meta = buf.get_custom_meta(META_NAME)
    if meta is None:
        raise AssertionError(f"buffer at {buf.pts} carries no {META_NAME}")
    s = meta.get_structure()
    if s.get_name() != STRUCTURE_NAME or s.get_value("version") != VERSION:
        raise AssertionError(f"unexpected structure {s.get_name()} v{s.get_value('version')}")
    n = s.get_value("num-persons")
    arrays = {}
    for field, (dtype, row) in ARRAYS.items():
        data = s.get_value(field)
        if data is None:
            raise AssertionError(f"field {field} missing")
        arr = np.frombuffer(data.get_data(), dtype=dtype)
        want = n * int(np.prod(row, dtype=np.int64))
        if arr.size != want:
            raise AssertionError(f"{field}: {arr.size} values for {n} persons, expected {want}")
        arrays[field] = arr.reshape((n,) + row)
    check_rotations("global-orient", arrays["global-orient"])
    check_rotations("body-pose", arrays["body-pose"])
    return s.get_value("frame-width"), s.get_value("frame-height"), arrays
