#!/usr/bin/env python3
"""Reads the hmr2 pose metadata from a pipeline with PyGObject alone, without linking any of
the project's code: the proof that applications in Python (or C) can use the contract.

Runs `videotestsrc ! hmr2pose ! appsink`, decodes every documented field of the
`Hmr2PoseMeta` custom meta with numpy, checks the layout, and prints one JSON object per
frame on stdout, which the Rust side compares with its own reader.
"""
import argparse
import json
import sys

import gi
import numpy as np

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

META_NAME = "Hmr2PoseMeta"
STRUCTURE_NAME = "hmr2-pose"
# field: (dtype, shape of one person's row)
ARRAYS = {
    "boxes": ("<f4", (4,)),
    "scores": ("<f4", ()),
    "track-ids": ("<i8", ()),
    "global-orient": ("<f4", (3, 3)),
    "body-pose": ("<f4", (23, 3, 3)),
    "betas": ("<f4", (10,)),
    "pred-cam": ("<f4", (3,)),
    "cam-t": ("<f4", (3,)),
    "focal-length": ("<f4", ()),
    "principal-point": ("<f4", (2,)),
}


def read_frame(buf):
    meta = buf.get_custom_meta(META_NAME)
    if meta is None:
        raise AssertionError(f"buffer at {buf.pts} carries no {META_NAME}")
    s = meta.get_structure()
    assert s.get_name() == STRUCTURE_NAME, s.get_name()
    assert s.get_value("version") == 1, s.get_value("version")
    n = s.get_value("num-persons")
    frame = {
        "pts": buf.pts,
        "frame_width": s.get_value("frame-width"),
        "frame_height": s.get_value("frame-height"),
        "num_persons": n,
    }
    for field, (dtype, row_shape) in ARRAYS.items():
        data = s.get_value(field)
        assert data is not None, f"field {field} missing"
        arr = np.frombuffer(data.get_data(), dtype=dtype).reshape((n,) + row_shape)
        frame[field] = arr.tolist()
        if field in ("global-orient", "body-pose"):
            rots = arr.reshape(-1, 3, 3).astype(np.float64)
            eye = np.broadcast_to(np.eye(3), rots.shape)
            err = np.abs(np.einsum("nij,nkj->nik", rots, rots) - eye).max(initial=0.0)
            assert err < 1e-4, f"{field}: not rotation matrices (R R^T error {err})"
            dets = np.linalg.det(rots) if len(rots) else np.ones(1)
            assert np.allclose(dets, 1.0, atol=1e-4), f"{field}: det {dets}"
    return frame


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=3)
    args = ap.parse_args()

    Gst.init(None)
    if Gst.ElementFactory.find("hmr2pose") is None:
        sys.exit("hmr2pose not found: set GST_PLUGIN_PATH to the directory holding libgsthmr2.so")
    pipeline = Gst.parse_launch(
        f"videotestsrc num-buffers={args.frames} pattern=ball ! "
        "video/x-raw,format=RGBA,width=320,height=240,framerate=30/1 ! "
        f"hmr2pose batch-size={args.batch_size} ! appsink name=sink sync=false"
    )
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    frames = []
    while True:
        sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
        if sample is None:
            break
        frames.append(read_frame(sample.get_buffer()))
    bus = pipeline.get_bus()
    msg = bus.pop_filtered(Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg is not None:
        err, debug = msg.parse_error()
        sys.exit(f"pipeline error: {err.message} ({debug})")
    if len(frames) != args.frames:
        sys.exit(f"expected {args.frames} frames, got {len(frames)}")
    for frame in frames:
        print(json.dumps(frame))


if __name__ == "__main__":
    main()
