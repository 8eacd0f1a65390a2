"""Stages of the MLCM-KD pipeline and the ``all`` command that chains them.

rgb_teacher -> thermal_teacher (KTL) -> student (MCL, every size) -> export -> eval. Each stage
reads what the previous one saved in the run directory, so stages run one by one or all at once,
and ``--resume`` continues any of them after a kill.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch

from thermal_fld_ros.codec import SimCCCodec
from training.adapt import stage_adapt
from training.checkpoint import seed_everything
from training.config import TrainConfig, load_config
from training.distributed import DistContext, init_distributed, shutdown
from training.engine import train_stage
from training.models import count_flops, count_params
from training.objectives import KTLObjective, MCLObjective, SupervisedObjective
from training.runs import Run


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


def _student_sizes(run: Run) -> List[str]:
    return run.cfg.export.students or list(run.cfg.models.students)


def stage_export(run: Run, ctx: DistContext, resume: bool = False) -> Dict[str, object]:
    """Each student -> ONNX (+ fp16 / int8), parity-checked on real crops, metadata with its test figures."""
    from training import export as E
    from training.evaluate import build_eval_set, evaluate_points, predict_onnx, standardise

    if not ctx.is_main:
        return {}
    cfg = run.cfg
    d = cfg.data
    out_dir = run.stage_dir("export")
    out_dir.mkdir(parents=True, exist_ok=True)
    es = build_eval_set(run.dataset(cfg.eval.split, train=False))
    calib = build_eval_set(run.dataset("val", train=False), cfg.export.calibration_count)
    x_eval = standardise(es.crops, d.input_mean, d.input_std)
    x_calib = standardise(calib.crops, d.input_mean, d.input_std)
    sizes = {**json.loads((run.dir / "models.json").read_text())} if (run.dir / "models.json").is_file() \
        else write_model_sizes(run)
    report: Dict[str, object] = {}
    x_negative = None
    if cfg.models.presence:
        from training.runs import negative_eval_crops

        x_negative = standardise(negative_eval_crops(run, cfg.eval.split, len(es.crops)), d.input_mean, d.input_std)
    for size in _student_sizes(run):
        model = run.load_model(f"student_{size}", "student", size)
        name = f"thermal_fld_student_{size}"
        path = E.export_onnx(model, out_dir / f"{name}.onnx", tuple(d.input_size), cfg.export.opset)
        if cfg.export.simplify:
            E.simplify(path)
        parity = E.parity_check(model, path, x_eval, cfg.export.parity_atol)
        base_meta = dict(size=sizes.get(f"student_{size}", {}), parity=parity)
        outputs = E.output_names(model)
        E.write_meta(path, E.build_meta(cfg, name, run.num_points, recipe_extra={"student": size}, outputs=outputs))
        variants = {"fp32": path}
        if cfg.export.fp16:
            variants["fp16"] = E.to_fp16(path, out_dir / f"{name}_fp16.onnx")
        if cfg.export.int8:
            variants["int8"] = E.to_int8(path, out_dir / f"{name}_int8.onnx", x_calib)
        entry = {}
        for kind, vpath in variants.items():
            E.write_meta(vpath, E.build_meta(cfg, f"{name}_{kind}" if kind != "fp32" else name, run.num_points,
                                             recipe_extra={"student": size, "precision": kind}, outputs=outputs))
            pts, scores = predict_onnx(vpath, es)
            figures = evaluate_points(pts, scores, es, d.scheme)
            figures.pop("per_landmark_nme")
            figures.update(base_meta)
            figures["eval_split"] = cfg.eval.split
            if "presence" in outputs:  # face crops of the eval split against non-face crops of its frames
                from training.metrics import presence_summary

                (p_face,) = E.run_onnx(vpath, x_eval, names=("presence",))
                (p_neg,) = E.run_onnx(vpath, x_negative, names=("presence",))
                figures["presence"] = presence_summary(p_face, p_neg)
            figures["file_bytes"] = vpath.stat().st_size
            E.write_meta(vpath, E.build_meta(cfg, f"{name}_{kind}" if kind != "fp32" else name, run.num_points,
                                             metrics=figures, recipe_extra={"student": size, "precision": kind},
                                             outputs=outputs))
            entry[kind] = {"path": str(vpath), **{k: v for k, v in figures.items() if k != "size"}}
        for kind in ("fp16", "int8"):
            if kind in entry:
                entry[kind]["nme_cost_vs_fp32"] = entry[kind]["nme"] - entry["fp32"]["nme"]
        report[size] = entry
        print(f"[export] {size}: parity max|ort-torch|={parity['max_abs_error']:.2e}; " + ", ".join(
            f"{k} NME={v['nme']:.4f}" + (f" presence AUC={v['presence']['auc']:.3f}" if "presence" in v else "")
            for k, v in entry.items()), flush=True)
    (out_dir / "export.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    if cfg.export.install_to:
        target = E.install(out_dir / f"thermal_fld_student_{cfg.models.default_student}.onnx",
                           Path(cfg.export.install_to), cfg.export.install_name)
        print(f"[export] installed {target}", flush=True)
    return report


def stage_eval(run: Run, ctx: DistContext, resume: bool = False) -> Dict[str, object]:
    """Metrics JSON + plots for the teacher(s), every student (torch) and every exported ONNX model."""
    from training import plots
    from training.evaluate import build_eval_set, evaluate_points, nme_array, predict_onnx, predict_torch

    if not ctx.is_main:
        return {}
    cfg = run.cfg
    d = cfg.data
    out = run.stage_dir(cfg.eval.out_name)
    out.mkdir(parents=True, exist_ok=True)
    es = build_eval_set(run.dataset(cfg.eval.split, train=False))
    codec = SimCCCodec(tuple(d.input_size), d.split_ratio)
    preds: Dict[str, tuple] = {}
    candidates = [("thermal_teacher", "thermal_teacher", None)]
    candidates += [(f"student_{s}", "student", s) for s in cfg.models.students]
    for stage, role, size in candidates:
        if run.model_path(stage).is_file():
            preds[f"{stage} (torch)"] = predict_torch(run.load_model(stage, role, size), es, codec,
                                                      d.input_mean, d.input_std)
    if cfg.eval.onnx:
        for path in sorted(run.stage_dir("export").glob("*.onnx")):
            preds[f"{path.stem} (onnx)"] = predict_onnx(path, es)
    if not preds:
        raise FileNotFoundError(f"eval: no trained model in {run.dir}; run the training stages first")
    results = {name: evaluate_points(p, s, es, d.scheme) for name, (p, s) in preds.items()}
    gt_ref = evaluate_points(es.landmarks, es.mask.astype(np.float32), es, d.scheme)
    report = {"split": cfg.eval.split, "count": int(len(es.crops)), "scheme": d.scheme,
              "config_hash": cfg.recipe_hash(), "ablation": cfg.to_dict()["ablation"],
              "pose_from_true_landmarks_mae_deg": gt_ref["pose_mae_deg"], "models": results}
    if (run.dir / "models.json").is_file():
        report["model_sizes"] = json.loads((run.dir / "models.json").read_text())
    (out / "metrics.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    run.write_config(out / "config.yaml")
    stage_dirs = {p.name: p for p in sorted(run.dir.iterdir()) if (p / "steps.csv").is_file()}
    plots.training_curves(stage_dirs, out / "training_curves.png")
    plots.ced_plot({k: nme_array(p, es, d.scheme) for k, (p, _) in preds.items()}, out / "ced.png")
    show = {k: v[0] for k, v in preds.items() if "teacher" in k or cfg.models.default_student in k}
    show = dict(list(show.items())[:3])
    plots.overlay_grid(es.crops, es.landmarks, show, out / "overlay_grid.png", cfg.eval.overlay_count,
                       mask=es.mask)
    for name, r in results.items():
        pm = r["pose_mae_deg"]["mean"]
        print(f"[eval] {name}: NME={r['nme']:.4f} FR@0.10={r['fr@0.10']:.3f} AUC@0.10={r['auc@0.10']:.3f} "
              f"pose MAE={pm if pm is None else round(pm, 2)}", flush=True)
    return report


SPLIT_SEED_OFFSET = {"train": 0, "val": 1000, "test": 2000}


def ensure_synth(run: Run) -> None:
    """Generate the synthetic splits the config reads when they are missing (``all`` only)."""
    cfg = run.cfg
    syn = cfg.data.synth
    uses = [s for sec in (cfg.data.train, cfg.data.val, cfg.data.test) for s in sec if s.loader == "synth"]
    missing = sorted({(s.root, s.split) for s in uses if not (Path(s.root) / s.split / "annotations.json").is_file()})
    if not missing:
        return
    if not syn.generate_if_missing:
        raise FileNotFoundError(f"synthetic splits {missing} are missing and data.synth.generate_if_missing is false "
                                f"(generate them with python -m training synth)")
    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split

    try:
        opts = SynthOptions(**syn.options)
    except TypeError as exc:
        raise ValueError(f"data.synth.options: {exc}") from None
    for root, split in missing:
        if split not in syn.counts:
            raise ValueError(f"data.synth.counts has no entry for split {split!r} (needed by {root})")
        print(f"[all] generating synthetic split {split!r} ({syn.counts[split]} faces) in {root}", flush=True)
        write_split(Path(root), split, syn.counts[split], seed=syn.seed + SPLIT_SEED_OFFSET.get(split, 3000),
                    opts=opts, workers=syn.workers)


def ensure_pseudo_labels(run: Run) -> None:
    """Write the MediaPipe pseudo-labels the config reads when their folder is missing (``all`` only)."""
    d = run.cfg.data
    roots = sorted({s.root for sec in (d.train, d.val, d.test, d.real_eval, d.adapt_bn) for s in sec
                    if s.loader == "pseudo_labels" and not (Path(s.root) / "summary.json").is_file()})
    if not roots:
        return
    from training.pseudolabel import DEFAULT_DATA
    from training.pseudolabel import run as write_pseudo_labels

    for root in roots:
        print(f"[all] writing MediaPipe pseudo-labels of the real thermal faces in {DEFAULT_DATA} to {root}",
              flush=True)
        write_pseudo_labels(DEFAULT_DATA, Path(root))


STAGES = {
    "rgb_teacher": stage_rgb_teacher,
    "thermal_teacher": stage_thermal_teacher,
    "student": stage_students,
    "adapt": stage_adapt,
    "export": stage_export,
    "eval": stage_eval,
}
ALL_ORDER = ("rgb_teacher", "thermal_teacher", "student", "adapt", "export", "eval")


def run_command(command: str, config_path, out: Optional[str] = None, resume: bool = False,
                cfg: Optional[TrainConfig] = None, allow_recipe_mismatch: bool = False) -> int:
    cfg = cfg or load_config(config_path)
    if cfg.device == "cpu" and torch.cuda.is_available():
        print("device: cpu (config) although CUDA is available", flush=True)
    ctx = init_distributed(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run = Run(cfg, out, allow_recipe_mismatch=allow_recipe_mismatch)
    t0 = time.time()
    try:
        if ctx.is_main and command in ("all", "rgb_teacher", "thermal_teacher", "student"):
            run.write_config()  # eval/export may run with overrides: they keep their own copy
        if command == "all":
            if ctx.is_main:
                ensure_synth(run)
                ensure_pseudo_labels(run)
            ctx.barrier()
            for name in ALL_ORDER:
                _timed(name, STAGES[name], run, ctx, resume)
        elif command in STAGES:
            _timed(command, STAGES[command], run, ctx, resume)
        else:
            raise ValueError(f"unknown command {command!r}; known: {sorted(STAGES) + ['all']}")
    finally:
        shutdown(ctx)
    if ctx.is_main:
        print(f"[{command}] done in {time.time() - t0:.1f} s -> {run.dir}", flush=True)
    return 0


def _timed(name, fn, run: Run, ctx: DistContext, resume: bool) -> None:
    t = time.time()
    fn(run, ctx, resume=resume)
    ctx.barrier()
    if ctx.is_main:
        timings = run.dir / "timings.json"
        doc = json.loads(timings.read_text()) if timings.is_file() else {}
        doc[name] = round(time.time() - t, 1)
        timings.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        print(f"[{name}] finished in {doc[name]:.1f} s", flush=True)

