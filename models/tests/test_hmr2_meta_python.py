"""The Python pose-metadata module (hmr2-meta/python/hmr2_meta.py) on real GStreamer buffers:
the optional ``predicted`` field round-trips, and metadata written without it (as before the
field existed) reads as nobody predicted."""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hmr2-meta" / "python"))

import hmr2_meta  # noqa: E402
from hmr2_meta import GLib, Gst  # noqa: E402

Gst.init(None)


def two_persons() -> hmr2_meta.Poses:
    poses = hmr2_meta.Poses.empty(640, 480, 2)
    poses.arrays["track-ids"][:] = (4, 9)
    poses.arrays["cam-t"][:] = (0.0, 0.1, 20.0)
    poses.arrays["scores"][:] = (0.8, 0.0)
    poses.arrays["predicted"][:] = (0, 1)
    return poses


def attach_raw(s: Gst.Structure) -> Gst.Buffer:
    """A buffer whose pose meta holds exactly the fields of ``s`` (as another writer made it)."""
    import ctypes

    buf = Gst.Buffer.new_allocate(None, 16, None)
    hmr2_meta.register()
    lib = hmr2_meta._libgst()
    meta = lib.gst_buffer_add_custom_meta(ctypes.c_void_p(hash(buf)), hmr2_meta.META_NAME.encode())
    dst = lib.gst_custom_meta_get_structure(meta)
    lib.gst_structure_set_name(dst, hmr2_meta.STRUCTURE_NAME.encode())
    src = ctypes.c_void_p(hash(s))
    for i in range(s.n_fields()):
        name = s.nth_field_name(i).encode()
        lib.gst_structure_set_value(dst, name, lib.gst_structure_get_value(src, name))
    return buf


class PredictedFieldTest(unittest.TestCase):
    def test_round_trip(self):
        buf = Gst.Buffer.new_allocate(None, 16, None)
        hmr2_meta.write(buf, two_persons())
        back = hmr2_meta.read(buf)
        np.testing.assert_array_equal(back.arrays["predicted"], [0, 1])
        np.testing.assert_array_equal(back.arrays["track-ids"], [4, 9])

    def test_written_by_default_as_not_predicted(self):
        poses = two_persons()
        del poses.arrays["predicted"]  # an application written before the field existed
        s = hmr2_meta.to_structure(poses)
        self.assertEqual(bytes(s.get_value("predicted").get_data()), b"\0\0")

    def test_absent_field_reads_as_not_predicted(self):
        old = hmr2_meta.to_structure(two_persons())
        old.remove_field("predicted")  # as a writer from before the field existed
        buf = attach_raw(old)
        self.assertIsNone(buf.get_custom_meta(hmr2_meta.META_NAME).get_structure().get_value("predicted"))
        back = hmr2_meta.read(buf)
        np.testing.assert_array_equal(back.arrays["predicted"], [0, 0])
        np.testing.assert_array_equal(back.arrays["track-ids"], [4, 9])

    def test_wrong_length_is_refused(self):
        poses = two_persons()
        poses.arrays["predicted"] = np.zeros(3, np.uint8)
        with self.assertRaisesRegex(hmr2_meta.PoseMetaError, "predicted: shape"):
            hmr2_meta.to_structure(poses)
        s = hmr2_meta.to_structure(two_persons())
        s.set_value("predicted", GLib.Bytes.new(b"\1\1\1"))
        with self.assertRaisesRegex(hmr2_meta.PoseMetaError, "predicted: 3 values for 2 persons"):
            hmr2_meta.read(attach_raw(s))


if __name__ == "__main__":
    unittest.main()
