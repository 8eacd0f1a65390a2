"""The default face detector: the learned CNN, and the warm-blob detector where the CNN finds nothing.

The CNN trained on real Lepton frames (``detector_chips``) beats ``thermal_blob`` on that camera (LOPO AP
0.635 vs 0.541, no body-sized boxes on the real sequences), but its scores do not carry to every camera:
on the two real 640x512 radiometric frames it scores the face 0.27 and 0.37, where ``thermal_blob``
scores 0.94. So on a frame where the CNN has no face at its own threshold, ``thermal_blob`` is asked.
Each keeps its own score scale and threshold, so this detector applies both itself and returns only
accepted faces (``applies_thresholds``).
"""
from __future__ import annotations

from typing import List

import numpy as np

from .detector import Detection, FaceDetector


class CascadeDetector:
    """``primary`` faces scoring at least ``primary_threshold``; none: ``fallback`` faces scoring at least
    ``fallback_threshold``."""

    applies_thresholds = True  # the pipeline does not filter its faces by detection_threshold again

    def __init__(self, primary: FaceDetector, fallback: FaceDetector, primary_threshold: float,
                 fallback_threshold: float):
        self.primary, self.fallback = primary, fallback
        self.primary_threshold, self.fallback_threshold = float(primary_threshold), float(fallback_threshold)
        self.fallback_frames = 0  # frames the fallback answered (diagnostics, benchmarks)

    def detect(self, frame01: np.ndarray, max_faces: int = 3) -> List[Detection]:
        found = [d for d in self.primary.detect(frame01, max_faces) if d.score >= self.primary_threshold]
        if found:
            return found
        self.fallback_frames += 1
        return [d for d in self.fallback.detect(frame01, max_faces) if d.score >= self.fallback_threshold]
