"""Is a track's face still in its box? Its content compared with the last frame's, as a thumbnail.

Between detector runs a track follows its own landmarks. When the face moves further than a crop can follow
(a frame seconds later, a fast turn, a camera pan, a person walking off) the model is fitted to whatever the
box now holds, and the track becomes a false face until a later detector run drops it. The box's content
tells first: a 16x16 thumbnail of it, normalised (zero mean, unit norm), against the same box in the last
frame. A correlation under the pipeline's ``appearance_threshold`` makes it run the detector on this frame.
Cost: one small resize per track (tens of microseconds).
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

THUMB = 16  # thumbnail side: enough for eyes / nose / mouth blobs, blind to sensor noise


def thumbnail(frame01: np.ndarray, box) -> Optional[np.ndarray]:
    """Normalised (THUMB * THUMB,) float32 vector of ``frame01`` inside ``box`` (x0, y0, x1, y1; clipped to
    the frame); None when the box holds under 2x2 pixels or no contrast (nothing to compare)."""
    h, w = frame01.shape[:2]
    x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x1, y1 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    patch = cv2.resize(np.ascontiguousarray(frame01[y0:y1, x0:x1], np.float32), (THUMB, THUMB),
                       interpolation=cv2.INTER_AREA).ravel()
    patch = patch - np.float32(patch.mean())
    norm = float(np.linalg.norm(patch))
    if norm < 1e-3:
        return None
    return patch / np.float32(norm)


def similarity(a: Optional[np.ndarray], b: Optional[np.ndarray]) -> float:
    """Correlation of two thumbnails in [-1, 1]; 1.0 when either is missing (no evidence of change)."""
    if a is None or b is None:
        return 1.0
    return float(np.dot(a, b))
