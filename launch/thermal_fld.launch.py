"""Launch thermal_fld_node with its parameter file.

    ros2 launch thermal_fld_ros thermal_fld.launch.py image_topic:=/flir/image_raw namespace:=thermal
    ros2 launch thermal_fld_ros thermal_fld.launch.py device:=jetson      # TensorRT/CUDA providers
    ros2 launch thermal_fld_ros thermal_fld.launch.py use_sim_time:=true  # on a bag: ros2 bag play --clock BAG

Outputs appear under /<namespace>/ (landmarks, head_pose, faces, markers, debug_image) and /diagnostics.
"""
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

PACKAGE = "thermal_fld_ros"


def generate_launch_description():
    config_dir = PathJoinSubstitution([FindPackageShare(PACKAGE), "config"])
    args = [
        DeclareLaunchArgument("namespace", default_value="thermal",
                              description="namespace of the node and its output topics"),
        DeclareLaunchArgument("image_topic", default_value="image",
                              description="input sensor_msgs/Image topic (remaps 'image'; relative names "
                                          "resolve in the namespace)"),
        DeclareLaunchArgument("camera_info_topic", default_value="camera_info",
                              description="input sensor_msgs/CameraInfo topic (remaps 'camera_info')"),
        DeclareLaunchArgument("params_file", default_value=PathJoinSubstitution([config_dir, "thermal_fld.yaml"]),
                              description="node parameters (YAML)"),
        DeclareLaunchArgument("device", default_value="cpu", choices=["cpu", "jetson"],
                              description="onnxruntime provider preset: config/thermal_fld_<device>.yaml"),
        DeclareLaunchArgument("model_path", default_value="",
                              description="landmark ONNX model; empty = the bundled model"),
        DeclareLaunchArgument("publish_debug_image", default_value="false",
                              description="publish the overlay image on debug_image"),
        DeclareLaunchArgument("publish_hri", default_value="false",
                              description="ROS4HRI output under /humans/faces/ (needs hri_msgs)"),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="follow /clock (recorded bags: ros2 bag play --clock)"),
        DeclareLaunchArgument("log_level", default_value="info", description="ROS log level"),
    ]
    # A flat list of substitutions (concatenated): a nested list inside PathJoinSubstitution only loads
    # with launch >= Kilted (ros2/launch#838), not on Humble 1.0.x.
    device_file = [PathJoinSubstitution([config_dir, "thermal_fld_"]), LaunchConfiguration("device"), ".yaml"]
    node = Node(
        package=PACKAGE,
        executable="thermal_fld_node",
        name="thermal_fld_node",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        parameters=[
            LaunchConfiguration("params_file"),
            device_file,
            {"model_path": ParameterValue(LaunchConfiguration("model_path"), value_type=str),
             "publish_debug_image": ParameterValue(LaunchConfiguration("publish_debug_image"), value_type=bool),
             "publish_hri": ParameterValue(LaunchConfiguration("publish_hri"), value_type=bool),
             "use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)},
        ],
        remappings=[("image", LaunchConfiguration("image_topic")),
                    ("camera_info", LaunchConfiguration("camera_info_topic"))],
        arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
    )
    return LaunchDescription(args + [node])
