"""``thermal_image_player``: publish recorded thermal frames as a camera would, so the package runs
with no camera attached (demo launch, tests, benchmarks).

Publishes ``image`` (encoding from the data: mono8, bgr8, mono16 or 32FC1) and ``camera_info`` (from a
calibration YAML, else approximated from ``hfov_deg``) with the same header, at ``rate_hz``.
"""
from __future__ import annotations

import sys

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from thermal_fld_ros.ros.frame_source import FrameSource, approximate_camera_matrix, load_calibration
from thermal_fld_ros.ros.image_conversion import array_to_image
from thermal_fld_ros.ros.parameters import PLAYER_PARAMS, declare


def camera_info_msg(header, width: int, height: int, calib: dict | None, hfov_deg: float) -> CameraInfo:
    info = CameraInfo()
    info.header = header
    info.width, info.height = int(width), int(height)
    if calib is not None:
        sx, sy = width / calib["width"], height / calib["height"]  # calibrated at another resolution
        k = calib["K"].copy()
        k[0] *= sx
        k[1] *= sy
        info.distortion_model = calib["distortion_model"]
        info.d = [float(v) for v in calib["D"]]
        info.r = [float(v) for v in calib["R"].ravel()]
    else:
        k = approximate_camera_matrix(width, height, hfov_deg)
        info.distortion_model = "plumb_bob"
        info.d = [0.0] * 5
        info.r = [float(v) for v in np.eye(3).ravel()]
    info.k = [float(v) for v in k.ravel()]
    p = np.zeros((3, 4))
    p[:, :3] = k
    info.p = [float(v) for v in p.ravel()]
    return info


class ThermalImagePlayer(Node):
    def __init__(self, **kwargs):
        super().__init__("thermal_image_player", **kwargs)
        self.params = declare(self, PLAYER_PARAMS)
        p = self.params
        self.source = FrameSource(p["source"], p["float_scale"], p["float_offset"])
        self.calib = load_calibration(p["camera_info_file"]) if p["camera_info_file"] else None
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

    def _tick(self) -> None:
        try:
            arr, encoding, _name = next(self._frames)
        except StopIteration:
            self.get_logger().info(f"end of {self.source.path} after {self.published} frames")
            self.timer.cancel()
            self.finished = True
            return
        msg = array_to_image(arr, encoding)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params["frame_id"]
        self.info_pub.publish(camera_info_msg(msg.header, msg.width, msg.height, self.calib, self.params["hfov_deg"]))
        self.image_pub.publish(msg)
        self.published += 1


def main(args=None) -> int:
    rclpy.init(args=args)
    try:
        node = ThermalImagePlayer()
    except (OSError, ValueError) as exc:
        print(f"thermal_image_player: {exc}", file=sys.stderr)
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
