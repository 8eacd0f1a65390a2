"""Per-face TF frames (REP-155) and the ROS4HRI output, as message builders and over real DDS, plus the
sim-time watchdog. tf2_msgs/hri_msgs come from scripts/build_interfaces.sh (run by setup_env.sh) when
the distro's packages are absent."""
from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from model_factory import make_fixed_landmark_model  # noqa: E402
from ros_harness import Collector, Harness, face_temperature, mean_face_template  # noqa: E402

from thermal_fld_ros.ros.face_ids import face_frame, face_id  # noqa: E402
from thermal_fld_ros.ros.rotation import matrix_from_quaternion  # noqa: E402
from thermal_fld_ros.ros.tf_frames import face_transforms  # noqa: E402
from thermal_fld_ros.types import Face, HeadPose  # noqa: E402

# The official tf2_msgs/msg/TFMessage type hash (as `ros2 topic info -v /tf` shows on Jazzy and later).
TF_MESSAGE_HASH = "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087"
NEEDS_TF = "tf2_msgs not importable: run scripts/setup_env.sh (builds it) or install ros-<distro>-tf2-msgs"
NEEDS_HRI = "hri_msgs not importable: run scripts/setup_env.sh (builds it) or install ros-<distro>-hri-msgs"


def _importable(name: str) -> bool:
    try:
        __import__(name + ".msg")
    except ImportError:
        return False
    return True


HAS_TF, HAS_HRI = _importable("tf2_msgs"), _importable("hri_msgs")


def _face(track_id=3, pose=True) -> Face:
    rot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])  # frontal: x to the camera
    lm = np.stack([np.linspace(100, 160, 70), np.linspace(80, 150, 70)], 1)
    return Face(track_id=track_id, box=np.array([90.0, 70.0, 170.0, 160.0]), landmarks=lm,
                scores=np.linspace(0.2, 0.9, 70), score=0.8,
                pose=HeadPose(rot, np.array([0.1, -0.05, 0.6]), (0.0, 0.0, 0.0)) if pose else None)


def test_face_ids_are_valid_ros_names_and_frames_match():
    from rclpy.validate_full_topic_name import validate_full_topic_name

    for tid in (0, 7, 123456):
        assert validate_full_topic_name(f"/humans/faces/{face_id(tid)}/roi")
        assert face_frame(tid) == "face_" + face_id(tid)


def test_face_transforms_rep155():
    from std_msgs.msg import Header

    header = Header(frame_id="cam_optical")
    header.stamp.sec = 12
    out = face_transforms(header, [_face(3), _face(4, pose=False)])
    assert len(out) == 1  # a face without pose has no frame
    (t,) = out
    assert t.header.frame_id == "cam_optical" and t.header.stamp.sec == 12 and t.child_frame_id == "face_f3"
    assert (t.transform.translation.x, t.transform.translation.y, t.transform.translation.z) == (0.1, -0.05, 0.6)
    r = t.transform.rotation
    np.testing.assert_allclose(matrix_from_quaternion([r.x, r.y, r.z, r.w]), _face().pose.rotation, atol=1e-9)


@pytest.mark.skipif(not HAS_HRI, reason=NEEDS_HRI)
def test_hri_messages_are_normalised_and_clipped():
    from hri_msgs.msg import FacialLandmarks
    from std_msgs.msg import Header

    from thermal_fld_ros.ros.hri_output import landmarks_message, roi_message

    face = _face()
    face.box = np.array([-10.0, 64.0, 160.0, 300.0])  # cut by the left and bottom border
    roi = roi_message(Header(), face, 320, 256)
    assert (roi.xmin, roi.ymin, roi.xmax, roi.ymax) == pytest.approx((0.0, 0.25, 0.5, 1.0))
    assert roi.c == pytest.approx(0.8)
    lm = landmarks_message(Header(), face, 320, 256)
    assert (lm.width, lm.height) == (320, 256) and len(lm.landmarks) == 70
    p = lm.landmarks[FacialLandmarks.LEFT_PUPIL]
    assert (p.x, p.y, p.c) == pytest.approx((160 / 320, 150 / 256, 0.9), abs=1e-6)
    assert FacialLandmarks.NOSE == 30 and FacialLandmarks.RIGHT_PUPIL == 68  # our ibug70 order


@pytest.fixture(scope="module")
def harness():
    h = Harness()
    yield h
    h.close()


@pytest.mark.skipif(not (HAS_TF and HAS_HRI), reason=NEEDS_TF + "; " + NEEDS_HRI)
def test_tf_frames_and_ros4hri_topics_over_dds(harness, tmp_path):
    from hri_msgs.msg import FacialLandmarks, IdsList, NormalizedRegionOfInterest2D
    from tf2_msgs.msg import TFMessage

    model = str(make_fixed_landmark_model(tmp_path / "frontal.onnx", crop_points=mean_face_template(0.0)))
    io = harness.start_node({"model_path": model, "publish_hri": True, "log_throttle_s": 0.0})
    assert io.node.face_frames.backend in ("tf2_msgs/TFMessage on /tf", "tf2_ros.TransformBroadcaster")
    frame_id = f"optical_{uuid.uuid4().hex[:8]}"  # other processes on this host may publish on /tf too
    mine = Collector()
    tracked = Collector()
    harness.tester.create_subscription(
        TFMessage, "/tf", lambda m: [mine(t) for t in m.transforms if t.header.frame_id == frame_id], 100)
    harness.tester.create_subscription(
        IdsList, "/humans/faces/tracked", lambda m: tracked(m) if m.header.frame_id == frame_id else None, 50)
    rois, lms = Collector(), Collector()
    harness.tester.create_subscription(NormalizedRegionOfInterest2D, "/humans/faces/f1/roi", rois, 50)
    harness.tester.create_subscription(FacialLandmarks, "/humans/faces/f1/landmarks", lms, 50)
    time.sleep(0.5)
    frame = face_temperature(centre=(160.0, 128.0), size=(60.0, 76.0))
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline and not (mine.msgs and rois.msgs and lms.msgs):
        msg, pose = io.roundtrip(frame, "32FC1", topic="head_pose", frame_id=frame_id)
        time.sleep(0.1)
    assert pose is not None, "no head pose"
    t = mine.wait_for(lambda m: True, 2.0)
    assert t is not None, "no face_<id> transform on /tf"
    ids = tracked.wait_for(lambda m: len(m.ids) > 0, 2.0)
    assert ids is not None and t.child_frame_id == "face_" + ids.ids[0], (t.child_frame_id, ids)
    assert ids.ids == ["f1"]
    # The transform is the head pose: same origin, frontal face's x axis towards the camera (-z optical).
    p = pose.pose.position
    assert (t.transform.translation.x, t.transform.translation.y, t.transform.translation.z) == pytest.approx(
        (p.x, p.y, p.z), rel=1e-6) or mine.wait_for(lambda m: m.header.stamp == pose.header.stamp, 2.0)
    # What DDS carries is the official TFMessage type (same type hash as the distro's tf2_msgs).
    infos = [i for i in harness.tester.get_publishers_info_by_topic("/tf") if i.node_name == io.node.get_name()]
    assert infos and str(infos[0].topic_type_hash) == TF_MESSAGE_HASH, [str(i.topic_type_hash) for i in infos]
    r = t.transform.rotation
    assert matrix_from_quaternion([r.x, r.y, r.z, r.w])[2, 0] < -0.9
    roi = rois.wait_for(lambda m: True, 2.0)
    assert 0.0 <= roi.xmin < 0.5 < roi.xmax <= 1.0 and 0.0 <= roi.ymin < 0.5 < roi.ymax <= 1.0 and roi.c > 0
    lm = lms.wait_for(lambda m: True, 2.0)
    assert (lm.width, lm.height) == (320, 256) and len(lm.landmarks) == 70
    nose = lm.landmarks[FacialLandmarks.NOSE]
    assert roi.xmin < nose.x < roi.xmax and roi.ymin < nose.y < roi.ymax
    # A track that ends: its ids leave /humans/faces/tracked and its per-face publishers are destroyed.
    from std_msgs.msg import Header

    from thermal_fld_ros.ros.hri_output import HriFacePublisher

    hri = HriFacePublisher(harness.tester, "ibug70", 70)
    header = Header(frame_id=frame_id)
    hri.publish(header, [_face(5), _face(6)], 320, 256)
    assert hri.face_ids == ("f5", "f6")
    hri.publish(header, [_face(6)], 320, 256)
    assert hri.face_ids == ("f6",)
    assert tracked.wait_for(lambda m: m.ids == ["f6"], 5.0) is not None
    assert not [n for n, _ in harness.tester.get_publisher_names_and_types_by_node(
        harness.tester.get_name(), harness.tester.get_namespace()) if n.startswith("/humans/faces/f5/")]


def test_sim_time_without_clock_warns_and_diagnostics_continue(harness, tmp_path):
    from rosgraph_msgs.msg import Clock

    model = str(make_fixed_landmark_model(tmp_path / "m.onnx"))
    io = harness.start_node({"model_path": model, "use_sim_time": True, "diagnostics_period_s": 0.2})
    name = io.node.get_fully_qualified_name()
    n0 = len(harness.diagnostics.msgs)
    deadline = time.monotonic() + 8.0
    while io.node.sim_clock.warnings == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert io.node.sim_clock.warnings == 1 and not io.node.sim_clock.clock_seen
    mine = [m for m in harness.diagnostics.msgs[n0:] if any(s.name.startswith(name + ":") for s in m.status)]
    assert len(mine) >= 5, "diagnostics stopped under sim time without /clock"
    clock_pub = harness.tester.create_publisher(Clock, "/clock", 10)
    deadline = time.monotonic() + 5.0
    while not io.node.sim_clock.clock_seen and time.monotonic() < deadline:
        msg = Clock()
        msg.clock.sec = 100
        clock_pub.publish(msg)
        time.sleep(0.2)
    assert io.node.sim_clock.clock_seen
