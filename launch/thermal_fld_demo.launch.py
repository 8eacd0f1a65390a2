"""Demo with no camera: the frame player publishes recorded thermal frames, thermal_fld_node runs on
them, RViz shows the overlay, the 3D landmarks and the head axes.

    ros2 launch thermal_fld_ros thermal_fld_demo.launch.py source:=/path/to/frames_or_video_or.npy
    ros2 launch thermal_fld_ros thermal_fld_demo.launch.py source:=clip.mp4 rviz:=false   # headless

``source`` is required. When any of the processes (player, node, RViz) exits, the others are stopped.
RViz is optional: with rviz:=true and no rviz2 installed the demo says so and runs without it.
The RViz config (config/thermal_fld.rviz) expects the default namespace 'thermal' and frame
'thermal_camera_optical_frame'.
"""
import os

from launch.actions import (
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
    Shutdown,
)
from launch.event_handlers import OnProcessExit
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

PACKAGE = "thermal_fld_ros"
USAGE = "ros2 launch thermal_fld_ros thermal_fld_demo.launch.py source:=/path/to/frames_or_video_or.npy"


def _flag(context, name: str) -> bool:
    value = LaunchConfiguration(name).perform(context).strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise RuntimeError(f"thermal_fld_demo: {name}:={value!r} must be true or false")
    return value in ("true", "1")


def _rviz_installed() -> bool:
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return False
    try:
        get_package_prefix("rviz2")
    except (PackageNotFoundError, OSError):
        return False
    return True


def _stop_all(event, context):
    """Any process ends (player at the end of a non-looping source, node error, RViz closed): stop all."""
    who = getattr(event, "process_name", "a process")
    return [LogInfo(msg=f"thermal_fld_demo: {who} exited (code {event.returncode}): stopping the demo"),
            Shutdown(reason=f"{who} exited")]


def _processes(context):
    source = LaunchConfiguration("source").perform(context).strip()
    if not source:
        raise RuntimeError(f"thermal_fld_demo needs a recording to play: {USAGE} "
                           "(a folder of 8/16-bit images, a video file or a .npy stack)")
    if not os.path.exists(os.path.expanduser(source)):
        raise RuntimeError(f"thermal_fld_demo: source:={source} does not exist. {USAGE}")
    share = FindPackageShare(PACKAGE)
    config_dir = PathJoinSubstitution([share, "config"])
    player = Node(
        package=PACKAGE,
        executable="thermal_image_player",
        name="thermal_image_player",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        parameters=[PathJoinSubstitution([config_dir, "thermal_fld.yaml"]),
                    {"source": os.path.expanduser(source),
                     "rate_hz": ParameterValue(LaunchConfiguration("rate_hz"), value_type=float),
                     "loop": ParameterValue(LaunchConfiguration("loop"), value_type=bool),
                     "frame_id": ParameterValue(LaunchConfiguration("frame_id"), value_type=str),
                     "camera_info_file": ParameterValue(LaunchConfiguration("camera_info_file"), value_type=str)}],
    )
    landmarks = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([share, "launch", "thermal_fld.launch.py"])),
        launch_arguments={"namespace": LaunchConfiguration("namespace"),
                          "device": LaunchConfiguration("device"),
                          "model_path": LaunchConfiguration("model_path"),
                          "publish_debug_image": "true"}.items(),
    )
    actions = [RegisterEventHandler(OnProcessExit(on_exit=_stop_all)), player, landmarks]
    if _flag(context, "rviz"):
        if _rviz_installed():
            actions.append(Node(package="rviz2", executable="rviz2", name="rviz2", output="log",
                                arguments=["-d", PathJoinSubstitution([config_dir, "thermal_fld.rviz"])]))
        else:
            actions.append(LogInfo(msg="thermal_fld_demo: rviz2 is not installed (sudo apt install "
                                       "ros-$ROS_DISTRO-rviz2), running without RViz; pass rviz:=false to "
                                       "silence this"))
    return actions


def generate_launch_description():
    args = [
        DeclareLaunchArgument("source", default_value="",
                              description="required: folder of 8/16-bit images, a video, or a .npy stack"),
        DeclareLaunchArgument("rate_hz", default_value="9.0", description="player rate (Hz)"),
        DeclareLaunchArgument("loop", default_value="true", description="replay from the start at the end"),
        DeclareLaunchArgument("namespace", default_value="thermal", description="namespace of player and node"),
        DeclareLaunchArgument("frame_id", default_value="thermal_camera_optical_frame",
                              description="camera optical frame (RViz fixed frame)"),
        DeclareLaunchArgument("camera_info_file", default_value="",
                              description="calibration YAML; empty = intrinsics approximated from hfov_deg"),
        DeclareLaunchArgument("device", default_value="cpu", choices=["cpu", "jetson"],
                              description="onnxruntime provider preset"),
        DeclareLaunchArgument("model_path", default_value="", description="landmark ONNX model; empty = bundled"),
        DeclareLaunchArgument("rviz", default_value="true", choices=["true", "false"],
                              description="start RViz (skipped with a message when rviz2 is not installed)"),
    ]
    return LaunchDescription(args + [OpaqueFunction(function=_processes)])
