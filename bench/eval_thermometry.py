"""The thermal readings' checks, as figures: synthetic breathing sequences and the two real radiometric frames.

    .venv/bin/python bench/eval_thermometry.py [--seed 11] [--duration 18] [--ict ../shared/data/face_model_ict/FaceXModel]

1. Synthetic sequences (training/data/synth/breathing.py) through the full pipeline with the bundled
   student at 9 Hz and 30 Hz: per region, the mean and worst absolute error against the truth (each
   region read at the true landmarks on the noise-free frame); the breathing rate's worst error and
   the share of frames with a rate; then a face that turns away (80 deg yaw) and whether any rate is
   reported while it is turned.
2. With ``--ict DIR`` (the ICT-FaceKit model folder): the same figures on ICT sequences
   (training/data/synth/breathing.py ``ict_breathing_sequence``: a real-scan head held still, breathing at the
   generator's own rate, truth read at the true landmarks on the frame the pipeline sees),
   ``--ict-scenes seed:index,...`` (default 11:27, the scene the tests use).
3. The two real radiometric frames of ../shared/data/real_thermal/faiyaz106_thermal54 (°F arrays, read
   as 32FC1 with float_unit fahrenheit): readings at the labelled SF-TL54 landmarks and through the
   pipeline (bundled student, its own landmarks).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from thermal_fld_ros.config import PipelineConfig  # noqa: E402
from thermal_fld_ros.frames import FrameConfig, from_array  # noqa: E402
from thermal_fld_ros.pipeline import Pipeline  # noqa: E402
from thermal_fld_ros.schemes import get_scheme  # noqa: E402
from thermal_fld_ros.thermometry import Thermometer, quality_label  # noqa: E402
from thermal_fld_ros.types import REGIONS, BreathingState  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real_thermal" / "faiyaz106_thermal54" / "dataset"


def run(frames):
    pipe = Pipeline(PipelineConfig())
    for fr in frames:
        res = pipe.process(from_array(fr.counts, "16UC1", pipe.frame_cfg), fr.stamp_s)
        yield fr, (res.faces[0] if res.faces else None)


def report(label: str, frames) -> None:
    """Per-region |reading - truth| and the breathing rate's error over one sequence."""
    errs = {r.value: [] for r in REGIONS}
    rates, n, lost, true_rate, size = [], 0, 0, float("nan"), ""
    for fr, f in run(frames):
        n += 1
        true_rate = fr.rate_bpm
        if not size:  # the face the sequence really shows (what a region's pixel count depends on)
            pts = fr.landmarks
            iod = float(np.linalg.norm(pts[36:42].mean(0) - pts[42:48].mean(0)))
            size = f", face {np.ptp(pts[:68, 0]):.0f} px wide, IOD {iod:.1f} px"
        if f is None:
            lost += 1
            continue
        for r, v in f.thermal.readings.items():
            if v.ok and r.value in fr.regions_c:
                errs[r.value].append(abs(v.temperature_c - fr.regions_c[r.value]))
        if f.breathing.state == BreathingState.OK:
            rates.append(f.breathing.rate_bpm - fr.rate_bpm)
    print(f"{label}, true rate {true_rate:.2f}/min ({n} frames{size}, face lost in {lost}):")
    for r, e in errs.items():
        if e:
            print(f"  {r:12s} |error| mean {np.mean(e):.3f} C, worst {np.max(e):.3f} C ({len(e)} readings)")
    if rates:
        print(f"  breathing rate reported in {len(rates)}/{n} frames, |error| mean {np.mean(np.abs(rates)):.2f}, "
              f"worst {np.max(np.abs(rates)):.2f} breaths/min")
    else:
        print("  breathing rate never reported")


def report_turn_away(label: str, frames) -> None:
    out = list(run(frames))
    before = sum(f is not None and f.breathing.state == BreathingState.OK for fr, f in out if not fr.turned)
    after = [f for fr, f in out if fr.turned]
    ok_after = sum(f is not None and f.breathing.state == BreathingState.OK for f in after)
    states = sorted({f.breathing.state.name.lower() if f is not None else "no face" for f in after})
    print(f"{label}: turn away at 15 s (yaw 80 deg), 9 Hz: rate reported in {before} frontal frames, in "
          f"{ok_after} of {len(after)} turned frames (states while turned: {', '.join(states)})")


def synthetic(seed: int, duration: float) -> None:
    from training.data.synth.breathing import breathing_sequence, find_scene

    index = find_scene(seed)
    for fps, bpm in ((9.0, 15.0), (30.0, 24.0), (9.0, 8.0), (30.0, 40.0)):
        report(f"procedural seed {seed} scene {index}, {fps:g} Hz, {duration:g} s",
               breathing_sequence(seed, fps, duration, bpm, index=index))
    report_turn_away(f"procedural seed {seed} scene {index}",
                     breathing_sequence(seed, 9.0, 30.0, 15.0, index=index, turn_away_at_s=15.0, truth_regions=False))


def ict(face_model: str, picks: str, duration: float) -> None:
    from training.data.synth.breathing import ict_breathing_sequence

    for pick in picks.split(","):
        seed, index = (int(v) for v in pick.split(":"))
        for fps in (9.0, 30.0):
            report(f"ICT seed {seed} scene {index}, {fps:g} Hz, {duration:g} s",
                   ict_breathing_sequence(face_model, seed, fps, duration, index=index))
        report_turn_away(f"ICT seed {seed} scene {index}",
                         ict_breathing_sequence(face_model, seed, 9.0, 30.0, index=index, turn_away_at_s=15.0,
                                                truth_regions=False))


def real() -> None:
    if not (REAL / "arrays").is_dir():
        print(f"real frames not found at {REAL}: skipped")
        return
    th = Thermometer(get_scheme("sftl54"))
    pipe = Pipeline(PipelineConfig(float_unit="fahrenheit"))
    cfg = FrameConfig(float_unit="fahrenheit")
    for name in ("1_11178", "1_11732"):
        arr = np.load(REAL / "arrays" / f"{name}.npy").astype(np.float32)
        frame = from_array(arr, "32FC1", cfg)
        labels = np.loadtxt(REAL / "labels" / f"{name}.txt")[:, 1:3] * [640, 512]
        by_label = th.read(frame.data, True, th.geometry(labels, None)).readings
        pipe.reset()
        res = pipe.process(from_array(arr, "32FC1", pipe.frame_cfg), 0.0)
        by_model = res.faces[0].thermal.readings if res.faces else None
        print(f"real frame {name} (frame max {float(frame.data.max()):.2f} C):")
        for r in REGIONS:
            a = by_label[r]
            line = f"  {r.value:12s} labelled landmarks {a.temperature_c:6.2f} C ({quality_label(a.quality)})"
            if by_model is not None:
                b = by_model[r]
                line += f", student's landmarks {b.temperature_c:6.2f} C ({quality_label(b.quality)})"
            print(line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--duration", type=float, default=18.0)
    ap.add_argument("--ict", help="ICT-FaceKit model folder: also run ICT sequences")
    ap.add_argument("--ict-scenes", default="11:27", help="seed:index of ICT sequences (default: %(default)s, the "
                    "one test/test_thermometry.py checks)")
    ap.add_argument("--skip-procedural", action="store_true")
    args = ap.parse_args()
    if not args.skip_procedural:
        synthetic(args.seed, args.duration)
    if args.ict:
        ict(args.ict, args.ict_scenes, args.duration)
    real()
    return 0


if __name__ == "__main__":
    sys.exit(main())
