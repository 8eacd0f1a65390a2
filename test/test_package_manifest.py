"""package.xml and setup.py say what a ROS machine needs: every ROS package the runtime imports is an
exec_depend (rosdep key), optional ones are documented, rviz2 stays out, colcon test has its pytest extra."""
from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROSDEP_NAME = {"tf2_ros": "tf2_ros_py"}  # Python module -> package (rosdep key)
OPTIONAL = {"hri_msgs"}  # publish_hri only; README says how to install it


def _deps(tag: str) -> set:
    return {e.text.strip() for e in ET.parse(ROOT / "package.xml").getroot().iter(tag)}


def _ros_imports() -> set:
    mods = set()
    for path in (ROOT / "thermal_fld_ros").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
            for name in names:
                top = name.split(".")[0]
                if top in ("rclpy", "tf2_ros", "cv_bridge", "ament_index_python") or top.endswith(
                        ("_msgs", "_interfaces")):
                    mods.add(top)
    return mods


def test_every_imported_ros_package_is_an_exec_depend():
    deps = _deps("exec_depend")
    missing = {ROSDEP_NAME.get(m, m) for m in _ros_imports()} - deps - OPTIONAL
    assert not missing, f"imported but not in package.xml: {sorted(missing)}"
    assert "rviz2" not in deps, "rviz2 pulls Qt onto headless robots: the demo starts it only when installed"
    assert "python3-onnxruntime-pip" in deps and "python3-numpy" in deps
    readme = (ROOT / "README.md").read_text()
    assert "--skip-keys python3-onnxruntime-pip" in readme and "requirements-humble.txt" in readme
    for name in OPTIONAL:
        assert name.replace("_", "-") in readme, f"README must say how to install optional {name}"


def test_setup_declares_the_colcon_test_extra_and_keeps_install_requires_minimal():
    tree = ast.parse((ROOT / "setup.py").read_text())
    kw = {k.arg: k.value for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup"
          for k in n.keywords}
    assert ast.literal_eval(kw["install_requires"]) == ["setuptools"]
    extras = ast.literal_eval(kw["extras_require"])
    assert "pytest" in extras["test"]
    assert any(r.startswith("onnxruntime") for r in extras["runtime"])
    humble = [line.split("#")[0].strip() for line in (ROOT / "requirements-humble.txt").read_text().splitlines()]
    assert "numpy>=1.21,<1.22" in humble and any(r.startswith("onnxruntime") for r in humble)
