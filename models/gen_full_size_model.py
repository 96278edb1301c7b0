#!/usr/bin/env python3
"""Generate an ONNX model with HMR2.0's full architecture and size, random weights.

For throughput benchmarks of ``hmr2pose`` on a GPU machine when no real HMR2.0 export is
at hand: the graph has the real network's layers, shapes, parameter count (about 671 M)
and arithmetic (about 248 GFLOP per crop in the backbone), so it runs as fast or as slow
as the real export, but it estimates nothing. It is never committed (about 2.7 GB); make
it on demand::

    .venv/bin/python models/gen_full_size_model.py --out /tmp/hmr2-full.onnx

Interface (the project's HMR2 contract, same as ``models/hmr2-test.onnx``): input
``image`` float32 [B, 3, 256, 192] (normalised RGB crop, columns 32..224 of the 256x256
crop; ``--square-input`` takes [B, 3, 256, 256] and slices in the graph), outputs
``global_orient`` [B, 1, 3, 3], ``body_pose`` [B, 23, 3, 3], ``betas`` [B, 10],
``pred_cam`` [B, 3]; the batch dimension is dynamic.

Architecture (HMR2.0 = ViTPose-H backbone + transformer-decoder SMPL head):

* patch embedding: Conv 3->1280, kernel 16, stride 16, padding 2 -> 16 x 12 = 192 tokens;
  plus a learned position embedding;
* 32 pre-norm ViT blocks: LayerNorm (eps 1e-6), multi-head self-attention (16 heads of 80,
  qkv with bias), LayerNorm, MLP 1280 -> 5120 -> 1280 with GELU; final LayerNorm;
* head: one zero query token embedded to 1024 (Linear 1 -> 1024 plus position embedding),
  6 decoder layers of [self-attention, cross-attention to the 192 backbone tokens
  (context 1280), feed-forward 1024 -> 1024 -> 1024], each pre-norm (LayerNorm eps 1e-5),
  8 heads of 64, no bias on q/k/v; then linear read-outs to 24 x 6D pose, 10 betas and
  3 camera values, added to a mean (identity joints, root turned 180 degrees about x,
  camera scale 0.9) as HMR2 does, and the 6D -> rotation matrix Gram-Schmidt in the graph
  (``a1 = x[0:3]``, ``a2 = x[3:6]``, columns ``[b1, b2, b1 x b2]``).

FLOP counting: 2 FLOPs per multiply-add of every matrix product and convolution
(projections, MLPs, the attention's Q.K^T and A.V products, the patch convolution);
element-wise work (LayerNorm, softmax, GELU, residual adds, Gram-Schmidt) is not counted
(it is under 0.5 % here). The tool prints its count for the chosen configuration.

Weights are drawn with a fixed seed and written tensor by tensor straight into the external
data file, so memory use stays near the size of the largest tensor.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, asdict
from pathlib import Path

import numpy as np

INPUT_H, INPUT_W = 256, 192
NUM_JOINTS = 24
NUM_BETAS = 10


@dataclass
class Config:
    # backbone (ViT-H of ViTPose)
    patch: int = 16
    patch_pad: int = 2
    width: int = 1280
    depth: int = 32
    heads: int = 16
    mlp: int = 5120
    # SMPL head (transformer decoder)
    head_dim: int = 1024
    head_depth: int = 6
    head_heads: int = 8
    head_dim_head: int = 64
    head_mlp: int = 1024

    def check(self):
        if self.width % self.heads:
            raise SystemExit(f"--width {self.width} is not a multiple of --heads {self.heads}")
        for k, v in asdict(self).items():
            if v < (0 if k == "patch_pad" else 1):
                raise SystemExit(f"{k} must be positive")

    @property
    def grid(self):
        h = (INPUT_H + 2 * self.patch_pad - self.patch) // self.patch + 1
        w = (INPUT_W + 2 * self.patch_pad - self.patch) // self.patch + 1
        return h, w

    @property
    def tokens(self):
        h, w = self.grid
        return h * w


def count_flops(c: Config) -> dict:
    """FLOPs per crop (2 per multiply-add), by part."""
    N, C = c.tokens, c.width
    patch = 2 * N * (3 * c.patch * c.patch) * C
    per_block = (
        2 * N * C * 3 * C  # qkv
        + 2 * N * N * C  # Q.K^T over all heads
        + 2 * N * N * C  # A.V
        + 2 * N * C * C  # output projection
        + 2 * 2 * N * C * c.mlp  # MLP, two matmuls
    )
    backbone = patch + c.depth * per_block
    D, inner = c.head_dim, c.head_heads * c.head_dim_head
    per_layer = (
        2 * D * 3 * inner + 2 * 1 * inner + 2 * 1 * inner + 2 * inner * D  # self-attn, 1 token
        + 2 * D * inner  # cross-attn q
        + 2 * N * C * 2 * inner  # cross-attn k, v over the 192 context tokens
        + 2 * N * inner + 2 * N * inner  # q.K^T and A.V
        + 2 * inner * D  # out
        + 2 * 2 * D * c.head_mlp  # feed-forward
    )
    head = 2 * 1 * D + c.head_depth * per_layer + 2 * D * (NUM_JOINTS * 6 + NUM_BETAS + 3)
    return {"patch_embed": patch, "per_block": per_block, "backbone": backbone,
            "head": head, "total": backbone + head}


def count_params(c: Config) -> dict:
    C, N = c.width, c.tokens
    backbone = (3 * c.patch * c.patch * C + C) + N * C + c.depth * (
        4 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * c.mlp + c.mlp) + (c.mlp * C + C)
    ) + 2 * C
    D, inner = c.head_dim, c.head_heads * c.head_dim_head
    head = (D + D) + D + c.head_depth * (
        6 * D + D * 3 * inner + (inner * D + D) + D * inner + C * 2 * inner + (inner * D + D)
        + (D * c.head_mlp + c.head_mlp) + (c.head_mlp * D + D)
    ) + (D + 1) * (NUM_JOINTS * 6 + NUM_BETAS + 3)
    return {"backbone": backbone, "head": head, "total": backbone + head}


class GraphWriter:
    """Builds an ONNX graph node by node; large initializers go straight to the data file."""

    EXTERNAL_MIN_BYTES = 1024
    ALIGN = 4096  # page-aligned offsets let ONNX Runtime map weights instead of copying them

    def __init__(self, out: Path, seed: int, fp16: bool):
        import onnx  # noqa: F401  (fail early when missing)

        self.out = out
        self.data_name = out.name + ".data"
        self.data_path = out.with_name(self.data_name)
        self.data = open(self.data_path, "wb")
        self.offset = 0
        self.rng = np.random.default_rng(seed)
        self.np_dt = np.float16 if fp16 else np.float32
        self.nodes, self.inits = [], []
        self.n = 0
        self.params = 0

    # -- tensors ----------------------------------------------------------------------
    def _tensor(self, name: str, arr: np.ndarray):
        from onnx import TensorProto, helper, numpy_helper

        arr = np.ascontiguousarray(arr)
        if arr.nbytes < self.EXTERNAL_MIN_BYTES:
            self.inits.append(numpy_helper.from_array(arr, name))
            return name
        pad = (-self.offset) % self.ALIGN
        if pad:
            self.data.write(b"\0" * pad)
            self.offset += pad
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        self.data.write(raw)
        t = TensorProto()
        t.name = name
        t.data_type = helper.np_dtype_to_tensor_dtype(arr.dtype)
        t.dims.extend(arr.shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.data_name), ("offset", str(self.offset)), ("length", str(len(raw)))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self.offset += len(raw)
        self.inits.append(t)
        return name

    def weight(self, name, shape, std=0.02, fill=None):
        """A learned parameter: normal(0, std) (fixed seed) or a constant fill."""
        if fill is not None:
            arr = np.full(shape, fill, dtype=np.float32)
        else:
            arr = self.rng.standard_normal(size=shape, dtype=np.float32)
            arr *= np.float32(std)
        self.params += int(np.prod(shape))
        return self._tensor(name, arr.astype(self.np_dt))

    def param_array(self, name, arr):
        self.params += int(np.asarray(arr).size)
        return self._tensor(name, np.asarray(arr, dtype=self.np_dt))

    def const(self, name, value, dtype=None):
        return self._tensor(name, np.asarray(value, dtype=dtype or self.np_dt))

    def i64(self, name, values):
        return self._tensor(name, np.asarray(values, dtype=np.int64))

    # -- nodes ------------------------------------------------------------------------
    def op(self, op_type, inputs, name=None, n_out=1, **attrs):
        from onnx import helper

        self.n += 1
        base = name or f"{op_type.lower()}_{self.n}"
        outs = [base] if n_out == 1 else [f"{base}_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=f"n{self.n}_{op_type}", **attrs))
        return outs[0] if n_out == 1 else outs

    def close(self):
        self.data.close()


def build(out: Path, c: Config, seed: int = 0, fp16: bool = False, square_input: bool = False,
          opset: int = 17, log=print):
    import onnx
    from onnx import TensorProto, helper

    c.check()
    g = GraphWriter(out, seed, fp16)
    F32 = TensorProto.FLOAT
    DT = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT
    N, C = c.tokens, c.width
    t0 = time.time()

    # shared constants
    i_zero = g.i64("c_i0", [0])
    half = g.const("c_half", 0.5)
    one = g.const("c_one", 1.0)
    inv_sqrt2 = g.const("c_inv_sqrt2", 1.0 / math.sqrt(2.0))

    def linear(x, din, dout, prefix, bias=True, std=0.02, bias_init=None):
        w = g.weight(f"{prefix}.weight", (din, dout), std=std)
        y = g.op("MatMul", [x, w])
        if bias:
            if bias_init is None:
                b = g.weight(f"{prefix}.bias", (dout,), fill=0.0)
            else:
                b = g.param_array(f"{prefix}.bias", bias_init)
            y = g.op("Add", [y, b])
        return y

    def layernorm(x, dim, prefix, eps):
        s = g.weight(f"{prefix}.weight", (dim,), fill=1.0)
        b = g.weight(f"{prefix}.bias", (dim,), fill=0.0)
        return g.op("LayerNormalization", [x, s, b], axis=-1, epsilon=eps)

    def gelu(x):
        e = g.op("Erf", [g.op("Mul", [x, inv_sqrt2])])
        return g.op("Mul", [g.op("Mul", [x, half]), g.op("Add", [e, one])])

    def heads_split(x, h, d, prefix, transpose_k=False):
        shp = g.i64(f"{prefix}.shape", [0, 0, h, d])
        x = g.op("Reshape", [x, shp])
        return g.op("Transpose", [x], perm=[0, 2, 3, 1] if transpose_k else [0, 2, 1, 3])

    def attention(q, k, v, h, d, dim_out, prefix):
        """q: [B,Nq,h*d], k, v: [B,Nk,h*d] -> [B,Nq,h*d] (scaled dot-product, per head)."""
        qh = heads_split(q, h, d, f"{prefix}.q")
        kt = heads_split(k, h, d, f"{prefix}.k", transpose_k=True)
        vh = heads_split(v, h, d, f"{prefix}.v")
        scale = g.const(f"{prefix}.scale", d ** -0.5)
        a = g.op("Softmax", [g.op("Mul", [g.op("MatMul", [qh, kt]), scale])], axis=-1)
        o = g.op("Transpose", [g.op("MatMul", [a, vh])], perm=[0, 2, 1, 3])
        return g.op("Reshape", [o, g.i64(f"{prefix}.merge", [0, 0, h * d])])

    # ---- input ----------------------------------------------------------------------
    in_w = 256 if square_input else INPUT_W
    image = "image"
    x = image
    if square_input:
        x = g.op("Slice", [x, g.i64("crop.starts", [32]), g.i64("crop.ends", [224]), g.i64("crop.axes", [3])],
                 name="image_cols_32_224")
    if fp16:
        x = g.op("Cast", [x], to=TensorProto.FLOAT16)

    # ---- backbone: ViT-H ------------------------------------------------------------
    pw = g.weight("backbone.patch_embed.proj.weight", (C, 3, c.patch, c.patch), std=0.02)
    pb = g.weight("backbone.patch_embed.proj.bias", (C,), fill=0.0)
    p = c.patch_pad
    x = g.op("Conv", [x, pw, pb], kernel_shape=[c.patch, c.patch], strides=[c.patch, c.patch], pads=[p, p, p, p])
    x = g.op("Reshape", [x, g.i64("patch.flat", [0, C, -1])])
    x = g.op("Transpose", [x], perm=[0, 2, 1])  # [B, N, C]
    # (the reference adds pos_embed[1:] + pos_embed[:1]; an export folds that into one table)
    x = g.op("Add", [x, g.weight("backbone.pos_embed", (1, N, C), std=0.02)])
    hd = C // c.heads
    for i in range(c.depth):
        pre = f"backbone.blocks.{i}"
        y = layernorm(x, C, f"{pre}.norm1", 1e-6)
        qkv = linear(y, C, 3 * C, f"{pre}.attn.qkv")
        q, k, v = g.op("Split", [qkv, g.i64(f"{pre}.attn.split", [C, C, C])], n_out=3, axis=2)
        a = attention(q, k, v, c.heads, hd, C, f"{pre}.attn")
        x = g.op("Add", [x, linear(a, C, C, f"{pre}.attn.proj")])
        y = layernorm(x, C, f"{pre}.norm2", 1e-6)
        y = linear(gelu(linear(y, C, c.mlp, f"{pre}.mlp.fc1")), c.mlp, C, f"{pre}.mlp.fc2")
        x = g.op("Add", [x, y])
        if (i + 1) % 8 == 0:
            log(f"  backbone block {i + 1}/{c.depth} ({g.offset / 1e9:.2f} GB written, {time.time() - t0:.0f} s)")
    context = layernorm(x, C, "backbone.last_norm", 1e-6)  # [B, N, C]

    # ---- head: transformer decoder with one query token -----------------------------
    D, H, Dh = c.head_dim, c.head_heads, c.head_dim_head
    inner = H * Dh
    batch = g.op("Slice", [g.op("Shape", [image]), i_zero, g.i64("c_i1", [1])])
    tok_shape = g.op("Concat", [batch, g.i64("c_i1_1", [1, 1])], axis=0)
    zero_val = helper.make_tensor("zero", DT, [1], [0.0])
    token = g.op("ConstantOfShape", [tok_shape], value=zero_val)  # [B, 1, 1] zeros, as HMR2
    t = linear(token, 1, D, "head.transformer.to_token_embedding")
    t = g.op("Add", [t, g.weight("head.transformer.pos_embedding", (1, 1, D), std=1.0)])
    for i in range(c.head_depth):
        pre = f"head.transformer.layers.{i}"
        y = layernorm(t, D, f"{pre}.0.norm", 1e-5)
        qkv = linear(y, D, 3 * inner, f"{pre}.0.fn.to_qkv", bias=False)
        q, k, v = g.op("Split", [qkv, g.i64(f"{pre}.0.split", [inner] * 3)], n_out=3, axis=2)
        a = attention(q, k, v, H, Dh, D, f"{pre}.0.fn")
        t = g.op("Add", [t, linear(a, inner, D, f"{pre}.0.fn.to_out")])
        y = layernorm(t, D, f"{pre}.1.norm", 1e-5)
        q = linear(y, D, inner, f"{pre}.1.fn.to_q", bias=False)
        kv = linear(context, C, 2 * inner, f"{pre}.1.fn.to_kv", bias=False)
        k, v = g.op("Split", [kv, g.i64(f"{pre}.1.split", [inner] * 2)], n_out=2, axis=2)
        a = attention(q, k, v, H, Dh, D, f"{pre}.1.fn")
        t = g.op("Add", [t, linear(a, inner, D, f"{pre}.1.fn.to_out")])
        y = layernorm(t, D, f"{pre}.2.norm", 1e-5)
        y = linear(gelu(linear(y, D, c.head_mlp, f"{pre}.2.fn.net.0")), c.head_mlp, D, f"{pre}.2.fn.net.3")
        t = g.op("Add", [t, y])
    tok = g.op("Reshape", [t, g.i64("head.squeeze", [-1, D])])  # [B, D]

    # read-outs with the mean parameters folded into the biases
    init_pose = np.tile(np.array([1, 0, 0, 0, 1, 0], np.float32), NUM_JOINTS)
    init_pose[0:6] = [1, 0, 0, 0, -1, 0]  # root: 180 degrees about x (upright, facing the camera)
    init_cam = np.array([0.9, 0.0, 0.0], np.float32)
    pose6 = linear(tok, D, NUM_JOINTS * 6, "head.decpose", std=0.002, bias_init=init_pose)
    betas = linear(tok, D, NUM_BETAS, "head.decshape", std=0.002, bias_init=np.zeros(NUM_BETAS, np.float32))
    cam = linear(tok, D, 3, "head.deccam", std=0.002, bias_init=init_cam)
    if fp16:
        pose6, betas, cam = (g.op("Cast", [v], to=F32) for v in (pose6, betas, cam))
    g.nodes.append(helper.make_node("Identity", [betas], ["betas"], name="out_betas"))
    g.nodes.append(helper.make_node("Identity", [cam], ["pred_cam"], name="out_pred_cam"))

    # 6D -> rotation matrices (Gram-Schmidt), float32
    g.np_dt = np.float32
    r = g.op("Reshape", [pose6, g.i64("gs.shape", [-1, NUM_JOINTS, 2, 3])])
    a1 = g.op("Squeeze", [g.op("Slice", [r, i_zero, g.i64("gs.i1", [1]), g.i64("gs.ax2", [2])]), g.i64("gs.sq2", [2])])
    a2 = g.op("Squeeze", [g.op("Slice", [r, g.i64("gs.i1b", [1]), g.i64("gs.i2", [2]), g.i64("gs.ax2b", [2])]),
                          g.i64("gs.sq2b", [2])])
    eps = g.const("gs.eps", 1e-8, np.float32)
    ax_last = g.i64("gs.ax_last", [-1])

    def normalize(v):
        sq = g.op("ReduceSum", [g.op("Mul", [v, v]), ax_last], keepdims=1)  # ReduceSum takes axes as input in every opset >= 13
        return g.op("Div", [v, g.op("Max", [g.op("Sqrt", [sq]), eps])])

    b1 = normalize(a1)
    dot = g.op("ReduceSum", [g.op("Mul", [b1, a2]), ax_last], keepdims=1)
    b2 = normalize(g.op("Sub", [a2, g.op("Mul", [dot, b1])]))
    perm1 = g.i64("gs.p120", [1, 2, 0])
    perm2 = g.i64("gs.p201", [2, 0, 1])

    def gather(v, idx):
        return g.op("Gather", [v, idx], axis=-1)

    b3 = g.op("Sub", [g.op("Mul", [gather(b1, perm1), gather(b2, perm2)]),
                      g.op("Mul", [gather(b1, perm2), gather(b2, perm1)])])
    rot = g.op("Concat", [g.op("Unsqueeze", [b, ax_last]) for b in (b1, b2, b3)], axis=-1)  # [B,24,3,3]
    g.nodes.append(helper.make_node("Slice", [rot, i_zero, g.i64("gs.r1", [1]), g.i64("gs.rax", [1])],
                                    ["global_orient"], name="out_global_orient"))
    g.nodes.append(helper.make_node("Slice", [rot, g.i64("gs.r1b", [1]), g.i64("gs.r24", [NUM_JOINTS]),
                                              g.i64("gs.raxb", [1])], ["body_pose"], name="out_body_pose"))
    g.close()

    graph = helper.make_graph(
        g.nodes, "hmr2_full_size_random",
        [helper.make_tensor_value_info("image", F32, ["batch", 3, INPUT_H, in_w])],
        [helper.make_tensor_value_info("global_orient", F32, ["batch", 1, 3, 3]),
         helper.make_tensor_value_info("body_pose", F32, ["batch", NUM_JOINTS - 1, 3, 3]),
         helper.make_tensor_value_info("betas", F32, ["batch", NUM_BETAS]),
         helper.make_tensor_value_info("pred_cam", F32, ["batch", 3])],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="hmr2-gst models/gen_full_size_model.py")
    model.ir_version = min(model.ir_version, 9)  # readable by ONNX Runtime builds of the last years
    model.doc_string = ("HMR2.0-SIZED NETWORK WITH RANDOM WEIGHTS - ESTIMATES NOTHING. For throughput benchmarks; "
                        "generated by models/gen_full_size_model.py.")
    flops = count_flops(c)
    meta = {
        "description": "HMR2.0-sized network with RANDOM weights, for throughput benchmarks only; estimates nothing",
        "config": ",".join(f"{k}={v}" for k, v in asdict(c).items()),
        "seed": str(seed),
        "flops_per_crop": str(flops["total"]),
        "backbone_flops_per_crop": str(flops["backbone"]),
        "precision": "fp16" if fp16 else "fp32",
    }
    for k, v in meta.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.save_model(model, str(out))
    onnx.checker.check_model(str(out))  # by path: follows the external data, any size
    return g.params, g.offset


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Defaults are HMR2.0's real sizes; shrink them for tests.")
    ap.add_argument("--out", help="ONNX file to write; weights go to OUT.data beside it")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fp16", action="store_true", help="store weights and compute in float16 (fp32 interface)")
    ap.add_argument("--square-input", action="store_true",
                    help="take the 256x256 crop and slice columns 32..224 in the graph")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--flops-only", action="store_true", help="print FLOPs and parameters, write nothing")
    d = Config()
    ap.add_argument("--width", type=int, default=d.width, help="backbone width (1280)")
    ap.add_argument("--depth", type=int, default=d.depth, help="backbone blocks (32)")
    ap.add_argument("--heads", type=int, default=d.heads, help="backbone attention heads (16)")
    ap.add_argument("--mlp", type=int, default=d.mlp, help="backbone MLP width (5120)")
    ap.add_argument("--head-dim", type=int, default=d.head_dim, help="decoder width (1024)")
    ap.add_argument("--head-depth", type=int, default=d.head_depth, help="decoder layers (6)")
    ap.add_argument("--head-heads", type=int, default=d.head_heads, help="decoder heads (8)")
    ap.add_argument("--head-dim-head", type=int, default=d.head_dim_head, help="decoder head size (64)")
    ap.add_argument("--head-mlp", type=int, default=d.head_mlp, help="decoder feed-forward width (1024)")
    args = ap.parse_args(argv)
    if args.opset < 17:
        ap.error("--opset must be 17 or later (LayerNormalization)")
    c = Config(width=args.width, depth=args.depth, heads=args.heads, mlp=args.mlp, head_dim=args.head_dim,
               head_depth=args.head_depth, head_heads=args.head_heads, head_dim_head=args.head_dim_head,
               head_mlp=args.head_mlp)
    c.check()
    f = count_flops(c)
    pcount = count_params(c)
    print(f"config: {asdict(c)}; input 256x{256 if args.square_input else 192}, {c.tokens} tokens ({c.grid[0]}x{c.grid[1]})")
    print(f"parameters: backbone {pcount['backbone'] / 1e6:.1f} M, head {pcount['head'] / 1e6:.1f} M, "
          f"total {pcount['total'] / 1e6:.1f} M ({pcount['total'] * (2 if args.fp16 else 4) / 1e9:.2f} GB of weights)")
    print(f"FLOPs per crop (2 per multiply-add; matmuls and convolutions only): "
          f"backbone {f['backbone'] / 1e9:.1f} G (patch embedding {f['patch_embed'] / 1e9:.2f} G, "
          f"{f['per_block'] / 1e9:.2f} G per block), head {f['head'] / 1e9:.2f} G, total {f['total'] / 1e9:.1f} G")
    if args.flops_only:
        return 0
    if not args.out:
        ap.error("--out is required (or use --flops-only)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    params, nbytes = build(out, c, seed=args.seed, fp16=args.fp16, square_input=args.square_input, opset=args.opset)
    if params != pcount["total"]:
        print(f"warning: graph holds {params} parameters, the count says {pcount['total']}", file=sys.stderr)
    print(f"wrote {out} and {out.name}.data ({nbytes / 1e9:.2f} GB) in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
