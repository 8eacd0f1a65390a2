"""Flip test in the real onnxruntime: every crop also runs mirrored, its points mapped back and averaged."""
import numpy as np
import pytest
from model_factory import frontal_template, make_fixed_landmark_model
from synthetic_frames import thermal_frame

from thermal_fld_ros.config import PipelineConfig, default_model_path
from thermal_fld_ros.crop import crop_matrix, warp
from thermal_fld_ros.landmark_model import LandmarkModel
from thermal_fld_ros.normalise import normalise
from thermal_fld_ros.schemes import IBUG70


def test_mirrored_points_are_mapped_back_and_averaged(tmp_path):
    # A fixed-output model answers the same points for the mirrored crop; what the flip test makes of them
    # is computed here by hand: left/right swapped by the scheme's pairs, x -> W - 1 - x, then the mean.
    rng = np.random.default_rng(3)
    pts = (frontal_template() + rng.uniform(-6, 6, (70, 2))).astype(np.float32)
    path = make_fixed_landmark_model(tmp_path / "m.onnx", crop_points=pts, presence=(5.0, 0.0))
    plain, flip = LandmarkModel(path), LandmarkModel(path, flip_test=True)
    crops = rng.uniform(0, 1, (3, 96, 96)).astype(np.float32)
    a, b = plain.run(crops), flip.run(crops)
    perm = IBUG70.flip_permutation()
    back = a.points[:, perm].copy()
    back[..., 0] = 95 - back[..., 0]
    np.testing.assert_allclose(b.points, (a.points + back) / 2, atol=1e-4)
    np.testing.assert_allclose(b.scores, (a.scores + a.scores[:, perm]) / 2, atol=1e-6)
    mirrored = plain.run(np.ascontiguousarray(crops[:, :, ::-1])).presence  # P(face) of the mirrored crops
    np.testing.assert_allclose(b.presence, (a.presence + mirrored) / 2, atol=1e-6)
    assert b.points.shape == (3, 70, 2) and b.presence.shape == (3,)


def test_the_bundled_model_with_flip_test_is_mirror_equivariant():
    # f(mirrored crop) = mirror(f(crop)) holds exactly for the flip test (up to float error) whatever the
    # network, only if the mirror convention and the pairs are right; the network alone is not equivariant.
    path = default_model_path()
    frame = normalise(thermal_frame(faces=[(160, 110, 30, 12)], seed=4), "temperature",
                      PipelineConfig().frame_config().normalise_config())
    size = LandmarkModel(path).input_size
    crop = warp(frame, crop_matrix(np.array([128.0, 75.0, 192.0, 150.0]), size), size)[None]
    mirrored = np.ascontiguousarray(crop[:, :, ::-1])
    perm, w = IBUG70.flip_permutation(), size[0]

    def mirror(p):
        q = p[:, perm].copy()
        q[..., 0] = w - 1 - q[..., 0]
        return q

    for flip_test, bound in ((True, 1e-3), (False, None)):
        model = LandmarkModel(path, flip_test=flip_test)
        gap = float(np.abs(model.run(mirrored).points - mirror(model.run(crop).points)).max())
        if bound is not None:
            assert gap < bound, gap
        else:
            assert gap > 0.05, gap  # the network alone: the flip test is what makes it exact


@pytest.mark.parametrize("flip_test", [False, True])
def test_the_pipeline_switch_reaches_the_model(flip_test):
    from thermal_fld_ros.pipeline import Pipeline

    assert PipelineConfig().flip_test is True
    assert Pipeline(PipelineConfig(flip_test=flip_test)).model.flip_test is flip_test
