"""The learned face detector (CentreFace ONNX) in onnxruntime: the bundled model, its metadata, bad files."""
import numpy as np
import pytest
from model_factory import make_fixed_landmark_model
from synthetic_frames import thermal_frame

from thermal_fld_ros.centreface import DEFAULT_DETECTOR_MODEL, CentreFaceDetector, DetectorModelError
from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.detector import detector_from_config, make_detector
from thermal_fld_ros.landmark_model import ModelError
from thermal_fld_ros.model_meta import read_onnx_metadata


def test_bundled_detector_metadata_names_its_data_and_terms():
    meta = read_onnx_metadata(DEFAULT_DETECTOR_MODEL)
    assert meta["task"] == "face_detection" and meta["trained"] is True
    assert "synthetic" in meta["training_data"] and "licence" in meta["data_terms"]
    assert DEFAULT_DETECTOR_MODEL.stat().st_size < 500_000


@pytest.mark.parametrize("shape", [(120, 160), (512, 640), (97, 203)])
def test_detects_on_any_frame_size_with_boxes_inside_the_frame(shape):
    det = make_detector("centreface", 8, 1)
    rng = np.random.default_rng(0)
    frame = rng.random(shape).astype(np.float32)
    dets = det.detect(frame, 5)
    assert len(dets) <= 5
    for d in dets:
        assert 0 <= d.box[0] < d.box[2] <= shape[1] and 0 <= d.box[1] < d.box[3] <= shape[0]
        assert 0.0 <= d.score <= 1.0
    assert [d.score for d in dets] == sorted((d.score for d in dets), reverse=True)


def test_long_side_is_the_input_size():
    det = CentreFaceDetector(long_side=160)
    assert det.long_side == 160 and CentreFaceDetector().long_side == 320


def test_missing_truncated_or_wrong_models_name_the_path(tmp_path):
    with pytest.raises(DetectorModelError, match="not found: .*nope.onnx"):
        CentreFaceDetector(tmp_path / "nope.onnx")
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(DEFAULT_DETECTOR_MODEL.read_bytes()[:5000])
    with pytest.raises(DetectorModelError, match="cut.onnx"):
        CentreFaceDetector(cut)
    landmarks = make_fixed_landmark_model(tmp_path / "lm.onnx")  # a landmark model is no detector
    with pytest.raises(DetectorModelError, match="face_detection"):
        CentreFaceDetector(landmarks)
    assert issubclass(DetectorModelError, ModelError)  # the node stops at start-up on either


def test_config_selects_the_detector_and_refuses_unknown_names():
    assert PipelineConfig.from_dict({"detector": "centreface"}).detector == "centreface"
    assert PipelineConfig.from_dict({"detector": "thermal_blob"}).detector == "thermal_blob"
    with pytest.raises(ValueError, match="detector must be one of"):
        PipelineConfig.from_dict({"detector": "yolo"})


def test_pipeline_runs_with_the_learned_detector(tmp_path):
    from thermal_fld_ros.pipeline import Pipeline

    model = make_fixed_landmark_model(tmp_path / "fixed.onnx")
    pipe = Pipeline(PipelineConfig.from_dict({"model_path": str(model), "detector": "centreface"}))
    r = pipe.process_array(thermal_frame(seed=1), "32FC1", 0.0)
    assert r.detector_ran


def test_mirrored_maps_merge_back_onto_the_direct_cells():
    rng = np.random.default_rng(3)
    heat = rng.random((1, 6, 10)).astype(np.float32)
    box = rng.random((4, 6, 10)).astype(np.float32)
    mirrored_box = box[:, :, ::-1].copy()
    mirrored_box[0] = 1.0 - mirrored_box[0]  # x offset from the mirrored cell's left edge
    h, b = CentreFaceDetector._merge_mirrored(np.stack([heat[0], heat[0, :, ::-1]]),
                                              np.stack([box, mirrored_box]), 10)
    np.testing.assert_allclose(h, heat[0], atol=1e-6)
    np.testing.assert_allclose(b, box, atol=1e-6)
    # a width short of the map (padding cells on the right): the padding keeps the direct values
    h, b = CentreFaceDetector._merge_mirrored(np.stack([heat[0], np.zeros_like(heat[0])]),
                                              np.stack([box, np.zeros_like(box)]), 7)
    np.testing.assert_allclose(h[:, :7], heat[0, :, :7] / 2, atol=1e-6)
    np.testing.assert_allclose(h[:, 7:], heat[0, :, 7:], atol=1e-6)


@pytest.mark.parametrize("shape", [(120, 160), (203, 97)])
def test_flip_test_detections_of_a_mirrored_frame_are_mirrored(shape):
    """Averaging a frame with its mirror is symmetric: the mirrored frame gives the mirrored boxes."""
    det = make_detector("centreface", 8, 1, model_path="detector_chips", flip_test=True)
    assert det.flip_test and not make_detector("centreface", 8, 1).flip_test
    assert detector_from_config(PipelineConfig(detector_flip_test=True)).primary.flip_test  # the cascade's CNN
    h, w = shape
    frame = thermal_frame(w, h, faces=((0.4 * w, 0.4 * h, 0.12 * max(h, w), 0),), seed=2)
    frame01 = ((frame - frame.min()) / (frame.max() - frame.min())).astype(np.float32)
    exact = w == 160  # 97 px wide -> 153 px input: its 3 px short of whole cells sit off the mirror axis
    direct, mirrored = det.detect(frame01, 3), det.detect(frame01[:, ::-1].copy(), 3)
    assert direct and mirrored
    if not exact:  # low-score boxes may swap places: compare the face (the best one)
        direct, mirrored = direct[:1], mirrored[:1]
    for d, m in zip(direct, mirrored):
        back = np.array([shape[1] - m.box[2], m.box[1], shape[1] - m.box[0], m.box[3]])
        np.testing.assert_allclose(back, d.box, atol=1e-3 if exact else 4.0)  # 4 px: 0.6 of a cell
        assert abs(d.score - m.score) < (1e-5 if exact else 0.05)
