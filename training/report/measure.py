"""Measurements for the results report: every figure comes from a run directory or a real data set, here.

Held-out synthetic figures, sizes and CPU latency of every model of the bundled recipe's run; the runtime
face detector and the bundled student on the real thermal frames in ``../shared/data/real_thermal`` (when
present); the ablation summary. Returns plain dicts (they are written to ``docs/results.json`` as they are).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

REPO = Path(__file__).resolve().parents[2]
REAL = REPO.parent / "shared" / "data" / "real_thermal"


def onnx_latency_ms(path: Path, threads: int, channels: int, size, repeats: int = 200, batch: int = 1) -> float:
    """Median wall time of one face (batch 1; 2 = a face and its mirror, the runtime's flip test) in
    onnxruntime on the CPU."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x = np.random.default_rng(0).random((batch, channels, size[1], size[0]), dtype=np.float32)
    t = time.perf_counter()
    for _ in range(20):
        sess.run(None, {name: x})
    per_run = (time.perf_counter() - t) / 20
    times = []
    # at least ~1.5 s of runs: a median over 200 runs of a 0.4 ms model (80 ms) follows any burst of load
    for _ in range(max(repeats, int(1.5 / max(per_run, 1e-5)))):
        t = time.perf_counter()
        sess.run(None, {name: x})
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def pose_mae_within(pred: np.ndarray, gt: np.ndarray, max_abs_yaw: float) -> Dict[str, Optional[float]]:
    """Head-pose MAE (training.metrics.angle_mae) over the faces within ``max_abs_yaw`` of frontal."""
    from training.metrics import angle_mae

    keep = np.isfinite(pred).all(1) & np.isfinite(gt).all(1) & (np.abs(gt[:, 0]) <= max_abs_yaw)
    if not keep.any():
        return {"yaw": None, "pitch": None, "roll": None, "mean": None, "count": 0}
    err = angle_mae(pred[keep], gt[keep])
    return {"yaw": float(err[0]), "pitch": float(err[1]), "roll": float(err[2]), "mean": float(err.mean()),
            "count": int(keep.sum())}


def synthetic_figures(run_dir: Path, threads_list=(1, 2)) -> Dict[str, object]:
    """Held-out synthetic figures, sizes and CPU latency of every model of the bundled recipe's run."""
    from thermal_fld_ros.codec import SimCCCodec
    from training import export as E
    from training.config import load_config
    from training.evaluate import (
        build_eval_set,
        evaluate_points,
        head_pose_errors,
        predict_onnx,
        predict_torch,
    )
    from training.runs import Run

    cfg = load_config(run_dir / "config.yaml")
    run = Run(cfg, str(run_dir))
    d = cfg.data
    es = build_eval_set(run.dataset(cfg.eval.split, train=False))
    codec = SimCCCodec(tuple(d.input_size), d.split_ratio)
    sizes = json.loads((run_dir / "models.json").read_text())
    rows: Dict[str, Dict[str, object]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="report_onnx_"))

    def add(name, pts, scores, onnx_path, channels, size_key, modality="thermal", batch=1):
        fig = evaluate_points(pts, scores, es.subset(es.has_rgb) if modality == "rgb" else es, d.scheme)
        fig.pop("per_landmark_nme", None)
        sub = es.subset(es.has_rgb) if modality == "rgb" else es
        pred_pose, gt_pose = head_pose_errors(pts, scores, sub, d.scheme)
        fig["pose_mae_deg_yaw60"] = pose_mae_within(pred_pose, gt_pose, 60.0)
        fig.update(sizes.get(size_key, {}))
        fig["latency_ms"] = {str(t): onnx_latency_ms(onnx_path, t, channels, d.input_size, batch=batch)
                             for t in threads_list}
        fig["modality"] = modality
        rows[name] = fig

    for stage, role, channels in (("rgb_teacher", "rgb_teacher", 3), ("thermal_teacher", "thermal_teacher", 1)):
        if not run.model_path(stage).is_file():
            continue
        model = run.load_model(stage, role)
        path = E.export_onnx(model, tmp / f"{stage}.onnx", tuple(d.input_size), cfg.export.opset)
        modality = "rgb" if role == "rgb_teacher" else "thermal"
        sub = es.subset(es.has_rgb) if modality == "rgb" else es
        pts, scores = predict_torch(model, sub, codec, d.input_mean, d.input_std, modality)
        add(f"{stage} ({'on RGB' if modality == 'rgb' else 'on thermal'})", pts, scores, path, channels, stage,
            modality)
    for size in cfg.models.students:
        for suffix in ("", "_fp16", "_int8"):
            path = run_dir / "export" / f"thermal_fld_student_{size}{suffix}.onnx"
            if path.is_file():
                pts, scores = predict_onnx(path, es)
                add(f"student_{size}{suffix or ''} (onnx{suffix.replace('_', ' ')})", pts, scores, path, 1,
                    f"student_{size}")
                if size == cfg.models.default_student and not suffix:  # as the runtime runs it by default
                    pts, scores = predict_onnx(path, es, flip_test=True)
                    add(runtime_row(size), pts, scores, path, 1, f"student_{size}", batch=2)
    shutil.rmtree(tmp, ignore_errors=True)
    timings = json.loads((run_dir / "timings.json").read_text()) if (run_dir / "timings.json").is_file() else {}
    return {"rows": rows, "count": int(len(es.crops)), "run_dir": str(run_dir), "split": cfg.eval.split, "seed": cfg.seed,
            "config_hash": cfg.recipe_hash(), "default_student": cfg.models.default_student,
            "timings_s": timings, "synth_counts": dict(cfg.data.synth.counts)}


def runtime_row(size: str) -> str:
    """Name of the synthetic-table row of the default student as the runtime runs it (flip test on)."""
    return f"student_{size} (onnx, flip test: the runtime default)"


def detector_figures(real: Path) -> Optional[Dict[str, object]]:
    """Runtime face detector on the real FLIR Lepton frames with boxes (precision / recall / AP@0.5)."""
    data = real / "chips_thermal_face"
    if not (data / "images").is_dir():
        return None
    from thermal_fld_ros.config import PipelineConfig
    from thermal_fld_ros.detector import detector_from_config, min_score
    from training.detection_eval import at_threshold, detect_all, evaluate, load_dataset, recall_at_precision

    cfg = PipelineConfig()
    items = load_dataset(data)
    det = detector_from_config(cfg)
    dets = detect_all(items, det, cfg, 8)
    res = evaluate(items, dets, 0.5)
    at = min_score(det, cfg.detection_threshold)  # 0 for the cascade: it applied its own thresholds
    p, r = at_threshold(res, at)
    return {"images": res["n_images"], "faces": res["n_gt"], "ap50": res["ap50"], "detector": cfg.detector,
            "threshold": at, "precision": p, "recall": r,
            "best_f1": res["best_f1"], "best_precision": res["best_precision"], "best_recall": res["best_recall"],
            "recall_at_p80": recall_at_precision(res, 0.8)}  # the operating point


def real_landmark_figures(real: Path, model_path: Path) -> Optional[Dict[str, object]]:
    """Bundled student on the real 54-point radiometric frames: NME on the points shared with ibug70."""
    root = real / "faiyaz106_thermal54"
    if not root.is_dir():
        return None
    from thermal_fld_ros.config import PipelineConfig
    from thermal_fld_ros.frames import ThermalFrame
    from thermal_fld_ros.landmark_model import LandmarkModel
    from thermal_fld_ros.pipeline import Pipeline
    from thermal_fld_ros.schemes import IBUG70, SFTL54, common_indices
    from training import metrics as M
    from training.data.dataset import LandmarkDataset
    from training.data.loaders import load_dataset
    from training.data.records import load_thermal
    from training.evaluate import build_eval_set, predict_onnx

    records = load_dataset("sftl54", root)
    meta = LandmarkModel(model_path).meta
    ds = LandmarkDataset(records, "ibug70", tuple(meta.input_size), augment=None, split_ratio=meta.split_ratio)
    es = build_eval_set(ds)
    flip = PipelineConfig().flip_test
    pts, _ = predict_onnx(model_path, es, flip_test=flip)
    summary = M.summarise(pts, es.landmarks, es.mask, IBUG70.normaliser)
    plain = M.summarise(predict_onnx(model_path, es)[0], es.landmarks, es.mask, IBUG70.normaliser)
    # End to end: the runtime pipeline (detector + tracker + student) on the full radiometric frame.
    pipe = Pipeline(PipelineConfig(model_path=str(model_path), smoothing=False))
    ia, ib = common_indices(SFTL54, IBUG70)
    e2e = []
    for rec in records:
        data, kind = load_thermal(rec)
        pipe.reset()
        res = pipe.process(ThermalFrame(data, kind, "32FC1"), 0.0)
        if not res.faces:
            e2e.append(float("nan"))
            continue
        pred = np.full_like(rec.landmarks, np.nan, dtype=np.float64)
        pred[ia] = res.primary.landmarks[ib]
        counted = np.zeros((1, SFTL54.num_points), bool)
        counted[0, ia] = True
        e2e.append(float(M.nme_per_sample(pred[None], rec.landmarks[None], counted, SFTL54.normaliser)[0]))
    return {"frames": len(records), "points": int(es.mask[0].sum()), "nme_gt_box": summary["nme"],
            "flip_test": flip, "nme_gt_box_without_flip_test": plain["nme"],
            "nme_pipeline": [None if not np.isfinite(v) else v for v in e2e],
            "mapping": "SF-TL54 points 0-47 = iBUG 0-47; 48,49,50,51,52,53 = iBUG 48,51,54,57,62,66"}


def ablation_figures(ablation_dir: Path) -> Optional[Dict[str, object]]:
    path = ablation_dir / "summary.json"
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    timings = {}
    for name, row in doc["variants"].items():
        t = ablation_dir / name / f"seed_{row['seeds'][0]}" / "timings.json"
        if t.is_file():
            timings[name] = json.loads(t.read_text())
    doc["timings_s"] = timings
    full = doc["variants"].get("full")
    cfg_path = ablation_dir / "full" / f"seed_{full['seeds'][0]}" / "config.yaml" if full else ablation_dir / "-"
    if cfg_path.is_file():
        import yaml

        cfg = yaml.safe_load(cfg_path.read_text())
        doc["budget"] = {"thermal_teacher_epochs": cfg["thermal_teacher"]["epochs"],
                         "student_epochs": cfg["student"]["epochs"], "student": cfg["models"]["default_student"],
                         "train_faces": cfg["data"]["synth"]["counts"]["train"]}
    return doc


PROFILE_BINS = (0.0, 30.0, 60.0, 70.0, 80.0, 90.01)  # |yaw| degrees; 70-90 lies outside the val/test range
PROFILE_SPLIT = {"root": "data/synth_profile", "split": "test", "count": 400, "seed": 7, "max_yaw": 90.0}


def yaw_bin_nme(points: np.ndarray, truth: np.ndarray, mask: np.ndarray, yaw: np.ndarray,
                bins=PROFILE_BINS) -> List[Dict[str, object]]:
    """Mean point error per |yaw| bin, over the square root of the true landmark box's area: the outer
    eye corners that normalise the usual NME collapse onto each other in profile, a face's box does not."""
    pts = np.where(mask[..., None], truth, np.nan)
    side = np.sqrt(np.prod(np.nanmax(pts, 1) - np.nanmin(pts, 1), axis=1))
    err = np.nansum(np.linalg.norm(points - truth, axis=2) * mask, 1) / np.maximum(mask.sum(1), 1) / side
    out = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        keep = (np.abs(yaw) >= lo) & (np.abs(yaw) < hi)
        out.append({"yaw": [lo, min(hi, 90.0)], "faces": int(keep.sum()),
                    "nme_box": float(err[keep].mean()) if keep.any() else None})
    return out


def profile_figures(cfg_path: Path, model_path: Path) -> Optional[Dict[str, object]]:
    """The student (flip test as the runtime runs it) on held-out ICT faces turned up to full profile,
    by |yaw| bin: how far past the val/test range (70 deg) its landmarks hold. The split is rendered
    once into ``data/synth_profile`` with the generator options of the recipe at ``cfg_path`` (a run's
    ``config.yaml``, or the bundled model's recipe) and its held-out identities."""
    from thermal_fld_ros.config import PipelineConfig
    from training.config import SourceConfig, load_config
    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split
    from training.evaluate import build_eval_set, predict_onnx
    from training.runs import Run

    cfg_path = Path(cfg_path)
    if not cfg_path.is_file() or not Path(model_path).is_file():
        return None
    cfg = load_config(cfg_path)
    opts = dict(cfg.data.synth.options, max_yaw=PROFILE_SPLIT["max_yaw"])
    if not opts.get("face_model") or not Path(opts["face_model"]).exists():
        return None
    root = Path(PROFILE_SPLIT["root"])
    if not (root / PROFILE_SPLIT["split"] / "annotations.json").is_file():
        write_split(root, PROFILE_SPLIT["split"], PROFILE_SPLIT["count"], seed=PROFILE_SPLIT["seed"],
                    opts=SynthOptions(**opts), workers=cfg.data.synth.workers, progress=False)
    cfg.data.test = [SourceConfig(loader="synth", root=str(root), split=PROFILE_SPLIT["split"])]
    es = build_eval_set(Run(cfg, str(cfg_path.parent)).dataset("test", train=False))
    flip = PipelineConfig().flip_test
    pts, _ = predict_onnx(Path(model_path), es, flip_test=flip)
    return {"split": dict(PROFILE_SPLIT), "flip_test": flip, "model": str(model_path),
            "bins": yaw_bin_nme(pts, es.landmarks, es.mask, es.pose_ypr[:, 0])}
