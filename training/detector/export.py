"""Checkpoint -> ONNX (opset 13: onnxruntime 1.12 on Humble runs it) with dynamic batch/height/width,
plus its metadata (embedded and as a sidecar JSON) naming the data it was trained on and their terms."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from thermal_fld_ros.model_meta import META_KEY  # one key for every model file

from .model import STRIDE, CentreFaceNet


def metadata(ck: dict, box_scale, note: str) -> dict:
    return {
        "task": "face_detection",
        "model_name": "centreface_thermal",
        "architecture": f"CentreFaceNet(width={ck.get('width', 16)}): centre heatmap + box, stride {STRIDE}",
        "input_name": "image",
        "input": "float32 (B, 1, H, W) in [0, 1], white-hot normalised thermal frame; H, W multiples of 32",
        "outputs": ["heatmap", "box"],
        "stride": STRIDE,
        "box_encoding": "box channels: offset x, offset y (cells), log width, log height (cells)",
        "box_convention": "tight face box of the 68 landmarks (crop.landmarks_box framing)",
        "box_scale": [float(v) for v in box_scale],
        "long_side": 320,
        "trained": True,
        "training_steps": int(ck.get("step", 0)),
        "training_data": "synthetic thermal scenes only: ICT-FaceKit heads with bodies, hands and distractors "
                         "(training/data/synth/ict) and procedural heads (training/data/synth), rendered by "
                         "`python -m training detector render`, augmented with clutter, all palettes of "
                         "thermal_fld_ros/palettes.py, AGC/radiometric windows, JPEG, blur, noise",
        "data_terms": "ICT-FaceKit face model: MIT licence (USC ICT); procedural generator: this repository. "
                      "No real images were used for the network weights.",
        "notes": note,
    }


def export(checkpoint: Path, out: Path, box_scale=(1.0, 1.0, 0.0), note: str = "", extra: dict | None = None) -> Path:
    """Write ``out`` (.onnx, metadata embedded) and its .json sidecar; ``extra`` overrides metadata keys
    (the Chips model's name, training data and terms)."""
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = CentreFaceNet(ck.get("width", 16))
    model.load_state_dict(ck["model"])
    model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    x = torch.rand(1, 1, 128, 160)
    torch.onnx.export(model, x, str(out), input_names=["image"], output_names=["heatmap", "box"], opset_version=13,
                      dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                    "heatmap": {0: "batch", 2: "gh", 3: "gw"}, "box": {0: "batch", 2: "gh", 3: "gw"}},
                      dynamo=False)
    meta = metadata(ck, box_scale, note)
    meta.update(extra or {})
    import onnx

    m = onnx.load(str(out))
    prop = m.metadata_props.add()
    prop.key, prop.value = META_KEY, json.dumps(meta)
    onnx.save(m, str(out))
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out
