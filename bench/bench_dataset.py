"""Throughput of LandmarkDataset items (one process, one thread): 96x96 crops from 128x128 sources.

Writes a small temporary set of paired 16-bit radiometric thermal + 8-bit RGB PNGs (70 points), then
times full-augmentation items (and plain evaluation crops). Prints medians over repeats in items/s.

    .venv/bin/python bench/bench_dataset.py [--items 2000] [--repeats 5] [--kind counts|intensity]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from thermal_fld_ros.schemes import IBUG70  # noqa: E402
from training.data.augment import AugmentConfig  # noqa: E402
from training.data.dataset import LandmarkDataset  # noqa: E402
from training.data.records import FaceRecord, ThermalDecoding  # noqa: E402


def make_records(folder: Path, n: int, kind: str, size: int = 128):
    rng = np.random.default_rng(0)
    base = np.array([[np.cos(t), np.sin(t)] for t in np.linspace(0, 2 * np.pi, IBUG70.num_points)])
    records = []
    for i in range(n):
        temp_c = 22.0 + 12.0 * rng.random((size, size))
        counts = np.round((temp_c + 273.15) / 0.01).astype(np.uint16)
        t_path = folder / f"{i:04d}_t.png"
        if kind == "counts":
            cv2.imwrite(str(t_path), counts)
            dec = ThermalDecoding("counts", 0.01, -273.15)
        else:
            cv2.imwrite(str(t_path), (temp_c * 7).astype(np.uint8))
            dec = ThermalDecoding("intensity")
        r_path = folder / f"{i:04d}_rgb.png"
        cv2.imwrite(str(r_path), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
        pts = size / 2 + base * size * 0.3 + rng.normal(0, 1, base.shape)
        records.append(FaceRecord(t_path, pts, "ibug70", dec, rgb_path=r_path,
                                  pose_ypr_deg=np.array([10.0, 0.0, 5.0])))
    return records


def rate(ds: LandmarkDataset, items: int) -> float:
    t0 = time.perf_counter()
    for i in range(items):
        ds[i % len(ds)]
    return items / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sources", type=int, default=64)
    ap.add_argument("--kind", choices=("counts", "intensity"), default="counts")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        records = make_records(Path(tmp), args.sources, args.kind)
        for name, aug in (("augmented", AugmentConfig()), ("eval (no augmentation)", None)):
            ds = LandmarkDataset(records, "ibug70", (96, 96), augment=aug, seed=0)
            rate(ds, len(records))  # warm the frame cache and imports
            rates = [rate(ds, args.items) for _ in range(args.repeats)]
            print(f"{name:24s} {args.kind:9s} median {statistics.median(rates):7.0f} items/s "
                  f"(min {min(rates):.0f}, max {max(rates):.0f}; {args.items} items x {args.repeats}, "
                  f"1 thread, paired RGB, 70 points, 128x128 -> 96x96)")
        ds = LandmarkDataset(records, "ibug70", (96, 96), augment=AugmentConfig(), seed=0, cache_mb=0)
        rates = [rate(ds, args.items // 4) for _ in range(3)]
        print(f"{'augmented, no cache':24s} {args.kind:9s} median {statistics.median(rates):7.0f} items/s "
              f"(PNG decode every item)")


if __name__ == "__main__":
    main()
