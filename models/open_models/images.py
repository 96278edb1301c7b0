"""Reading photos and cutting the square, rotated person crop BlazePose's landmark model takes.

Conventions (MediaPipe's, see blazepose.py): a crop is a square of side `side` frame pixels
centred at (cx, cy), turned by `rotation` radians; crop pixel (col, row) of a size x size
crop samples the frame at
    (cx, cy) + side * R(rotation) @ ((col + 0.5) / size - 0.5, (row + 0.5) / size - 0.5),
with R = [[cos, -sin], [sin, cos]] in frame pixels (x right, y down; pixel centres at
i + 0.5). So rotation 0 is an axis-aligned crop, and a positive rotation turns the crop's
up direction from the frame's up towards the frame's right (clockwise on screen).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file (PNG, JPEG, ...) to uint8 RGB [H, W, 3] with GStreamer."""
    import gi  # noqa: PLC0415

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst  # noqa: PLC0415

    Gst.init(None)
    pipe = Gst.parse_launch(
        f'filesrc location="{path}" ! decodebin ! videoconvert ! video/x-raw,format=RGB '
        "! appsink name=sink sync=false")
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    try:
        sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
        err = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
        if sample is None or err is not None:
            detail = err.parse_error()[0].message if err is not None else "no picture"
            raise ValueError(f"{path}: cannot decode: {detail}")
        s = sample.get_caps().get_structure(0)
        w, h = s.get_value("width"), s.get_value("height")
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        try:
            stride = len(info.data) // h
            return np.frombuffer(info.data, np.uint8).reshape(h, stride)[:, : w * 3].reshape(h, w, 3).copy()
        finally:
            buf.unmap(info)
    finally:
        pipe.set_state(Gst.State.NULL)


def crop_points_to_frame(points_xy: np.ndarray, cx: float, cy: float, side: float, rotation: float,
                         size: int = 256) -> np.ndarray:
    """Crop pixel coordinates [..., 2] -> frame pixel coordinates (the crop's own mapping)."""
    p = np.asarray(points_xy, np.float64)
    u = p[..., 0] / size - 0.5
    v = p[..., 1] / size - 0.5
    c, s = math.cos(rotation), math.sin(rotation)
    return np.stack([cx + side * (c * u - s * v), cy + side * (s * u + c * v)], axis=-1)


def crop(frame_rgb: np.ndarray, cx: float, cy: float, side: float, rotation: float = 0.0,
         size: int = 256, border: str = "replicate") -> np.ndarray:
    """The landmark model's input: float32 [3, size, size] planar RGB in [0, 1].

    Bilinear sampling. Outside the frame: "replicate" repeats the edge pixels (what
    MediaPipe's CPU crop does by default), "zero" is black.
    """
    if border not in ("replicate", "zero"):
        raise ValueError(f"border {border!r}")
    g = np.arange(size) + 0.5
    cols, rows = np.meshgrid(g, g)
    fx, fy = np.moveaxis(crop_points_to_frame(np.stack([cols, rows], -1), cx, cy, side, rotation, size), -1, 0)
    sx, sy = fx - 0.5, fy - 0.5  # array index coordinates
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    ax, ay = (sx - x0)[..., None], (sy - y0)[..., None]
    h, w = frame_rgb.shape[:2]
    img = frame_rgb.astype(np.float64) / 255.0

    def px(yy, xx):
        v = img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        if border == "zero":
            v = v * ((xx >= 0) & (xx < w) & (yy >= 0) & (yy < h))[..., None]
        return v

    out = ((1 - ay) * (1 - ax) * px(y0, x0) + (1 - ay) * ax * px(y0, x0 + 1)
           + ay * (1 - ax) * px(y0 + 1, x0) + ay * ax * px(y0 + 1, x0 + 1))
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)
