"""``python -m training detector {render,train,export,eval}``: the thermal face detector's data, training, export."""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_FACE_MODEL = Path(__file__).resolve().parents[3] / "shared" / "data" / "face_model_ict" / "FaceXModel"


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

        path = train(args.scenes or ["data/det_scenes"], Path(args.out), args.budget_s, args.batch,
                     width=args.width, workers=args.workers)
        print(f"checkpoint {path}")
        return 0
    from .export import export

    path = export(Path(args.checkpoint), Path(args.out), tuple(args.box_scale), args.note)
    print(f"exported {path} (+ {path.with_suffix('.json').name})")
    return 0
