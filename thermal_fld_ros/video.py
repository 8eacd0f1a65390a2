"""Reading video files, shared by the offline CLI and the frame player."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

import cv2
import numpy as np


def video_frames(path: Union[str, Path]) -> Iterator[np.ndarray]:
    """Frames of a video in order (as OpenCV decodes them: BGR uint8); the file is released however
    iteration ends (exhausted, broken off, or an exception in the consumer)."""
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, img = cap.read()
            if not ok:
                return
            yield img
    finally:
        cap.release()
