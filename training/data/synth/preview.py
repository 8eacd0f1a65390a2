"""A picture of the generator: a grid of RGB / thermal pairs with the landmarks drawn (for the README)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from training.data.synth.render import SynthOptions, render_sample


def _draw(img: np.ndarray, pts: np.ndarray, vis: np.ndarray) -> np.ndarray:
    out = img.copy()
    for (u, v), ok in zip(pts, vis):
        if np.isfinite(u) and np.isfinite(v):
            cv2.circle(out, (int(round(u * 4)), int(round(v * 4))), 4, (60, 255, 60) if ok else (40, 40, 255),
                       -1, cv2.LINE_AA, 2)
    return out


def thermal_colour(temp_c: np.ndarray, lo: float = None, hi: float = None) -> np.ndarray:
    """Temperatures -> BGR with a fixed palette, window from the frame's percentiles."""
    lo = np.percentile(temp_c, 1) if lo is None else lo
    hi = np.percentile(temp_c, 99.5) if hi is None else hi
    g = np.clip((temp_c - lo) / max(hi - lo, 1e-3) * 255, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(g, cv2.COLORMAP_INFERNO)


def _fit(img: np.ndarray, width: int) -> np.ndarray:
    """Scale a frame to ``width`` pixels wide (scenes have sensor sizes; crops are square)."""
    if img.shape[1] == width:
        return img
    h = int(round(img.shape[0] * width / img.shape[1]))
    return cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA)


def preview_grid(path, count: int = 8, seed: int = 7, opts: SynthOptions = None, cols: int = 0) -> Path:
    """Write ``count`` pairs (RGB over thermal) to ``path``; green = visible points, red = hidden; scenes
    also show the face boxes, scaled to a common tile width."""
    opts = opts or SynthOptions()
    cols = cols or (int(np.ceil(count / 2)) if count <= 8 else 4)
    tiles = []
    tile_w = int(opts.size) if opts.mode == "crops" else 320
    for i in range(count):
        s = render_sample(i, seed, opts)
        rgb = cv2.cvtColor(s.rgb, cv2.COLOR_RGB2BGR)
        th = thermal_colour(s.temperature)
        for f in s.annotation["faces"]:
            pts, vis = np.asarray(f["landmarks"]), np.asarray(f["visible"])
            rgb, th = _draw(rgb, pts, vis), _draw(th, pts, vis)
            if opts.mode != "crops":
                x0, y0, x1, y1 = (int(round(v)) for v in f["box"])
                for im in (rgb, th):
                    cv2.rectangle(im, (x0 - 1, y0 - 1), (x1 + 1, y1 + 1), (255, 255, 0), 1)
        tiles.append(np.vstack([_fit(rgb, tile_w), _fit(th, tile_w)]))
    h_max = max(t.shape[0] for t in tiles)
    tiles = [np.pad(t, ((0, h_max - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[r:r + cols]) for r in range(0, len(tiles), cols)]
    grid = np.vstack(rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), grid, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"could not write {path}")
    return path
