"""The view of one synthetic sample, shared by every face source (procedural head, ICT-FaceKit).

``frame_view`` chooses what the camera image is: a face-centred square crop of the sensor frame (crops mode)
or the whole frame (scenes); ``through_sensor`` passes the rendered temperatures through that sensor's pixel
grid and adds the RGB photo noise. One implementation, so that both sources frame and degrade alike and draw
from the random generator in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from training.data.synth import thermal as th_app
from training.data.synth.camera import crop_intrinsics
from training.data.synth.sensor import apply_sensor


@dataclass
class View:
    k: np.ndarray  # intrinsics of the output image
    width: int
    height: int
    x0: int  # crop origin on the sensor (0 for whole frames)
    y0: int
    side: Optional[int]  # crop side on the sensor, None for whole frames
    background_c: np.ndarray  # (height, width) background temperatures


def frame_view(uv68: Optional[np.ndarray], opts, rng: np.random.Generator, k_full: np.ndarray, sensor_w: int,
               sensor_h: int, ambient: float) -> View:
    """Crops mode: a jittered square around the 68 projected points ``uv68``; otherwise the sensor frame."""
    if opts.mode == "crops":
        lo, hi = uv68.min(0), uv68.max(0)
        side = max(int(np.ceil(max(hi - lo) * opts.crop_scale * rng.uniform(0.95, 1.15))), 8)
        jit = 0.3 if rng.random() < opts.out_of_frame_prob else 0.06
        cx, cy = (lo + hi) / 2 + rng.uniform(-jit, jit, 2) * side
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        out = int(opts.size)
        return View(crop_intrinsics(k_full, x0, y0, side, out), out, out, x0, y0, side,
                    th_app.background(rng, out, out, ambient))
    return View(k_full, sensor_w, sensor_h, 0, 0, None, th_app.background(rng, sensor_w, sensor_h, ambient))


def through_sensor(temp: np.ndarray, img: np.ndarray, view: View, sensor, rng: np.random.Generator
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """(temperatures after the sensor, uint8 RGB): a crop goes through the sensor's pixel grid at its place
    in the frame (blur, noise, fixed pattern and vignetting of that place)."""
    if view.side is not None:
        side, size = view.side, (view.width, view.height)
        interp = cv2.INTER_AREA if side < view.width else cv2.INTER_LINEAR
        on_sensor = apply_sensor(cv2.resize(temp, (side, side), interpolation=interp), sensor, rng, view.x0, view.y0)
        back = cv2.INTER_LINEAR if side < view.width else cv2.INTER_AREA
        temp = cv2.resize(on_sensor, size, interpolation=back)
    else:
        temp = apply_sensor(temp, sensor, rng)
    img = np.clip(img + rng.normal(0, 0.01, img.shape).astype(np.float32), 0, 1)
    return temp, (img * 255.0 + 0.5).astype(np.uint8)
