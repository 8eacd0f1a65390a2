"""Plain result types shared by the pipeline, the nodes, the CLI and the tests."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np


@dataclass
class HeadPose:
    """Head frame in the camera optical frame.

    Head axes follow REP-103 body conventions as REP-155 uses them for faces: x out of the face
    (towards the camera for a frontal face), y to the subject's left, z up.
    ``yaw_pitch_roll_deg``: yaw > 0 when the subject turns to their left, pitch > 0 looking down,
    roll > 0 tilting the head towards their right shoulder... see pose.py for the exact definition.
    """

    rotation: np.ndarray  # (3, 3): columns are the head axes expressed in the optical frame
    translation: np.ndarray  # (3,) metres, head origin (between the eyes) in the optical frame
    yaw_pitch_roll_deg: Tuple[float, float, float]
    reprojection_error_px: float = float("nan")


@dataclass
class Face:
    track_id: int
    box: np.ndarray  # [x0, y0, x1, y1] image pixels
    landmarks: np.ndarray  # (N, 2) image pixels (u, v)
    scores: np.ndarray  # (N,) per-point confidence in [0, 1]
    score: float  # face confidence in [0, 1]
    pose: Optional[HeadPose] = None
    age_frames: int = 0  # frames since this track started


@dataclass
class FrameResult:
    faces: List[Face]
    width: int
    height: int
    detector_ran: bool = False
    timings_ms: Dict[str, float] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    @property
    def primary(self) -> Optional[Face]:
        """The face a single-face consumer should use: the largest confident one."""
        if not self.faces:
            return None
        return max(self.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) * f.score)
