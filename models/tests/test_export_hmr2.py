"""Tests of the parts of models/export_hmr2.py that need neither torch nor 4D-Humans: the
float16 conversion and the checkpoint key check. The export itself is verified against
4D-Humans' real code by models/verify_hmr2_export.py (not in CI: it needs torch).

Run: .venv/bin/python -m unittest discover -s models/tests -v
"""

from __future__ import annotations

import subprocess
import tempfile
import sys
import unittest
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(MODELS))

import export_hmr2  # noqa: E402


def query_token_model():
    """A small graph with the pattern torch exports for HMR2's SMPL head: a zero query token
    made by ConstantOfShape from the batch size and then Cast(to=float32) (``torch.zeros(B, 1, 1)
    .to(device)``), embedded by a MatMul with a weight, and combined with features of the input."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(np.array([0], np.int64), "zero_idx"),
        numpy_helper.from_array(np.array([1, 1], np.int64), "one_one"),
        numpy_helper.from_array(rng.normal(0, 1, (1, 8)).astype(np.float32), "to_token.weight"),
        numpy_helper.from_array(rng.normal(0, 1, (8,)).astype(np.float32), "to_token.bias"),
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 8)).astype(np.float32), "ctx.weight"),
        numpy_helper.from_array(np.array([-1, 8], np.int64), "flat"),
    ]
    zero = helper.make_tensor("value", TensorProto.FLOAT, [1], [0.0])
    nodes = [
        helper.make_node("Shape", ["x"], ["x_shape"], name="/smpl_head/Shape"),
        helper.make_node("Gather", ["x_shape", "zero_idx"], ["batch"], name="/smpl_head/Gather", axis=0),
        helper.make_node("Concat", ["batch", "one_one"], ["token_shape"], name="/smpl_head/Concat", axis=0),
        helper.make_node("ConstantOfShape", ["token_shape"], ["token64"], name="/smpl_head/ConstantOfShape",
                         value=zero),
        helper.make_node("Cast", ["token64"], ["token"], name="/smpl_head/Cast", to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["token", "to_token.weight"], ["emb"], name="/smpl_head/to_token/MatMul"),
        helper.make_node("Add", ["emb", "to_token.bias"], ["emb_b"], name="/smpl_head/to_token/Add"),
        helper.make_node("Reshape", ["emb_b", "flat"], ["emb_flat"], name="/smpl_head/Reshape"),
        helper.make_node("MatMul", ["x", "ctx.weight"], ["ctx"], name="/backbone/MatMul"),
        helper.make_node("Add", ["emb_flat", "ctx"], ["y"], name="/smpl_head/Add"),
    ]
    graph = helper.make_graph(nodes, "query_token",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def session(model):
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


class Fp16ConversionTests(unittest.TestCase):
    def setUp(self):
        self.x = np.random.default_rng(1).normal(0, 1, (3, 4)).astype(np.float32)
        self.want = session(query_token_model()).run(["y"], {"x": self.x})[0]

    def test_converted_model_loads_runs_and_matches_float32(self):
        from onnx import TensorProto

        model, retargeted = export_hmr2.to_fp16(query_token_model())
        self.assertEqual(retargeted, ["/smpl_head/Cast"])
        self.assertEqual(model.graph.input[0].type.tensor_type.elem_type, TensorProto.FLOAT)
        self.assertEqual(model.graph.output[0].type.tensor_type.elem_type, TensorProto.FLOAT)
        weights = {t.name: t.data_type for t in model.graph.initializer}
        self.assertEqual(weights["to_token.weight"], TensorProto.FLOAT16)
        self.assertEqual(weights["ctx.weight"], TensorProto.FLOAT16)
        got = session(model).run(["y"], {"x": self.x})[0]
        self.assertEqual(got.dtype, np.float32)
        self.assertEqual(got.shape, (3, 8))
        np.testing.assert_allclose(got, self.want, atol=1e-2)

    def test_plain_conversion_is_refused_by_onnxruntime(self):
        """Without the Cast fix the converted model does not load: what the fix is for (and
        proof that the test above would fail without it)."""
        from onnxconverter_common import float16

        plain = float16.convert_float_to_float16(query_token_model(), keep_io_types=True, disable_shape_infer=True)
        # In a fresh interpreter: ONNX Runtime's refusal is a C++ exception, and in a process
        # that also loaded GStreamer through PyGObject after numpy (another test module of
        # this suite does) unwinding it aborts the interpreter.
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "plain-fp16.onnx"
            path.write_bytes(plain.SerializeToString())
            load = "import sys, onnxruntime as ort; ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])"
            result = subprocess.run([sys.executable, "-c", load, str(path)], capture_output=True, text=True)
        self.assertNotEqual(result.returncode, 0, "ONNX Runtime loaded the plainly converted model")
        self.assertRegex(result.stderr, r"(?i)type|float")

    def test_interface_casts_are_left_alone(self):
        """Only Casts of the exported graph change: the float32 casts the converter adds at
        the outputs (keep_io_types) stay float32."""
        from onnx import TensorProto

        model, _ = export_hmr2.to_fp16(query_token_model())
        to_float = [n for n in model.graph.node if n.op_type == "Cast" and export_hmr2._cast_to(n) == TensorProto.FLOAT]
        self.assertEqual([o for n in to_float for o in n.output], ["y"])


class CheckpointKeyTests(unittest.TestCase):
    """The key check on plain state dicts (numpy arrays as the weights)."""

    @staticmethod
    def shapes(state):
        return {k: v.shape for k, v in state.items()}

    def model_state(self):
        z = np.zeros
        return {
            "backbone.patch_embed.proj.weight": z((8, 3, 4, 4)),
            "backbone.blocks.0.attn.qkv.weight": z((24, 8)),
            "backbone.blocks.0.attn.qkv.bias": z(24),
            "smpl_head.decpose.weight": z((144, 16)),
            "smpl_head.decshape.weight": z((10, 16)),
            "smpl_head.init_betas": z((1, 10)),
            "smpl.shapedirs": z((5, 3, 10)),
            "discriminator.D_conv1.weight": z((32, 9, 1, 1)),
            "initialized": z(()),
        }

    def test_matching_checkpoint_passes(self):
        state = self.model_state()
        ckpt = dict(state)
        del ckpt["discriminator.D_conv1.weight"]  # outside the exported parts: not compared
        ckpt["smpl.extra_buffer"] = np.zeros(3)
        problems = export_hmr2.checkpoint_key_problems(self.shapes(ckpt), self.shapes(state))
        self.assertEqual(problems, {"missing": [], "unexpected": [], "shape": []})
        self.assertIsNone(export_hmr2.describe_key_problems(problems))

    def test_missing_unexpected_and_misshaped_keys_are_named(self):
        state = self.model_state()
        ckpt = dict(state)
        del ckpt["backbone.blocks.0.attn.qkv.bias"]
        ckpt["smpl_head.dec_shape.weight"] = ckpt.pop("smpl_head.decshape.weight")
        ckpt["smpl_head.decpose.weight"] = np.zeros((72, 16))
        problems = export_hmr2.checkpoint_key_problems(self.shapes(ckpt), self.shapes(state))
        self.assertEqual(problems["missing"], ["backbone.blocks.0.attn.qkv.bias", "smpl_head.decshape.weight"])
        self.assertEqual(problems["unexpected"], ["smpl_head.dec_shape.weight"])
        self.assertEqual(problems["shape"], [("smpl_head.decpose.weight", (72, 16), (144, 16))])
        msg = export_hmr2.describe_key_problems(problems)
        for name in ("backbone.blocks.0.attn.qkv.bias", "smpl_head.decshape.weight", "smpl_head.dec_shape.weight",
                     "smpl_head.decpose.weight", "random weights"):
            self.assertIn(name, msg)

    def test_a_checkpoint_of_another_network_is_refused(self):
        """A checkpoint with none of the exported weights (e.g. prefixed differently)."""
        state = self.model_state()
        ckpt = {"model." + k: v for k, v in state.items()}
        problems = export_hmr2.checkpoint_key_problems(self.shapes(ckpt), self.shapes(state))
        self.assertEqual(len(problems["missing"]), 6)
        self.assertIn("6 missing from the checkpoint", export_hmr2.describe_key_problems(problems))

    def test_long_lists_are_shortened(self):
        state = {f"backbone.blocks.{i}.w": np.zeros(1) for i in range(40)}
        msg = export_hmr2.describe_key_problems(export_hmr2.checkpoint_key_problems({}, self.shapes(state)))
        self.assertIn("40 missing", msg)
        self.assertIn("(28 more)", msg)

    def test_module_imports_without_torch(self):
        code = ("import sys; sys.path.insert(0, sys.argv[1]); import export_hmr2; "
                "bad = [m for m in ('torch', 'hmr2', 'pytorch_lightning') if m in sys.modules]; "
                "print(bad); sys.exit(1 if bad else 0)")
        r = subprocess.run([sys.executable, "-c", code, str(MODELS)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
