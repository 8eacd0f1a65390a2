"""The separate detector trained on real Chips frames: its loader feeds exactly what the runtime's detector
receives, LOPO folds never train on the held-out group, and the exported detector_chips model loads in the
runtime detector by its bundled name and finds a real face."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_fld_ros.centreface import MODELS_DIR, DetectorModelError, resolve_detector_model
from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.detector import box_iou, make_detector

ROOT = Path(__file__).resolve().parents[1]
CHIPS = ROOT / ".." / "shared" / "data" / "real_thermal" / "chips_thermal_face"
CHIPS_MODEL = MODELS_DIR / "detector_chips.onnx"
needs_chips = pytest.mark.skipif(not (CHIPS / "images").is_dir(),
                                 reason=f"Chips Thermal Face frames not present at {CHIPS} (../shared)")
FRAME = "4_69"  # one close face (participant 4, 46 x 62 px)


def _fake_items(names):
    return [(n, np.zeros((120, 160), np.float32), np.zeros((0, 4), np.float32)) for n in names]


class _Spy:
    """A detector that records what the pipeline hands it (the real pipeline path, no model mocked)."""

    def __init__(self):
        self.seen = []

    def detect(self, frame01, max_faces):
        self.seen.append(np.array(frame01, copy=True))
        return []


@needs_chips
def test_real_loader_gives_the_runtime_detector_input():
    from thermal_fld_ros.pipeline import Pipeline
    from training.detector.real import load_real

    (name, x, boxes), = load_real(CHIPS, only=[FRAME])
    pipe = Pipeline(PipelineConfig())
    pipe.detector = _Spy()
    img = cv2.imread(str(CHIPS / "images" / f"{FRAME}.jpeg"))  # what a bgr8 stream delivers
    pipe.process_array(img, "bgr8", 0.0)
    assert name == FRAME and len(pipe.detector.seen) == 1
    assert x.dtype == np.float32 and x.shape == img.shape[:2] and x.max() > 0.5
    np.testing.assert_array_equal(x, pipe.detector.seen[0])
    assert len(boxes) == 1 and 0 <= boxes[0, 0] < boxes[0, 2] <= 160 and 0 <= boxes[0, 1] < boxes[0, 3] <= 120


def test_lopo_split_never_trains_on_the_held_out_group():
    from training.detector.evaluate import participant
    from training.detector.real import groups, split, without

    names = [f"{p}_{i}" for p in list("12345678") + ["group1"] for i in (3, 10, 117)] + ["11_4"]
    items = _fake_items(names)
    assert groups(items) == ["1", "11", "2", "3", "4", "5", "6", "7", "8", "group1"]
    for g in groups(items):
        train, test = split(items, g)
        assert test and all(participant(n) == g for n, _, _ in test)
        assert not any(participant(n) == g for n, _, _ in train)  # '1' held out keeps '11_4' in training
        assert len(train) + len(test) == len(items)
    assert [n for n, _, _ in without(items, ["1", "group1"])] == [n for n in names
                                                                  if participant(n) not in ("1", "group1")]


def test_training_uses_only_the_fold_frames(tmp_path):
    pytest.importorskip("torch")
    from training.detector.train import train

    items = [(n, np.random.default_rng(i).random((120, 160)).astype(np.float32),
              np.array([[60, 40, 80, 64]], np.float32)) for i, n in enumerate(["1_0", "1_1", "2_0", "group1_0"])]
    train([], tmp_path, budget_s=0.5, batch=2, workers=0, real_items=items, exclude=["1"])
    info = json.loads((tmp_path / "train.json").read_text())
    assert info["real_frames"] == 2 and info["exclude"] == ["1"] and info["steps"] >= 0


def test_bundled_name_resolves_and_unknown_names_refuse():
    assert resolve_detector_model("detector_chips") == CHIPS_MODEL
    assert resolve_detector_model("detector_chips.onnx") == CHIPS_MODEL
    with pytest.raises(DetectorModelError, match="not found"):
        make_detector("centreface", model_path="no_such_detector")


def test_chips_model_metadata_names_its_data_and_is_the_default_cascades_cnn():
    meta = json.loads(CHIPS_MODEL.with_suffix(".json").read_text())
    assert meta["task"] == "face_detection" and meta["model_name"] == "centreface_thermal_chips"
    assert "Chips" in meta["training_data"] and "non-commercial" in meta["data_terms"]
    cfg = PipelineConfig()
    assert meta["default"] is True and "cascade" in meta["default_as"]
    assert cfg.detector == "cascade" and cfg.detector_model_path == ""  # empty: this model, for the cascade
    assert cfg.cascade_cnn_threshold == meta["recommended_threshold"]
    lopo = meta["lopo"]["raw_boxes"]
    assert 0.0 < lopo["ap50"] <= 1.0 and "training detector lopo" in meta["lopo_command"]


@needs_chips
def test_chips_model_puts_its_top_box_on_a_face_in_most_chips_frames():
    from training.detection_eval import detect_all, load_dataset

    items = load_dataset(CHIPS)
    det = make_detector("centreface", PipelineConfig().min_face_px, 1, model_path="detector_chips")
    assert Path(det.path) == CHIPS_MODEL
    on_face = sum(1 for it, (_, dets) in zip(items, detect_all(items, det, PipelineConfig(), 8))
                  if dets and dets[0].score >= 0.3 and max(box_iou(dets[0].box, g) for g in it.boxes) >= 0.5)
    # in-sample (the model saw these frames): 232 of 300 with the bundled model; a broken export or input
    # path gives ~0
    assert on_face >= 0.65 * len(items), f"top box on a face in {on_face} of {len(items)} frames"
