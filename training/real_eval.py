"""Readouts on real thermal faces that no model trained on (``data.real_eval``), per source.

Each source is scored separately (a two-frame labelled set and a few hundred pseudo-labelled faces must not
be averaged into one number): inter-ocular NME of a torch model's predictions on the runtime crop of the
record's landmarks. Pseudo-labelled faces measure agreement with MediaPipe's (mirror-averaged) labels,
not accuracy; the report says so.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List

import numpy as np

from thermal_fld_ros.codec import SimCCCodec
from training.config import SourceConfig, TrainConfig


@dataclass
class RealReadout:
    source: str
    faces: int
    nme_mean: float
    nme_median: float
    kind: str  # "labels" (human labels) or "pseudo-labels" (agreement with a teacher)

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


def source_name(src: SourceConfig) -> str:
    return f"{src.loader}:{src.root}" + (f"/{src.split}" if src.split else "")


def real_readouts(model, cfg: TrainConfig, sources: List[SourceConfig]) -> List[RealReadout]:
    """NME of ``model`` (thermal, torch) on every real source."""
    from training.data.dataset import LandmarkDataset
    from training.evaluate import build_eval_set, nme_array, predict_torch
    from training.runs import load_records

    d = cfg.data
    codec = SimCCCodec(tuple(d.input_size), d.split_ratio)
    out = []
    for src in sources:
        records = load_records([src])
        ds = LandmarkDataset(records, d.scheme, tuple(d.input_size), augment=None, split_ratio=d.split_ratio)
        es = build_eval_set(ds)
        pts, _ = predict_torch(model, es, codec, d.input_mean, d.input_std)
        nme = nme_array(pts, es, d.scheme)
        kind = "pseudo-labels" if src.loader == "pseudo_labels" else "labels"
        out.append(RealReadout(source_name(src), int(len(es.crops)), float(np.nanmean(nme)),
                               float(np.nanmedian(nme)), kind))
    return out


def format_readouts(readouts: List[RealReadout]) -> str:
    return "; ".join(f"{r.source} ({r.faces}, {r.kind}): NME mean {r.nme_mean:.4f} median {r.nme_median:.4f}"
                     for r in readouts)
