"""Runtime speed: student latency per face in onnxruntime, full pipeline frames/s, peak RSS (medians).

    .venv/bin/python bench/bench_pipeline.py [--model M | --test-model] [--frames 300] [--detector NAME] [-p NAME=VALUE]

Frames are synthetic radiometric frames (test/synthetic_frames.py) with 1 or 3 moving faces at 320x256
and 640x512. ``--test-model`` benchmarks the fixed-output ONNX model from test/model_factory.py instead of
the bundled student (the output says so): it measures the pipeline around the model, not the student.
Target on the 2-core dev machine: >= 100 frames/s with one face at 320x256.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "test"))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from synthetic_frames import thermal_frame  # noqa: E402

from thermal_fld_ros.config import PipelineConfig  # noqa: E402
from thermal_fld_ros.frames import from_array  # noqa: E402
from thermal_fld_ros.landmark_model import LandmarkModel  # noqa: E402
from thermal_fld_ros.pipeline import Pipeline  # noqa: E402


def model_latency(path: Path, threads: int, runs: int) -> float:
    model = LandmarkModel(path, ["CPUExecutionProvider"], intra_op_threads=threads)
    w, h = model.input_size
    crop = np.random.default_rng(0).random((1, h, w), dtype=np.float32)
    for _ in range(10):
        model.predict(crop)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        model.predict(crop)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def raw_latency(path: Path, threads: int, runs: int) -> float:
    """ms per single-crop run of any ONNX with one [B, C, H, W] input (no metadata needed)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [1] + [d if isinstance(d, int) else 96 for d in inp.shape[1:]]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    for _ in range(10):
        sess.run(None, {inp.name: x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {inp.name: x})
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def detector_latency(name: str, width: int, height: int, runs: int, overrides: dict = None) -> float:
    """ms per whole-frame detector run on one thread (a real-looking frame: synthetic faces and bodies), the
    detector built from the config with ``overrides`` as the pipeline builds it."""
    from thermal_fld_ros.detector import detector_from_config
    from thermal_fld_ros.normalise import normalise

    det = detector_from_config(PipelineConfig.from_dict(dict({"min_face_px": 8, "intra_op_threads": 1},
                                                             **(overrides or {}), detector=name)))
    f = from_array(moving_faces(width, height, 1, 1)[0], "32FC1")
    frame01 = normalise(f.data, f.kind)
    for _ in range(5):
        det.detect(frame01, 3)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        det.detect(frame01, 3)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def moving_faces(width: int, height: int, n_faces: int, n_frames: int):
    s = width / 320.0
    base = [(160 * s, 110 * s, 26 * s, 0.0), (70 * s, 120 * s, 20 * s, 0.0), (255 * s, 115 * s, 22 * s, 0.0)]
    frames = []
    for i in range(n_frames):
        dx = 6 * s * np.sin(i / 10.0)
        faces = [(x + dx, y, r, 5 * np.sin(i / 15.0)) for x, y, r, _ in base[:n_faces]]
        frames.append(thermal_frame(width, height, faces, seed=i))
    return frames


def pipeline_rate(path: Path, width: int, height: int, n_faces: int, n_frames: int, detector: str = "",
                  overrides: dict = None):
    pipe = Pipeline(PipelineConfig.from_dict(dict(overrides or {}, model_path=str(path), max_faces=max(3, n_faces),
                                                  detector=detector or PipelineConfig().detector)))
    frames = [from_array(f, "32FC1") for f in moving_faces(width, height, n_faces, 30)]
    times, found, stages, detector_frames = [], [], {}, 0
    for i in range(n_frames + 10):
        t0 = time.perf_counter()
        r = pipe.process(frames[i % len(frames)], i / 60.0)
        dt = (time.perf_counter() - t0) * 1e3
        if i >= 10:
            times.append(dt)
            found.append(len(r.faces))
            detector_frames += r.detector_ran
            for k, v in r.timings_ms.items():
                stages.setdefault(k, []).append(v)
    med = statistics.median(times)
    stage_txt = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in stages.items() if k != "total")
    stage_txt += f"; detector on {detector_frames}/{len(times)} frames, {sum(found)} faces published"
    return med, 1000.0 / med, 1000.0 * len(times) / sum(times), statistics.median(found), stage_txt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, help="landmark model (default: the bundled student)")
    ap.add_argument("--test-model", action="store_true", help="use test/model_factory.py's fixed-output model")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--latency-only", type=Path, nargs="+", metavar="ONNX",
                    help="only time these ONNX files (e.g. untrained student architectures, no metadata needed)")
    ap.add_argument("--detector", default="", help="centreface | thermal_blob (default: the config's)")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                    help="PipelineConfig override, e.g. -p detector_flip_test=true")
    args = ap.parse_args(argv)
    from eval_real_sequences import parse_params

    overrides = parse_params(args.param)
    if args.latency_only:
        for path in args.latency_only:
            for threads in (1, 2):
                print(f"{path.name}: 1 crop, intra_op_threads={threads}: {raw_latency(path, threads, args.frames):.3f} ms")
        return 0
    if args.test_model:
        from model_factory import frontal_template, make_fixed_landmark_model

        pts = frontal_template()
        pts += 48.0 - (pts.min(0) + pts.max(0)) / 2.0  # centred: following it from frame to frame is stable
        path = make_fixed_landmark_model(Path(tempfile.mkdtemp()) / "fixed.onnx", crop_points=pts)
        print(f"MODEL: test/model_factory.py fixed-output model {path} (NOT the student: pipeline overhead only)")
    else:
        path = args.model or PipelineConfig().resolved_model_path()
        print(f"MODEL: {path}")
    print(f"machine: {os.cpu_count()} CPUs; medians over {args.frames} runs/frames")
    for threads in (1, 2):
        print(f"student latency, 1 face, intra_op_threads={threads}: {model_latency(path, threads, args.frames):.3f} ms")
    detector = args.detector or PipelineConfig().detector
    for (w, h) in ((160, 120), (640, 512)):
        print(f"detector {detector}, one thread, {w}x{h} frame: {detector_latency(detector, w, h, 100, overrides):.2f} ms")
    for (w, h) in ((320, 256), (640, 512)):
        for n in (1, 3):
            med, fps_med, fps_mean, found, stages = pipeline_rate(path, w, h, n, args.frames, detector, overrides)
            print(f"pipeline {w}x{h}, {n} face(s), detector {detector}: median {med:.2f} ms/frame = {fps_med:.0f} frames/s "
                  f"(mean rate incl. detector frames {fps_mean:.0f} frames/s, median faces found {found:.0f}; "
                  f"stage medians ms: {stages})")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"peak RSS: {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
