"""ROS parameters of the nodes, generated from one list so declarations, YAML and docs cannot drift.

Pipeline parameters come from :class:`thermal_fld_ros.config.PipelineConfig` field metadata; node-only
ones (QoS, drop policy, debug image, diagnostics) are listed here. Each is declared with a
``ParameterDescriptor`` carrying its description and, for numbers, its range.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, List, Optional, Tuple

from thermal_fld_ros.config import PipelineConfig


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    description: str
    range: Optional[Tuple[float, float]] = None
    pipeline: bool = False  # forwarded to PipelineConfig


NODE_PARAMS: Tuple[ParamSpec, ...] = (
    ParamSpec("publish_debug_image", False, "publish the bgr8 overlay on debug_image (only computed while "
              "someone subscribes)"),
    ParamSpec("qos_reliability", "best_effort", "image/camera_info subscription reliability: best_effort "
              "(sensor data) or reliable"),
    ParamSpec("qos_depth", 1, "image subscription queue depth (the node still processes only the newest frame)",
              (1, 100)),
    ParamSpec("max_frame_age_s", 0.0, "drop frames whose header stamp is older than this (seconds) when the "
              "worker picks them up; 0 = no age limit (the newest frame still replaces unprocessed ones)",
              (0.0, 3600.0)),
    ParamSpec("diagnostics_period_s", 1.0, "period of the /diagnostics status (seconds)", (0.1, 60.0)),
    ParamSpec("marker_lifetime_s", 0.5, "lifetime of RViz markers, so markers of lost faces vanish (seconds)",
              (0.0, 60.0)),
    ParamSpec("use_camera_info", True, "take intrinsics from camera_info when it arrives (else approximated)"),
    ParamSpec("publish_tf", True, "publish a TF frame face_<id> per face with a pose on /tf (REP-155 axes, parent = "
              "the image's frame_id)"),
    ParamSpec("publish_hri", False, "publish ROS4HRI face topics (/humans/faces/tracked, /humans/faces/<id>/roi and "
              "/landmarks) when hri_msgs is importable"),
    ParamSpec("log_throttle_s", 5.0, "at most one log line per problem kind per this many seconds",
              (0.0, 3600.0)),
)

PLAYER_PARAMS: Tuple[ParamSpec, ...] = (
    ParamSpec("source", "", "folder of 8/16-bit images, a video file, or a .npy stack (N, H, W) / (H, W)"),
    ParamSpec("rate_hz", 9.0, "publish rate (Hz)", (0.01, 1000.0)),
    ParamSpec("loop", True, "start again after the last frame"),
    ParamSpec("frame_id", "thermal_camera_optical_frame", "header frame_id (the camera optical frame)"),
    ParamSpec("camera_info_file", "", "camera calibration YAML (camera_calibration format); empty = "
              "approximate from hfov_deg"),
    ParamSpec("hfov_deg", 57.0, "horizontal field of view used to approximate intrinsics (FLIR Lepton 3.5: 57)",
              (1.0, 179.0)),
    ParamSpec("float_scale", 1.0, ".npy float stacks: published value = value*float_scale + float_offset "
              "(e.g. Fahrenheit -> Celsius: 0.5556, -17.78)", (-1e6, 1e6)),
    ParamSpec("float_offset", 0.0, ".npy float stacks: see float_scale", (-1e6, 1e6)),
)


def pipeline_params() -> List[ParamSpec]:
    out = []
    defaults = PipelineConfig()
    for f in fields(PipelineConfig):
        out.append(ParamSpec(f.name, getattr(defaults, f.name), f.metadata.get("description", ""),
                             f.metadata.get("range"), pipeline=True))
    return out


def landmark_node_params() -> List[ParamSpec]:
    return pipeline_params() + list(NODE_PARAMS)


def declare(node, specs) -> Dict[str, Any]:
    """Declare ``specs`` on ``node`` with descriptors; returns {name: value} after overrides."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    values = {}
    for spec in specs:
        desc = ParameterDescriptor(description=spec.description)
        if spec.range is not None and isinstance(spec.default, bool) is False:
            lo, hi = spec.range
            if isinstance(spec.default, int):
                desc.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
            elif isinstance(spec.default, float):
                desc.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi),
                                                                step=0.0)]
            desc.additional_constraints = f"range [{lo}, {hi}]"
        default = list(spec.default) if isinstance(spec.default, (list, tuple)) else spec.default
        values[spec.name] = node.declare_parameter(spec.name, default, desc).value
    return values
