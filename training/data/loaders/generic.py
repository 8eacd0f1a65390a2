"""Generic folder: thermal images with one landmark file per image, in a scheme the user names.

Layout::

    root[/<split>]/<name>.<png|tif|jpg|npy|...>   thermal image
    root[/<split>]/<name>.pts   iBUG/300-W format:  version: 1 / n_points: N / { x y lines } ;
                                coordinates 1-based as in 300-W (``pts_origin=1``: 1 is subtracted)
    or root[/<split>]/<name>.json:
        {"landmarks": [[x, y], ...],            0-based pixels; null/NaN for a missing point
         "visible": [1, 0, ...],                optional
         "box": [x0, y0, x1, y1],               optional
         "pose_ypr_deg": [yaw, pitch, roll],    optional
         "rgb": "relative/path.png"}            optional pixel-aligned visual pair
        (a bare list of [x, y] is accepted too)

``annotations`` may name another folder holding the landmark files; ``rgb_dir`` a folder of visual
pairs found by name. ``decoding`` says how pixels become temperatures (default: intensity).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import numpy as np

from ..records import FaceRecord, ThermalDecoding
from .common import (
    DatasetError,
    check_box,
    check_points,
    find_with_stem,
    image_size,
    list_images,
    parse_floats,
    require_dir,
)


def load_generic(root: Path, split: Optional[str] = None, scheme: Optional[str] = None,
                 decoding: ThermalDecoding = ThermalDecoding("intensity"), annotations: Optional[Path] = None,
                 rgb_dir: Optional[Path] = None, pts_origin: float = 1.0) -> List[FaceRecord]:
    """Records of a folder of images + ``.pts``/``.json`` files (see the module docstring)."""
    if scheme is None:
        raise DatasetError("generic folder loader needs scheme=<name> (e.g. 'ibug68', 'ibug70', 'sftl54')")
    root = require_dir(Path(root), "dataset")
    if split is not None:
        root = require_dir(root / split, f"split {split!r}")
    ann_dir = require_dir(Path(annotations), "annotations") if annotations is not None else root
    images = [p for p in list_images(root) if p.suffix.lower() != ".json"]
    records: List[FaceRecord] = []
    for img in images:
        pts_file, json_file = ann_dir / f"{img.stem}.pts", ann_dir / f"{img.stem}.json"
        size = image_size(img)
        extra = {"dataset": "generic"}
        box = pose = rgb = vis_given = None
        if pts_file.is_file():
            pts = read_pts(pts_file) - float(pts_origin)
            src = pts_file
        elif json_file.is_file():
            pts, vis_given, box, pose, rgb = _read_json(json_file)
            src = json_file
        else:
            raise DatasetError(f"{img}: no landmark file ({pts_file.name} or {json_file.name}) in {ann_dir}")
        pts, visible = check_points(pts, scheme, size, src, allow_nan=src is json_file)
        if vis_given is not None:
            if vis_given.shape != visible.shape:
                raise DatasetError(f"{src}: 'visible' has {vis_given.size} entries, expected {visible.size}")
            visible = visible * vis_given
        if rgb is not None:
            rgb = (src.parent / rgb)
            if not rgb.is_file():
                raise DatasetError(f"{src}: rgb pair {rgb} not found")
        elif rgb_dir is not None:
            rgb = find_with_stem(Path(rgb_dir), img.stem)
        extra["annotation"] = str(src)
        records.append(FaceRecord(
            image_path=img, landmarks=pts, scheme=scheme, decoding=decoding, visible=visible, rgb_path=rgb,
            box=check_box(box, size, src) if box is not None else None,
            pose_ypr_deg=None if pose is None else np.asarray(pose, np.float64), extra=extra))
    if not records:
        raise DatasetError(f"{root}: no images")
    return records


def read_pts(path: Path) -> np.ndarray:
    """An iBUG ``.pts`` file -> (N, 2) float64 exactly as written (no origin shift)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: unreadable ({exc})") from None
    n = None
    pts = []
    inside = False
    for no, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        if text.lower().startswith("n_points"):
            try:
                n = int(text.split(":", 1)[1])
            except (IndexError, ValueError):
                raise DatasetError(f"{path}:{no}: bad n_points line {text!r}") from None
        elif text == "{":
            inside = True
        elif text == "}":
            inside = False
        elif inside:
            vals = parse_floats(text, path, no)
            if len(vals) != 2:
                raise DatasetError(f"{path}:{no}: expected 'x y', got {text!r}")
            pts.append(vals)
    if n is None:
        raise DatasetError(f"{path}: no 'n_points:' header (not an iBUG .pts file)")
    if len(pts) != n:
        raise DatasetError(f"{path}: header says {n} points, file lists {len(pts)}")
    return np.asarray(pts, np.float64).reshape(-1, 2)


def _read_json(path: Path):
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: unreadable JSON ({exc})") from None
    if isinstance(doc, list):
        doc = {"landmarks": doc}
    if not isinstance(doc, dict) or "landmarks" not in doc:
        raise DatasetError(f"{path}: expected an object with 'landmarks'")
    try:
        pts = np.array([[np.nan, np.nan] if p is None else p for p in doc["landmarks"]], np.float64)
    except (TypeError, ValueError):
        raise DatasetError(f"{path}: 'landmarks' must be a list of [x, y]") from None
    vis = doc.get("visible")
    vis = None if vis is None else np.asarray(vis, np.float32).reshape(-1)
    pose = doc.get("pose_ypr_deg")
    if pose is not None and (len(pose) != 3 or not np.isfinite(np.asarray(pose, float)).all()):
        raise DatasetError(f"{path}: 'pose_ypr_deg' must be 3 finite numbers")
    return pts, vis, doc.get("box"), pose, doc.get("rgb")
