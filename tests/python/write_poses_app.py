#!/usr/bin/env python3
"""A Python application with its own estimator: it attaches poses with the shipped module
(hmr2-meta/python/hmr2_meta.py) to frames it makes itself and lets `meshoverlay` draw them:

    appsrc (grey RGBA frames + Hmr2PoseMeta written in Python) ! meshoverlay ! appsink

Frames alternate between one upright person in the middle and no person. It checks that
meshoverlay drew on every frame with a person and on none without, that the poses read back
equal the poses written, and prints a JSON summary.
"""
import json
import os
import sys

import gi
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "hmr2-meta", "python"))
import hmr2_meta  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import Gst, GstApp  # noqa: E402,F401

WIDTH, HEIGHT, FRAMES, GREY = 320, 240, 6, 96
# 180 degrees about x: an upright person facing the camera in the OpenCV camera frame.
UPRIGHT = np.diag([1.0, -1.0, -1.0])


def poses_for(index):
    if index % 2:
        return hmr2_meta.Poses.empty(WIDTH, HEIGHT, 0)
    poses = hmr2_meta.Poses.empty(WIDTH, HEIGHT, 1)
    focal = 5000.0 / 256.0 * max(WIDTH, HEIGHT)
    poses.arrays["global-orient"][0] = UPRIGHT
    poses.arrays["focal-length"][0] = focal
    # About 1.7 m tall over 180 px: depth f * 1.7 / 180.
    poses.arrays["cam-t"][0] = (0.0, 0.2, focal * 1.7 / 180.0)
    poses.arrays["boxes"][0] = (110, 30, 210, 210)
    poses.arrays["track-ids"][0] = 3
    return poses


def main():
    Gst.init(None)
    if Gst.ElementFactory.find("meshoverlay") is None:
        raise SystemExit("element meshoverlay not found: is GST_PLUGIN_PATH set?")
    pipeline = Gst.parse_launch(
        f"appsrc name=src format=time caps=video/x-raw,format=RGBA,width={WIDTH},height={HEIGHT},"
        "framerate=30/1 ! meshoverlay ! appsink name=sink sync=false"
    )
    src, sink = pipeline.get_by_name("src"), pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    written = []
    for i in range(FRAMES):
        buf = Gst.Buffer.new_wrapped(bytes([GREY]) * (WIDTH * HEIGHT * 4))
        buf.pts = i * Gst.SECOND // 30
        buf.duration = Gst.SECOND // 30
        poses = poses_for(i)
        hmr2_meta.write(buf, poses)
        written.append(poses)
        if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
            raise SystemExit(f"push-buffer failed at frame {i}")
    src.emit("end-of-stream")

    summary = []
    for i in range(FRAMES):
        sample = sink.emit("try-pull-sample", 10 * Gst.SECOND)
        if sample is None:
            raise AssertionError(f"frame {i} never came out")
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        pixels = np.frombuffer(info.data, dtype=np.uint8).reshape(HEIGHT, WIDTH, 4)
        changed = int((np.abs(pixels[..., :3].astype(int) - GREY).max(axis=2) > 8).sum())
        buf.unmap(info)
        back = hmr2_meta.read(buf)
        if back is None:
            raise AssertionError(f"frame {i} lost its poses")
        for name, arr in written[i].arrays.items():
            if not np.array_equal(np.asarray(arr, dtype=back.arrays[name].dtype), back.arrays[name]):
                raise AssertionError(f"frame {i}: {name} read back differs")
        persons = back.num_persons
        if persons and changed < 1000:
            raise AssertionError(f"frame {i}: a person was written but only {changed} pixels changed")
        if not persons and changed:
            raise AssertionError(f"frame {i}: nobody was written but {changed} pixels changed")
        summary.append({"pts": buf.pts, "persons": persons, "changed_pixels": changed})
    pipeline.set_state(Gst.State.NULL)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
