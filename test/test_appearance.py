"""The appearance check: a track whose box content changed makes the detector run on that frame, and is
dropped unless the run confirms it; a face that moves as in video never triggers it (no extra detector cost)."""
import numpy as np
import pytest
from model_factory import make_fixed_landmark_model
from synthetic_frames import thermal_frame

from thermal_fld_ros.appearance import similarity, thumbnail
from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.normalise import KIND_TEMPERATURE, normalise
from thermal_fld_ros.pipeline import Pipeline

LEFT, RIGHT = (90, 100, 24, 0), (235, 120, 30, 0)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    # answers confidently whatever the crop holds: a face that left shows only through the detector or this check
    return make_fixed_landmark_model(tmp_path_factory.mktemp("app") / "fixed.onnx")


def frame01(faces, seed=0):
    return normalise(thermal_frame(faces=faces, seed=seed), KIND_TEMPERATURE)


def test_thumbnail_tells_a_face_from_where_it_was():
    box = (66, 69, 114, 131)  # LEFT's head
    here = thumbnail(frame01([LEFT], seed=0), box)
    assert similarity(here, thumbnail(frame01([LEFT], seed=1), box)) > 0.95  # new sensor noise only
    moved = frame01([(LEFT[0] + 4, LEFT[1] + 2, LEFT[2], 0)], seed=1)  # a video frame's motion
    assert similarity(here, thumbnail(moved, box)) > 0.7
    gone = frame01([RIGHT], seed=1)  # the person is elsewhere now
    assert similarity(here, thumbnail(gone, box)) < 0.5
    assert thumbnail(frame01([LEFT]), (400, 400, 420, 420)) is None  # outside the frame: nothing to compare
    assert similarity(None, here) == 1.0


def pipeline(model_path, **kw):
    kw.setdefault("smoothing", False)
    kw.setdefault("pose", False)
    kw.setdefault("detector", "thermal_blob")
    return Pipeline(PipelineConfig(model_path=str(model_path), detection_interval=100, **kw))


def centres(result):
    return [((f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2) for f in result.faces]


@pytest.mark.parametrize("threshold", [0.5, 0.0])
def test_a_face_that_jumps_is_found_where_it_went(model_path, threshold):
    pipe = pipeline(model_path, appearance_threshold=threshold)
    r0 = pipe.process_array(thermal_frame(faces=[LEFT], seed=0), "32FC1", 0.0)
    assert r0.detector_ran and len(r0.faces) == 1
    r1 = pipe.process_array(thermal_frame(faces=[RIGHT], seed=1), "32FC1", 0.1)
    at_old = [c for c in centres(r1) if abs(c[0] - LEFT[0]) < LEFT[2]]
    at_new = [c for c in centres(r1) if abs(c[0] - RIGHT[0]) < RIGHT[2]]
    if threshold > 0:
        assert r1.detector_ran and not at_old and len(at_new) == 1
    else:  # the check off: the track stays on the empty wall until the next detector run
        assert not r1.detector_ran and len(at_old) == 1 and not at_new


def test_a_face_moving_as_in_video_costs_no_extra_detector_run(model_path):
    pipe = pipeline(model_path)
    ran = []
    for i in range(12):
        face = (LEFT[0] + 3 * i, LEFT[1] + np.sin(i / 2.0) * 3, LEFT[2], 0)
        r = pipe.process_array(thermal_frame(faces=[face], seed=i), "32FC1", i / 30.0)
        assert len(r.faces) == 1
        ran.append(r.detector_ran)
    assert ran == [True] + [False] * 11
