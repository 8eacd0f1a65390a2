"""``python -m training synth ...``: generate a paired synthetic split, a preview grid, or the mean face."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from thermal_fld_ros.schemes import DATA_DIR

MEAN_FACE_PATH = DATA_DIR / "mean_face_ibug70.json"


def write_mean_face(path: Path = MEAN_FACE_PATH, n: int = 1000, seed: int = 0) -> np.ndarray:
    """Average the generator's 70 landmarks over its identity/expression distribution and save them."""
    from training.data.synth.face_model import mean_face

    pts = mean_face(n=n, seed=seed)
    doc = {
        "points_m": [[round(float(v), 6) for v in row] for row in pts],
        "source": (f"mean of {n} heads (seed {seed}) of the synthetic generator's parametric face model "
                   "(training/data/synth/face_model.py), identity + expression distribution; "
                   "regenerate with: python -m training synth --write-mean-face"),
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
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.write_mean_face:
        pts = write_mean_face(n=args.mean_face_samples)
        print(f"wrote {MEAN_FACE_PATH} ({len(pts)} points, outer-eye distance "
              f"{np.linalg.norm(pts[36] - pts[45]) * 1000:.1f} mm)")
        return 0
    return 0
