"""Demo with no camera: the frame player publishes recorded thermal frames, thermal_fld_node runs on
them, RViz shows the overlay, the 3D landmarks and the head axes.

    ros2 launch thermal_fld_ros thermal_fld_demo.launch.py source:=/path/to/frames_or_video_or.npy

The RViz config (config/thermal_fld.rviz) expects the default namespace 'thermal' and frame
'thermal_camera_optical_frame'.
"""
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

PACKAGE = "thermal_fld_ros"


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    config_dir = PathJoinSubstitution([share, "config"])
    args = [
        DeclareLaunchArgument("source", description="folder of 8/16-bit images, a video, or a .npy stack"),
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
        DeclareLaunchArgument("rviz", default_value="true", description="start RViz"),
    ]
    player = Node(
        package=PACKAGE,
        executable="thermal_image_player",
        name="thermal_image_player",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        parameters=[PathJoinSubstitution([config_dir, "thermal_fld.yaml"]),
                    {"source": ParameterValue(LaunchConfiguration("source"), value_type=str),
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
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        arguments=["-d", PathJoinSubstitution([config_dir, "thermal_fld.rviz"])],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription(args + [player, landmarks, rviz])
