"""Face-sized windows of synthetic thermal scenes that hold no face: the presence head's clutter negatives.

On a real camera a crop without a face is most often a hot object (a lamp, a kettle, a monitor), a hand or
a body, rarely plain background. The face crops the landmark models train on show little of that, so their
presence head can learn "warm blob = face": on the real Chips sequences the bundled student scored a lamp
and a kettle P(face) 0.999. These records are windows of rendered scenes (``python -m training detector
render``: people with bodies and hands, room clutter): centred on clutter, on warm pixels (skin, bodies, hot
things) or anywhere, the size of a face, never holding one.

Layout: ``root/*.npz`` with ``temperature`` (deg C), ``boxes`` (faces) and ``distractors`` (clutter boxes;
scenes rendered before the clutter was stored have none, and get warm and anywhere windows only).
One :class:`FaceRecord` per window: scheme ``box_only``, no landmarks, ``box`` = the window (what a detector
box on that spot would be), ``extra[NOT_A_FACE]`` True.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from ..records import NOT_A_FACE, FaceRecord, ThermalDecoding
from .common import DatasetError, require_dir

SCHEME = "box_only"
WINDOW_KINDS = (("clutter", 0.45), ("warm", 0.4), ("anywhere", 0.15))
WARM_QUANTILE = 0.9  # warm pixels: the hottest 10 % of the frame (skin, bodies, hot things)


def holds_a_face(centre: np.ndarray, side: float, boxes: np.ndarray) -> bool:
    """True when a face's centre lies in the central half of the square window (``centre``, ``side``) and the
    face is not tiny in it: such a window is a face crop, however off-centre."""
    for b in np.asarray(boxes, np.float64).reshape(-1, 4):
        c = np.array([0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3])])
        size = max(b[2] - b[0], b[3] - b[1])
        if np.all(np.abs(c - np.asarray(centre)) <= 0.25 * side) and size >= 0.2 * side:
            return True
    return False


def _window(kind: str, rng: np.random.Generator, temp: np.ndarray, clutter: np.ndarray, min_side: float,
            max_side: float) -> Optional[Tuple[np.ndarray, float]]:
    """(centre, side) of one window of ``kind``; None when the scene has nothing of that kind."""
    h, w = temp.shape
    side = float(np.exp(rng.uniform(np.log(min_side), np.log(max_side))))
    if kind == "clutter":
        if not len(clutter):
            return None
        b = clutter[int(rng.integers(len(clutter)))]
        c = np.array([0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3])])
        side = float(np.clip(max(b[2] - b[0], b[3] - b[1]) * rng.uniform(0.4, 1.2), min_side, max_side))
        centre = c + rng.uniform(-0.25, 0.25, 2) * side
    elif kind == "warm":
        ys, xs = np.nonzero(temp >= np.quantile(temp, WARM_QUANTILE))
        if not len(ys):
            return None
        j = int(rng.integers(len(ys)))
        centre = np.array([xs[j], ys[j]], np.float64)
    else:
        centre = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    if not (0 <= centre[0] < w and 0 <= centre[1] < h):
        return None
    return centre, side


def load_scene_negatives(root: Path, split: Optional[str] = None, per_scene: int = 4, seed: int = 0,
                         min_side: float = 10.0, max_side_frac: float = 0.4, crop_scale: float = 0.0,
                         limit: int = 0) -> List[FaceRecord]:
    """``per_scene`` non-face windows of each scene in ``root`` (``split`` unused: one folder).

    ``crop_scale``: the crop the runtime takes around a box (0: ``thermal_fld_ros.crop.CROP_SCALE``); a window
    whose crop would hold a face is redrawn (up to 4 tries). ``limit``: the first N scenes only.
    """
    from thermal_fld_ros.crop import CROP_SCALE

    root = require_dir(Path(root), "scene store")
    files = sorted(root.glob("*.npz"))
    if limit:
        files = files[:int(limit)]
    if not files:
        raise DatasetError(f"{root}: no scene .npz files (render them: python -m training detector render "
                           f"--out {root})")
    scale = float(crop_scale or CROP_SCALE)
    kinds, probs = zip(*WINDOW_KINDS)
    p = np.asarray(probs) / sum(probs)
    records: List[FaceRecord] = []
    for k, path in enumerate(files):
        rng = np.random.default_rng([int(seed), k])
        with np.load(path) as z:
            temp = z["temperature"].astype(np.float32)
            faces = z["boxes"].reshape(-1, 4)
            clutter = z["distractors"].reshape(-1, 4) if "distractors" in z else np.zeros((0, 4))
        h, w = temp.shape
        max_side = max(min_side * 1.5, max_side_frac * min(h, w))
        for i in range(int(per_scene)):
            for _ in range(4):
                kind = kinds[int(rng.choice(len(kinds), p=p))]
                got = _window(kind, rng, temp, clutter, min_side, max_side)
                if got is None or holds_a_face(got[0], got[1] * scale, faces):
                    continue
                (cx, cy), side = got
                box = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])
                records.append(FaceRecord(
                    image_path=path, landmarks=np.zeros((0, 2)), scheme=SCHEME, decoding=ThermalDecoding("celsius"),
                    visible=np.zeros((0,), np.float32), box=box,
                    extra={"dataset": "scene_negatives", NOT_A_FACE: True, "window": kind, "window_index": i,
                           "image_size": (w, h)}))
                break
    return records
