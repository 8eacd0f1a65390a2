"""The demo's two processes as the demo launch starts them (same executables, parameter files and
overrides), without launch itself (not on PyPI): the intrinsics lines appear once per process, not per
frame, and the player's camera_info reaches the node."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from ros_harness import face_temperature  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _start(module: str, ns: str, *params: str, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", module, "--ros-args", "-r", f"__ns:={ns}",
            "--params-file", str(ROOT / "config" / "thermal_fld.yaml")] + [a for p in params for a in ("-p", p)]
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def test_demo_processes_log_intrinsics_once(tmp_path):
    np.save(tmp_path / "temps.npy", np.stack([face_temperature(seed=i) for i in range(6)]))
    ns = f"/demo_{os.getpid()}"
    logs = {name: tmp_path / f"{name}.log" for name in ("node", "player")}
    node = _start("thermal_fld_ros.ros.landmark_node", ns, "publish_debug_image:=true",
                  "diagnostics_period_s:=0.5", log=logs["node"])
    player = _start("thermal_fld_ros.ros.player_node", ns, f"source:={tmp_path / 'temps.npy'}", "rate_hz:=9.0",
                    "loop:=true", log=logs["player"])
    try:
        time.sleep(6.0)  # ~50 frames at 9 Hz once both are up
        assert node.poll() is None and player.poll() is None, {k: v.read_text() for k, v in logs.items()}
    finally:
        for proc in (player, node):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    text = {k: v.read_text() for k, v in logs.items()}
    for name, body in text.items():  # player: "intrinsics approximated ...", node: "camera_info: fx=..."
        lines = [line for line in body.splitlines() if "intrinsics" in line or "fx=" in line]
        assert len(lines) == 1, f"{name} logged {len(lines)} intrinsics lines:\n" + "\n".join(lines[:5])
    assert "camera_info: fx=" in text["node"]  # the player's camera_info reached the node
