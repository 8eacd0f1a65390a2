"""``thermal_fld_node``: thermal images in, facial landmarks, head pose, markers and diagnostics out.

The subscription callback only keeps the newest image; a worker thread processes it. So the node never
queues: a frame that is replaced before the worker gets to it is dropped and counted (a slow machine
lowers the output rate, never raises the latency). Every per-frame problem is a throttled log line and
a diagnostics counter; only a bad model or bad parameters stop the node (at start-up, exit code 1).
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Dict, Optional

import numpy as np
import rclpy
import rclpy.executors
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PolygonStamped, PoseStamped
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from thermal_fld_ros import thermometry
from thermal_fld_ros.camera_model import Calibration, CameraInfoError
from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.frames import from_array
from thermal_fld_ros.ingest import FrameError
from thermal_fld_ros.memory import return_large_buffers_to_os
from thermal_fld_ros.normalise import normalise
from thermal_fld_ros.pipeline import Pipeline
from thermal_fld_ros.ros import face_messages, face_table
from thermal_fld_ros.ros.diagnostics import NodeStats, diagnostic_array
from thermal_fld_ros.ros.hri_output import HriFacePublisher, hri_available
from thermal_fld_ros.ros.image_conversion import array_to_image, image_to_array
from thermal_fld_ros.ros.parameters import declare, init_ros, landmark_node_params, refuse_runtime_changes
from thermal_fld_ros.ros.sim_clock import SimClockWatch
from thermal_fld_ros.ros.tf_frames import FaceFramePublisher
from thermal_fld_ros.types import BAD_FRAME_REASONS, BreathingState, FrameStatus, Issue, Reason

NODE_NAME = "thermal_fld_node"
LARGE_FRAME_BYTES = 512 * 1024  # Fast DDS default shared-memory segment: larger best-effort samples get lost


def _stamp_s(stamp) -> float:
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)


class ThermalFldNode(Node):
    def __init__(self, node_name: str = NODE_NAME, **kwargs):
        kwargs.setdefault("allow_undeclared_parameters", True)  # unknown names reach our callback's refusal
        super().__init__(node_name, **kwargs)
        specs = landmark_node_params()
        values = declare(self, specs)
        self.p = {s.name: values[s.name] for s in specs if not s.pipeline}
        cfg = PipelineConfig.from_dict({s.name: values[s.name] for s in specs if s.pipeline})
        self.pipeline = Pipeline(cfg)  # raises with the model path and the problem
        meta = self.pipeline.meta
        self.num_points = int(meta.num_points)
        self.model_desc = f"{meta.model_name or cfg.resolved_model_path().name} ({meta.scheme}, {meta.num_points} pts)"
        self.providers = ",".join(getattr(self.pipeline.model, "providers", cfg.providers))
        for w in self.pipeline.startup_warnings:
            self.get_logger().warning(w)
        self.add_on_set_parameters_callback(refuse_runtime_changes(self.get_name(), specs))

        self.stats = NodeStats()
        self._last_log: Dict[str, float] = {}
        self._lock = threading.Condition()
        self._pending: Optional[Image] = None
        self._pending_rx = 0.0
        self._pending_wall = 0.0
        self._pending_cal: Optional[Calibration] = None
        self._calibration: Optional[Calibration] = None
        self._warned_zero_stamp = False
        self._bad_reported = 0
        self._thermometry = thermometry.availability(self.pipeline.thermal is not None, None)
        self._breathing_faces = 0

        reliability = self.p["qos_reliability"]  # one of its choices (checked by declare)
        self._best_effort = reliability == "best_effort"
        self._warned_large = False
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(self.p["qos_depth"]),
                         durability=DurabilityPolicy.VOLATILE,
                         reliability=ReliabilityPolicy.RELIABLE if reliability == "reliable"
                         else ReliabilityPolicy.BEST_EFFORT)
        sub = self.create_subscription(Image, "image", self._on_image, qos)
        self.image_topic = sub.topic_name  # resolved (namespace, remaps)
        if self.p["use_camera_info"]:
            self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, qos)
        self.pub_landmarks = self.create_publisher(PolygonStamped, "landmarks", 10)
        self.pub_pose = self.create_publisher(PoseStamped, "head_pose", 10)
        self.pub_faces = self.create_publisher(PointCloud2, "faces", 10)
        self.pub_markers = self.create_publisher(MarkerArray, "markers", 10)
        self.pub_debug = self.create_publisher(Image, "debug_image", 2) if self.p["publish_debug_image"] else None
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # A steady clock, so /diagnostics keeps coming under use_sim_time before /clock arrives.
        self.create_timer(float(self.p["diagnostics_period_s"]), self._publish_diagnostics,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        self._init_face_outputs()
        self.sim_clock = SimClockWatch(self)

        self._stop = False
        self._worker = threading.Thread(target=self._work, name="thermal_fld_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(f"model {self.model_desc} on {self.providers}; subscribed to "
                               f"{self.image_topic} ({reliability}, depth {self.p['qos_depth']})")

    def _init_face_outputs(self) -> None:
        """TF frames face_<id> (publish_tf) and ROS4HRI topics (publish_hri), see tf_frames/hri_output."""
        self.face_frames = FaceFramePublisher(self) if self.p["publish_tf"] else None
        if self.face_frames is not None and not self.face_frames.active:
            self.get_logger().warning(f"publish_tf: {self.face_frames.backend}")
        self.hri = None
        if self.p["publish_hri"]:
            ok, reason = hri_available()
            if ok:
                self.hri = HriFacePublisher(self, self.pipeline.scheme.name, self.num_points)
                if not self.hri.landmarks_supported:
                    self.get_logger().warning(f"publish_hri: no /humans/faces/<id>/landmarks for scheme "
                                              f"{self.pipeline.scheme.name} ({self.num_points} points): "
                                              f"hri_msgs/FacialLandmarks needs the 70-point ibug70 order")
            else:
                self.get_logger().warning(f"publish_hri is true but {reason}; ROS4HRI output is off")

    # ------------------------------------------------------------------ callbacks
    def _on_image(self, msg: Image) -> None:
        self.stats.on_receive()
        if self._best_effort and not self._warned_large and len(msg.data) > LARGE_FRAME_BYTES:
            self._warned_large = True
            self.get_logger().warning(
                f"{len(msg.data) // 1024} KB frames over best-effort QoS: Fast DDS drops most samples above "
                f"~512 KB on one host (ros2/rmw_fastrtps#739). If input_rate_hz in /diagnostics is far below "
                f"the camera rate, set qos_reliability: reliable (and a reliable publisher), or enlarge the "
                f"Fast DDS shared-memory segment in an XML profile.")
        with self._lock:
            if self._pending is not None:
                self.stats.on_drop_stale()  # the worker is busy: the older frame is never processed
            self._pending, self._pending_rx, self._pending_wall = msg, time.monotonic(), time.time()
            self._lock.notify()

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            cal = Calibration.checked(msg.k, msg.d, msg.width, msg.height, msg.distortion_model)
        except CameraInfoError as exc:
            self.stats.on_note("camera_info_invalid")
            self._log("camera_info", f"ignoring camera_info: {exc}; head pose uses the previous or approximated "
                      f"intrinsics")
            return
        with self._lock:
            self._pending_cal = cal

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while True:
            with self._lock:
                while self._pending is None and not self._stop:
                    self._lock.wait(0.5)
                if self._stop:
                    return
                msg, rx, wall, self._pending = self._pending, self._pending_rx, self._pending_wall, None
                cal, self._pending_cal = self._pending_cal, None
            if cal is not None:
                self._set_calibration(cal)
            try:
                self._process(msg, rx, wall)
            except Exception as exc:  # noqa: BLE001 - a frame must never kill the node
                self.stats.on_bad(Reason.INTERNAL.value)
                self._log("internal", f"frame skipped after an internal error: {type(exc).__name__}: {exc}")

    def _set_calibration(self, cal: Calibration) -> None:
        old = self._calibration
        if old is not None and old.K.shape == cal.K.shape and np.allclose(old.K, cal.K) and \
                old.D.shape == cal.D.shape and np.allclose(old.D, cal.D) and (old.width, old.height) == \
                (cal.width, cal.height):
            return
        self._calibration = cal
        self.pipeline.set_calibration(cal)
        k = cal.K
        self.get_logger().info(f"camera_info: fx={k[0, 0]:.6g} fy={k[1, 1]:.6g} cx={k[0, 2]:.6g} cy={k[1, 2]:.6g} "
                               f"for {cal.width}x{cal.height}, {len(cal.D)} distortion coefficients")

    def _stamp(self, msg: Image, rx: float) -> Optional[float]:
        """Pipeline time of ``msg`` (receive time for zero stamps), or None when older than max_frame_age_s.

        Ordering (out of order, jumps back) is the pipeline's stamp policy.
        """
        stamp = _stamp_s(msg.header.stamp)
        if stamp == 0.0:
            if not self._warned_zero_stamp:
                self.get_logger().warning("image header stamps are zero: using the receive time for smoothing")
                self._warned_zero_stamp = True
            stamp = time.time() - (time.monotonic() - rx)
        max_age = float(self.p["max_frame_age_s"])
        if max_age > 0 and _stamp_s(msg.header.stamp) > 0:
            age = self.get_clock().now().nanoseconds * 1e-9 - stamp
            if age > max_age:
                self.stats.on_drop_stale()
                self._log(Reason.STALE.value, f"dropped a frame {age:.3f} s old (max_frame_age_s={max_age})")
                return None
        return stamp

    def _count(self, issue: Issue) -> None:
        """Count and log one issue of a frame under its typed reason."""
        if issue.reason == Reason.OUT_OF_ORDER:
            self.stats.on_out_of_order()
        elif issue.reason in BAD_FRAME_REASONS:
            self.stats.on_bad(issue.reason.value)
        else:
            self.stats.on_note(issue.reason.value)
        where = f"image on {self.image_topic}: " if issue.reason in BAD_FRAME_REASONS else ""
        self._log(issue.reason.value, f"{where}{issue.message}")

    def _process(self, msg: Image, rx: float, wall_rx: float) -> None:
        t0 = time.monotonic()
        try:
            arr = image_to_array(msg, self.pipeline.frame_cfg.max_pixels)
            frame = from_array(arr, msg.encoding, self.pipeline.frame_cfg)
        except FrameError as exc:
            self._count(exc.issue())
            return
        del arr  # the frame holds the only copy the pipeline needs
        stamp = self._stamp(msg, rx)
        if stamp is None:
            return
        result = self.pipeline.process(frame, stamp, defer_detection=bool(self.p["detect_after_publish"]))
        self._thermometry = thermometry.availability(self.pipeline.thermal is not None, frame)
        self._breathing_faces = sum(f.breathing is not None and f.breathing.state == BreathingState.OK
                                    for f in result.faces)
        for issue in result.issues:
            self._count(issue)
        if result.status == FrameStatus.REFUSED:
            return
        self._publish(msg, frame, result)
        now_ros = self.get_clock().now().nanoseconds * 1e-9
        latency = (now_ros - _stamp_s(msg.header.stamp)) * 1e3 if _stamp_s(msg.header.stamp) > 0 else float("nan")
        if not (0.0 <= latency < 60e3):  # another clock (sim time, a remote camera): use the receive time
            latency = (time.monotonic() - rx) * 1e3
        stamp_s = _stamp_s(msg.header.stamp)
        transport = (wall_rx - stamp_s) * 1e3 if stamp_s > 0 else float("nan")
        self.stats.on_processed(latency, (time.monotonic() - t0) * 1e3, len(result.faces),
                                transport if 0.0 <= transport < 60e3 else float("nan"), (t0 - rx) * 1e3)
        for issue in self.pipeline.run_deferred_detection():  # the periodic check, off the latency path
            self._count(issue)

    def _publish(self, msg: Image, frame, result) -> None:
        header = msg.header
        primary = result.primary
        self.pub_faces.publish(face_table.encode(result.faces, header, self.num_points))
        self.pub_landmarks.publish(face_messages.landmarks_polygon(header, primary))
        if primary is not None and primary.pose is not None:
            self.pub_pose.publish(face_messages.head_pose(header, primary))
        if self.face_frames is not None:
            self.face_frames.publish(header, result.faces)
        if self.hri is not None:
            self.hri.publish(header, result.faces, result.width, result.height)
        if self.pub_markers.get_subscription_count() > 0:  # the costliest message: only for RViz
            k = self.pipeline.intrinsics(result.width, result.height)[0]
            self.pub_markers.publish(face_messages.markers(header, result.faces, k,
                                                           float(self.p["marker_lifetime_s"])))
        if self.pub_debug is not None and self.pub_debug.get_subscription_count() > 0:
            overlay = self._overlay(frame, result)
            if overlay is not None:
                self.pub_debug.publish(array_to_image(overlay, "bgr8", header))

    def _overlay(self, frame, result) -> Optional[np.ndarray]:
        try:
            from thermal_fld_ros.draw import draw_result
        except ImportError as exc:
            self._log("debug_image", f"debug_image disabled: no overlay renderer ({exc})")
            return None
        frame01 = normalise(frame.data, frame.kind, self.pipeline.frame_cfg.normalise_config())
        return draw_result(frame01, result)  # frames narrower than 320 px are upscaled for legibility

    # ------------------------------------------------------------------ reporting
    def _log(self, kind: str, text: str) -> None:
        now = time.monotonic()
        if now - self._last_log.get(kind, -1e9) >= float(self.p["log_throttle_s"]):
            self._last_log[kind] = now
            self.get_logger().warning(text)

    def _publish_diagnostics(self) -> None:
        snap = self.stats.snapshot()
        bad_now = int(snap["bad_frames"])
        recent_bad, self._bad_reported = bad_now - self._bad_reported, bad_now
        extra = [("model", self.model_desc), ("providers", self.providers),
                 ("image_topic", self.image_topic),
                 ("intrinsics", self.pipeline.intrinsics_source),
                 ("bad_frames_since_last_report", str(recent_bad)),
                 ("thermometry", self._thermometry), ("faces_with_breathing_rate", str(self._breathing_faces))]
        name = f"{self.get_fully_qualified_name()}: thermal facial landmarks"
        self.pub_diag.publish(diagnostic_array(self.get_clock().now().to_msg(), name, self.get_fully_qualified_name(),
                                               snap, self.stats.bad_by_reason, extra, recent_bad,
                                               self.stats.notes_by_reason))

    def destroy_node(self):
        lock, worker = getattr(self, "_lock", None), getattr(self, "_worker", None)
        if lock is not None:  # absent when the constructor failed (bad model)
            with lock:
                self._stop = True
                lock.notify_all()
        if worker is not None and worker.is_alive():
            worker.join(timeout=5.0)
        return super().destroy_node()


def main(args=None) -> int:
    return_large_buffers_to_os()  # a 4096x4096 frame must not leave the process 100 MB bigger for good
    problem = init_ros(args, NODE_NAME)
    if problem is not None:
        print(f"[{NODE_NAME}] cannot start: {problem}", file=sys.stderr, flush=True)
        return 1
    try:
        node = ThermalFldNode()
    except Exception as exc:  # noqa: BLE001 - model/parameter problems: one clear line, exit non-zero
        print(f"[{NODE_NAME}] cannot start: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 1
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, getattr(rclpy.executors, "ExternalShutdownException", KeyboardInterrupt)):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
