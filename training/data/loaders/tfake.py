"""T-FAKE (Flotho et al., CVPR 2025): synthetic thermal renderings of FaceSynthetics faces, 70 points.

Layout (FaceSynthetics files, with T-FAKE's thermal images beside them or in their own folder, as the
T-FAKE code reads them)::

    root/<id>.png            RGB FaceSynthetics render (512x512), the visual pair
    root/<id>_ldmks.txt      70 lines "x y" in pixels: 68 iBUG points + 2 pupils (scheme ``ibug70``)
    root/<id>_seg.png        segmentation (not used here)
    thermal_dir/<id>_thermal.png   16-bit thermal image ("warm" or "cold" release; default root)

T-FAKE's thermal images are style-transferred, not radiometric: ``ThermalDecoding("intensity")``.
Ids with landmarks but no thermal image are skipped (``extra`` of the first record counts them); no
thermal image at all is an error. The release has no splits, so ``split`` must be None.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import numpy as np

from ..records import FaceRecord, ThermalDecoding
from .common import DatasetError, check_points, find_with_stem, image_size, parse_floats, require_dir

SCHEME = "ibug70"


def load_tfake(root: Path, split: Optional[str] = None, thermal_dir: Optional[Path] = None,
               with_rgb: bool = True) -> List[FaceRecord]:
    """Records of a T-FAKE folder (see the module docstring)."""
    if split is not None:
        raise DatasetError("T-FAKE has no official splits; load with split=None and split the list")
    root = require_dir(Path(root), "T-FAKE")
    tdir = require_dir(Path(thermal_dir), "T-FAKE thermal") if thermal_dir is not None else root
    records: List[FaceRecord] = []
    skipped = 0
    for ann in sorted(root.glob("*_ldmks.txt")):
        sid = ann.name[: -len("_ldmks.txt")]
        thermal = find_with_stem(tdir, f"{sid}_thermal")
        if thermal is None:
            skipped += 1
            continue
        size = image_size(thermal)
        pts, visible = check_points(_read_ldmks(ann), SCHEME, size, ann)
        rgb = find_with_stem(root, sid, (".png", ".jpg")) if with_rgb else None
        if rgb is not None and image_size(rgb) != size:
            raise DatasetError(f"{rgb}: size {image_size(rgb)} differs from thermal {thermal} {size}")
        records.append(FaceRecord(image_path=thermal, landmarks=pts, scheme=SCHEME,
                                  decoding=ThermalDecoding("intensity"), visible=visible, rgb_path=rgb,
                                  extra={"dataset": "tfake", "id": sid, "annotation": str(ann)}))
    if not records:
        raise DatasetError(f"{root}: no '<id>_ldmks.txt' with a '<id>_thermal.png' in {tdir}")
    records[0].extra["skipped_without_thermal"] = skipped
    return records


def _read_ldmks(path: Path) -> np.ndarray:
    rows = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            vals = parse_floats(line, path, no)
            if len(vals) != 2:
                raise DatasetError(f"{path}:{no}: expected 'x y', got {len(vals)} values")
            rows.append(vals)
    return np.asarray(rows, np.float64).reshape(-1, 2)
