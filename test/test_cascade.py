"""The default detector: the real detector_chips CNN in onnxruntime, and thermal_blob where it finds no face."""
from pathlib import Path

import numpy as np
import pytest
from synthetic_frames import thermal_frame

from thermal_fld_ros.cascade import CascadeDetector
from thermal_fld_ros.centreface import CHIPS_DETECTOR_MODEL, CentreFaceDetector
from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.detector import ThermalBlobDetector, make_detector
from thermal_fld_ros.frames import ThermalFrame
from thermal_fld_ros.normalise import KIND_TEMPERATURE
from thermal_fld_ros.pipeline import Pipeline, detector_frame

REAL54 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_thermal" / "faiyaz106_thermal54"


def _input(t_c: np.ndarray) -> np.ndarray:
    pipe = Pipeline(PipelineConfig(thermometry=False))
    frame01 = np.clip((t_c - 20.0) / 20.0, 0, 1).astype(np.float32)
    return detector_frame(t_c, KIND_TEMPERATURE, frame01, pipe._norm_cfg)


def test_the_fallback_answers_only_frames_where_the_cnn_finds_no_face():
    frame = _input(thermal_frame(faces=[(215, 110, 30, 0)], seed=1))
    cnn, blob = CentreFaceDetector(CHIPS_DETECTOR_MODEL), ThermalBlobDetector()
    best = max(d.score for d in cnn.detect(frame, 3))
    sure = CascadeDetector(cnn, blob, best - 0.05, 0.5)
    found = sure.detect(frame, 3)
    assert found and sure.fallback_frames == 0
    assert all(d.score >= best - 0.05 for d in found)  # its own threshold, applied by the cascade
    np.testing.assert_allclose(found[0].box, cnn.detect(frame, 3)[0].box)
    unsure = CascadeDetector(cnn, blob, best + 0.05, 0.5)
    found = unsure.detect(frame, 3)
    assert unsure.fallback_frames == 1
    assert [d.score for d in found] == [d.score for d in blob.detect(frame, 3) if d.score >= 0.5]
    assert not CascadeDetector(cnn, blob, best + 0.05, 0.999).detect(frame, 3)


def test_it_is_the_default_and_the_pipeline_keeps_its_thresholds():
    cfg = PipelineConfig()
    assert cfg.detector == "cascade"
    det = make_detector(cfg.detector, cfg.min_face_px, threshold=0.6, cnn_threshold=0.3)
    assert isinstance(det, CascadeDetector) and det.applies_thresholds
    assert (det.primary_threshold, det.fallback_threshold) == (0.3, 0.6)
    assert det.primary.path == CHIPS_DETECTOR_MODEL
    # cnn faces 0.3-0.5 are kept although detection_threshold is 0.5: the pipeline does not filter again
    pipe = Pipeline(PipelineConfig(cascade_cnn_threshold=0.3, thermometry=False))
    res = pipe.process(ThermalFrame(thermal_frame(faces=[(215, 110, 30, 0)], seed=1), KIND_TEMPERATURE, "32FC1"),
                       0.0)
    assert res.detector_ran and len(res.faces) >= 1


@pytest.mark.skipif(not REAL54.is_dir(), reason="real radiometric frames not present (../shared/data)")
def test_faces_of_another_camera_are_found_through_the_fallback():
    # The two real 640x512 radiometric frames: the Lepton-trained CNN scores the face under its threshold on
    # at least one of them (the width-24 model of 2026-12-05 finds the first itself), and thermal_blob finds
    # it there (why the default is a cascade, not the CNN alone).
    from training.data.loaders import load_dataset
    from training.data.records import load_thermal

    pipe = Pipeline(PipelineConfig(thermometry=False))
    fallback_used = 0
    for rec in load_dataset("sftl54", REAL54):
        data, kind = load_thermal(rec)
        pipe.reset()
        before = pipe.detector.fallback_frames
        res = pipe.process(ThermalFrame(data, kind, "32FC1"), 0.0)
        fallback_used += pipe.detector.fallback_frames > before
        assert res.faces, rec.image_path.name
        gt = rec.landmarks
        centre = (gt.min(0) + gt.max(0)) / 2
        box = res.primary.box
        assert box[0] < centre[0] < box[2] and box[1] < centre[1] < box[3]
    assert fallback_used >= 1, "the CNN alone found both faces of the other camera: is the cascade still needed?"
