#!/usr/bin/env python3
"""Verify models/export_hmr2.py end to end against 4D-Humans' real source code.

No HMR2.0 checkpoint or SMPL file may be downloaded or shipped, so this builds what the
exporter reads from 4D-Humans' own code, with random weights at full size:

1. a synthetic SMPL neutral model (``SMPL_NEUTRAL.pkl``, the official fields, shapes and
   dtypes, random values), the 19-joint extra regressor and the mean parameters, in a
   private ``$HOME/.cache/4DHumans`` under the work folder (4D-Humans derives every path
   from ``$HOME``);
2. ``model_config.yaml`` with HMR2.0's configuration (ViT-H backbone, 6-layer transformer
   decoder head) and HMR2 built from it by 4D-Humans' ``HMR2`` class (random
   initialisation), saved as a Lightning checkpoint at 4D-Humans' ``DEFAULT_CHECKPOINT``
   place (``epoch=35-step=1000000.ckpt``, the config two folders up);
3. 4D-Humans' own ``load_hmr2`` on that checkpoint (the outcome is reported: on torch >= 2.6
   Lightning's loader refuses it, which is why the exporter loads it itself);
4. 4D-Humans' SMPL head alone exported with a dynamic batch, without and with the
   exporter's explicit ``torch.cross`` dim (the outcome without it is reported; with it the
   export must match eager torch);
5. the exporter in a child process for fp32, ``--square-input`` and ``--fp16`` (each runs
   its own ONNX Runtime vs torch validation), timed, with peak memory;
6. an independent comparison: HMR2's ``forward_step`` (4D-Humans' code, weights from the
   checkpoint) against ONNX Runtime on each exported file, max abs difference per output;
7. ``models/check`` on each file;
8. a checkpoint with one backbone weight missing and one head weight renamed: the exporter
   must refuse it and name both keys.

Run it with a Python that has torch, ONNX, ONNX Runtime, onnxconverter-common and what
4D-Humans imports (not the project's .venv; see models/TOOLS.md), given a checkout of
4D-Humans' source (the ``hmr2`` package is imported from it, not installed)::

    python models/verify_hmr2_export.py --source ~/src/4D-Humans --work /tmp/hmr2-verify

It prints the figures and writes them to ``WORK/summary.json``; the exported files stay in
``WORK/exports``. Exit status 0 when every step passed. Not run in CI (it needs torch, the
4D-Humans source and about 8 GB of memory and 12 GB of disk).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

MODELS = Path(__file__).resolve().parent
ROOT = MODELS.parent
EXPORTER = MODELS / "export_hmr2.py"
OUTPUT_NAMES = ("global_orient", "body_pose", "betas", "pred_cam")
CKPT_REL = Path("logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt")
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
V, F = 6890, 13776
VARIANTS = {"fp32": [], "square": ["--square-input"], "fp16": ["--fp16"]}
# one dropped backbone weight and one renamed head weight, for the refusal check
DROPPED_KEY = "backbone.blocks.31.mlp.fc2.bias"
RENAMED_KEY = ("smpl_head.decshape.weight", "smpl_head.dec_shape.weight")

# HMR2.0's configuration, as 4D-Humans' experiment config `hmr_vit_transformer` and its
# defaults give it (paths relative to the 4D-Humans cache folder, as update_cachedir wants).
MODEL_CONFIG_YAML = """\
EXTRA:
  FOCAL_LENGTH: 5000
  NUM_LOG_IMAGES: 4
  NUM_LOG_SAMPLES_PER_IMAGE: 8
  PELVIS_IND: 39
LOSS_WEIGHTS:
  ADVERSARIAL: 0.0005
  BETAS: 0.0005
  BODY_POSE: 0.001
  GLOBAL_ORIENT: 0.001
  KEYPOINTS_2D: 0.01
  KEYPOINTS_3D: 0.05
MODEL:
  BACKBONE:
    TYPE: vit
  IMAGE_MEAN: [0.485, 0.456, 0.406]
  IMAGE_SIZE: 256
  IMAGE_STD: [0.229, 0.224, 0.225]
  SMPL_HEAD:
    IN_CHANNELS: 2048
    TRANSFORMER_DECODER:
      context_dim: 1280
      depth: 6
      dim_head: 64
      dropout: 0.0
      emb_dropout: 0.0
      heads: 8
      mlp_dim: 1024
      norm: layer
    TYPE: transformer_decoder
SMPL:
  GENDER: neutral
  JOINT_REGRESSOR_EXTRA: data/SMPL_to_J19.pkl
  MEAN_PARAMS: data/smpl_mean_params.npz
  MODEL_PATH: data/smpl
  NUM_BODY_JOINTS: 23
TRAIN:
  BATCH_SIZE: 48
  LR: 1.0e-05
  WEIGHT_DECAY: 0.0001
"""


# ---------------------------------------------------------------------------------------
# Synthetic data in 4D-Humans' cache layout
# ---------------------------------------------------------------------------------------


def write_smpl_data(cache: Path, seed: int = 0) -> None:
    """SMPL_NEUTRAL.pkl, SMPL_to_J19.pkl and smpl_mean_params.npz with the official layouts.

    The SMPL fields have the official names, shapes and dtypes (the neutral model of the
    SMPLify site has 10 shape components); ``J_regressor`` is a scipy CSC matrix as in the
    official file. ``shapedirs`` is a plain array here (a chumpy object in the official file).
    """
    import numpy as np
    import scipy.sparse

    rng = np.random.default_rng(seed)
    rest = np.zeros((24, 3))
    for j in range(1, 24):
        rest[j] = rest[SMPL_PARENTS[j]] + rng.normal(0, 0.12, 3)
    owner = rng.integers(0, 24, size=V)
    v_template = rest[owner] + rng.normal(0, 0.05, (V, 3))
    weights = np.zeros((V, 24))
    weights[np.arange(V), owner] = 1.0
    J_regressor = np.zeros((24, V))
    for j in range(24):
        members = np.flatnonzero(owner == j)
        J_regressor[j, members[:8]] = 1.0 / len(members[:8])
    kintree = np.array([[4294967295] + SMPL_PARENTS[1:], list(range(24))], dtype=np.int64)
    smpl = {
        "v_template": v_template,
        "f": rng.integers(0, V, size=(F, 3)).astype(np.uint32),
        "shapedirs": rng.normal(0, 0.01, (V, 3, 10)),
        "posedirs": rng.normal(0, 0.01, (V, 3, 207)),
        "J_regressor": scipy.sparse.csc_matrix(J_regressor),
        "weights": weights,
        "kintree_table": kintree,
        "J": J_regressor @ v_template,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    (cache / "data" / "smpl").mkdir(parents=True, exist_ok=True)
    with open(cache / "data" / "smpl" / "SMPL_NEUTRAL.pkl", "wb") as f:
        pickle.dump(smpl, f)
    j19 = np.zeros((19, V))
    for j in range(19):
        j19[j, rng.choice(V, 6, replace=False)] = 1.0 / 6
    with open(cache / "data" / "SMPL_to_J19.pkl", "wb") as f:
        pickle.dump(j19, f)
    # mean pose in the 6D representation (first two columns of each rotation): the root
    # turned 180 degrees about x (upright, facing the camera), the joints near identity
    pose = np.tile([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], (24, 1))
    pose[0] = [1.0, 0.0, 0.0, 0.0, -1.0, 0.0]
    pose[1:] += rng.normal(0, 0.05, (23, 6))
    np.savez(cache / "data" / "smpl_mean_params.npz", pose=pose.reshape(144), shape=rng.normal(0, 0.3, 10),
             cam=np.array([0.9, 0.0, 0.0]))


# ---------------------------------------------------------------------------------------
# Steps that run in child processes (each imports 4D-Humans with the private $HOME)
# ---------------------------------------------------------------------------------------


def step_build(cache: Path, seed: int) -> dict:
    """HMR2 from 4D-Humans' class with random weights, saved as a Lightning checkpoint."""
    import pytorch_lightning as pl
    import torch
    from hmr2.configs import get_config
    from hmr2.models import HMR2

    torch.manual_seed(seed)
    cfg_path = cache / CKPT_REL.parent.parent / "model_config.yaml"
    cfg = get_config(str(cfg_path), update_cachedir=True)
    cfg.defrost()
    cfg.MODEL.BBOX_SHAPE = [192, 256]  # what load_hmr2 adds for the ViT backbone
    cfg.freeze()
    t = time.monotonic()
    model = HMR2(cfg, init_renderer=False)
    build_s = time.monotonic() - t
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    sizes = {"backbone_params": count(model.backbone), "head_params": count(model.smpl_head),
             "all_params": count(model)}
    # The keys Lightning's checkpoint connector writes; hyper_parameters as save_hyperparameters
    # stores them (the CfgNode itself, init_renderer ignored).
    ckpt = {"epoch": 35, "global_step": 1000000, "pytorch-lightning_version": pl.__version__,
            "state_dict": model.state_dict(), "loops": {}, "callbacks": {}, "optimizer_states": [],
            "lr_schedulers": [], "hparams_name": "kwargs", "hyper_parameters": {"cfg": cfg}}
    path = cache / CKPT_REL
    path.parent.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    torch.save(ckpt, str(path))
    sizes.update(build_s=round(build_s, 1), save_s=round(time.monotonic() - t, 1), ckpt_bytes=path.stat().st_size)
    # the refusal check's checkpoint: one backbone weight dropped, one head weight renamed
    sd = dict(ckpt["state_dict"])
    del sd[DROPPED_KEY]
    sd[RENAMED_KEY[1]] = sd.pop(RENAMED_KEY[0])
    bad = cache / "bad" / "checkpoints" / "bad.ckpt"
    bad.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(ckpt, state_dict=sd), str(bad))
    (bad.parent.parent / "model_config.yaml").write_text(cfg_path.read_text())
    return sizes


def step_load_hmr2(cache: Path) -> dict:
    """4D-Humans' own load_hmr2 on the checkpoint; reports the outcome, and on success that
    the loaded backbone and head weights are the checkpoint's."""
    import torch
    from hmr2.models import load_hmr2

    t = time.monotonic()
    try:
        model, _ = load_hmr2(str(cache / CKPT_REL))
    except Exception as e:  # reported, not fatal: the exporter does not use this path
        return {"ok": False, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
    sd = torch.load(str(cache / CKPT_REL), map_location="cpu", weights_only=False, mmap=True)["state_dict"]
    mine = model.state_dict()
    same = all(torch.equal(mine[k], v) for k, v in sd.items() if k.startswith(("backbone.", "smpl_head.")))
    return {"ok": same, "seconds": round(time.monotonic() - t, 1), "weights_equal": same,
            "renderer": type(getattr(model, "mesh_renderer", None)).__name__}


def step_compare(cache: Path, exports: dict, n: int, seed: int) -> dict:
    """HMR2.forward_step (4D-Humans' code, checkpoint weights) vs ONNX Runtime per export."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from hmr2.configs import get_config
    from hmr2.models import HMR2

    cfg = get_config(str(cache / CKPT_REL.parent.parent / "model_config.yaml"), update_cachedir=True)
    model = HMR2(cfg, init_renderer=False)
    sd = torch.load(str(cache / CKPT_REL), map_location="cpu", weights_only=False, mmap=True)["state_dict"]
    model.load_state_dict(sd, strict=True)
    del sd
    model.eval()
    rng = np.random.default_rng(seed)
    # normalised crops: noise, and smooth image-like patterns
    noise = rng.normal(0, 1, (n // 2, 3, 256, 256))
    yy, xx = np.meshgrid(np.linspace(-1, 1, 256), np.linspace(-1, 1, 256), indexing="ij")
    smooth = np.stack([[np.cos(4 * xx * (k + 1) + c) * np.sin(3 * yy - k) * 1.8 for c in range(3)]
                       for k in range(n - n // 2)])
    crops = np.concatenate([noise, smooth]).astype(np.float32)
    with torch.no_grad():
        t = time.monotonic()
        out = model.forward_step({"img": torch.from_numpy(crops)}, train=False)
        torch_s = time.monotonic() - t
    p = out["pred_smpl_params"]
    want = [p["global_orient"].numpy(), p["body_pose"].numpy(), p["betas"].numpy(), out["pred_cam"].numpy()]
    result = {"crops": n, "torch_forward_s_per_crop": round(torch_s / n, 2), "exports": {}}
    for name, path in exports.items():
        t = time.monotonic()
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        load_s = time.monotonic() - t
        width = sess.get_inputs()[0].shape[3]
        x = crops if width == 256 else np.ascontiguousarray(crops[:, :, :, 32:224])
        t = time.monotonic()
        got = sess.run(list(OUTPUT_NAMES), {"image": x})
        run_s = time.monotonic() - t
        diffs = {}
        for o, g, w in zip(OUTPUT_NAMES, got, want):
            diffs[o] = float(np.abs(g - w.reshape(g.shape)).max())
        R = np.concatenate([got[0], got[1]], 1).astype(np.float64)
        ortho = float(np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3)).max())
        result["exports"][name] = {"input": sess.get_inputs()[0].shape, "max_abs_diff": diffs,
                                   "rotation_orthonormality_err": ortho, "ort_load_s": round(load_s, 1),
                                   "ort_s_per_crop": round(run_s / n, 2)}
        del sess  # one session in memory at a time
    return result


def step_cross_dim(cache: Path) -> dict:
    """4D-Humans' SMPL head alone (real code, small: no backbone) exported with a dynamic
    batch, without and with the exporter's explicit cross dim; the fixed export is compared
    with eager torch on another batch size."""
    import contextlib
    import inspect
    import io
    import warnings

    import numpy as np
    import onnxruntime as ort
    import torch
    from hmr2.configs import get_config
    from hmr2.models.heads import build_smpl_head

    sys.path.insert(0, str(MODELS))
    import export_hmr2

    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    cfg = get_config(str(cache / CKPT_REL.parent.parent / "model_config.yaml"), update_cachedir=True)
    head = build_smpl_head(cfg).eval()

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.head = head

        def forward(self, feats):
            params, cam, _ = self.head(feats)
            return params["global_orient"], params["body_pose"], cam

    kwargs = dict(input_names=["feats"], output_names=["go", "pose", "cam"], opset_version=17,
                  dynamic_axes={n: {0: "batch"} for n in ("feats", "go", "pose", "cam")})
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    res = {}
    for fixed in (False, True):
        buf = io.BytesIO()
        try:
            with torch.no_grad(), (export_hmr2.explicit_cross_dim() if fixed else contextlib.nullcontext()):
                torch.onnx.export(Head(), (torch.randn(2, 1280, 16, 12),), buf, **kwargs)
        except Exception as e:
            res["with_fix" if fixed else "without_fix"] = f"export failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
            continue
        x = torch.randn(5, 1280, 16, 12)
        got = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"]).run(None, {"feats": x.numpy()})
        with torch.no_grad():
            want = Head()(x)
        diff = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))
        res["with_fix" if fixed else "without_fix"] = f"exported; ONNX Runtime vs eager torch, batch 5: max abs diff {diff:.1e}"
        if fixed:
            res["max_abs_diff"] = diff
    res["ok"] = res.get("max_abs_diff", 1.0) <= 1e-4
    return res


# ---------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------


def run_child(argv: list, env: dict, log: Path) -> tuple[int, float, float, str]:
    """Runs a child, its output to log and to our stdout; returns (rc, seconds, peak GB, output)."""
    t = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in proc.stdout:
            f.write(line)
            sys.stdout.write("    | " + line)
            sys.stdout.flush()
            lines.append(line)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.monotonic() - t, usage.ru_maxrss / 1024 ** 2, "".join(lines)


def child_step(args) -> int:
    cache = Path(args.cache)
    if args.step == "build":
        res = step_build(cache, args.seed)
    elif args.step == "load_hmr2":
        res = step_load_hmr2(cache)
    elif args.step == "cross_dim":
        res = step_cross_dim(cache)
    else:
        res = step_compare(cache, json.loads(args.exports), args.crops, args.seed)
    print("RESULT " + json.dumps(res))
    return 0


def result_of(output: str) -> dict | None:
    for line in output.splitlines()[::-1]:
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return None


def versions(python: str) -> dict:
    code = ("import json, importlib.metadata as m\n"
            "out = {}\n"
            "for p in ('torch', 'pytorch-lightning', 'timm', 'smplx', 'onnx', 'onnxruntime', 'onnxconverter-common',"
            " 'numpy', 'yacs', 'einops', 'pyrender'):\n"
            "    try: out[p] = m.version(p)\n"
            "    except m.PackageNotFoundError: out[p] = None\n"
            "print(json.dumps(out))")
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", help="a checkout of 4D-Humans' source (the folder holding hmr2/)")
    ap.add_argument("--work", help="work folder: private $HOME, checkpoint, exports, logs, summary.json")
    ap.add_argument("--variants", default="fp32,square,fp16", help="comma-separated: fp32, square, fp16")
    ap.add_argument("--crops", type=int, default=4, help="crops for the independent comparison (default 4)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="passed to the exporter (0: torch's default)")
    ap.add_argument("--skip-load-hmr2", action="store_true", help="skip step 3 (4D-Humans' own load_hmr2)")
    ap.add_argument("--skip-refusal", action="store_true", help="skip step 8 (the mismatched checkpoint)")
    ap.add_argument("--skip-cross-dim", action="store_true", help="skip step 4 (the SMPL head's cross dim)")
    ap.add_argument("--skip-check", action="store_true", help="skip step 7 (models/check)")
    ap.add_argument("--source-commit", help="the source's commit, recorded in the summary (default: git rev-parse)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the checkpoint already in WORK (skip step 2) and the summary's earlier steps")
    # internal: one step in a child process
    ap.add_argument("--step", choices=["build", "load_hmr2", "cross_dim", "compare"], help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    ap.add_argument("--exports", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.step:
        return child_step(args)
    if not args.source or not args.work:
        ap.error("--source and --work are required")
    source = Path(args.source).resolve()
    if not (source / "hmr2" / "models" / "hmr2.py").is_file():
        ap.error(f"{source} is not a 4D-Humans checkout (no hmr2/models/hmr2.py)")
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            ap.error(f"unknown variant {v!r}")

    work = Path(args.work).resolve()
    home = work / "home"
    cache = home / ".cache" / "4DHumans"
    logs = work / "logs"
    exports_dir = work / "exports"
    for d in (cache, logs, exports_dir):
        d.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home), PYTHONPATH=os.pathsep.join(
        [str(source)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    me = [sys.executable, str(Path(__file__).resolve())]
    src_rev = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True)
    summary = {"python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
               "versions": versions(sys.executable),
               "source": str(source), "source_commit": args.source_commit or src_rev.stdout.strip() or None, "steps": {}}
    if args.reuse and (work / "summary.json").is_file():  # steps run now replace their earlier entries
        summary["steps"] = json.loads((work / "summary.json").read_text()).get("steps", {})
    print(f"versions: {summary['versions']}")
    failures = []

    def record(name, rc, secs, peak, out, ok, **extra):
        summary["steps"][name] = {"rc": rc, "seconds": round(secs, 1), "peak_rss_gb": round(peak, 2), "ok": ok,
                                  **extra}
        print(f"== {name}: {'ok' if ok else 'FAILED'} ({secs:.0f} s, peak {peak:.1f} GB)", flush=True)
        if not ok:
            failures.append(name)
        (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    # 1 + 2: data, config, random full-size model, checkpoint
    (cache / CKPT_REL.parent.parent).mkdir(parents=True, exist_ok=True)
    (cache / CKPT_REL.parent.parent / "model_config.yaml").write_text(MODEL_CONFIG_YAML)
    write_smpl_data(cache, args.seed)
    if not (args.reuse and (cache / CKPT_REL).is_file()):
        print("== build: random full-size HMR2 from 4D-Humans' code, saved as a Lightning checkpoint", flush=True)
        rc, secs, peak, out = run_child(me + ["--step", "build", "--cache", str(cache), "--seed", str(args.seed)],
                                        env, logs / "build.log")
        res = result_of(out)
        record("build", rc, secs, peak, out, rc == 0 and res is not None, result=res)
        if rc != 0:
            return 1

    # 3: 4D-Humans' own loader
    if not args.skip_load_hmr2:
        print("== load_hmr2: 4D-Humans' own loader on the checkpoint (outcome reported, not required)", flush=True)
        rc, secs, peak, out = run_child(me + ["--step", "load_hmr2", "--cache", str(cache)], env,
                                        logs / "load_hmr2.log")
        res = result_of(out) or {"ok": False, "error": out.strip().splitlines()[-1:] if out.strip() else None}
        summary["steps"]["load_hmr2"] = {"rc": rc, "seconds": round(secs, 1), "peak_rss_gb": round(peak, 2),
                                         "result": res, "required": False}
        print(f"== load_hmr2: {res}", flush=True)

    # 4: the torch.cross fix, on 4D-Humans' SMPL head alone
    if not args.skip_cross_dim:
        print("== cross-dim: 4D-Humans' SMPL head alone, dynamic batch, without and with the explicit cross dim",
              flush=True)
        rc, secs, peak, out = run_child(me + ["--step", "cross_dim", "--cache", str(cache)], env, logs / "cross-dim.log")
        res = result_of(out)
        record("cross-dim", rc, secs, peak, out, rc == 0 and res is not None and res["ok"], result=res)

    # 5: the exporter
    exports = {}
    for v in variants:
        out_path = exports_dir / f"hmr2-{v}.onnx"
        argv_ = [sys.executable, str(EXPORTER), "--out", str(out_path), *VARIANTS[v]]
        if args.threads:
            argv_ += ["--threads", str(args.threads)]
        print(f"== export {v}: {' '.join(argv_[1:])}", flush=True)
        rc, secs, peak, out = run_child(argv_, env, logs / f"export-{v}.log")
        data = out_path.parent / (out_path.name + ".data")
        files = {p.name: {"bytes": p.stat().st_size, "mode": oct(p.stat().st_mode & 0o777)}
                 for p in (out_path, data) if p.is_file()}
        readable = all(int(f["mode"], 8) & 0o044 == 0o044 for f in files.values())
        ok = rc == 0 and "validation passed" in out and readable
        validation = [line.strip() for line in out.splitlines() if "max |onnx - torch|" in line]
        record(f"export-{v}", rc, secs, peak, out, ok, files=files, validation=validation,
               readable_by_others=readable)
        if rc == 0:
            exports[v] = str(out_path)

    # 6: independent comparison with 4D-Humans' forward_step
    if exports:
        print("== compare: HMR2.forward_step vs ONNX Runtime on each export", flush=True)
        rc, secs, peak, out = run_child(me + ["--step", "compare", "--cache", str(cache), "--exports",
                                              json.dumps(exports), "--crops", str(args.crops),
                                              "--seed", str(args.seed + 1)], env, logs / "compare.log")
        res = result_of(out)
        ok = rc == 0 and res is not None
        if ok:
            for v, r in res["exports"].items():
                tol = 5e-2 if v == "fp16" else 1e-3
                r["tolerance"] = tol
                r["ok"] = max(r["max_abs_diff"].values()) <= tol and r["rotation_orthonormality_err"] <= 10 * tol
                ok &= r["ok"]
        record("compare", rc, secs, peak, out, ok, result=res)

    # 7: models/check
    if not args.skip_check:
        for v, path in exports.items():
            r = subprocess.run([str(MODELS / "check"), path], capture_output=True, text=True)
            out = r.stdout + r.stderr
            print(f"== models/check {v}:\n" + "".join("    | " + line + "\n" for line in out.splitlines()), flush=True)
            (logs / f"check-{v}.log").write_text(out)
            record(f"check-{v}", r.returncode, 0, 0, out, r.returncode == 0 and "FITS" in out,
                   output=out.strip().splitlines())

    # 8: a checkpoint that does not match must be refused, naming the keys
    if not args.skip_refusal:
        bad = cache / "bad" / "checkpoints" / "bad.ckpt"
        argv_ = [sys.executable, str(EXPORTER), "--checkpoint", str(bad), "--out", str(work / "bad.onnx"),
                 "--no-validate"]
        print("== refusal: exporter on a checkpoint with a missing backbone and a renamed head weight", flush=True)
        rc, secs, peak, out = run_child(argv_, env, logs / "refusal.log")
        named = all(k in out for k in (DROPPED_KEY, *RENAMED_KEY))
        record("refusal", rc, secs, peak, out, rc != 0 and named and not (work / "bad.onnx").exists(),
               message=[line for line in out.splitlines() if "export_hmr2:" in line])

    failures = [name for name, step in summary["steps"].items() if step.get("ok") is False]
    summary["failures"] = failures
    (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"summary: {work / 'summary.json'}")
    print("RESULT: " + ("all steps passed" if not failures else "FAILED: " + ", ".join(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
