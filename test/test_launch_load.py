"""Launch files must load on every ROS 2 from Humble (launch 1.0.x) to Kilted.

A static rule, run everywhere: no list literal nested inside a list given to a ``*Substitution`` (Humble's
``normalize_to_list_of_substitutions`` raises ``TypeError: Failed to normalize given item of type
<class 'list'>``; only launch with ros2/launch#838 accepts it). Where ``launch_ros`` is importable, the
files are also really loaded: ``generate_launch_description()``, launch arguments and the demo's checks.
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = sorted((ROOT / "launch").glob("*.launch.py"))
HUMBLE_BREAKER = 'x = PathJoinSubstitution([config_dir, ["thermal_fld_", LaunchConfiguration("device"), ".yaml"]])\n'


def _name(func) -> str:
    return getattr(func, "id", None) or getattr(func, "attr", "")


def nested_substitution_lists(source: str, filename: str = "<launch>") -> list:
    """'file:line' of every list/tuple literal nested in a list/tuple argument of a *Substitution call."""
    found = []
    for call in ast.walk(ast.parse(source, filename=filename)):
        if not (isinstance(call, ast.Call) and _name(call.func).endswith("Substitution")):
            continue
        for arg in list(call.args) + [k.value for k in call.keywords]:
            if isinstance(arg, (ast.List, ast.Tuple)):
                found += [f"{filename}:{e.lineno}" for e in arg.elts if isinstance(e, (ast.List, ast.Tuple))]
    return found


def test_the_rule_catches_the_nested_list_form():
    assert nested_substitution_lists(HUMBLE_BREAKER) == ["<launch>:1"]
    assert nested_substitution_lists('x = [PathJoinSubstitution([d, "thermal_fld_"]), LaunchConfiguration("device"), '
                                     '".yaml"]\n') == []


@pytest.mark.parametrize("path", LAUNCH, ids=lambda p: p.name)
def test_no_nested_lists_in_substitutions(path):
    assert nested_substitution_lists(path.read_text(), path.name) == [], \
        "nested list in a substitution: use a flat list of substitutions (Humble's launch 1.0.x refuses it)"


def _ros_launch():
    pytest.importorskip("launch_ros", reason="launch_ros is not installed (not on PyPI): the real load runs on a "
                                             "ROS install, e.g. colcon test in a Humble workspace")
    return pytest.importorskip("launch.actions")


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.generate_launch_description()


def _context(ld, **overrides):
    from launch.actions import DeclareLaunchArgument

    from launch import LaunchContext

    ctx = LaunchContext()
    ctx.launch_configurations.update(overrides)
    for entity in ld.entities:
        if isinstance(entity, DeclareLaunchArgument):
            entity.visit(ctx)  # applies the default (and checks choices) like ros2 launch does
    return ctx


@pytest.mark.parametrize("path", LAUNCH, ids=lambda p: p.name)
def test_generate_launch_description_really_loads(path):
    _ros_launch()
    ld = _load(path)
    ctx = _context(ld)
    assert ctx.launch_configurations["namespace"] == "thermal"


def test_demo_requires_a_source_and_runs_headless(tmp_path):
    actions = _ros_launch()
    ld = _load(ROOT / "launch" / "thermal_fld_demo.launch.py")
    (setup,) = [e for e in ld.entities if isinstance(e, actions.OpaqueFunction)]
    with pytest.raises(RuntimeError, match="needs a recording"):
        setup.execute(_context(ld))
    with pytest.raises(RuntimeError, match="does not exist"):
        setup.execute(_context(ld, source=str(tmp_path / "missing")))
    out = setup.execute(_context(ld, source=str(tmp_path), rviz="false"))
    kinds = [type(a).__name__ for a in out]
    assert "RegisterEventHandler" in kinds and "IncludeLaunchDescription" in kinds
    assert not [a for a in out if getattr(a, "node_executable", None) == "rviz2"]
