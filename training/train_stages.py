"""The three training stages of MLCM-KD, each reading its teacher from the run directory.

rgb_teacher (GT on the paired RGB crops) -> thermal_teacher (Level 1, KTL) -> student (Level 2, MCL, every
size). Orchestration (``all``, timings) is ``training.stages``; export and evaluation have their own modules.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from thermal_fld_ros.codec import SimCCCodec
from training.checkpoint import seed_everything
from training.distributed import DistContext
from training.engine import train_stage
from training.objectives import KTLObjective, MCLObjective, SupervisedObjective
from training.runs import Run, write_model_sizes


def _validator(run: Run, modality: str = "thermal"):
    """Per-epoch validation: NME of the objective's model on the val crops (runtime decoder)."""
    from training.evaluate import build_eval_set, nme_array, predict_torch

    d = run.cfg.data
    try:
        es = build_eval_set(run.dataset("val", train=False), d.val_limit)
    except (ValueError, FileNotFoundError) as exc:
        print(f"validation disabled: {exc}", flush=True)
        return None
    codec = SimCCCodec(tuple(d.input_size), d.split_ratio)
    if modality == "rgb":
        es = es.subset(es.has_rgb)
        if not len(es.crops):
            return None

    def validate(objective) -> Dict[str, float]:
        pts, _ = predict_torch(objective.model, es, codec, d.input_mean, d.input_std, modality)
        nme = nme_array(pts, es, d.scheme)
        return {"val_nme": float(np.nanmean(nme))}

    return validate


def _train(run: Run, ctx: DistContext, stage_name: str, objective, stage_cfg, resume: bool, **kw):
    cfg = run.cfg
    seed_everything(cfg.seed + ctx.rank)
    train_set = run.dataset("train", train=True)
    validate = _validator(run, getattr(objective, "modality", "thermal")) if ctx.is_main else None
    return train_stage(stage_name, objective, train_set, stage_cfg, run.stage_dir(stage_name), ctx,
                       seed=cfg.seed, batch_size=cfg.data.batch_size, num_workers=cfg.data.num_workers,
                       resume=resume, log_every=cfg.log_every, validate=validate, **kw)


def stage_rgb_teacher(run: Run, ctx: DistContext, resume: bool = False, **kw) -> None:
    cfg = run.cfg
    if not cfg.ablation.ktl:
        print("[rgb_teacher] skipped: ablation.ktl is false (no RGB teacher needed)", flush=True)
        return
    if not any(r.has_rgb for r in run.dataset("train", train=True).records):
        raise ValueError("rgb_teacher: the training data has no RGB pairs; use a paired set (e.g. synth) "
                         "or set ablation.ktl: false")
    seed_everything(cfg.seed)
    model = run.new_model("rgb_teacher")
    obj = SupervisedObjective(model, "rgb", cfg.data.input_mean, cfg.data.input_std, cfg.rgb_teacher.lambda_presence)
    _train(run, ctx, "rgb_teacher", obj, cfg.rgb_teacher, resume, **kw)
    if ctx.is_main:
        run.save_model("rgb_teacher", model, "rgb_teacher")


def stage_thermal_teacher(run: Run, ctx: DistContext, resume: bool = False, **kw) -> None:
    cfg = run.cfg
    seed_everything(cfg.seed)
    model = run.new_model("thermal_teacher")
    d = cfg.data
    if cfg.ablation.ktl:
        rgb = run.load_teacher("rgb_teacher", "rgb_teacher", for_stage="thermal_teacher")
        obj = KTLObjective(model, rgb, cfg.thermal_teacher, cfg.ablation, d.input_mean, d.input_std)
    else:
        obj = SupervisedObjective(model, "thermal", d.input_mean, d.input_std, cfg.thermal_teacher.lambda_presence)
    _train(run, ctx, "thermal_teacher", obj, cfg.thermal_teacher, resume, **kw)
    if ctx.is_main:
        run.save_model("thermal_teacher", model, "thermal_teacher")


def stage_students(run: Run, ctx: DistContext, resume: bool = False, sizes: Optional[List[str]] = None,
                   **kw) -> None:
    cfg = run.cfg
    d = cfg.data
    teacher = run.load_teacher("thermal_teacher", "thermal_teacher", for_stage="student") \
        if cfg.ablation.student_kd else None
    for size in sizes or list(cfg.models.students):
        seed_everything(cfg.seed)
        model = run.new_model("student", size)
        if teacher is not None:
            obj = MCLObjective(model, teacher, cfg.student, cfg.ablation, d.input_mean, d.input_std)
        else:
            obj = SupervisedObjective(model, "thermal", d.input_mean, d.input_std, cfg.student.lambda_presence)
        _train(run, ctx, f"student_{size}", obj, cfg.student, resume, **kw)
        if ctx.is_main:
            run.save_model(f"student_{size}", model, "student", size)
    if ctx.is_main:
        write_model_sizes(run)
