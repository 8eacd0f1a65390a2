"""Room clutter with thermal meaning, drawn into both background layers: hot things a face detector must
not take for faces (monitors, lamps, radiators, hot cups, laptops), cold ones (windows in winter, cold
drinks) and neutral furniture. Temperatures: typical surface values (monitor housings 30-40 C, bulbs and
lamp shades 40-90 C, radiators 40-60 C, hot drinks 50-70 C, single glazing 5-10 K below room air).
"""
from __future__ import annotations

from typing import Dict, List

import cv2
import numpy as np

KINDS = ("monitor", "lamp", "radiator", "cup", "window", "laptop", "cold_drink", "furniture", "plant")
_P = np.array([0.14, 0.10, 0.08, 0.14, 0.08, 0.08, 0.06, 0.22, 0.10])


def _rect(img, x0, y0, x1, y1, val) -> None:
    cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), val, -1)


def draw(rng: np.random.Generator, bg_t: np.ndarray, bg_rgb: np.ndarray, ambient: float,
         count: int) -> List[Dict]:
    """Draw ``count`` objects; returns their kind, box (x0, y0, x1, y1) and hottest temperature (deg C)."""
    h, w = bg_t.shape
    out = []
    for _ in range(count):
        kind = KINDS[int(rng.choice(len(KINDS), p=_P / _P.sum()))]
        s = float(np.exp(rng.uniform(np.log(0.03), np.log(0.35)))) * min(w, h)
        x, y = float(rng.uniform(-0.1, 1.0) * w), float(rng.uniform(0.0, 1.0) * h)
        col = tuple(float(c) for c in rng.uniform(0, 1, 3))
        if kind == "monitor":
            bw, bh = 1.6 * s, s
            t = ambient + rng.uniform(6, 14)
            _rect(bg_t, x, y, x + bw, y + bh, t)
            _rect(bg_t, x, y + 0.8 * bh, x + bw, y + bh, t + rng.uniform(1, 4))  # electronics at the bottom
            _rect(bg_t, x + 0.45 * bw, y + bh, x + 0.55 * bw, y + 1.3 * bh, ambient + 1.0)
            _rect(bg_rgb, x, y, x + bw, y + bh, (0.05, 0.05, 0.06))
            _rect(bg_rgb, x + 0.04 * bw, y + 0.05 * bh, x + 0.96 * bw, y + 0.85 * bh, col)
            box, hot = (x, y, x + bw, y + 1.3 * bh), t + 4
        elif kind == "lamp":
            r = 0.25 * s
            t = ambient + rng.uniform(20, 65)
            glow = np.zeros_like(bg_t)
            cv2.circle(glow, (int(x), int(y)), max(1, int(r)), 1.0, -1)
            glow = cv2.GaussianBlur(glow, (0, 0), max(1.0, r * 0.6))
            bg_t += (t - ambient) * glow
            cv2.circle(bg_rgb, (int(x), int(y)), max(1, int(r)), (1.0, 0.95, 0.75), -1)
            box, hot = (x - r, y - r, x + r, y + r), t
        elif kind == "radiator":
            bw, bh = 1.5 * s, 0.8 * s
            t = ambient + rng.uniform(15, 35)
            n = int(rng.integers(6, 14))
            for i in range(n):
                xi = x + i * bw / n
                _rect(bg_t, xi, y, xi + 0.6 * bw / n, y + bh, t)
                _rect(bg_t, xi + 0.6 * bw / n, y, xi + bw / n, y + bh, t - rng.uniform(3, 8))
            _rect(bg_rgb, x, y, x + bw, y + bh, (0.92, 0.92, 0.9))
            box, hot = (x, y, x + bw, y + bh), t
        elif kind in ("cup", "cold_drink"):
            cw, ch = 0.25 * s, 0.32 * s
            t = ambient + rng.uniform(25, 45) if kind == "cup" else ambient - rng.uniform(8, 15)
            _rect(bg_t, x, y, x + cw, y + ch, t)
            cv2.ellipse(bg_t, (int(x + cw), int(y + ch / 2)), (max(1, int(cw / 4)), max(1, int(ch / 4))), 0, -90,
                        90, t - 5 if kind == "cup" else t, max(1, int(cw / 10)))
            _rect(bg_rgb, x, y, x + cw, y + ch, col)
            box, hot = (x, y, x + cw, y + ch), t
        elif kind == "window":
            bw, bh = 1.2 * s, 1.5 * s
            t = ambient - rng.uniform(3, 10) if rng.random() < 0.7 else ambient + rng.uniform(2, 8)  # sun
            _rect(bg_t, x, y, x + bw, y + bh, t)
            _rect(bg_rgb, x, y, x + bw, y + bh, (0.75, 0.85, 0.98))
            _rect(bg_rgb, x + bw * 0.48, y, x + bw * 0.52, y + bh, (0.9, 0.9, 0.9))
            box, hot = (x, y, x + bw, y + bh), t
        elif kind == "laptop":
            bw, bh = 1.0 * s, 0.6 * s
            t = ambient + rng.uniform(5, 15)
            _rect(bg_t, x, y, x + bw, y + bh, ambient + rng.uniform(2, 6))
            _rect(bg_t, x - 0.05 * bw, y + bh, x + 1.05 * bw, y + 1.12 * bh, t)
            _rect(bg_rgb, x, y, x + bw, y + bh, col)
            _rect(bg_rgb, x - 0.05 * bw, y + bh, x + 1.05 * bw, y + 1.12 * bh, (0.6, 0.6, 0.62))
            box, hot = (x - 0.05 * bw, y, x + 1.05 * bw, y + 1.12 * bh), t
        elif kind == "plant":
            r = 0.3 * s
            t = ambient - rng.uniform(0.5, 2.0)  # evaporation
            for _k in range(int(rng.integers(3, 8))):
                cx, cy = x + rng.normal(0, r), y + rng.normal(0, r)
                ax = (max(1, int(r * rng.uniform(0.3, 0.7))), max(1, int(r * rng.uniform(0.15, 0.35))))
                ang = float(rng.uniform(0, 180))
                cv2.ellipse(bg_t, (int(cx), int(cy)), ax, ang, 0, 360, t, -1)
                cv2.ellipse(bg_rgb, (int(cx), int(cy)), ax, ang, 0, 360, (0.1, rng.uniform(0.3, 0.6), 0.1), -1)
            box, hot = (x - 2 * r, y - 2 * r, x + 2 * r, y + 2 * r), t
        else:  # furniture: shelves, doors, tables near room temperature
            bw, bh = s * rng.uniform(0.8, 2.5), s * rng.uniform(0.5, 2.5)
            t = ambient + rng.normal(0, 0.8)
            _rect(bg_t, x, y, x + bw, y + bh, t)
            _rect(bg_rgb, x, y, x + bw, y + bh, col)
            box, hot = (x, y, x + bw, y + bh), t
        out.append({"kind": kind, "box": [round(float(v), 1) for v in box], "temp_c": round(float(hot), 2)})
    return out
