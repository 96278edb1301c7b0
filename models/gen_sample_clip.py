#!/usr/bin/env python3
"""Render the sample clip ``models/sample/sample.mp4`` and its ground truth ``sample_poses.json``.

The clip shows the project's mannequin (``models/mannequin.safetensors``, built in memory by
``gen_mannequin.py`` when the file is absent) walking in place over a textured background,
turning slightly and drifting sideways. Every frame's pose is known exactly and written to
``sample_poses.json`` (schema below), so the pipeline's outputs can be compared with it.

Camera: HMR2's full-frame camera. Frame W x H = 640 x 360, focal length
f = 5000 / 256 * max(W, H) = 12500 px, principal point (W/2, H/2) = (320, 180). Camera
frame is OpenCV's (x right, y down, z forward); a posed body point P (model space, after
``global_orient``) is at X = P + cam_t in the camera frame and projects to
u = f X/Z + W/2, v = f Y/Z + H/2. Pixel coordinates are continuous: the image spans
[0, W] x [0, H] and pixel (i, j) has its centre at (i + 0.5, j + 0.5).

sample_poses.json schema (all lengths in metres, pixels in continuous pixel coordinates):

    {
      "description": str, "schema_version": 1,
      "width": 640, "height": 360, "fps_n": 30, "fps_d": 1, "num_frames": 90,
      "focal_length": 12500.0, "principal_point": [320.0, 180.0],
      "body_model": "mannequin.safetensors", "joint_names": [24 names],
      "frames": [ {                              # one per video frame, in order
          "index": int,                          # 0-based frame number
          "pts_ns": int,                         # buffer timestamp = index * 1e9 / 30 (floor)
          "global_orient": [3][3],               # root rotation matrix (model -> camera)
          "body_pose": [23][3][3],               # joints 1..23, relative to parent
          "betas": [10],
          "cam_t": [3],                          # camera-frame translation added to the posed body
          "focal_length": float,                 # same as the top-level value
          "principal_point": [2],
          "bbox": [x0, y0, x1, y1],              # tight box of all projected vertices
          "joints_2d": [24][2],                  # projected posed joints (u, v)
          "joints_3d": [24][3]                   # posed joints in the camera frame
      }, ... ]
    }

Rotations are stored with 7 decimals, pixel values with 3, 3D values with 6.

Usage: ``python models/gen_sample_clip.py [--out models/sample/sample.mp4]``; the JSON is
written next to the video as ``sample_poses.json``, and the person boxes alone as
``sample_boxes.jsonl`` (one line per frame, ``{"frame_index": i, "boxes": [[x0, y0, x1, y1]]}``,
the format of ``hmr2-launch --boxes``): the demo feeds them to hmr2pose as an upstream
detector would.
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import body_model as bm  # noqa: E402

WIDTH, HEIGHT = 640, 360
FPS = 30
NUM_FRAMES = 90
FOCAL = 5000.0 / 256.0 * max(WIDTH, HEIGHT)  # 12500 px
PRINCIPAL = (WIDTH / 2.0, HEIGHT / 2.0)
BETAS = np.array([0.4, -0.3, 0.3, 0.2, 0.0, -0.2, 0.3, 0.1, 0.0, 0.2])
HEIGHT_FRACTION = 0.70  # the rest-pose body height as a fraction of the frame height
J = {name: i for i, name in enumerate(bm.JOINT_NAMES)}


def load_mannequin() -> bm.BodyModel:
    path = HERE / "mannequin.safetensors"
    if path.exists():
        return bm.load(path)
    import gen_mannequin

    return gen_mannequin.build_mannequin()


def pts_ns(index: int) -> int:
    return index * 1_000_000_000 // FPS


def frame_pose(index: int):
    """Pose of frame ``index``: (global_orient [3,3], body_pose [23,3,3])."""
    t = index / FPS
    phi = 2 * math.pi * t / 1.0  # one stride cycle per second
    d = math.radians
    R = np.broadcast_to(np.eye(3), (24, 3, 3)).copy()
    s, c = math.sin(phi), math.cos(phi)
    R[J["l_hip"]] = bm.rot_x(d(-24) * s)  # negative = thigh forward
    R[J["r_hip"]] = bm.rot_x(d(24) * s)
    R[J["l_knee"]] = bm.rot_x(d(6 + 34 * (0.5 + 0.5 * c) ** 2))  # positive = shin back
    R[J["r_knee"]] = bm.rot_x(d(6 + 34 * (0.5 - 0.5 * c) ** 2))
    R[J["l_ankle"]] = bm.rot_x(d(-8) * s)
    R[J["r_ankle"]] = bm.rot_x(d(8) * s)
    # arms lowered from the T-pose, swinging opposite to the legs, elbows slightly bent
    R[J["l_shoulder"]] = bm.rot_x(d(22) * s) @ bm.rot_z(d(-68))
    R[J["r_shoulder"]] = bm.rot_x(d(-22) * s) @ bm.rot_z(d(68))
    R[J["l_elbow"]] = bm.rot_y(d(-18 - 10 * (0.5 + 0.5 * s)))
    R[J["r_elbow"]] = bm.rot_y(d(18 + 10 * (0.5 - 0.5 * s)))
    for name in ("spine1", "spine2", "spine3"):
        R[J[name]] = bm.rot_y(d(-3) * s) @ bm.rot_x(d(1.5))
    R[J["neck"]] = bm.rot_y(d(6) * s)
    R[J["head"]] = bm.rot_x(d(-3))
    yaw = d(22) * math.sin(2 * math.pi * t / 3.0)
    R[0] = bm.rot_x(math.pi) @ bm.rot_y(yaw)  # upright, facing the camera, slight turn
    return R[0], R[1:]


def camera_translation(index: int, model: bm.BodyModel) -> np.ndarray:
    """cam_t of frame ``index``: distance from the rest height, vertical centring, drift."""
    t = index / FPS
    v = model.v_template.astype(np.float64)
    height = float(v[:, 1].max() - v[:, 1].min())
    tz = FOCAL * height / (HEIGHT_FRACTION * HEIGHT)
    ty = (v[:, 1].max() + v[:, 1].min()) / 2.0  # camera Y = -y: centre the rest body
    bob = 0.012 * math.cos(4 * math.pi * t)
    tx = 0.45 * math.sin(2 * math.pi * t / 3.0)
    return np.array([tx, ty + bob, tz])


def project(points_cam: np.ndarray) -> np.ndarray:
    """OpenCV pinhole projection with HMR2's full-frame camera: [N,3] -> [N,2]."""
    X, Y, Z = points_cam[:, 0], points_cam[:, 1], points_cam[:, 2]
    return np.stack([FOCAL * X / Z + PRINCIPAL[0], FOCAL * Y / Z + PRINCIPAL[1]], axis=1)


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------


def background() -> np.ndarray:
    """Static textured background, float RGB in [0, 1], [H, W, 3] (4x4 supersampled)."""
    ss = 4
    y, x = np.mgrid[0 : HEIGHT * ss, 0 : WIDTH * ss].astype(np.float64)
    y, x = (y + 0.5) / ss, (x + 0.5) / ss
    horizon = 0.62 * HEIGHT
    # wall: vertical gradient with soft stripes
    g = y / horizon
    wall = np.stack([0.55 + 0.25 * g, 0.62 + 0.18 * g, 0.72 + 0.05 * g], axis=-1)
    wall += (0.04 * np.sin(2 * math.pi * x / 53.0) * np.sin(2 * math.pi * (y + 0.3 * x) / 97.0))[..., None]
    # floor: perspective checkerboard, contrast fading towards the horizon
    dy = np.maximum(y - horizon, 1e-3)
    fu = (x - WIDTH / 2) / dy * 1.2
    fv = 40.0 / dy
    checker = ((np.floor(fu) + np.floor(fv)) % 2)[..., None]
    contrast = np.clip((dy - 8.0) / 40.0, 0.0, 1.0)[..., None]
    floor = np.array([0.42, 0.36, 0.30]) + 0.10 * contrast * (checker - 0.5)
    img = np.where((y >= horizon)[..., None], floor, wall)
    img = img.reshape(HEIGHT, ss, WIDTH, ss, 3).mean(axis=(1, 3))
    return np.clip(img, 0.0, 1.0)


def vertex_colours(model: bm.BodyModel) -> np.ndarray:
    """Mannequin colours: neutral centre, body-left limbs bluish, body-right limbs orange."""
    names = bm.JOINT_NAMES
    left = np.array([n.startswith("l_") for n in names], np.float64)
    right = np.array([n.startswith("r_") for n in names], np.float64)
    w = model.weights.astype(np.float64)
    wl, wr = w @ left, w @ right
    base = np.array([0.86, 0.80, 0.70])
    blue = np.array([0.45, 0.62, 0.92])
    orange = np.array([0.95, 0.60, 0.30])
    return base * (1 - wl - wr)[:, None] + blue * wl[:, None] + orange * wr[:, None]


def rasterize(uv, z, normals, colours, faces, bg):
    """Z-buffered triangle rasteriser with Lambert shading (vectorised numpy).

    Samples pixel centres (i + 0.5, j + 0.5). Depth and normals are interpolated
    linearly in screen space (exact enough at this focal length). Back faces are culled.
    """
    H, W = bg.shape[:2]
    f = faces.astype(np.int64)
    p0, p1, p2 = uv[f[:, 0]], uv[f[:, 1]], uv[f[:, 2]]
    area = (p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1]) - (p1[:, 1] - p0[:, 1]) * (p2[:, 0] - p0[:, 0])
    # Outward CCW faces seen from the camera (y down) have negative screen area.
    keep = area < -1e-9
    lo = np.floor(np.minimum(np.minimum(p0, p1), p2) - 0.5).astype(np.int64) + 1
    hi = np.floor(np.maximum(np.maximum(p0, p1), p2) - 0.5).astype(np.int64)
    keep &= (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] < W) & (lo[:, 1] < H)
    keep &= np.all(hi >= lo, axis=1)
    tri = np.nonzero(keep)[0]
    size = np.max(hi[tri] - lo[tri] + 1, axis=1)
    frag_pix, frag_z, frag_tri, frag_b = [], [], [], []
    bucket = 1
    while len(tri):
        sel = size <= bucket
        if sel.any():
            t = tri[sel]
            oy, ox = np.mgrid[0:bucket, 0:bucket]
            px = lo[t, 0][:, None] + ox.reshape(1, -1)
            py = lo[t, 1][:, None] + oy.reshape(1, -1)
            cx, cy = px + 0.5, py + 0.5
            a, b, c = p0[t], p1[t], p2[t]
            inv = 1.0 / area[t][:, None]
            w0 = ((b[:, 0:1] - cx) * (c[:, 1:2] - cy) - (b[:, 1:2] - cy) * (c[:, 0:1] - cx)) * inv
            w1 = ((c[:, 0:1] - cx) * (a[:, 1:2] - cy) - (c[:, 1:2] - cy) * (a[:, 0:1] - cx)) * inv
            w2 = 1.0 - w0 - w1
            m = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & (px < W) & (py < H) & (px >= 0) & (py >= 0)
            m &= (px <= hi[t, 0][:, None]) & (py <= hi[t, 1][:, None])
            ti, ki = np.nonzero(m)
            ft = t[ti]
            bw = np.stack([w0[ti, ki], w1[ti, ki], w2[ti, ki]], axis=1)
            frag_pix.append(py[ti, ki] * W + px[ti, ki])
            frag_z.append(np.einsum("nk,nk->n", bw, z[f[ft]]))
            frag_tri.append(ft)
            frag_b.append(bw)
            tri, size = tri[~sel], size[~sel]
        bucket *= 2
    out = bg.reshape(-1, 3).copy()
    if not frag_pix:
        return out.reshape(H, W, 3)
    pix = np.concatenate(frag_pix)
    zz = np.concatenate(frag_z)
    ft = np.concatenate(frag_tri)
    bw = np.concatenate(frag_b)
    order = np.lexsort((ft, zz, pix))  # nearest fragment first per pixel (ties by face id)
    pix, ft, bw = pix[order], ft[order], bw[order]
    first = np.ones(len(pix), bool)
    first[1:] = pix[1:] != pix[:-1]
    pix, ft, bw = pix[first], ft[first], bw[first]
    n = np.einsum("nk,nkd->nd", bw, normals[f[ft]])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    col = np.einsum("nk,nkd->nd", bw, colours[f[ft]])
    light = np.array([-0.35, -0.55, -1.0])
    light /= np.linalg.norm(light)
    shade = 0.30 + 0.70 * np.clip(n @ light, 0.0, None)
    out[pix] = col * shade[:, None]
    return out.reshape(H, W, 3)


def render_frames(model: bm.BodyModel):
    """Yield (index, rgb uint8 [H, W, 3], frame record) for every frame."""
    bg = background()
    colours = vertex_colours(model)
    for i in range(NUM_FRAMES):
        go, bp = frame_pose(i)
        res = bm.forward(model, go, bp, BETAS)
        t = camera_translation(i, model)
        verts = res.vertices + t
        joints = res.joints + t
        uv = project(verts)
        normals = bm.vertex_normals(verts, model.faces)
        img = rasterize(uv, verts[:, 2], normals, colours, model.faces, bg)
        rgb = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
        j2d = project(joints)
        rec = {
            "index": i,
            "pts_ns": pts_ns(i),
            "global_orient": np.round(go, 7).tolist(),
            "body_pose": np.round(bp, 7).tolist(),
            "betas": np.round(BETAS, 7).tolist(),
            "cam_t": np.round(t, 6).tolist(),
            "focal_length": FOCAL,
            "principal_point": list(PRINCIPAL),
            "bbox": np.round([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()], 3).tolist(),
            "joints_2d": np.round(j2d, 3).tolist(),
            "joints_3d": np.round(joints, 6).tolist(),
        }
        yield i, rgb, rec


# ---------------------------------------------------------------------------------------
# Encoding (GStreamer)
# ---------------------------------------------------------------------------------------


def _gst():
    import warnings

    import gi

    gi.require_version("Gst", "1.0")
    with warnings.catch_warnings():  # PyGObject's importer warns under python -W default
        warnings.simplefilter("ignore", ImportWarning)
        from gi.repository import Gst

    Gst.init(None)
    return Gst


def encode(frames, out_path: Path) -> None:
    """Encode RGB frames to H.264 (I420) in MP4, deterministically."""
    Gst = _gst()
    pipeline = Gst.parse_launch(
        "appsrc name=src is-live=false format=time block=true "
        f"caps=video/x-raw,format=RGB,width={WIDTH},height={HEIGHT},framerate={FPS}/1,"
        "pixel-aspect-ratio=1/1,colorimetry=bt709,chroma-site=mpeg2 "
        "! videoconvert n-threads=1 ! video/x-raw,format=I420 "
        "! x264enc threads=1 sliced-threads=false bframes=0 key-int-max=30 "
        "speed-preset=medium pass=qual quantizer=20 "
        "! video/x-h264,profile=main ! h264parse "
        f'! mp4mux name=mux ! filesink location="{out_path}"'
    )
    src = pipeline.get_by_name("src")
    pipeline.set_state(Gst.State.PLAYING)
    for i, rgb in frames:
        buf = Gst.Buffer.new_wrapped(rgb.tobytes())
        buf.pts = pts_ns(i)
        buf.dts = Gst.CLOCK_TIME_NONE
        buf.duration = pts_ns(i + 1) - pts_ns(i)
        if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
            raise RuntimeError("appsrc refused a buffer")
    src.emit("end-of-stream")
    msg = pipeline.get_bus().timed_pop_filtered(120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        raise RuntimeError(f"encoding failed: {msg.parse_error() if msg else 'timeout'}")
    normalise_mp4_times(out_path)


# The muxer stamps the MP4 headers with the wall-clock time; replace those stamps with a
# fixed date so that the file is byte-for-byte reproducible.
FIXED_QT_TIME = 3786912000  # 2024-01-01T00:00:00Z in seconds since 1904-01-01


def normalise_mp4_times(path: Path) -> None:
    data = bytearray(path.read_bytes())
    containers = {b"moov", b"trak", b"mdia"}
    stamped = {b"mvhd", b"tkhd", b"mdhd"}

    def walk(start, end):
        i = start
        while i + 8 <= end:
            size, kind = struct.unpack(">I4s", data[i : i + 8])
            header = 8
            if size == 1:
                size = struct.unpack(">Q", data[i + 8 : i + 16])[0]
                header = 16
            elif size == 0:
                size = end - i
            if size < header or i + size > end:
                raise ValueError(f"{path}: malformed MP4 box at {i}")
            if kind in containers:
                walk(i + header, i + size)
            elif kind in stamped:
                body = i + header
                if data[body] == 1:  # version 1: 64-bit creation and modification times
                    struct.pack_into(">QQ", data, body + 4, FIXED_QT_TIME, FIXED_QT_TIME)
                else:
                    struct.pack_into(">II", data, body + 4, FIXED_QT_TIME, FIXED_QT_TIME)
            i += size

    walk(0, len(data))
    path.write_bytes(bytes(data))


def decode_info(path: Path):
    """Decode an MP4 with GStreamer; returns (frame count, width, height, list of PTS)."""
    Gst = _gst()
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! qtdemux ! h264parse ! avdec_h264 ! videoconvert '
        "! video/x-raw,format=I420 ! appsink name=sink sync=false emit-signals=false"
    )
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    pts, width, height = [], None, None
    while True:
        sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
        if sample is None:
            break
        s = sample.get_caps().get_structure(0)
        width, height = s.get_value("width"), s.get_value("height")
        pts.append(sample.get_buffer().pts)
    msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg is not None:
        raise RuntimeError(f"decoding failed: {msg.parse_error()}")
    return len(pts), width, height, pts


def write_json(records, model: bm.BodyModel, path: Path) -> None:
    head = {
        "description": (
            "Ground truth of sample.mp4 (generated by models/gen_sample_clip.py): the mannequin "
            "body model posed per frame and projected with HMR2's full-frame camera "
            "(OpenCV axes; u = f X/Z + cx, v = f Y/Z + cy; X = posed vertex + cam_t). "
            "See the docstring of gen_sample_clip.py for the schema."
        ),
        "schema_version": 1,
        "width": WIDTH,
        "height": HEIGHT,
        "fps_n": FPS,
        "fps_d": 1,
        "num_frames": NUM_FRAMES,
        "focal_length": FOCAL,
        "principal_point": list(PRINCIPAL),
        "body_model": "mannequin.safetensors",
        "joint_names": list(model.joint_names),
    }
    text = json.dumps(head, indent=1)[:-2]  # drop the closing "\n}"
    text += ',\n "frames": [\n'
    text += ",\n".join("  " + json.dumps(r, separators=(",", ":")) for r in records)
    text += "\n ]\n}\n"
    path.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(HERE / "sample" / "sample.mp4"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    model = load_mannequin()
    records = []

    def frames():
        for i, rgb, rec in render_frames(model):
            records.append(rec)
            yield i, rgb

    encode(frames(), out)
    json_path = out.parent / "sample_poses.json"
    write_json(records, model, json_path)
    with open(out.parent / "sample_boxes.jsonl", "w") as f:
        for r in records:
            f.write(json.dumps({"frame_index": r["index"], "boxes": [r["bbox"]]}, separators=(",", ":")) + "\n")
    n, w, h, _ = decode_info(out)
    if (n, w, h) != (NUM_FRAMES, WIDTH, HEIGHT):
        raise RuntimeError(f"{out} decodes to {n} frames of {w}x{h}, expected {NUM_FRAMES} of {WIDTH}x{HEIGHT}")
    print(f"wrote {out} ({out.stat().st_size} bytes, {n} frames {w}x{h}) and {json_path} "
          f"({json_path.stat().st_size} bytes) in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
