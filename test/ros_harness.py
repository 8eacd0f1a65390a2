"""Real-rclpy test harness for thermal_fld_node: a private context, a background executor, a tester
node that publishes images and collects every output topic, and synthetic thermal frames.

No mocks: the node under test is the real ThermalFldNode with the real pipeline and onnxruntime.
"""
from __future__ import annotations

import threading
import time
from typing import Dict, List, Optional

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PolygonStamped, PoseStamped
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from thermal_fld_ros.ros.image_conversion import array_to_image

CROP = 96
R = CROP / 2.0 / 1.3  # half-side of the landmark box in crop pixels


def _normalised(pts: np.ndarray) -> np.ndarray:
    """Points scaled/shifted so their box is centred in the crop with max side crop/1.3."""
    lo, hi = pts.min(0), pts.max(0)
    return (pts - (lo + hi) / 2) * (2 * R / (hi - lo).max()) + CROP / 2.0


def centred_template(num_points: int = 70) -> np.ndarray:
    """Frontal layout whose landmark box is centred in the crop with side crop/1.3: following a face
    from its own landmarks is then (nearly) a fixed point, so the fixed-output model stays on the face
    for many frames (the SimCC decoder's sub-pixel bias still makes it creep by ~0.3 % a frame)."""
    from model_factory import frontal_template

    return _normalised(frontal_template((CROP, CROP), num_points).astype(np.float64)).astype(np.float32)


def mean_face_template(yaw_deg: float = 0.0, distance_m: float = 0.6) -> np.ndarray:
    """Crop points of the 3D mean face seen by a pinhole camera, head turned by ``yaw_deg`` (> 0: the
    subject turns to their left, nose to the image right), normalised like :func:`centred_template`.
    A fixed-output model with these points has a known head pose."""
    from thermal_fld_ros.schemes import IBUG70

    pts = IBUG70.mean_face_3d()  # x image right, y down, z into the head (metres)
    a = np.deg2rad(yaw_deg)
    x = pts[:, 0] * np.cos(a) - pts[:, 2] * np.sin(a)
    z = pts[:, 0] * np.sin(a) + pts[:, 2] * np.cos(a) + distance_m
    return _normalised(np.stack([x / z, pts[:, 1] / z], 1)).astype(np.float32)


def face_temperature(w: int = 320, h: int = 256, centre=(160.0, 128.0), size=(60.0, 76.0),
                     seed: int = 0) -> np.ndarray:
    """°C frame: 22 °C noisy background, a 34 °C elliptical face (may be cut by the border)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    t = 22.0 + rng.normal(0.0, 0.2, (h, w))
    inside = ((xx - centre[0]) / (size[0] / 2)) ** 2 + ((yy - centre[1]) / (size[1] / 2)) ** 2 <= 1
    t[inside] = 34.0 + rng.normal(0.0, 0.2, int(inside.sum()))
    return t.astype(np.float32)


def encode_temperature(t_c: np.ndarray, encoding: str) -> np.ndarray:
    """A °C frame as a camera would send it in ``encoding`` (node defaults: TLinear 0.01 K/count)."""
    if encoding == "32FC1":
        return t_c.astype(np.float32)
    if encoding in ("mono16", "16UC1"):
        return np.round((t_c + 273.15) / 0.01).astype(np.uint16)
    grey = np.clip((t_c - 15.0) / 25.0 * 255.0, 0, 255).astype(np.uint8)  # an AGC-like 8-bit render
    if encoding in ("mono8", "8UC1"):
        return grey
    if encoding in ("bgr8", "rgb8"):
        return np.repeat(grey[:, :, None], 3, 2)  # grey palette
    raise ValueError(encoding)


class Collector:
    """Messages of one topic, with a condition to wait on."""

    def __init__(self):
        self.msgs: List = []
        self.cv = threading.Condition()

    def __call__(self, msg) -> None:
        with self.cv:
            self.msgs.append(msg)
            self.cv.notify_all()

    def wait_for(self, pred, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for m in self.msgs:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)


OUTPUTS = {"faces": PointCloud2, "landmarks": PolygonStamped, "head_pose": PoseStamped, "markers": MarkerArray,
           "debug_image": Image}


class Harness:
    """One rclpy context per test module; nodes under test get unique namespaces."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=2, context=self.context)
        self.tester = rclpy.create_node("thermal_fld_tester", context=self.context)
        self.executor.add_node(self.tester)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()
        self.nodes = []
        self.count = 0
        self.diagnostics = Collector()
        self.tester.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics, 50)

    def _spin(self):
        try:
            self.executor.spin()
        except Exception:  # noqa: BLE001 - the context was shut down under the executor
            pass

    def start_node(self, params: Dict, namespace: Optional[str] = None):
        from thermal_fld_ros.ros.landmark_node import ThermalFldNode

        self.count += 1
        ns = namespace or f"/t{self.count}_{int(time.time() * 1e3) % 100000}"
        overrides = [Parameter(k, value=v) for k, v in params.items()]
        node = ThermalFldNode(context=self.context, namespace=ns, parameter_overrides=overrides)
        self.executor.add_node(node)
        self.nodes.append(node)
        return NodeIO(self, node, ns)

    def close(self):
        self.executor.shutdown(timeout_sec=2.0)  # stop spinning before anything is destroyed
        self.thread.join(timeout=5.0)
        for n in self.nodes:
            n.destroy_node()
        self.tester.destroy_node()
        rclpy.shutdown(context=self.context)


class NodeIO:
    """Publishers into, and collectors of everything out of, one node under test."""

    def __init__(self, harness: Harness, node, ns: str):
        self.h, self.node, self.ns = harness, node, ns
        t = harness.tester
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.image_pub = t.create_publisher(Image, f"{ns}/image", qos)
        self.info_pub = t.create_publisher(CameraInfo, f"{ns}/camera_info", qos)
        self.out = {name: Collector() for name in OUTPUTS}
        for name, typ in OUTPUTS.items():
            t.create_subscription(typ, f"{ns}/{name}", self.out[name], 50)
        self.seq = 0
        self.wait_connected()

    def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.image_pub.get_subscription_count() > 0
                    and self.node.pub_faces.get_subscription_count() > 0):
                return
            time.sleep(0.02)
        raise TimeoutError(f"node in {self.ns} did not connect")

    def next_stamp(self):
        self.seq += 1
        now = self.h.tester.get_clock().now().to_msg()
        return now

    def publish(self, arr: np.ndarray, encoding: str, frame_id: str = "thermal_optical", stamp=None, **kw) -> Image:
        msg = array_to_image(arr, encoding, **kw)
        msg.header.frame_id = frame_id
        msg.header.stamp = stamp if stamp is not None else self.next_stamp()
        self.image_pub.publish(msg)
        return msg

    def publish_raw(self, msg: Image, stamp=None) -> Image:
        msg.header.stamp = stamp if stamp is not None else self.next_stamp()
        if not msg.header.frame_id:
            msg.header.frame_id = "thermal_optical"
        self.image_pub.publish(msg)
        return msg

    def handled(self) -> int:
        """Frames the node has finished with in any way (processed, dropped, refused)."""
        s = self.node.stats
        return s.processed + s.dropped_stale + s.dropped_order + sum(s.bad.values())

    def settle(self, before: int, timeout: float = 10.0) -> None:
        """Wait until the node has dealt with a frame published after ``handled()`` was ``before``."""
        deadline = time.monotonic() + timeout
        while self.handled() <= before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"node in {self.ns} did not handle a frame")
            time.sleep(0.005)

    def result_for(self, msg: Image, topic: str = "faces", timeout: float = 10.0):
        s = msg.header.stamp

        def header(m):  # MarkerArray has no header of its own: its markers carry the image's
            return m.markers[0].header if hasattr(m, "markers") else m.header

        return self.out[topic].wait_for(lambda m: header(m).stamp == s, timeout)

    def roundtrip(self, arr, encoding, topic="faces", timeout=10.0, **kw):
        msg = self.publish(arr, encoding, **kw)
        return msg, self.result_for(msg, topic, timeout)
