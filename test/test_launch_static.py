"""Static checks of launch files, parameter YAML and RViz config (launch_ros cannot be installed here):
executables exist as entry points, every YAML/launch parameter is declared by the real node, the RViz
config shows topics the node publishes, and the generated YAML/docs are up to date."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from thermal_fld_ros.ros.parameters import PLAYER_PARAMS, landmark_node_params

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = sorted((ROOT / "launch").glob("*.launch.py"))
NODE_OUTPUTS = {"landmarks", "head_pose", "faces", "markers", "debug_image"}
PLAYER_OUTPUTS = {"image", "camera_info"}
OPTIONAL_RUNTIME = {"rviz2"}  # the demo checks for it and runs without it
ROS_NODE_PARAMS = {"use_sim_time"}  # declared by every rclpy node


def _entry_points() -> set:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and k.value == "console_scripts":
                    return {ast.literal_eval(e).split("=")[0].strip() for e in v.elts}
    raise AssertionError("no console_scripts in setup.py")


def _calls(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def _kw(call, key):
    for k in call.keywords:
        if k.arg == key:
            return k.value
    return None


def _str_args(tree, func) -> list:
    return [c.args[0].value for c in _calls(tree, func) if c.args and isinstance(c.args[0], ast.Constant)]


def test_launch_files_parse_and_name_real_executables():
    assert {p.name for p in LAUNCH} >= {"thermal_fld.launch.py", "thermal_fld_demo.launch.py"}
    exes = _entry_points()
    deps = (ROOT / "package.xml").read_text()
    for path in LAUNCH:
        tree = ast.parse(path.read_text(), filename=str(path))
        assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
        nodes = _calls(tree, "Node")
        assert nodes, path.name
        for call in nodes:
            exe = ast.literal_eval(_kw(call, "executable"))
            pkg = _kw(call, "package")
            pkg = ast.literal_eval(pkg) if isinstance(pkg, ast.Constant) else "thermal_fld_ros"  # PACKAGE
            if pkg == "thermal_fld_ros":
                assert exe in exes, f"{path.name}: executable {exe} is not a console_script in setup.py"
            elif pkg in OPTIONAL_RUNTIME:  # started only when installed; README says how to install it
                assert f"<exec_depend>{pkg}</exec_depend>" not in deps, f"{pkg} must stay optional (headless robots)"
            else:
                assert f"<exec_depend>{pkg}</exec_depend>" in deps, f"{pkg} missing from package.xml"
        # Every LaunchConfiguration is declared in the same file.
        used, declared = set(_str_args(tree, "LaunchConfiguration")), set(_str_args(tree, "DeclareLaunchArgument"))
        assert used <= declared, f"{path.name}: undeclared launch arguments {used - declared}"


def test_main_launch_remaps_input_and_takes_namespace():
    tree = ast.parse((ROOT / "launch" / "thermal_fld.launch.py").read_text())
    assert {"namespace", "image_topic", "camera_info_topic", "params_file", "device"} <= set(
        _str_args(tree, "DeclareLaunchArgument"))
    (node,) = _calls(tree, "Node")
    remaps = [ast.literal_eval(t.elts[0]) for t in _kw(node, "remappings").elts]
    assert remaps == ["image", "camera_info"]
    choices = next(ast.literal_eval(_kw(c, "choices")) for c in _calls(tree, "DeclareLaunchArgument")
                   if c.args[0].value == "device")
    for device in choices:
        assert (ROOT / "config" / f"thermal_fld_{device}.yaml").is_file()


def _launch_param_keys(path: Path) -> dict:
    """{executable: parameter names set by dict literals in that Node's parameters=[...]}"""
    tree = ast.parse(path.read_text())
    out = {}
    for call in _calls(tree, "Node"):
        exe = ast.literal_eval(_kw(call, "executable"))
        params = _kw(call, "parameters")
        keys = set()
        if params is not None:
            for d in ast.walk(params):
                if isinstance(d, ast.Dict):
                    keys |= {ast.literal_eval(k) for k in d.keys}
        out[exe] = keys
    return out


def _yaml_params(path: Path, node: str) -> dict:
    doc = yaml.safe_load(path.read_text())
    return doc.get(f"/**/{node}", {}).get("ros__parameters", {})


def test_every_yaml_and_launch_parameter_is_declared_with_the_right_type():
    node_specs = {s.name: s for s in landmark_node_params()}
    player_specs = {s.name: s for s in PLAYER_PARAMS}
    yamls = sorted((ROOT / "config").glob("*.yaml"))
    assert ROOT / "config" / "thermal_fld.yaml" in yamls
    for path in yamls:
        for name, specs in (("thermal_fld_node", node_specs), ("thermal_image_player", player_specs)):
            for key, value in _yaml_params(path, name).items():
                assert key in specs, f"{path.name}: {name} does not declare {key}"
                default = specs[key].default
                assert type(value) is type(default) or (isinstance(default, list) and isinstance(value, list)), \
                    f"{path.name}: {key}={value!r} has another type than the declared default {default!r}"
    main = _yaml_params(ROOT / "config" / "thermal_fld.yaml", "thermal_fld_node")
    assert set(main) == set(node_specs), "thermal_fld.yaml must list every node parameter"
    for path in LAUNCH:
        for exe, keys in _launch_param_keys(path).items():
            specs = node_specs if exe == "thermal_fld_node" else player_specs
            assert keys <= set(specs) | ROS_NODE_PARAMS, f"{path.name}: {exe} does not declare {keys - set(specs)}"


def test_generated_yaml_and_docs_are_up_to_date():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_param_table.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.ros
def test_real_node_accepts_the_yaml_and_publishes_what_rviz_shows(tmp_path):
    rclpy = pytest.importorskip("rclpy")
    from model_factory import make_fixed_landmark_model

    from thermal_fld_ros.ros.landmark_node import ThermalFldNode

    model = make_fixed_landmark_model(tmp_path / "m.onnx")
    yaml_path = ROOT / "config" / "thermal_fld.yaml"
    ctx = rclpy.Context()
    rclpy.init(context=ctx, args=["--ros-args", "--params-file", str(yaml_path), "-p", f"model_path:={model}",
                                  "-p", "publish_debug_image:=true"])
    try:
        node = ThermalFldNode(context=ctx, namespace="/thermal")
        try:
            values = _yaml_params(yaml_path, "thermal_fld_node")
            for key, value in values.items():
                assert node.has_parameter(key), key
                if key not in ("model_path", "publish_debug_image"):
                    assert node.get_parameter(key).value == value, key
            published = {p.topic_name for p in node.publishers}
        finally:
            node.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)
    assert {f"/thermal/{t}" for t in NODE_OUTPUTS} | {"/diagnostics"} <= published
    rviz = yaml.safe_load((ROOT / "config" / "thermal_fld.rviz").read_text())
    demo = ast.parse((ROOT / "launch" / "thermal_fld_demo.launch.py").read_text())
    defaults = {c.args[0].value: ast.literal_eval(_kw(c, "default_value"))
                for c in _calls(demo, "DeclareLaunchArgument") if _kw(c, "default_value") is not None}
    ns = "/" + defaults["namespace"]
    kinds = {"rviz_default_plugins/Image": {"debug_image", "image"}, "rviz_default_plugins/MarkerArray": {"markers"},
             "rviz_default_plugins/Pose": {"head_pose"}}
    shown = set()
    for display in rviz["Visualization Manager"]["Displays"]:
        if "Topic" not in display:
            continue
        topic = display["Topic"]["Value"]
        assert topic.startswith(ns + "/"), topic
        name = topic[len(ns) + 1:]
        assert name in kinds[display["Class"]], f"{display['Class']} cannot show {topic}"
        assert f"{ns}/{name}" in published or name in PLAYER_OUTPUTS, f"RViz shows {topic}, nobody publishes it"
        shown.add(name)
    assert {"debug_image", "markers", "head_pose"} <= shown
    player_frame = next(s.default for s in PLAYER_PARAMS if s.name == "frame_id")
    assert rviz["Visualization Manager"]["Global Options"]["Fixed Frame"] == player_frame == defaults["frame_id"]
