"""YOLO-style face-box folders: face boxes without landmarks, for detector training and evaluation.

Layout (e.g. the Chips Thermal Face frames in ``../shared/data/real_thermal/chips_thermal_face``)::

    root/images/<name>.<jpeg|jpg|png|...>
    root/annotations_yolo_format/<name>.txt   (or root/labels/<name>.txt)
        one line per face: "class cx cy w h", all normalised to 0..1 of the image size

An optional ``split`` selects ``root/<split>/images`` + ``root/<split>/labels`` (Ultralytics layout).
One :class:`FaceRecord` per face (scheme ``box_only``, zero landmarks), with ``extra["faces_in_image"]``.
An image without a label file has no faces (YOLO convention) and yields no record.
Palette or grey JPEGs are non-radiometric: ``ThermalDecoding("intensity")`` by default.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from ..records import FaceRecord, ThermalDecoding
from .common import DatasetError, check_box, image_size, list_images, parse_floats, require_dir

SCHEME = "box_only"
LABEL_DIRS = ("annotations_yolo_format", "labels")


def load_yolo_boxes(root: Path, split: Optional[str] = None, classes: Optional[Sequence[int]] = (0,),
                    decoding: ThermalDecoding = ThermalDecoding("intensity")) -> List[FaceRecord]:
    """Face records from a YOLO-style folder; ``classes`` keeps those class ids (None: all)."""
    root = require_dir(Path(root), "YOLO dataset")
    if split is not None:
        root = require_dir(root / split, f"split {split!r}")
    img_dir = require_dir(root / "images", "images")
    label_dir = next((root / d for d in LABEL_DIRS if (root / d).is_dir()), None)
    if label_dir is None:
        raise DatasetError(f"{root}: no label folder ({' or '.join(LABEL_DIRS)})")
    images = list_images(img_dir)
    if not images:
        raise DatasetError(f"{img_dir}: no images")
    by_stem = {p.stem: p for p in images}
    orphans = [p.name for p in sorted(label_dir.glob("*.txt")) if p.stem not in by_stem]
    if orphans:
        raise DatasetError(f"{label_dir}: label files without an image, e.g. {orphans[:3]}")
    records: List[FaceRecord] = []
    for img in images:
        label = label_dir / f"{img.stem}.txt"
        if not label.is_file():
            continue
        size = image_size(img)
        boxes = _read_yolo(label, size, classes)
        for i, box in enumerate(boxes):
            records.append(FaceRecord(
                image_path=img, landmarks=np.zeros((0, 2)), scheme=SCHEME, decoding=decoding,
                visible=np.zeros((0,), np.float32), box=box,
                extra={"dataset": "yolo", "annotation": str(label), "face_index": i,
                       "faces_in_image": len(boxes), "image_size": size}))
    return records


def _read_yolo(path: Path, size, classes) -> List[np.ndarray]:
    w, h = size
    out = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        vals = parse_floats(line, path, no)
        if len(vals) != 5:
            raise DatasetError(f"{path}:{no}: expected 'class cx cy w h', got {len(vals)} values")
        cls, cx, cy, bw, bh = vals
        if not np.isfinite(vals).all():
            raise DatasetError(f"{path}:{no}: non-finite value in {line.strip()!r}")
        if classes is not None and int(cls) not in classes:
            continue
        if bw <= 0 or bh <= 0:
            raise DatasetError(f"{path}:{no}: empty box (w={bw}, h={bh})")
        box = [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
        out.append(check_box(box, size, Path(f"{path}:{no}")))
    return out
