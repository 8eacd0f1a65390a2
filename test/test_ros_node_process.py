"""The installed ``thermal_fld_node`` entry point as a separate process over real DDS: start-up errors
for bad models (clear line, non-zero exit) and a 1,000-frame burst at 60 Hz without memory growth or
backlog, asserting on what the node received so that it holds on a loaded machine."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import pytest

pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

import rclpy  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from model_factory import make_fixed_landmark_model  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from ros_harness import centred_template, face_temperature  # noqa: E402
from sensor_msgs.msg import PointCloud2  # noqa: E402

from thermal_fld_ros.model_meta import META_KEY  # noqa: E402
from thermal_fld_ros.ros.image_conversion import array_to_image  # noqa: E402

EXE = shutil.which("thermal_fld_node", path=str(Path(sys.executable).parent)) or shutil.which("thermal_fld_node")
needs_exe = pytest.mark.skipif(EXE is None, reason="thermal_fld_node entry point not installed (pip install -e .)")


def _run(model: Path, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, "--ros-args", "-r", "__ns:=/startup_test", "-p", f"model_path:={model}"],
                          capture_output=True, text=True, timeout=timeout)


def _rewrite_meta(src: Path, dst: Path, **changes) -> Path:
    model = onnx.load(str(src))
    for prop in model.metadata_props:
        if prop.key == META_KEY:
            doc = json.loads(prop.value)
            doc.update(changes)
            prop.value = json.dumps(doc)
    onnx.save(model, str(dst))
    return dst


@needs_exe
def test_bad_models_stop_startup_with_a_clear_error(tmp_path):
    good = make_fixed_landmark_model(tmp_path / "good.onnx")
    missing = tmp_path / "nope" / "student.onnx"
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"this is not a protobuf" * 10)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    wrong_shape = _rewrite_meta(good, tmp_path / "wrong_shape.onnx", num_points=68)
    untrained = _rewrite_meta(good, tmp_path / "untrained.onnx", trained=False)
    cases = [(missing, "not found"), (corrupt, ""), (truncated, ""), (wrong_shape, "shape"),
             (untrained, "not marked trained")]
    for path, words in cases:
        proc = _run(path)
        assert proc.returncode != 0, f"{path.name}: node started with a bad model"
        assert str(path) in proc.stderr and words in proc.stderr, proc.stderr[-2000:]
        assert "cannot start" in proc.stderr and "Traceback" not in proc.stderr
    # Out-of-range parameter: refused by its declared range, same clean exit.
    proc = subprocess.run([EXE, "--ros-args", "-p", f"model_path:={good}", "-p", "max_faces:=0"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "max_faces" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


@needs_exe
def test_bad_metadata_and_parameters_are_one_line_at_startup(tmp_path):
    good = make_fixed_landmark_model(tmp_path / "good.onnx")
    zero_std = _rewrite_meta(good, tmp_path / "zero_std.onnx", input_std=0)
    bad_yaml = tmp_path / "params.yaml"
    bad_yaml.write_text("thermal_fld_node:\n  ros__parameters:\n    max_faces: [3\n")
    cases = [(["-p", f"model_path:={zero_std}"], "field 'input_std' must be > 0"),
             (["-p", f"model_path:={good}", "-p", "palette:=foo"], "palette='foo' is not one of: auto"),
             (["-p", f"model_path:={good}", "-p", "max_faces:=abc"], "parameter max_faces must be an integer"),
             (["-p", f"model_path:={good}", "-p", "qos_reliability:=fast"], "qos_reliability='fast' is not one of"),
             (["--params-file", str(bad_yaml)], f"parameters file {bad_yaml}: invalid YAML at line 4")]
    for args, words in cases:
        proc = subprocess.run([EXE, "--ros-args", "-r", "__ns:=/startup_test", *args], capture_output=True, text=True,
                              timeout=30)
        assert proc.returncode != 0, f"{args}: node started"
        lines = [ln for ln in proc.stderr.splitlines() if "cannot start" in ln]
        assert len(lines) == 1 and words in lines[0], proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    # An unknown name does not stop the node: one warning with the closest known name.
    proc = subprocess.Popen([EXE, "--ros-args", "-r", "__ns:=/startup_test", "-p", f"model_path:={good}",
                             "-p", "max_facez:=5"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen, deadline = [], time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            if "subscribed to" in line or not line:
                break
        text = "".join(seen)
        assert "unknown parameter 'max_facez' ignored (did you mean max_faces?)" in text, text
        assert proc.poll() is None, text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _diag_values(msg, ns: str):
    for st in msg.status:
        if ns in st.name:
            return {kv.key: kv.value for kv in st.values}
    return None


@needs_exe
def test_burst_of_1000_frames_at_60hz_without_memory_growth_or_backlog(tmp_path):
    """Counts what the node *received* (DDS may drop frames before the node on a loaded machine), so it
    holds under load, while it fails on a leak (RSS), a backlog (frames queued inside the node, or the
    newest frame not processed last) or a lost frame (received but neither processed nor counted)."""
    model = make_fixed_landmark_model(tmp_path / "m.onnx", crop_points=centred_template())
    ns = f"/burst_{os.getpid()}"
    proc = subprocess.Popen([EXE, "--ros-args", "-r", f"__ns:={ns}", "-p", f"model_path:={model}",
                             "-p", "diagnostics_period_s:=0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("burst_tester", context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    results = []  # (stamp, table width) of every result, in arrival order
    diags = []
    arrival = {}  # stamp -> when its result arrived

    def on_faces(m):
        stamp = m.header.stamp.sec * 10 ** 9 + m.header.stamp.nanosec
        results.append((stamp, m.width))
        arrival.setdefault(stamp, time.monotonic())

    node.create_subscription(PointCloud2, f"{ns}/faces", on_faces, 100)
    node.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diags.append(_diag_values(m, ns)), 100)
    pub = node.create_publisher(type(array_to_image(np.zeros((1, 1), np.uint8), "mono8")), f"{ns}/image",
                                QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
    spin = threading.Thread(target=lambda: ex.spin(), daemon=True)
    spin.start()
    try:
        deadline = time.monotonic() + 30
        while pub.get_subscription_count() == 0 or node.count_publishers(f"{ns}/faces") == 0:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "node process did not come up"
            time.sleep(0.05)
        frames = [face_temperature(seed=i) for i in range(4)]
        msgs = [array_to_image(f, "32FC1") for f in frames]
        rss = {}
        t0 = time.monotonic()
        for i in range(1000):
            m = msgs[i % 4]
            m.header.frame_id = "thermal_optical"
            m.header.stamp = node.get_clock().now().to_msg()
            pub.publish(m)
            if i == 200:
                rss["warm"] = _rss_kb(proc.pid)
            time.sleep(max(0.0, t0 + (i + 1) / 60.0 - time.monotonic()))
        last_stamp = m.header.stamp.sec * 10 ** 9 + m.header.stamp.nanosec
        t_last = time.monotonic()
        deadline = time.monotonic() + 15  # the newest frame is processed (not stuck behind a queue)
        while not any(st == last_stamp for st, _ in results) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "node died during the burst"
        assert any(st == last_stamp for st, _ in results), "the newest frame of the burst was never processed"
        # a backlog would put the newest frame behind the queued ones; one frame takes milliseconds
        assert arrival[last_stamp] - t_last < 5.0, f"newest frame answered {arrival[last_stamp] - t_last:.1f} s late"
        n_diag = len(diags)
        deadline = time.monotonic() + 5
        while len(diags) < n_diag + 2 and time.monotonic() < deadline:  # a report after the last frame
            time.sleep(0.05)
        rss["end"] = _rss_kb(proc.pid)
        v = next(d for d in reversed(diags) if d)
        received, processed = int(v["received"]), int(v["processed"])
        dropped = int(v["dropped_stale"]) + int(v["dropped_out_of_order"]) + int(v["bad_frames"])
        assert 100 <= received <= 1000, v  # DDS may drop some on a loaded machine; the node counts what came
        assert processed + dropped == received, f"frames lost or still queued inside the node: {v}"
        assert int(v["bad_frames"]) == 0 and int(v["dropped_out_of_order"]) == 0, v
        assert processed >= 1 and len(results) <= processed
        stamps = [st for st, _ in results]
        assert stamps == sorted(stamps) and stamps[-1] == last_stamp  # newest frame wins, processed last
        assert results[0][1] == 1  # the face was found (a fixed-output model then creeps off it: not tested here)
        growth_mb = (rss["end"] - rss["warm"]) / 1024.0
        assert growth_mb < 8.0, f"node RSS grew {growth_mb:.1f} MB over 800 frames ({rss})"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        ex.shutdown(timeout_sec=2.0)
        node.destroy_node()
        rclpy.shutdown(context=ctx)


@needs_exe
def test_a_4096x4096_frame_does_not_leave_the_node_bigger(tmp_path):
    """64 MB 32FC1 frames, then normal frames: the node keeps at most the one sample buffer Fast DDS's
    reader history holds (PREALLOCATED_WITH_REALLOC: the largest sample seen), nothing of ours; a second
    large frame adds nothing. Before the fix one frame left it 80-100 MB higher."""
    model = make_fixed_landmark_model(tmp_path / "m.onnx", crop_points=centred_template())
    ns = f"/big_{os.getpid()}"
    proc = subprocess.Popen([EXE, "--ros-args", "-r", f"__ns:={ns}", "-p", f"model_path:={model}",
                             "-p", "qos_reliability:=reliable"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("big_tester", context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    results = []
    node.create_subscription(PointCloud2, f"{ns}/faces", lambda m: results.append(m.header.stamp.nanosec), 10)
    pub = node.create_publisher(type(array_to_image(np.zeros((1, 1), np.uint8), "mono8")), f"{ns}/image",
                                QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    spin = threading.Thread(target=lambda: ex.spin(), daemon=True)
    spin.start()

    def roundtrip(msg, timeout=60.0):
        msg.header.stamp = node.get_clock().now().to_msg()
        n = len(results)
        pub.publish(msg)
        deadline = time.monotonic() + timeout
        while len(results) == n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(results) > n, "no result"

    try:
        deadline = time.monotonic() + 30
        while pub.get_subscription_count() == 0 or node.count_publishers(f"{ns}/faces") == 0:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "node process did not come up"
            time.sleep(0.05)
        small = array_to_image(face_temperature(), "32FC1")
        for _ in range(20):
            roundtrip(small)
        before = _rss_kb(proc.pid)
        big = np.full((4096, 4096), 24.0, np.float32)
        big[1500:2600, 1700:2500] = 34.0
        big_msg = array_to_image(big, "32FC1")
        frame_mb = big.nbytes / 2 ** 20
        del big
        growth = []
        for _ in range(2):
            roundtrip(big_msg)
            for _ in range(10):
                roundtrip(small)
            growth.append((_rss_kb(proc.pid) - before) / 1024.0)
        assert growth[0] < frame_mb + 12.0, f"node RSS stayed {growth[0]:.0f} MB higher after one 4096x4096 frame"
        assert growth[1] - growth[0] < 8.0, f"a second large frame added {growth[1] - growth[0]:.0f} MB"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        ex.shutdown(timeout_sec=2.0)
        node.destroy_node()
        rclpy.shutdown(context=ctx)
