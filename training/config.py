"""One YAML config for every stage, checked strictly: unknown keys and wrong types are errors.

Each section is a dataclass; ``load_config`` walks the YAML against the dataclass fields and says
exactly which key is wrong (``thermal_teacher.lamda_fi: unknown key; known: ...``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

DECAY_TERMS = ("distill", "all")  # what the time-adaptive decay scales (StageConfig.decay_terms)


class ConfigError(ValueError):
    """A config file that cannot be used, with the offending key in the message."""


@dataclass
class SourceConfig:
    """One data source: ``loader`` names a registered loader (see ``training.sources``)."""

    loader: str = "synth"
    root: str = ""
    split: Optional[str] = "train"  # null for layouts without splits
    options: Dict[str, Any] = field(default_factory=dict)  # loader-specific keyword arguments
    limit: int = 0  # use at most this many records (0: all)
    repeat: int = 1  # list the records this many times (a small real set among thousands of synthetic ones)


@dataclass
class SynthConfig:
    """The paired synthetic set: where it lives and how ``all`` generates it when it is missing."""

    generate_if_missing: bool = True  # the roots are those of the data sources with loader: synth
    counts: Dict[str, int] = field(default_factory=lambda: {"train": 2000, "val": 200, "test": 300})
    seed: int = 0  # split k is generated with seed + 1000 * k (train 0, val 1, test 2), so splits differ
    workers: int = 0  # generator processes (0: one per CPU core)
    options: Dict[str, Any] = field(default_factory=dict)  # training.data.synth.render.SynthOptions fields
    # per split, fields that replace ``options`` for that split only: e.g. a wider yaw range for train while
    # val/test keep theirs, so the held-out figures stay comparable with earlier runs
    split_options: Dict[str, Dict[str, Any]] = field(default_factory=dict)


@dataclass
class DataConfig:
    scheme: str = "ibug70"
    input_size: List[int] = field(default_factory=lambda: [96, 96])  # width, height
    input_mean: float = 0.5
    input_std: float = 0.25
    split_ratio: float = 2.0
    synth: SynthConfig = field(default_factory=SynthConfig)
    train: List[SourceConfig] = field(default_factory=lambda: [SourceConfig(split="train")])
    val: List[SourceConfig] = field(default_factory=lambda: [SourceConfig(split="val")])
    test: List[SourceConfig] = field(default_factory=lambda: [SourceConfig(split="test")])
    # real RGB photos with landmarks (loader rgb_photos): read by the RGB teacher stage only, mixed with the
    # paired records of `train`; `rgb_val` is that teacher's validation and reported test set (e.g. HELEN test)
    rgb_train: List[SourceConfig] = field(default_factory=list)
    rgb_val: List[SourceConfig] = field(default_factory=list)
    # real thermal faces never trained on, read after training (training.real_eval): labelled frames and
    # held-out-subject pseudo-labels; `adapt_bn` = unlabelled real faces for batch-norm statistics adaptation
    real_eval: List[SourceConfig] = field(default_factory=list)
    adapt_bn: List[SourceConfig] = field(default_factory=list)
    # AdaBN statistics from this share of synthetic training crops mixed with the real ones (0: real only),
    # and real crops drawn with the training augmentation (masked backgrounds filled, as in training)
    adapt_bn_synthetic_share: float = 0.5
    adapt_bn_augment: bool = True
    augment: bool = True
    augment_options: Dict[str, Any] = field(default_factory=dict)  # training.data.augment.AugmentConfig fields
    val_limit: int = 256  # validation crops per epoch (0: all)
    negative_rate: float = 0.25  # share of training items turned into non-face crops (only with models.presence)
    batch_size: int = 32
    num_workers: int = 0


@dataclass
class ModelsConfig:
    rgb_teacher: Dict[str, Any] = field(default_factory=lambda: {"arch": "hrnet", "width": 32})
    thermal_teacher: Dict[str, Any] = field(default_factory=lambda: {"arch": "hrnet", "width": 32})
    students: Dict[str, Dict[str, Any]] = field(default_factory=lambda: {
        "tiny": {"arch": "mobile", "width_mult": 0.5},
        "small": {"arch": "mobile", "width_mult": 0.75},
        "base": {"arch": "mobile", "width_mult": 1.0},
    })
    default_student: str = "base"
    head_hidden: int = 256
    # Face/not-face head on the thermal models (teacher and students), trained with negative crops
    # (data.negative_rate) and exported as the ONNX output "presence" (probability in [0, 1]).
    presence: bool = False


@dataclass
class StageConfig:
    """Optimisation and loss weights of one training stage (unused weights are ignored by a stage)."""

    epochs: int = 10
    steps_per_epoch: int = 0  # 0: one pass over the training set
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    grad_clip: float = 5.0
    lambda_gt: float = 1.0
    lambda_fi: float = 1.0  # Forward Injection
    lambda_ri: float = 1.0  # Reverse Injection
    lambda_feat: float = 1.0  # feature KD
    lambda_out: float = 1.0  # output KD
    tau: float = 2.0  # output-KD temperature
    decay_floor: float = 0.1  # d(t) at the end of training (see training.schedule)
    # Which terms d(t) scales: "distill" = feature + output KD only (FI/RI, trained against the ground
    # truth, keep their weight), "all" = FI and RI too. See docs/training.md for why "distill" is the default.
    decay_terms: str = "distill"
    lambda_presence: float = 1.0  # face/not-face BCE (only for models with a presence head)


@dataclass
class AblationConfig:
    """Switches for the paper's ablations; all true = the full method."""

    fi: bool = True
    ri: bool = True
    decay_ktl: bool = True  # false: constant distillation weight in KTL (the paper's "decay off" row)
    decay_mcl: bool = True  # false: constant distillation weight in MCL
    ktl: bool = True  # false: thermal teacher from scratch, GT loss only
    student_kd: bool = True  # false: students from scratch, GT loss only


@dataclass
class EvalConfig:
    split: str = "test"  # which data section to evaluate: val or test
    out_name: str = "eval"  # folder in the run for metrics + plots (e.g. eval_real for another test set)
    onnx: bool = True  # also evaluate the exported ONNX models through onnxruntime
    overlay_count: int = 16
    models: List[str] = field(default_factory=lambda: ["thermal_teacher", "students"])


@dataclass
class ExportConfig:
    opset: int = 17
    simplify: bool = True
    fp16: bool = True
    int8: bool = True
    calibration_count: int = 64
    parity_atol: float = 1e-3  # max |onnxruntime - torch| allowed on the logits
    students: List[str] = field(default_factory=list)  # empty: all student sizes
    install_to: Optional[str] = None  # copy the default student's ONNX + sidecar here (e.g. thermal_fld_ros/models)
    install_name: str = "student.onnx"  # file name there (the runtime's default model is models/student.onnx)


@dataclass
class TrainConfig:
    seed: int = 0
    out_dir: str = "runs/default"
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch intra-op threads (0: torch's default)
    log_every: int = 10
    data: DataConfig = field(default_factory=DataConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    rgb_teacher: StageConfig = field(default_factory=StageConfig)
    thermal_teacher: StageConfig = field(default_factory=StageConfig)
    student: StageConfig = field(default_factory=StageConfig)
    ablation: AblationConfig = field(default_factory=AblationConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    source_path: str = ""  # filled by load_config

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def recipe_hash(self) -> str:
        """Hash of everything that shapes the trained model (not where it is written)."""
        doc = self.to_dict()
        for k in ("out_dir", "source_path", "log_every", "threads", "device", "eval", "export"):
            doc.pop(k, None)
        return _hash(doc)

    def stage_hash(self, stage: str) -> str:
        """Hash of what shapes one stage's model: its data, architecture, stage settings, switches, seed and
        (chained) the hash of the teacher it learns from. A checkpoint saved with another value was trained
        by another recipe; stages that load a teacher refuse it (``training.runs``)."""
        doc = self.to_dict()
        m, a = doc["models"], doc["ablation"]
        data = {k: v for k, v in doc["data"].items() if k not in ("test", "num_workers")}  # no effect on weights
        common = {"data": data, "seed": doc["seed"], "head_hidden": m["head_hidden"]}
        if stage == "rgb_teacher":
            part = {"model": m["rgb_teacher"], "stage": doc["rgb_teacher"]}
        elif stage == "thermal_teacher":
            part = {"model": m["thermal_teacher"], "presence": m["presence"], "stage": doc["thermal_teacher"],
                    "switches": {k: a[k] for k in ("ktl", "fi", "ri", "decay_ktl")},
                    "teacher": self.stage_hash("rgb_teacher") if a["ktl"] else None}
        elif stage.startswith("student_"):
            part = {"model": m["students"][stage[len("student_"):]], "presence": m["presence"],
                    "stage": doc["student"], "switches": {k: a[k] for k in ("student_kd", "decay_mcl")},
                    "teacher": self.stage_hash("thermal_teacher") if a["student_kd"] else None}
        else:
            raise ValueError(f"no recipe hash for stage {stage!r}")
        return _hash({**common, **part})


def _hash(doc: Dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def _check(value: Any, tp: Any, where: str) -> Any:
    """Validate ``value`` against annotation ``tp``; build nested dataclasses."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, where)
    if origin is typing.Union:  # Optional[X]
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check(value, inner[0], where)
    if origin in (list, List):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        return [_check(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return {str(k): _check(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {tp}")  # pragma: no cover - programming error


def _build(cls, doc: Dict[str, Any], where: str):
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in doc.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in names:
            raise ConfigError(f"{path}: unknown key; known: {', '.join(names)}")
        kwargs[key] = _check(value, hints[key], path)
    return cls(**kwargs)


def _migrate(doc: Dict[str, Any]) -> Dict[str, Any]:
    """Read configs written before ``ablation.decay`` was split (old run folders): it switched both levels."""
    abl = doc.get("ablation")
    if isinstance(abl, dict) and "decay" in abl:
        abl = dict(abl)
        old = abl.pop("decay")
        abl.setdefault("decay_ktl", old)
        abl.setdefault("decay_mcl", old)
        doc = {**doc, "ablation": abl}
    return doc


def config_from_dict(doc: Dict[str, Any]) -> TrainConfig:
    cfg = _build(TrainConfig, _migrate(doc or {}), "")
    _validate(cfg)
    return cfg


def apply_overrides(doc: Dict[str, Any], overrides) -> Dict[str, Any]:
    """Apply ``["a.b=value", ...]`` (YAML values) to a config dict, before validation."""
    for item in overrides or ():
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: bad value: {exc}") from None
        node = doc
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"--set {item!r}: {part} is not a section")
            node = nxt
        node[parts[-1]] = value
    return doc


def load_config(path, overrides=None) -> TrainConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if doc is not None and not isinstance(doc, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    try:
        cfg = config_from_dict(apply_overrides(doc or {}, overrides))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    cfg.source_path = str(path)
    return cfg


def _validate(cfg: TrainConfig) -> None:
    from thermal_fld_ros.schemes import SCHEMES

    d = cfg.data
    if d.scheme not in SCHEMES:
        raise ConfigError(f"data.scheme: unknown scheme {d.scheme!r}; known: {sorted(SCHEMES)}")
    if len(d.input_size) != 2 or min(d.input_size) < 16 or any(v % 8 for v in d.input_size):
        raise ConfigError(f"data.input_size: expected [width, height], multiples of 8, got {d.input_size}")
    if d.input_std <= 0:
        raise ConfigError("data.input_std: must be > 0")
    if d.augment_options:
        from training.data.augment import AugmentConfig

        try:
            AugmentConfig(**d.augment_options)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"data.augment_options: {exc}") from None
    if not d.train:
        raise ConfigError("data.train: at least one source is needed")
    if d.batch_size < 1:
        raise ConfigError("data.batch_size: must be >= 1")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device: expected auto, cpu or cuda, got {cfg.device!r}")
    if cfg.models.default_student not in cfg.models.students:
        raise ConfigError(f"models.default_student: {cfg.models.default_student!r} is not one of "
                          f"models.students ({sorted(cfg.models.students)})")
    for name in ("rgb_teacher", "thermal_teacher", "student"):
        st: StageConfig = getattr(cfg, name)
        if st.epochs < 1 or st.steps_per_epoch < 0 or st.lr <= 0 or st.tau <= 0:
            raise ConfigError(f"{name}: epochs >= 1, steps_per_epoch >= 0, lr > 0 and tau > 0 required")
        if not 0.0 <= st.decay_floor <= 1.0:
            raise ConfigError(f"{name}.decay_floor: must be in [0, 1]")
        if st.decay_terms not in DECAY_TERMS:
            raise ConfigError(f"{name}.decay_terms: expected one of {', '.join(DECAY_TERMS)}, got {st.decay_terms!r}")
    if not 0.0 <= d.negative_rate < 1.0:
        raise ConfigError(f"data.negative_rate: must be in [0, 1), got {d.negative_rate}")
    if cfg.eval.split not in ("val", "test"):
        raise ConfigError(f"eval.split: expected val or test, got {cfg.eval.split!r}")
    for s in cfg.export.students:
        if s not in cfg.models.students:
            raise ConfigError(f"export.students: {s!r} is not one of models.students")
    if cfg.export.opset < 17:
        raise ConfigError("export.opset: must be >= 17")
