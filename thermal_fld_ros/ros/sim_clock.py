"""Sim-time watchdog: with ``use_sim_time`` on, ROS time stands still until ``/clock`` arrives, so
stamps, stamp-based timers and frame ages stall silently. This says so, on a wall-clock (steady) timer.
"""
from __future__ import annotations

from rclpy.clock import Clock, ClockType

NO_CLOCK_AFTER_S = 3.0  # first warning
REPEAT_S = 30.0  # then again while /clock is still missing


def sim_time_enabled(node) -> bool:
    return node.has_parameter("use_sim_time") and bool(node.get_parameter("use_sim_time").value)


class SimClockWatch:
    """Warns when sim time is on and no ``/clock`` has moved ROS time; logs once when it arrives."""

    def __init__(self, node, first_after_s: float = NO_CLOCK_AFTER_S, repeat_s: float = REPEAT_S):
        self._node = node
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._start = self._steady.now().nanoseconds
        self._first, self._repeat = float(first_after_s), float(repeat_s)
        self._next = self._first
        self.clock_seen = False
        self.warnings = 0
        self._timer = node.create_timer(min(1.0, self._first), self._check, clock=self._steady)

    def _check(self) -> None:
        if not sim_time_enabled(self._node):
            return
        if self._node.get_clock().now().nanoseconds > 0:
            if not self.clock_seen:
                self.clock_seen = True
                self._node.get_logger().info("use_sim_time: /clock received, ROS time follows it")
            return
        waited = (self._steady.now().nanoseconds - self._start) * 1e-9
        if waited >= self._next:
            self.warnings += 1
            self._next = waited + self._repeat
            self._node.get_logger().warning(
                f"use_sim_time is true but no /clock arrived in {waited:.0f} s: ROS time is 0, so stamps, "
                f"latencies and max_frame_age_s are meaningless. Play the bag with its clock "
                f"(ros2 bag play --clock BAG) or run with use_sim_time:=false.")
