"""TensorFlow.js graph models (`model.json` + weight shards) read and converted to ONNX with
numpy and onnx only (no TensorFlow).

Reading follows the TF.js graph-model format: `modelTopology.node` is a TensorFlow GraphDef
in JSON; `weightsManifest` lists the weights of every `Const` node in the order their
bytes follow each other in the shards (float32, int32 or bool; float32 weights may be
stored as float16, or as uint8/uint16 with an affine `scale`/`min`); int64 constants are
stored as int32, as TF.js has no int64.

The converter handles the TensorFlow ops that TF.js exports of small convolutional
detectors use (the list is `SUPPORTED_OPS`) and fails with the op's name on anything
else. Layout: TensorFlow convolutions work on NHWC, ONNX convolutions on NCHW. Rather than
wrapping every convolution in transposes, each converted value carries a permutation
relating its ONNX (physical) axes to its TensorFlow axes; `Transpose` nodes only change
that permutation, and a physical transpose is emitted only where an op needs a particular
layout (a convolution's input, a `Reshape`, a graph output). Constant subgraphs (shape
arithmetic) are evaluated with numpy. A zero `Pad` feeding a convolution and a `-inf` pad
feeding a max-pool become the pads of that op, and a bias added right after a convolution
becomes its bias. The output is deterministic: the same model gives the same bytes.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17

SUPPORTED_OPS = (
    "Add", "AddV2", "BiasAdd", "ConcatV2", "Conv2D", "Identity", "LeakyRelu", "MaxPool",
    "Pad", "PadV2", "Placeholder", "Relu", "Reshape", "ResizeBilinear", "Sigmoid",
    "SparseToDense", "SplitV", "Transpose", "Const",
)


class ConversionError(ValueError):
    """The graph uses something the converter does not handle."""


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


@dataclass
class GraphModel:
    nodes: list[dict]
    weights: dict[str, np.ndarray]
    inputs: dict[str, list[int]]  # signature input name (without ":0") -> shape
    outputs: list[str]  # signature output names (without ":0"), sorted
    meta: dict = field(default_factory=dict)


_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def read_weights(manifest: list[dict], shard_dir: Path) -> dict[str, np.ndarray]:
    """Decodes every weight of a TF.js weights manifest (float16 and affine-quantised
    weights come back as float32)."""
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join((shard_dir / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            quant = spec.get("quantization")
            if quant is None:
                dtype = _DTYPES.get(spec["dtype"])
                if dtype is None:
                    raise ConversionError(f"weight {spec['name']}: dtype {spec['dtype']} not supported")
                size = np.dtype(dtype).itemsize
                values = np.frombuffer(data, dtype, count, offset)
            elif quant["dtype"] == "float16":
                size = 2
                values = np.frombuffer(data, "<f2", count, offset).astype(np.float32)
            elif quant["dtype"] in ("uint8", "uint16"):
                stored = np.dtype(quant["dtype"]).newbyteorder("<")
                size = stored.itemsize
                raw = np.frombuffer(data, stored, count, offset).astype(np.float32)
                values = raw * np.float32(quant["scale"]) + np.float32(quant["min"])
            else:
                raise ConversionError(f"weight {spec['name']}: quantisation {quant['dtype']} not supported")
            offset += size * count
            out[spec["name"]] = np.array(values, dtype=values.dtype).reshape(shape)
        if offset != len(data):
            raise ConversionError(f"weights manifest covers {offset} bytes, shards hold {len(data)}")
    return out


def _shape_of(tensor_shape: dict) -> list[int]:
    return [int(d.get("size", -1)) for d in tensor_shape.get("dim", [])]


def load(model_json: Path) -> GraphModel:
    model_json = Path(model_json)
    doc = json.loads(model_json.read_text())
    if doc.get("format") != "graph-model":
        raise ConversionError(f"{model_json}: not a TF.js graph model (format {doc.get('format')!r})")
    weights = read_weights(doc["weightsManifest"], model_json.parent)
    sig = doc.get("signature") or {}
    base = lambda name: name.split(":")[0]  # noqa: E731
    inputs = {base(k): _shape_of(v["tensorShape"]) for k, v in sig.get("inputs", {}).items()}
    outputs = sorted(base(k) for k in sig.get("outputs", {}))
    meta = {k: doc[k] for k in ("generatedBy", "convertedBy") if k in doc}
    return GraphModel(doc["modelTopology"]["node"], weights, inputs, outputs, meta)


# ---------------------------------------------------------------------------------------
# ONNX graph under construction
# ---------------------------------------------------------------------------------------


class GraphBuilder:
    """Nodes and initializers of an ONNX graph, with unique, readable names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self._used: set[str] = set()

    def name(self, hint: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_./-]", "_", hint)
        name, i = base, 1
        while name in self._used:
            name, i = f"{base}_{i}", i + 1
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        if name in self._used:
            raise ValueError(f"name {name} already used")
        self._used.add(name)
        return name

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.initializers[name] = numpy_helper.from_array(np.ascontiguousarray(value), name)
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, outputs: int = 1, **attrs) -> list[str]:
        names = [self.name(hint if outputs == 1 else f"{hint}:{i}") for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=names[0], **attrs))
        return names

    def op1(self, op_type: str, inputs: list[str], hint: str, **attrs) -> str:
        return self.op(op_type, inputs, hint, **attrs)[0]

    def model(self, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto],
              graph_name: str, doc: str = "", metadata: dict[str, str] | None = None) -> onnx.ModelProto:
        """The model, keeping only the nodes and initializers the outputs depend on."""
        needed = {o.name for o in outputs}
        kept = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        kept.reverse()
        inits = [t for n, t in self.initializers.items() if n in needed]
        graph = helper.make_graph(kept, graph_name, inputs, outputs, initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="hmr2-gst models/tfjs_graph.py", doc_string=doc)
        model.ir_version = 8
        for k, v in sorted((metadata or {}).items()):
            model.metadata_props.add(key=k, value=v)
        onnx.checker.check_model(model, full_check=True)
        return model


# ---------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------


def _inverse(perm) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


@dataclass(frozen=True)
class Padded:
    """A value that is `source` padded with `constant` by `pads` (TF axes, [[before, after]])."""

    source: "Value"
    pads: tuple[tuple[int, int], ...]
    constant: float


@dataclass(frozen=True)
class Value:
    """A converted tensor: ONNX tensor `name`, whose axes relate to the TensorFlow tensor's
    by `perm` (TF axis i is ONNX axis perm[i]); `shape` is in TF axis order."""

    name: str
    perm: tuple[int, ...]
    shape: tuple[int, ...]
    padded: Padded | None = None

    def transposed(self, q) -> "Value":
        q = tuple(int(i) for i in q)
        padded = None
        if self.padded is not None:
            p = self.padded
            padded = Padded(p.source.transposed(q), tuple(p.pads[i] for i in q), p.constant)
        return Value(self.name, tuple(self.perm[i] for i in q), tuple(self.shape[i] for i in q), padded)


NHWC_IN_NCHW = (0, 2, 3, 1)  # perm of an NHWC TF tensor stored as NCHW


class Converter:
    """Converts the graph of a `GraphModel` into a `GraphBuilder`."""

    def __init__(self, graph: GraphModel, builder: GraphBuilder, prefix: str = "") -> None:
        self.g = graph
        self.b = builder
        self.prefix = prefix
        self.by_name = {n["name"]: n for n in graph.nodes}
        self.consumers: dict[str, list[dict]] = {}
        for n in graph.nodes:
            for i in n.get("input", []):
                if not i.startswith("^"):
                    self.consumers.setdefault(i.split(":")[0], []).append(n)
        self.values: dict[str, Value | np.ndarray] = {}
        self.aliases: dict[str, str] = {}  # TF node folded into another (bias adds)
        self.output_shapes: dict[str, tuple[int, ...]] = {}
        self.layouts: dict[tuple[str, tuple[int, ...]], str] = {}  # transposes already made

    # -- helpers ------------------------------------------------------------------------

    def hint(self, tf_name: str) -> str:
        return self.prefix + tf_name.replace("PartitionedCall/", "").replace("onnx_tf_prefix_", "")

    def get(self, ref: str) -> Value | np.ndarray:
        node, _, index = ref.partition(":")
        node = self.aliases.get(node, node)
        key = node if index in ("", "0") else f"{node}:{index}"
        if key not in self.values:
            self.visit(self.by_name[node])
        return self.values[key]

    def const_input(self, node: dict, i: int) -> np.ndarray:
        v = self.get(node["input"][i])
        if not isinstance(v, np.ndarray):
            raise ConversionError(f"{node['name']} ({node['op']}): input {i} must be constant")
        return v

    def tensor_input(self, node: dict, i: int) -> Value:
        v = self.get(node["input"][i])
        if isinstance(v, np.ndarray):
            raise ConversionError(f"{node['name']} ({node['op']}): input {i} is constant, expected a tensor")
        return v

    def in_layout(self, v: Value, perm) -> str:
        """Name of `v` laid out so that TF axis i is ONNX axis perm[i]."""
        perm = tuple(perm)
        if v.perm == perm:
            return v.name
        inv = _inverse(perm)
        onnx_perm = tuple(v.perm[inv[j]] for j in range(len(perm)))
        key = (v.name, onnx_perm)
        if key not in self.layouts:
            self.layouts[key] = self.b.op1("Transpose", [v.name], v.name + "/layout", perm=list(onnx_perm))
        return self.layouts[key]

    @staticmethod
    def attr(node: dict, key: str, default=None):
        a = node.get("attr", {}).get(key)
        if a is None:
            return default
        if "list" in a:
            return [int(x) for x in a["list"].get("i", [])]
        if "s" in a:
            return base64.b64decode(a["s"]).decode()
        if "f" in a:
            return float(a["f"])
        if "i" in a:
            return int(a["i"])
        if "b" in a:
            return bool(a["b"])
        return a

    # -- traversal ----------------------------------------------------------------------

    def convert(self, inputs: dict[str, str], outputs: list[str] | None = None) -> dict[str, str]:
        """Converts the graph; `inputs` maps each placeholder to an existing ONNX tensor name
        (with the TF shape of the signature). Returns the ONNX names of the outputs, each laid
        out as in TensorFlow."""
        for name, onnx_name in inputs.items():
            shape = tuple(self.g.inputs[name])
            self.values[name] = Value(onnx_name, tuple(range(len(shape))), shape)
        for node in self.dependency_order(outputs or self.g.outputs):
            if node["name"] not in self.values:
                self.visit(node)
        result = {}
        for out in outputs or self.g.outputs:
            v = self.get(out)
            if isinstance(v, np.ndarray):
                raise ConversionError(f"output {out} is constant")
            result[out] = self.in_layout(v, range(len(v.shape)))
            self.output_shapes[out] = v.shape
        return result

    def dependency_order(self, outputs: list[str]) -> list[dict]:
        """The nodes the outputs depend on, each after its inputs (without recursion, so
        deep graphs are fine)."""
        order, done, stack = [], set(), [(o.split(":")[0], False) for o in reversed(outputs)]
        while stack:
            name, expanded = stack.pop()
            if name in done:
                continue
            if expanded:
                done.add(name)
                order.append(self.by_name[name])
                continue
            if name not in self.by_name:
                raise ConversionError(f"node {name} not in the graph")
            stack.append((name, True))
            for i in reversed(self.by_name[name].get("input", [])):
                dep = i.lstrip("^").split(":")[0]
                if dep not in done:
                    stack.append((dep, False))
        return order

    def visit(self, node: dict) -> None:
        op = node["op"]
        name = node["name"]
        if op not in SUPPORTED_OPS:
            raise ConversionError(f"{name}: op {op} not supported")
        if op == "Const":
            if name not in self.g.weights:
                raise ConversionError(f"{name}: constant without weights")
            self.values[name] = self.g.weights[name]
            return
        if op == "Placeholder":
            raise ConversionError(f"{name}: placeholder not bound to an input")
        args = [self.get(i) for i in node.get("input", []) if not i.startswith("^")]
        if name in self.aliases:  # a bias folded into the convolution just converted
            self.values[name] = self.values[self.aliases[name]]
            return
        if all(isinstance(a, np.ndarray) for a in args):
            self.values[name] = self.fold(node, args)
            return
        getattr(self, "op_" + op)(node)

    # -- constant folding ---------------------------------------------------------------

    def fold(self, node: dict, args: list[np.ndarray]) -> np.ndarray:
        op = node["op"]
        if op in ("Add", "AddV2"):
            return np.add(args[0], args[1]).astype(args[0].dtype)
        if op == "SparseToDense":
            indices, shape, values, default = args
            dense = np.full(shape.astype(np.int64), default, dtype=values.dtype if values.size else default.dtype)
            idx = indices.reshape((-1, 1) if indices.ndim < 2 else indices.shape)
            vals = np.broadcast_to(values, (len(idx),))
            for k, i in enumerate(idx):
                dense[tuple(int(j) for j in i)] = vals[k]
            return dense
        if op == "Identity":
            return args[0]
        if op == "Reshape":
            return args[0].reshape(args[1].astype(np.int64))
        if op == "Transpose":
            return np.transpose(args[0], args[1])
        raise ConversionError(f"{node['name']}: cannot evaluate {op} on constants")

    # -- ops ----------------------------------------------------------------------------

    def op_Identity(self, node):
        self.values[node["name"]] = self.tensor_input(node, 0)

    def op_Transpose(self, node):
        self.values[node["name"]] = self.tensor_input(node, 0).transposed(self.const_input(node, 1))

    def _unary(self, node, op_type, **attrs):
        x = self.tensor_input(node, 0)
        out = self.b.op1(op_type, [x.name], self.hint(node["name"]), **attrs)
        self.values[node["name"]] = Value(out, x.perm, x.shape)

    def op_Sigmoid(self, node):
        self._unary(node, "Sigmoid")

    def op_Relu(self, node):
        self._unary(node, "Relu")

    def op_LeakyRelu(self, node):
        self._unary(node, "LeakyRelu", alpha=self.attr(node, "alpha", 0.2))

    def op_Add(self, node):
        a, b = (self.get(i) for i in node["input"][:2])
        hint = self.hint(node["name"])
        if isinstance(a, np.ndarray):
            a, b = b, a
        if isinstance(b, np.ndarray):
            rank = len(a.shape)
            c = b.reshape((1,) * (rank - b.ndim) + b.shape).astype(np.float32)
            c = np.transpose(c, _inverse(a.perm))
            out = self.b.op1("Add", [a.name, self.b.const(hint + "/const", c)], hint)
            shape = tuple(np.broadcast_shapes(a.shape, b.shape))
            self.values[node["name"]] = Value(out, a.perm, shape)
            return
        bn = self.in_layout(b, a.perm)
        out = self.b.op1("Add", [a.name, bn], hint)
        self.values[node["name"]] = Value(out, a.perm, tuple(np.broadcast_shapes(a.shape, b.shape)))

    op_AddV2 = op_Add
    op_BiasAdd = op_Add

    def _pad(self, node, constant: float):
        x = self.tensor_input(node, 0)
        pads = self.const_input(node, 1).astype(np.int64)
        phys = np.zeros((len(x.shape), 2), np.int64)
        for i, axis in enumerate(x.perm):
            phys[axis] = pads[i]
        hint = self.hint(node["name"])
        out = self.b.op1("Pad", [x.name, self.b.const(hint + "/pads", phys.T.reshape(-1)),
                                 self.b.const(hint + "/value", np.array(constant, np.float32))], hint, mode="constant")
        shape = tuple(int(s + p[0] + p[1]) for s, p in zip(x.shape, pads))
        padded = Padded(x, tuple((int(p[0]), int(p[1])) for p in pads), constant)
        self.values[node["name"]] = Value(out, x.perm, shape, padded)

    def op_Pad(self, node):
        self._pad(node, 0.0)

    def op_PadV2(self, node):
        self._pad(node, float(self.const_input(node, 2)))

    def _spatial(self, node, x: Value, fusable_constant: float, kernel: list[int]):
        """Input name in NCHW, ONNX pads and the spatial input size for a NHWC conv/pool,
        taking in a preceding pad of `fusable_constant`."""
        if self.attr(node, "data_format", "NHWC") != "NHWC":
            raise ConversionError(f"{node['name']}: only NHWC is supported")
        pads = [0, 0, 0, 0]
        p = x.padded
        if p is not None and p.constant == fusable_constant and p.pads[0] == (0, 0) and p.pads[3] == (0, 0):
            pads = [p.pads[1][0], p.pads[2][0], p.pads[1][1], p.pads[2][1]]
            x = p.source
        strides = self.attr(node, "strides")[1:3]
        dil = (self.attr(node, "dilations") or [1, 1, 1, 1])[1:3]
        padding = self.attr(node, "padding")
        size = [x.shape[1] + pads[0] + pads[2], x.shape[2] + pads[1] + pads[3]]
        if padding == "SAME":
            for k in range(2):
                eff = (kernel[k] - 1) * dil[k] + 1
                out = -(-size[k] // strides[k])
                total = max((out - 1) * strides[k] + eff - size[k], 0)
                pads[k] += total // 2
                pads[k + 2] += total - total // 2
                size[k] += total
        elif padding != "VALID":
            raise ConversionError(f"{node['name']}: padding {padding} not supported")
        out_hw = [(size[k] - ((kernel[k] - 1) * dil[k] + 1)) // strides[k] + 1 for k in range(2)]
        return self.in_layout(x, NHWC_IN_NCHW), pads, strides, dil, out_hw, x

    def op_Conv2D(self, node):
        x = self.tensor_input(node, 0)
        w = self.const_input(node, 1).astype(np.float32)  # HWIO
        kh, kw, cin, cout = w.shape
        xin, pads, strides, dil, out_hw, src = self._spatial(node, x, 0.0, [kh, kw])
        groups = src.shape[3] // cin
        if groups * cin != src.shape[3]:
            raise ConversionError(f"{node['name']}: {src.shape[3]} input channels, filter takes {cin}")
        hint = self.hint(node["name"])
        inputs = [xin, self.b.const(hint + "/weight", np.transpose(w, (3, 2, 0, 1)))]
        # A bias added to the convolution's only consumer becomes the convolution's bias.
        users = self.consumers.get(node["name"], [])
        if len(users) == 1 and users[0]["op"] in ("Add", "AddV2", "BiasAdd"):
            other = [i for i in users[0]["input"] if i.split(":")[0] != node["name"]]
            if len(other) == 1:
                bias = self.get(other[0])
                if isinstance(bias, np.ndarray) and bias.size == cout and bias.ndim <= 1:
                    inputs.append(self.b.const(hint + "/bias", bias.reshape(cout).astype(np.float32)))
                    self.aliases[users[0]["name"]] = node["name"]
        out = self.b.op1("Conv", inputs, hint, kernel_shape=[kh, kw], strides=strides, dilations=dil,
                         pads=pads, group=groups)
        self.values[node["name"]] = Value(out, NHWC_IN_NCHW, (src.shape[0], *out_hw, cout))

    def op_MaxPool(self, node):
        x = self.tensor_input(node, 0)
        kernel = self.attr(node, "ksize")[1:3]
        xin, pads, strides, _, out_hw, src = self._spatial(node, x, float("-inf"), kernel)
        out = self.b.op1("MaxPool", [xin], self.hint(node["name"]), kernel_shape=kernel, strides=strides, pads=pads)
        self.values[node["name"]] = Value(out, NHWC_IN_NCHW, (src.shape[0], *out_hw, src.shape[3]))

    def op_ConcatV2(self, node):
        refs = [i for i in node["input"] if not i.startswith("^")]
        axis = int(self.get(refs[-1]))
        parts = [self.get(r) for r in refs[:-1]]
        first = next(p for p in parts if isinstance(p, Value))
        rank = len(first.shape)
        axis %= rank
        names = []
        for k, p in enumerate(parts):
            if isinstance(p, np.ndarray):
                names.append(self.b.const(self.hint(node["name"]) + f"/part{k}", np.transpose(p, _inverse(first.perm))))
            else:
                names.append(self.in_layout(p, first.perm))
        out = self.b.op1("Concat", names, self.hint(node["name"]), axis=first.perm[axis])
        shape = list(first.shape)
        shape[axis] = sum(p.shape[axis] for p in parts)
        self.values[node["name"]] = Value(out, first.perm, tuple(shape))

    def op_ResizeBilinear(self, node):
        x = self.tensor_input(node, 0)
        size = self.const_input(node, 1).astype(np.int64)
        if self.attr(node, "align_corners", False):
            mode = "align_corners"
        elif self.attr(node, "half_pixel_centers", False):
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        shape = (x.shape[0], int(size[0]), int(size[1]), x.shape[3])
        phys = np.array([shape[i] for i in _inverse(x.perm)], np.int64)
        hint = self.hint(node["name"])
        out = self.b.op1("Resize", [x.name, "", "", self.b.const(hint + "/sizes", phys)], hint,
                         mode="linear", coordinate_transformation_mode=mode)
        self.values[node["name"]] = Value(out, x.perm, shape)

    def op_SplitV(self, node):
        x = self.tensor_input(node, 0)
        sizes = self.const_input(node, 1).astype(np.int64)
        axis = int(self.const_input(node, 2)) % len(x.shape)
        if (sizes < 0).any():
            sizes[sizes < 0] = x.shape[axis] - sizes[sizes >= 0].sum()
        hint = self.hint(node["name"])
        outs = self.b.op("Split", [x.name, self.b.const(hint + "/sizes", sizes)], hint, outputs=len(sizes),
                         axis=x.perm[axis])
        for k, (o, s) in enumerate(zip(outs, sizes)):
            shape = list(x.shape)
            shape[axis] = int(s)
            self.values[node["name"] if k == 0 else f"{node['name']}:{k}"] = Value(o, x.perm, tuple(shape))

    def op_Reshape(self, node):
        x = self.tensor_input(node, 0)
        target = self.const_input(node, 1).astype(np.int64)
        xin = self.in_layout(x, range(len(x.shape)))
        hint = self.hint(node["name"])
        out = self.b.op1("Reshape", [xin, self.b.const(hint + "/shape", target)], hint)
        known = int(np.prod([t for t in target if t != -1]))
        shape = tuple(int(t) if t != -1 else int(np.prod(x.shape)) // known for t in target)
        self.values[node["name"]] = Value(out, tuple(range(len(shape))), tuple(shape))


def convert(graph: GraphModel, builder: GraphBuilder, inputs: dict[str, str],
            prefix: str = "") -> tuple[dict[str, str], dict[str, tuple[int, ...]]]:
    """Converts `graph` into `builder`; returns the ONNX names of its signature outputs and
    their (TensorFlow) shapes."""
    c = Converter(graph, builder, prefix)
    names = c.convert(inputs)
    return names, c.output_shapes


def to_onnx(graph: GraphModel, doc: str = "", metadata: dict[str, str] | None = None) -> onnx.ModelProto:
    """The graph as a standalone ONNX model with the signature's input and output names."""
    b = GraphBuilder()
    ins = []
    for name, shape in graph.inputs.items():
        b.reserve(name)
        ins.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    names, shapes = convert(graph, b, {n: n for n in graph.inputs}, prefix="tfjs/")
    outs = []
    for tf_name, onnx_name in names.items():
        b.nodes.append(helper.make_node("Identity", [onnx_name], [b.reserve(tf_name)], name=tf_name))
        outs.append(helper.make_tensor_value_info(tf_name, TensorProto.FLOAT, list(shapes[tf_name])))
    return b.model(ins, outs, "tfjs_graph", doc, metadata)
