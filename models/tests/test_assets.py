"""Checks of the generated default assets in models/ (plain unittest, no extra packages).

Run: ``.venv/bin/python -m unittest discover -s models/tests -v``
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import unittest
from collections import Counter
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(MODELS))

import body_model as bm  # noqa: E402
import gen_mannequin  # noqa: E402
import gen_sample_clip  # noqa: E402
import gen_test_network  # noqa: E402

MANNEQUIN = MODELS / "mannequin.safetensors"
NETWORK = MODELS / "hmr2-test.onnx"
CLIP = MODELS / "sample" / "sample.mp4"
POSES = MODELS / "sample" / "sample_poses.json"

J = {name: i for i, name in enumerate(bm.JOINT_NAMES)}


def _load_model():
    return bm.load(MANNEQUIN)


def _gst():
    return gen_sample_clip._gst()


def decode_rgb_frames(path, wanted=None):
    """Decode an MP4 to RGB frames with GStreamer: list of (pts, [H, W, 3] uint8)."""
    Gst = _gst()
    pipe = Gst.parse_launch(
        f'filesrc location="{path}" ! qtdemux ! h264parse ! avdec_h264 ! videoconvert '
        "! video/x-raw,format=RGB ! appsink name=sink sync=false"
    )
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    frames = []
    index = 0
    while True:
        sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        s = sample.get_caps().get_structure(0)
        w, h = s.get_value("width"), s.get_value("height")
        img = None
        if wanted is None or index in wanted:
            ok, info = buf.map(Gst.MapFlags.READ)
            assert ok
            stride = len(info.data) // h
            img = np.frombuffer(info.data, np.uint8).reshape(h, stride)[:, : w * 3].reshape(h, w, 3).copy()
            buf.unmap(info)
        frames.append((buf.pts, img))
        index += 1
    err = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    assert err is None, err.parse_error()
    return frames


def hmr2_crop(frame_rgb, box):
    """HMR2 preprocessing of one box: returns (input [3, 256, 192] float32, centre, side)."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    w, h = x1 - x0, y1 - y0
    if w / h < 192 / 256:  # grow to aspect 3:4 (w:h)
        w = h * 192 / 256
    else:
        h = w * 256 / 192
    side = max(h, 4.0 / 3.0 * w)
    H, W = frame_rgb.shape[:2]
    g = (np.arange(256) + 0.5) / 256 - 0.5
    gy, gx = np.meshgrid(g, g, indexing="ij")
    sy = cy + gy * side - 0.5  # source sample positions in array index coordinates
    sx = cx + gx * side - 0.5
    xf, yf = np.floor(sx).astype(int), np.floor(sy).astype(int)
    ax, ay = sx - xf, sy - yf
    img = frame_rgb.astype(np.float64)

    def px(yy, xx):
        inside = (xx >= 0) & (xx < W) & (yy >= 0) & (yy < H)
        v = img[np.clip(yy, 0, H - 1), np.clip(xx, 0, W - 1)]
        return v * inside[..., None]

    crop = ((1 - ay) * (1 - ax))[..., None] * px(yf, xf) + ((1 - ay) * ax)[..., None] * px(yf, xf + 1) \
        + (ay * (1 - ax))[..., None] * px(yf + 1, xf) + (ay * ax)[..., None] * px(yf + 1, xf + 1)
    crop = crop[:, 32:224] / 255.0
    mean = np.array(gen_test_network.IMAGE_MEAN)
    std = np.array(gen_test_network.IMAGE_STD)
    chw = ((crop - mean) / std).transpose(2, 0, 1)
    return chw.astype(np.float32), (cx, cy), side


class BodyModelFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = _load_model()

    def test_tensors_shapes_and_metadata(self):
        from safetensors import safe_open

        with safe_open(str(MANNEQUIN), framework="numpy") as f:
            self.assertEqual(set(f.keys()), set(bm.TENSOR_ORDER))
            meta = f.metadata()
        self.assertEqual(meta["format"], "hmr2-body-model")
        self.assertEqual(meta["version"], "1")
        self.assertEqual(meta["joint_names"].split(","), list(bm.JOINT_NAMES))
        self.assertIn("contains no SMPL data", meta["source"])
        m = self.m
        V, F = m.num_vertices, m.num_faces
        self.assertTrue(2000 <= V <= 4000, V)
        self.assertEqual(m.v_template.shape, (V, 3))
        self.assertEqual(m.faces.shape, (F, 3))
        self.assertEqual(m.faces.dtype, np.uint32)
        self.assertEqual(m.shapedirs.shape, (V, 3, 10))
        self.assertEqual(m.posedirs.shape, (207, V * 3))
        self.assertEqual(m.J_regressor.shape, (24, V))
        self.assertEqual(m.weights.shape, (V, 24))
        self.assertEqual(m.parents.tolist(), [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21])
        self.assertLess(MANNEQUIN.stat().st_size, 10_000_000)

    def test_file_is_up_to_date_and_deterministic(self):
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "m.safetensors"
            bm.save(gen_mannequin.build_mannequin(), out)
            self.assertEqual(out.read_bytes(), MANNEQUIN.read_bytes(), "regenerate with models/generate_all.py")

    def test_regressor_reproduces_designed_joints(self):
        m = self.m
        reg = m.J_regressor.astype(np.float64)
        joints = reg @ m.v_template.astype(np.float64)
        err = np.abs(joints - gen_mannequin.designed_joints()).max()
        self.assertLess(err, 1e-6)
        self.assertTrue(np.all(reg >= 0))
        np.testing.assert_allclose(reg.sum(axis=1), 1.0, atol=1e-6)

    def test_weights(self):
        w = self.m.weights.astype(np.float64)
        self.assertTrue(np.all(w >= 0))
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-6)
        self.assertTrue(np.all(w.max(axis=0) > 0.99), "every joint drives some vertex fully")
        blended = np.sum((w.max(axis=1) < 0.9))
        self.assertGreater(blended, 100, "vertices near joints should blend")

    def test_mesh_closed_and_outward(self):
        m = self.m
        f = m.faces.astype(np.int64)
        directed = Counter()
        for a, b, c in f:
            directed[(a, b)] += 1
            directed[(b, c)] += 1
            directed[(c, a)] += 1
        undirected = Counter()
        for (a, b), n in directed.items():
            self.assertEqual(n, 1, f"edge {a}->{b} used twice in the same direction (inconsistent winding)")
            undirected[(min(a, b), max(a, b))] += 1
        self.assertTrue(all(n == 2 for n in undirected.values()), "every edge must be shared by exactly 2 faces")
        labels = bm.connected_components(f, m.num_vertices)
        self.assertEqual(labels.max() + 1, 8)
        for comp in range(labels.max() + 1):
            sel = labels[f[:, 0]] == comp
            self.assertGreater(bm.signed_volume(m.v_template, f[sel]), 1e-4, f"component {comp}")
        # every vertex belongs to some face
        self.assertEqual(len(np.unique(f)), m.num_vertices)

    def test_rest_conventions(self):
        m = self.m
        v = m.v_template.astype(np.float64)
        jt = m.J_regressor.astype(np.float64) @ v
        height = v[:, 1].max() - v[:, 1].min()
        self.assertTrue(1.6 < height < 1.8, height)
        self.assertLess(np.linalg.norm(jt[J["pelvis"]]), 0.05)
        self.assertGreater(jt[J["head"], 1], jt[J["neck"], 1])  # y up
        self.assertGreater(jt[J["neck"], 1], jt[J["pelvis"], 1])
        self.assertGreater(jt[J["pelvis"], 1], jt[J["l_knee"], 1])
        self.assertGreater(jt[J["l_foot"], 2], jt[J["l_ankle"], 2] + 0.05)  # feet point +z
        self.assertGreater(jt[J["l_wrist"], 0], 0.5)  # T-pose, left arm along +x
        self.assertLess(jt[J["r_wrist"], 0], -0.5)
        self.assertLess(abs(jt[J["l_wrist"], 1] - jt[J["l_shoulder"], 1]), 0.03)  # arms horizontal
        # the nose bump: the frontmost head vertex is at the face, not the back
        head = (v[:, 1] > 0.62) & (np.abs(v[:, 0]) < 0.1)
        self.assertGreater(v[head, 2].max(), -v[head, 2].min() + 0.01)

    def test_forward_identity_is_rest(self):
        m = self.m
        r = bm.forward(m)
        np.testing.assert_allclose(r.vertices, m.v_template, atol=1e-7)
        np.testing.assert_allclose(r.joints, gen_mannequin.designed_joints(), atol=1e-6)

    def test_forward_kinematics_and_pose_correctives(self):
        m = self.m
        pose = np.broadcast_to(np.eye(3), (23, 3, 3)).copy()
        pose[J["l_knee"] - 1] = bm.rot_x(math.radians(60))
        root = bm.rot_x(math.pi)
        r = bm.forward(m, root, pose)
        rest = gen_mannequin.designed_joints()
        # joints: rigid chain - bone lengths kept, root rotation about the pelvis
        for j in range(1, 24):
            p = bm.PARENTS[j]
            self.assertAlmostEqual(np.linalg.norm(r.joints[j] - r.joints[p]), np.linalg.norm(rest[j] - rest[p]), places=6)
        np.testing.assert_allclose(r.joints[J["head"]], root @ rest[J["head"]], atol=1e-9)
        # knee bent backwards: in camera frame (z away) the ankle moves towards +z (away)
        self.assertGreater(r.joints[J["l_ankle"], 2] - r.joints[J["l_knee"], 2], 0.2)
        # pose blend shapes are active: zeroing posedirs changes the result near the knee
        m0 = bm.BodyModel(**{k: getattr(m, k) for k in bm.TENSOR_ORDER})
        m0.posedirs = np.zeros_like(m.posedirs)
        d = np.linalg.norm(bm.forward(m0, root, pose).vertices - r.vertices, axis=1)
        self.assertTrue(1e-3 < d.max() < 0.03, d.max())
        self.assertLess(d[m.weights[:, J["head"]] > 0.5].max(), 1e-12)

    def test_shapes_stay_plausible(self):
        m = self.m
        for k in range(10):
            for val in (-3.0, 3.0):
                betas = np.zeros(10)
                betas[k] = val
                r = bm.forward(m, betas=betas)
                h = r.vertices[:, 1].max() - r.vertices[:, 1].min()
                self.assertTrue(1.35 < h < 2.1, (k, val, h))
                # shape must move the mesh, smoothly (no vertex jumps more than 0.2 m)
                delta = np.linalg.norm(r.vertices - m.v_template, axis=1)
                self.assertGreater(delta.max(), 0.005, k)
                self.assertLess(delta.max(), 0.3, k)

    def test_rot6d_roundtrip(self):
        R = bm.axis_angle_to_matrix(np.array([[0.3, -0.2, 0.9], [2.0, 0.1, -0.5]]))
        np.testing.assert_allclose(bm.rot6d_to_matrix(bm.matrix_to_rot6d(R)), R, atol=1e-12)


class TestNetwork(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import onnx
        import onnxruntime as ort

        cls.onnx_model = onnx.load(str(NETWORK))
        cls.sess = ort.InferenceSession(str(NETWORK), providers=["CPUExecutionProvider"])

    def test_interface(self):
        inputs = self.sess.get_inputs()
        self.assertEqual([(i.name, i.type, i.shape) for i in inputs], [("image", "tensor(float)", ["batch", 3, 256, 192])])
        outs = [(o.name, o.type, o.shape) for o in self.sess.get_outputs()]
        self.assertEqual(outs, [
            ("global_orient", "tensor(float)", ["batch", 1, 3, 3]),
            ("body_pose", "tensor(float)", ["batch", 23, 3, 3]),
            ("betas", "tensor(float)", ["batch", 10]),
            ("pred_cam", "tensor(float)", ["batch", 3]),
        ])
        self.assertEqual([o.version for o in self.onnx_model.opset_import if o.domain in ("", "ai.onnx")], [17])
        self.assertIn("ESTIMATES NOTHING", self.onnx_model.doc_string)
        self.assertLess(NETWORK.stat().st_size, 5_000_000)

    def test_file_is_up_to_date(self):
        import onnx

        model = gen_test_network.build_model(gen_test_network.base_camera(_load_model()))
        self.assertEqual(model.SerializeToString(), NETWORK.read_bytes(), "regenerate with models/generate_all.py")
        onnx.checker.check_model(model, full_check=True)

    def test_outputs_valid_and_batch_independent(self):
        x = gen_test_network.sample_inputs(4, seed=11)
        outs = self.sess.run(None, {"image": x})
        info = gen_test_network.check_outputs(outs, atol=1e-5)
        self.assertLess(info["max_angle_deg"], 25.0)
        self.assertLess(info["max_abs_beta"], 0.5)
        for i in range(4):
            single = self.sess.run(None, {"image": x[i : i + 1]})
            for k in range(4):
                np.testing.assert_allclose(single[k][0], outs[k][i], atol=1e-6)
        # outputs do depend on the image (samples 0 and 1 are flat black and white crops,
        # which the network's contrast features cannot tell apart; 2 and 3 are textured)
        self.assertGreater(np.abs(outs[1][2] - outs[1][3]).max(), 1e-3)
        # changing one sample does not change another
        y = x.copy()
        y[2] = -y[2]
        outs2 = self.sess.run(None, {"image": y})
        for k in range(4):
            np.testing.assert_allclose(outs2[k][[0, 1, 3]], outs[k][[0, 1, 3]], atol=1e-6)

    def test_gram_schmidt_matches_reference(self):
        import onnx
        import onnxruntime as ort

        m = onnx.ModelProto()
        m.CopyFrom(self.onnx_model)
        m.graph.output.append(onnx.helper.make_tensor_value_info("rot6d_flat", onnx.TensorProto.FLOAT, ["batch", 144]))
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        go, bp, _, _, six = sess.run(None, {"image": gen_test_network.sample_inputs(3, seed=5)})
        ref = bm.rot6d_to_matrix(six.reshape(3, 24, 6))
        np.testing.assert_allclose(np.concatenate([go, bp], axis=1), ref, atol=2e-6)

    def test_upright_person_on_sample_crop(self):
        poses = json.loads(POSES.read_text())
        model = _load_model()
        W, H = poses["width"], poses["height"]
        f = 5000.0 / 256.0 * max(W, H)
        for index in (0, 45):
            frame = decode_rgb_frames(CLIP, wanted={index})[index][1]
            box = poses["frames"][index]["bbox"]
            x, (cx, cy), side = hmr2_crop(frame, box)
            go, bp, betas, cam = self.sess.run(None, {"image": x[None]})
            r = bm.forward(model, go[0], bp[0], betas[0])
            s, tx, ty = (float(v) for v in cam[0])
            bs = side * s
            t = np.array([tx + 2 * (cx - W / 2) / bs, ty + 2 * (cy - H / 2) / bs, 2 * f / bs])
            pts = r.joints + t
            uv = np.stack([f * pts[:, 0] / pts[:, 2] + W / 2, f * pts[:, 1] / pts[:, 2] + H / 2], axis=1)
            # head above the feet (v grows downwards)
            self.assertLess(uv[J["head"], 1], uv[J["l_ankle"], 1] - 0.5 * (box[3] - box[1]))
            self.assertLess(uv[J["head"], 1], uv[J["r_ankle"], 1] - 0.5 * (box[3] - box[1]))
            # the projected mesh is vertically centred on the crop and fills ~90% of it
            vv = r.vertices + t
            v_px = f * vv[:, 1] / vv[:, 2] + H / 2
            self.assertLess(abs((v_px.min() + v_px.max()) / 2 - cy), 0.05 * side)
            self.assertTrue(0.75 * side < v_px.max() - v_px.min() < 1.0 * side)

    def test_known_point_projection(self):
        # A body point at crop coordinate s (X + t): the full-frame camera agrees.
        W, H = 640, 360
        f = 5000.0 / 256.0 * max(W, H)
        s, tx, ty = gen_test_network.base_camera(_load_model())
        cx, cy, side = 300.0, 200.0, 240.0
        bs = side * s
        t = np.array([tx + 2 * (cx - W / 2) / bs, ty + 2 * (cy - H / 2) / bs, 2 * f / bs])
        X = np.array([0.1, -0.5, 0.0])
        p = X + t
        u, v = f * p[0] / p[2] + W / 2, f * p[1] / p[2] + H / 2
        self.assertAlmostEqual(u, cx + s * (X[0] + tx) * side / 2, places=6)
        self.assertAlmostEqual(v, cy + s * (X[1] + ty) * side / 2, places=6)


class TestSampleClip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.poses = json.loads(POSES.read_text())

    def test_clip_decodes_to_90_frames(self):
        frames = decode_rgb_frames(CLIP, wanted={0})
        self.assertEqual(len(frames), 90)
        self.assertEqual(frames[0][1].shape, (360, 640, 3))
        self.assertEqual([p for p, _ in frames], [fr["pts_ns"] for fr in self.poses["frames"]])
        self.assertLess(CLIP.stat().st_size, 1_500_000)

    def test_poses_json(self):
        p = self.poses
        self.assertEqual((p["width"], p["height"], p["fps_n"], p["fps_d"], p["num_frames"]), (640, 360, 30, 1, 90))
        self.assertEqual(len(p["frames"]), 90)
        self.assertAlmostEqual(p["focal_length"], 12500.0)
        self.assertEqual(p["principal_point"], [320.0, 180.0])
        model = _load_model()
        f, (cx, cy) = p["focal_length"], p["principal_point"]
        heights = []
        for i, fr in enumerate(p["frames"]):
            self.assertEqual(fr["index"], i)
            self.assertEqual(fr["pts_ns"], i * 1_000_000_000 // 30)
            go = np.array(fr["global_orient"])
            bp = np.array(fr["body_pose"])
            self.assertEqual(go.shape, (3, 3))
            self.assertEqual(bp.shape, (23, 3, 3))
            self.assertEqual(len(fr["betas"]), 10)
            R = np.concatenate([go[None], bp])
            self.assertLess(np.abs(np.swapaxes(R, 1, 2) @ R - np.eye(3)).max(), 1e-6)
            r = bm.forward(model, go, bp, fr["betas"])
            t = np.array(fr["cam_t"])
            for pts, key in ((r.joints + t, "joints_2d"), (r.vertices + t, None)):
                uv = np.stack([f * pts[:, 0] / pts[:, 2] + cx, f * pts[:, 1] / pts[:, 2] + cy], axis=1)
                if key:
                    np.testing.assert_allclose(uv, np.array(fr[key]), atol=0.01)
                    np.testing.assert_allclose(pts, np.array(fr["joints_3d"]), atol=1e-5)
                    self.assertLess(uv[J["head"], 1], uv[J["l_ankle"], 1])
                else:
                    box = [uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()]
                    np.testing.assert_allclose(box, fr["bbox"], atol=0.01)
            x0, y0, x1, y1 = fr["bbox"]
            self.assertTrue(0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 360, fr["bbox"])
            heights.append((y1 - y0) / 360)
        self.assertTrue(0.6 <= min(heights) and max(heights) <= 0.8, (min(heights), max(heights)))

    def test_person_visible_in_frames(self):
        frames = decode_rgb_frames(CLIP, wanted={0, 60})
        bg = np.clip(np.round(gen_sample_clip.background() * 255), 0, 255)
        for index in (0, 60):
            img = frames[index][1].astype(np.float64)
            x0, y0, x1, y1 = self.poses["frames"][index]["bbox"]
            diff = np.abs(img - bg).sum(axis=2) > 40
            inside = diff[int(y0) + 1 : int(y1), int(x0) + 1 : int(x1)].mean()
            outside = diff.copy()
            outside[int(y0) - 2 : int(y1) + 3, int(x0) - 2 : int(x1) + 3] = False
            self.assertGreater(inside, 0.2)
            self.assertLess(outside.mean(), 0.01)


if __name__ == "__main__":
    unittest.main()
