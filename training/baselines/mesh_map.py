"""468-vertex MediaPipe face mesh -> 68 iBUG points (+ 2 pupils from the iris model) of ``ibug70``.

Why a table: the mesh has fixed surface vertices, iBUG has semantic points (eye corners, lip
corners, the jaw *silhouette*). Each iBUG point is a fixed weighted mean of a few mesh vertices.

``HAND_MAP`` is written from the public topology of MediaPipe's canonical face mesh (the vertex
numbering of ``canonical_face_model.obj``: silhouette ring 10-338-...-109, eye rings 33/133 and
362/263, lip rings 61/291 and 78/308, nose ridge 168-6-197-195-5-4-1). ``image-left`` is the subject's
right, as in iBUG. The fitted refinement (``mesh_to_ibug68.json``, written by
``python -m training.baselines.fit_mesh_map``) replaces each point by non-negative weights over
nearby vertices fitted on the AFW photos of 300-W and checked on HELEN; it is used when present.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

FITTED_MAP_FILE = Path(__file__).resolve().parent / "mesh_to_ibug68.json"

# One mesh vertex per iBUG point (0-based iBUG order).
HAND_MAP: Tuple[int, ...] = (
    # jaw 0-16: silhouette from the image-left ear down to the chin (152) and up to the right ear
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,
    # brows 17-21 (image-left, outer -> inner), 22-26 (image-right, inner -> outer): upper brow edge
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # nose bridge 27-30 (between the eyes -> tip), nose base 31-35 (image-left -> right)
    168, 197, 5, 4, 98, 97, 2, 326, 327,
    # image-left eye 36-41: outer, upper x2, inner, lower x2; image-right eye 42-47: inner, upper, outer, lower
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    # outer lips 48-59: left corner, upper lip to the right corner, lower lip back
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    # inner lips 60-67: left inner corner, upper inner, right inner corner, lower inner
    78, 81, 13, 311, 308, 402, 14, 178,
)
assert len(HAND_MAP) == 68


@lru_cache(maxsize=1)
def mesh_weights() -> Tuple[Tuple[Tuple[int, float], ...], ...]:
    """Per iBUG point, ((vertex, weight), ...) with weights summing to 1: fitted if present, else hand."""
    if FITTED_MAP_FILE.is_file():
        doc = json.loads(FITTED_MAP_FILE.read_text(encoding="utf-8"))
        table = tuple(tuple((int(v), float(w)) for v, w in point) for point in doc["weights"])
        if len(table) == 68:
            return table
    return tuple(((v, 1.0),) for v in HAND_MAP)


@lru_cache(maxsize=1)
def weight_matrix() -> np.ndarray:
    """(68, 468) matrix W: ibug68 = W @ mesh."""
    w = np.zeros((68, 468))
    for i, point in enumerate(mesh_weights()):
        for v, wt in point:
            w[i, v] = wt
    return w


def map_mesh_to_ibug70(mesh: np.ndarray) -> np.ndarray:
    """(468, >=2) mesh -> (70, 2) ibug70 points; the pupils (68, 69) are NaN (the iris model fills them)."""
    out = np.full((70, 2), np.nan)
    out[:68] = weight_matrix() @ np.asarray(mesh, np.float64)[:, :2]
    return out


def describe() -> List[Dict[str, object]]:
    """The table in use, JSON-able (for model metadata and docs)."""
    return [{"ibug": i, "vertices": [[v, round(w, 4)] for v, w in p]} for i, p in enumerate(mesh_weights())]
