"""Debug overlay: face boxes, landmarks (coloured by confidence), head axes, track ids and thermal readings.

Used by the node's ``debug_image`` and by the CLI's annotated output, so both show the same thing.
"""
from __future__ import annotations

from typing import List, Optional

import cv2
import numpy as np

from .types import BreathingState, Face, FrameResult, Region

AXIS_COLOURS = ((0, 0, 255), (0, 255, 0), (255, 0, 0))  # BGR: head x red, y green, z blue (RViz colours)


def to_bgr(frame01: np.ndarray) -> np.ndarray:
    """Normalised [0, 1] frame -> uint8 BGR grey image."""
    grey = np.clip(np.nan_to_num(frame01) * 255.0, 0, 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def draw_result(image: np.ndarray, result: FrameResult, min_width: int = 320,
                nose_index: Optional[int] = 30) -> np.ndarray:
    """Return a copy of ``image`` (BGR or grey uint8, or [0, 1] float) with ``result`` drawn on it.

    Small frames (a 160x120 Lepton) are upscaled to ``min_width`` first so the overlay stays readable.
    Head axes are drawn as an orthographic projection of the head's rotation (length ~ face size).
    """
    img = to_bgr(image) if image.dtype != np.uint8 else image
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    s = max(1.0, float(min_width) / img.shape[1])
    out = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_NEAREST) if s > 1 else img.copy()
    thick = 1
    for face in result.faces:
        x0, y0, x1, y1 = (np.asarray(face.box) * s).astype(int).tolist()
        cv2.rectangle(out, (x0, y0), (x1, y1), (255, 200, 0), thick)
        cv2.putText(out, f"#{face.track_id} {face.score:.2f}", (x0, max(10, y0 - 3)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.35, (255, 200, 0), 1, cv2.LINE_AA)
        for (u, v), c in zip(face.landmarks, face.scores):
            if np.isfinite(u) and np.isfinite(v):
                col = (0, int(255 * c), int(255 * (1 - c)))  # red (unsure) -> green (confident)
                cv2.circle(out, (int(round(u * s)), int(round(v * s))), 1, col, -1)
        if face.pose is not None:
            pts = face.landmarks
            if nose_index is not None and nose_index < len(pts) and np.isfinite(pts[nose_index]).all():
                origin = pts[nose_index] * s
            else:
                origin = np.nanmean(pts, 0) * s
            length = 0.5 * max(x1 - x0, y1 - y0)
            for axis, col in zip(range(3), AXIS_COLOURS):
                d = face.pose.rotation[:2, axis] * length
                tip = origin + d
                cv2.line(out, tuple(int(v) for v in origin), tuple(int(v) for v in tip), col, 2, cv2.LINE_AA)
        _draw_thermal(out, face, (x0, y1), out.shape[0])
    return out


def _thermal_lines(face: Face) -> List[str]:
    """'canthi 36.4C forehead 34.9C' and 'breath 15.2/min (0.91)' / the reason there is none."""
    th = face.thermal
    if th is None:
        return []
    if not th.radiometric:
        return ["temperature n/a (not radiometric)"]
    parts = []
    for region, label in ((Region.CANTHI, "canthi"), (Region.FOREHEAD, "forehead")):
        r = th.readings[region]
        parts.append(f"{label} {r.temperature_c:.1f}C" if r.ok else f"{label} --")
    lines = [" ".join(parts)]
    b = face.breathing
    if b is not None:
        lines.append(f"breath {b.rate_bpm:.1f}/min ({b.confidence:.2f})" if b.state == BreathingState.OK
                     else f"breath: {b.state.name.lower().replace('_', ' ')}")
    return lines


def _draw_thermal(out: np.ndarray, face: Face, corner, height: int) -> None:
    x, y = corner
    for k, line in enumerate(_thermal_lines(face)):
        yy = min(height - 3, y + 11 + 11 * k)
        cv2.putText(out, line, (max(0, x), yy), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (0, 220, 255), 1, cv2.LINE_AA)
