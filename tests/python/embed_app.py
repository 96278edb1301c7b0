#!/usr/bin/env python3
"""An ordinary GStreamer application in Python (PyGObject) that embeds the project's two
elements in its own pipeline, with the plugins found through GST_PLUGIN_PATH:

    filesrc ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=RGBA
        ! hmr2pose ! meshoverlay ! appsink

It pulls every frame from the appsink, reads the hmr2 pose metadata from each buffer
(Gst.Buffer.get_custom_meta("Hmr2PoseMeta").get_structure(), GBytes arrays decoded with
numpy), checks shapes and rotation validity, checks that meshoverlay drew on frames with
people, reads both elements' `stats` properties, and prints a JSON summary on stdout.
Any violation raises, so the exit code tells the Rust test whether it held.
"""
import argparse
import json
import sys

import os

import gi
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "hmr2-meta", "python"))
import hmr2_meta  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import Gst, GstApp  # noqa: E402,F401


def _read_checked(buf):
    poses = hmr2_meta.read(buf)
    if poses is None:
        raise AssertionError(f"buffer at {buf.pts} carries no {hmr2_meta.META_NAME}")
    return poses.frame_width, poses.frame_height, poses.arrays


def read_poses(buf, width, height):
    meta_width, meta_height, arrays = _read_checked(buf)
    if (meta_width, meta_height) != (width, height):
        raise AssertionError("meta frame size differs from the caps")
    n = len(arrays["scores"])
    if n and not np.isfinite(arrays["cam-t"]).all():
        raise AssertionError("cam-t not finite")
    if n and (arrays["focal-length"] <= 0).any():
        raise AssertionError("focal length not positive")
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clip")
    ap.add_argument("--frames", type=int, required=True, help="frames the clip has")
    args = ap.parse_args()

    Gst.init(None)
    for factory in ("hmr2pose", "meshoverlay"):
        if Gst.ElementFactory.find(factory) is None:
            raise SystemExit(f"element {factory} not found: is GST_PLUGIN_PATH set?")

    pipeline = Gst.parse_launch(
        "filesrc name=src ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! "
        "video/x-raw,format=RGBA ! hmr2pose name=pose batch-size=4 ! "
        "meshoverlay name=overlay ! appsink name=sink sync=false"
    )
    pipeline.get_by_name("src").set_property("location", args.clip)
    overlay = pipeline.get_by_name("overlay")
    sink = pipeline.get_by_name("sink")

    # Checksums of the frames as they enter meshoverlay, to see that it drew.
    before = {}

    def on_overlay_input(pad, info):
        buf = info.get_buffer()
        ok, m = buf.map(Gst.MapFlags.READ)
        if ok:
            before[buf.pts] = int(np.frombuffer(m.data, dtype=np.uint8).sum(dtype=np.uint64))
            buf.unmap(m)
        return Gst.PadProbeReturn.OK

    overlay.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_overlay_input)

    pipeline.set_state(Gst.State.PLAYING)
    frames = persons = drawn = with_people = 0
    last_pts = -1
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        buf = sample.get_buffer()
        caps = sample.get_caps().get_structure(0)
        width, height = caps.get_value("width"), caps.get_value("height")
        n = read_poses(buf, width, height)
        if buf.pts <= last_pts:
            raise AssertionError("timestamps not increasing")
        last_pts = buf.pts
        frames += 1
        persons += n
        if n:
            with_people += 1
            ok, m = buf.map(Gst.MapFlags.READ)
            after = int(np.frombuffer(m.data, dtype=np.uint8).sum(dtype=np.uint64))
            buf.unmap(m)
            if before.get(buf.pts) is not None and before[buf.pts] != after:
                drawn += 1

    msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    stats_pose = pipeline.get_by_name("pose").get_property("stats")
    stats_overlay = overlay.get_property("stats")
    pipeline.set_state(Gst.State.NULL)
    if msg is not None:
        err, debug = msg.parse_error()
        raise SystemExit(f"pipeline error: {err.message} ({debug})")
    if frames != args.frames:
        raise AssertionError(f"{frames} frames out, expected {args.frames}")
    if with_people and drawn == 0:
        raise AssertionError("meshoverlay changed no frame that had people")
    print(json.dumps({
        "frames": frames,
        "persons": persons,
        "frames_with_people": with_people,
        "frames_drawn": drawn,
        "pose_stats_frames": stats_pose.get_value("frames") if stats_pose else None,
        "overlay_stats": stats_overlay.to_string() if stats_overlay else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
