"""ROS parameters of the nodes, generated from one list so declarations, YAML and docs cannot drift.

Pipeline parameters come from :class:`thermal_fld_ros.config.PipelineConfig` field metadata; node-only
ones (QoS, drop policy, debug image, diagnostics) are listed here. Each is declared with a
``ParameterDescriptor`` carrying its description and, for numbers, its range; every value is checked at
start-up (type, range, choices), unknown names are warned about with the closest known name, and run-time
changes are refused with a line naming the parameter.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, fields
from typing import Any, Dict, List, Optional, Tuple

import yaml

from thermal_fld_ros.config import PipelineConfig, closest_name, coerce_param, expected_type

# Parameters rclpy itself declares or reads on every node: never "unknown".
ROS_OWN_PARAMS = ("use_sim_time", "start_type_description_service")
ROS_OWN_PREFIXES = ("qos_overrides.",)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    description: str
    range: Optional[Tuple[float, float]] = None
    pipeline: bool = False  # forwarded to PipelineConfig
    choices: Optional[Tuple[str, ...]] = None  # enumerated: validated at start-up


NODE_PARAMS: Tuple[ParamSpec, ...] = (
    ParamSpec("publish_debug_image", False, "publish the bgr8 overlay on debug_image (only computed while "
              "someone subscribes)"),
    ParamSpec("qos_reliability", "best_effort", "image/camera_info subscription reliability: best_effort "
              "(sensor data) or reliable", choices=("best_effort", "reliable")),
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
    ParamSpec("detect_after_publish", True, "run the periodic detector check (detection_interval, every face "
              "followed well) after the frame's outputs are published, not before: it leaves the image -> "
              "landmarks latency; its result applies from the next frame"),
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
                             f.metadata.get("range"), pipeline=True, choices=f.metadata.get("choices")))
    return out


def landmark_node_params() -> List[ParamSpec]:
    return pipeline_params() + list(NODE_PARAMS)


def is_known_name(name: str, specs) -> bool:
    return name in {s.name for s in specs} or name in ROS_OWN_PARAMS or name.startswith(ROS_OWN_PREFIXES)


def unknown_overrides(node, specs) -> List[str]:
    """One warning per override (``-p``, params file) that names no parameter of this node, with the
    closest known name. rclpy keeps the overrides it got for the node in ``_parameter_overrides``."""
    names = sorted(getattr(node, "_parameter_overrides", {}) or {})
    known = [s.name for s in specs]
    return [f"unknown parameter '{n}' ignored{closest_name(n, known)}" for n in names if not is_known_name(n, specs)]


def check_value(spec: ParamSpec, value: Any) -> Any:
    """The value as the spec's type, in range and among its choices; ValueError (one line) if not."""
    v = coerce_param(spec.name, spec.default, value)
    if spec.range is not None and not isinstance(v, bool) and not spec.range[0] <= v <= spec.range[1]:
        raise ValueError(f"parameter {spec.name}={v} outside its range [{spec.range[0]}, {spec.range[1]}]")
    if spec.choices is not None and v not in spec.choices:
        raise ValueError(f"parameter {spec.name}={v!r} is not one of: {', '.join(spec.choices)}"
                         f"{closest_name(str(v), spec.choices)}")
    return v


def declare(node, specs) -> Dict[str, Any]:
    """Declare ``specs`` on ``node`` with descriptors; returns {name: checked value} after overrides.

    Declared with dynamic typing so that a wrong type reaches our checks (one line naming the parameter
    and the type it takes) instead of rclpy's "Wrong parameter type, expected '2' got '4'"; an integer
    for a float parameter is accepted. Unknown override names are logged with the closest known name.
    """
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    values = {}
    for spec in specs:
        desc = ParameterDescriptor(description=spec.description, dynamic_typing=True)
        constraints = []
        if spec.range is not None and isinstance(spec.default, bool) is False:
            lo, hi = spec.range
            if isinstance(spec.default, int):
                desc.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
            elif isinstance(spec.default, float):
                desc.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi),
                                                                step=0.0)]
            constraints.append(f"range [{lo}, {hi}]")
        if spec.choices is not None:
            constraints.append(f"one of: {', '.join(spec.choices)}")
        desc.additional_constraints = "; ".join(constraints)
        default = list(spec.default) if isinstance(spec.default, (list, tuple)) else spec.default
        values[spec.name] = check_value(spec, node.declare_parameter(spec.name, default, desc).value)
    for line in unknown_overrides(node, specs):
        node.get_logger().warning(line)
    return values


def refuse_runtime_changes(node_name: str, specs):
    """An on-set-parameters callback: parameters are read at start-up, so every change of one of ours
    is refused with one line naming it (and, for a wrong type or an unknown name, what it takes)."""
    from rcl_interfaces.msg import SetParametersResult

    by_name = {s.name: s for s in specs}

    def callback(params) -> SetParametersResult:
        for p in params:
            spec = by_name.get(p.name)
            if spec is None:
                if is_known_name(p.name, specs):
                    continue
                return SetParametersResult(successful=False, reason=f"{node_name} has no parameter '{p.name}'"
                                           f"{closest_name(p.name, by_name)}")
            try:
                check_value(spec, p.value)
            except ValueError as exc:
                return SetParametersResult(successful=False, reason=f"{exc} ({spec.name} takes "
                                           f"{expected_type(spec.default)}); and {node_name} reads its parameters "
                                           f"at start-up only")
            return SetParametersResult(successful=False, reason=f"{spec.name}: {node_name} reads its parameters at "
                                       f"start-up: restart the node (or relaunch) to change it")
        return SetParametersResult(successful=True)

    return callback


def init_ros(args, name: str) -> Optional[str]:
    """``rclpy.init``; a bad parameters file or ROS argument gives one line (returned), not a traceback."""
    import rclpy

    argv = list(sys.argv if args is None else args)
    for i, a in enumerate(argv[:-1]):
        if a == "--params-file":
            path = argv[i + 1]
            try:
                with open(path, encoding="utf-8") as fh:
                    yaml.safe_load(fh)
            except OSError as exc:
                return f"cannot read parameters file {path}: {exc.strerror or exc}"
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
                return f"parameters file {path}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}"
    try:
        rclpy.init(args=args)
    except Exception as exc:  # noqa: BLE001 - RCLError: bad --ros-args; strip the C source locations
        text = re.sub(r",? at /?[\w/.-]+\.c:\d+", "", str(exc))
        return f"bad ROS arguments: {text.replace('failed to initialize rcl: ', '')}"
    return None
