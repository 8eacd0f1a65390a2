"""False-colour palettes and their inversion back to a scalar intensity.

Many thermal cameras (FLIR Lepton/PureThermal, phone add-ons) only publish a palette-rendered RGB
image. Each palette is a 1D curve through RGB space from cold to hot; inverting it means finding,
for each pixel, the nearest point of that curve. The curves below are piecewise-linear through control
colours read off real Lepton frames (grey, iron, hot/fire, rainbow, high-contrast rainbow).
Nearest-point search is cached per palette on a 6-bit RGB cube (filled lazily), so a frame costs a lookup.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, Tuple

import numpy as np

LUT_SIZE = 256  # points along each palette curve -> intensity 0..255
_CUBE_BITS = 6  # RGB cube resolution for the nearest-point lookup
_AUTO_SAMPLE = 4000  # pixels used to pick a palette in 'auto' mode
_GREY_SPREAD = 12.0  # mean max-min channel spread below which an RGB frame is grey

# Control colours (RGB), cold -> hot.
PALETTES: Dict[str, Tuple[Tuple[int, int, int], ...]] = {
    "grey": ((0, 0, 0), (255, 255, 255)),
    "ironbow": ((0, 0, 20), (5, 0, 90), (60, 0, 140), (120, 0, 155), (175, 0, 150), (210, 30, 115),
                (235, 75, 30), (245, 115, 5), (250, 155, 0), (255, 200, 25), (250, 240, 130),
                (255, 255, 255)),
    "hot": ((0, 0, 0), (60, 0, 0), (150, 0, 0), (215, 0, 0), (255, 45, 0), (255, 110, 10),
            (255, 170, 0), (255, 215, 0), (255, 250, 45), (255, 255, 255)),
    "rainbow": ((0, 0, 0), (60, 10, 60), (40, 10, 120), (15, 15, 200), (15, 50, 220), (15, 90, 190),
                (15, 130, 140), (15, 170, 90), (15, 215, 20), (80, 175, 15), (140, 115, 15), (200, 60, 15),
                (240, 15, 15), (240, 80, 50), (240, 145, 85), (240, 205, 140), (240, 240, 180), (255, 255, 255)),
    "rainbow_hc": ((10, 0, 10), (60, 0, 60), (150, 0, 150), (240, 10, 240), (170, 10, 230), (90, 10, 210),
                   (20, 10, 200), (15, 70, 200), (15, 150, 230), (15, 235, 235), (15, 200, 160), (15, 150, 80),
                   (20, 130, 20), (80, 150, 15), (170, 210, 15), (245, 245, 15), (240, 175, 15), (220, 100, 15),
                   (205, 30, 15), (215, 80, 80), (240, 150, 150), (245, 215, 215), (255, 255, 255)),
}
PALETTE_ALIASES = {"gray": "grey", "iron": "ironbow", "fire": "hot", "white_hot": "grey"}


def palette_names():
    return sorted(PALETTES)


def palette_table(name: str) -> np.ndarray:
    """(LUT_SIZE, 3) float32 RGB colours of ``name`` sampled evenly along its curve (by arc length)."""
    name = PALETTE_ALIASES.get(name, name)
    if name not in PALETTES:
        raise ValueError(f"unknown palette {name!r}; known: {', '.join(palette_names())} or 'auto'")
    return _table(name)


@lru_cache(maxsize=32)
def _table(name: str) -> np.ndarray:
    ctrl = np.asarray(PALETTES[name], np.float64)
    seg = np.linalg.norm(np.diff(ctrl, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], LUT_SIZE)
    table = np.stack([np.interp(t, s, ctrl[:, c]) for c in range(3)], 1)
    return table.astype(np.float32)


def render(intensity01: np.ndarray, name: str) -> np.ndarray:
    """Scalar field in [0, 1] -> uint8 RGB image through palette ``name`` (tests, demos)."""
    table = palette_table(name)
    idx = np.clip(np.rint(np.asarray(intensity01, np.float64) * (LUT_SIZE - 1)), 0, LUT_SIZE - 1).astype(np.intp)
    return np.rint(table[idx]).astype(np.uint8)


class _NearestCube:
    """Nearest palette index and distance for each cell of the 6-bit RGB cube, filled lazily.

    Only the cells a stream actually shows are computed (a few thousand per frame at first, then
    almost none), so the first palette frame costs milliseconds, not a full cube.
    """

    def __init__(self, name: str):
        n = 1 << _CUBE_BITS
        self.table = _table(name)
        self.tsq = (self.table ** 2).sum(1)
        self.idx = np.zeros(n ** 3, np.uint8)
        self.dist = np.zeros(n ** 3, np.float32)
        self.done = np.zeros(n ** 3, bool)

    def lookup(self, cells: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        todo = np.unique(cells[~self.done[cells]])
        if len(todo):
            step = 256.0 / (1 << _CUBE_BITS)
            rgb = np.stack([todo >> (2 * _CUBE_BITS), (todo >> _CUBE_BITS) & ((1 << _CUBE_BITS) - 1),
                            todo & ((1 << _CUBE_BITS) - 1)], 1).astype(np.float32)
            rgb = (rgb + 0.5) * np.float32(step)
            for a in range(0, len(todo), 8192):
                c = rgb[a:a + 8192]
                d2 = (c ** 2).sum(1)[:, None] - 2.0 * c @ self.table.T + self.tsq[None, :]
                k = d2.argmin(1)
                sel = todo[a:a + 8192]
                self.idx[sel] = k
                self.dist[sel] = np.sqrt(np.maximum(d2[np.arange(len(k)), k], 0.0))
            self.done[todo] = True
        return self.idx[cells], self.dist[cells]


@lru_cache(maxsize=32)
def _cube(name: str) -> _NearestCube:
    return _NearestCube(name)


def _cell_index(rgb: np.ndarray) -> np.ndarray:
    q = (rgb >> (8 - _CUBE_BITS)).astype(np.intp)
    return (q[..., 0] << (2 * _CUBE_BITS)) | (q[..., 1] << _CUBE_BITS) | q[..., 2]


def detect_palette(rgb: np.ndarray) -> str:
    """Name of the palette whose curve lies closest to the frame's colours."""
    flat = rgb.reshape(-1, 3)
    stride = max(1, len(flat) // _AUTO_SAMPLE)
    sample = flat[::stride]
    spread = sample.max(1).astype(np.float32) - sample.min(1)
    if float(spread.mean()) < _GREY_SPREAD:
        return "grey"
    cells = _cell_index(sample)
    best, best_err = "grey", np.inf
    for name in PALETTES:
        if name == "grey":
            continue
        err = float(np.median(_cube(name).lookup(cells)[1]))
        if err < best_err:
            best, best_err = name, err
    return best


def palette_to_intensity(rgb: np.ndarray, palette: str = "auto") -> np.ndarray:
    """uint8 (H, W, 3) RGB palette image -> float32 (H, W) intensity in 0..255, monotonic cold -> hot.

    Grey frames use the channel mean; coloured palettes the index of the nearest curve point.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"palette image must be (H, W, 3), got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"palette image must be uint8, got {rgb.dtype}")
    name = detect_palette(rgb) if palette == "auto" else PALETTE_ALIASES.get(palette, palette)
    if name == "grey":
        return rgb.mean(2, dtype=np.float32)
    if name not in PALETTES:
        raise ValueError(f"unknown palette {palette!r}; known: {', '.join(palette_names())} or 'auto'")
    idx, _ = _cube(name).lookup(_cell_index(rgb))
    return idx.astype(np.float32) * np.float32(255.0 / (LUT_SIZE - 1))
