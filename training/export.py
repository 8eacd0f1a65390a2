"""Student -> ONNX for the runtime: export, metadata, simplify, parity check, fp16 / int8 variants.

The exported graph takes the standardised crop ``(crop01 - input_mean) / input_std`` as input
``input`` [batch, 1, H, W] and returns ``simcc_x`` / ``simcc_y`` logits; the runtime's
``thermal_fld_ros.landmark_model`` standardises with the metadata written here and decodes with
``thermal_fld_ros.codec``, exactly as ``training.evaluate`` does. A model with a presence head
(``models.presence``) has a third output ``presence`` [batch]: the probability (sigmoid of the logit)
that the crop shows a face; the metadata's ``outputs`` then lists it third.
"""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import onnx
import torch

from thermal_fld_ros.crop import CROP_SCALE
from thermal_fld_ros.model_meta import META_KEY, LandmarkModelMeta, sidecar_path
from training.models import LandmarkNet

OUTPUTS = ("simcc_x", "simcc_y")
PRESENCE_OUTPUT = "presence"


def output_names(model: LandmarkNet) -> tuple:
    """The ONNX outputs of ``model``: the two SimCC logits, plus ``presence`` when it has that head."""
    return OUTPUTS + ((PRESENCE_OUTPUT,) if getattr(model, "has_presence", False) else ())


class _WithPresence(torch.nn.Module):
    """Export view of a model with a presence head: (simcc_x, simcc_y, P(face)) in one graph."""

    def __init__(self, model: LandmarkNet):
        super().__init__()
        self.model = model

    def forward(self, x):
        f = self.model.features(x)
        sx, sy = self.model.head(f)
        return sx, sy, torch.sigmoid(self.model.presence(f))


def export_view(model: LandmarkNet) -> torch.nn.Module:
    return _WithPresence(model) if getattr(model, "has_presence", False) else model


class ParityError(RuntimeError):
    """onnxruntime and torch disagree by more than the allowed bound."""


def export_onnx(model: LandmarkNet, path: Path, input_size, opset: int = 17) -> Path:
    """Trace ``model`` to ONNX with a dynamic batch axis (TorchScript exporter: fast, no onnxscript)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = input_size
    model = model.eval().cpu()
    dummy = torch.zeros(1, model.in_channels, h, w)
    names = output_names(model)
    axes = {"input": {0: "batch"}, **{n: {0: "batch"} for n in names}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
        torch.onnx.export(export_view(model), (dummy,), str(path), input_names=["input"], output_names=list(names),
                          dynamic_axes=axes, opset_version=opset, dynamo=False)
    return path


def simplify(path: Path) -> Path:
    """Fold constants and fuse patterns with onnxslim (in place); keeps the original if slimming fails."""
    import onnxslim

    try:
        slim = onnxslim.slim(onnx.load(str(path)))
        onnx.checker.check_model(slim)
    except Exception as exc:  # noqa: BLE001 - a failed optional optimisation must not fail the export
        warnings.warn(f"onnxslim failed on {path.name} ({exc}); keeping the unsimplified model", stacklevel=2)
        return path
    onnx.save(slim, str(path))
    return path


def build_meta(cfg, model_name: str, num_points: int, metrics: Optional[Dict[str, Any]] = None,
               recipe_extra: Optional[Dict[str, Any]] = None, outputs=OUTPUTS) -> LandmarkModelMeta:
    d = cfg.data
    recipe = {"config_hash": cfg.recipe_hash(), "config": cfg.to_dict(), "method": "MLCM-KD (KTL + MCL)",
              "data": data_terms(cfg)}
    recipe.update(recipe_extra or {})
    return LandmarkModelMeta(scheme=d.scheme, num_points=num_points, input_name="input",
                             input_size=tuple(int(v) for v in d.input_size), input_channels=1,
                             input_mean=d.input_mean, input_std=d.input_std, crop_scale=CROP_SCALE,
                             decoder="simcc", split_ratio=d.split_ratio, outputs=list(outputs), trained=True,
                             model_name=model_name, recipe=recipe, metrics=dict(metrics or {}))


TERMS = {
    "synth": "synthetic faces from training.data.synth, generated here (procedural head, or the ICT-FaceKit "
             "face model: MIT licence, USC Institute for Creative Technologies)",
    "rgb_photos": "real RGB photos; for 300-W (HELEN, AFW): iBUG 300-W annotations for research purposes only, "
                  "no commercial use; photos under their datasets' research terms (Flickr)",
    "pseudo_labels": "real thermal faces labelled by MediaPipe's face mesh (Apache-2.0); PUJ LWIR faces: no data "
                     "licence stated, internal research use; Chips Thermal Face: non-commercial",
}


def data_terms(cfg) -> list:
    """Every data source that shaped the model, with its role and terms (carried into the model's metadata).

    Roles: ``train`` (thermal teacher and students), ``rgb_teacher`` (real photos the RGB teacher learnt from,
    whose knowledge KTL moves into thermal), ``adapt_bn`` (unlabelled real faces for batch-norm statistics)."""
    d = cfg.data
    out = []
    for role, sources in (("train", d.train), ("rgb_teacher", d.rgb_train), ("adapt_bn", d.adapt_bn)):
        for src in sources:
            terms = TERMS.get(src.loader, f"the {src.loader} dataset's own licence applies (see docs/datasets.md)")
            out.append({"role": role, "loader": src.loader, "root": src.root, "split": src.split, "terms": terms})
    return out


def write_meta(path: Path, meta: LandmarkModelMeta) -> None:
    """Embed the metadata in ``metadata_props[META_KEY]`` and write the sidecar JSON beside the model."""
    path = Path(path)
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    props[META_KEY] = meta.to_json()
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(path))
    sidecar_path(path).write_text(meta.to_json() + "\n", encoding="utf-8")


def ort_session(path: Path, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run_onnx(path_or_session, x: np.ndarray, batch: int = 64, names=OUTPUTS):
    """Outputs ``names`` (default: the two logits) of an ONNX model for standardised inputs ``x`` (B, C, H, W)."""
    sess = ort_session(path_or_session) if isinstance(path_or_session, (str, Path)) else path_or_session
    outs = [[] for _ in names]
    for i in range(0, len(x), batch):
        got = sess.run(list(names), {"input": np.ascontiguousarray(x[i:i + batch], np.float32)})
        for acc, o in zip(outs, got):
            acc.append(o)
    return tuple(np.concatenate(o) for o in outs)


def parity_check(model: LandmarkNet, path: Path, x: np.ndarray, atol: float) -> Dict[str, float]:
    """Max |onnxruntime - torch| over every output on real inputs; raises ``ParityError`` above ``atol``."""
    model = model.eval().cpu()
    with torch.no_grad():
        ref = [t.numpy() for t in export_view(model)(torch.from_numpy(np.asarray(x, np.float32)))]
    got = run_onnx(path, x, names=output_names(model))
    err = float(max(np.abs(o - t).max() for o, t in zip(got, ref)))
    scale = float(max(np.abs(ref[0]).max(), np.abs(ref[1]).max()))
    result = {"max_abs_error": err, "max_abs_logit": scale, "atol": float(atol), "samples": int(len(x))}
    if not err <= atol:
        raise ParityError(f"{Path(path).name}: onnxruntime differs from torch by {err:.3g} > {atol:.3g}")
    return result


def to_fp16(src: Path, dst: Path) -> Path:
    """fp16 weights and activations, float32 input/outputs (so the runtime feeds it like the fp32 model)."""
    from onnxconverter_common import float16

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "float32 number ... truncated": tiny weights, expected
        model = float16.convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))
    return dst


def to_int8(src: Path, dst: Path, calibration: np.ndarray) -> Path:
    """Static int8 (QDQ, per-channel weights) calibrated on real crops."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Reader(CalibrationDataReader):
        def __init__(self, data):
            self.items = iter([{"input": data[i:i + 1].astype(np.float32)} for i in range(len(data))])

        def get_next(self):
            return next(self.items, None)

    pre = dst.with_name(dst.stem + ".pre.onnx")
    try:
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        source = pre
    except Exception:  # noqa: BLE001 - pre-processing is an optimisation; quantise the original instead
        source = src
    # Convolutions and the head's matrix products carry the compute; LayerNorm and softmax stay float.
    quantize_static(str(source), str(dst), _Reader(calibration), quant_format=QuantFormat.QDQ,
                    per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                    op_types_to_quantize=["Conv", "MatMul", "Gemm"])
    pre.unlink(missing_ok=True)
    return dst


def install(path: Path, dest_dir: Path, name: str = "student.onnx") -> Path:
    """Copy an exported model and its sidecar into ``dest_dir`` as ``name`` (the runtime's bundled model)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / name
    shutil.copyfile(path, target)
    shutil.copyfile(sidecar_path(path), sidecar_path(target))
    return target


def read_meta(path: Path) -> Dict[str, Any]:
    return json.loads(sidecar_path(path).read_text(encoding="utf-8"))
