#!/usr/bin/env python3
"""Generate ``models/person-detector-test.onnx``: a TEST person detector in the layout of an
Ultralytics YOLOv8/YOLO11 ONNX export.

THIS DETECTOR DETECTS NOTHING REAL. It sees red and blue patches, which makes the detector
path of ``hmr2pose`` (letterbox, decoding, class choice, threshold, non-maximum
suppression, mapping back to the frame) testable with exact, hand-checkable answers.

Interface (that of a YOLOv8 export with 2 classes):

=========  =======  ===============  ===================================================
name       dtype    shape            meaning
=========  =======  ===============  ===================================================
images     float32  [1,3,640,640]    letterboxed RGB in [0, 1], planar
output0    float32  [1,6,400]        per candidate: cx, cy, w, h (input pixels), then the
                                     scores of class 0 (person) and class 1 (other)
=========  =======  ===============  ===================================================

Graph: the input is cut into a 20x20 grid of 32x32 cells, one candidate per cell (row-major).
A candidate's box is centred on its cell, 64 wide and 128 high. Its class-0 score is the
cell's mean red, its class-1 score the cell's mean blue. So a red patch covering one cell
gives one person; a blue patch gives a candidate whose best class is not a person.

Usage: ``python models/gen_test_detector.py [--out models/person-detector-test.onnx]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
OPSET = 17
IR_VERSION = 8
SIDE = 640
CELL = 32
GRID = SIDE // CELL
BOX_W, BOX_H = 64.0, 128.0


def candidate_boxes() -> np.ndarray:
    """[1, 4, GRID*GRID]: cx, cy, w, h of every cell's candidate, cells row-major."""
    centres = np.arange(GRID, dtype=np.float32) * CELL + CELL / 2
    cy, cx = np.meshgrid(centres, centres, indexing="ij")
    n = GRID * GRID
    boxes = np.stack([cx.reshape(n), cy.reshape(n), np.full(n, BOX_W), np.full(n, BOX_H)])
    return boxes.astype(np.float32)[None]


def build() -> onnx.ModelProto:
    n = GRID * GRID
    inits = [
        numpy_helper.from_array(candidate_boxes(), "boxes"),
        numpy_helper.from_array(np.array([0], np.int64), "red_start"),
        numpy_helper.from_array(np.array([1], np.int64), "red_end"),
        numpy_helper.from_array(np.array([2], np.int64), "blue_start"),
        numpy_helper.from_array(np.array([3], np.int64), "blue_end"),
        numpy_helper.from_array(np.array([1], np.int64), "channel_axis"),
        numpy_helper.from_array(np.array([1, 1, n], np.int64), "score_shape"),
    ]
    nodes = []
    for colour in ("red", "blue"):
        nodes += [
            helper.make_node("Slice", ["images", f"{colour}_start", f"{colour}_end", "channel_axis"], [f"{colour}"]),
            helper.make_node("AveragePool", [colour], [f"{colour}_cells"], kernel_shape=[CELL, CELL], strides=[CELL, CELL]),
            helper.make_node("Reshape", [f"{colour}_cells", "score_shape"], [f"{colour}_score"]),
        ]
    nodes.append(helper.make_node("Concat", ["boxes", "red_score", "blue_score"], ["output0"], axis=1))
    graph = helper.make_graph(
        nodes,
        "person_detector_test",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, n])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="hmr2-gst models/gen_test_detector.py",
        doc_string="TEST person detector in the YOLOv8 layout: class 0 = mean red of a 32x32 cell, "
        "class 1 = mean blue; boxes 64x128 centred on the cells. Detects nothing real.",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "person-detector-test.onnx")
    args = parser.parse_args(argv)
    model = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(model.SerializeToString())

    # Check with ONNX Runtime: one red cell is the best person candidate.
    import onnxruntime as ort

    image = np.zeros((1, 3, SIDE, SIDE), np.float32)
    image[0, 0, 5 * CELL:6 * CELL, 7 * CELL:8 * CELL] = 1.0
    (out,) = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"]).run(None, {"images": image})
    best = int(np.argmax(out[0, 4]))
    assert out.shape == (1, 6, GRID * GRID) and best == 5 * GRID + 7, (out.shape, best)
    assert np.allclose(out[0, :4, best], [7 * CELL + 16, 5 * CELL + 16, BOX_W, BOX_H])
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
