"""The three training stages of MLCM-KD, each reading its teacher from the run directory.

rgb_teacher (GT on paired RGB crops + real photos) -> thermal_teacher (Level 1, KTL) -> student (Level 2, MCL, every
size). Orchestration (``all``, timings) is ``training.stages``; export and evaluation have their own modules.
"""
from __future__ import annotations

import json
from typing import Dict, List, Optional

import numpy as np

from thermal_fld_ros.codec import SimCCCodec
from training.checkpoint import seed_everything
from training.distributed import DistContext
from training.engine import train_stage
from training.objectives import KTLObjective, MCLObjective, SupervisedObjective
from training.runs import Run, write_model_sizes


def _validator(run: Run, modality: str = "thermal", section: str = "val"):
    """Per-epoch validation: NME of the objective's model on the val crops (runtime decoder)."""
    from training.evaluate import build_eval_set, nme_array, predict_torch

    d = run.cfg.data
    try:
        es = build_eval_set(run.dataset(section, train=False), d.val_limit)
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


def _train(run: Run, ctx: DistContext, stage_name: str, objective, stage_cfg, resume: bool,
           train_section: str = "train", val_section: str = "val", **kw):
    cfg = run.cfg
    seed_everything(cfg.seed + ctx.rank)
    train_set = run.dataset(train_section, train=True)
    validate = _validator(run, getattr(objective, "modality", "thermal"), val_section) if ctx.is_main else None
    return train_stage(stage_name, objective, train_set, stage_cfg, run.stage_dir(stage_name), ctx,
                       seed=cfg.seed, batch_size=cfg.data.batch_size, num_workers=cfg.data.num_workers,
                       resume=resume, log_every=cfg.log_every, validate=validate, **kw)


def stage_rgb_teacher(run: Run, ctx: DistContext, resume: bool = False, **kw) -> None:
    cfg = run.cfg
    if not cfg.ablation.ktl:
        print("[rgb_teacher] skipped: ablation.ktl is false (no RGB teacher needed)", flush=True)
        return
    if not any(r.has_rgb for r in run.dataset("rgb_teacher_train", train=True).records):
        raise ValueError("rgb_teacher: the training data has no RGB images; use a paired set (e.g. synth), "
                         "real photos in data.rgb_train, or set ablation.ktl: false")
    seed_everything(cfg.seed)
    model = run.new_model("rgb_teacher")
    obj = SupervisedObjective(model, "rgb", cfg.data.input_mean, cfg.data.input_std, cfg.rgb_teacher.lambda_presence)
    val_section = "rgb_val" if cfg.data.rgb_val else "val"
    _train(run, ctx, "rgb_teacher", obj, cfg.rgb_teacher, resume, train_section="rgb_teacher_train",
           val_section=val_section, **kw)
    if ctx.is_main:
        run.save_model("rgb_teacher", model, "rgb_teacher")
        if cfg.data.rgb_val:
            evaluate_rgb_teacher(run, model)


def evaluate_rgb_teacher(run: Run, model) -> Dict[str, object]:
    """The RGB teacher on the real held-out photos of ``data.rgb_val`` (e.g. HELEN test): inter-ocular NME
    over the points those photos label -> <run>/rgb_teacher/real_rgb_eval.json."""
    from training.evaluate import build_eval_set, evaluate_points, predict_torch

    d = run.cfg.data
    es = build_eval_set(run.dataset("rgb_val", train=False))
    codec = SimCCCodec(tuple(d.input_size), d.split_ratio)
    pts, scores = predict_torch(model, es, codec, d.input_mean, d.input_std, "rgb")
    figures = evaluate_points(pts, scores, es, d.scheme)
    figures.pop("per_landmark_nme", None)
    doc = {"sources": [s.root + (f"/{s.split}" if s.split else "") for s in d.rgb_val], "count": int(len(es.crops)),
           "normaliser": "inter-ocular (outer eye corners)", **figures}
    path = run.stage_dir("rgb_teacher") / "real_rgb_eval.json"
    path.write_text(json.dumps(doc, indent=1, default=float), encoding="utf-8")
    print(f"[rgb_teacher] real RGB photos ({doc['count']}): NME={figures['nme']:.4f}", flush=True)
    return doc


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
