"""Read a synthetic split back as ``FaceRecord`` lists (one record per face)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

import numpy as np

from training.data.records import FaceRecord, ThermalDecoding
from training.data.synth.writer import FORMAT


def load_synth_split(root, split: str, min_visible: int = 0) -> List[FaceRecord]:
    """All faces of ``root/split`` with landmarks, visibility, box, pose, intrinsics and the RGB pair.

    ``min_visible``: skip faces with fewer visible landmarks (e.g. mostly outside a scene frame).
    """
    split_dir = Path(root) / split
    path = split_dir / "annotations.json"
    if not path.is_file():
        raise FileNotFoundError(f"no synthetic split at {split_dir} (missing annotations.json)")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("format") != FORMAT:
        raise ValueError(f"{path}: format {doc.get('format')!r}, expected {FORMAT!r}")
    dec = doc["thermal_decoding"]
    decoding = ThermalDecoding(dec["type"], float(dec["scale"]), float(dec["offset"]))
    records: List[FaceRecord] = []
    for s in doc["samples"]:
        k = np.asarray(s["camera_matrix"], np.float64)
        for j, f in enumerate(s["faces"]):
            lm = np.asarray(f["landmarks"], np.float64)
            if lm.shape != (70, 2) or not np.isfinite(lm).all():
                raise ValueError(f"{path}: sample {s['id']} face {j}: bad landmarks {lm.shape}")
            if int(np.sum(f["visible"])) < min_visible:
                continue
            pose = f["pose"]
            records.append(FaceRecord(
                image_path=split_dir / s["thermal"], landmarks=lm, scheme=doc["scheme"], decoding=decoding,
                visible=np.asarray(f["visible"], np.uint8), rgb_path=split_dir / s["rgb"],
                box=np.asarray(f["box"], np.float64),
                pose_ypr_deg=np.array([pose["yaw"], pose["pitch"], pose["roll"]], np.float64),
                camera_matrix=k,
                extra={"id": s["id"], "face": j, "R": np.asarray(pose["R"]), "t": np.asarray(pose["t"]),
                       "ambient_c": s["ambient_c"], "width": s["width"], "height": s["height"]}))
    return records
