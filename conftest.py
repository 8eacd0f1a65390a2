"""Test-wide configuration: keep DDS discovery on this machine, always.

Set before any test module imports rclpy. Humble reads ROS_LOCALHOST_ONLY, Jazzy/Kilted read
ROS_AUTOMATIC_DISCOVERY_RANGE; both are set so no multicast leaves the host.
"""
import os

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_LOCALHOST_ONLY"] = "1"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
os.environ.setdefault("OMP_NUM_THREADS", "2")
