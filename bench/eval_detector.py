"""Face detector accuracy on real FLIR Lepton frames with face boxes (Chips Thermal Face subset).

Prints precision, recall and AP@0.5 over all detections, the best operating point (max F1), the
precision/recall at the runtime's default detection threshold, and (``--lopo``) leave-one-participant-out
figures: recall at precision >= 0.85, with a 3-number box calibration fitted on the other participants
(training/detector/evaluate.py). Images are false-colour JPEGs, read through the runtime's palette
inversion exactly as a bgr8 stream would be.

    .venv/bin/python bench/eval_detector.py [--detector centreface|thermal_blob] [--lopo] [--long-side N]
    .venv/bin/python bench/eval_detector.py --detector centreface --fold-models runs/det_lopo_600 --lopo \
        [--flip-test]   # the Chips-trained CNN out of sample (raw boxes: the folds learned the Chips convention)
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thermal_fld_ros.config import PipelineConfig  # noqa: E402
from thermal_fld_ros.detector import detector_from_config, load_scorer, min_score  # noqa: E402
from training.detection_eval import DEFAULT_DATA, at_threshold, detect_all, evaluate, load_dataset  # noqa: E402

__all__ = ["DEFAULT_DATA", "at_threshold", "detect_all", "evaluate", "load_dataset"]  # bench/fit_detector.py and test/test_detector.py import them from here


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--iou", type=float, default=0.5)
    ap.add_argument("--max-faces", type=int, default=8)
    ap.add_argument("--detector", default="", help="cascade | centreface | thermal_blob (default: the config's)")
    ap.add_argument("--model", default="", help="the CNN's ONNX (cascade, centreface; default: the bundled one)")
    ap.add_argument("--fold-models", type=Path, default=None, metavar="DIR",
                    help="a `training detector lopo --out DIR`: each participant's frames through the CNN of the "
                         "fold that never saw them (cascade, centreface: out of sample for the CNN)")
    ap.add_argument("--long-side", type=int, default=0)
    ap.add_argument("--flip-test", action="store_true", help="the CNN also sees each frame mirrored (detector_flip_test)")
    ap.add_argument("--lopo", action="store_true", help="leave-one-participant-out figures")
    args = ap.parse_args(argv)
    if not (args.data / "images").is_dir():
        print(f"no dataset at {args.data} (expected images/ and annotations_yolo_format/)")
        return 1
    cfg = PipelineConfig()
    name = args.detector or cfg.detector
    items = load_dataset(args.data)
    det_cfg = replace(cfg, detector=name, intra_op_threads=1, detector_long_side=args.long_side,
                      detector_flip_test=args.flip_test)

    def detector(model_path: str):
        return detector_from_config(replace(det_cfg, detector_model_path=model_path))

    det = detector(args.model)
    t0 = time.perf_counter()
    if args.fold_models is None:
        dets = detect_all(items, det, cfg, args.max_faces)
    else:
        from training.detector.evaluate import participant
        from training.detector.lopo import fold_model

        folds = {}
        for it in items:
            p_ = participant(it.name)
            if p_ not in folds:
                try:
                    folds[p_] = detector(str(fold_model(args.fold_models, p_)))
                except FileNotFoundError as exc:
                    print(exc)
                    return 1
        dets = [detect_all([it], folds[participant(it.name)], cfg, args.max_faces)[0] for it in items]
    ms = (time.perf_counter() - t0) * 1e3 / max(len(items), 1)
    res = evaluate(items, dets, args.iou)
    at = min_score(det, cfg.detection_threshold)  # 0 for the cascade: its faces are all at the operating point
    p, r = at_threshold(res, at)
    print(f"detector {name} on {res['n_images']} images, {res['n_gt']} faces, {res['n_det']} detections "
          f"(max {args.max_faces}/image), IoU >= {args.iou}")
    print(f"AP@{args.iou}: {res['ap50']:.3f}")
    print(f"best F1 {res['best_f1']:.3f} at score >= {res['best_threshold']:.3f}: "
          f"precision {res['best_precision']:.3f}, recall {res['best_recall']:.3f}")
    if at == 0.0:
        print(f"AP and best F1 of a cascade cover only its accepted faces (CNN >= {cfg.cascade_cnn_threshold}, "
              f"else thermal_blob >= {cfg.detection_threshold})")
    print(f"default operating point: precision {p:.3f}, recall {r:.3f}")
    print(f"mean time per frame (palette inversion + normalise + detect, 160x120): {ms:.2f} ms")
    if name == "thermal_blob":
        fitted = load_scorer().get("fitted_on")
        if fitted:
            print(f"NOTE: in-sample figures: the scorer was fitted on {fitted} (bench/fit_detector.py)")
    if args.lopo:
        from training.detector.evaluate import lopo

        calibrate = name == "centreface" and args.fold_models is None  # fold models learned the Chips boxes
        out = lopo(items, dets, args.iou, calibrate=calibrate)
        print(f"leave-one-participant-out ({'box calibration fitted on the other participants' if calibrate else 'raw boxes'}): "
              f"AP {out['ap50']:.3f}, recall at precision>=0.85 {out['recall_at_p85']:.3f} "
              f"(>=0.80: {out['recall_at_p80']:.3f}), faces <20 px: recall {out['small_recall_at_p85']:.3f} "
              f"of {out['small_faces']} at score >= {out['threshold_at_p85']:.3f}")
        for p_, v in out["per_participant"].items():
            print(f"  {p_:>7}: AP {v['ap50']:.3f} ({v['faces']} faces), box scale "
                  f"{', '.join(f'{x:.3f}' for x in v['box_scale'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
