"""TFLite flatbuffer -> ONNX (opset 17) for the float MediaPipe graphs the project uses.

Written over the `tflite` (flatbuffer schema bindings), `onnx` and `numpy` packages only. It
converts the operators that BlazePose's landmark models (lite, full, heavy) and its person
detector contain, and refuses anything else by name:

    CONV_2D, DEPTHWISE_CONV_2D, ADD, PAD, MAX_POOL_2D, RESIZE_BILINEAR, RESHAPE, LOGISTIC,
    DEPTH_TO_SPACE, CONCATENATION, and on constants only: DEQUANTIZE (float16), DENSIFY.

Only the variants of these operators that the four graphs use are converted (fused
activations NONE and RELU6, no dilation, no broadcasting, half-pixel bilinear resizing, VALID
max pooling, reshapes from rank 4 to lower ranks, concatenation of rank-3 tensors); each is
checked against the TFLite interpreter by models/tests/test_open_models.py. Anything else is
refused by name rather than converted unverified.

Choices:
- Layout: every rank-4 activation is NCHW in the ONNX graph (TFLite's are NHWC), so graph
  inputs and rank-4 outputs are NCHW; weights are transposed once at conversion time. Ranks
  other than 4 keep TFLite's layout; a RESHAPE from rank 4 goes through NHWC so its element
  order is TFLite's.
- Float16 weights: the graphs store weights as float16 behind DEQUANTIZE. They are folded
  into float32 initialisers. Float16 -> float32 is exact and is what the TFLite interpreter
  computes with, so results match it; ONNX Runtime's CPU kernels are float32 anyway, and a
  plain float32 graph needs no constant folding at load time (a Cast per weight would). The
  cost is file size only (pose_landmark_full: 6.4 MB as TFLite, 12.4 MB as ONNX).
- Sparse weights (the detector's DENSIFY) are expanded to dense arrays at conversion time.
- Outputs can be selected (and renamed); the operators only they need are left out.

Errors: a file that is not a readable TFLite model raises `TfliteFormatError`, an operator or
feature outside the list above `UnsupportedTfliteError`; both name the file and the problem.

Output is deterministic: converting the same file with the same options gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tflite

OPSET = 17

__all__ = [
    "OPSET",
    "TfliteFormatError",
    "UnsupportedTfliteError",
    "TfliteModel",
    "read_tflite",
    "convert",
    "densify",
]


class TfliteFormatError(ValueError):
    """The file is not a readable TFLite model (truncated, corrupt, or another format)."""


class UnsupportedTfliteError(ValueError):
    """The model uses an operator or feature this converter does not handle."""


# ---------------------------------------------------------------------------------------
# Reading the flatbuffer into plain Python objects
# ---------------------------------------------------------------------------------------

_TENSOR_DTYPES = {
    tflite.TensorType.FLOAT32: np.dtype("<f4"),
    tflite.TensorType.FLOAT16: np.dtype("<f2"),
    tflite.TensorType.INT32: np.dtype("<i4"),
    tflite.TensorType.INT64: np.dtype("<i8"),
    tflite.TensorType.UINT8: np.dtype("u1"),
    tflite.TensorType.INT8: np.dtype("i1"),
}
_OPERATOR_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_SPARSE_INDEX_VECTORS = {
    tflite.SparseIndexVector.Int32Vector: tflite.Int32Vector,
    tflite.SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
    tflite.SparseIndexVector.Uint8Vector: tflite.Uint8Vector,
}


@dataclasses.dataclass
class DimensionMetadata:
    sparse: bool  # False: DENSE, True: SPARSE_CSR
    dense_size: int
    segments: np.ndarray | None
    indices: np.ndarray | None


@dataclasses.dataclass
class Sparsity:
    traversal_order: list[int]
    block_map: list[int]
    dims: list[DimensionMetadata]


@dataclasses.dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    data: np.ndarray | None  # constant contents (flat, in the tensor's dtype), or None
    sparsity: Sparsity | None
    quantized: bool


@dataclasses.dataclass
class Operator:
    index: int
    kind: str
    inputs: tuple[int, ...]  # -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: dict


@dataclasses.dataclass
class TfliteModel:
    path: Path
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]

    def tensor_by_name(self, name: str) -> Tensor:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(f"{self.path}: no tensor named {name!r}")


def _options(op: tflite.Operator, cls) -> object | None:
    table = op.BuiltinOptions()
    if table is None:
        return None
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _read_options(kind: str, op: tflite.Operator) -> dict:
    """The builtin options of the operators converted here, as a dict of plain values."""
    if kind == "CONV_2D":
        o = _options(op, tflite.Conv2DOptions)
        return dict(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                    dilation=(o.DilationHFactor(), o.DilationWFactor()),
                    activation=o.FusedActivationFunction())
    if kind == "DEPTHWISE_CONV_2D":
        o = _options(op, tflite.DepthwiseConv2DOptions)
        return dict(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                    dilation=(o.DilationHFactor(), o.DilationWFactor()),
                    depth_multiplier=o.DepthMultiplier(), activation=o.FusedActivationFunction())
    if kind == "MAX_POOL_2D":
        o = _options(op, tflite.Pool2DOptions)
        return dict(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                    filter=(o.FilterHeight(), o.FilterWidth()), activation=o.FusedActivationFunction())
    if kind == "ADD":
        o = _options(op, tflite.AddOptions)
        return dict(activation=o.FusedActivationFunction() if o is not None else 0)
    if kind == "CONCATENATION":
        o = _options(op, tflite.ConcatenationOptions)
        return dict(axis=o.Axis(), activation=o.FusedActivationFunction())
    if kind == "RESIZE_BILINEAR":
        o = _options(op, tflite.ResizeBilinearOptions)
        return dict(align_corners=bool(o.AlignCorners()), half_pixel_centers=bool(o.HalfPixelCenters()))
    if kind == "DEPTH_TO_SPACE":
        o = _options(op, tflite.DepthToSpaceOptions)
        return dict(block_size=o.BlockSize())
    return {}


def _index_vector(table, kind: int) -> np.ndarray | None:
    if table is None or kind == tflite.SparseIndexVector.NONE:
        return None
    cls = _SPARSE_INDEX_VECTORS.get(kind)
    if cls is None:
        raise TfliteFormatError(f"unknown sparse index vector type {kind}")
    vec = cls()
    vec.Init(table.Bytes, table.Pos)
    return np.asarray(vec.ValuesAsNumpy()).astype(np.int64) if vec.ValuesLength() else np.zeros(0, np.int64)


def _read_sparsity(t: tflite.Tensor) -> Sparsity | None:
    s = t.Sparsity()
    if s is None:
        return None
    dims = []
    for j in range(s.DimMetadataLength()):
        d = s.DimMetadata(j)
        sparse = d.Format() == tflite.DimensionType.SPARSE_CSR
        dims.append(DimensionMetadata(
            sparse=sparse, dense_size=int(d.DenseSize()),
            segments=_index_vector(d.ArraySegments(), d.ArraySegmentsType()) if sparse else None,
            indices=_index_vector(d.ArrayIndices(), d.ArrayIndicesType()) if sparse else None))
    return Sparsity(
        traversal_order=[int(v) for v in s.TraversalOrderAsNumpy()] if s.TraversalOrderLength() else [],
        block_map=[int(v) for v in s.BlockMapAsNumpy()] if s.BlockMapLength() else [],
        dims=dims)


def _buffer_bytes(model: tflite.Model, raw: bytes, index: int) -> bytes | None:
    if not 0 <= index < model.BuffersLength():
        raise TfliteFormatError(f"tensor refers to buffer {index}, the model has {model.BuffersLength()}")
    b = model.Buffers(index)
    if b.Offset() > 1:  # data stored after the flatbuffer (models over 2 GB)
        start, size = b.Offset(), b.Size()
        if start + size > len(raw):
            raise TfliteFormatError(
                f"buffer {index} spans bytes {start}..{start + size}, past the end of the file "
                f"({len(raw)} bytes): truncated?")
        return raw[start:start + size]
    n = b.DataLength()
    if n == 0:
        return None
    data = b.DataAsNumpy()
    if len(data) != n:
        raise TfliteFormatError(f"buffer {index} is cut short: truncated?")
    return data.tobytes()


def _parse(path: Path, raw: bytes) -> TfliteModel:
    if len(raw) < 8:
        raise TfliteFormatError(f"only {len(raw)} bytes")
    if not tflite.Model.ModelBufferHasIdentifier(raw, 0):
        raise TfliteFormatError(f"no 'TFL3' file identifier (bytes 4..8 are {raw[4:8]!r}): not a TFLite model")
    root = int.from_bytes(raw[0:4], "little")
    if root + 4 > len(raw):
        raise TfliteFormatError(f"root table offset {root} lies past the end of the file ({len(raw)} bytes)")
    model = tflite.Model.GetRootAs(raw, 0)
    if model.SubgraphsLength() != 1:
        raise UnsupportedTfliteError(f"{model.SubgraphsLength()} subgraphs; only single-subgraph models are converted")
    g = model.Subgraphs(0)
    for i in range(model.BuffersLength()):  # all of them, metadata too: every declared byte must be there
        _buffer_bytes(model, raw, i)

    n_tensors = g.TensorsLength()
    tensors = []
    for i in range(n_tensors):
        t = g.Tensors(i)
        ttype = t.Type()
        if ttype not in _TENSOR_DTYPES:
            raise UnsupportedTfliteError(f"tensor {i} has TFLite type {ttype}, not converted here")
        dtype = _TENSOR_DTYPES[ttype]
        shape = tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            raise UnsupportedTfliteError(f"tensor {i} has a dynamic shape {shape}")
        blob = _buffer_bytes(model, raw, t.Buffer())
        sparsity = _read_sparsity(t)
        data = None
        if blob is not None:
            if len(blob) % dtype.itemsize:
                raise TfliteFormatError(f"tensor {i}: {len(blob)} bytes is not a whole number of {dtype} values")
            data = np.frombuffer(blob, dtype)
            if sparsity is None and data.size != int(np.prod(shape)):
                raise TfliteFormatError(
                    f"tensor {i} ({t.Name().decode(errors='replace')}): shape {shape} needs "
                    f"{int(np.prod(shape))} values, its buffer holds {data.size}")
        q = t.Quantization()
        quantized = q is not None and q.ScaleLength() > 0
        tensors.append(Tensor(i, t.Name().decode("utf-8", errors="replace"), shape, dtype, data, sparsity, quantized))

    def tensor_list(vec: np.ndarray | int, what: str) -> tuple[int, ...]:
        idx = tuple(int(v) for v in np.atleast_1d(vec)) if not isinstance(vec, int) else ()
        for v in idx:
            if not -1 <= v < n_tensors:
                raise TfliteFormatError(f"{what} refers to tensor {v}, the graph has {n_tensors}")
        return idx

    n_codes = model.OperatorCodesLength()
    operators = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        ci = op.OpcodeIndex()
        if not 0 <= ci < n_codes:
            raise TfliteFormatError(f"operator {i} has opcode index {ci}, the model has {n_codes} codes")
        oc = model.OperatorCodes(ci)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        kind = _OPERATOR_NAMES.get(code, f"builtin code {code}")
        if kind == "CUSTOM":
            kind = f"CUSTOM {oc.CustomCode().decode(errors='replace')}"
        ins = tensor_list(op.InputsAsNumpy() if op.InputsLength() else 0, f"operator {i} ({kind})")
        outs = tensor_list(op.OutputsAsNumpy() if op.OutputsLength() else 0, f"operator {i} ({kind})")
        operators.append(Operator(i, kind, ins, outs, _read_options(kind, op)))

    inputs = list(tensor_list(g.InputsAsNumpy() if g.InputsLength() else 0, "graph inputs"))
    outputs = list(tensor_list(g.OutputsAsNumpy() if g.OutputsLength() else 0, "graph outputs"))
    return TfliteModel(path, tensors, operators, inputs, outputs)


def read_tflite(path: str | Path) -> TfliteModel:
    """Read and check a .tflite file; all of it is read eagerly, so damage shows here."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise TfliteFormatError(f"{path}: cannot read: {e.strerror}") from e
    try:
        return _parse(path, raw)
    except (TfliteFormatError, UnsupportedTfliteError) as e:
        raise type(e)(f"{path}: {e}") from None
    except Exception as e:  # the flatbuffer bindings read lazily and fail with whatever comes
        raise TfliteFormatError(
            f"{path}: not a readable TFLite model ({len(raw)} bytes; truncated or corrupt?): "
            f"{type(e).__name__}: {e}") from None


# ---------------------------------------------------------------------------------------
# Constant folding: float16 dequantisation and sparse weights
# ---------------------------------------------------------------------------------------

def densify(values: np.ndarray, shape: tuple[int, ...], sp: Sparsity) -> np.ndarray:
    """Expand TFLite's sparse tensor encoding (per-level DENSE / SPARSE_CSR, optional blocks).

    Levels are walked in traversal order; each keeps, for every element reached so far, its
    position in the next level's storage and its coordinate on that level's dimension. After
    the last level the position is the index into `values`.
    """
    rank = len(shape)
    levels = len(sp.traversal_order)
    if levels != len(sp.dims) or levels != rank + len(sp.block_map):
        raise TfliteFormatError(f"sparsity of a rank-{rank} tensor has {levels} traversal levels, "
                                f"{len(sp.dims)} dimension entries and {len(sp.block_map)} blocks")
    pos = np.zeros(1, np.int64)
    coords = np.zeros((levels, 1), np.int64)  # indexed by expanded dimension, not by level
    for level, dim in enumerate(sp.traversal_order):
        dm = sp.dims[level]
        if not dm.sparse:
            size = dm.dense_size
            new_pos = (pos[:, None] * size + np.arange(size)).ravel()
            coords = np.repeat(coords, size, axis=1)
            coords[dim] = np.tile(np.arange(size), len(pos))
        else:
            seg, ind = dm.segments, dm.indices
            if pos.size and (pos.max() + 1 >= len(seg)):
                raise TfliteFormatError("sparse segment array too short")
            starts, ends = seg[pos], seg[pos + 1]
            counts = ends - starts
            if (counts < 0).any() or (ends.max(initial=0) > len(ind)):
                raise TfliteFormatError("inconsistent sparse segments")
            coords = np.repeat(coords, counts, axis=1)
            # positions starts[k] .. ends[k]-1, concatenated
            offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            new_pos = np.repeat(starts, counts) + offsets
            coords[dim] = ind[new_pos]
        pos = new_pos
    if pos.size and pos.max() >= values.size:
        raise TfliteFormatError(f"sparse tensor addresses value {pos.max()}, it stores {values.size}")
    full = coords[:rank].copy()
    for k, d in enumerate(sp.block_map):  # block coordinate * block size + offset in block
        full[d] = full[d] * sp.dims[rank + k].dense_size + coords[rank + k]
    for d in range(rank):
        if full[d].size and full[d].max() >= shape[d]:
            raise TfliteFormatError(f"sparse coordinate {full[d].max()} outside dimension {d} of {shape}")
    dense = np.zeros(shape, values.dtype)
    dense[tuple(full)] = values[pos]
    return dense


# ---------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------

_NHWC_TO_NCHW = (0, 3, 1, 2)
_NCHW_TO_NHWC = (0, 2, 3, 1)
_NONE, _RELU6 = tflite.ActivationFunctionType.NONE, tflite.ActivationFunctionType.RELU6


def _transpose_is_relabel(shape: tuple[int, ...], perm: tuple[int, ...]) -> bool:
    """True when the permutation keeps every dimension larger than 1 in its order."""
    big = [d for d in range(len(shape)) if shape[d] != 1]
    return [d for d in perm if shape[d] != 1] == big


class _Converter:
    """Emits ONNX nodes per TFLite operator.

    Only the variants the BlazePose graphs contain are converted (each checked against the
    TFLite interpreter by the tests); any other variant is an UnsupportedTfliteError naming
    it, so that a new graph cannot be converted silently wrong.
    """

    def __init__(self, model: TfliteModel, names: dict[int, str], dynamic_batch: bool):
        self.m = model
        self.names = names  # ONNX names of selected graph inputs/outputs
        self.dynamic_batch = dynamic_batch
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.const: dict[int, np.ndarray] = {}  # folded constants, TFLite layout
        self.emitted_const: dict[tuple, str] = {}

    # names ------------------------------------------------------------------------------
    def name(self, idx: int) -> str:
        return self.names.get(idx, f"t{idx}")

    def fail(self, op: Operator, msg: str) -> UnsupportedTfliteError:
        return UnsupportedTfliteError(f"{self.m.path}: operator {op.index} ({op.kind}): {msg}")

    def shape(self, idx: int) -> tuple[int, ...]:
        return self.m.tensors[idx].shape

    def constant(self, op: Operator, idx: int) -> np.ndarray:
        if idx not in self.const:
            raise self.fail(op, f"input {self.m.tensors[idx].name!r} must be a constant")
        return self.const[idx]

    def activation_input(self, op: Operator, idx: int) -> str:
        if idx < 0 or idx in self.const:
            raise self.fail(op, f"input {idx} is a constant or absent; only computed inputs are converted")
        return self.name(idx)

    def initializer(self, array: np.ndarray, hint: str) -> str:
        array = np.ascontiguousarray(array)
        key = (hint, array.dtype.str, array.shape, hashlib.sha256(array.tobytes()).hexdigest())
        if key not in self.emitted_const:
            name = f"{hint}_{len(self.initializers)}"
            self.initializers.append(numpy_helper.from_array(array, name))
            self.emitted_const[key] = name
        return self.emitted_const[key]

    def node(self, op_type: str, inputs: list[str], outputs: list[str], **attrs) -> None:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, **attrs))

    # fused activations: NONE and RELU6 are what the graphs use --------------------------
    def main_output(self, op: Operator) -> str:
        """Name for the main node's result: the tensor itself, or a temporary before RELU6."""
        act = op.options.get("activation", _NONE)
        if act not in (_NONE, _RELU6):
            raise self.fail(op, f"fused activation {act} is not converted (NONE and RELU6 are)")
        out = self.name(op.outputs[0])
        return out if act == _NONE else f"{out}_pre"

    def finish(self, op: Operator, main_out: str) -> None:
        if op.options.get("activation", _NONE) == _RELU6:
            self.node("Clip", [main_out, self.initializer(np.float32(0.0), "zero"),
                               self.initializer(np.float32(6.0), "six")], [self.name(op.outputs[0])])

    # spatial helpers ----------------------------------------------------------------------
    def pads(self, op: Operator, in_hw, kernel_hw, stride) -> list[int]:
        """ONNX pads [top, left, bottom, right] for TFLite's SAME / VALID rule."""
        out_hw = self.shape(op.outputs[0])[1:3]
        begin, end = [], []
        for i in range(2):
            if op.options["padding"] == tflite.Padding.SAME:
                expected = -(-in_hw[i] // stride[i])
                total = max((expected - 1) * stride[i] + kernel_hw[i] - in_hw[i], 0)
            elif op.options["padding"] == tflite.Padding.VALID:
                expected = (in_hw[i] - kernel_hw[i]) // stride[i] + 1
                total = 0
            else:
                raise self.fail(op, f"padding mode {op.options['padding']}")
            if expected != out_hw[i]:
                raise TfliteFormatError(f"{self.m.path}: operator {op.index} ({op.kind}): output size "
                                        f"{out_hw} disagrees with the padding rule ({expected})")
            begin.append(total // 2)
            end.append(total - total // 2)
        return begin + end

    # operators ----------------------------------------------------------------------------
    def op_DEQUANTIZE(self, op: Operator) -> None:
        src = op.inputs[0]
        t = self.m.tensors[src]
        if src not in self.const or t.dtype != np.float16 or t.quantized:
            raise self.fail(op, "only float16 constants are dequantised")
        self.const[op.outputs[0]] = self.const[src].astype(np.float32)

    def op_DENSIFY(self, op: Operator) -> None:
        src = op.inputs[0]
        if src not in self.const:
            raise self.fail(op, "input is not a constant")
        self.const[op.outputs[0]] = self.const[src]  # constants are densified when read

    def op_CONV_2D(self, op: Operator, depthwise: bool = False) -> None:
        if op.options["dilation"] != (1, 1):
            raise self.fail(op, f"dilation {op.options['dilation']} is not converted")
        if len(op.inputs) < 3 or op.inputs[2] < 0:
            raise self.fail(op, "a convolution without bias is not converted")
        x = self.activation_input(op, op.inputs[0])
        w = self.constant(op, op.inputs[1]).astype(np.float32)
        bias = self.constant(op, op.inputs[2]).astype(np.float32)
        cin = self.shape(op.inputs[0])[3]
        if depthwise:  # [1, kh, kw, cin] -> [cin, 1, kh, kw], one group per channel
            if w.shape[0] != 1 or w.shape[3] != cin:
                raise self.fail(op, f"depthwise weights {w.shape} for {cin} channels (multiplier 1 only)")
            weight, group = w.transpose(3, 0, 1, 2), cin
        else:  # [cout, kh, kw, cin] -> [cout, cin, kh, kw]
            if w.shape[3] != cin:
                raise self.fail(op, f"weights {w.shape} for {cin} input channels (grouped convolution)")
            weight, group = w.transpose(0, 3, 1, 2), 1
        kh, kw = weight.shape[2:]
        pads = self.pads(op, self.shape(op.inputs[0])[1:3], (kh, kw), op.options["stride"])
        out = self.main_output(op)
        self.node("Conv", [x, self.initializer(weight, f"w{op.inputs[1]}"), self.initializer(bias, f"b{op.inputs[2]}")],
                  [out], kernel_shape=[kh, kw], strides=list(op.options["stride"]), pads=pads, group=group)
        self.finish(op, out)

    def op_DEPTHWISE_CONV_2D(self, op: Operator) -> None:
        self.op_CONV_2D(op, depthwise=True)

    def op_MAX_POOL_2D(self, op: Operator) -> None:
        if op.options["padding"] != tflite.Padding.VALID:
            raise self.fail(op, "only VALID max pooling is converted")
        x = self.activation_input(op, op.inputs[0])
        k = op.options["filter"]
        pads = self.pads(op, self.shape(op.inputs[0])[1:3], k, op.options["stride"])
        out = self.main_output(op)
        self.node("MaxPool", [x], [out], kernel_shape=list(k), strides=list(op.options["stride"]), pads=pads)
        self.finish(op, out)

    def op_ADD(self, op: Operator) -> None:
        a, b = op.inputs[:2]
        if self.shape(a) != self.shape(b):
            raise self.fail(op, f"broadcasting {self.shape(a)} + {self.shape(b)} is not converted")
        out = self.main_output(op)
        self.node("Add", [self.activation_input(op, a), self.activation_input(op, b)], [out])
        self.finish(op, out)

    def op_CONCATENATION(self, op: Operator) -> None:
        rank = len(self.shape(op.outputs[0]))
        axis = op.options["axis"] % rank
        if rank == 4 or axis == 0:
            raise self.fail(op, f"concatenation along axis {axis} of rank-{rank} tensors is not converted")
        out = self.main_output(op)
        self.node("Concat", [self.activation_input(op, i) for i in op.inputs], [out], axis=axis)
        self.finish(op, out)

    def op_PAD(self, op: Operator) -> None:
        x = self.activation_input(op, op.inputs[0])
        p = self.constant(op, op.inputs[1]).reshape(-1, 2).astype(np.int64)
        if len(p) != 4 or p[0].any():
            raise self.fail(op, f"paddings {p.tolist()}: rank-4 without batch padding only")
        p = p[list(_NHWC_TO_NCHW)]
        pads = np.concatenate([p[:, 0], p[:, 1]])
        self.node("Pad", [x, self.initializer(pads, "pads")], [self.name(op.outputs[0])], mode="constant")

    def op_RESIZE_BILINEAR(self, op: Operator) -> None:
        # TF's half-pixel rule, in = (out + 0.5) * in_size / out_size - 0.5, is ONNX's half_pixel.
        if op.options["align_corners"] or not op.options["half_pixel_centers"]:
            raise self.fail(op, "only half-pixel-centre resizing is converted")
        x = self.activation_input(op, op.inputs[0])
        n, in_h, in_w, c = self.shape(op.inputs[0])
        out_h, out_w = (int(v) for v in self.constant(op, op.inputs[1]))
        attrs = dict(mode="linear", coordinate_transformation_mode="half_pixel")
        if self.dynamic_batch:  # scales leave the batch free; the factors here are exact
            scales = np.array([1, 1, out_h / in_h, out_w / in_w], np.float32)
            if in_h * scales[2] != out_h or in_w * scales[3] != out_w:
                raise self.fail(op, f"{in_h}x{in_w} -> {out_h}x{out_w} is not an exact float32 scale")
            self.node("Resize", [x, "", self.initializer(scales, "scales")], [self.name(op.outputs[0])], **attrs)
        else:
            sizes = np.array([n, c, out_h, out_w], np.int64)
            self.node("Resize", [x, "", "", self.initializer(sizes, "sizes")], [self.name(op.outputs[0])], **attrs)

    def op_RESHAPE(self, op: Operator) -> None:
        """Rank 4 -> lower rank, batch kept: in TFLite's NHWC element order."""
        x, y = op.inputs[0], op.outputs[0]
        in_shape, out_shape = self.shape(x), self.shape(y)
        if len(in_shape) != 4 or len(out_shape) == 4 or in_shape[0] != out_shape[0]:
            raise self.fail(op, f"reshape {in_shape} -> {out_shape} (rank 4 -> lower, same batch only)")
        src, dst = self.activation_input(op, x), self.name(y)
        if not _transpose_is_relabel(tuple(in_shape[d] for d in _NHWC_TO_NCHW), _NCHW_TO_NHWC):
            self.node("Transpose", [src], [f"{dst}_nhwc"], perm=list(_NCHW_TO_NHWC))
            src = f"{dst}_nhwc"
        target = np.array(out_shape, np.int64)
        if self.dynamic_batch:
            target[0] = 0  # ONNX: copy the input's first dimension
        self.node("Reshape", [src, self.initializer(target, "shape")], [dst])

    def op_LOGISTIC(self, op: Operator) -> None:
        self.node("Sigmoid", [self.activation_input(op, op.inputs[0])], [self.name(op.outputs[0])])

    def op_DEPTH_TO_SPACE(self, op: Operator) -> None:
        # TFLite's depth order (block row, block column, channel) is ONNX's DCR mode.
        self.node("DepthToSpace", [self.activation_input(op, op.inputs[0])], [self.name(op.outputs[0])],
                  blocksize=op.options["block_size"], mode="DCR")


def _needed_operators(model: TfliteModel, outputs: list[int]) -> list[Operator]:
    producer = {o: op for op in model.operators for o in op.outputs}
    needed, stack = set(), list(outputs)
    while stack:
        t = stack.pop()
        op = producer.get(t)
        if op is None or op.index in needed:
            continue
        needed.add(op.index)
        stack.extend(i for i in op.inputs if i >= 0)
    return [op for op in model.operators if op.index in needed]


def convert(model: TfliteModel, inputs: dict[str, str], outputs: dict[str, str], *,
            graph_name: str, doc_string: str = "", metadata: dict[str, str] | None = None,
            dynamic_batch: bool = False) -> onnx.ModelProto:
    """Convert `model` to an ONNX model.

    inputs / outputs: TFLite tensor name -> ONNX name. Every graph input must be named;
    outputs not listed are dropped together with the operators only they need. Rank-4
    inputs and outputs are NCHW. dynamic_batch: the first dimension of the inputs and
    outputs (1 in the TFLite graph) becomes the symbolic `batch`; samples stay independent.
    """
    by_name = {t.name: t.index for t in model.tensors}
    for tname in list(inputs) + list(outputs):
        if tname not in by_name:
            raise KeyError(f"{model.path}: no tensor named {tname!r}")
    in_idx = [by_name[n] for n in inputs]
    out_idx = [by_name[n] for n in outputs]
    if sorted(in_idx) != sorted(model.inputs):
        raise ValueError(f"{model.path}: inputs {sorted(inputs)} are not the graph's inputs "
                         f"{[model.tensors[i].name for i in model.inputs]}")
    missing = [model.tensors[i].name for i in out_idx if i not in model.outputs]
    if missing:
        raise ValueError(f"{model.path}: {missing} are not graph outputs")
    names = {by_name[k]: v for k, v in {**inputs, **outputs}.items()}

    conv = _Converter(model, names, dynamic_batch)
    for t in model.tensors:
        if t.data is None:
            continue
        try:
            conv.const[t.index] = (densify(t.data, t.shape, t.sparsity) if t.sparsity is not None
                                   else t.data.reshape(t.shape))
        except Exception as e:  # noqa: BLE001  (damaged sparse data shows up in many ways)
            raise TfliteFormatError(f"{model.path}: constant {t.index} ({t.name}): {e}") from None
    for op in _needed_operators(model, out_idx):
        handler = getattr(conv, f"op_{op.kind}", None)
        if handler is None:
            raise conv.fail(op, "operator not converted")
        if any(model.tensors[i].dtype not in (np.float32, np.float16) and i not in conv.const
               for i in op.inputs if i >= 0):
            raise conv.fail(op, "non-float activations are not converted")
        try:
            handler(op)
        except (TfliteFormatError, UnsupportedTfliteError):
            raise
        except Exception as e:  # noqa: BLE001  (shapes or options that contradict each other)
            raise TfliteFormatError(f"{model.path}: operator {op.index} ({op.kind}) is inconsistent: "
                                    f"{type(e).__name__}: {e}") from None

    def value_info(idx: int) -> onnx.ValueInfoProto:
        shape = model.tensors[idx].shape
        if len(shape) == 4:
            shape = tuple(shape[d] for d in _NHWC_TO_NCHW)
        dims: list = list(shape)
        if dynamic_batch:
            if not dims or dims[0] != 1:
                raise ValueError(f"{model.path}: {model.tensors[idx].name} {shape} has no batch of 1 to free")
            dims[0] = "batch"
        return helper.make_tensor_value_info(names[idx], TensorProto.FLOAT, dims)

    graph = helper.make_graph(conv.nodes, graph_name, [value_info(i) for i in in_idx],
                              [value_info(i) for i in out_idx], conv.initializers)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="hmr2-gst models/open_models/tflite_to_onnx.py",
                                   doc_string=doc_string)
    onnx_model.ir_version = 8  # the IR version of opset 17's ONNX release; any runtime since reads it
    for k, v in sorted((metadata or {}).items()):
        onnx_model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model
