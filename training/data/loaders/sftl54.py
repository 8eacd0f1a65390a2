"""SF-TL54 (IS2AI): thermal faces with 54 landmarks, face boxes and visual (RGB) pairs.

Two layouts are read (``root`` may also be the folder that contains ``dataset/``):

1. **IS2AI release** (Google Drive / Hugging Face ``issai/SFTL54``, as the IS2AI scripts read it)::

       root/{gray,iron}/{train,val,test}/images/<name>.png   thermal, 8-bit grey or iron palette
       root/{gray,iron}/{train,val,test}/json/<name>.json    LabelMe: shapes[] with label "face"
                                                            (rectangle [[x0,y0],[x1,y1]]) and the
                                                            landmark shapes (points, 54 in all)
       root/rgb/{train,val,test}/<name>.png                 visual pair, same name (optional)

   Landmark shapes are taken in file order, or by label when every label is an integer. The visual
   image is used as a pixel-aligned pair only when its size equals the thermal image's (SpeakingFaces
   aligned the streams); otherwise it is left out of ``rgb_path`` and kept in ``extra``.
2. **faiyaz106 sample layout** (``../shared/data/real_thermal/faiyaz106_thermal54``)::

       root/arrays/<name>.npy        float32 temperature in degrees Fahrenheit (radiometric)
       root/gray/<name>.jpg          8-bit render;  root/iron/<name>.png  iron palette
       root/labels/<name>.txt        54 lines "k x y 0.1 0.1", x, y normalised to the image size
       root/bounding_box.json        VGG Image Annotator export: one "rect" region per image

   The thermal frame comes from ``arrays`` (``thermal="arrays"``, default when present), else from
   ``gray`` or ``iron``. This layout has no splits.

Points are in the ``sftl54`` scheme (iBUG 0-47 + 6 mouth points, see ``thermal_fld_ros.schemes``).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict, List, Optional

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
    require_file,
)

SCHEME = "sftl54"
N_POINTS = 54
SPLIT_ALIASES = {"train": ("train",), "val": ("val", "valid", "validation"),
                 "valid": ("val", "valid", "validation"), "test": ("test",)}
log = logging.getLogger(__name__)


def load_sftl54(root: Path, split: Optional[str] = None, palette: str = "gray",
                thermal: Optional[str] = None) -> List[FaceRecord]:
    """Records of an SF-TL54 folder in either layout (see the module docstring)."""
    root = require_dir(Path(root), "SF-TL54 dataset")
    if not (root / "labels").is_dir() and not (root / palette).is_dir() and (root / "dataset").is_dir():
        root = root / "dataset"
    if (root / "labels").is_dir():
        if split is not None:
            raise DatasetError(f"{root}: this SF-TL54 layout (labels/ + bounding_box.json) has no splits; "
                               f"pass split=None")
        return _load_sample_layout(root, thermal)
    return _load_release_layout(root, split, palette)


# -- IS2AI release ------------------------------------------------------------------------------------

def _split_dirs(base: Path, split: Optional[str]) -> List[Path]:
    if split is None:
        return [d for d in sorted(base.iterdir()) if d.is_dir() and (d / "images").is_dir()]
    for name in SPLIT_ALIASES.get(split, (split,)):
        if (base / name).is_dir():
            return [base / name]
    raise DatasetError(f"{base}: no split folder for {split!r}")


def _load_release_layout(root: Path, split: Optional[str], palette: str) -> List[FaceRecord]:
    base = require_dir(root / palette, f"SF-TL54 '{palette}'")
    records: List[FaceRecord] = []
    for sdir in _split_dirs(base, split):
        images = list_images(require_dir(sdir / "images", "SF-TL54 images"))
        json_dir = require_dir(sdir / "json", "SF-TL54 json")
        rgb_dir = root / "rgb" / sdir.name
        for img in images:
            ann = require_file(json_dir / f"{img.stem}.json", f"annotation of {img.name}")
            size = image_size(img)
            pts, box = _read_labelme(ann)
            pts, visible = check_points(pts, SCHEME, size, ann)
            rec = FaceRecord(image_path=img, landmarks=pts, scheme=SCHEME, decoding=ThermalDecoding("intensity"),
                             visible=visible, box=check_box(box, size, ann) if box is not None else None,
                             extra={"dataset": "sftl54", "split": sdir.name, "annotation": str(ann)})
            rgb = find_with_stem(rgb_dir, img.stem) if rgb_dir.is_dir() else None
            if rgb is not None:
                if image_size(rgb) == size:
                    rec.rgb_path = rgb
                else:
                    rec.extra["rgb_unaligned"] = str(rgb)
            records.append(rec)
    if not records:
        raise DatasetError(f"{base}: no SF-TL54 images found")
    return records


def _read_labelme(path: Path):
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        shapes = doc["shapes"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: not a LabelMe annotation ({exc})") from None
    box = None
    groups = []
    for i, shape in enumerate(shapes):
        try:
            label = str(shape.get("label", ""))
            pts = np.asarray(shape["points"], np.float64).reshape(-1, 2)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise DatasetError(f"{path}: shape {i} has no valid 'points'") from None
        if label.lower() == "face":
            if len(pts) != 2:
                raise DatasetError(f"{path}: face rectangle needs 2 corner points, has {len(pts)}")
            box = [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()]
        else:
            groups.append((label, pts))
    if all(_is_int(label) for label, _ in groups):
        groups.sort(key=lambda g: int(g[0]))
    if not groups:
        raise DatasetError(f"{path}: no landmark shapes")
    return np.concatenate([g[1] for g in groups]), box


def _is_int(text: str) -> bool:
    try:
        int(text)
        return True
    except ValueError:
        return False


# -- faiyaz106 sample layout ---------------------------------------------------------------------------

def _load_sample_layout(root: Path, thermal: Optional[str]) -> List[FaceRecord]:
    if thermal is None:
        thermal = "arrays" if (root / "arrays").is_dir() else "gray"
    if thermal not in ("arrays", "gray", "iron"):
        raise DatasetError(f"{root}: thermal source must be 'arrays', 'gray' or 'iron', got {thermal!r}")
    img_dir = require_dir(root / thermal, f"SF-TL54 {thermal}")
    decoding = ThermalDecoding("fahrenheit") if thermal == "arrays" else ThermalDecoding("intensity")
    boxes = _read_via_boxes(root / "bounding_box.json")
    records = []
    for label in sorted(require_dir(root / "labels", "SF-TL54 labels").glob("*.txt")):
        img = find_with_stem(img_dir, label.stem)
        if img is None:
            raise DatasetError(f"{label}: no image '{label.stem}.*' in {img_dir}")
        size = image_size(img)
        pts, visible = check_points(_read_keypoint_txt(label, size), SCHEME, size, label)
        box = boxes.get(label.stem)
        records.append(FaceRecord(
            image_path=img, landmarks=pts, scheme=SCHEME, decoding=decoding, visible=visible,
            box=check_box(box, size, root / "bounding_box.json") if box is not None else None,
            extra={"dataset": "sftl54", "layout": "faiyaz106", "annotation": str(label)}))
    if not records:
        raise DatasetError(f"{root / 'labels'}: no label files")
    return records


def _read_keypoint_txt(path: Path, size) -> np.ndarray:
    """Lines "k x y [w h]" with x, y normalised -> (54, 2) pixels (NaN for indices not listed)."""
    w, h = size
    pts = np.full((N_POINTS, 2), np.nan)
    seen = set()
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        vals = parse_floats(line, path, no)
        if len(vals) < 3 or vals[0] != int(vals[0]):
            raise DatasetError(f"{path}:{no}: expected 'k x y [w h]', got {line.strip()[:60]!r}")
        k = int(vals[0])
        if not 0 <= k < N_POINTS:
            raise DatasetError(f"{path}:{no}: landmark index {k} outside 0..{N_POINTS - 1}")
        if k in seen:
            raise DatasetError(f"{path}:{no}: landmark {k} listed twice")
        seen.add(k)
        pts[k] = (vals[1] * w, vals[2] * h)
    if len(seen) != N_POINTS:
        missing = sorted(set(range(N_POINTS)) - seen)[:5]
        raise DatasetError(f"{path}: {len(seen)} landmarks, expected {N_POINTS} (missing e.g. {missing})")
    return pts


def _read_via_boxes(path: Path) -> Dict[str, list]:
    """VIA export -> {image stem: [x0, y0, x1, y1]} (first rect region per image)."""
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "_via_img_metadata" in doc:
            doc = doc["_via_img_metadata"]
        out = {}
        for entry in doc.values():
            for region in entry.get("regions", []):
                sa = region["shape_attributes"]
                if sa.get("name") == "rect":
                    x, y = float(sa["x"]), float(sa["y"])
                    out[Path(entry["filename"]).stem] = [x, y, x + float(sa["width"]), y + float(sa["height"])]
                    break
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path}: not a VIA box export ({exc})") from None
    return out
