"""The learned face detector (CentreFace ONNX) in onnxruntime: the bundled model, its metadata, bad files."""
import numpy as np
import pytest
from model_factory import make_fixed_landmark_model
from synthetic_frames import thermal_frame

from thermal_fld_ros.centreface import DEFAULT_DETECTOR_MODEL, CentreFaceDetector, DetectorModelError
from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.detector import make_detector
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
