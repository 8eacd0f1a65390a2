"""Real-dataset loaders: each reads one published format from a path the user gives (never downloads).

``load_dataset(kind, root, split=None, **opts)`` dispatches by name; every loader returns
``FaceRecord`` lists with landmarks in a scheme registered in ``thermal_fld_ros.schemes``.
Layouts are documented in each module and in docs/datasets.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional

from ..records import FaceRecord
from .charlotte import load_charlotte
from .common import DatasetError
from .generic import load_generic, read_pts
from .pseudo_labels import load_pseudo_labels
from .rgb_photos import load_rgb_photos
from .sftl54 import load_sftl54
from .tfake import load_tfake
from .yolo_boxes import load_yolo_boxes

LOADERS: Dict[str, Callable[..., List[FaceRecord]]] = {
    "charlotte": load_charlotte,
    "sftl54": load_sftl54,
    "tfake": load_tfake,
    "generic": load_generic,
    "yolo": load_yolo_boxes,
    "rgb_photos": load_rgb_photos,
    "pseudo_labels": load_pseudo_labels,
}


def register_loader(kind: str, fn: Callable[..., List[FaceRecord]]) -> None:
    """Add a loader (e.g. the synthetic set's) so configs can name it like the built-in ones."""
    LOADERS[kind] = fn


def load_dataset(kind: str, root, split: Optional[str] = None, **opts) -> List[FaceRecord]:
    """Records of dataset ``kind`` at ``root``; ``opts`` go to the loader (see its docstring)."""
    if kind == "synth" and kind not in LOADERS:
        try:
            from ..synth import load_synth_split
        except ImportError as exc:
            raise DatasetError(f"synthetic loader unavailable ({exc})") from None
        return load_synth_split(Path(root), split or "train", **opts)
    try:
        fn = LOADERS[kind]
    except KeyError:
        raise DatasetError(f"unknown dataset kind {kind!r}; known: {sorted(LOADERS) + ['synth']}") from None
    return fn(Path(root), split, **opts)


__all__ = ["LOADERS", "DatasetError", "load_dataset", "register_loader", "read_pts", "load_charlotte",
           "load_sftl54", "load_tfake", "load_generic", "load_yolo_boxes"]
