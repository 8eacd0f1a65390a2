"""Student series: parameters, FLOPs, onnxruntime latency per face (1 thread) and batch throughput.

Builds each student of a training config (untrained weights time the same as trained ones), exports it
to ONNX with the training exporter, and prints medians. With ``--onnx DIR`` it times the exported
models found there instead (e.g. ``runs/default/export``), fp16 / int8 variants included.

    .venv/bin/python bench/bench_students.py [--config training/configs/default.yaml] [--runs 300]
    .venv/bin/python bench/bench_students.py --onnx runs/default/export
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

import numpy as np  # noqa: E402


def time_session(path: Path, size, runs: int, batch: int = 1, threads: int = 1) -> float:
    """Median seconds of one ``session.run`` on a (batch, 1, H, W) input."""
    from training.export import ort_session

    sess = ort_session(path, threads)
    x = np.random.default_rng(0).random((batch, 1, size[1], size[0]), dtype=np.float32)
    for _ in range(20):
        sess.run(None, {"input": x})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, {"input": x})
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="training/configs/default.yaml")
    ap.add_argument("--onnx", default=None, help="directory of exported models to time instead")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--batch", type=int, default=16, help="batch for the throughput column")
    args = ap.parse_args(argv)

    from training.config import load_config
    from training.export import export_onnx
    from training.models import count_flops, count_params
    from training.runs import Run

    cfg = load_config(args.config)
    size = tuple(cfg.data.input_size)
    rows = []
    if args.onnx:
        for path in sorted(Path(args.onnx).glob("*.onnx")):
            rows.append((path.stem, None, None, path))
    else:
        run = Run(cfg, tempfile.mkdtemp(prefix="bench_students_"))
        for name in cfg.models.students:
            model = run.new_model("student", name)
            path = export_onnx(model, run.dir / f"{name}.onnx", size, cfg.export.opset)
            rows.append((name, count_params(model), count_flops(model, size, 1), path))
    print(f"input {size[0]}x{size[1]}, onnxruntime CPU, 1 thread, median of {args.runs} runs")
    print(f"{'model':32s} {'params':>9s} {'MFLOPs':>8s} {'ms/face':>8s} {'faces/s @b' + str(args.batch):>14s}")
    for name, params, flops, path in rows:
        single = time_session(path, size, args.runs)
        batched = time_session(path, size, max(args.runs // 10, 10), args.batch)
        p = f"{params / 1e6:.3f}M" if params else "-"
        f = f"{flops / 1e6:.1f}" if flops else "-"
        print(f"{name:32s} {p:>9s} {f:>8s} {single * 1e3:8.3f} {args.batch / batched:14.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
