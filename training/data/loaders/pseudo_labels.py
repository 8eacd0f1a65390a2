"""Pseudo-labelled real thermal faces (``python -m training pseudolabel``): the generic JSON layout plus
the fields that tool writes (``subject``, ``source``, ``terms``, per-point weights as ``visible``).

``subjects`` / ``exclude_subjects`` split by person, so that a held-out readout on real faces never
shares a person with the faces a model adapted on. ``masked_background``: the images' background was set
to 0 by their publisher (PUJ); the dataset may replace it with clutter during training
(``AugmentConfig.masked_background_prob``) so that a model does not learn "faces sit on black".
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import List, Optional, Sequence

from ..records import FaceRecord, ThermalDecoding
from .common import DatasetError
from .generic import load_generic

MASKED_BACKGROUND = "masked_background"


def load_pseudo_labels(root: Path, split: Optional[str] = None, scheme: str = "ibug70",
                       subjects: Sequence[str] = (), exclude_subjects: Sequence[str] = (),
                       masked_background: bool = False) -> List[FaceRecord]:
    """Records of one pseudo-label folder, filtered by subject; each keeps its source and terms."""
    out: List[FaceRecord] = []
    keep, drop = set(subjects), set(exclude_subjects)
    for rec in load_generic(Path(root), split, scheme=scheme, decoding=ThermalDecoding("intensity")):
        ann = Path(rec.extra["annotation"])
        try:
            doc = json.loads(ann.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{ann}: unreadable pseudo-label ({exc})") from None
        subject = str(doc.get("subject", ""))
        if (keep and subject not in keep) or subject in drop:
            continue
        extra = {**rec.extra, "dataset": "pseudo_labels", "subject": subject, "source": doc.get("source", ""),
                 "terms": doc.get("terms", ""), MASKED_BACKGROUND: bool(masked_background)}
        out.append(replace(rec, extra=extra))
    if not out:
        raise DatasetError(f"{root}/{split or ''}: no pseudo-labelled faces left after the subject filter")
    return out
