"""Adaptation to real thermal appearance without labels: batch-norm statistics adaptation (AdaBN).

A network trained on synthetic frames normalises its features with synthetic statistics; on a real camera
the first layers see other contrasts and textures. AdaBN re-estimates every BatchNorm layer's running mean
and variance on unlabelled real face crops (weights untouched), the cheapest domain-adaptation step there
is, and one that changes nothing at run time (the statistics fold into the exported convolutions).
"""
from __future__ import annotations

import copy
import dataclasses
from typing import List

import numpy as np
import torch
from torch import nn

from training.config import SourceConfig, TrainConfig


def real_crops(cfg: TrainConfig, sources: List[SourceConfig], augment: bool = False) -> np.ndarray:
    """Runtime crops (B, 1, H, W) in [0, 1] of the faces of ``sources`` (labels only frame the crop)."""
    from training.data.augment import AugmentConfig
    from training.data.dataset import LandmarkDataset
    from training.runs import load_records

    d = cfg.data
    records = load_records(sources)
    aug = AugmentConfig(**d.augment_options) if augment else None
    ds = LandmarkDataset(records, d.scheme, tuple(d.input_size), augment=aug, split_ratio=d.split_ratio,
                         seed=cfg.seed)
    return np.stack([ds[i]["thermal"].numpy() for i in range(len(ds))]).astype(np.float32)


def adaptation_crops(run) -> np.ndarray:
    """The crops AdaBN estimates statistics on: the real faces of ``data.adapt_bn`` (with the training
    augmentation when ``adapt_bn_augment``), mixed with ``adapt_bn_synthetic_share`` synthetic training crops.

    Measured (docs/training.md): statistics of the real faces alone fit the model to the publisher's masked
    black backgrounds and cost accuracy on raw camera frames; mixing keeps what the synthetic frames taught."""
    cfg = run.cfg
    d = cfg.data
    real = real_crops(cfg, d.adapt_bn, augment=d.adapt_bn_augment)
    share = float(d.adapt_bn_synthetic_share)
    if not 0.0 <= share < 1.0:
        raise ValueError(f"data.adapt_bn_synthetic_share must be in [0, 1), got {share}")
    n_syn = int(round(len(real) * share / (1.0 - share)))
    if n_syn == 0:
        return real
    synth = [s for s in d.train if s.loader == "synth"]
    if not synth:
        raise ValueError("data.adapt_bn_synthetic_share > 0 needs a synth source in data.train")
    syn = real_crops(cfg, [dataclasses.replace(s, limit=n_syn) for s in synth[:1]], augment=True)
    mixed = np.concatenate([real, syn])
    return mixed[np.random.default_rng(cfg.seed).permutation(len(mixed))]


def adapt_batchnorm(model: nn.Module, crops: np.ndarray, mean: float, std: float, batch: int = 32) -> nn.Module:
    """A copy of ``model`` whose BatchNorm running statistics are those of ``crops`` (cumulative average)."""
    adapted = copy.deepcopy(model)
    bns = [m for m in adapted.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        raise ValueError("adapt_batchnorm: the model has no BatchNorm layers")
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average over all batches
    adapted.train()
    x = (crops - np.float32(mean)) / np.float32(std)
    with torch.no_grad():
        for i in range(0, len(x), batch):
            adapted(torch.from_numpy(x[i:i + batch]))
    return adapted.eval()


def stage_adapt(run, ctx, resume: bool = False) -> dict:
    """Real-face readouts of the thermal teacher and every student, then AdaBN of the students on
    ``data.adapt_bn`` (when given), with the readouts after it -> <run>/adapt/adapt.json.

    The un-adapted student stays beside the adapted one (``model_unadapted.pt``); running the stage again
    adapts from that, never from an already adapted model.
    """
    import json
    import shutil

    from training.real_eval import format_readouts, real_readouts

    if not ctx.is_main:
        return {}
    cfg = run.cfg
    d = cfg.data
    report: dict = {"adapt_bn_sources": [s.root + "/" + str(s.split) for s in d.adapt_bn], "models": {}}
    crops = adaptation_crops(run) if d.adapt_bn else None
    if crops is not None:
        report["adapt_bn_faces"] = int(len(crops))
    stages = [("thermal_teacher", "thermal_teacher", None)] + [(f"student_{s}", "student", s)
                                                                for s in cfg.models.students]
    for stage, role, size in stages:
        path = run.model_path(stage)
        if not path.is_file():
            continue
        original = path.with_name("model_unadapted.pt")
        if original.is_file():
            shutil.copyfile(original, path)
        model = run.load_model(stage, role, size)
        entry = {"before": [r.to_dict() for r in real_readouts(model, cfg, d.real_eval)]}
        print(f"[adapt] {stage} before: {format_readouts(real_readouts(model, cfg, d.real_eval))}"
              if d.real_eval else f"[adapt] {stage}: no data.real_eval", flush=True)
        if crops is not None and role == "student":
            adapted = adapt_batchnorm(model, crops, d.input_mean, d.input_std)
            after = real_readouts(adapted, cfg, d.real_eval)
            entry["after_adabn"] = [r.to_dict() for r in after]
            print(f"[adapt] {stage} after AdaBN: {format_readouts(after)}", flush=True)
            if not original.is_file():
                shutil.copyfile(path, original)
            run.save_model(stage, adapted, role, size)
        report["models"][stage] = entry
    out = run.stage_dir("adapt")
    out.mkdir(parents=True, exist_ok=True)
    (out / "adapt.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report
