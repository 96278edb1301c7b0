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

import os

import gi

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "hmr2-meta", "python"))
import hmr2_meta  # noqa: E402

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def _read_checked(buf):
    poses = hmr2_meta.read(buf)
    if poses is None:
        raise AssertionError(f"buffer at {buf.pts} carries no {hmr2_meta.META_NAME}")
    return poses.frame_width, poses.frame_height, poses.arrays


def read_frame(buf):
    width, height, arrays = _read_checked(buf)
    frame = {
        "pts": buf.pts,
        "frame_width": width,
        "frame_height": height,
        "num_persons": len(arrays["scores"]),
    }
    frame.update({field: arr.tolist() for field, arr in arrays.items()})
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
