"""Real-data figures of a finished run: the RGB teacher on real photos, the real-face readouts before and
after adaptation, the student against MediaPipe's face mesh on the same boxes, its face-presence output on
real frames, and the data experiments
(one student recipe on different training data, same budget) that decided the recipe.

Each reader returns None when its input is absent (no ``../shared`` data, a stage not run), so the report
says "not measured" instead of failing.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional


def read_json(path: Path) -> Optional[dict]:
    """A JSON record of a run, or None when it is absent."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def rgb_teacher_figures(run_dir: Path) -> Optional[Dict[str, object]]:
    """The RGB teacher on its held-out real photos (``data.rgb_val``; HELEN testset in the bundled recipe)."""
    return read_json(Path(run_dir) / "rgb_teacher" / "real_rgb_eval.json")


def adaptation_figures(run_dir: Path) -> Optional[Dict[str, object]]:
    """Real-face readouts of every thermal model, before and after AdaBN (``adapt`` stage)."""
    return read_json(Path(run_dir) / "adapt" / "adapt.json")


def runtime_readouts(run_dir: Path, model_path: Path) -> Optional[Dict[str, object]]:
    """The exported student on the run's real-face sources (``data.real_eval``) through the runtime's
    ``LandmarkModel``, without and with its flip test (the runtime default)."""
    import numpy as np

    from training.config import load_config
    from training.data.dataset import LandmarkDataset
    from training.evaluate import build_eval_set, nme_array, predict_onnx
    from training.real_eval import source_name
    from training.runs import load_records

    cfg_path = Path(run_dir) / "config.yaml"
    if not cfg_path.is_file() or not Path(model_path).is_file():
        return None
    cfg = load_config(cfg_path)
    d = cfg.data
    out = []
    for src in d.real_eval:
        try:
            records = load_records([src])
        except (OSError, ValueError) as exc:  # a source absent on this machine
            out.append({"source": source_name(src), "missing": str(exc)})
            continue
        es = build_eval_set(LandmarkDataset(records, d.scheme, tuple(d.input_size), augment=None,
                                            split_ratio=d.split_ratio))
        row = {"source": source_name(src), "faces": int(len(es.crops))}
        for key, flip in (("nme_mean", False), ("nme_mean_flip_test", True)):
            row[key] = float(np.nanmean(nme_array(predict_onnx(model_path, es, flip_test=flip)[0], es, d.scheme)))
        out.append(row)
    return {"model": str(model_path), "sources": out}


def mediapipe_figures(model_path: Path) -> Optional[Dict[str, object]]:
    """Student vs MediaPipe face mesh on the labelled real frames, same boxes (None if either is missing)."""
    from training.baselines.compare import DEFAULT_DATA, compare_on_real_frames
    from training.baselines.mediapipe_mesh import unavailable_reason

    if not Path(model_path).is_file() or not Path(DEFAULT_DATA).is_dir() or unavailable_reason():
        return None
    cmp = compare_on_real_frames(Path(model_path))
    doc = cmp.to_dict()
    doc["summary"] = {s.box_kind: {"frames": s.frames, "student_nme5": s.student_nme5, "mesh_nme5": s.mesh_nme5,
                                   "student_nme": s.student_nme, "mesh_nme": s.mesh_nme,
                                   "margin_nme5": s.margin_nme5, "margin_nme": s.margin_nme}
                      for s in cmp.summaries}
    return doc


def presence_figures(model_path: Path) -> Optional[Dict[str, object]]:
    """The student's face-presence output on the real Chips frames (``training.presence_eval``): true face
    crops against geometric non-face crops, and the runtime detector's boxes on a face and on none."""
    from training.detection_eval import DEFAULT_DATA
    from training.presence_eval import evaluate_presence

    if not Path(model_path).is_file() or not (Path(DEFAULT_DATA) / "images").is_dir():
        return None
    try:
        return evaluate_presence(Path(model_path), Path(DEFAULT_DATA))
    except ValueError:  # a model without a presence output
        return None


def experiment_figures(exp_dirs: List[Path]) -> Optional[List[Dict[str, object]]]:
    """One row per data experiment run: its training sources, synthetic held-out NME (each eval folder) and
    the real-face readouts before / after AdaBN of its student."""
    rows = []
    for d in exp_dirs:
        d = Path(d)
        adapt = read_json(d / "adapt" / "adapt.json")
        if adapt is None:
            continue
        cfg = _read_yaml(d / "config.yaml")
        student = next((k for k in adapt["models"] if k.startswith("student_")), None)
        evals = {}
        for sub in sorted(d.iterdir()):
            m = read_json(sub / "metrics.json") if sub.is_dir() else None
            if m:
                model = next((v for k, v in m["models"].items() if k.startswith(student or "student")), None)
                if model:
                    evals[sub.name] = {"nme": model["nme"], "count": m["count"]}
        rows.append({"name": d.name,
                     "train": [f"{s['loader']}:{Path(s['root']).name}/{s.get('split') or ''}"
                               + (f" x{s['repeat']}" if s.get("repeat", 1) > 1 else "") for s in cfg["data"]["train"]],
                     "synth_face_model": bool(cfg["data"]["synth"]["options"].get("face_model")),
                     "evals": evals, "student": student, **adapt["models"].get(student, {})})
    return rows or None


def _read_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))
