"""Tracks that stay on faces, with real (fixed-output) ONNX models in onnxruntime: face presence drops a
track, the landmark box may not jump in size nor grow beyond its detection, every detector run must
confirm every track, and all faces of a frame go through one model call."""
import numpy as np
import pytest
from model_factory import frontal_template, make_fixed_landmark_model
from synthetic_frames import thermal_frame

from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.frames import from_array
from thermal_fld_ros.landmark_model import LandmarkModel, ModelError
from thermal_fld_ros.pipeline import Pipeline
from thermal_fld_ros.tracker import Fit, Track, TrackRules

SIZE = (96, 96)
FACE = [(160, 110, 30, 0)]


def scaled_template(factor: float) -> np.ndarray:
    """Frontal points centred in the crop, their box ``factor`` x the side a face has at crop scale 1.3:
    following them grows (factor > 1) or shrinks the track's box by ``factor`` every frame."""
    pts = frontal_template(SIZE).astype(np.float64)
    lo, hi = pts.min(0), pts.max(0)
    side = SIZE[0] / 1.3 * factor
    return ((pts - (lo + hi) / 2) * (side / (hi - lo).max()) + np.array(SIZE) / 2.0).astype(np.float32)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    steady = scaled_template(1.0)
    return {
        "steady": make_fixed_landmark_model(d / "steady.onnx", crop_points=steady),
        "present": make_fixed_landmark_model(d / "present.onnx", crop_points=steady, presence=0.9),
        "absent": make_fixed_landmark_model(d / "absent.onnx", crop_points=steady, presence=0.2),
        # P(face) follows how warm the crop is: high on a face crop, low on the cold background
        "warm": make_fixed_landmark_model(d / "warm.onnx", crop_points=steady, presence=(5.0, 5.0)),
        "jump": make_fixed_landmark_model(d / "jump.onnx", crop_points=scaled_template(1.4)),
        "creep": make_fixed_landmark_model(d / "creep.onnx", crop_points=scaled_template(1.15)),
    }


def pipeline(path, **kw):
    kw.setdefault("smoothing", False)
    kw.setdefault("pose", False)
    # one fixed detector for the tracker's rules: thermal_blob finds exactly the synthetic heads; the default
    # cascade's CNN (trained on real Lepton frames) may add a face on these drawn bodies (test_cascade.py)
    kw.setdefault("detector", "thermal_blob")
    return Pipeline(PipelineConfig(model_path=str(path), **kw))


def play(pipe, frames, dt=0.1):
    return [pipe.process(from_array(f, "32FC1"), i * dt) for i, f in enumerate(frames)]


def side(box) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


def test_presence_output_is_read_in_one_batched_call(models):
    m = LandmarkModel(models["warm"])
    assert m.has_presence and m.meta.outputs == ["simcc_x", "simcc_y", "presence"]
    crops = np.stack([np.full((96, 96), v, np.float32) for v in (0.1, 0.5, 0.9)])
    out = m.run(crops)
    assert out.points.shape == (3, 70, 2) and out.presence.shape == (3,)
    expect = 1 / (1 + np.exp(-(5.0 * (crops.reshape(3, -1).mean(1) - 0.5) / 0.25 + 5.0)))
    np.testing.assert_allclose(out.presence, expect, rtol=1e-4, atol=1e-6)
    assert LandmarkModel(models["steady"]).run(crops).presence is None


def test_metadata_listing_presence_without_the_output_is_refused(tmp_path, models):
    import onnx

    from thermal_fld_ros.model_meta import META_KEY, LandmarkModelMeta, read_onnx_metadata

    model = onnx.load(str(models["steady"]))
    meta = read_onnx_metadata(models["steady"])
    meta["outputs"] = ["simcc_x", "simcc_y", "presence"]
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {META_KEY: LandmarkModelMeta.from_dict(meta).to_json()})
    bad = tmp_path / "bad.onnx"
    onnx.save(model, str(bad))
    with pytest.raises(ModelError, match="presence"):
        LandmarkModel(bad)


def test_all_faces_of_a_frame_go_through_one_model_call(models):
    pipe = pipeline(models["steady"], detection_interval=100)
    calls = []
    run = pipe.model.run
    pipe.model.run = lambda crops: calls.append(len(crops)) or run(crops)
    faces3 = [(60, 90, 22, 0), (160, 90, 22, 0), (260, 90, 22, 0)]
    play(pipe, [thermal_frame(faces=faces3, seed=i) for i in range(3)])
    assert calls[0] == 3 and calls[1] == 3  # detection frame: all crops, then all new tracks re-cropped
    assert calls[2:] == [3, 3]  # following frames: one call with every face


def test_low_presence_drops_the_track_high_presence_keeps_it(models):
    frames = [thermal_frame(faces=FACE, seed=i) for i in range(5)]
    kept = play(pipeline(models["present"]), frames)
    assert all(len(r.faces) == 1 for r in kept) and len({r.faces[0].track_id for r in kept}) == 1
    assert not any(r.faces for r in play(pipeline(models["absent"]), frames))
    assert all(r.faces for r in play(pipeline(models["absent"], presence_threshold=0.1), frames))


def test_a_track_whose_face_leaves_is_dropped_by_presence(models):
    pipe = pipeline(models["warm"], detection_interval=100)
    res = play(pipe, [thermal_frame(faces=FACE, seed=0), thermal_frame(faces=FACE, seed=1)])
    assert all(r.faces for r in res)
    assert pipe.tracks.tracks[0].presence > 0.5
    # the face is gone; the fixed model would follow the empty wall forever, presence drops it at once
    gone = pipe.process(from_array(thermal_frame(faces=[], seed=2), "32FC1"), 0.2)
    assert not gone.faces and not pipe.tracks.tracks


def test_a_box_never_jumps_in_size_between_frames(models):
    frames = [thermal_frame(faces=FACE, seed=i) for i in range(6)]
    kw = dict(detection_interval=1000, max_track_misses=100, landmark_threshold=0.0, max_unconfirmed_detections=1000,
              max_box_vs_detection=20.0, reseat_iou=0.0)
    res = play(pipeline(models["jump"], **kw), frames)
    # 1.4x per frame: after the detection frame every fit is a jump, a miss; the crop stays, nothing is published
    assert [len(r.faces) for r in res] == [1, 0, 0, 0, 0, 0]
    loose = play(pipeline(models["jump"], max_box_scale_step=1.5, **kw), frames)
    sides = [side(r.faces[0].box) for r in loose]
    assert len(sides) == 6 and (np.diff(np.log(sides)) > np.log(1.25)).all()  # what the bound prevents


def test_a_creeping_box_is_dropped_before_it_gets_body_sized(models):
    pipe = pipeline(models["creep"], detection_interval=1000, max_track_misses=100, landmark_threshold=0.0,
                    max_unconfirmed_detections=1000)
    res = play(pipe, [thermal_frame(faces=FACE, seed=i) for i in range(12)])
    det_side = None
    for r in res:
        if r.detector_ran and r.faces:
            det_side = side(r.faces[0].box) / 1.15 ** 2  # the detection box, before two 1.15x crops
        for f in r.faces:
            assert side(f.box) <= 2.0 * det_side * 1.01
    assert sum(r.detector_ran for r in res) >= 2  # dropped (too large), so detected again


def test_every_detector_run_must_confirm_every_track(models):
    frames = [thermal_frame(faces=FACE, seed=0)] + [thermal_frame(faces=[], seed=i) for i in range(1, 6)]
    # Without presence the fixed model answers confidently on the empty wall; only detection can tell.
    res = play(pipeline(models["steady"], detection_interval=1, max_unconfirmed_detections=2), frames)
    assert [bool(r.faces) for r in res] == [True, True, False, False, False, False]
    res = play(pipeline(models["steady"], detection_interval=1, max_unconfirmed_detections=1000), frames)
    assert all(r.faces for r in res)  # the old behaviour: a track lives as long as its landmarks look sure


def test_track_fit_rules_directly():
    rules = TrackRules(max_scale_step=1.25, max_size_vs_detection=2.0)
    box = np.array([0.0, 0.0, 40.0, 40.0])

    def square(s):
        return np.array([[0, 0], [s, 0], [0, s], [s, s]], np.float64)

    t = Track(track_id=1, box=box.copy())
    assert t.update_from_landmarks(square(48), None, False, rules) is Fit.OK  # 1.2x
    assert t.update_from_landmarks(square(70), None, False, rules) is Fit.JUMPED  # 1.46x
    assert side(t.box) == 48  # unchanged by a rejected fit
    assert t.update_from_landmarks(square(90), None, False, rules, fresh=True) is Fit.TOO_LARGE  # > 2 x 40
    assert t.update_from_landmarks(np.full((4, 2), np.nan), None, False, rules) is Fit.NO_POINTS


def test_a_face_that_moved_between_detector_runs_keeps_its_id_and_is_reseated(models):
    # The fixed model cannot follow motion: its track stays where the face was; the next detector run finds
    # the face one face-width away, confirms the track (detection_reach) and restarts it there.
    moved = [(160, 110, 30, 0), (215, 110, 30, 0)]
    # One detector throughout (thermal_blob): the cascade may answer one frame with its CNN and the next
    # with thermal_blob, whose boxes sit differently on these synthetic heads; this is about the tracker.
    frames = [thermal_frame(faces=[moved[0]], seed=0), thermal_frame(faces=[moved[1]], seed=1)]
    res = play(pipeline(models["steady"], detection_interval=1, detector="thermal_blob"), frames)
    assert [f.track_id for r in res for f in r.faces] == [1, 1]
    assert abs((res[1].faces[0].box[0] + res[1].faces[0].box[2]) / 2 - 215) < 8
    res = play(pipeline(models["steady"], detection_interval=1, detection_reach=0.0, reseat_iou=0.0,
                        detector="thermal_blob"), frames)
    assert [f.track_id for f in res[1].faces] != [1]  # without reach: a new id (or the stale track)


def test_a_track_lost_between_detector_runs_is_redetected_on_the_same_frame(models):
    # The face jumps far between two frames, long before the next detector run: the track's crop lands on
    # cold background, P(face) falls and the track is dropped. With redetect_same_frame the detector runs on
    # that frame at once and the face is published there; without, that frame has no face.
    frames = [thermal_frame(faces=[(160, 110, 30, 0)], seed=0), thermal_frame(faces=[(60, 60, 30, 0)], seed=1)]
    res = play(pipeline(models["warm"], detection_interval=10), frames)
    assert res[1].detector_ran and len(res[1].faces) == 1
    x0, y0, x1, y1 = res[1].faces[0].box
    assert x0 < 60 < x1 and y0 < 60 < y1 and x1 < 130  # on the face where it is now, not where it was
    # (the appearance check off too: it would see the box's content change and run the detector itself)
    res = play(pipeline(models["warm"], detection_interval=10, redetect_same_frame=False, appearance_threshold=0.0),
               frames)
    assert not res[1].detector_ran and res[1].faces == []
    res = play(pipeline(models["warm"], detection_interval=10, redetect_same_frame=False), frames)
    assert res[1].detector_ran and len(res[1].faces) == 1  # the appearance check alone re-detects it


def test_a_face_found_again_on_the_same_frame_keeps_its_id(models):
    # The face moves 1.5 face widths between frames: the track's crop falls off it and P(face) drops, the
    # same-frame detection finds it next to where the track was, and the new track takes the dropped one's
    # id. Twice as far (beyond detection_reach) it is another face: a new id.
    def ids(dx):
        frames = [thermal_frame(faces=[(160, 110, 30, 0)], seed=0), thermal_frame(faces=[(160 + dx, 110, 30, 0)], seed=1)]
        res = play(pipeline(models["warm"], detection_interval=10), frames)
        assert res[1].detector_ran
        return [[f.track_id for f in r.faces] for r in res]

    assert ids(50) == [[1], [1]]
    assert ids(100) == [[1], [2]]


def test_a_miss_counts_once_per_frame_when_the_frame_is_detected_twice(models):
    # Every fit after the detection frame is a jump (a miss); each miss runs the same-frame detection,
    # which confirms the track without re-seating it, and the second pass misses again. That is still one
    # missed frame: the track survives max_track_misses frames of misses and is dropped on the next, where
    # the same-frame detection starts it again (same id).
    kw = dict(detection_interval=1000, max_track_misses=2, landmark_threshold=0.0, max_unconfirmed_detections=1000,
              max_box_vs_detection=20.0, reseat_iou=0.0)
    pipe = pipeline(models["jump"], **kw)
    res = play(pipe, [thermal_frame(faces=FACE, seed=i) for i in range(5)])
    assert [r.detector_ran for r in res] == [True] * 5
    assert [len(r.faces) for r in res] == [1, 0, 0, 1, 0]
    assert [f.track_id for r in res for f in r.faces] == [1, 1]


def play_deferred(pipe, frames, dt=0.1, run_after=True):
    """As a node plays frames: process, publish, then the deferred periodic detection."""
    out = []
    for i, f in enumerate(frames):
        out.append(pipe.process(from_array(f, "32FC1"), i * dt, defer_detection=True))
        if run_after:
            pipe.run_deferred_detection()
    return out


def test_the_periodic_detection_is_deferred_past_the_frame_and_still_checks_every_track(models):
    calls = []

    def counted(pipe):
        det = pipe.detector.detect
        pipe.detector.detect = lambda *a: calls.append(pipe._frame_index) or det(*a)
        return pipe

    frames = [thermal_frame(faces=FACE, seed=i) for i in range(9)]
    res = play_deferred(counted(pipeline(models["steady"], detection_interval=3)), frames)
    # frame 0 needs a face now: inline; frames 3 and 6 are only due by the interval: after the frame
    assert [r.detector_ran for r in res] == [True] + [False] * 8
    assert [r.detection_deferred for r in res] == [False, False, False, True, False, False, True, False, False]
    assert calls == [0, 4, 7]  # (the frame counter has moved on when the caller runs it)
    assert all(len(r.faces) == 1 and r.faces[0].track_id == 1 for r in res)
    # a face that leaves is dropped by the deferred checks as by inline ones (max_unconfirmed_detections 2)
    gone = [thermal_frame(faces=FACE, seed=0)] + [thermal_frame(faces=[], seed=i) for i in range(1, 6)]
    res = play_deferred(pipeline(models["steady"], detection_interval=1), gone)
    assert [bool(r.faces) for r in res] == [True, True, True, False, False, False]


def test_a_face_found_by_the_deferred_detection_is_published_on_the_next_frame(models):
    one, two = [(160, 110, 30, 0)], [(160, 110, 30, 0), (60, 60, 26, 0)]
    frames = [thermal_frame(faces=one, seed=0)] + [thermal_frame(faces=two, seed=i) for i in range(1, 5)]
    res = play_deferred(pipeline(models["steady"], detection_interval=2), frames)
    assert [len(r.faces) for r in res] == [1, 1, 1, 2, 2]  # deferred run on frame 2, the new face from frame 3
    # a caller that never runs it: the deferred run happens at the start of the next frame instead
    res = play_deferred(pipeline(models["steady"], detection_interval=2), frames, run_after=False)
    assert [len(r.faces) for r in res] == [1, 1, 1, 2, 2]
