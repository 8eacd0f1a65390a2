"""Model metadata: what the runtime must know about a landmark or detector model.

Stored inside the ONNX file (``metadata_props["thermal_fld"]``, JSON) and beside it as
``<model>.json`` for humans. The runtime reads it; nothing about a model is hard-coded in a node.
Every field is checked at load (type, range, finiteness), so a bad model stops start-up with one line
naming the file and the field instead of failing on every frame.
"""
from __future__ import annotations

import json
import math
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
    def from_dict(cls, doc: Any, source: str = "metadata") -> LandmarkModelMeta:
        """Checked metadata: every field's type, range and finiteness. A problem raises ValueError with
        one line naming ``source`` (the file) and the field."""
        if not isinstance(doc, dict):
            raise ValueError(f"{source}: metadata must be a JSON object, got {_kind(doc)}")
        kw = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        defaults = cls()
        for name, value in kw.items():
            _check_field(name, value, getattr(defaults, name), source)
        meta = cls(**kw)
        meta.input_size = tuple(int(v) for v in meta.input_size)  # type: ignore[assignment]
        meta.outputs = list(meta.outputs)
        if meta.task != "landmarks":
            raise ValueError(f"{source}: field 'task' is {meta.task!r}, expected 'landmarks'")
        if meta.format_version > FORMAT_VERSION:
            raise ValueError(f"{source}: field 'format_version' {meta.format_version} is newer than this runtime's "
                             f"{FORMAT_VERSION}: update thermal_fld_ros")
        from .schemes import SCHEMES

        if meta.scheme not in SCHEMES:
            raise ValueError(f"{source}: field 'scheme' {meta.scheme!r} is not a known landmark scheme "
                             f"(known: {', '.join(sorted(SCHEMES))})")
        return meta


# field -> (low, high) for numbers; checked after the type
RANGES = {"num_points": (1, 1000), "input_channels": (1, 4), "input_std": (1e-6, 1e6), "input_mean": (-1e6, 1e6),
          "crop_scale": (0.5, 4.0), "split_ratio": (0.25, 16.0), "format_version": (1, 10 ** 6)}
SIZE_RANGE = (8, 4096)
RUNTIME_FIELDS = ("scheme", "num_points", "input_name", "input_size", "input_channels", "input_mean", "input_std",
                  "crop_scale", "decoder", "split_ratio", "outputs", "trained", "task", "format_version")


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
             int: "an integer", float: "a number"}
    return f"{value!r} ({names.get(type(value), type(value).__name__)})"


def _check_field(name: str, value: Any, default: Any, source: str) -> None:
    def bad(expected: str) -> ValueError:
        return ValueError(f"{source}: field '{name}' must be {expected}, got {_kind(value)}")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("a boolean (true or false)")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad("a finite number")
    elif isinstance(default, str):
        if not isinstance(value, str) or (name in ("scheme", "input_name", "decoder", "task") and not value):
            raise bad("a non-empty string" if name != "model_name" else "a string")
    elif isinstance(default, dict):
        if not isinstance(value, dict):
            raise bad("an object")
    elif name == "input_size":
        if not (isinstance(value, (list, tuple)) and len(value) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                and all(SIZE_RANGE[0] <= v <= SIZE_RANGE[1] for v in value)):
            raise bad(f"[width, height], two integers in [{SIZE_RANGE[0]}, {SIZE_RANGE[1]}]")
    elif name == "outputs":
        if not (isinstance(value, list) and len(value) >= 2 and all(isinstance(v, str) and v for v in value)):
            raise bad("a list of at least 2 output names (SimCC x, SimCC y[, presence])")
    rng = RANGES.get(name)
    if rng is not None and not rng[0] <= value <= rng[1]:
        raise bad(f"in [{rng[0]:g}, {rng[1]:g}]" if name != "input_std" else "> 0")


def sidecar_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{source}: not valid JSON ({exc})") from exc


def read_onnx_metadata(model_path: Path) -> Dict[str, Any]:
    """Metadata dict from the ONNX file's properties, else from the sidecar JSON (unchecked; see
    :func:`load_landmark_meta`). Uses onnxruntime (a runtime dependency) rather than the ``onnx`` package."""
    embedded, side = _read_both(Path(model_path))
    if embedded is not _MISSING:
        return embedded
    if side is not _MISSING:
        return side
    raise ValueError(f"{model_path}: no '{META_KEY}' metadata in the model and no sidecar "
                     f"{sidecar_path(model_path).name}")


_MISSING = object()  # no such metadata (a JSON ``null`` is a value, and refused as one)


def _read_both(model_path: Path) -> Tuple[Any, Any]:
    """(embedded, sidecar) parsed JSON values, each ``_MISSING`` when absent."""
    import onnxruntime as ort

    if not model_path.is_file():
        raise FileNotFoundError(f"model file not found: {model_path}")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several types for corrupt files
        raise ValueError(f"cannot load ONNX model {model_path}: {exc}") from exc
    props = sess.get_modelmeta().custom_metadata_map
    embedded = _parse(props[META_KEY], f"{model_path} (embedded '{META_KEY}' metadata)") if META_KEY in props \
        else _MISSING
    side_file = sidecar_path(model_path)
    side = _MISSING
    if side_file.is_file():
        try:
            side = _parse(side_file.read_text(encoding="utf-8"), str(side_file))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{side_file}: cannot read the sidecar ({exc})") from exc
    return embedded, side


def load_landmark_meta(model_path: Path) -> Tuple[LandmarkModelMeta, List[str]]:
    """Checked metadata of a landmark model, and warnings.

    The embedded metadata wins; a sidecar that contradicts it on a field the runtime uses is refused
    (one line naming both files and the field), on other fields (metrics, recipe, name) it is a warning.
    """
    model_path = Path(model_path)
    embedded, side = _read_both(model_path)
    side_file = sidecar_path(model_path)
    if embedded is _MISSING and side is _MISSING:
        raise ValueError(f"{model_path}: no '{META_KEY}' metadata in the model and no sidecar {side_file.name}")
    if embedded is _MISSING:
        return LandmarkModelMeta.from_dict(side, str(side_file)), []
    meta = LandmarkModelMeta.from_dict(embedded, f"{model_path} (embedded metadata)")
    if side is _MISSING:
        return meta, []
    other = LandmarkModelMeta.from_dict(side, str(side_file))
    a, b = asdict(meta), asdict(other)
    for name in RUNTIME_FIELDS:
        if a[name] != b[name]:
            raise ValueError(f"{model_path}: the embedded metadata and the sidecar {side_file.name} disagree on "
                             f"'{name}' ({a[name]!r} vs {b[name]!r}); re-export the model, or delete the stale "
                             f"sidecar")
    differ = [k for k in a if k not in RUNTIME_FIELDS and a[k] != b[k]]
    warnings = [f"{side_file}: differs from the model's embedded metadata on {', '.join(differ)} (the embedded "
                f"values are used)"] if differ else []
    return meta, warnings
