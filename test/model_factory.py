"""Real ONNX landmark models for tests, built with ``onnx.helper`` (no torch needed).

``make_fixed_landmark_model`` writes a model whose SimCC logits peak at given crop positions whatever
the input, so a test knows exactly where each landmark must land in the image after the crop/un-warp
path. It runs in the real onnxruntime; it is a test instrument, never shipped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from thermal_fld_ros.codec import SimCCCodec
from thermal_fld_ros.model_meta import META_KEY, LandmarkModelMeta

FIXTURE_OPSET = 17  # ReduceMean takes axes as an input only from opset 18


def frontal_template(input_size=(96, 96), num_points: int = 70) -> np.ndarray:
    """A plausible frontal 70-point layout in crop pixels (jaw arc, brows, nose, eyes, mouth, pupils)."""
    w, h = input_size
    cx, cy, r = w / 2.0, h / 2.0, min(w, h) / 2.0 / 1.3  # landmark box half-side at crop scale 1.3
    pts = []
    for t in np.linspace(np.pi, 0, 17):  # jaw: image-left ear -> chin -> image-right ear
        pts.append((cx + np.cos(t) * r, cy - 0.1 * r + np.sin(t) * 1.05 * r))
    for x0 in (-0.8, 0.2):  # brows: image-left brow then image-right brow, each left to right
        for k in range(5):
            pts.append((cx + (x0 + 0.15 * k) * r, cy - 0.55 * r))
    for k in range(4):  # nose bridge
        pts.append((cx, cy - 0.35 * r + 0.13 * k * r))
    for k in range(5):  # nose base
        pts.append((cx - 0.2 * r + 0.1 * k * r, cy + 0.25 * r))
    for ex in (-0.4, 0.4):  # eyes, iBUG order: corner, upper, upper, corner, lower, lower (left to right)
        for u, v in ((-0.18, 0.0), (-0.06, -0.06), (0.06, -0.06), (0.18, 0.0), (0.06, 0.06), (-0.06, 0.06)):
            pts.append((cx + (ex + u) * r, cy - 0.25 * r + v * r))
    for k in range(12):  # outer mouth
        a = np.pi + 2 * np.pi * k / 12
        pts.append((cx + 0.35 * r * np.cos(a), cy + 0.55 * r + 0.15 * r * np.sin(a)))
    for k in range(8):  # inner mouth
        a = np.pi + 2 * np.pi * k / 8
        pts.append((cx + 0.25 * r * np.cos(a), cy + 0.55 * r + 0.06 * r * np.sin(a)))
    pts.append((cx - 0.4 * r, cy - 0.25 * r))  # right pupil (image left)
    pts.append((cx + 0.4 * r, cy - 0.25 * r))  # left pupil
    return np.asarray(pts[:num_points], np.float32)


def make_fixed_landmark_model(path: Path, crop_points: np.ndarray | None = None, input_size=(96, 96),
                              split_ratio: float = 2.0, trained: bool = True, sharpness: float = 8.0,
                              scheme: str = "ibug70", presence=None) -> Path:
    """Write an ONNX model (input 'input' [B,1,H,W]) whose outputs peak at ``crop_points`` (N, 2).

    ``presence`` adds the optional output 'presence' [B] = sigmoid(gain * mean(input) + bias) for
    ``(gain, bias)`` (a float p: the constant p), listed in the metadata ``outputs`` as the student's is.
    """
    path = Path(path)
    pts = frontal_template(input_size) if crop_points is None else np.asarray(crop_points, np.float32)
    n = len(pts)
    codec = SimCCCodec(tuple(input_size), split_ratio)
    tx, ty, _ = codec.encode(pts)
    lx = (np.log(tx + 1e-6) / 10.0 * sharpness).astype(np.float32)[None]  # (1, N, Wx)
    ly = (np.log(ty + 1e-6) / 10.0 * sharpness).astype(np.float32)[None]
    w, h = input_size
    # Batch-dependent broadcast: zeros of shape [B, 1, 1] from the input, plus the constant logits.
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["m"], axes=[1, 2, 3], keepdims=1),  # [B,1,1,1]
        helper.make_node("Squeeze", ["m", "sq_axes"], ["m3"]),  # [B,1,1]
        helper.make_node("Mul", ["m3", "zero"], ["z"]),
        helper.make_node("Add", ["z", "lx"], ["simcc_x"]),
        helper.make_node("Add", ["z", "ly"], ["simcc_y"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([3], np.int64), "sq_axes"),
        numpy_helper.from_array(np.zeros((1,), np.float32), "zero"),
        numpy_helper.from_array(lx, "lx"),
        numpy_helper.from_array(ly, "ly"),
    ]
    outputs = [helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, ["batch", n, lx.shape[-1]]),
               helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, ["batch", n, ly.shape[-1]])]
    if presence is not None:
        gain, bias = (0.0, float(np.log(presence / (1.0 - presence)))) if np.isscalar(presence) else presence
        nodes += [helper.make_node("Reshape", ["m", "flat"], ["m1"]),  # [B] mean of each crop's input
                  helper.make_node("Mul", ["m1", "p_gain"], ["pg"]),
                  helper.make_node("Add", ["pg", "p_bias"], ["pl"]),
                  helper.make_node("Sigmoid", ["pl"], ["presence"])]
        inits += [numpy_helper.from_array(np.array([-1], np.int64), "flat"),
                  numpy_helper.from_array(np.array([gain], np.float32), "p_gain"),
                  numpy_helper.from_array(np.array([bias], np.float32), "p_bias")]
        outputs.append(helper.make_tensor_value_info("presence", TensorProto.FLOAT, ["batch"]))
    graph = helper.make_graph(
        nodes, "fixed_landmarks",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, h, w])], outputs, inits)
    # Opset 17 / IR 8: what onnxruntime 1.12 (the one pip picks beside Ubuntu 22.04's numpy 1.21.5) runs.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", FIXTURE_OPSET)])
    model.ir_version = 8
    meta = LandmarkModelMeta(scheme=scheme, num_points=n, input_size=tuple(input_size), split_ratio=split_ratio,
                             trained=trained, model_name="test-fixed-landmarks",
                             outputs=[o.name for o in outputs],
                             recipe={"note": "test instrument: fixed outputs, not a trained network"})
    helper.set_model_props(model, {META_KEY: meta.to_json()})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
