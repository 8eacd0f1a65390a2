#!/usr/bin/env python3
"""End-to-end benchmark of thermal_fld_node over real DDS (Fast DDS, localhost only).

Starts the node as a separate process, publishes synthetic thermal frames at a set rate, and prints
image -> landmarks latency (header stamp to arrival of the ``landmarks`` message in this process, same
machine clock) as p50/p95, frames sent/received/processed/dropped (the node's own diagnostics), and
the node's RSS (after warm-up, at the end, peak). Target (#10): p95 <= 10 ms at 60 Hz with one face on the 2-core dev machine.

    .venv/bin/python bench/bench_node.py                       # 600 frames, 30 Hz, 320x256 32FC1, 1 face
    .venv/bin/python bench/bench_node.py --rate 60 --frames 1000 --width 640 --height 512 --faces 3
    .venv/bin/python bench/bench_node.py --model thermal_fld_ros/models/student.onnx
    .venv/bin/python bench/bench_node.py --rate 60 --frames 1000 -p detect_after_publish:=false

Without --model it uses the bundled model, or (if none is bundled yet) a fixed-output test model built
with test/model_factory.py: then the numbers measure the node and pipeline, not a trained network.
"""
from __future__ import annotations

import os

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # before rclpy: no multicast off this machine
os.environ["ROS_LOCALHOST_ONLY"] = "1"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import rclpy  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from geometry_msgs.msg import PolygonStamped  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "test"))
sys.path.insert(0, str(ROOT / "bench"))

from thermal_fld_ros.ros.image_conversion import array_to_image  # noqa: E402


def synthetic_frames(w: int, h: int, faces: int, n: int = 8) -> list:
    """°C frames with ``faces`` moving heads: the same frames as bench_pipeline.py, so figures compare."""
    from bench_pipeline import moving_faces

    return moving_faces(w, h, faces, n)


def encode(t_c: np.ndarray, encoding: str) -> np.ndarray:
    if encoding == "32FC1":
        return t_c
    if encoding == "mono16":
        return np.round((t_c + 273.15) / 0.01).astype(np.uint16)
    if encoding == "mono8":
        return np.clip((t_c - 15.0) / 25.0 * 255, 0, 255).astype(np.uint8)
    raise SystemExit(f"unsupported --encoding {encoding}")


def resolve_model(arg: str, tmp: Path) -> tuple:
    if arg:
        return arg, "given"
    bundled = ROOT / "thermal_fld_ros" / "models" / "student.onnx"
    if bundled.is_file():
        return str(bundled), "bundled"
    from model_factory import make_fixed_landmark_model  # test instrument (needs the onnx package)
    from ros_harness import centred_template

    return str(make_fixed_landmark_model(tmp / "fixed.onnx", crop_points=centred_template())), \
        "fixed-output TEST model (no bundled model yet)"


def rss_kb(pid: int, key: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="")
    ap.add_argument("--rate", type=float, default=30.0, help="publish rate (Hz)")
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--warmup", type=int, default=60, help="frames left out of the latency figures")
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--faces", type=int, default=1)
    ap.add_argument("--encoding", default="32FC1", choices=["32FC1", "mono16", "mono8"])
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads of the node")
    ap.add_argument("--reliable", action="store_true",
                    help="reliable QoS on both sides (frames over ~0.5 MB, e.g. 640x512 32FC1, are mostly lost "
                         "best-effort with Fast DDS defaults: UDP fragments overflow the socket buffer)")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE",
                    help="extra node parameter, e.g. -p detect_after_publish:=false (the periodic detector check "
                         "inside the latency path, as before 2026-12-03)")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_node_"))
    model, model_kind = resolve_model(a.model, tmp)
    exe = shutil.which("thermal_fld_node", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "thermal_fld_ros.ros.landmark_node"]
    ns = f"/bench_{os.getpid()}"
    cmd += ["--ros-args", "-r", f"__ns:={ns}", "-p", f"model_path:={model}", "-p", f"intra_op_threads:={a.threads}",
            "-p", "diagnostics_period_s:=0.5", "-p", f"max_faces:={max(1, a.faces)}",
            "-p", f"qos_reliability:={'reliable' if a.reliable else 'best_effort'}", "--log-level", "warn"]
    cmd[-2:-2] = [x for p in a.param for x in ("-p", p)]
    node_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    rclpy.init()
    bench = rclpy.create_node("thermal_fld_bench")
    ex = SingleThreadedExecutor()
    ex.add_node(bench)
    lat_ms, arrivals = {}, []
    diag = {}

    def on_landmarks(msg: PolygonStamped):
        now = time.time()
        s = msg.header.stamp
        lat_ms[(s.sec, s.nanosec)] = (now - (s.sec + 1e-9 * s.nanosec)) * 1e3
        arrivals.append(len(msg.polygon.points) > 0)

    def on_diag(msg: DiagnosticArray):
        for st in msg.status:
            if st.hardware_id == f"{ns}/thermal_fld_node":
                diag.update({kv.key: kv.value for kv in st.values})

    bench.create_subscription(PolygonStamped, f"{ns}/landmarks", on_landmarks, QoSProfile(depth=50))
    bench.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
    pub = bench.create_publisher(Image, f"{ns}/image", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
                                 if a.reliable else qos_profile_sensor_data)
    spin = threading.Thread(target=ex.spin, daemon=True)
    spin.start()
    try:
        deadline = time.monotonic() + 60
        while pub.get_subscription_count() == 0 or bench.count_publishers(f"{ns}/landmarks") == 0:
            if node_proc.poll() is not None:
                print(node_proc.stderr.read(), file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                print("node did not come up in 60 s", file=sys.stderr)
                return 1
            time.sleep(0.05)
        frames = synthetic_frames(a.width, a.height, a.faces)
        msgs = [array_to_image(encode(f, a.encoding), a.encoding) for f in frames]
        sent_stamps = []
        rss_warm = None
        t0 = time.monotonic()
        for i in range(a.frames):
            m = msgs[i % len(msgs)]
            m.header.frame_id = "thermal_optical"
            now = time.time()
            m.header.stamp.sec, m.header.stamp.nanosec = int(now), int((now % 1) * 1e9)
            pub.publish(m)
            sent_stamps.append((m.header.stamp.sec, m.header.stamp.nanosec))
            if i == a.warmup:
                rss_warm = rss_kb(node_proc.pid)
            time.sleep(max(0.0, t0 + (i + 1) / a.rate - time.monotonic()))
        time.sleep(1.0)  # last results and one diagnostics period
        rss_end, rss_peak = rss_kb(node_proc.pid), rss_kb(node_proc.pid, "VmHWM")
    finally:
        node_proc.terminate()
        try:
            node_proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node_proc.kill()
        ex.shutdown(timeout_sec=2.0)
        bench.destroy_node()
        rclpy.try_shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    lats = np.array([lat_ms[s] for s in sent_stamps[a.warmup:] if s in lat_ms])
    print(f"thermal_fld_node over Fast DDS (localhost): model = {model_kind}")
    print(f"  frames: {a.frames} sent at {a.rate:g} Hz, {a.width}x{a.height} {a.encoding}, {a.faces} face(s), "
          f"onnxruntime threads {a.threads}, {'reliable' if a.reliable else 'best-effort'} QoS")
    print(f"  node: received {diag.get('received', '?')}, processed {diag.get('processed', '?')}, "
          f"dropped stale {diag.get('dropped_stale', '?')}, out of order {diag.get('dropped_out_of_order', '?')}, "
          f"bad {diag.get('bad_frames', '?')}; node's own p50/p95 {diag.get('latency_p50_ms', '?')}/"
          f"{diag.get('latency_p95_ms', '?')} ms (p50 parts: transport {diag.get('transport_p50_ms', '?')}, "
          f"wait {diag.get('wait_p50_ms', '?')}, processing {diag.get('process_p50_ms', '?')} ms)")
    print(f"  results here: {len(arrivals)} landmark messages, {sum(arrivals)} with a face")
    if lats.size:
        print(f"  latency image -> landmarks (after {a.warmup} warm-up frames, n={lats.size}): "
              f"p50 {np.median(lats):.2f} ms, p95 {np.percentile(lats, 95):.2f} ms, max {lats.max():.2f} ms "
              f"(target p95 <= 10 ms at 60 Hz, one face)")
    else:
        print("  latency: no results after warm-up")
    mb = 1.0 / 1024.0
    print(f"  node RSS: {rss_warm * mb:.1f} MB after warm-up, {rss_end * mb:.1f} MB at the end "
          f"(growth {(rss_end - rss_warm) * mb:+.1f} MB), peak {rss_peak * mb:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
