#!/usr/bin/env python3
"""Run the converted BlazePose landmark model on one photo and show what it found.

    .venv/bin/python models/open_models/show_pose.py PHOTO --centre CX CY --side S [--rotation R]
        [--model .deps/models/pose_landmark_full.onnx] [--out /tmp/pose.png]

Cuts the square crop (images.py conventions), runs the model, prints every landmark (crop
pixels, frame pixels, world metres, visibility), the tracking points 33/34 next to the hips'
mid-point and the head, the world axes as measured against the crop's own axes, and the
next-frame crop MediaPipe would derive. With --out it writes a PNG of the frame with the
33 landmarks and the skeleton drawn (red: the body's left side, blue: right, green: middle)
and the crop square in yellow.
"""

from __future__ import annotations

import argparse
import math
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from open_models import blazepose as bp  # noqa: E402
from open_models import images  # noqa: E402

SKELETON = [(11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25),
            (25, 27), (24, 26), (26, 28), (27, 29), (29, 31), (27, 31), (28, 30), (30, 32), (28, 32),
            (15, 17), (15, 19), (15, 21), (16, 18), (16, 20), (16, 22), (0, 2), (0, 5), (2, 7), (5, 8),
            (9, 10)]


def write_png(path: Path, rgb: np.ndarray) -> None:
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def draw_line(img: np.ndarray, a, b, colour, width: float = 1.5) -> None:
    n = int(max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1) * 2)
    for t in np.linspace(0, 1, n + 1):
        draw_disc(img, (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])), width, colour)


def draw_disc(img: np.ndarray, c, r: float, colour) -> None:
    h, w = img.shape[:2]
    x0, x1 = max(int(c[0] - r - 1), 0), min(int(c[0] + r + 2), w)
    y0, y1 = max(int(c[1] - r - 1), 0), min(int(c[1] + r + 2), h)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    mask = (xx + 0.5 - c[0]) ** 2 + (yy + 0.5 - c[1]) ** 2 <= r * r
    img[y0:y1, x0:x1][mask] = colour


def side_colour(i: int):
    name = bp.POSE_LANDMARK_NAMES[i]
    return (255, 40, 40) if name.startswith("left") else (40, 120, 255) if name.startswith("right") else (40, 220, 40)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photo", type=Path)
    ap.add_argument("--centre", type=float, nargs=2, required=True, metavar=("CX", "CY"))
    ap.add_argument("--side", type=float, required=True)
    ap.add_argument("--rotation", type=float, default=0.0)
    ap.add_argument("--model", type=Path, default=bp.onnx_path(bp.TARGETS["pose_landmark_full"]))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)

    import onnxruntime as ort  # noqa: PLC0415

    frame = images.read_rgb(args.photo)
    (cx, cy), side, rot = args.centre, args.side, args.rotation
    x = images.crop(frame, cx, cy, side, rot)[None]
    sess = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    lm, presence, world = sess.run(["landmarks", "pose_presence", "world_landmarks"], {"image": x})
    p = bp.split_landmarks(lm[0])
    xyz, vis = p["xyz"], p["visibility"]
    w = world[0].reshape(bp.NUM_POINTS, 3)
    frame_xy = images.crop_points_to_frame(xyz[:, :2], cx, cy, side, rot)

    print(f"{args.photo}: {frame.shape[1]}x{frame.shape[0]}, crop centre ({cx:.1f}, {cy:.1f}) side {side:.1f} "
          f"rotation {rot:.3f}; pose_presence {presence[0, 0]:.4f}")
    print(f"{'#':>2} {'name':17s} {'crop x':>7} {'crop y':>7} {'crop z':>7} {'frame x':>8} {'frame y':>8} "
          f"{'world x':>8} {'world y':>8} {'world z':>8} {'vis':>5}")
    for i in range(35):
        name = bp.POSE_LANDMARK_NAMES[i] if i < 33 else ("tracking: hips" if i == 33 else "tracking: beyond head")
        print(f"{i:2d} {name:17s} {xyz[i, 0]:7.1f} {xyz[i, 1]:7.1f} {xyz[i, 2]:7.1f} {frame_xy[i, 0]:8.1f} "
              f"{frame_xy[i, 1]:8.1f} {w[i, 0]:8.3f} {w[i, 1]:8.3f} {w[i, 2]:8.3f} {vis[i]:5.2f}")

    hips_px = (xyz[23] + xyz[24]) / 2
    print(f"point 33 - hips' mid-point (crop px): {np.round(xyz[33, :2] - hips_px[:2], 1)}; "
          f"world hips' mid-point {np.round((w[23] + w[24]) / 2, 3)} m")
    head_top = xyz[:11, 1].min()
    print(f"point 34: crop y {xyz[34, 1]:.1f}, highest face point y {head_top:.1f}; |34-33| = "
          f"{np.linalg.norm(xyz[34, :2] - xyz[33, :2]):.1f} crop px")
    # world axes against the crop's axes: least-squares map from crop offsets to world offsets
    body = [i for i in range(33) if vis[i] > 0.5]
    d_px = xyz[body] - hips_px
    a, *_ = np.linalg.lstsq(d_px, w[body] - (w[23] + w[24]) / 2, rcond=None)
    print("world offset = crop offset (px) @ A, A (rows: crop x, y, z; columns: world x, y, z):")
    print(np.array2string(a, precision=5, suppress_small=True))
    ncx, ncy, nside, nrot = bp.roi_from_tracking_points(frame_xy[33], frame_xy[34])
    print(f"next crop (scale 1.25): centre ({ncx:.1f}, {ncy:.1f}) side {nside:.1f} rotation {nrot:.3f}")

    if args.out:
        img = frame.copy()
        corners = images.crop_points_to_frame(np.array([[0, 0], [256, 0], [256, 256], [0, 256]]), cx, cy, side, rot)
        for k in range(4):
            draw_line(img, corners[k], corners[(k + 1) % 4], (255, 230, 0), 1.0)
        for a_, b_ in SKELETON:
            colour = side_colour(a_) if side_colour(a_) == side_colour(b_) else (40, 220, 40)
            draw_line(img, frame_xy[a_], frame_xy[b_], colour, 1.2)
        r = max(2.0, min(frame.shape[:2]) / 160)
        for i in range(33):
            draw_disc(img, frame_xy[i], r + 1, (255, 255, 255))
            draw_disc(img, frame_xy[i], r, side_colour(i))
        for i in (33, 34):
            draw_disc(img, frame_xy[i], r + 1, (0, 0, 0))
            draw_disc(img, frame_xy[i], r, (255, 0, 255))
        write_png(args.out, img)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
