"""The learned thermal face detector (CentreFace ONNX, trained by ``python -m training detector``).

Runs on the whole normalised frame, resized so that its long side is ``long_side`` (320 by default;
frames smaller than that are upscaled, which is what finds 10 px faces on a 160x120 Lepton frame) and
padded to a multiple of 32. Face centres are the local maxima of the heatmap (3x3), the box comes from
the regressed offset and log size, then the metadata's ``box_scale`` calibration and NMS.

``flip_test``: the frame also goes through mirrored, in the same onnxruntime call (batch 2), and the two
output maps are averaged cell by cell before decoding (the mirrored image is cut at a whole number of
cells, so its cells line up with the direct ones exactly). Off by default: on real Lepton frames out of
sample it did not help (LOPO AP 0.745 -> 0.740, docs/runtime.md); kept so other cameras can be measured.

A model that is missing, truncated or of the wrong shape raises :class:`DetectorModelError` at
construction (one line naming the path and the problem), so a node stops at start-up.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import cv2
import numpy as np

from .detector import Detection, nms
from .landmark_model import ModelError
from .model_meta import read_onnx_metadata

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_DETECTOR_MODEL = MODELS_DIR / "detector.onnx"  # synthetic scenes only (MIT / own terms)
CHIPS_DETECTOR_MODEL = MODELS_DIR / "detector_chips.onnx"  # real Chips frames + synthetic (non-commercial)
PAD = 32


def resolve_detector_model(path) -> Path:
    """``path`` as given, or a bare bundled name (``detector_chips`` or ``detector_chips.onnx``, no folder)
    in the package's models/ directory when no such file exists where the process runs."""
    p = Path(path).expanduser()
    if p.is_file() or len(p.parts) != 1:
        return p
    bundled = MODELS_DIR / (p.name if p.suffix == ".onnx" else p.name + ".onnx")
    return bundled if bundled.is_file() else p


class DetectorModelError(ModelError):
    """The detector model cannot be used; the message names the file and the problem."""


class CentreFaceDetector:
    """onnxruntime session + metadata + heatmap decoding for one detector model file."""

    def __init__(self, path=DEFAULT_DETECTOR_MODEL, intra_op_threads: int = 1, long_side: int = 0,
                 min_face_px: int = 6, min_score: float = 0.05, providers=("CPUExecutionProvider",),
                 flip_test: bool = False):
        import onnxruntime as ort

        self.path = resolve_detector_model(path)
        if not self.path.is_file():
            raise DetectorModelError(f"detector model not found: {self.path} (train and export one with "
                                     f"`python -m training detector train/export`, or set detector: thermal_blob)")
        try:
            self.meta = read_onnx_metadata(self.path)
        except (ValueError, FileNotFoundError) as exc:
            raise DetectorModelError(f"detector model {self.path}: {exc}") from exc
        if not isinstance(self.meta, dict) or self.meta.get("task") != "face_detection":
            raise DetectorModelError(f"detector model {self.path}: metadata does not say task 'face_detection'")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = int(intra_op_threads)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=list(providers))
        except Exception as exc:  # onnxruntime raises several types for corrupt files
            raise DetectorModelError(f"cannot load detector model {self.path}: {exc}") from exc
        self.input_name = str(self.meta.get("input_name", "image"))
        self.outputs = list(self.meta.get("outputs", ["heatmap", "box"]))
        self.stride = int(self.meta.get("stride", 4))
        self.long_side = int(long_side or self.meta.get("long_side", 320))
        sw, sh, dy = (list(self.meta.get("box_scale", [1.0, 1.0, 0.0])) + [1.0, 1.0, 0.0])[:3]
        self.box_scale = (float(sw), float(sh), float(dy))
        self.min_face_px = float(min_face_px)
        self.min_score = float(min_score)
        self.flip_test = bool(flip_test)
        self._check_io()

    def _check_io(self) -> None:
        ins = {i.name: i.shape for i in self.session.get_inputs()}
        if self.input_name not in ins or len(ins[self.input_name]) != 4 or ins[self.input_name][1] not in (1, None):
            raise DetectorModelError(f"detector model {self.path}: expected input {self.input_name!r} of shape "
                                     f"[batch, 1, height, width], has {ins}")
        outs = {o.name: o.shape for o in self.session.get_outputs()}
        for name, ch in zip(self.outputs[:2], (1, 4)):
            shape = outs.get(name)
            if shape is None or len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != ch):
                raise DetectorModelError(f"detector model {self.path}: expected output {name!r} of shape "
                                         f"[batch, {ch}, h, w], has {outs}")

    def detect(self, frame01: np.ndarray, max_faces: int = 3) -> List[Detection]:
        """Faces in a normalised float32 (H, W) frame in [0, 1], best first."""
        h, w = frame01.shape
        s = self.long_side / float(max(h, w))
        nw, nh = max(int(round(w * s)), 1), max(int(round(h * s)), 1)
        img = cv2.resize(np.asarray(frame01, np.float32), (nw, nh),
                         interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        pw, ph = -(-nw // PAD) * PAD, -(-nh // PAD) * PAD
        x = np.zeros((2 if self.flip_test else 1, 1, ph, pw), np.float32)
        x[0, 0, :nh, :nw] = img
        if not self.flip_test:
            heat, box = self.session.run(self.outputs[:2], {self.input_name: x})
            return self._decode(heat[0, 0], box[0], s, max_faces, (w, h))
        cw = -(-nw // self.stride) * self.stride  # whole cells: mirrored cell j is direct cell cw/stride - 1 - j
        x[1, 0, :, :cw] = x[0, 0, :, cw - 1::-1]
        heat, box = self.session.run(self.outputs[:2], {self.input_name: x})
        return self._decode(*self._merge_mirrored(heat[:, 0], box, cw // self.stride), s, max_faces, (w, h))

    @staticmethod
    def _merge_mirrored(heat: np.ndarray, box: np.ndarray, cells: int):
        """Mean of the direct (index 0) and mirrored (index 1) output maps on the direct image's cells.

        Mirrored back, a cell's x offset o (from its left edge, in cells) becomes 1 - o; y offset and log
        sizes are unchanged. Cells right of ``cells`` (padding only) keep the direct values."""
        h, b = heat[0].copy(), box[0].copy()
        mh, mb = heat[1, :, cells - 1::-1], box[1, :, :, cells - 1::-1]
        h[:, :cells] = (h[:, :cells] + mh) * 0.5
        b[0, :, :cells] = (b[0, :, :cells] + (1.0 - mb[0])) * 0.5
        b[1:, :, :cells] = (b[1:, :, :cells] + mb[1:]) * 0.5
        return h, b

    def _decode(self, heat: np.ndarray, box: np.ndarray, s: float, max_faces: int, size) -> List[Detection]:
        peaks = (heat >= cv2.dilate(heat, np.ones((3, 3), np.uint8))) & (heat >= self.min_score)
        ys, xs = np.nonzero(peaks)
        if not len(ys):
            return []
        order = np.argsort(-heat[ys, xs])[: 4 * max(max_faces, 1) + 8]
        ys, xs = ys[order], xs[order]
        st = self.stride / s
        cx = (xs + box[0, ys, xs]) * st
        cy = (ys + box[1, ys, xs]) * st
        bw = np.exp(np.clip(box[2, ys, xs], -3, 6)) * st * self.box_scale[0]
        bh = np.exp(np.clip(box[3, ys, xs], -3, 6)) * st * self.box_scale[1]
        cy = cy + self.box_scale[2] * bh
        w, h = size
        dets = []
        for i in range(len(ys)):
            if bw[i] < self.min_face_px:
                continue
            b = np.array([max(cx[i] - bw[i] / 2, 0.0), max(cy[i] - bh[i] / 2, 0.0),
                          min(cx[i] + bw[i] / 2, w), min(cy[i] + bh[i] / 2, h)])
            dets.append(Detection(box=b, score=float(heat[ys[i], xs[i]])))
        return nms(dets, 0.4)[:max_faces]
