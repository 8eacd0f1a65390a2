"""``thermal_image_player``: publish recorded thermal frames as a camera would, so the package runs
with no camera attached (demo launch, tests, benchmarks).

Publishes ``image`` (encoding by :mod:`thermal_fld_ros.file_source`'s rules, the CLI's: mono8, bgr8, 16UC1
or 32FC1) and ``camera_info`` (from a checked calibration YAML, scaled to the frames' size, else
approximated from ``hfov_deg``) with the same header, at ``rate_hz``. An unreadable file is skipped
with one line.
"""
from __future__ import annotations

import sys
from typing import Optional

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from thermal_fld_ros.camera_model import (
    Calibration,
    CameraInfoError,
    approximate_intrinsics,
    intrinsics_for,
    load_calibration,
)
from thermal_fld_ros.file_source import FileSource, SourceError
from thermal_fld_ros.ros.image_conversion import array_to_image
from thermal_fld_ros.ros.parameters import PLAYER_PARAMS, declare, init_ros, refuse_runtime_changes


def camera_info_msg(header, width: int, height: int, k: np.ndarray, d: Optional[np.ndarray],
                    distortion_model: str = "plumb_bob") -> CameraInfo:
    info = CameraInfo()
    info.header = header
    info.width, info.height = int(width), int(height)
    info.distortion_model = distortion_model
    info.d = [float(v) for v in (d if d is not None else np.zeros(5))]
    info.r = [float(v) for v in np.eye(3).ravel()]
    info.k = [float(v) for v in np.asarray(k, np.float64).ravel()]
    p = np.zeros((3, 4))
    p[:, :3] = k
    info.p = [float(v) for v in p.ravel()]
    return info


class ThermalImagePlayer(Node):
    def __init__(self, **kwargs):
        kwargs.setdefault("allow_undeclared_parameters", True)  # unknown names reach our callback's refusal
        super().__init__("thermal_image_player", **kwargs)
        self.params = declare(self, PLAYER_PARAMS)
        self.add_on_set_parameters_callback(refuse_runtime_changes(self.get_name(), PLAYER_PARAMS))
        p = self.params
        self.source = FileSource(p["source"], p["float_scale"], p["float_offset"])
        self.calib: Optional[Calibration] = load_calibration(p["camera_info_file"]) if p["camera_info_file"] else None
        self._intrinsics_size = None
        if self.calib is None:
            self.get_logger().info(f"no camera_info_file: intrinsics approximated from hfov_deg={p['hfov_deg']}")
        qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)  # matches best-effort subscribers too
        self.image_pub = self.create_publisher(Image, "image", qos)
        self.info_pub = self.create_publisher(CameraInfo, "camera_info", qos)
        self._frames = self.source.frames(loop=bool(p["loop"]))
        self.published = 0
        self.finished = False
        self.timer = self.create_timer(1.0 / float(p["rate_hz"]), self._tick)
        self.get_logger().info(f"playing {self.source.kind} {self.source.path} at {p['rate_hz']} Hz "
                               f"(loop={p['loop']}, frame_id={p['frame_id']})")

    def _intrinsics(self, width: int, height: int):
        """(K, D, distortion model) for frames of this size; decided (and logged) once per size."""
        if self._intrinsics_size != (width, height):
            self._intrinsics_size = (width, height)
            self._k = (approximate_intrinsics(width, height, self.params["hfov_deg"]), None, "plumb_bob")
            if self.calib is not None:
                try:
                    k, d, note = intrinsics_for(self.calib, width, height)
                    self._k = (k, d, self.calib.distortion_model)
                    if note:
                        self.get_logger().warning(f"{self.params['camera_info_file']}: {note}")
                except CameraInfoError as exc:
                    self.get_logger().warning(f"{self.params['camera_info_file']}: {exc}; publishing intrinsics "
                                              f"approximated from hfov_deg={self.params['hfov_deg']}")
        return self._k

    def _tick(self) -> None:
        try:
            sf = next(self._frames)
        except StopIteration:
            self.get_logger().info(f"end of {self.source.path} after {self.published} frames")
            self.timer.cancel()
            self.finished = True
            return
        if sf.issue is not None:
            self.get_logger().warning(f"skipped {sf.name}: {sf.issue.message}")
            return
        msg = array_to_image(sf.array, sf.encoding)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params["frame_id"]
        k, d, model = self._intrinsics(msg.width, msg.height)
        self.info_pub.publish(camera_info_msg(msg.header, msg.width, msg.height, k, d, model))
        self.image_pub.publish(msg)
        self.published += 1


def main(args=None) -> int:
    problem = init_ros(args, "thermal_image_player")
    if problem is not None:
        print(f"thermal_image_player: cannot start: {problem}", file=sys.stderr, flush=True)
        return 2
    try:
        node = ThermalImagePlayer()
    except (OSError, ValueError, SourceError, CameraInfoError) as exc:
        print(f"thermal_image_player: cannot start: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 2
    try:
        while rclpy.ok() and not node.finished:
            rclpy.spin_once(node, timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
