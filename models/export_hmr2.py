#!/usr/bin/env python3
"""Export a 4D-Humans HMR2.0 checkpoint to ONNX with the project's model interface.

Needs the user's own 4D-Humans install (the ``hmr2`` package, with torch) and its data
(the checkpoint with ``model_config.yaml`` two folders up, as ``load_hmr2`` expects, and
the SMPL file 4D-Humans asks for). Run it with the Python environment of that install::

    python models/export_hmr2.py --out models/hmr2.onnx            # default 4D-Humans checkpoint
    python models/export_hmr2.py --checkpoint PATH.ckpt --out hmr2.onnx --fp16

Verified end to end against 4D-Humans' published source with a randomly initialised
full-size model (``models/verify_hmr2_export.py``; figures in models/TOOLS.md), not with
the released weights.

Interface of the exported file (what ``hmr2pose`` checks at load time; ``models/check``
prints it):

* input ``image``: float32 [B, 3, 256, 192] -- the normalised RGB person crop, columns
  32..224 of the 256x256 crop (HMR2 slices those columns itself before its ViT backbone;
  this export leaves that slice to the element, so the file takes the 256x192 tensor the
  network really sees). ``--square-input`` exports [B, 3, 256, 256] with the slice in the
  graph instead; the element accepts both.
* outputs ``global_orient`` [B, 1, 3, 3], ``body_pose`` [B, 23, 3, 3] (rotation matrices),
  ``betas`` [B, 10], ``pred_cam`` [B, 3] (weak-perspective s, tx, ty of the crop).
* dynamic batch B; opset 17 (``--opset``); float32, or float16 weights and arithmetic with
  ``--fp16`` (inputs and outputs stay float32 so the element needs no change).

Files over 2 GB (the fp32 export is about 2.7 GB) are written with their weights in
``OUT.data`` beside ``OUT`` (ONNX external data); keep the two together.

Validation (always, unless ``--no-validate``): ONNX Runtime runs the file on a few random
crops and a few real-looking ones and compares with torch; the max abs difference per
output is printed, and the script fails when one is beyond tolerance (fp32: 1e-3 on
rotations, betas and camera; fp16: 5e-2).

This file imports nothing beyond the standard library at module level, so
``python models/export_hmr2.py --help`` works without torch, and the checks that need no
torch (``checkpoint_key_problems``, ``to_fp16``) can be tested without it.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Mapping

OUTPUT_NAMES = ("global_orient", "body_pose", "betas", "pred_cam")
TWO_GB = 2 * 1024 ** 3
TOLERANCE = {"fp32": 1e-3, "fp16": 5e-2}
# The parts of HMR2 the export contains: every one of their weights must come from the checkpoint.
EXPORTED_PREFIXES = ("backbone.", "smpl_head.")
IMAGE_SIZE = 256


# ---------------------------------------------------------------------------------------
# Checks without torch
# ---------------------------------------------------------------------------------------


def checkpoint_key_problems(checkpoint: Mapping[str, tuple | None], model: Mapping[str, tuple | None],
                            prefixes=EXPORTED_PREFIXES) -> dict:
    """Compare a checkpoint's state dict with the model's, for the exported parts only.

    Both arguments map parameter names to shapes (or None where the shape is unknown).
    Returns {"missing": [...], "unexpected": [...], "shape": [(name, ckpt_shape, model_shape)]}:
    names under ``prefixes`` that the model has and the checkpoint lacks, that the checkpoint
    has and the model lacks, and that both have with different shapes. Keys outside the
    prefixes (the discriminator, the SMPL layer's buffers) are not compared: 4D-Humans loads
    non-strictly and the export does not contain them.
    """
    ours = {k: v for k, v in model.items() if k.startswith(prefixes)}
    theirs = {k: v for k, v in checkpoint.items() if k.startswith(prefixes)}
    shape = [(k, tuple(theirs[k]), tuple(ours[k])) for k in sorted(ours.keys() & theirs.keys())
             if ours[k] is not None and theirs[k] is not None and tuple(ours[k]) != tuple(theirs[k])]
    return {"missing": sorted(ours.keys() - theirs.keys()),
            "unexpected": sorted(theirs.keys() - ours.keys()),
            "shape": shape}


def describe_key_problems(problems: dict, limit: int = 12) -> str | None:
    """A message naming the keys, or None when the checkpoint fits."""
    parts = []
    for kind, what in (("missing", "missing from the checkpoint"), ("unexpected", "in the checkpoint, not in the model")):
        names = problems[kind]
        if names:
            shown = ", ".join(names[:limit]) + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")
            parts.append(f"{len(names)} {what}: {shown}")
    if problems["shape"]:
        shown = ", ".join(f"{k} {c} vs {m}" for k, c, m in problems["shape"][:limit])
        parts.append(f"{len(problems['shape'])} with another shape (checkpoint vs model): {shown}")
    if not parts:
        return None
    return ("the checkpoint's weights do not match HMR2's backbone and SMPL head, so the export would carry "
            "random weights: " + "; ".join(parts))


def to_fp16(model):
    """float16 weights and arithmetic, float32 inputs and outputs (an onnx ModelProto in, one out).

    onnxconverter-common converts initializers, attribute tensors and value types, but leaves
    Cast nodes alone. A Cast(to=float32) inside the exported graph (the SMPL head's zero query
    token is ConstantOfShape + Cast(to=float32)) would then feed float32 into float16 MatMuls,
    which ONNX Runtime refuses: such Casts are turned into Cast(to=float16), except where they
    feed an operator the converter keeps in float32 (it casts around those itself).
    """
    try:
        from onnxconverter_common import float16
    except ImportError:
        raise SystemExit("export_hmr2: --fp16 needs the 'onnxconverter-common' package (pip install onnxconverter-common)")
    from onnx import TensorProto

    float_casts = {n.name for n in model.graph.node
                   if n.op_type == "Cast" and n.name and _cast_to(n) == TensorProto.FLOAT}
    # keep_io_types: Cast nodes at the inputs and outputs, so the interface stays float32.
    # Shape inference is off: it serialises the model, which protobuf cannot do over 2 GB.
    model = float16.convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    kept_fp32 = set(float16.DEFAULT_OP_BLOCK_LIST)
    consumers: dict[str, list] = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    retargeted = []
    for n in model.graph.node:
        if n.name in float_casts and _cast_to(n) == TensorProto.FLOAT:
            if any(c.op_type in kept_fp32 for o in n.output for c in consumers.get(o, [])):
                continue
            for a in n.attribute:
                if a.name == "to":
                    a.i = TensorProto.FLOAT16
            retargeted.append(n.name)
    return model, retargeted


def _cast_to(node) -> int | None:
    for a in node.attribute:
        if a.name == "to":
            return a.i
    return None


# ---------------------------------------------------------------------------------------
# Loading and export (torch and 4D-Humans)
# ---------------------------------------------------------------------------------------


def torch_load_checkpoint(path: Path):
    """torch.load of a Lightning checkpoint written by 4D-Humans' training.

    Its hyper-parameters hold a yacs CfgNode (and whatever else the config pickles), so the
    weights-only unpickler that torch >= 2.6 uses by default refuses the file; it is loaded
    with the full unpickler, as 4D-Humans itself does on the torch it was written with.
    Only load checkpoints you trust.
    """
    import torch

    params = inspect.signature(torch.load).parameters
    kwargs = {"map_location": "cpu"}
    if "weights_only" in params:
        kwargs["weights_only"] = False
    if "mmap" in params:  # weights paged in from the file instead of read into memory first
        try:
            return torch.load(str(path), mmap=True, **kwargs)
        except RuntimeError:  # an old (non-zip) serialisation cannot be memory-mapped
            pass
    return torch.load(str(path), **kwargs)


def load_model(checkpoint: str | None):
    """Load HMR2 like 4D-Humans' ``load_hmr2``, in eval mode, on the CPU, without a renderer.

    Differences from ``load_hmr2``, all on purpose: the checkpoint is read with the full
    unpickler on every torch (see ``torch_load_checkpoint``); the renderer is not set up
    (``init_renderer=False``); and instead of a silent non-strict load, a checkpoint whose
    backbone or SMPL-head weights do not match the model is an error naming the keys.
    """
    try:
        import hmr2  # noqa: F401
        from hmr2.models import HMR2, DEFAULT_CHECKPOINT, check_smpl_exists
        from hmr2.configs import get_config
    except ImportError as e:
        raise SystemExit(
            f"export_hmr2: cannot import the 4D-Humans package 'hmr2' ({e}). Run this script with the "
            "Python environment where 4D-Humans is installed (see models/TOOLS.md)."
        )
    ckpt = Path(checkpoint or DEFAULT_CHECKPOINT)
    if not ckpt.is_file():
        raise SystemExit(f"export_hmr2: checkpoint {ckpt} not found (4D-Humans' demo.py downloads it)")
    cfg_path = ckpt.parent.parent / "model_config.yaml"
    if not cfg_path.is_file():
        raise SystemExit(f"export_hmr2: {cfg_path} not found (load_hmr2 expects it two folders above the checkpoint)")
    cfg = get_config(str(cfg_path), update_cachedir=True)
    # What load_hmr2() does for the ViT backbone: 256 crop, 192x256 box.
    if cfg.MODEL.BACKBONE.TYPE == "vit" and "BBOX_SHAPE" not in cfg.MODEL:
        cfg.defrost()
        cfg.MODEL.BBOX_SHAPE = [192, 256]
        cfg.freeze()
    # load_hmr2 asserts this for the ViT backbone; the export's interface assumes it always.
    if cfg.MODEL.IMAGE_SIZE != IMAGE_SIZE:
        raise SystemExit(f"export_hmr2: {cfg_path} has MODEL.IMAGE_SIZE {cfg.MODEL.IMAGE_SIZE}; "
                         f"the export needs {IMAGE_SIZE} (HMR2.0's ViT crop)")
    check_smpl_exists()  # HMR2's constructor builds its SMPL layer
    print(f"loading {ckpt} ...", flush=True)
    state = torch_load_checkpoint(ckpt)
    state = state.get("state_dict", state)
    # Renderer off: it would open an OpenGL context, which the export does not need.
    model = HMR2(cfg=cfg, init_renderer=False)
    shapes = lambda sd: {k: tuple(v.shape) if hasattr(v, "shape") else None for k, v in sd.items()}  # noqa: E731
    message = describe_key_problems(checkpoint_key_problems(shapes(state), shapes(model.state_dict())))
    if message:
        raise SystemExit(f"export_hmr2: {ckpt}: {message}")
    model.load_state_dict(state, strict=False)  # the rest (discriminator, SMPL buffers) as load_hmr2 does
    del state
    model = model.to("cpu").eval()
    return model, cfg


def make_wrapper(model, square_input: bool):
    """A torch.nn.Module: image tensor -> (global_orient, body_pose, betas, pred_cam).

    It calls HMR2's backbone and SMPL head exactly as ``HMR2.forward_step`` does, and
    leaves out the SMPL mesh, keypoints and camera translation that forward_step computes
    for training and visualisation (the element does those itself).
    """
    import torch

    class HMR2Export(torch.nn.Module):
        def __init__(self, hmr2_model):
            super().__init__()
            self.backbone = hmr2_model.backbone
            self.smpl_head = hmr2_model.smpl_head

        def forward(self, image):
            x = image[:, :, :, 32:-32] if square_input else image
            feats = self.backbone(x)
            params, cam, _ = self.smpl_head(feats)
            b = image.shape[0]
            return (params["global_orient"].reshape(b, 1, 3, 3),
                    params["body_pose"].reshape(b, 23, 3, 3),
                    params["betas"].reshape(b, 10),
                    cam.reshape(b, 3))

    return HMR2Export(model).eval()


@contextlib.contextmanager
def explicit_cross_dim():
    """While tracing: ``torch.cross`` calls without ``dim`` get the dim eager torch would use.

    4D-Humans' rot6d_to_rotmat calls ``torch.cross(b1, b2)``; without ``dim`` eager torch
    takes the first dimension of size 3, but the ONNX exporter cannot infer one under a
    dynamic batch. Here that first size-3 dimension is computed from the traced shapes
    (for the [B*24, 3] vectors it is 1, as B*24 is never 3) and passed explicitly, so the
    graph computes exactly what eager torch does.
    """
    import torch

    original = torch.cross

    def cross(input, other, dim=None, **kwargs):
        if dim is None:
            with warnings.catch_warnings():  # the traced shape is read on purpose, at trace time
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                dim = next(i for i, n in enumerate(input.shape) if int(n) == 3)
        return original(input, other, dim=dim, **kwargs)

    torch.cross = cross
    try:
        yield
    finally:
        torch.cross = original


def reference_outputs(model, images, square_input):
    """The unwrapped HMR2 forward (``model.forward_step``) on 256x256 crops, for validation."""
    import torch

    with torch.no_grad():
        full = images
        if not square_input:  # put the 192 columns back into a 256-wide crop
            full = torch.zeros(images.shape[0], 3, 256, 256, dtype=images.dtype)
            full[:, :, :, 32:224] = images
        out = model.forward_step({"img": full}, train=False)
        p = out["pred_smpl_params"]
        return [p["global_orient"], p["body_pose"], p["betas"], out["pred_cam"]]


def export(wrapper, out: Path, opset: int, square_input: bool, fp16: bool):
    import onnx
    import torch

    width = 256 if square_input else 192
    dummy = torch.zeros(2, 3, 256, width)
    dynamic = {"image": {0: "batch"}, **{n: {0: "batch"} for n in OUTPUT_NAMES}}
    kwargs = dict(input_names=["image"], output_names=list(OUTPUT_NAMES), dynamic_axes=dynamic,
                  opset_version=opset, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter: dynamic_axes, no extra deps
    with tempfile.TemporaryDirectory(prefix="hmr2-export-") as tmp:
        raw = Path(tmp) / "hmr2.onnx"
        with torch.no_grad(), explicit_cross_dim():
            torch.onnx.export(wrapper, (dummy,), str(raw), **kwargs)
        # torch may already have spilled weights to files beside raw; onnx.load gathers them
        model = onnx.load(str(raw), load_external_data=True)
    if fp16:
        model, retargeted = to_fp16(model)
        print(f"fp16: {len(retargeted)} Cast(to=float32) node(s) inside the graph now cast to float16: "
              f"{', '.join(retargeted) or '-'}")
    meta = {"producer": "hmr2-gst models/export_hmr2.py", "input": f"256x{width}",
            "precision": "fp16" if fp16 else "fp32"}
    for k, v in meta.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    out.parent.mkdir(parents=True, exist_ok=True)
    data = out.parent / (out.name + ".data")
    weight_bytes = sum(len(t.raw_data) for t in model.graph.initializer)
    big = weight_bytes > TWO_GB - 64 * 1024 ** 2  # protobuf cannot serialise one message over 2 GB
    if data.exists():
        data.unlink()  # save_as_external_data appends to an existing file; a stale one would mislead
    if big:
        onnx.save_model(model, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data.name, size_threshold=1024)
        # the external data file comes out owner-only (0600); give it the .onnx file's mode
        os.chmod(data, out.stat().st_mode & 0o777)
    else:
        onnx.save_model(model, str(out))
    onnx.checker.check_model(str(out))
    return big


def validate(model, wrapper, path: Path, square_input: bool, fp16: bool, n: int = 4, seed: int = 0) -> bool:
    import numpy as np
    import onnxruntime as ort
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    width = 256 if square_input else 192
    # random crops in the normalised range, plus smooth ones that look more like images
    noise = torch.from_numpy(rng.normal(0.0, 1.0, size=(n, 3, 256, width)).astype(np.float32))
    yy, xx = np.meshgrid(np.linspace(-1, 1, 256), np.linspace(-1, 1, width), indexing="ij")
    smooth = np.stack([np.stack([np.sin(3 * xx + k) * np.cos(2 * yy - c) for c in range(3)]) for k in range(n)])
    # 2n crops: a batch size other than the export's dummy batch of 2, so a batch size baked
    # into the graph by the tracer shows up here as a failure
    images = torch.cat([noise, torch.from_numpy((1.5 * smooth).astype(np.float32))])
    sess = ort.InferenceSession(str(path), providers=ort.get_available_providers())
    got = sess.run(list(OUTPUT_NAMES), {"image": images.numpy()})
    with torch.no_grad():
        want = [t.numpy() for t in wrapper(images)]
    ref = [t.numpy() for t in reference_outputs(model, images, square_input)]
    tol = TOLERANCE["fp16" if fp16 else "fp32"]
    ok = True
    print(f"validation on {images.shape[0]} crops ({', '.join(sess.get_providers())}); tolerance {tol}:")
    for name, g, w, r in zip(OUTPUT_NAMES, got, want, ref):
        if g.shape != w.shape:
            print(f"  {name}: shape {g.shape}, torch gives {w.shape}  FAIL")
            ok = False
            continue
        d = float(np.abs(g - w).max())
        dw = float(np.abs(w - r.reshape(w.shape)).max())
        verdict = "ok" if d <= tol and dw <= 1e-5 else "FAIL"
        ok &= verdict == "ok"
        print(f"  {name:14s} {str(tuple(g.shape)):16s} max |onnx - torch| = {d:.2e}   "
              f"(wrapper vs HMR2.forward_step: {dw:.1e})  {verdict}")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Export a 4D-Humans HMR2.0 checkpoint to ONNX for hmr2pose.",
        epilog="See models/TOOLS.md for the step-by-step guide.")
    ap.add_argument("--checkpoint", help="HMR2.0 .ckpt (default: 4D-Humans' DEFAULT_CHECKPOINT)")
    ap.add_argument("--out", required=True, help="ONNX file to write (OUT.data beside it when over 2 GB)")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17; default 17)")
    ap.add_argument("--fp16", action="store_true", help="float16 weights and arithmetic (float32 interface)")
    ap.add_argument("--square-input", action="store_true",
                    help="take the full 256x256 crop and slice columns 32..224 in the graph")
    ap.add_argument("--no-validate", action="store_true", help="skip the ONNX Runtime vs torch comparison")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args(argv)
    if args.opset < 17:
        ap.error("--opset must be 17 or later (LayerNormalization)")

    try:
        import torch
    except ImportError:
        raise SystemExit("export_hmr2: torch is not installed in this Python; use your 4D-Humans environment")
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.monotonic()
    model, _ = load_model(args.checkpoint)
    t1 = time.monotonic()
    wrapper = make_wrapper(model, args.square_input)
    out = Path(args.out)
    print(f"exporting to {out} (input 256x{256 if args.square_input else 192}, opset {args.opset}, "
          f"{'fp16' if args.fp16 else 'fp32'}) ...", flush=True)
    external = export(wrapper, out, args.opset, args.square_input, args.fp16)
    t2 = time.monotonic()
    size = out.stat().st_size + ((out.parent / (out.name + ".data")).stat().st_size if external else 0)
    print(f"wrote {out}{' and ' + out.name + '.data' if external else ''} ({size / 1e9:.2f} GB)", flush=True)
    if args.no_validate:
        print(f"time: load {t1 - t0:.0f} s, export {t2 - t1:.0f} s")
        return 0
    ok = validate(model, wrapper, out, args.square_input, args.fp16)
    print(f"time: load {t1 - t0:.0f} s, export {t2 - t1:.0f} s, validation {time.monotonic() - t2:.0f} s")
    if not ok:
        print("export_hmr2: validation FAILED: ONNX Runtime and torch disagree beyond tolerance", file=sys.stderr)
        return 1
    print("validation passed; check the interface with: models/check", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
