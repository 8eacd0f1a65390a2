"""Training patches for the face detector from synthetic scenes, made to look like what the runtime feeds it.

Each patch: a scene (temperature, deg C) rescaled so that one face gets a random width (log-uniform
6..120 px), cropped to the patch size, with hot clutter (cups, lamps, radiators, screens) drawn in as hard
negatives, then mapped to [0, 1] the ways a stream arrives: a radiometric window, or 8-bit AGC that may go
through a false-colour palette, JPEG and the runtime's own palette inversion (``thermal_fld_ros.palettes``),
plus blur and noise. Targets: the CenterNet heatmap, box (offset, log size) and centre mask at stride 4.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np

from thermal_fld_ros.palettes import palette_names, palette_to_intensity, render

from .model import STRIDE


def load_scenes(root: Path) -> List[Tuple[np.ndarray, np.ndarray]]:
    """[(temperature float32 (H, W), boxes (K, 4))] from the .npz files ``render_scenes`` wrote."""
    out = []
    for p in sorted(Path(root).glob("*.npz")):
        try:
            z = np.load(p)
            out.append((z["temperature"].astype(np.float32), z["boxes"].astype(np.float32).reshape(-1, 4)))
        except (OSError, ValueError, KeyError) as exc:
            print(f"skipping unreadable scene {p}: {exc}")
    return out


def _texture(t: np.ndarray, rng: np.random.Generator) -> None:
    """Low-frequency background structure (walls, furniture, sky), added outside nothing: real rooms are not flat."""
    h, w = t.shape
    cell = int(rng.integers(4, 24))
    small = rng.normal(0, 1, (h // cell + 2, w // cell + 2)).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    t += field * np.float32(rng.uniform(0.2, 2.5))


def _clutter(t: np.ndarray, rng: np.random.Generator, n: int, boxes: np.ndarray) -> None:
    """Hot non-face objects drawn into the temperature map (in place), never over a face box."""
    h, w = t.shape
    keep = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in boxes.astype(int):
        keep[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    before = t.copy()
    for _ in range(n):
        temp = float(rng.uniform(27.0, 50.0))
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        a = int(rng.integers(2, max(3, w // 8)))
        b = int(max(2, a * rng.uniform(0.4, 2.5)))
        kind = rng.integers(0, 3)
        layer = t.copy()
        if kind == 0:
            cv2.ellipse(layer, (cx, cy), (a, b), float(rng.uniform(0, 180)), 0, 360, temp, -1)
        elif kind == 1:
            cv2.rectangle(layer, (cx - a, cy - b), (cx + a, cy + b), temp, -1)
        else:  # a round blob with a soft edge: the hardest (looks like a far head)
            cv2.circle(layer, (cx, cy), a, temp, -1)
            layer = cv2.GaussianBlur(layer, (0, 0), max(0.5, a / 3))
        t[:] = layer
    t[keep] = before[keep]


def _to_unit(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Temperature -> [0, 1] as one of the runtime's inputs (radiometric window, AGC, palette round trip)."""
    mode = rng.random()
    if mode < 0.25:  # radiometric, the pipeline's detector window: percentile low, top capped near skin
        lo = float(np.percentile(t, rng.uniform(0.5, 5)))
        hi = min(float(np.percentile(t, rng.uniform(98, 100))), float(rng.uniform(36.5, 39.0)))
    else:  # 8-bit AGC (percentile window)
        lo = float(np.percentile(t, rng.uniform(0, 3)))
        hi = float(np.percentile(t, rng.uniform(97, 100)))
    x = np.clip((t - lo) / max(hi - lo, 1e-3), 0, 1).astype(np.float32)
    if rng.random() < 0.5:  # gamma of the camera's AGC
        x = x ** np.float32(rng.uniform(0.6, 1.5))
    if mode >= 0.25 and rng.random() < 0.6:
        name = palette_names()[int(rng.integers(0, len(palette_names())))]
        rgb = render(x, name)
        if rng.random() < 0.7:
            ok, enc = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(50, 96))])
            rgb = cv2.imdecode(enc, cv2.IMREAD_COLOR)[:, :, ::-1]
        x = palette_to_intensity(np.ascontiguousarray(rgb), name) / np.float32(255.0)
    if mode >= 0.25:  # the runtime's percentile normalisation of an 8-bit frame
        lo, hi = np.percentile(x, 1.0), np.percentile(x, 99.5)
        x = np.clip((x - lo) / max(hi - lo, 1e-3), 0, 1).astype(np.float32)
    return x


def make_patch(scene, rng: np.random.Generator, size=(160, 128)):
    """One (image (H, W) float32, boxes (K, 4)) training patch of ``size`` (width, height)."""
    t, boxes = scene
    pw, ph = size
    h, w = t.shape
    if len(boxes) and rng.random() < 0.85:
        k = int(rng.integers(0, len(boxes)))
        fw = max(float(boxes[k, 2] - boxes[k, 0]), 1.0)
        want = float(np.exp(rng.uniform(np.log(6.0), np.log(120.0))))
        s = float(np.clip(want / fw, 0.05, 4.0))
        focus = ((boxes[k, 0] + boxes[k, 2]) / 2 * s, (boxes[k, 1] + boxes[k, 3]) / 2 * s)
    else:
        s = float(rng.uniform(0.25, 1.2)) * pw / max(w, 1) * 2
        focus = None
    nw, nh = max(int(round(w * s)), 8), max(int(round(h * s)), 8)
    ts = cv2.resize(t, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    b = boxes * np.float32(s)
    if focus is not None:
        x0 = int(focus[0] - rng.uniform(0.1, 0.9) * pw)
        y0 = int(focus[1] - rng.uniform(0.1, 0.9) * ph)
    else:
        x0 = int(rng.integers(min(0, nw - pw), max(1, nw - pw + 1)))
        y0 = int(rng.integers(min(0, nh - ph), max(1, nh - ph + 1)))
    bg = float(np.percentile(t[::8, ::8], 10))
    patch = np.full((ph, pw), bg, np.float32)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + pw, nw), min(y0 + ph, nh)
    if sx1 > sx0 and sy1 > sy0:
        patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = ts[sy0:sy1, sx0:sx1]
    b = b - np.array([x0, y0, x0, y0], np.float32)
    if len(b):
        clipped = np.clip(b, [0, 0, 0, 0], [pw, ph, pw, ph])
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        keep = ((clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1]) >= 0.5 * np.maximum(area, 1e-6))
        b = clipped[keep & ((clipped[:, 2] - clipped[:, 0]) >= 4)]
    if rng.random() < 0.7:
        _texture(patch, rng)
    if rng.random() < 0.5:
        _clutter(patch, rng, int(rng.integers(1, 4)), b)
    patch += rng.normal(0, rng.uniform(0.0, 0.3), patch.shape).astype(np.float32)
    if rng.random() < 0.5:
        patch = cv2.GaussianBlur(patch, (0, 0), float(rng.uniform(0.3, 1.2)))
    x = _to_unit(patch, rng)
    if rng.random() < 0.5:
        x = x[:, ::-1].copy()
        b = b.copy()
        b[:, [0, 2]] = pw - b[:, [2, 0]]
    return x, b


def targets(boxes: np.ndarray, size=(160, 128)):
    """CenterNet targets at stride 4: heatmap (1, h, w), box (4, h, w), mask (h, w)."""
    gw, gh = size[0] // STRIDE, size[1] // STRIDE
    heat = np.zeros((gh, gw), np.float32)
    reg = np.zeros((4, gh, gw), np.float32)
    mask = np.zeros((gh, gw), np.float32)
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    for x0, y0, x1, y1 in boxes:
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        bw, bh = max((x1 - x0) / STRIDE, 0.5), max((y1 - y0) / STRIDE, 0.5)
        ix, iy = int(np.clip(cx, 0, gw - 1)), int(np.clip(cy, 0, gh - 1))
        sigma = max(0.6, 0.15 * min(bw, bh) * 2)
        heat = np.maximum(heat, np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma ** 2)))
        heat[iy, ix] = 1.0
        reg[:, iy, ix] = (cx - ix, cy - iy, np.log(bw), np.log(bh))
        mask[iy, ix] = 1.0
    return heat[None], reg, mask
