"""Head pose: REP-103/155 axes, yaw/pitch/roll sign conventions and solvePnP round trips."""
import cv2
import numpy as np
import pytest

from thermal_fld_ros.camera_model import approximate_intrinsics
from thermal_fld_ros.pose import (
    estimate_pose,
    model_rotation,
    rotation_from_ypr,
    ypr_from_rotation,
)
from thermal_fld_ros.schemes import get_scheme

K = approximate_intrinsics(320, 256)
T = np.array([0.02, -0.01, 0.9])  # head 0.9 m in front of the camera


def face_3d():
    """The scheme's mean face (model frame: x subject's left, y down, z into the head)."""
    return get_scheme("ibug70").mean_face_3d()


def project(points3d, yaw, pitch, roll, t=T):
    rvec, _ = cv2.Rodrigues(model_rotation(rotation_from_ypr(yaw, pitch, roll)))
    uv, _ = cv2.projectPoints(points3d, rvec, t, K, None)
    return uv.reshape(-1, 2)


def test_frontal_axes_follow_rep103_in_the_optical_frame():
    pose = estimate_pose(project(face_3d(), 0, 0, 0), face_3d(), K)
    r = pose.rotation
    np.testing.assert_allclose(r[:, 0], [0, 0, -1], atol=0.02)  # x out of the face, towards the camera
    np.testing.assert_allclose(r[:, 1], [1, 0, 0], atol=0.02)  # y: subject's left = image right
    np.testing.assert_allclose(r[:, 2], [0, -1, 0], atol=0.02)  # z up = optical -y
    assert np.allclose(np.linalg.det(r), 1.0)
    np.testing.assert_allclose(pose.translation, T, atol=0.02)
    assert pose.reprojection_error_px < 0.05


def test_sign_conventions_match_what_the_image_shows():
    pts = face_3d()
    nose, r_eye, l_eye = 30, 36, 45  # nose tip, subject's right/left outer eye corners
    front = project(pts, 0, 0, 0)
    # Turning to their left moves the nose to the image right, and yaw is positive.
    left = project(pts, 30, 0, 0)
    assert left[nose, 0] - left[:, 0].mean() > front[nose, 0] - front[:, 0].mean() + 5
    assert estimate_pose(left, pts, K).yaw_pitch_roll_deg[0] == pytest.approx(30, abs=1)
    # Looking down moves the nose down relative to the eyes, and pitch is positive.
    down = project(pts, 0, 30, 0)
    assert (down[nose, 1] - down[[r_eye, l_eye], 1].mean()) > (front[nose, 1] - front[[r_eye, l_eye], 1].mean()) + 2
    assert estimate_pose(down, pts, K).yaw_pitch_roll_deg[1] == pytest.approx(30, abs=1)
    # Tilting towards the right shoulder: the subject's left eye (image right) rises; roll positive.
    tilt = project(pts, 0, 0, 15)
    assert tilt[l_eye, 1] < tilt[r_eye, 1] - 5
    assert estimate_pose(tilt, pts, K).yaw_pitch_roll_deg[2] == pytest.approx(15, abs=1)


@pytest.mark.parametrize("ypr", [(0, 0, 0), (35, -10, 5), (-50, 15, -20), (10, 30, 0), (-5, -25, 25)])
def test_round_trip(ypr):
    pts = face_3d()
    uv = project(pts, *ypr)
    uv += np.random.default_rng(1).normal(0, 0.3, uv.shape)  # sub-pixel landmark noise
    pose = estimate_pose(uv, pts, K)
    assert pose is not None
    np.testing.assert_allclose(pose.yaw_pitch_roll_deg, ypr, atol=2.5)
    np.testing.assert_allclose(ypr_from_rotation(rotation_from_ypr(*ypr)), ypr, atol=1e-9)


def test_own_synthetic_points_and_low_confidence_points():
    rng = np.random.default_rng(3)
    pts = np.c_[rng.uniform(-0.07, 0.07, 30), rng.uniform(-0.05, 0.12, 30), rng.uniform(-0.03, 0.06, 30)]
    uv = project(pts, -25, 10, -8)
    scores = np.ones(30)
    uv_bad = uv.copy()
    uv_bad[:5] += 40.0  # five garbage points, flagged by low confidence
    scores[:5] = 0.05
    pose = estimate_pose(uv_bad, pts, K, scores=scores, min_score=0.2)
    np.testing.assert_allclose(pose.yaw_pitch_roll_deg, (-25, 10, -8), atol=0.5)
    assert estimate_pose(uv[:4], pts[:4], K) is None  # too few points
    nan_uv = uv.copy()
    nan_uv[:] = np.nan
    assert estimate_pose(nan_uv, pts, K) is None


def test_previous_pose_seeds_the_solver_to_the_same_answer():
    pts = face_3d()
    first = estimate_pose(project(pts, 20, 5, -5), pts, K)
    nxt = project(pts, 24, 4, -3)
    seeded = estimate_pose(nxt, pts, K, previous=first)
    fresh = estimate_pose(nxt, pts, K)
    np.testing.assert_allclose(seeded.yaw_pitch_roll_deg, fresh.yaw_pitch_roll_deg, atol=0.05)
    np.testing.assert_allclose(seeded.yaw_pitch_roll_deg, (24, 4, -3), atol=0.5)


@pytest.mark.parametrize("k,d", [
    (np.array([[1e-300, 0, 160], [0, 1e-300, 128], [0, 0, 1]]), None),
    (np.array([[1e300, 0, 160], [0, 1e300, 128], [0, 0, 1]]), None),
    (K, np.array([1e6, 0, 0, 0, 0])),
    (K, np.array([np.nan, 0, 0, 0, 0])),
])
def test_absurd_intrinsics_give_no_pose_rather_than_nan_or_kilometres(k, d):
    """The last line of defence behind camera_model's checks: a pose is finite and near, or None."""
    pts = face_3d()
    pose = estimate_pose(project(pts, 10, 0, 0), pts, k, d)
    if pose is not None:
        assert np.isfinite(pose.rotation).all() and np.isfinite(pose.yaw_pitch_roll_deg).all()
        assert np.linalg.norm(pose.translation) <= 20.0
