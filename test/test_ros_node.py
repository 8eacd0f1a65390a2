"""thermal_fld_node in-process over real rclpy + Fast DDS: every encoding, every output topic,
bad input, stale-frame dropping, diagnostics, camera_info, real thermal frames."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from model_factory import make_fixed_landmark_model  # noqa: E402
from rclpy.time import Time  # noqa: E402
from ros_harness import (  # noqa: E402
    Harness,
    centred_template,
    encode_temperature,
    face_temperature,
    mean_face_template,
)
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from thermal_fld_ros.config import PipelineConfig  # noqa: E402
from thermal_fld_ros.frames import from_array  # noqa: E402
from thermal_fld_ros.pipeline import Pipeline  # noqa: E402
from thermal_fld_ros.ros import face_table  # noqa: E402
from thermal_fld_ros.ros.image_conversion import array_to_image, image_to_array  # noqa: E402
from thermal_fld_ros.ros.rotation import matrix_from_quaternion  # noqa: E402
from thermal_fld_ros.schemes import DATA_DIR  # noqa: E402

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real_thermal"
ENCODINGS = ["mono8", "8UC1", "mono16", "16UC1", "32FC1", "bgr8", "rgb8"]
HAS_MEAN_FACE = (DATA_DIR / "mean_face_ibug70.json").is_file()
CENTRE, SIZE = (200.0, 120.0), (60.0, 76.0)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    return str(make_fixed_landmark_model(tmp_path_factory.mktemp("m") / "fixed.onnx", crop_points=centred_template()))


@pytest.fixture(scope="module")
def harness():
    h = Harness()
    yield h
    h.close()


def _params(model, **kw):
    p = {"model_path": model, "diagnostics_period_s": 0.2, "log_throttle_s": 0.0}
    p.update(kw)
    return p


def _direct(model, frames, encoding, stamps):
    """The same frames through the plain Pipeline: what the node must publish."""
    pipe = Pipeline(PipelineConfig.from_dict({"model_path": model}))
    return [pipe.process(from_array(f, encoding, pipe.frame_cfg), s) for f, s in zip(frames, stamps)]


def _stamp_s(stamp) -> float:
    return stamp.sec + 1e-9 * stamp.nanosec


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_gives_landmarks_on_the_face(harness, model, encoding):
    io = harness.start_node(_params(model))
    frames = [encode_temperature(face_temperature(centre=CENTRE, size=SIZE, seed=i), encoding) for i in range(4)]
    sent, tables = [], []
    for f in frames:
        msg, table = io.roundtrip(f, encoding)
        assert table is not None, f"no faces message for a {encoding} frame"
        sent.append(msg)
        tables.append(table)
    for msg, table in zip(sent, tables):
        assert table.header.frame_id == "thermal_optical" and table.header.stamp == msg.header.stamp
    rows = face_table.decode(tables[-1])
    assert len(rows) == 1
    # Exactly what the plain pipeline gives for the same frames and stamps (transport adds nothing).
    direct = _direct(model, frames, encoding, [_stamp_s(m.header.stamp) for m in sent])[-1]
    np.testing.assert_allclose(rows["u"][0], direct.faces[0].landmarks[:, 0], atol=1e-3)
    np.testing.assert_allclose(rows["v"][0], direct.faces[0].landmarks[:, 1], atol=1e-3)
    # And on the synthetic face: the landmark box sits on the warm ellipse (the detector's box calibration
    # decides the exact framing, so only coarse geometry here; the exact check is the line above).
    uv = np.stack([rows["u"][0], rows["v"][0]], 1)
    lo, hi = uv.min(0), uv.max(0)
    assert np.linalg.norm((lo + hi) / 2 - CENTRE) < 0.2 * max(SIZE), ((lo + hi) / 2, CENTRE)
    assert 0.5 * max(SIZE) < (hi - lo).max() < 1.3 * max(SIZE), hi - lo
    poly = io.result_for(sent[-1], "landmarks")
    assert poly.header.frame_id == "thermal_optical"
    np.testing.assert_allclose([p.x for p in poly.polygon.points], rows["u"][0], atol=1e-3)
    np.testing.assert_allclose([p.z for p in poly.polygon.points], rows["point_score"][0], atol=1e-6)


def test_markers_and_no_face_messages(harness, model):
    io = harness.start_node(_params(model))
    # A cold scene first (the fixed-output model would follow an existing track anywhere).
    cold = np.full((256, 320), 21.0, np.float32) + np.random.default_rng(1).normal(0, 0.2, (256, 320)).astype(np.float32)
    msg, table = io.roundtrip(cold, "32FC1")
    assert table is not None and table.width == 0  # no face: an empty table, still published
    assert len(io.result_for(msg, "landmarks").polygon.points) == 0
    assert [m.action for m in io.result_for(msg, "markers").markers] == [Marker.DELETEALL]
    assert io.out["head_pose"].msgs == []
    msg, markers = io.roundtrip(face_temperature(centre=CENTRE, size=SIZE), "32FC1", topic="markers")
    assert markers is not None and markers.markers[0].action == Marker.DELETEALL
    assert all(m.header.frame_id == "thermal_optical" for m in markers.markers)


def _pose_of(msg):
    q = msg.pose.orientation
    return matrix_from_quaternion([q.x, q.y, q.z, q.w]), np.array([msg.pose.position.x, msg.pose.position.y,
                                                                    msg.pose.position.z])


@pytest.mark.skipif(not HAS_MEAN_FACE, reason="no 3D mean face (thermal_fld_ros/data/mean_face_ibug70.json)")
def test_head_pose_axes_and_camera_info(harness, tmp_path):
    model = str(make_fixed_landmark_model(tmp_path / "frontal.onnx", crop_points=mean_face_template(0.0)))
    io = harness.start_node(_params(model))
    frame = face_temperature(centre=CENTRE, size=SIZE)
    for _ in range(3):
        msg, pose = io.roundtrip(frame, "32FC1", topic="head_pose")
    assert pose is not None and pose.header.frame_id == "thermal_optical" and pose.header.stamp == msg.header.stamp
    rot, t = _pose_of(pose)
    # Frontal face: head x (out of the face) towards the camera (-z optical), y (subject's left) = image
    # right (+x optical), z (up) = image up (-y optical).
    assert rot[2, 0] < -0.95 and rot[0, 1] > 0.95 and rot[1, 2] < -0.95, rot.round(2)
    assert t[2] > 0 and t[0] > 0  # in front of the camera, right of the image centre
    table = face_table.decode(io.result_for(msg, "faces"))
    np.testing.assert_allclose(table["position"][0], t, rtol=1e-5)
    # Seen straight on but right of the optical axis: turned to the subject's right by the ray's angle.
    f = 160 / np.tan(np.deg2rad(57) / 2)
    assert table["yaw_pitch_roll"][0][0] == pytest.approx(-np.degrees(np.arctan((CENTRE[0] - 160) / f)), abs=2.0)
    markers = io.result_for(msg, "markers")
    kinds = [m.type for m in markers.markers if m.action == Marker.ADD]
    assert kinds.count(Marker.ARROW) == 3 and kinds.count(Marker.SPHERE_LIST) == 1
    x_arrow = next(m for m in markers.markers if m.action == Marker.ADD and m.type == Marker.ARROW and m.color.r > 0.9)
    assert x_arrow.points[1].z < x_arrow.points[0].z  # the face's x axis points at the camera
    # camera_info with twice the focal length puts the same face twice as far away.
    f2 = 2 * 160 / np.tan(np.deg2rad(57) / 2)
    info = CameraInfo(width=320, height=256, k=[f2, 0.0, 160.0, 0.0, f2, 128.0, 0.0, 0.0, 1.0], d=[0.0] * 5,
                      distortion_model="plumb_bob")
    info.header.frame_id = "thermal_optical"
    io.info_pub.publish(info)
    time.sleep(0.3)
    for _ in range(2):
        msg, pose2 = io.roundtrip(frame, "32FC1", topic="head_pose")
    assert _pose_of(pose2)[1][2] == pytest.approx(2 * t[2], rel=0.05)


@pytest.mark.skipif(not HAS_MEAN_FACE, reason="no 3D mean face (thermal_fld_ros/data/mean_face_ibug70.json)")
def test_head_pose_yaw_sign(harness, tmp_path):
    model = str(make_fixed_landmark_model(tmp_path / "yaw.onnx", crop_points=mean_face_template(30.0)))
    # flip test off: this fixed-output model answers the turned face for the mirrored crop too, so averaging
    # it with its mirror would make the face frontal (a real network answers the mirrored face)
    io = harness.start_node(_params(model, flip_test=False))
    for _ in range(3):
        msg, pose = io.roundtrip(face_temperature(centre=(160.0, 128.0), size=SIZE), "32FC1", topic="head_pose")
    rot, t = _pose_of(pose)
    # Subject turned to their left: the nose (head x) swings to the image right (+x optical).
    assert rot[0, 0] > 0.3, rot.round(2)
    yaw = face_table.decode(io.result_for(msg, "faces"))["yaw_pitch_roll"][0][0]
    assert 20 < yaw < 40, yaw


def test_bad_input_keeps_node_alive_and_is_counted(harness, model):
    io = harness.start_node(_params(model, qos_reliability="reliable", qos_depth=2, max_frame_age_s=5.0))
    good = face_temperature(centre=CENTRE, size=SIZE)

    def alive():
        m, table = io.roundtrip(good, "32FC1")
        assert table is not None, "node stopped publishing after a bad frame"

    def send(publish, *args, **kw):
        """Publish one frame and wait until the node dealt with it (so no later frame replaces it)."""
        before = io.handled()
        publish(*args, **kw)
        io.settle(before)

    alive()
    for msg in (Image(height=4, width=4, encoding="yuv422", step=8, data=bytes(32)),
                Image(height=4, width=4, encoding="mono16", step=6, data=bytes(24)),  # step < width*2
                Image(height=4, width=4, encoding="mono8", step=4, data=bytes(15)),  # one byte short
                Image(height=0, width=0, encoding="mono8", step=0)):
        send(io.publish_raw, msg)
        alive()
    send(io.publish, np.full((64, 64), np.nan, np.float32), "32FC1")
    alive()
    send(io.publish, np.zeros((8000, 8000), np.uint8), "mono8")  # 8000x8000: refused (max_pixels)
    alive()
    send(io.publish, np.full((256, 320), 30000, np.uint16), "mono16")  # constant
    alive()
    send(io.publish, good + np.float32(273.15), "32FC1")  # kelvin on a celsius node: named, not "constant"
    alive()
    send(io.publish_raw, Image(height=1, width=40000, encoding="mono8", step=40000, data=bytes(40000)))  # side
    alive()
    partial = good.copy()
    partial[:10] = np.inf
    m, table = io.roundtrip(partial, "32FC1")  # some inf pixels: processed, counted
    assert table is not None and table.width == 1
    border = face_temperature(centre=(8.0, 120.0), size=SIZE)  # face cut by the left border
    m, table = io.roundtrip(border, "32FC1")
    assert table is not None and table.width <= 1
    # Out of order: a stamp before the last processed one is dropped; a 30 s old one is stale.
    last = io.out["faces"].msgs[-1].header.stamp
    send(io.publish, good, "32FC1", stamp=Time(seconds=_stamp_s(last) - 0.05).to_msg())
    send(io.publish, good, "32FC1", stamp=Time(seconds=_stamp_s(last) - 30.0).to_msg())
    alive()

    def counters(d):
        if not d.status or io.node.get_fully_qualified_name() not in d.status[0].name:
            return False
        v = {kv.key: kv.value for kv in d.status[0].values}
        return int(v.get("dropped_out_of_order", 0)) >= 1 and int(v.get("dropped_stale", 0)) >= 1 \
            and int(v.get("bad_constant", 0)) >= 1 and int(v.get("bad_too_large", 0)) >= 1

    diag = harness.diagnostics.wait_for(counters, timeout=5.0)
    assert diag is not None, ("diagnostics never reported the bad frames", io.node.stats.snapshot(), dict(io.node.stats.bad))
    v = {kv.key: kv.value for kv in diag.status[0].values}
    assert int(v["bad_encoding"]) == 1 and int(v["bad_layout"]) == 2 and int(v["bad_empty"]) == 1
    assert int(v["bad_temperature_range"]) == 1 and int(v["bad_too_large"]) == 2 and "bad_internal" not in v
    assert int(v["bad_nonfinite"]) == 1  # all-NaN: refused
    assert int(v["note_some_nonfinite"]) >= 1  # partial inf: processed, with a note
    assert int(v["processed"]) >= 11
    for key in ("input_rate_hz", "processing_rate_hz", "latency_p50_ms", "latency_p95_ms", "model", "providers"):
        assert key in v
    assert "test-fixed-landmarks" in v["model"] and "CPUExecutionProvider" in v["providers"]
    assert float(v["latency_p50_ms"]) > 0


def test_newest_frame_wins_and_drops_are_counted(harness, model):
    io = harness.start_node(_params(model, qos_reliability="reliable", qos_depth=50))
    frames = [face_temperature(w=1024, h=1024, centre=(500, 500), size=(200, 250), seed=i) for i in range(3)]
    msgs = [array_to_image(frames[i % 3], "32FC1") for i in range(40)]
    for m in msgs:
        m.header.frame_id = "thermal_optical"
    sent = [io.publish_raw(m) for m in msgs]  # as fast as possible: faster than the node can process
    last = io.result_for(sent[-1], timeout=10.0)
    assert last is not None, "the newest frame of a burst was not processed"
    time.sleep(0.3)
    s = io.node.stats.snapshot()
    assert s["received"] == 40 and s["dropped_stale"] >= 1, s  # the worker skipped frames, never queued
    assert s["processed"] + s["dropped_stale"] == 40, s  # every frame is either processed or counted
    assert len(io.out["faces"].msgs) == s["processed"]


def test_debug_image_only_when_enabled(harness, model):
    pytest.importorskip("thermal_fld_ros.draw")
    io = harness.start_node(_params(model, publish_debug_image=True))
    msg, dbg = io.roundtrip(face_temperature(centre=CENTRE, size=SIZE), "32FC1", topic="debug_image")
    assert dbg is not None and dbg.encoding == "bgr8" and (dbg.width, dbg.height) == (320, 256)
    assert dbg.header.frame_id == "thermal_optical"
    img = image_to_array(dbg)
    assert (img[:, :, 0] != img[:, :, 1]).sum() > 50  # coloured landmarks/boxes over the grey frame
    off = harness.start_node(_params(model))
    assert off.node.pub_debug is None


@pytest.mark.skipif(not (REAL / "faiyaz106_thermal54").is_dir(), reason="real thermal samples absent")
def test_real_radiometric_frames(harness, model):
    root = REAL / "faiyaz106_thermal54" / "dataset"
    boxes = json.loads((root / "bounding_box.json").read_text())
    io = harness.start_node(_params(model))
    for name in ("1_11178", "1_11732"):
        temp_c = (np.load(root / "arrays" / f"{name}.npy").astype(np.float32) - 32.0) * 5.0 / 9.0  # °F -> °C
        msg, table = io.roundtrip(temp_c, "32FC1")
        rows = face_table.decode(table)
        assert (table.header.frame_id, len(rows) >= 1) == ("thermal_optical", True)
        gt = next(v["regions"][0]["shape_attributes"] for k, v in boxes.items() if k.startswith(name))
        cx, cy = rows["u"][0].mean(), rows["v"][0].mean()
        assert gt["x"] <= cx <= gt["x"] + gt["width"] and gt["y"] <= cy <= gt["y"] + gt["height"]


@pytest.mark.skipif(not (REAL / "chips_thermal_face").is_dir(), reason="real thermal samples absent")
def test_real_false_colour_frames(harness, model):
    import cv2

    files = sorted((REAL / "chips_thermal_face" / "images").glob("*.jpeg"))[::60][:5]
    io = harness.start_node(_params(model))
    for f in files:
        bgr = cv2.imread(str(f))
        msg, table = io.roundtrip(bgr, "bgr8")
        assert table is not None and table.header.stamp == msg.header.stamp
        rows = face_table.decode(table)
        assert len(rows) <= 3 and np.isfinite(rows["u"]).all()


@pytest.mark.skipif(not (REAL / "tfw_samples_unannotated").is_dir(), reason="real thermal samples absent")
def test_real_grey_frames_as_mono8(harness, model):
    import cv2

    io = harness.start_node(_params(model))
    for f in sorted((REAL / "tfw_samples_unannotated").rglob("*.png")):
        grey = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)  # TFW: 464x348 grey palette stored as 3 channels
        msg, table = io.roundtrip(grey, "mono8")
        assert table is not None and table.header.stamp == msg.header.stamp
        rows = face_table.decode(table)
        assert len(rows) <= 3 and np.isfinite(rows["u"]).all() and (rows["score"] >= 0.25).all()


def _wait_for_info(io, published: int, timeout: float = 3.0) -> None:
    """camera_info is applied with the next frame; give the subscription time to take it."""
    deadline = time.monotonic() + timeout
    while io.node.stats.notes.get("camera_info_invalid", 0) < published and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.skipif(not HAS_MEAN_FACE, reason="no 3D mean face (thermal_fld_ros/data/mean_face_ibug70.json)")
def test_bad_camera_info_never_gives_a_nan_or_absurd_pose(harness, tmp_path):
    model = str(make_fixed_landmark_model(tmp_path / "frontal.onnx", crop_points=mean_face_template(0.0)))
    io = harness.start_node(_params(model))
    frame = face_temperature(centre=CENTRE, size=SIZE)
    for _ in range(3):
        msg, pose = io.roundtrip(frame, "32FC1", topic="head_pose")
    z_approx = _pose_of(pose)[1][2]  # approximated intrinsics (57 deg)
    f = 160 / np.tan(np.deg2rad(57) / 2)
    k = [f, 0.0, 160.0, 0.0, f, 128.0, 0.0, 0.0, 1.0]
    refused = [CameraInfo(width=320, height=256, k=k, d=[np.nan, 0, 0, 0, 0]),  # NaN distortion
               CameraInfo(width=320, height=256, k=[0.0] * 9, d=[]),  # an uncalibrated driver's zero K
               CameraInfo(width=320, height=256, k=k, d=[0.1, 0.0, 0.0])]  # unsupported D length
    for n, info in enumerate(refused, 1):  # refused at once, one line each: the approximation stays
        io.info_pub.publish(info)
        _wait_for_info(io, n)
        msg, pose = io.roundtrip(frame, "32FC1", topic="head_pose")
        assert pose is not None, f"head_pose stopped after camera_info {n}"
        assert np.isfinite(_pose_of(pose)[1]).all() and _pose_of(pose)[1][2] == pytest.approx(z_approx, rel=0.05)
    assert io.node.stats.notes["camera_info_invalid"] == 3
    # size-dependent problems: fx=1e-300, fx=1e300, D=1e6 are ignored for this image size; approximation stays
    for info in (CameraInfo(width=320, height=256, k=[v * 1e-300 if v == f else v for v in k], d=[]),
                 CameraInfo(width=320, height=256, k=[v * 1e300 if v == f else v for v in k], d=[]),
                 CameraInfo(width=320, height=256, k=k, d=[1e6, 0, 0, 0, 0])):
        io.info_pub.publish(info)
        time.sleep(0.3)
        for _ in range(2):
            msg, pose = io.roundtrip(frame, "32FC1", topic="head_pose")
        assert pose is not None and _pose_of(pose)[1][2] == pytest.approx(z_approx, rel=0.05)
        assert io.node.pipeline.intrinsics_source == "approximated (camera_info ignored)"
    # a calibration for 1280x1024 on this 320x256 stream: scaled (4x), so the distance is right
    big = CameraInfo(width=1280, height=1024, k=[4 * f, 0.0, 640.0, 0.0, 4 * f, 512.0, 0.0, 0.0, 1.0], d=[0.0] * 5)
    io.info_pub.publish(big)
    time.sleep(0.3)
    for _ in range(2):
        msg, pose = io.roundtrip(frame, "32FC1", topic="head_pose")
    assert _pose_of(pose)[1][2] == pytest.approx(z_approx, rel=0.05)
    assert io.node.pipeline.intrinsics_source == "camera_info (scaled)"
    table = face_table.decode(io.result_for(msg, "faces"))
    assert np.isfinite(table["position"]).all() and np.isfinite(table["yaw_pitch_roll"]).all()


def test_runtime_parameter_refusals_name_the_parameter_and_type(harness, model):
    from rclpy.parameter import Parameter

    io = harness.start_node(_params(model))
    node = io.node
    wrong_type = node.set_parameters([Parameter("max_faces", value="three")])[0]
    assert not wrong_type.successful and "max_faces" in wrong_type.reason and "an integer" in wrong_type.reason
    unknown = node.set_parameters([Parameter("max_facez", value=5)])[0]
    assert not unknown.successful and "no parameter 'max_facez' (did you mean max_faces?)" in unknown.reason
    same_type = node.set_parameters([Parameter("max_faces", value=2)])[0]
    assert not same_type.successful and "max_faces" in same_type.reason and "start-up" in same_type.reason
    bad_choice = node.set_parameters([Parameter("palette", value="foo")])[0]
    assert not bad_choice.successful and "palette='foo' is not one of" in bad_choice.reason
    assert node.set_parameters([Parameter("use_sim_time", value=False)])[0].successful  # rclpy's own (#9)
