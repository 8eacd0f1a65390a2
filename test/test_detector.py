"""Warm-head detector: synthetic faces found where they are; measured floor on real Lepton frames."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from synthetic_frames import thermal_frame

from thermal_fld_ros.detector import (
    FEATURE_NAMES,
    ThermalBlobDetector,
    box_iou,
    load_scorer,
    make_detector,
    nms,
)
from thermal_fld_ros.normalise import KIND_INTENSITY, normalise

ROOT = Path(__file__).resolve().parents[1]
CHIPS = ROOT / ".." / "shared" / "data" / "real_thermal" / "chips_thermal_face"


def frame01(temps):
    return normalise(temps, KIND_INTENSITY)


def centre(box):
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def test_fitted_scorer_is_shipped_and_matches_the_features():
    sc = load_scorer()
    assert sc and sc["feature_names"] == list(FEATURE_NAMES)
    assert np.asarray(sc["w1"]).shape[0] == len(FEATURE_NAMES)


@pytest.mark.parametrize("faces", [[(160, 110, 28, 0)], [(80, 100, 22, 0), (240, 120, 30, 0)],
                                   [(160, 120, 14, 0)], [(150, 110, 22, 15)], [(150, 110, 22, -20)]])
def test_synthetic_faces_found_at_their_place(faces):
    det = make_detector("thermal_blob")
    found = [d for d in det.detect(frame01(thermal_frame(faces=faces)), 5) if d.score >= 0.5]
    assert len(found) == len(faces), [(d.box.round(), d.score) for d in found]
    for cx, cy, hw, _ in faces:
        d = min(found, key=lambda d: np.hypot(*(centre(d.box) - (cx, cy))))
        assert np.hypot(*(centre(d.box) - (cx, cy))) < 0.6 * hw  # hair covers the top of the ellipse
        w, h = d.box[2] - d.box[0], d.box[3] - d.box[1]
        assert 1.0 * hw < w < 3.0 * hw and 1.0 * hw < h < 4.0 * hw


def test_nothing_in_a_faceless_frame_and_a_constant_frame():
    det = make_detector("thermal_blob")
    assert [d for d in det.detect(frame01(thermal_frame(faces=[])), 5) if d.score >= 0.5] == []
    assert det.detect(np.zeros((120, 160), np.float32), 5) == []
    assert det.detect(np.ones((120, 160), np.float32), 5) == []


def test_large_frames_are_worked_at_a_fixed_size():
    det = ThermalBlobDetector()
    big = frame01(thermal_frame(1280, 1024, faces=[(640, 450, 110, 0)]))
    img, s = det.prepare(big)
    assert max(img.shape) == det.p.work_size and s == pytest.approx(0.125)
    d = [d for d in det.detect(big, 3) if d.score >= 0.5]
    # Box regression was fitted on small real faces: a face filling a quarter of the frame is found, its box
    # less precisely (it includes some neck).
    assert d and np.hypot(*(centre(d[0].box) - (640, 450))) < 0.9 * 110


def test_nms_and_iou():
    from thermal_fld_ros.detector import Detection

    a = Detection(np.array([0, 0, 10, 10.0]), 0.9)
    b = Detection(np.array([1, 1, 11, 11.0]), 0.8)
    c = Detection(np.array([20, 20, 30, 30.0]), 0.7)
    assert box_iou(a.box, a.box) == 1.0 and box_iou(a.box, c.box) == 0.0
    assert [d.score for d in nms([c, b, a], 0.3)] == [0.9, 0.7]
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("yolo")


@pytest.mark.skipif(not (CHIPS / "images").is_dir(), reason="real Lepton frames not present")
@pytest.mark.parametrize("name", ["thermal_blob", "cascade"])
def test_real_lepton_frames_floor(name):
    """Precision/recall on the 300 real frames (412 faces) at the default operating point, as
    bench/eval_detector.py --detector NAME measures them.

    These frames are also the fitting set of the thermal_blob scorer and of detector_chips (the cascade's
    CNN), so this floor guards against regressions; the honest figures are leave-one-participant-out
    (bench/fit_detector.py; eval_detector.py --fold-models, docs/runtime.md).
    """
    spec = importlib.util.spec_from_file_location("eval_detector", ROOT / "bench" / "eval_detector.py")
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    from thermal_fld_ros.config import PipelineConfig

    cfg = PipelineConfig()
    items = ev.load_dataset(CHIPS)
    assert len(items) == 300
    det = make_detector(name, cfg.min_face_px, threshold=cfg.detection_threshold,
                        cnn_threshold=cfg.cascade_cnn_threshold)
    res = ev.evaluate(items, ev.detect_all(items, det, cfg, 8))
    assert res["n_gt"] == 412
    if name == "thermal_blob":
        p, r = ev.at_threshold(res, cfg.detection_threshold)
        assert res["ap50"] >= 0.74, res["ap50"]  # measured 0.780
        assert p >= 0.67 and r >= 0.74, (p, r)  # measured 0.724 / 0.784 at the default threshold 0.5
    else:  # every face it returns passed one of its two thresholds
        assert min(d.score for _, ds in ev.detect_all(items[:20], det, cfg, 8) for d in ds) >= 0.4
        p, r = ev.at_threshold(res, 0.0)
        assert p >= 0.74 and r >= 0.72, (p, r)  # measured 0.784 / 0.760  # measured 0.715 / 0.784 at the default threshold 0.5
