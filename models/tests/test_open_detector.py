"""Tests of the open person detector (models/open_detector.py), of the TF.js graph converter
under it (models/tfjs_graph.py) and of the footage fetcher (models/footage.py).

The reference is the real thing: TensorFlow.js 4.22.0 (its pure JavaScript CPU backend,
under node) runs the original TF.js graphs, and real footage (OpenCV's sample clip of
pedestrians) shows that the converted detector finds people.

Set-up these tests need (each part is skipped, with the reason, when its part is missing):
    .venv/bin/python models/open_detector.py                 # NanoDet, converted (.deps/models)
    .venv/bin/python models/open_detector.py tfjs-reference  # TF.js under node (.deps/node)
    .venv/bin/python models/footage.py                       # opencv-doc samples (.deps/footage)
Run: .venv/bin/python -m unittest discover -s models/tests -v   (this file: about 30 s, most
of it TF.js running NanoDet once on one frame)
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(MODELS))

import footage  # noqa: E402
import open_detector as od  # noqa: E402
import tfjs_graph  # noqa: E402

# Persons in frame 600 of vtest.avi, marked by hand on the frame (x0, y0, x1, y1 in frame
# pixels, read off a 2x enlargement with a 20 px grid): every one is clearly visible.
VTEST_FRAME = 600
VTEST_PERSONS = [
    (189, 144, 215, 214),  # walking, top left, behind the tape
    (569, 200, 597, 288),  # jeans, middle right
    (670, 209, 700, 296),  # dark clothes, right
    (455, 302, 506, 419),  # red jacket, by the tripod
    (641, 305, 671, 412),  # dark clothes, standing
    (284, 431, 331, 576),  # blonde, bottom, cut by the frame's edge
]
BASKETBALL2_PERSONS = [
    (38, 85, 170, 475),  # left, holding the ball
    (428, 25, 640, 480),  # right, cut by the frame's edge
]


def node_available() -> bool:
    return shutil.which("node") is not None and od.tfjs_reference_ready()


def nanodet_extracted() -> bool:
    return all(pin.matches(od.EXTRACTED / pin.filename) for pin in od.MEMBERS.values())


def ort_session(model, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------------------------
# Independent reference code (numpy, written from NanoDet's published description)
# ---------------------------------------------------------------------------------------


def nanodet_normalise(rgb01: np.ndarray) -> np.ndarray:
    """[1, 3, H, W] RGB in [0, 1] -> NanoDet's input: BGR, (pixel - mean) / std."""
    bgr = rgb01[:, ::-1] * 255.0
    mean = np.array([103.53, 116.28, 123.675]).reshape(1, 3, 1, 1)
    std = np.array([57.375, 57.12, 58.395]).reshape(1, 3, 1, 1)
    return ((bgr - mean) / std).astype(np.float32)


def nanodet_decode(outputs: dict[str, np.ndarray]) -> np.ndarray:
    """[84, 3549] rows (cx, cy, w, h, 80 scores) from the six raw outputs, in float64."""
    columns = []
    for k, stride in enumerate((8, 16, 32)):
        scores = outputs[["Identity", "Identity_1", "Identity_2"][k]][0].astype(np.float64)
        bins = outputs[["Identity_3", "Identity_4", "Identity_5"][k]][0].astype(np.float64)
        n = 416 // stride
        rows = []
        for i in range(n * n):
            cx, cy = (i % n + 0.5) * stride, (i // n + 0.5) * stride
            dist = []
            for side in range(4):
                logits = bins[i, side * 11:(side + 1) * 11]
                p = np.exp(logits - logits.max())
                p /= p.sum()
                dist.append(stride * float(np.dot(p, np.arange(11))))
            left, top, right, bottom = dist
            x0, y0, x1, y1 = cx - left, cy - top, cx + right, cy + bottom
            rows.append([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, *scores[i]])
        columns.append(np.array(rows).T)
    return np.concatenate(columns, axis=1)


def letterboxed_frame(border: float = 114.0) -> np.ndarray:
    import detector_eval

    rgb = footage.frames(footage.DATA / "vtest.avi", {VTEST_FRAME})[VTEST_FRAME]
    return detector_eval.letterbox(rgb, border=border)[0]


# ---------------------------------------------------------------------------------------
# The converter on a small graph of the ops it supports, against TF.js
# ---------------------------------------------------------------------------------------


def _attr_list(values):
    return {"list": {"i": [str(v) for v in values]}}


def _attr_s(text: str):
    import base64

    return {"s": base64.b64encode(text.encode()).decode()}


def write_small_graph(folder: Path) -> dict[str, np.ndarray]:
    """A TF.js graph model exercising every converted op and weight encoding; returns its
    weights as TF.js decodes them."""
    rng = np.random.default_rng(7)
    nodes, specs, blobs, weights = [], [], [], {}

    def const(name, value, encoding=None):
        value = np.asarray(value)
        if encoding == "float16":
            stored = value.astype("<f2")
            weights[name] = stored.astype(np.float32)
            specs.append({"name": name, "shape": list(value.shape), "dtype": "float32",
                          "quantization": {"dtype": "float16", "original_dtype": "float32"}})
        elif encoding == "uint8":
            lo, hi = float(value.min()), float(value.max())
            scale = (hi - lo) / 255.0
            stored = np.round((value - lo) / scale).astype(np.uint8)
            weights[name] = stored * np.float32(scale) + np.float32(lo)
            specs.append({"name": name, "shape": list(value.shape), "dtype": "float32",
                          "quantization": {"dtype": "uint8", "scale": scale, "min": lo}})
        else:
            stored = value.astype("<f4" if value.dtype.kind == "f" else "<i4")
            weights[name] = stored
            specs.append({"name": name, "shape": list(value.shape),
                          "dtype": "float32" if value.dtype.kind == "f" else "int32"})
        blobs.append(stored.tobytes())
        nodes.append({"name": name, "op": "Const", "attr": {}})
        return name

    def node(name, op, inputs, **attr):
        nodes.append({"name": name, "op": op, "input": inputs, "attr": attr})
        return name

    f32 = {"T": {"type": "DT_FLOAT"}}
    node("x", "Placeholder", [], shape={"shape": {"dim": [{"size": "1"}, {"size": "20"}, {"size": "24"},
                                                          {"size": "3"}]}}, dtype={"type": "DT_FLOAT"})
    w1 = const("w1", rng.normal(0, 0.5, (3, 3, 3, 8)), "float16")
    b1 = const("b1", rng.normal(0, 0.2, (8,)), "uint8")
    node("c1", "Conv2D", ["x", w1], strides=_attr_list([1, 2, 2, 1]), padding=_attr_s("SAME"),
         data_format=_attr_s("NHWC"), dilations=_attr_list([1, 1, 1, 1]), **f32)
    node("b1add", "BiasAdd", ["c1", b1], **f32)
    node("r1", "Relu", ["b1add"], **f32)  # [1, 10, 12, 8]
    # -inf padding in front of a VALID max-pool (becomes the pool's pads)
    node("p1", "PadV2", ["r1", const("p1/pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)),
                         const("p1/value", np.array(-np.inf, np.float32))], **f32)
    node("mp1", "MaxPool", ["p1"], ksize=_attr_list([1, 3, 3, 1]), strides=_attr_list([1, 1, 1, 1]),
         padding=_attr_s("VALID"), data_format=_attr_s("NHWC"), **f32)  # [1, 10, 12, 8]
    node("mp2", "MaxPool", ["r1"], ksize=_attr_list([1, 2, 2, 1]), strides=_attr_list([1, 2, 2, 1]),
         padding=_attr_s("SAME"), data_format=_attr_s("NHWC"), **f32)  # [1, 5, 6, 8]
    node("rz1", "ResizeBilinear", ["mp2", const("rz1/size", np.array([10, 12], np.int32))],
         align_corners={"b": True}, half_pixel_centers={"b": False}, **f32)
    node("rz2", "ResizeBilinear", ["r1", const("rz2/size", np.array([7, 9], np.int32))],
         align_corners={"b": False}, half_pixel_centers={"b": False}, **f32)
    node("rz3", "ResizeBilinear", ["r1", const("rz3/size", np.array([20, 24], np.int32))],
         align_corners={"b": False}, half_pixel_centers={"b": True}, **f32)
    # NCHW detour with a zero pad in front of a 1x1 convolution, then a bias and LeakyRelu
    node("t1", "Transpose", ["r1", const("t1/perm", np.array([0, 3, 1, 2], np.int32))], **f32)
    node("pad0", "Pad", ["t1", const("pad0/pads", np.array([[0, 0], [0, 0], [1, 0], [0, 1]], np.int32))], **f32)
    node("t2", "Transpose", ["pad0", const("t2/perm", np.array([0, 2, 3, 1], np.int32))], **f32)
    node("c2", "Conv2D", ["t2", const("w2", rng.normal(0, 0.5, (1, 1, 8, 4)), "float16")],
         strides=_attr_list([1, 1, 1, 1]), padding=_attr_s("VALID"), data_format=_attr_s("NHWC"),
         dilations=_attr_list([1, 1, 1, 1]), **f32)
    node("c2add", "AddV2", ["c2", const("b2", rng.normal(0, 0.2, (4,)))], **f32)
    node("lr", "LeakyRelu", ["c2add"], alpha={"f": 0.1}, **f32)  # [1, 11, 13, 4]
    node("cat", "ConcatV2", ["mp1", "rz1", const("cat/axis", np.array(-1, np.int32))], N={"i": "2"}, **f32)
    node("sp", "SplitV", ["cat", const("sp/sizes", np.array([5, -1], np.int32)),
                          const("sp/axis", np.array(3, np.int32))], num_split={"i": "2"}, **f32)
    node("sig", "Sigmoid", ["sp"], **f32)
    node("t3", "Transpose", ["sig", const("t3/perm", np.array([0, 3, 1, 2], np.int32))], **f32)
    node("rs", "Reshape", ["t3", const("rs/shape", np.array([1, 5, -1], np.int32))], **f32)
    node("sum", "Add", ["rz3", const("bias3", rng.normal(0, 1, (8,)))], **f32)
    outputs = {"out_a": "lr", "out_b": "rs", "out_c": "sp:1", "out_d": "rz2", "out_e": "sum"}
    for name, src in outputs.items():
        node(name, "Identity", [src], **f32)
    model = {
        "format": "graph-model",
        "modelTopology": {"node": nodes, "library": {}, "versions": {}},
        "signature": {
            "inputs": {"x:0": {"name": "x:0", "dtype": "DT_FLOAT",
                               "tensorShape": {"dim": [{"size": "1"}, {"size": "20"}, {"size": "24"}, {"size": "3"}]}}},
            "outputs": {f"{n}:0": {"name": f"{n}:0", "dtype": "DT_FLOAT"} for n in outputs},
        },
        "weightsManifest": [{"paths": ["weights.bin"], "weights": specs}],
    }
    (folder / "model.json").write_text(json.dumps(model))
    (folder / "weights.bin").write_bytes(b"".join(blobs))
    return weights


class TfjsGraphConverterTests(unittest.TestCase):
    def test_reads_float16_and_affine_uint8_weights_as_tfjs_decodes_them(self):
        with tempfile.TemporaryDirectory() as tmp:
            expected = write_small_graph(Path(tmp))
            graph = tfjs_graph.load(Path(tmp) / "model.json")
        for name, value in expected.items():
            np.testing.assert_array_equal(graph.weights[name], value, err_msg=name)
        self.assertEqual(graph.inputs, {"x": [1, 20, 24, 3]})
        self.assertEqual(graph.outputs, ["out_a", "out_b", "out_c", "out_d", "out_e"])

    def test_unsupported_op_is_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_small_graph(Path(tmp))
            doc = json.loads((Path(tmp) / "model.json").read_text())
            next(n for n in doc["modelTopology"]["node"] if n["name"] == "sig")["op"] = "Tanh"
            (Path(tmp) / "model.json").write_text(json.dumps(doc))
            graph = tfjs_graph.load(Path(tmp) / "model.json")
        with self.assertRaisesRegex(tfjs_graph.ConversionError, "sig: op Tanh not supported"):
            tfjs_graph.to_onnx(graph)

    @unittest.skipUnless(node_available(), "TF.js reference not installed (models/open_detector.py tfjs-reference)")
    def test_small_graph_matches_tfjs(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_small_graph(Path(tmp))
            graph = tfjs_graph.load(Path(tmp) / "model.json")
            x = np.random.default_rng(3).normal(0, 1, (1, 20, 24, 3)).astype(np.float32)
            ref = od.run_tfjs(Path(tmp) / "model.json", [x])[0]
        model = tfjs_graph.to_onnx(graph)
        ops = {n.op_type for n in model.graph.node}
        self.assertNotIn("Pad", ops, "both pads should have become pads of the conv and the pool")
        sess = ort_session(model)
        got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"x": x})))
        self.assertEqual(set(got), set(ref))
        for name in ref:
            self.assertEqual(got[name].shape, ref[name].shape, name)
            np.testing.assert_allclose(got[name], ref[name], atol=2e-5, rtol=1e-5, err_msg=name)


# ---------------------------------------------------------------------------------------
# NanoDet
# ---------------------------------------------------------------------------------------


@unittest.skipUnless(nanodet_extracted(), "NanoDet not fetched (models/open_detector.py)")
class NanoDetConversionTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.graph = od.load_graph(od.EXTRACTED)
        cls.model = od.detector_model(cls.graph, od.converter_fingerprint())
        cls.raw = od.raw_model(cls.graph)

    def test_conversion_is_deterministic_and_is_the_installed_file(self):
        again = od.detector_model(od.load_graph(od.EXTRACTED), od.converter_fingerprint())
        data = self.model.SerializeToString()
        self.assertEqual(data, again.SerializeToString())
        if od.OUTPUT.is_file() and od.up_to_date(od.OUTPUT):
            self.assertEqual(od.OUTPUT.read_bytes(), data, f"{od.OUTPUT} differs from a fresh conversion")

    def test_interface_is_the_elements_detector_layout(self):
        sess = ort_session(self.model)
        (inp,) = sess.get_inputs()
        self.assertEqual((inp.name, inp.type, inp.shape), ("images", "tensor(float)", [1, 3, 416, 416]))
        out = sess.get_outputs()[0]
        self.assertEqual((out.name, out.type, out.shape), ("output0", "tensor(float)", [1, 84, 3549]))
        meta = {p.key: p.value for p in self.model.metadata_props}
        self.assertEqual(meta["source.tarball_sha256"], od.PACKAGE.sha256)

    def test_graph_normalises_and_decodes_like_nanodet(self):
        # Any image will do here (the network is the same in both models); a real one when
        # the footage is there, so that some scores are high.
        if footage.ready():
            x = letterboxed_frame()
        else:
            x = np.random.default_rng(5).uniform(0, 1, (1, 3, 416, 416)).astype(np.float32)
        raw = ort_session(self.raw)
        raw_out = dict(zip([o.name for o in raw.get_outputs()], raw.run(None, {"input_1": nanodet_normalise(x)})))
        expected = nanodet_decode(raw_out)
        got = ort_session(self.model).run(None, {"images": x})[0][0]
        np.testing.assert_allclose(got[4:], expected[4:], atol=2e-6)
        np.testing.assert_allclose(got[:4], expected[:4], atol=2e-3)  # pixels, of up to 416
        self.assertGreater(expected[4].max(), 0.5 if footage.ready() else 0.0)


@unittest.skipUnless(nanodet_extracted(), "NanoDet not fetched (models/open_detector.py)")
@unittest.skipUnless(node_available(), "TF.js reference not installed (models/open_detector.py tfjs-reference)")
@unittest.skipUnless(footage.ready(), "footage not fetched (models/footage.py)")
class NanoDetAgainstTfjsTests(unittest.TestCase):
    def test_converted_network_and_detector_match_tfjs_on_a_real_frame(self):
        graph = od.load_graph(od.EXTRACTED)
        x = letterboxed_frame()
        ref = od.run_tfjs(od.EXTRACTED / "nanodet.json", [nanodet_normalise(x)])[0]
        raw = ort_session(od.raw_model(graph))
        got = dict(zip([o.name for o in raw.get_outputs()], raw.run(None, {"input_1": nanodet_normalise(x)})))
        self.assertEqual(set(got), set(ref))
        for name in ref:
            self.assertEqual(got[name].shape, ref[name].shape, name)
            err = float(np.abs(got[name] - ref[name]).max())
            self.assertLess(err, 1e-4, f"{name}: max abs difference {err} from TF.js")
        # The whole detector against NanoDet's decoding of TF.js' outputs.
        full = ort_session(od.detector_model(graph, "test")).run(None, {"images": x})[0][0]
        expected = nanodet_decode(ref)
        np.testing.assert_allclose(full[4:], expected[4:], atol=1e-4)
        np.testing.assert_allclose(full[:4], expected[:4], atol=2e-2)
        self.assertGreater(expected[4].max(), 0.5)


@unittest.skipUnless(footage.ready(), "footage not fetched (models/footage.py)")
@unittest.skipUnless(od.OUTPUT.is_file(), "NanoDet not converted (models/open_detector.py)")
class NanoDetFindsPeopleTests(unittest.TestCase):
    """The converted file, run the way hmr2pose runs a detector (letterbox with its grey
    border, score >= 0.5, person the best class, NMS), finds the persons marked by hand:
    each one matched by exactly one box with IoU >= 0.5 and no other box."""

    def check(self, rgb, persons, iou_threshold):
        import detector_eval as de

        boxes, scores = de.detect(ort_session(od.OUTPUT.read_bytes()), rgb, 0.5, iou_threshold)
        matched = set()
        for person in persons:
            hits = [k for k, b in enumerate(boxes) if de.iou(np.array(person, float), b) >= 0.5]
            self.assertEqual(len(hits), 1, f"person {person}: boxes {boxes.round().tolist()} scores {scores}")
            matched.update(hits)
        extra = [boxes[k].round().tolist() for k in range(len(boxes)) if k not in matched]
        self.assertEqual(extra, [], "boxes on no marked person")

    def test_pedestrians_in_vtest_frame(self):
        rgb = footage.frames(footage.DATA / "vtest.avi", {VTEST_FRAME})[VTEST_FRAME]
        for iou_threshold in (0.6, 0.7):
            with self.subTest(nms_iou=iou_threshold):
                self.check(rgb, VTEST_PERSONS, iou_threshold)

    def test_close_people_in_a_photo(self):
        self.check(footage.image(footage.DATA / "basketball2.png"), BASKETBALL2_PERSONS, 0.6)


class FootageTests(unittest.TestCase):
    @unittest.skipUnless(footage.ready(), "footage not fetched (models/footage.py)")
    def test_clip_decodes(self):
        frames = footage.frames(footage.DATA / "vtest.avi", {0, 794})
        self.assertEqual({k: v.shape for k, v in frames.items()}, {0: (576, 768, 3), 794: (576, 768, 3)})
        self.assertTrue((footage.FOOTAGE / "copyright").is_file())


if __name__ == "__main__":
    unittest.main()
