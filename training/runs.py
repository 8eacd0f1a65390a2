"""A run directory and what lives in it: config copy, per-stage folders, saved models, datasets.

Layout: ``<run>/config.yaml`` (the config used), ``<run>/<stage>/`` for ``rgb_teacher``,
``thermal_teacher``, ``student_<size>`` (each: steps.csv, epochs.json, last.pt, model.pt),
``<run>/export/`` (ONNX + sidecars) and ``<run>/eval/`` (metrics.json + plots).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

import numpy as np
import torch
import yaml

from training.checkpoint import save_atomic
from training.config import SourceConfig, TrainConfig
from training.models import LandmarkNet, build_model, count_flops, count_params


class StageOrderError(RuntimeError):
    """A stage needs the output of an earlier stage that has not run."""


class RecipeMismatchError(StageOrderError):
    """A teacher checkpoint trained by another recipe than the one this config describes."""


class Run:
    """``allow_recipe_mismatch``: load teachers whose recipe hash differs (``--allow-recipe-mismatch``, for a
    deliberately reused teacher): True for every teacher, or the names of the teacher stages it applies to
    (the ablation shares one RGB teacher between seeds, so only ``{"rgb_teacher"}``)."""

    def __init__(self, cfg: TrainConfig, out: Optional[str] = None,
                 allow_recipe_mismatch: Union[bool, Iterable[str]] = False):
        self.cfg = cfg
        self.dir = Path(out or cfg.out_dir)
        if isinstance(allow_recipe_mismatch, bool):
            self.allow_recipe_mismatch = {"rgb_teacher", "thermal_teacher"} if allow_recipe_mismatch else set()
        else:
            self.allow_recipe_mismatch = set(allow_recipe_mismatch)
        self._datasets: Dict[str, Any] = {}

    def stage_dir(self, stage: str) -> Path:
        return self.dir / stage

    def write_config(self, path: Optional[Path] = None) -> None:
        path = Path(path) if path is not None else self.dir / "config.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = self.cfg.to_dict()
        doc.pop("source_path", None)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    # -- models ------------------------------------------------------------------------------------------

    def new_model(self, role: str, size: Optional[str] = None) -> LandmarkNet:
        """A fresh network for ``role`` in rgb_teacher | thermal_teacher | student (``size`` for students)."""
        m = self.cfg.models
        spec = m.students[size] if role == "student" else getattr(m, role)
        in_ch = 3 if role == "rgb_teacher" else 1
        d = self.cfg.data
        presence = m.presence and role != "rgb_teacher"  # thermal models only: the runtime sees thermal crops
        return build_model(spec, in_ch, self.num_points, tuple(d.input_size), d.split_ratio, m.head_hidden,
                           presence=presence)

    @property
    def num_points(self) -> int:
        from thermal_fld_ros.schemes import get_scheme

        return get_scheme(self.cfg.data.scheme).num_points

    def model_path(self, stage: str) -> Path:
        return self.stage_dir(stage) / "model.pt"

    def save_model(self, stage: str, model: LandmarkNet, role: str, size: Optional[str] = None) -> Path:
        path = self.model_path(stage)
        save_atomic({"role": role, "size": size, "state_dict": model.state_dict(),
                     "config_hash": self.cfg.recipe_hash(), "stage_hash": self.cfg.stage_hash(stage)}, path)
        return path

    def load_teacher(self, stage: str, role: str, for_stage: str) -> LandmarkNet:
        """``load_model`` for a stage that learns from this one: refuses a checkpoint of another recipe."""
        path = self.model_path(stage)
        model = self.load_model(stage, role)
        saved = saved_stage_hash(path)
        expected = self.cfg.stage_hash(stage)
        if saved != expected:
            line = (f"{for_stage}: teacher {path} was trained by recipe {saved or 'unknown (older checkpoint)'} but "
                    f"this config's {stage} recipe is {expected}; retrain it ('python -m training {stage}') "
                    f"or pass --allow-recipe-mismatch to use it anyway")
            if stage not in self.allow_recipe_mismatch:
                raise RecipeMismatchError(line)
            print(f"warning: {line.split('; ')[0]}; used anyway (recipe check relaxed: "
                  f"--allow-recipe-mismatch, or the ablation's one RGB teacher shared by every seed)", flush=True)
        return model

    def load_model(self, stage: str, role: str, size: Optional[str] = None) -> LandmarkNet:
        path = self.model_path(stage)
        if not path.is_file():
            raise StageOrderError(f"{path} not found: run the {stage!r} stage first "
                                  f"(python -m training {stage.split('_')[0] if role == 'student' else stage} "
                                  f"--config ... --out {self.dir})")
        state = torch.load(path, map_location="cpu", weights_only=False)
        model = self.new_model(role, size)
        try:
            model.load_state_dict(state["state_dict"])
        except RuntimeError as exc:
            raise StageOrderError(f"{path} does not match the config's {role} architecture: {exc}") from None
        return model.eval()

    # -- data --------------------------------------------------------------------------------------------

    def records(self, section: str) -> List:
        """Records of a data section; ``rgb_teacher_train`` = the paired ``train`` records + ``rgb_train``.

        Thermal sections may not hold RGB-only photos (they have no thermal image)."""
        from training.data.loaders.rgb_photos import is_rgb_only

        if section == "rgb_teacher_train":
            paired = [r for r in self.records("train") if r.has_rgb]
            return paired + load_records(self.cfg.data.rgb_train)
        records = load_records(getattr(self.cfg.data, section))
        if section not in ("rgb_train", "rgb_val") and any(is_rgb_only(r) for r in records):
            raise ValueError(f"data.{section}: RGB-only photos (loader rgb_photos) belong in data.rgb_train / "
                             f"data.rgb_val, which only the RGB teacher reads")
        return records

    def dataset(self, section: str, train: bool):
        key = f"{section}:{train}"
        if key not in self._datasets:
            from training.data.augment import NO_AUGMENT, AugmentConfig
            from training.data.dataset import LandmarkDataset

            d = self.cfg.data
            aug = (AugmentConfig(**d.augment_options) if d.augment else NO_AUGMENT) if train else None
            records = self.records(section)
            if not records:
                raise ValueError(f"data.{section}: no records found in "
                                 f"{[s.root for s in getattr(d, section, d.train + d.rgb_train)]}")
            thermal = section not in ("rgb_teacher_train", "rgb_train", "rgb_val")
            negatives = d.negative_rate if train and thermal and self.cfg.models.presence else 0.0
            self._datasets[key] = LandmarkDataset(records, d.scheme, tuple(d.input_size), augment=aug,
                                                  paired=True, split_ratio=d.split_ratio,
                                                  seed=self.cfg.seed if train else None, negative_rate=negatives)
        return self._datasets[key]


def write_model_sizes(run: Run) -> Dict[str, Dict[str, float]]:
    """Parameters and FLOPs (one crop) of every model of the config -> <run>/models.json."""
    d = run.cfg.data
    out = {}
    for role, size in [("rgb_teacher", None), ("thermal_teacher", None)] + [
            ("student", s) for s in run.cfg.models.students]:
        model = run.new_model(role, size)
        name = role if size is None else f"student_{size}"
        out[name] = {"params": count_params(model),
                     "flops": count_flops(model, tuple(d.input_size), model.in_channels)}
    run.dir.mkdir(parents=True, exist_ok=True)
    (run.dir / "models.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out


def saved_stage_hash(path: Path) -> Optional[str]:
    """The stage recipe hash a ``model.pt`` was saved with (None for checkpoints older than the hash)."""
    return torch.load(path, map_location="cpu", weights_only=False).get("stage_hash")


def negative_eval_crops(run: Run, section: str, limit: int = 0) -> np.ndarray:
    """(B, 1, H, W) deterministic non-face crops of ``section``'s frames (one per record, fixed seed):
    the presence head's evaluation negatives, drawn like its training negatives."""
    from training.data.augment import NO_AUGMENT
    from training.data.dataset import LandmarkDataset

    d = run.cfg.data
    records = run.records(section)[:limit or None]
    ds = LandmarkDataset(records, d.scheme, tuple(d.input_size), augment=NO_AUGMENT, paired=False,
                         split_ratio=d.split_ratio, seed=run.cfg.seed + 7919, negative_rate=1.0)
    return np.stack([ds[i]["thermal"].numpy() for i in range(len(ds))]).astype(np.float32)


# data sections each command reads (others fail, if they must, with one line from the loader)
DATA_SECTIONS = {"rgb_teacher": ("train", "val", "rgb_train", "rgb_val"), "thermal_teacher": ("train", "val"),
                 "student": ("train", "val"), "adapt": ("adapt_bn",), "eval": ("test",),
                 "all": ("train", "val", "test", "rgb_train", "rgb_val", "real_eval", "adapt_bn")}
GENERATED_BY_ALL = ("synth", "pseudo_labels")  # loaders whose data ``all`` creates when it is missing


def missing_data_paths(cfg: TrainConfig, command: str) -> List[str]:
    """One line per configured data root that does not exist (what to fix), before anything runs.

    Roots that ``all`` generates (synthetic set with ``generate_if_missing``, pseudo-labels) are not
    missing for ``all``."""
    lines = []
    for section in DATA_SECTIONS.get(command, ()):
        for i, src in enumerate(getattr(cfg.data, section, []) or []):
            if not src.root or Path(src.root).expanduser().exists():
                continue
            if command == "all" and src.loader in GENERATED_BY_ALL and (
                    src.loader != "synth" or cfg.data.synth.generate_if_missing):
                continue
            hint = " (python -m training synth ... creates it, or run 'all')" if src.loader == "synth" else ""
            lines.append(f"data.{section}[{i}]: {src.root} not found (loader {src.loader}){hint}")
    return lines


def load_records(sources: List[SourceConfig]) -> List:
    """Records of every source (``loader`` names a kind of ``training.data.loaders.load_dataset``)."""
    from training.data.loaders import load_dataset

    out: List = []
    for src in sources:
        if src.loader == "synth":
            from training.data.synth.loader import load_synth_split

            recs = load_synth_split(src.root, src.split, **src.options)
        else:
            recs = load_dataset(src.loader, src.root, src.split, **src.options)
        if src.limit:
            recs = recs[:src.limit]
        if src.repeat < 1:
            raise ValueError(f"data source {src.root}: repeat must be >= 1")
        recs = list(recs) * int(src.repeat)
        out.extend(recs)
    return out
