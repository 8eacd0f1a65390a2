"""``python -m training detector {render,train,export,lopo}``: the thermal face detector's data, training, export,
and the leave-one-participant-out run of the model trained on real Chips frames (``detector_chips``)."""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_FACE_MODEL = Path(__file__).resolve().parents[3] / "shared" / "data" / "face_model_ict" / "FaceXModel"
DEFAULT_CHIPS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real_thermal" / "chips_thermal_face"


def register(subparsers) -> None:
    p = subparsers.add_parser("detector", help="thermal face detector (CentreFace): render scenes, train, export")
    sub = p.add_subparsers(dest="detector_command", required=True)
    r = sub.add_parser("render", help="render synthetic thermal scenes (temperature + face boxes) as .npz")
    r.add_argument("--out", default="data/det_scenes")
    r.add_argument("--count", type=int, default=1000)
    r.add_argument("--seed", type=int, default=7)
    r.add_argument("--face-model", default=str(DEFAULT_FACE_MODEL) if DEFAULT_FACE_MODEL.is_dir() else "",
                   help="ICT FaceXModel dir (bodies, hands, distractors); empty = procedural heads only")
    r.add_argument("--budget-s", type=float, default=0.0, help="stop after this many seconds (0 = no limit)")
    t = sub.add_parser("train", help="train on scene patches for a wall-clock budget (resumes from OUT/last.pt)")
    t.add_argument("--scenes", action="append", default=None, help="scene dir(s) (default data/det_scenes)")
    t.add_argument("--out", default="runs/detector")
    t.add_argument("--budget-s", type=float, default=1500)
    t.add_argument("--batch", type=int, default=24)
    t.add_argument("--width", type=int, default=16)
    t.add_argument("--workers", type=int, default=1)
    t.add_argument("--real", default="", help="Chips Thermal Face dir (images/, annotations_yolo_format/): train on "
                   "its real frames too (non-commercial terms; makes the separate detector_chips model)")
    t.add_argument("--exclude-participant", action="append", default=[], metavar="P",
                   help="leave this Chips group out (1..8, group1); repeatable")
    t.add_argument("--real-share", type=float, default=0.7,
                   help="fraction of patches from real frames when scenes are mixed in (1 without scenes)")
    lo = sub.add_parser("lopo", help="leave-one-participant-out train/export/evaluate on the Chips frames "
                        "(+ optional final model on all of them)")
    lo.add_argument("--real", default=str(DEFAULT_CHIPS), help="Chips Thermal Face dir")
    lo.add_argument("--out", default="runs/det_lopo")
    lo.add_argument("--budget-s", type=float, default=210, help="training seconds per fold (and for the final model)")
    lo.add_argument("--scenes", action="append", default=None, help="synthetic scene dir(s) to mix in (default none)")
    lo.add_argument("--real-share", type=float, default=0.7)
    lo.add_argument("--batch", type=int, default=24)
    lo.add_argument("--width", type=int, default=16, help="CNN width (channels of the first stage), every fold "
                    "and the final model")
    lo.add_argument("--only", action="append", default=None, metavar="G", help="run only these folds (timing)")
    lo.add_argument("--final-out", default="", help="after all folds, train on every frame and export here, "
                    "e.g. thermal_fld_ros/models/detector_chips.onnx")
    e = sub.add_parser("export", help="checkpoint -> ONNX (opset 13, dynamic batch and size) + metadata JSON")
    e.add_argument("--checkpoint", default="runs/detector/last.pt")
    e.add_argument("--out", default="thermal_fld_ros/models/detector.onnx")
    e.add_argument("--box-scale", type=float, nargs=3, default=(1.0, 1.0, 0.0), metavar=("SW", "SH", "DY"),
                   help="box calibration written to the metadata: width x SW, height x SH, centre y + DY*height")
    e.add_argument("--note", default="", help="extra provenance text for the metadata")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.detector_command == "render":
        from .render_scenes import render_scenes

        n = render_scenes(Path(args.out), args.count, args.seed, args.face_model, budget_s=args.budget_s)
        print(f"{n} scenes in {args.out}")
        return 0
    if args.detector_command == "train":
        from .train import train

        scenes = args.scenes if args.scenes is not None else ([] if args.real else ["data/det_scenes"])
        path = train(scenes, Path(args.out), args.budget_s, args.batch, width=args.width, workers=args.workers,
                     real_root=args.real or None, exclude=args.exclude_participant, real_share=args.real_share)
        print(f"checkpoint {path}")
        return 0
    if args.detector_command == "lopo":
        from .lopo import main

        return main(args)
    from .export import export

    path = export(Path(args.checkpoint), Path(args.out), tuple(args.box_scale), args.note)
    print(f"exported {path} (+ {path.with_suffix('.json').name})")
    return 0
