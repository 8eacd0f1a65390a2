"""Synthetic generator figures: throughput (samples/min, median of repeats) and head-pose MAE of the
runtime's mean face on rendered crops.

    .venv/bin/python bench/bench_synth.py [--count 400] [--workers 2] [--repeats 3] [--pose 200]
        [--face-model ../shared/data/face_model_ict/FaceXModel]   (the ICT face source; default procedural)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per process, as in the writer's workers

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from thermal_fld_ros.pose import MODEL_TO_HEAD, ypr_from_rotation  # noqa: E402
from thermal_fld_ros.schemes import IBUG70  # noqa: E402
from training.data.synth.render import SynthOptions, render_sample  # noqa: E402
from training.data.synth.writer import write_split  # noqa: E402


def throughput(count: int, workers: int, repeats: int, size: int, face_model: str = "") -> float:
    rates = []
    for r in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            write_split(tmp, "bench", count, seed=100 + r, opts=SynthOptions(size=size, face_model=face_model),
                        workers=workers,
                        progress=False)
            rates.append(count / (time.perf_counter() - t0) * 60.0)
    return statistics.median(rates)


def cpu_ms_per_sample(count: int, size: int, face_model: str = "") -> float:
    """Median process CPU time of one render (load-independent: what an idle core would take)."""
    opts = SynthOptions(size=size, face_model=face_model)
    render_sample(0, 1, opts)
    times = []
    for i in range(count):
        t0 = time.process_time()
        render_sample(i, 1, opts)
        times.append(time.process_time() - t0)
    return statistics.median(times) * 1000.0


def pose_mae(n: int, max_yaw: float, face_model: str = "", mean=None) -> np.ndarray:
    """Head-pose error of solvePnP with a 3D mean face on exact landmarks (held-out ICT persons)."""
    mean = IBUG70.mean_face_3d() if mean is None else mean
    errs = []
    opts = SynthOptions(max_yaw=max_yaw, face_model=face_model, identities="heldout" if face_model else "auto")
    for i in range(n):
        s = render_sample(i, 777, opts)
        f = s.annotation["faces"][0]
        vis = np.asarray(f["visible"]) > 0
        if vis.sum() < 8:
            continue
        k = np.asarray(s.annotation["camera_matrix"])
        uv = np.asarray(f["landmarks"])
        ok, rv, tv = cv2.solvePnP(mean[vis], uv[vis], k, None, flags=cv2.SOLVEPNP_SQPNP)
        ok, rv, tv = cv2.solvePnP(mean[vis], uv[vis], k, None, rv, tv, True, flags=cv2.SOLVEPNP_ITERATIVE)
        est = ypr_from_rotation(cv2.Rodrigues(rv)[0] @ MODEL_TO_HEAD)
        d = np.subtract(est, [f["pose"]["yaw"], f["pose"]["pitch"], f["pose"]["roll"]])
        errs.append(np.abs((d + 180.0) % 360.0 - 180.0))
    return np.asarray(errs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--workers", type=int, default=0, help="0 = all cores")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--pose", type=int, default=200, help="samples for the mean-face head-pose check (0: skip)")
    ap.add_argument("--face-model", default="", help="ICT FaceXModel/ folder (default: the procedural head)")
    a = ap.parse_args()
    src = "ICT" if a.face_model else "procedural"
    if a.face_model:
        from training.data.synth.ict.rig import load_rig

        load_rig(a.face_model)  # builds the cache once, outside the timing
    rate = throughput(a.count, a.workers, a.repeats, a.size, a.face_model)
    print(f"synth crops {a.size}x{a.size} ({src} faces): median {rate:.0f} paired samples/min "
          f"({a.count} samples x {a.repeats} repeats, workers={a.workers or 'all cores'})")
    cpu = cpu_ms_per_sample(min(a.count, 100), a.size, a.face_model)
    print(f"render CPU time: median {cpu:.1f} ms/sample (one process) -> about {60000.0 / cpu:.0f} "
          f"samples/min per idle core, before image writing")
    if a.pose:
        for max_yaw in (45.0, 90.0):
            e = pose_mae(a.pose, max_yaw, a.face_model)
            print(f"runtime mean face ({src} test faces), solvePnP on true landmarks (visible points), "
                  f"|yaw| <= {max_yaw:.0f}: "
                  f"MAE yaw {e[:, 0].mean():.2f}, pitch {e[:, 1].mean():.2f}, roll {e[:, 2].mean():.2f} deg "
                  f"(median yaw {np.median(e[:, 0]):.2f}; n={len(e)})")
            if a.face_model:
                from training.data.synth.ict.rig import mean_face

                e = pose_mae(a.pose, max_yaw, a.face_model, mean_face(a.face_model))
                print(f"ICT neutral mean face (ICT held-out faces), |yaw| <= {max_yaw:.0f}: MAE yaw "
                      f"{e[:, 0].mean():.2f}, pitch {e[:, 1].mean():.2f}, roll {e[:, 2].mean():.2f} deg "
                      f"(median yaw {np.median(e[:, 0]):.2f}; n={len(e)})")


if __name__ == "__main__":
    main()
