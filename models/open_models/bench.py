#!/usr/bin/env python3
"""Time the converted BlazePose models with ONNX Runtime (and the TFLite originals for scale).

    .venv/bin/python models/open_models/bench.py [--runs 50] [--threads 1 2] [--batch 1 4]

For every converted model in .deps/models it prints milliseconds per crop for each thread
count and batch size: the median and the fastest wall-clock time of the runs, and the
process CPU time (all threads). For pose_landmark_full it also times the graph with all five
TFLite outputs (segmentation and heatmap kept, converted in memory) to show what dropping
them saves. Figures depend on the machine and its load: on a busy machine the fastest run
and the CPU time say more than the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from open_models import blazepose as bp  # noqa: E402


def time_call(fn, runs: int) -> tuple[float, float, float]:
    """(median, fastest, CPU) seconds per call over `runs` calls after 5 warm-up calls."""
    for _ in range(5):
        fn()
    samples = []
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / runs
    return statistics.median(samples), min(samples), cpu


def ort_session(model: bytes | str, threads: int, spin: bool = True):
    import onnxruntime as ort  # noqa: PLC0415

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    if not spin:  # idle intra-op threads sleep instead of spinning (better on a busy machine)
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--no-tflite", action="store_true", help="skip timing the TFLite originals")
    ap.add_argument("--only", nargs="+", metavar="TARGET", help="time only these targets")
    ap.add_argument("--no-spin", action="store_true", help="ONNX Runtime threads sleep when idle")
    args = ap.parse_args(argv)
    import onnxruntime as ort  # noqa: PLC0415

    rng = np.random.default_rng(0)
    print(f"ONNX Runtime {ort.__version__}; {args.runs} runs each; load average {os.getloadavg()[0]:.1f}")
    rows = []
    for name, target in bp.TARGETS.items():
        path = bp.onnx_path(target)
        if not path.exists() or (args.only and name not in args.only):
            continue
        size = 224 if name == "pose_detection" else 256
        for threads in args.threads:
            sess = ort_session(str(path), threads, not args.no_spin)
            for batch in args.batch:
                x = rng.random((batch, 3, size, size), dtype=np.float32)
                t = time_call(lambda: sess.run(None, {"image": x}), args.runs)
                rows.append((f"{name} (ONNX)", threads, batch, [1000 * v / batch for v in t]))
        if name == "pose_landmark_full":
            from open_models import tflite_to_onnx as t2o  # noqa: PLC0415

            model = t2o.read_tflite(bp.tflite_path(target))
            every = {model.tensors[i].name: model.tensors[i].name for i in model.outputs}
            full = t2o.convert(model, {"input_1": "image"}, every, graph_name="all_outputs").SerializeToString()
            for threads in args.threads:
                sess = ort_session(full, threads, not args.no_spin)
                x = rng.random((1, 3, 256, 256), dtype=np.float32)
                t = time_call(lambda: sess.run(None, {"image": x}), args.runs)
                rows.append(("pose_landmark_full, all 5 outputs (ONNX)", threads, 1, [1000 * v for v in t]))
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
                t = time_call(it.invoke, args.runs)
                rows.append((f"{name} (TFLite, XNNPACK)", threads, 1, [1000 * v for v in t]))
    print(f"{'model':44s} {'threads':>7} {'batch':>5} {'median':>8} {'fastest':>8} {'CPU':>8}  (ms per crop)")
    for name, threads, batch, (med, fast, cpu) in rows:
        print(f"{name:44s} {threads:7d} {batch:5d} {med:8.2f} {fast:8.2f} {cpu:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
