"""The student landmark model in onnxruntime: load, validate against its metadata, run a batch of crops.

Every problem with the model file (missing, unreadable, truncated, wrong input/output shapes, not
marked trained) raises :class:`ModelError` at construction, naming the path and the problem, so a node
fails at start-up with one clear line instead of at the first frame.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from .codec import SimCCCodec
from .model_meta import load_landmark_meta

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


class LandmarkModel:
    """onnxruntime session + metadata + decoder for one landmark model file."""

    def __init__(self, path, providers: Sequence[str] = ("CPUExecutionProvider",), intra_op_threads: int = 1,
                 allow_untrained: bool = False):
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
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = int(intra_op_threads)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=self.providers)
        except Exception as exc:
            raise ModelError(f"cannot load landmark model {self.path}: {exc}") from exc
        self.codec = SimCCCodec(tuple(self.meta.input_size), self.meta.split_ratio)
        self._check_io()

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

    @property
    def input_size(self) -> Tuple[int, int]:
        return tuple(self.meta.input_size)

    def predict(self, crops: np.ndarray):
        """float32 (B, H, W) crops in [0, 1] -> points (B, N, 2) in crop pixels, scores (B, N)."""
        m = self.meta
        x = (np.asarray(crops, np.float32) - np.float32(m.input_mean)) * np.float32(1.0 / m.input_std)
        x = x[:, None]
        if m.input_channels > 1:
            x = np.repeat(x, m.input_channels, axis=1)
        if self._fixed_batch is not None and len(x) != self._fixed_batch:
            outs = [self.session.run(m.outputs[:2], {m.input_name: x[i:i + 1]}) for i in range(len(x))]
            sx = np.concatenate([o[0] for o in outs])
            sy = np.concatenate([o[1] for o in outs])
        else:
            sx, sy = self.session.run(m.outputs[:2], {m.input_name: x})
        return self.codec.decode(sx, sy)
