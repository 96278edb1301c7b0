"""The canonical skeleton is written down twice, in Python (``gen_mannequin._LEFT_JOINTS``,
which builds the mannequin and the Anny body's joints) and in Rust (``REST_JOINTS`` in
``gst-plugin-hmr2/src/fit/skeleton.rs``, which the landmark fit poses): the two must agree,
or the bodies drawn would not cover the landmarks they were fitted to."""

from __future__ import annotations

import re
import sys
import unittest
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1]
ROOT = MODELS.parent
sys.path.insert(0, str(MODELS))
import body_model as bm  # noqa: E402
import gen_mannequin  # noqa: E402

SKELETON_RS = ROOT / "gst-plugin-hmr2" / "src" / "fit" / "skeleton.rs"


def rust_rest_joints() -> np.ndarray:
    text = SKELETON_RS.read_text()
    block = re.search(r"pub const REST_JOINTS: \[\[f32; 3\]; NUM_JOINTS\] = \[(.*?)\n\];", text, re.S)
    if block is None:
        raise AssertionError(f"REST_JOINTS not found in {SKELETON_RS}")
    number = r"(-?\d+(?:\.\d+)?)"
    rows = re.findall(rf"\[{number},\s*{number},\s*{number}\]", block.group(1))
    return np.array(rows, np.float64)


class CanonicalSkeletonTest(unittest.TestCase):
    def test_the_fit_and_the_bodies_share_one_skeleton(self):
        rust = rust_rest_joints()
        self.assertEqual(rust.shape, (24, 3))
        np.testing.assert_allclose(rust, gen_mannequin.designed_joints(), atol=1e-9)
        mannequin = bm.load(MODELS / "mannequin.safetensors")
        joints = mannequin.J_regressor.astype(np.float64) @ mannequin.v_template.astype(np.float64)
        np.testing.assert_allclose(joints, rust, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
