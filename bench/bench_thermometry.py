"""Extra cost of the thermal readings per face: region temperatures + breathing-rate update (medians).

    .venv/bin/python bench/bench_thermometry.py [--frames 600] [--fps 30]

Times ``ThermalReadout.annotate`` for one face on a radiometric 320x256 frame at three face sizes,
with stamps advancing at ``--fps`` so the breathing estimator recomputes its spectrum at its real pace
(every 0.5 s); prints the median CPU time per face (thread time: what the readings cost, without the
waiting for a core that a shared machine adds), its mean (which includes the spectrum updates), the
wall-clock median, and the spectrum update alone. Target on the 2-core dev machine: < 0.2 ms per face.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from thermal_fld_ros.breathing import spectral_rate  # noqa: E402
from thermal_fld_ros.frames import FrameConfig, from_array  # noqa: E402
from thermal_fld_ros.schemes import get_scheme  # noqa: E402
from thermal_fld_ros.thermometry import ThermalReadout  # noqa: E402
from thermal_fld_ros.types import Face, HeadPose  # noqa: E402


def landmarks(face_px: float, centre=(160.0, 128.0)) -> np.ndarray:
    mf = get_scheme("ibug70").mean_face_3d()[:, :2]
    mf = mf - mf[:68].mean(0)
    return mf / np.ptp(mf[:68, 0]) * face_px + np.asarray(centre)


def bench_face(face_px: float, frames: int, fps: float) -> tuple:
    rng = np.random.default_rng(0)
    scheme = get_scheme("ibug70")
    counts = np.round((rng.normal(34.0, 0.5, (256, 320)) + 273.15) / 0.01).astype(np.uint16)
    frame = from_array(counts, "16UC1", FrameConfig())
    readout = ThermalReadout(scheme, FrameConfig())
    pts = landmarks(face_px)
    pose = HeadPose(np.eye(3), np.zeros(3), (0.0, 0.0, 0.0))
    wall, cpu = [], []
    for i in range(frames):
        face = Face(1, np.zeros(4), pts + rng.normal(0, 0.05, pts.shape), np.ones(len(pts)), 1.0, pose=pose)
        t0, c0 = time.perf_counter(), time.thread_time()
        readout.annotate([face], frame, i / fps)
        cpu.append((time.thread_time() - c0) * 1e3)
        wall.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(wall), statistics.median(cpu), statistics.fmean(cpu)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--fps", type=float, default=30.0)
    args = ap.parse_args()
    print(f"thermometry per face, {args.frames} frames at {args.fps:g} Hz stamps, 320x256 16UC1 frame")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall time includes waiting for a core; "
          f"CPU time is this thread's own)")
    for px in (40, 90, 200):
        wall, cpu, cpu_mean = bench_face(px, args.frames, args.fps)
        print(f"  face {px:3d} px wide: CPU median {cpu:.3f} ms (mean {cpu_mean:.3f}), wall median {wall:.3f} ms "
              f"per face (target < 0.2 ms)")
    t = np.arange(0, 20, 1 / args.fps)
    x = np.sin(2 * np.pi * 0.25 * t)
    runs = []
    for _ in range(200):
        t0 = time.perf_counter()
        spectral_rate(t, x)
        runs.append((time.perf_counter() - t0) * 1e3)
    print(f"  breathing spectrum update (20 s window, every 0.5 s per track): median {statistics.median(runs):.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
