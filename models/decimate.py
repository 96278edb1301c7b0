"""Mesh decimation by quadric-error half-edge collapse (Garland and Heckbert's error
metric, the surviving vertex kept where it is).

Collapsing an edge ``u -> v`` removes ``u`` and the two triangles on the edge and gives
``u``'s other triangles to ``v``. Because ``v`` stays put, the decimated mesh's vertices
are a subset of the original ones: whatever else is attached to a vertex (skinning
weights, colours) carries over unchanged, so a skinned body stays consistent with its
skeleton. The cost of a collapse is the mean squared distance (area-weighted, m²) of
``v``'s position to the planes of both vertices' original triangles, so a small feature
(a nose, an ear) costs as much per millimetre as a large flat region, plus
``weight_penalty`` times the squared difference of the two vertices' attributes (e.g.
skinning weights) times the squared edge length, so that regions where the attributes
change (around joints) keep more of their vertices.

A collapse is refused when it would make the surface non-manifold (the two vertices must
share exactly the two neighbours opposite the edge), leave a vertex with fewer than three
neighbours, or turn a triangle over (its normal must stay within ``max_normal_turn``
radians).

Only closed manifold meshes are accepted (every edge shared by two triangles); the result
is closed, manifold and keeps the orientation and the Euler characteristic.
"""

from __future__ import annotations

import heapq

import numpy as np


class DecimationError(ValueError):
    pass


def _face_planes(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals and plane offsets of the triangles, and their areas."""
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    length = np.linalg.norm(n, axis=1)
    unit = n / np.maximum(length, 1e-300)[:, None]
    d = -np.einsum("fi,fi->f", unit, v[f[:, 0]])
    return np.concatenate([unit, d[:, None]], axis=1), 0.5 * length


def check_closed_manifold(faces: np.ndarray) -> None:
    f = np.asarray(faces, np.int64)
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    _, counts = np.unique(directed, axis=0, return_counts=True)
    if counts.max() > 1:
        raise DecimationError("inconsistently wound or non-manifold triangles (a directed edge used twice)")
    undirected = np.sort(directed, axis=1)
    _, counts = np.unique(undirected, axis=0, return_counts=True)
    if np.any(counts != 2):
        raise DecimationError("the mesh is not closed (an edge not shared by exactly two triangles)")


def decimate(vertices: np.ndarray, faces: np.ndarray, target_faces: int, attributes: np.ndarray | None = None,
             weight_penalty: float = 1.0, max_normal_turn: float = np.radians(60.0)) -> tuple[np.ndarray, np.ndarray]:
    """Collapses edges of the closed manifold mesh until it has at most ``target_faces``
    triangles (or no allowed collapse is left).

    Returns ``(kept, new_faces)``: the indices of the surviving vertices (ascending) and
    the triangles as indices into ``kept``, wound as the input.
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    check_closed_manifold(f)
    nv = len(v)
    attrs = np.zeros((nv, 0)) if attributes is None else np.asarray(attributes, np.float64).reshape(nv, -1)

    planes, areas = _face_planes(v, f)
    # Per-vertex quadric: sum over its triangles of area * p p^T.
    pp = np.einsum("fi,fj->fij", planes, planes) * areas[:, None, None]
    quadric = np.zeros((nv, 4, 4))
    for k in range(3):
        np.add.at(quadric, f[:, k], pp)
    homogeneous = np.concatenate([v, np.ones((nv, 1))], axis=1)
    area = np.zeros(nv)
    for k in range(3):
        np.add.at(area, f[:, k], areas)

    face_list = [list(t) for t in f.tolist()]
    face_alive = [True] * len(face_list)
    vertex_faces: list[set[int]] = [set() for _ in range(nv)]
    for i, t in enumerate(face_list):
        for x in t:
            vertex_faces[x].add(i)
    alive = [True] * nv
    stamp = [0] * nv
    cos_limit = np.cos(max_normal_turn)

    def neighbours(x: int) -> set[int]:
        out = set()
        for i in vertex_faces[x]:
            out.update(face_list[i])
        out.discard(x)
        return out

    def cost(u: int, w: int) -> float:
        h = homogeneous[w]
        # Mean squared distance to the planes (area-weighted), in m²: small features such
        # as a nose or an ear cost as much per millimetre as large flat regions.
        error = float(h @ (quadric[u] + quadric[w]) @ h) / max(area[u] + area[w], 1e-300)
        if attrs.shape[1]:
            diff = attrs[u] - attrs[w]
            error += weight_penalty * float(diff @ diff) * float(np.sum((v[u] - v[w]) ** 2))
        return max(error, 0.0)

    heap: list[tuple[float, int, int, int, int]] = []

    def push_edges(x: int) -> None:
        for y in neighbours(x):
            heapq.heappush(heap, (cost(x, y), x, y, stamp[x], stamp[y]))
            heapq.heappush(heap, (cost(y, x), y, x, stamp[y], stamp[x]))

    for x in range(nv):
        for y in neighbours(x):
            heapq.heappush(heap, (cost(x, y), x, y, 0, 0))

    def normal(a, b, c):
        return np.cross(v[b] - v[a], v[c] - v[a])

    def allowed(u: int, w: int) -> bool:
        nu, nw = neighbours(u), neighbours(w)
        shared_faces = vertex_faces[u] & vertex_faces[w]
        if len(shared_faces) != 2:
            return False
        opposite = {x for i in shared_faces for x in face_list[i]} - {u, w}
        if (nu & nw) != opposite:
            return False  # link condition: the collapse would pinch the surface
        if len(nu | nw) - 2 < 3:
            return False
        for x in opposite:
            if len(neighbours(x)) - 1 < 3:
                return False
        for i in vertex_faces[u] - shared_faces:
            t = face_list[i]
            before = normal(*t)
            after = normal(*[w if x == u else x for x in t])
            lb, la = np.linalg.norm(before), np.linalg.norm(after)
            if la < 1e-12 or (lb > 1e-15 and before @ after < cos_limit * lb * la):
                return False
        return True

    num_faces = len(face_list)
    while num_faces > target_faces and heap:
        _, u, w, su, sw = heapq.heappop(heap)
        if not (alive[u] and alive[w]) or su != stamp[u] or sw != stamp[w]:
            continue
        if w not in neighbours(u) or not allowed(u, w):
            continue
        for i in list(vertex_faces[u]):
            t = face_list[i]
            if w in t:
                face_alive[i] = False
                for x in t:
                    vertex_faces[x].discard(i)
                num_faces -= 1
            else:
                face_list[i] = [w if x == u else x for x in t]
                vertex_faces[w].add(i)
        vertex_faces[u].clear()
        alive[u] = False
        quadric[w] += quadric[u]
        area[w] += area[u]
        # Only edges at w change cost; the others are checked again when popped.
        stamp[w] += 1
        push_edges(w)

    kept = np.nonzero(alive)[0]
    remap = -np.ones(nv, np.int64)
    remap[kept] = np.arange(len(kept))
    new_faces = remap[np.array([t for t, a in zip(face_list, face_alive) if a], np.int64)]
    check_closed_manifold(new_faces)
    return kept, new_faces
