"""Model metadata: what the runtime must know about a landmark or detector model.

Stored inside the ONNX file (``metadata_props["thermal_fld"]``, JSON) and beside it as
``<model>.json`` for humans. The runtime reads it; nothing about a model is hard-coded in a node.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

META_KEY = "thermal_fld"
FORMAT_VERSION = 1


@dataclass
class LandmarkModelMeta:
    scheme: str = "ibug70"
    num_points: int = 70
    input_name: str = "input"
    input_size: Tuple[int, int] = (96, 96)  # (width, height)
    input_channels: int = 1
    input_mean: float = 0.5  # model input = (normalised frame in [0, 1] - mean) / std
    input_std: float = 0.25
    crop_scale: float = 1.3  # crop side / max side of the landmark box
    decoder: str = "simcc"
    split_ratio: float = 2.0
    outputs: List[str] = field(default_factory=lambda: ["simcc_x", "simcc_y"])
    trained: bool = False  # the node refuses models that are not marked trained
    model_name: str = ""
    recipe: Dict[str, Any] = field(default_factory=dict)  # config, recipe hash, data used and its terms
    metrics: Dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    task: str = "landmarks"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, doc: Dict[str, Any]) -> LandmarkModelMeta:
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        meta = cls(**known)
        meta.input_size = tuple(int(v) for v in meta.input_size)  # type: ignore[assignment]
        if meta.task != "landmarks":
            raise ValueError(f"model task is {meta.task!r}, expected 'landmarks'")
        if meta.format_version > FORMAT_VERSION:
            raise ValueError(f"model metadata format {meta.format_version} is newer than {FORMAT_VERSION}")
        return meta


def sidecar_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def read_onnx_metadata(model_path: Path) -> Dict[str, Any]:
    """Metadata dict from the ONNX file's properties, else from the sidecar JSON.

    Uses onnxruntime (a runtime dependency) rather than the ``onnx`` package.
    """
    import onnxruntime as ort

    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"model file not found: {model_path}")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several types for corrupt files
        raise ValueError(f"cannot load ONNX model {model_path}: {exc}") from exc
    props = sess.get_modelmeta().custom_metadata_map
    if META_KEY in props:
        return json.loads(props[META_KEY])
    side = sidecar_path(model_path)
    if side.is_file():
        return json.loads(side.read_text(encoding="utf-8"))
    raise ValueError(f"{model_path}: no '{META_KEY}' metadata in the model and no sidecar {side.name}")
