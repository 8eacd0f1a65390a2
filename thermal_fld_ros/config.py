"""Every runtime parameter of the pipeline, in one dataclass.

Each field carries ``metadata={"description", "range"}`` so the ROS node can declare its parameters
(with descriptors and ranges) by iterating :func:`dataclasses.fields`, and the CLI and tests build the
same configuration from a dict or the node's YAML.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Iterable, List

from .breathing import BreathingConfig
from .frames import FLOAT_UNITS, FrameConfig
from .palettes import PALETTES
from .tracker import TrackRules

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_NAME = "student.onnx"


def _f(default, description: str, rng=None, choices=None, **kw):
    meta = {"description": description}
    if rng is not None:
        meta["range"] = rng
    if choices is not None:
        meta["choices"] = tuple(choices)
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


@dataclass
class PipelineConfig:
    # Model and inference
    model_path: str = _f("", "landmark ONNX model; empty = the bundled thermal_fld_ros/models/student.onnx")
    providers: List[str] = _f(["CPUExecutionProvider"],
                              "onnxruntime execution providers in order of preference, e.g. "
                              "[TensorrtExecutionProvider, CUDAExecutionProvider, CPUExecutionProvider]; "
                              "unavailable ones are skipped with a warning")
    intra_op_threads: int = _f(1, "onnxruntime intra-op threads (0 = onnxruntime's default)", (0, 64))
    flip_test: bool = _f(True, "also run every face crop mirrored (same model call) and average the two "
                               "landmark sets: held-out real thermal faces NME 0.066 -> 0.060, at ~1.6x the "
                               "model's time")
    # Face localisation and tracking
    detector: str = _f("cascade", "face detector: 'cascade' (the learned CNN, and thermal_blob on frames where it "
                       "finds no face), 'centreface' (the learned CNN alone) or 'thermal_blob' (hand-made "
                       "warm-region segmentation, no model file)")
    detector_model_path: str = _f("", "the learned CNN's ONNX model: a path, or a bundled name (detector_chips: "
                                      "real Chips frames + synthetic scenes, non-commercial terms; detector: "
                                      "synthetic scenes only); empty = detector_chips for cascade, detector for "
                                      "centreface")
    detector_long_side: int = _f(0, "centreface input long side in pixels (0 = the model's own, 320); higher finds "
                                    "smaller faces on large frames at more cost", (0, 4096))
    detector_flip_test: bool = _f(False, "the learned CNN also sees the frame mirrored (same model call) and "
                                         "averages the two output maps; off: on real Lepton frames out of sample "
                                         "it did not help (LOPO AP 0.745 -> 0.740, docs/runtime.md)")
    max_faces: int = _f(3, "most faces processed per frame (largest first)", (1, 32))
    detection_interval: int = _f(10, "run the detector every N frames; between, follow faces from landmarks",
                                 (1, 1000))
    detection_threshold: float = _f(0.5, "minimum detector score for a new face (thermal_blob, centreface; in the "
                                         "cascade: its thermal_blob fallback)", (0.0, 1.0))
    cascade_cnn_threshold: float = _f(0.4, "cascade: minimum CNN score for a face (detector_chips' recommended "
                                           "threshold, near its leave-one-participant-out best F1)", (0.0, 1.0))
    min_face_px: int = _f(12, "smallest face side (pixels) the detector reports", (4, 4096))
    landmark_threshold: float = _f(0.25, "minimum mean landmark confidence to report a face (real Lepton faces "
                                   "score 0.29-0.47 (median 0.39), 98 % above 0.25; non-faces are left to the "
                                   "presence output)",
                                   (0.0, 1.0))
    redetect_same_frame: bool = _f(True, "when a track is lost between detector runs, run the detector on that "
                                   "same frame (not the next) so the face is not missed for a frame")
    redetect_threshold: float = _f(0.33, "run the detector on the next frame when a face's mean landmark "
                                        "confidence falls below this", (0.0, 1.0))
    appearance_threshold: float = _f(0.5, "run the detector on this frame when a track's box content correlates "
                                     "below this with the last frame's (its face moved further than the crop "
                                     "follows); a track that run does not confirm is dropped. 0 = off",
                                     (0.0, 1.0))
    track_iou_threshold: float = _f(0.3, "minimum box IoU to match a detection to an existing track", (0.0, 1.0))
    max_track_misses: int = _f(2, "frames a track survives below landmark_threshold before it is dropped",
                               (0, 100))
    presence_threshold: float = _f(0.5, "drop a track whose face presence P(face) falls below this (models with "
                                   "a 'presence' output only)", (0.0, 1.0))
    max_box_scale_step: float = _f(1.25, "most a track's landmark box may grow or shrink per frame (a bigger jump "
                                   "is a miss)", (1.01, 10.0))
    max_box_vs_detection: float = _f(2.0, "drop a track whose landmark box grows beyond this many times the face "
                                     "box of the detection that last confirmed it", (1.1, 20.0))
    reseat_iou: float = _f(0.5, "a track a detection confirms but overlaps less than this box IoU restarts "
                           "from the detection box (same id)", (0.0, 1.0))
    detection_reach: float = _f(1.0, "a detection whose centre is within this many face sides of a track's centre "
                                "confirms that track (a face that moved between detector runs keeps its id)",
                                (0.0, 10.0))
    max_unconfirmed_detections: int = _f(2, "drop a track that this many detector runs in a row do not confirm "
                                         "(no detection on it)", (1, 1000))
    # Smoothing
    smoothing: bool = _f(True, "One-Euro filter landmarks per track")
    smoothing_min_cutoff: float = _f(1.0, "One-Euro minimum cutoff frequency (Hz): lower = smoother when still",
                                     (0.01, 100.0))
    smoothing_beta: float = _f(0.05, "One-Euro speed coefficient: higher = less lag when moving", (0.0, 10.0))
    smoothing_d_cutoff: float = _f(1.0, "One-Euro cutoff for the speed estimate (Hz)", (0.01, 100.0))
    # Head pose
    pose: bool = _f(True, "estimate head pose (solvePnP against the scheme's 3D mean face)")
    # Thermal readings (radiometric input only; see thermal_fld_ros/thermometry.py)
    thermometry: bool = _f(True, "region temperatures (canthi, forehead, nose tip, nostrils, periorbital, mouth, "
                           "face max) and breathing rate per face; radiometric input only, else marked "
                           "unavailable")
    thermometry_min_pixels: int = _f(4, "fewest frame pixels a region needs for a reading", (1, 10000))
    breathing_window_s: float = _f(20.0, "breathing-rate sliding window (s); the first rate comes after 60% of it",
                                   (10.0, 120.0))
    breathing_min_confidence: float = _f(0.6, "report a breathing rate only above this spectral-peak confidence "
                                         "(white noise alone reaches 0.2-0.45 in a 20 s window)",
                                         (0.0, 1.0))
    # Frames
    radiometric_16bit: bool = _f(True, "16UC1/mono16 are radiometric counts (temperature = counts*scale+offset)")
    radiometric_scale: float = _f(0.01, "degrees per count for radiometric 16-bit frames", (1e-6, 100.0))
    radiometric_offset: float = _f(-273.15, "degrees C at count 0 for radiometric 16-bit frames", (-1000.0, 1000.0))
    float_unit: str = _f("celsius", "unit of 32FC1 frames: celsius, kelvin or fahrenheit", choices=FLOAT_UNITS)
    palette: str = _f("auto", "palette of bgr8/rgb8 frames: auto or one of " + ", ".join(sorted(PALETTES)),
                      choices=("auto",) + tuple(sorted(PALETTES)))
    max_pixels: int = _f(4096 * 4096, "larger frames are rejected with a warning", (1, 64 * 1024 * 1024))
    temperature_min_c: float = _f(20.0, "radiometric normalisation window: low end (C)", (-100.0, 500.0))
    temperature_max_c: float = _f(40.0, "radiometric normalisation window: high end (C)", (-100.0, 500.0))
    percentile_low: float = _f(1.0, "non-radiometric normalisation: low percentile", (0.0, 100.0))
    percentile_high: float = _f(99.5, "non-radiometric normalisation: high percentile", (0.0, 100.0))

    # ------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Dict[str, Any] | None) -> PipelineConfig:
        """Build from a flat dict; unknown keys or wrong types raise ValueError naming them."""
        d = dict(d or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known), key=str)
        if unknown:
            raise ValueError("; ".join(f"unknown pipeline parameter {k!r}{closest_name(str(k), known)}"
                                       for k in unknown))
        cfg = cls()
        for k, v in d.items():
            setattr(cfg, k, coerce_param(k, getattr(cfg, k), v))
        cfg.validate()
        return cfg

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def validate(self) -> None:
        """Raise ValueError for out-of-range numbers or inconsistent windows."""
        for f in fields(self):
            rng = f.metadata.get("range")
            v = getattr(self, f.name)
            if rng is not None and not (rng[0] <= v <= rng[1]):
                raise ValueError(f"parameter {f.name}={v} outside its range [{rng[0]}, {rng[1]}]")
            choices = f.metadata.get("choices")
            if choices is not None and v not in choices:
                raise ValueError(f"parameter {f.name}={v!r} is not one of: {', '.join(choices)}"
                                 f"{closest_name(str(v), choices)}")
        if self.temperature_max_c <= self.temperature_min_c:
            raise ValueError("temperature_max_c must be above temperature_min_c")
        if self.percentile_high <= self.percentile_low:
            raise ValueError("percentile_high must be above percentile_low")
        from .detector import DETECTORS

        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(DETECTORS)}, got {self.detector!r}")
        if not self.providers:
            raise ValueError("providers must name at least one onnxruntime execution provider")

    def frame_config(self) -> FrameConfig:
        return FrameConfig(radiometric_16bit=self.radiometric_16bit, radiometric_scale=self.radiometric_scale,
                           radiometric_offset=self.radiometric_offset, float_unit=self.float_unit,
                           palette=self.palette, max_pixels=self.max_pixels,
                           temperature_window_c=(self.temperature_min_c, self.temperature_max_c),
                           percentiles=(self.percentile_low, self.percentile_high))

    def track_rules(self) -> TrackRules:
        return TrackRules(max_scale_step=self.max_box_scale_step, max_size_vs_detection=self.max_box_vs_detection,
                          max_unconfirmed=self.max_unconfirmed_detections, reseat_iou=self.reseat_iou, reach=self.detection_reach)

    def breathing_config(self) -> BreathingConfig:
        return BreathingConfig(window_s=self.breathing_window_s, min_window_s=0.6 * self.breathing_window_s,
                               min_confidence=self.breathing_min_confidence)

    def resolved_model_path(self) -> Path:
        return Path(self.model_path).expanduser() if self.model_path else default_model_path()


def closest_name(name: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest known name, or '' when none is close."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def expected_type(default: Any) -> str:
    """What a parameter with this default takes, in words (for one-line refusals)."""
    for typ, words in ((bool, "a bool (true/false)"), (int, "an integer"), (float, "a number"),
                       (list, "a list of strings"), (str, "a string")):
        if isinstance(default, typ):
            return words
    return type(default).__name__


def coerce_param(name: str, current: Any, value: Any) -> Any:
    """``value`` as the type of ``current`` (an int for a float is fine), or ValueError naming ``name``."""
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        raise ValueError(f"parameter {name} must be {expected_type(current)}, got {value!r}")
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or \
                int(value) != value:
            raise ValueError(f"parameter {name} must be an integer, got {value!r}")
        return int(value)
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"parameter {name} must be a finite number, got {value!r}")
        return float(value)
    if isinstance(current, list):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"parameter {name} must be a list of strings, got {value!r}")
        return list(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise ValueError(f"parameter {name} must be a string, got {value!r}")
        return value
    return value


def default_model_path() -> Path:
    """The bundled student model; a clear error saying how to get one when it is not there."""
    path = MODELS_DIR / DEFAULT_MODEL_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"no bundled landmark model at {path}. Train and export one with the training package "
            f"(see README: `python -m training ...` then export to {path}), or pass a model path "
            f"(model_path parameter / --model).")
    return path
