"""Message-level pieces of the ROS edge, without a running node: image conversion (numpy path),
the face table, quaternions and markers."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy")

from geometry_msgs.msg import Point32  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from thermal_fld_ros.camera_model import approximate_intrinsics  # noqa: E402
from thermal_fld_ros.ingest import FrameError  # noqa: E402
from thermal_fld_ros.ros import face_messages, face_table  # noqa: E402
from thermal_fld_ros.ros.image_conversion import array_to_image, image_to_array  # noqa: E402
from thermal_fld_ros.ros.rotation import matrix_from_quaternion, quaternion_xyzw  # noqa: E402
from thermal_fld_ros.types import Face, HeadPose  # noqa: E402

RNG = np.random.default_rng(7)
SAMPLES = {
    "mono8": RNG.integers(0, 256, (5, 7), dtype=np.uint8),
    "8UC1": RNG.integers(0, 256, (5, 7), dtype=np.uint8),
    "mono16": RNG.integers(0, 65536, (5, 7), dtype=np.uint16),
    "16UC1": RNG.integers(0, 65536, (5, 7), dtype=np.uint16),
    "32FC1": RNG.normal(30, 5, (5, 7)).astype(np.float32),
    "bgr8": RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8),
    "rgb8": RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8),
}


@pytest.mark.parametrize("encoding", sorted(SAMPLES))
@pytest.mark.parametrize("padding,big_endian", [(0, False), (3, False), (0, True), (5, True)])
def test_image_round_trip(encoding, padding, big_endian):
    arr = SAMPLES[encoding]
    msg = array_to_image(arr, encoding, step_padding=padding, big_endian=big_endian)
    assert msg.step == arr[0].nbytes + padding
    back = image_to_array(msg, use_bridge=False)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_big_endian_bytes_are_swapped_on_the_wire():
    msg = array_to_image(np.array([[1]], np.uint16), "mono16", big_endian=True)
    assert bytes(msg.data) == b"\x00\x01"
    assert image_to_array(msg, use_bridge=False)[0, 0] == 1


@pytest.mark.parametrize("mutate,match", [
    (lambda m: setattr(m, "encoding", "yuv422"), "unsupported encoding"),
    (lambda m: setattr(m, "step", 3), "step 3 <"),
    (lambda m: setattr(m, "data", m.data[:-1]), "expected step\\*height"),
    (lambda m: setattr(m, "height", 0), "empty frame"),
])
def test_bad_image_layouts_raise_clear_errors(mutate, match):
    msg = array_to_image(SAMPLES["mono16"], "mono16")
    mutate(msg)
    with pytest.raises(FrameError, match=match):
        image_to_array(msg, use_bridge=False)


def test_huge_frame_refused_before_copy():
    msg = array_to_image(np.zeros((4, 4), np.uint8), "mono8")
    msg.height = msg.width = 8000  # header claims 8000x8000; rejected on size first
    with pytest.raises(FrameError, match="too large"):
        image_to_array(msg, max_pixels=4096 * 4096, use_bridge=False)


def _face(track_id, n=70, pose=True):
    lm = RNG.uniform(10, 100, (n, 2))
    hp = None
    if pose:
        a = np.deg2rad(20)
        rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        hp = HeadPose(rotation=rot, translation=np.array([0.1, -0.05, 0.8]), yaw_pitch_roll_deg=(20.0, -5.0, 3.0))
    return Face(track_id=track_id, box=np.array([1, 2, 30, 40.0]), landmarks=lm, scores=RNG.uniform(0, 1, n),
                score=0.9, pose=hp)


def test_face_table_round_trip_with_and_without_pose():
    faces = [_face(3), _face(11, pose=False)]
    header = Header(frame_id="cam_optical")
    msg = face_table.encode(faces, header, 70)
    assert (msg.height, msg.width, msg.header.frame_id) == (1, 2, "cam_optical")
    assert {f.name: f.count for f in msg.fields}["u"] == 70
    rows = face_table.decode(msg)
    assert rows["track_id"].tolist() == [3, 11]
    np.testing.assert_allclose(rows["u"][0], faces[0].landmarks[:, 0], atol=1e-4)
    np.testing.assert_allclose(rows["v"][1], faces[1].landmarks[:, 1], atol=1e-4)
    np.testing.assert_allclose(rows["point_score"][1], faces[1].scores, atol=1e-6)
    np.testing.assert_allclose(rows["box"][0], [1, 2, 30, 40])
    np.testing.assert_allclose(rows["position"][0], [0.1, -0.05, 0.8], atol=1e-6)
    np.testing.assert_allclose(matrix_from_quaternion(rows["orientation"][0]), faces[0].pose.rotation, atol=1e-6)
    assert np.isnan(rows["position"][1]).all() and np.isnan(rows["yaw_pitch_roll"][1]).all()
    # The documented dtype reads the same bytes (the README's consumer example).
    same = np.frombuffer(msg.data, face_table.table_dtype(70))
    np.testing.assert_array_equal(same["u"], rows["u"])
    assert face_table.decode(face_table.encode([], header, 70)).shape == (0,)


def test_face_table_rejects_wrong_point_count():
    with pytest.raises(ValueError, match="landmarks"):
        face_table.encode([_face(1, n=5)], Header(), 70)


@pytest.mark.parametrize("axis,angle", [(0, 0.3), (1, -2.0), (2, 3.1), (0, np.pi)])
def test_quaternion_round_trip(axis, angle):
    rot = cv2.Rodrigues(np.eye(3)[axis] * angle)[0]
    q = quaternion_xyzw(rot)
    assert q[3] >= 0 and abs(np.linalg.norm(q) - 1) < 1e-9
    np.testing.assert_allclose(matrix_from_quaternion(q), rot, atol=1e-9)


def test_polygon_and_markers():
    face = _face(4)
    header = Header(frame_id="cam")
    poly = face_messages.landmarks_polygon(header, face)
    assert len(poly.polygon.points) == 70 and isinstance(poly.polygon.points[0], Point32)
    assert poly.polygon.points[5].z == pytest.approx(face.scores[5], abs=1e-6)
    assert face_messages.landmarks_polygon(header, None).polygon.points == []
    k = approximate_intrinsics(160, 120, 57.0)
    arr = face_messages.markers(header, [face, _face(5, pose=False)], k, lifetime_s=0.5)
    assert arr.markers[0].action == Marker.DELETEALL
    types = [m.type for m in arr.markers[1:]]
    assert types == [Marker.SPHERE_LIST, Marker.ARROW, Marker.ARROW, Marker.ARROW, Marker.TEXT_VIEW_FACING]
    pts = np.array([[p.x, p.y, p.z] for p in arr.markers[1].points])
    assert np.allclose(pts[:, 2], 0.8)  # at the head depth
    # Re-projecting the 3D points gives the pixels back.
    uv = pts[:, :2] / pts[:, 2:] * [k[0, 0], k[1, 1]] + [k[0, 2], k[1, 2]]
    np.testing.assert_allclose(uv, face.landmarks, atol=1e-6)
    x_arrow = arr.markers[2]
    assert x_arrow.lifetime.nanosec == 500_000_000
    d = np.array([x_arrow.points[1].x - x_arrow.points[0].x, x_arrow.points[1].y - x_arrow.points[0].y])
    np.testing.assert_allclose(d / np.linalg.norm(d), face.pose.rotation[:2, 0] / np.linalg.norm(face.pose.rotation[:2, 0]))
