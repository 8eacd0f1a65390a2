"""Leave-one-participant-out training and evaluation of the Chips-trained detector, and its final export.

For each group of the Chips subset (participants 1-8 and ``group1``): train a fresh CentreFaceNet on the
other groups' real frames (plus synthetic scene patches when given) for the same wall-clock budget,
export it to ONNX, run the held-out frames through the runtime's detector class on the runtime's frame
path (``make_detector('centreface', model_path=...)``, ``training.detection_eval.detect_all``: bgr8 ->
palette inversion -> normalise -> onnxruntime), then pool all held-out detections
(``training.detector.evaluate.pool``). Two figures: raw boxes (the model learned the Chips box
convention), and with the 3-number box calibration fitted on the fold's own held-in frames (as
``bench/eval_detector.py --lopo`` does for the synthetic model). Folds already done (``fold_<g>/dets.json``)
are skipped, so an interrupted run resumes.

Caveat shared with ``bench/eval_detector.py --lopo``: the ``group1`` shots show the same people, so a
participant held out may still appear in ``group1`` training frames.
"""
from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.detector import Detection, make_detector
from training.detection_eval import detect_all, evaluate, load_dataset

from .evaluate import apply_box_scale, fit_box_scale, participant, pool
from .export import export
from .real import detector_items, groups
from .train import train

CHIPS_TERMS = ("Chips Thermal Face Dataset (FLIR Lepton 3.5, 8 participants; redistributed in "
               "tanmayrainanda/ILGC-3-Project @ 8a033565): non-commercial research and educational use only, "
               "commercial use prohibited, publications must reference the dataset. This model's weights "
               "were fitted to those frames and inherit those terms.")
MAX_FACES = 8  # as bench/eval_detector.py


def _dets_to_json(dets):
    return [[name, [[float(v) for v in d.box] + [float(d.score)] for d in ds]] for name, ds in dets]


def _dets_from_json(rows):
    return [(name, [Detection(np.asarray(r[:4], np.float64), float(r[4])) for r in ds]) for name, ds in rows]


def fold_model(out: Path, group: str) -> Path:
    """The exported detector of the LOPO fold that held ``group`` out (``out`` of ``training detector lopo``);
    FileNotFoundError, saying how to make it, when it is absent."""
    path = Path(out) / f"fold_{group}" / "detector.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"no fold model for group {group!r} at {path}: run `python -m training detector lopo "
                                f"--out {out}` first")
    return path


THERMAL_BLOB_LOPO_AP = 0.541  # thermal_blob's own LOPO AP on the same 300 frames (bench/fit_detector.py; docs/runtime.md)


def chips_meta(lopo_summary: dict | None, command: str, real_share: float, scenes: list) -> dict:
    data = "real Chips Thermal Face frames (300 FLIR Lepton 160x120 false-colour JPEGs, 412 face boxes, " \
           "../shared/data/real_thermal/chips_thermal_face), read through the runtime's frame path and " \
           "augmented (scale, flip, translation, gamma/contrast, blur, noise; training/detector/real.py)"
    if scenes:
        data += f", mixed with synthetic thermal scenes ({1 - real_share:.0%} of patches; " \
                f"`python -m training detector render`, ICT-FaceKit + procedural heads)"
    meta = {
        "model_name": "centreface_thermal_chips",
        "training_data": data,
        "data_terms": CHIPS_TERMS + (" Synthetic scenes: ICT-FaceKit (MIT licence) and this repository's "
                                     "procedural generator." if scenes else ""),
        "box_convention": "Chips annotators' face boxes (learned from them; box_scale 1, 1, 0)",
        "default": True,
        "default_as": "the CNN of the default detector `cascade` (PipelineConfig.detector): faces scoring at least "
                      "cascade_cnn_threshold (0.4, its recommended_threshold); on frames where it finds none, "
                      "thermal_blob answers (docs/runtime.md)",
        "recommended_threshold": 0.4,  # near its LOPO best-F1 score: the cascade's cascade_cnn_threshold
    }
    if lopo_summary:
        meta["lopo"] = lopo_summary
        meta["default_because"] = (
            f"it measures better on real frames than thermal_blob: leave-one-participant-out AP@0.5 "
            f"{lopo_summary['raw_boxes']['ap50']:.3f} vs {THERMAL_BLOB_LOPO_AP:.3f} (bench/fit_detector.py); "
            f"played as sequences, docs/runtime.md (bench/eval_real_sequences.py). On another camera "
            f"(2 radiometric 640x512 frames) the cascade's thermal_blob fallback finds the faces it scores low")
        meta["lopo_command"] = command
        meta["lopo_note"] = ("leave-one-participant-out: one model per held-out group, trained with the same "
                             "budget on the other groups. The exported model itself saw all 300 frames, so "
                             "bench/eval_detector.py on it is in-sample; only these LOPO figures measure it.")
    return meta


def _summary(res: dict) -> dict:
    keys = ("ap50", "recall_at_p85", "recall_at_p80", "small_recall_at_p85", "small_faces", "threshold_at_p85",
            "best_f1", "best_threshold", "n_gt")
    return {k: (round(float(res[k]), 4) if isinstance(res[k], float) else res[k]) for k in keys}


def run_lopo(real_root, out: Path, budget_s: float, scenes=(), real_share: float = 0.7, batch: int = 24,
             only=(), final_out: str = "", command: str = "", width: int = 16) -> dict:
    """Train, export and evaluate one detector per held-out participant group, pool the held-out figures into
    ``out/lopo.json``, and (with ``final_out``) train the shipped model on every frame with the same recipe."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = PipelineConfig()
    items = load_dataset(Path(real_root))  # frames as read: what detect_all feeds the runtime
    real = detector_items(items, cfg)  # the same frames as the detector sees them: what training cuts
    folds = [g for g in groups(real) if not only or g in only]
    timing = {}
    for g in folds:
        fdir = out / f"fold_{g}"
        done = fdir / "dets.json"
        if done.is_file():
            continue
        t0 = time.time()
        ckpt = train(list(scenes), fdir, budget_s, batch, width=width, workers=0, real_items=real, exclude=[g],
                     real_share=real_share)
        t_train = time.time() - t0
        onnx_path = export(ckpt, fdir / "detector.onnx", note=f"LOPO fold: group {g} held out")
        det = make_detector("centreface", cfg.min_face_px, 1, model_path=str(onnx_path))
        test = [it for it in items if participant(it[0]) == g]
        held_in = [it for it in items if participant(it[0]) != g]
        d_test = detect_all(test, det, cfg, MAX_FACES)
        d_in = detect_all(held_in, det, cfg, MAX_FACES)
        k = fit_box_scale(held_in, d_in)
        steps = json.loads((fdir / "train.json").read_text())["steps"]
        done.write_text(json.dumps({"group": g, "raw": _dets_to_json(d_test), "box_scale": [float(v) for v in k],
                                    "train_s": t_train, "wall_s": time.time() - t0, "steps": steps}))
        print(f"fold {g}: {len(test)} frames held out, {steps} steps, trained {t_train:.0f} s, "
              f"wall {time.time() - t0:.0f} s", flush=True)
    held_items, raw, cal, per_raw, per_cal = [], [], [], {}, {}
    for g in groups(real):
        f = out / f"fold_{g}" / "dets.json"
        if not f.is_file():
            continue
        z = json.loads(f.read_text())
        timing[g] = {"train_s": round(z["train_s"], 1), "wall_s": round(z["wall_s"], 1), "steps": z["steps"]}
        test = [it for it in items if participant(it[0]) == g]
        d = _dets_from_json(z["raw"])
        assert [n for n, _ in d] == [n for n, _, _ in test]
        dc = [(n, apply_box_scale(ds, z["box_scale"], it[1].shape[1::-1])) for (n, ds), it in zip(d, test)]
        held_items += test
        raw += d
        cal += dc
        per_raw[g] = {"ap50": evaluate(test, d)["ap50"], "faces": int(sum(len(it[2]) for it in test))}
        per_cal[g] = {"ap50": evaluate(test, dc)["ap50"], "box_scale": z["box_scale"]}
    if not held_items:
        return {}
    res_raw, res_cal = pool(held_items, raw, per_raw), pool(held_items, cal, per_cal)
    summary = {"folds": sorted(timing), "budget_s_per_fold": budget_s, "width": width,
               "real_share": real_share if scenes else 1.0,
               "scenes": [str(s) for s in scenes], "raw_boxes": _summary(res_raw),
               "calibrated_boxes": _summary(res_cal), "per_fold": timing,
               "per_group_ap50_raw": {g: round(v["ap50"], 4) for g, v in per_raw.items()},
               "per_group_ap50_calibrated": {g: round(v["ap50"], 4) for g, v in per_cal.items()}}
    (out / "lopo.json").write_text(json.dumps(summary, indent=1) + "\n")
    for label, r in (("raw boxes", res_raw), ("box calibration fitted on the held-in groups", res_cal)):
        print(f"LOPO ({len(timing)} folds, {label}): AP {r['ap50']:.3f}, recall at precision>=0.85 "
              f"{r['recall_at_p85']:.3f} (>=0.80: {r['recall_at_p80']:.3f}), faces <20 px: recall "
              f"{r['small_recall_at_p85']:.3f} of {r['small_faces']} at score >= {r['threshold_at_p85']:.3f}")
    if final_out and len(timing) == len(groups(real)):
        fdir = out / "final"
        ckpt = train(list(scenes), fdir, budget_s, batch, width=width, workers=0, real_items=real,
                     real_share=real_share)
        trained = json.loads((fdir / "train.json").read_text())  # the run's own record, right after a resume too
        lopo_fig = {"raw_boxes": summary["raw_boxes"], "calibrated_boxes": summary["calibrated_boxes"],
                    "budget_s_per_fold": budget_s}
        meta = chips_meta(lopo_fig, command, real_share, [str(s) for s in scenes])
        thr = summary["raw_boxes"]["threshold_at_p85"]
        note = (f"{trained['steps']} steps in {trained['seconds']:.0f} s "
                f"(batch {batch}, 160x128 patches, 1 CPU thread, shared machine) on all 300 frames. LOPO raw "
                f"boxes: AP@0.5 {summary['raw_boxes']['ap50']:.3f}, recall@P0.85 "
                f"{summary['raw_boxes']['recall_at_p85']:.3f}, reached at score >= {thr:.2f} (a "
                f"detection_threshold near that keeps precision ~0.85).")
        path = export(ckpt, Path(final_out), note=note, extra=meta)
        print(f"final model {path} (+ {path.with_suffix('.json').name})")
    return summary


def main(args) -> int:
    command = "python -m training detector lopo " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    run_lopo(args.real, Path(args.out), args.budget_s, args.scenes or [], args.real_share, args.batch,
             tuple(args.only or ()), args.final_out, command, args.width)
    return 0
