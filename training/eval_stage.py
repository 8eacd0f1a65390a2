"""The ``eval`` stage: metrics JSON and plots for the run's teacher, students (torch) and exported ONNX models."""
from __future__ import annotations

import json
from typing import Dict

import numpy as np

from thermal_fld_ros.codec import SimCCCodec
from training.distributed import DistContext
from training.runs import Run


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
