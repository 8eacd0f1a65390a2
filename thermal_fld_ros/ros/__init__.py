"""ROS 2 edge of thermal_fld_ros: messages in, results out. The only place that imports rclpy/msgs."""
