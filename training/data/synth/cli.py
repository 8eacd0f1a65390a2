"""``python -m training synth ...``: generate a paired synthetic split, a preview grid, or the mean face."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from thermal_fld_ros.schemes import DATA_DIR

MEAN_FACE_PATH = DATA_DIR / "mean_face_ibug70.json"


def write_mean_face(path: Path = MEAN_FACE_PATH, n: int = 1000, seed: int = 0, face_model: str = "") -> np.ndarray:
    """Save the 70-point 3D mean face: the ICT model's mean (neutral) shape when ``face_model`` is given,
    else the average of the procedural generator's landmarks over its identity/expression distribution."""
    if face_model:
        from training.data.synth.ict.rig import mean_face as ict_mean_face

        pts = ict_mean_face(face_model)
        source = ("the ICT Face Model's mean shape (generic_neutral_mesh.obj: the 68 Multi-PIE landmark "
                  "vertices and the front vertices of the irises; ICT-FaceKit, MIT licence, USC ICT); it gives "
                  "lower head-pose error than the procedural mean on held-out ICT faces (bench/bench_synth.py "
                  "--face-model); regenerate with: python -m training synth --write-mean-face --face-model "
                  "<FaceXModel dir>")
    else:
        from training.data.synth.face_model import mean_face

        pts = mean_face(n=n, seed=seed)
        source = (f"mean of {n} heads (seed {seed}) of the synthetic generator's parametric face model "
                  "(training/data/synth/face_model.py), identity + expression distribution; "
                  "regenerate with: python -m training synth --write-mean-face")
    doc = {
        "points_m": [[round(float(v), 6) for v in row] for row in pts],
        "source": source,
        "scheme": "ibug70",
        "frame": "metres; x subject's left (image right), y down, z into the head; origin between the pupils",
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ",\n  ".join(json.dumps(r) for r in doc["points_m"])
    body = json.dumps({k: v for k, v in doc.items() if k != "points_m"}, indent=1)[1:]
    path.write_text('{\n "points_m": [\n  ' + rows + "\n ]," + body + "\n", encoding="utf-8")
    return pts


def register(subparsers) -> None:
    p = subparsers.add_parser("synth", help="paired RGB/thermal synthetic faces (landmarks, pose)")
    p.add_argument("--write-mean-face", action="store_true",
                   help=f"write the 3D mean face of the face model to {MEAN_FACE_PATH.name} and exit")
    p.add_argument("--mean-face-samples", type=int, default=1000)
    p.add_argument("--preview", metavar="PNG", help="write a grid of RGB/thermal pairs with landmarks and exit")
    p.add_argument("--preview-count", type=int, default=8, help="pairs in the preview grid")
    p.add_argument("--out", default="data/synth", help="dataset root (default: data/synth)")
    p.add_argument("--split", action="append", metavar="NAME=COUNT",
                   help="split and sample count, repeatable (default: train=2000 val=200)")
    p.add_argument("--seed", type=int, default=0, help="base seed; each split adds its own offset")
    p.add_argument("--mode", choices=("crops", "scenes", "sequences"), default="crops",
                   help="sequences (needs --face-model): COUNT sequences of --frames frames with track ids")
    p.add_argument("--frames", type=int, default=16, help="frames per sequence (sequences mode)")
    p.add_argument("--palettes", default="", help="comma-separated false-colour outputs, e.g. ironbow,rainbow,hot")
    p.add_argument("--size", type=int, default=128, help="crop side in pixels (crops mode)")
    p.add_argument("--max-faces", type=int, default=3, help="faces per frame, 0..N (scenes mode)")
    p.add_argument("--glasses-prob", type=float, default=0.2)
    p.add_argument("--no-expressions", action="store_true")
    p.add_argument("--no-accessories", action="store_true", help="no hair, no glasses")
    p.add_argument("--max-yaw", type=float, default=90.0)
    p.add_argument("--max-pitch", type=float, default=45.0)
    p.add_argument("--max-roll", type=float, default=30.0)
    p.add_argument("--agc8", action="store_true", help="also write 8-bit AGC thermal images (thermal8/)")
    p.add_argument("--face-model", metavar="DIR", default="",
                   help="ICT Face Model: the FaceXModel/ folder of ICT-VGL/ICT-FaceKit (or its cache .npz); "
                        "default: the procedural head")
    p.add_argument("--identities", choices=("auto", "train", "heldout"), default="auto",
                   help="ICT persons: auto = held-out persons for test* splits, training persons otherwise")
    p.add_argument("--workers", type=int, default=0, help="processes (default: all cores)")
    p.set_defaults(func=_main)


def options_from_args(args: argparse.Namespace):
    from training.data.synth.render import SynthOptions

    return SynthOptions(mode=args.mode, size=args.size, max_faces=args.max_faces, glasses_prob=args.glasses_prob,
                        expressions=not args.no_expressions, accessories=not args.no_accessories,
                        max_yaw=args.max_yaw, max_pitch=args.max_pitch, max_roll=args.max_roll, agc8=args.agc8,
                        face_model=args.face_model, identities=args.identities, frames=args.frames,
                        palettes=tuple(p for p in args.palettes.split(",") if p))


def _splits(specs):
    out = []
    for spec in specs or ["train=2000", "val=200"]:
        name, _, count = spec.partition("=")
        if not name or not count.isdigit():
            raise SystemExit(f"--split wants NAME=COUNT, got {spec!r}")
        out.append((name, int(count)))
    return out


def _main(args: argparse.Namespace) -> int:
    if args.write_mean_face:
        try:
            pts = write_mean_face(n=args.mean_face_samples, face_model=args.face_model)
        except ValueError as exc:
            raise SystemExit(f"synth: {exc}") from None
        print(f"wrote {MEAN_FACE_PATH} ({len(pts)} points, outer-eye distance "
              f"{np.linalg.norm(pts[36] - pts[45]) * 1000:.1f} mm)")
        return 0
    try:
        opts = options_from_args(args)
        if opts.face_model:
            from training.data.synth.ict.rig import load_rig

            load_rig(opts.face_model)  # a bad path or file: one line now, not in every worker
    except ValueError as exc:  # FaceModelError is a ValueError
        raise SystemExit(f"synth: {exc}") from None
    if args.preview:
        from training.data.synth.preview import preview_grid

        print(f"wrote {preview_grid(args.preview, count=args.preview_count, opts=opts, seed=args.seed)}")
        return 0
    import time

    from training.data.synth.writer import write_split

    for i, (name, count) in enumerate(_splits(args.split)):
        t0 = time.perf_counter()
        path = write_split(args.out, name, count, seed=args.seed + 1000003 * i, opts=opts, workers=args.workers)
        dt = time.perf_counter() - t0
        print(f"{name}: {count} samples -> {path} ({count / max(dt, 1e-9) * 60:.0f} samples/min)")
    return 0
