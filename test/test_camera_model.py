"""Calibration checks (camera_info / calibration YAML) and the one intrinsics approximation."""
import numpy as np
import pytest

from thermal_fld_ros.camera_model import (
    Calibration,
    CameraInfoError,
    approximate_intrinsics,
    intrinsics_for,
    load_calibration,
)

K320 = [[400.0, 0, 160], [0, 400.0, 128], [0, 0, 1]]


def test_approximate_intrinsics():
    k = approximate_intrinsics(160, 120)
    assert k[0, 2] == 80 and k[1, 2] == 60 and k[0, 0] == k[1, 1]
    # 57 degrees horizontal field of view (FLIR Lepton 3.x)
    assert np.degrees(2 * np.arctan(80 / k[0, 0])) == pytest.approx(57.0)


@pytest.mark.parametrize("k,d,needle", [
    (K320, [np.nan, 0, 0, 0, 0], "D is not finite"),
    ([[np.inf, 0, 160], [0, 400, 128], [0, 0, 1]], [], "K is not finite"),
    (K320, [0.1, 0.0, 0.0], "D has 3 coefficients"),
    (np.zeros((3, 3)), [], "not a camera matrix"),  # an uncalibrated driver's all-zero K
    ([1, 2, 3], [], "K has 3 values"),
])
def test_calibration_refusals(k, d, needle):
    with pytest.raises(CameraInfoError, match=needle):
        Calibration.checked(k, d, 320, 256)


@pytest.mark.parametrize("fx,needle", [(1e-300, "fx = 1e-300"), (1e300, "fx = 1e\\+300"), (5.0, "implausible")])
def test_implausible_focal_lengths(fx, needle):
    cal = Calibration.checked([[fx, 0, 160], [0, fx, 128], [0, 0, 1]], [], 320, 256)
    with pytest.raises(CameraInfoError, match=needle):
        intrinsics_for(cal, 320, 256)


def test_absurd_distortion_is_refused_and_a_real_one_kept():
    with pytest.raises(CameraInfoError, match="distortion"):
        intrinsics_for(Calibration.checked(K320, [1e6, 0, 0, 0, 0], 320, 256), 320, 256)
    k, d, note = intrinsics_for(Calibration.checked(K320, [-0.3, 0.1, 0.001, 0.0, 0.0], 320, 256), 320, 256)
    assert d is not None and note == "" and np.allclose(k, K320)
    assert intrinsics_for(Calibration.checked(K320, [0.0] * 5, 320, 256), 320, 256)[1] is None  # zeros: none


def test_other_resolution_scaled_other_aspect_ignored():
    cal = Calibration.checked([[1600.0, 0, 640], [0, 1600.0, 512], [0, 0, 1]], [], 1280, 1024)
    k, _, note = intrinsics_for(cal, 320, 256)
    np.testing.assert_allclose(k, K320)
    assert "1280x1024" in note and "scaled by 0.25" in note
    with pytest.raises(CameraInfoError, match="aspect ratio"):
        intrinsics_for(cal, 320, 240)
    same = Calibration.checked(K320, [], 0, 0)  # size not stated: taken to be the image's
    assert intrinsics_for(same, 320, 256)[2] == ""


def test_load_calibration_errors_are_one_line(tmp_path):
    p = tmp_path / "cam.yaml"
    p.write_text("image_width: 320\nimage_height: 256\ncamera_matrix: {data: [400, 0, 160, 0, 400, 128, 0, 0, 1]}\n"
                 "distortion_coefficients: {data: [0, 0, 0, 0, 0]}\n")
    cal = load_calibration(str(p))
    assert (cal.width, cal.height) == (320, 256) and len(cal.D) == 5
    p.write_text("image_width: [320\n")
    with pytest.raises(CameraInfoError, match="not valid YAML"):
        load_calibration(str(p))
    p.write_text("image_width: 320\n")
    with pytest.raises(CameraInfoError, match="camera_matrix"):
        load_calibration(str(p))
    with pytest.raises(CameraInfoError, match="cannot read"):
        load_calibration(str(tmp_path / "missing.yaml"))
