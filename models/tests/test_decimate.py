"""Tests of models/decimate.py (quadric-error half-edge collapse) on generated meshes."""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(MODELS))

import body_model as bm  # noqa: E402
import decimate  # noqa: E402


def uv_sphere(rings: int = 24, segments: int = 32, radius: float = 1.0):
    """A closed UV sphere, outward counter-clockwise triangles."""
    verts = [[0.0, radius, 0.0]]
    for i in range(1, rings):
        theta = np.pi * i / rings
        for j in range(segments):
            phi = 2 * np.pi * j / segments
            verts.append([radius * np.sin(theta) * np.cos(phi), radius * np.cos(theta),
                          -radius * np.sin(theta) * np.sin(phi)])
    verts.append([0.0, -radius, 0.0])
    bottom = len(verts) - 1

    def ring(i, j):
        return 1 + (i - 1) * segments + j % segments

    faces = []
    for j in range(segments):
        faces.append([0, ring(1, j + 1), ring(1, j)])
        faces.append([bottom, ring(rings - 1, j), ring(rings - 1, j + 1)])
    for i in range(1, rings - 1):
        for j in range(segments):
            a, b, c, d = ring(i, j), ring(i, j + 1), ring(i + 1, j), ring(i + 1, j + 1)
            faces += [[a, b, d], [a, d, c]]
    return np.array(verts), np.array(faces)[:, ::-1].copy()


def euler(vertices_count: int, faces: np.ndarray) -> int:
    edges = np.unique(np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1), axis=0)
    return vertices_count - len(edges) + len(faces)


class DecimateTest(unittest.TestCase):
    def test_sphere_keeps_shape_topology_and_winding(self):
        v, f = uv_sphere()
        self.assertGreater(bm.signed_volume(v, f), 0)
        kept, g = decimate.decimate(v, f, target_faces=300)
        self.assertLessEqual(len(g), 300)
        self.assertGreater(len(g), 250)
        self.assertTrue(np.all(np.diff(kept) > 0))  # a subset, in order
        decimate.check_closed_manifold(g)
        self.assertEqual(euler(len(kept), g), 2)
        # the vertices stay on the sphere; the volume barely shrinks (facets cut inside)
        np.testing.assert_allclose(np.linalg.norm(v[kept], axis=1), 1.0, atol=1e-12)
        ratio = bm.signed_volume(v[kept], g) / bm.signed_volume(v, f)
        self.assertGreater(ratio, 0.9)
        self.assertLess(ratio, 1.0 + 1e-9)

    def test_attribute_boundaries_keep_their_vertices(self):
        v, f = uv_sphere()
        # Two "bones": upper and lower hemisphere, blended over a narrow band at the equator.
        t = np.clip((v[:, 1] + 0.1) / 0.2, 0.0, 1.0)
        attrs = np.stack([t, 1 - t], axis=1)
        # the equator ring: the only vertices with attributes unlike their neighbours'
        band = np.abs(v[:, 1]) < 0.1
        plain, _ = decimate.decimate(v, f, target_faces=400)
        aware, g = decimate.decimate(v, f, target_faces=400, attributes=attrs, weight_penalty=1.0)
        decimate.check_closed_manifold(g)
        print(f"\n  band vertices kept: {band[plain].sum()} without, {band[aware].sum()} with the attributes, "
              f"of {band.sum()}", file=sys.stderr)
        self.assertGreater(band[aware].sum(), band[plain].sum() + 5)

    def test_two_components_and_a_tetrahedron_survive(self):
        v, f = uv_sphere(8, 10)
        tet_v = np.array([[3.0, 0, 0], [4.0, 0, 0], [3.0, 1.0, 0], [3.0, 0, -1.0]])
        tet_f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]) + len(v)
        both_v, both_f = np.vstack([v, tet_v]), np.vstack([f, tet_f])
        decimate.check_closed_manifold(both_f)
        kept, g = decimate.decimate(both_v, both_f, target_faces=10)
        decimate.check_closed_manifold(g)
        self.assertEqual(euler(len(kept), g), 4)
        self.assertTrue(set(range(len(v), len(both_v))) <= set(kept.tolist()))  # the tetrahedron is minimal

    def test_open_or_inconsistent_meshes_are_refused(self):
        v, f = uv_sphere(6, 8)
        with self.assertRaisesRegex(decimate.DecimationError, "not closed"):
            decimate.decimate(v, f[1:], 10)
        flipped = f.copy()
        flipped[0] = flipped[0][::-1]
        with self.assertRaisesRegex(decimate.DecimationError, "wound"):
            decimate.decimate(v, flipped, 10)


if __name__ == "__main__":
    unittest.main()
