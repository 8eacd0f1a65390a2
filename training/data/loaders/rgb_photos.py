"""Real RGB face photos with landmarks (e.g. the 300-W HELEN/AFW sets): data for the RGB teacher only.

The MLCM-KD method moves an RGB landmark model's knowledge into thermal; that knowledge has to come from
real photos. These records carry the photo as their RGB image and are flagged ``rgb_only`` so that the
dataset never feeds a colour photo to a thermal model: only the RGB teacher stage reads them.

Layout: the generic folder format (``<name>.jpg`` + ``<name>.pts``, 300-W 1-based coordinates by default),
optionally under ``split``; ``subdirs`` lists folders below ``root`` to read together (e.g.
``[helen/trainset, afw/afw]``).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import List, Optional, Sequence

from ..records import FaceRecord
from .common import DatasetError, require_dir
from .generic import load_generic

RGB_ONLY = "rgb_only"


def load_rgb_photos(root: Path, split: Optional[str] = None, scheme: str = "ibug68",
                    subdirs: Sequence[str] = (), pts_origin: float = 1.0) -> List[FaceRecord]:
    """Records of real RGB photos (``rgb_path`` = the photo, ``extra['rgb_only']`` True)."""
    root = require_dir(Path(root), "RGB photo set")
    folders = [require_dir(root / s, "RGB photo folder") for s in subdirs] if subdirs else [root]
    out: List[FaceRecord] = []
    for folder in folders:
        for rec in load_generic(folder, split, scheme=scheme, pts_origin=pts_origin):
            out.append(replace(rec, rgb_path=rec.image_path,
                               extra={**rec.extra, "dataset": "rgb_photos", RGB_ONLY: True,
                                      "source": str(folder.relative_to(root)) if folder != root else ""}))
    if not out:
        raise DatasetError(f"{root}: no RGB photos with landmarks")
    return out


def is_rgb_only(rec: FaceRecord) -> bool:
    return bool(rec.extra.get(RGB_ONLY, False))
