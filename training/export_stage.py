"""The ``export`` stage: every trained student -> ONNX (+ fp16 / int8), parity-checked, with metadata and figures.

The conversion steps themselves (trace, simplify, parity, quantise, metadata) are ``training.export``; this
module is the loop over the run's students that applies them and records what each variant measures.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

from training.distributed import DistContext
from training.runs import Run, write_model_sizes


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
