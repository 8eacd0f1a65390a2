"""The student landmark model in onnxruntime: load, validate against its metadata, run a batch of crops.

Every problem with the model file (missing, unreadable, truncated, wrong input/output shapes, not
marked trained) raises :class:`ModelError` at construction, naming the path and the problem, so a node
fails at start-up with one clear line instead of at the first frame.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .codec import SimCCCodec
from .model_meta import load_landmark_meta
from .schemes import get_scheme

log = logging.getLogger(__name__)


class ModelError(ValueError):
    """The landmark model cannot be used; the message names the file and the problem."""


def select_providers(requested: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(providers to use, warnings): drops unavailable ones and always keeps the CPU as the fallback."""
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    use, warnings = [], []
    for p in requested:
        if p in available:
            if p not in use:
                use.append(p)
        else:
            warnings.append(f"onnxruntime provider {p} is not available here (available: "
                            f"{', '.join(sorted(available))}); skipped")
    if "CPUExecutionProvider" not in use:
        use.append("CPUExecutionProvider")
    return use, warnings


PRESENCE_OUTPUT = "presence"  # optional third output: P(face) per crop, shape (B,), already a probability


@dataclass
class LandmarkBatch:
    """One model call's results for B crops."""

    points: np.ndarray  # (B, N, 2) crop pixels
    scores: np.ndarray  # (B, N) per-point confidence
    presence: Optional[np.ndarray] = None  # (B,) P(face) in [0, 1]; None when the model has no such output


def session_options(intra_op_threads: int):
    """onnxruntime options every model of the pipeline uses (landmarks and a learned detector), so one
    parameter (``intra_op_threads``) sets the thread pool of both."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = int(intra_op_threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return opts


class LandmarkModel:
    """onnxruntime session + metadata + decoder for one landmark model file."""

    def __init__(self, path, providers: Sequence[str] = ("CPUExecutionProvider",), intra_op_threads: int = 1,
                 allow_untrained: bool = False, flip_test: bool = False):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"landmark model not found: {self.path}")
        try:
            self.meta, meta_warnings = load_landmark_meta(self.path)
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"landmark model: {exc}") from exc
        if self.meta.trained is not True and not allow_untrained:
            raise ModelError(f"landmark model {self.path} is not marked trained in its metadata; "
                             f"refusing to publish landmarks from an untrained network")
        if self.meta.decoder != "simcc":
            raise ModelError(f"landmark model {self.path}: unsupported decoder {self.meta.decoder!r}")
        self.providers, self.warnings = select_providers(providers)
        self.warnings = meta_warnings + self.warnings
        for w in self.warnings:
            log.warning(w)
        try:
            self.session = ort.InferenceSession(str(self.path), session_options(intra_op_threads),
                                                providers=self.providers)
        except Exception as exc:
            raise ModelError(f"cannot load landmark model {self.path}: {exc}") from exc
        self.codec = SimCCCodec(tuple(self.meta.input_size), self.meta.split_ratio)
        self._check_io()
        # flip test: every crop also runs mirrored (same call), its points mapped back and averaged
        self.flip_test = bool(flip_test)
        self._flip_perm = None
        if self.flip_test:
            scheme = get_scheme(self.meta.scheme)
            if scheme.num_points != self.meta.num_points:
                self.flip_test = False
                self.warnings.append(f"flip_test off: model {self.path.name} has {self.meta.num_points} points, "
                                     f"its scheme {scheme.name} {scheme.num_points} (no left/right pairs to swap)")
                log.warning(self.warnings[-1])
            else:
                self._flip_perm = scheme.flip_permutation()

    def _check_io(self) -> None:
        m = self.meta
        w, h = m.input_size
        ins = {i.name: i for i in self.session.get_inputs()}
        if m.input_name not in ins:
            raise ModelError(f"landmark model {self.path}: no input named {m.input_name!r} "
                             f"(has {', '.join(ins)})")
        shape = ins[m.input_name].shape
        expect = [None, m.input_channels, h, w]
        if len(shape) != 4 or any(isinstance(s, int) and e is not None and s != e for s, e in zip(shape, expect)):
            raise ModelError(f"landmark model {self.path}: input shape {shape} does not match the metadata "
                             f"[batch, {m.input_channels}, {h}, {w}]")
        outs = {o.name: o for o in self.session.get_outputs()}
        bins = self.codec.bins
        for name, nbins in zip(m.outputs[:2], bins):
            if name not in outs:
                raise ModelError(f"landmark model {self.path}: no output named {name!r} (has {', '.join(outs)})")
            oshape = outs[name].shape
            if len(oshape) != 3 or (isinstance(oshape[1], int) and oshape[1] != m.num_points) or (
                    isinstance(oshape[2], int) and oshape[2] != nbins):
                raise ModelError(f"landmark model {self.path}: output {name} shape {oshape} does not match "
                                 f"[batch, {m.num_points}, {nbins}] from the metadata")
        self._fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self.has_presence = PRESENCE_OUTPUT in m.outputs[2:]
        if self.has_presence:
            if PRESENCE_OUTPUT not in outs:
                raise ModelError(f"landmark model {self.path}: the metadata lists output {PRESENCE_OUTPUT!r} but "
                                 f"the model has none (has {', '.join(outs)})")
            pshape = outs[PRESENCE_OUTPUT].shape
            if len(pshape) != 1:
                raise ModelError(f"landmark model {self.path}: output {PRESENCE_OUTPUT} shape {pshape} is not "
                                 f"[batch] (one face probability per crop)")
        self._names = list(m.outputs[:2]) + ([PRESENCE_OUTPUT] if self.has_presence else [])

    @property
    def input_size(self) -> Tuple[int, int]:
        return tuple(self.meta.input_size)

    def predict(self, crops: np.ndarray):
        """float32 (B, H, W) crops in [0, 1] -> points (B, N, 2) in crop pixels, scores (B, N)."""
        out = self.run(crops)
        return out.points, out.scores

    def run(self, crops: np.ndarray) -> LandmarkBatch:
        """All crops in one onnxruntime call (dynamic batch; one call per crop for a fixed-batch model).

        With ``flip_test`` each crop also goes through mirrored in that call; the mirrored points are mapped
        back (x -> W - 1 - x in crop pixels, the warp's pixel-centre convention; left/right points swapped by
        the scheme's flip pairs) and averaged with the direct ones, as are scores and presence. On held-out
        real thermal faces (PUJ) this lowers NME 0.066 -> 0.060 (docs/runtime.md).
        """
        if not self.flip_test:
            return self._run(crops)
        crops = np.asarray(crops, np.float32)
        b, perm = len(crops), self._flip_perm
        both = self._run(np.concatenate([crops, crops[:, :, ::-1]]))
        mirrored = both.points[b:, perm]
        mirrored[..., 0] = (self.meta.input_size[0] - 1) - mirrored[..., 0]
        presence = None if both.presence is None else (both.presence[:b] + both.presence[b:]) / 2
        return LandmarkBatch(points=(both.points[:b] + mirrored) / 2,
                             scores=(both.scores[:b] + both.scores[b:, perm]) / 2, presence=presence)

    def _run(self, crops: np.ndarray) -> LandmarkBatch:
        m = self.meta
        x = (np.asarray(crops, np.float32) - np.float32(m.input_mean)) * np.float32(1.0 / m.input_std)
        x = x[:, None]
        if m.input_channels > 1:
            x = np.repeat(x, m.input_channels, axis=1)
        if self._fixed_batch is not None and len(x) != self._fixed_batch:
            parts = [self.session.run(self._names, {m.input_name: x[i:i + 1]}) for i in range(len(x))]
            outs = [np.concatenate([p[k] for p in parts]) for k in range(len(self._names))]
        else:
            outs = self.session.run(self._names, {m.input_name: x})
        points, scores = self.codec.decode(outs[0], outs[1])
        presence = np.asarray(outs[2], np.float64).reshape(len(x)) if self.has_presence else None
        return LandmarkBatch(points=points, scores=scores, presence=presence)
