#!/usr/bin/env python3
"""Time the converted BlazePose models with ONNX Runtime (and the TFLite originals for scale).

    .venv/bin/python models/open_models/bench.py [--runs 50] [--threads 1 2] [--batch 1 4]

For every converted model in .deps/models it prints milliseconds per crop for each thread
count and batch size; for pose_landmark_full it also times the graph with all five TFLite
outputs (segmentation and heatmap kept, converted in memory) to show what dropping them saves.
Figures depend on the machine and its load: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from open_models import blazepose as bp  # noqa: E402


def time_call(fn, runs: int) -> float:
    """Median seconds of `runs` calls after 5 warm-up calls."""
    for _ in range(5):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def ort_session(model: bytes | str, threads: int):
    import onnxruntime as ort  # noqa: PLC0415

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--no-tflite", action="store_true", help="skip timing the TFLite originals")
    args = ap.parse_args(argv)
    import onnxruntime as ort  # noqa: PLC0415

    rng = np.random.default_rng(0)
    print(f"ONNX Runtime {ort.__version__}; median of {args.runs} runs; ms per crop")
    rows = []
    for name, target in bp.TARGETS.items():
        path = bp.onnx_path(target)
        if not path.exists():
            continue
        size = 224 if name == "pose_detection" else 256
        for threads in args.threads:
            sess = ort_session(str(path), threads)
            for batch in args.batch:
                x = rng.random((batch, 3, size, size), dtype=np.float32)
                sec = time_call(lambda: sess.run(None, {"image": x}), args.runs)
                rows.append((f"{name} (ONNX)", threads, batch, 1000 * sec / batch))
        if name == "pose_landmark_full":
            from open_models import tflite_to_onnx as t2o  # noqa: PLC0415

            model = t2o.read_tflite(bp.tflite_path(target))
            every = {model.tensors[i].name: model.tensors[i].name for i in model.outputs}
            full = t2o.convert(model, {"input_1": "image"}, every, graph_name="all_outputs").SerializeToString()
            for threads in args.threads:
                sess = ort_session(full, threads)
                x = rng.random((1, 3, 256, 256), dtype=np.float32)
                sec = time_call(lambda: sess.run(None, {"image": x}), args.runs)
                rows.append(("pose_landmark_full, all 5 outputs (ONNX)", threads, 1, 1000 * sec))
        if not args.no_tflite:
            try:
                from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415
            except ImportError:
                continue
            for threads in args.threads:
                it = Interpreter(model_path=str(bp.tflite_path(target)), num_threads=threads)
                it.allocate_tensors()
                inp = it.get_input_details()[0]
                it.set_tensor(inp["index"], rng.random(tuple(inp["shape"]), dtype=np.float32))
                sec = time_call(it.invoke, args.runs)
                rows.append((f"{name} (TFLite, XNNPACK)", threads, 1, 1000 * sec))
    print(f"{'model':44s} {'threads':>7} {'batch':>5} {'ms/crop':>8}")
    for r in rows:
        print(f"{r[0]:44s} {r[1]:7d} {r[2]:5d} {r[3]:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
