#!/usr/bin/env python3
"""Continuous video, which the 300 real Chips frames are not: ICT-FaceKit scenes (moving heads and bodies,
the scene's own frame rate, 16-bit radiometric) played frame by frame through the pipeline.

The real Chips "sequences" (bench/eval_real_sequences.py) are frames sampled seconds apart: a face moves 1-2
of its widths between them, so they test losing and re-finding faces. This checks the other case a robot
sees: a face that moves a little each frame must be followed between detector runs, not re-detected. Prints
per scene and overall the same hit / false-per-frame scores as eval_real_sequences.py against the true
landmark boxes, and the share of frames the detector ran on (the periodic check due every
``detection_interval`` frames, plus every run something asked for: a lost or unsure track, a changed box).

    .venv/bin/python bench/eval_synthetic_video.py [--scenes 12] [--frames 60] [-p NAME=VALUE ...]

Needs the ICT-FaceKit model (../shared/data/face_model_ict, MIT licence).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from eval_real_sequences import Published, Score, parse_params, score_sequence  # noqa: E402

DEFAULT_FACE_MODEL = ROOT.parent / "shared" / "data" / "face_model_ict"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--face-model", default=str(DEFAULT_FACE_MODEL))
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--scenes", type=int, default=12)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("-p", action="append", metavar="NAME=VALUE", help="pipeline setting (repeatable)")
    args = ap.parse_args(argv)
    if not Path(args.face_model).is_dir():
        raise SystemExit(f"ICT-FaceKit model not found at {args.face_model}: pass --face-model DIR")
    from thermal_fld_ros.config import PipelineConfig
    from thermal_fld_ros.frames import from_array
    from thermal_fld_ros.pipeline import Pipeline
    from training.data.synth.breathing import ict_sequence_options
    from training.data.synth.ict.scene import render_sequence

    opts = ict_sequence_options(args.face_model)
    over = parse_params(args.p)
    cfg = PipelineConfig.from_dict(over)
    total, runs, frames = Score(), 0, 0
    print(f"ICT scenes (seed {args.seed}), {args.frames} frames each, through the pipeline; settings "
          f"{over or 'defaults'}")
    for index in range(args.scenes):
        samples = render_sequence(index, args.seed, opts, args.frames)
        fps = float(samples[0].annotation.get("fps") or 9.0)
        pipe = Pipeline(cfg)
        items, published, ran = [], [], 0
        for i, s in enumerate(samples):
            r = pipe.process(from_array(s.thermal_counts, "16UC1", pipe.frame_cfg), i / fps)
            ran += bool(r.detector_ran)
            gt = np.array([f["box"] for f in s.annotation["faces"]], np.float64).reshape(-1, 4)
            items.append((f"{index}_{i}", None, gt))
            published.append([Published(f.track_id, np.asarray(f.box)) for f in r.faces])
        score = score_sequence(items, published)
        total.add(score)
        runs += ran
        frames += len(samples)
        print(f"{score.line(str(index))} | detector on {ran / len(samples):.2f} of frames ({fps:g} fps)")
    print(f"{total.line('all')} | detector on {runs / max(frames, 1):.3f} of frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
