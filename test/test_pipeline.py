"""The full runtime path with a real ONNX model (fixed outputs) in onnxruntime: crop -> model -> decode ->
un-warp lands points exactly where the crop geometry says; tracks, re-detection, every bad input."""
from dataclasses import fields
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from model_factory import frontal_template, make_fixed_landmark_model
from synthetic_frames import thermal_frame, to_counts

from thermal_fld_ros.camera_model import Calibration, CameraInfoError
from thermal_fld_ros.codec import SimCCCodec
from thermal_fld_ros.config import PipelineConfig, default_model_path
from thermal_fld_ros.crop import crop_matrix, invert, transform_points
from thermal_fld_ros.frames import ThermalFrame, from_array
from thermal_fld_ros.landmark_model import ModelError
from thermal_fld_ros.model_meta import META_KEY
from thermal_fld_ros.pipeline import Pipeline
from thermal_fld_ros.schemes import IBUG70
from thermal_fld_ros.types import FrameStatus, Reason

SIZE = (96, 96)


def centred_template():
    """frontal_template shifted so its landmark box is centred in the crop: following it is a fixed point."""
    pts = frontal_template(SIZE).copy()
    lo, hi = pts.min(0), pts.max(0)
    pts += np.array(SIZE) / 2.0 - (lo + hi) / 2.0
    return pts


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return make_fixed_landmark_model(tmp_path_factory.mktemp("m") / "fixed.onnx", crop_points=centred_template())


def make_pipeline(model_path, **kw):
    kw.setdefault("smoothing", False)
    # the geometry and track tests expect exactly the drawn heads: thermal_blob finds those; the default cascade's
    # CNN (trained on real Lepton frames) may add a face on the drawn bodies (its own tests: test_cascade.py)
    kw.setdefault("detector", "thermal_blob")
    return Pipeline(PipelineConfig(model_path=str(model_path), **kw))


def expected_crop(points, scale=1.3):
    """Independent re-statement of 'crop from the previous landmarks': upright box along the eye line."""
    d = points[45] - points[36]
    ang = np.degrees(np.arctan2(d[1], d[0]))
    a = np.deg2rad(ang)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    up = points @ rot.T
    lo, hi = up.min(0), up.max(0)
    c = ((lo + hi) / 2) @ rot
    half = max(hi - lo) / 2
    return crop_matrix(np.r_[c - half, c + half], SIZE, scale, angle_deg=ang)


def decoded_crop_points(model_path):
    """What the model says in crop pixels: its outputs through onnxruntime and the shared SimCC decoder."""
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    sx, sy = sess.run(None, {"input": np.zeros((1, 1, 96, 96), np.float32)})
    pts, _ = SimCCCodec(SIZE, 2.0).decode(sx, sy)
    np.testing.assert_allclose(pts[0], centred_template(), atol=0.25)  # the decoder recovers the template
    if not PipelineConfig().flip_test:
        return pts[0]
    # the pipeline's flip test: the mirrored crop's points (the same, for this model) mirrored back
    # (x -> W - 1 - x, left/right swapped) and averaged with the direct ones
    mirrored = pts[0][IBUG70.flip_permutation()]
    mirrored[:, 0] = SIZE[0] - 1 - mirrored[:, 0]
    return (pts[0] + mirrored) / 2


def test_points_land_exactly_where_the_crop_geometry_puts_them(model_path):
    crop_pts = decoded_crop_points(model_path)
    pipe = make_pipeline(model_path, detection_interval=100)
    frame = from_array(thermal_frame(faces=[(150, 110, 28, 0)]), "32FC1")
    r1 = pipe.process(frame, 0.0)
    assert r1.detector_ran and len(r1.faces) == 1
    p1 = r1.faces[0].landmarks
    # Next frame: cropped from frame 1's landmarks; the model's fixed crop points map back through it.
    r2 = pipe.process(frame, 0.05)
    assert not r2.detector_ran
    want = transform_points(crop_pts, invert(expected_crop(p1)))
    np.testing.assert_allclose(r2.faces[0].landmarks, want, atol=1e-3)
    # A rolled face: the crop follows the eye line, so the points come back rotated by the same angle.
    a = np.deg2rad(25.0)
    c = p1.mean(0)
    rolled = (p1 - c) @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) + c
    pipe.tracks.tracks[0].update_from_landmarks(rolled, (36, 45), follow_roll=True)
    r3 = pipe.process(frame, 0.1)
    want3 = transform_points(crop_pts, invert(expected_crop(rolled)))
    np.testing.assert_allclose(r3.faces[0].landmarks, want3, atol=1e-3)
    eye = r3.faces[0].landmarks[45] - r3.faces[0].landmarks[36]
    assert np.degrees(np.arctan2(eye[1], eye[0])) == pytest.approx(25.0, abs=0.5)
    assert r3.faces[0].track_id == r1.faces[0].track_id
    assert r3.faces[0].scores.shape == (70,) and r3.faces[0].score > 0.5


@pytest.mark.parametrize("encoding", ["32FC1", "16UC1"])
def test_faces_found_at_their_place_with_stable_ids_and_pose(model_path, encoding):
    pipe = make_pipeline(model_path, detection_interval=5, smoothing=True)
    faces = [(90, 100, 24, 0), (235, 120, 30, 0)]
    ids = set()
    for i in range(12):
        temp = thermal_frame(faces=faces, seed=i)
        arr = temp if encoding == "32FC1" else to_counts(temp)
        r = pipe.process_array(arr, encoding, i / 30.0)
        assert r.detector_ran == (i % 5 == 0)
        assert len(r.faces) == 2, r.warnings
        for f in r.faces:
            ids.add(f.track_id)
            cx = (f.box[0] + f.box[2]) / 2
            cy = (f.box[1] + f.box[3]) / 2
            want = min(faces, key=lambda g: abs(g[0] - cx))
            assert abs(cx - want[0]) < 0.35 * want[2] * 2 and abs(cy - want[1]) < 0.35 * want[2] * 2.6
            assert f.pose is not None and np.isfinite(f.pose.yaw_pitch_roll_deg).all()
    assert ids == {1, 2}  # two faces, two ids, stable over 12 frames


def test_intrinsics_warning_once_then_camera_info(model_path):
    pipe = make_pipeline(model_path)
    frame = from_array(thermal_frame(), "32FC1")
    r1 = pipe.process(frame, 0.0)
    r2 = pipe.process(frame, 0.1)
    assert [i.reason for i in r1.issues] == [Reason.INTRINSICS_APPROXIMATED] and not r2.issues
    assert pipe.intrinsics_source == "approximated"
    pipe.set_calibration(Calibration.checked([[400.0, 0, 160], [0, 400.0, 128], [0, 0, 1]], [0.0] * 5, 320, 256))
    r = pipe.process(frame, 0.2)
    assert r.faces and r.faces[0].pose is not None and not r.issues
    assert pipe.intrinsics_source == "camera_info"
    with pytest.raises(CameraInfoError):
        Calibration.checked(np.zeros((3, 3)), [])


def test_redetects_when_a_face_is_lost(model_path):
    pipe = make_pipeline(model_path, detection_interval=100, max_track_misses=0)
    assert pipe.process(from_array(thermal_frame(faces=[(100, 100, 25, 0)]), "32FC1"), 0.0).faces
    empty = pipe.process(from_array(thermal_frame(faces=[]), "32FC1"), 0.1)
    # The fixed model always answers confidently, so a lost face shows only through the detector.
    moved = pipe.process(from_array(thermal_frame(faces=[(230, 120, 25, 0)]), "32FC1"), 0.2)
    assert empty.faces or empty.status == FrameStatus.NO_FACE
    assert moved.faces


def bad(pipe, array, encoding, stamp=0.0, status=FrameStatus.REFUSED):
    r = pipe.process_array(array, encoding, stamp)
    assert r.faces == [] and r.status == status, r
    return r.issues[0].reason if r.issues else None, " ".join(r.warnings)


def test_bad_frames_give_typed_reasons_not_exceptions(model_path):
    pipe = make_pipeline(model_path)
    assert bad(pipe, np.zeros((10, 10), np.uint8), "yuv422")[0] == Reason.ENCODING
    assert bad(pipe, np.zeros((0, 0), np.float32), "32FC1")[0] == Reason.EMPTY
    assert bad(pipe, np.broadcast_to(np.uint16(30000), (8000, 8000)), "16UC1")[0] == Reason.TOO_LARGE
    reason, text = bad(pipe, np.broadcast_to(np.float32(30), (4, 40000)), "32FC1")  # under max_pixels
    assert reason == Reason.TOO_LARGE and "32766" in text  # refused before OpenCV's warp fails on it
    assert bad(pipe, np.full((64, 80), np.nan, np.float32), "32FC1")[0] == Reason.NONFINITE
    assert bad(pipe, np.full((64, 80), 30000, np.uint16), "16UC1", 1.0, FrameStatus.NO_FACE)[0] == Reason.CONSTANT
    assert bad(pipe, thermal_frame(faces=[]), "32FC1", 2.0, FrameStatus.NO_FACE)[0] is None
    assert bad(pipe, np.zeros((10, 10), np.int32), "32FC1")[0] == Reason.LAYOUT
    # float64 (what np.save writes) is converted, not refused
    assert pipe.process_array(thermal_frame().astype(np.float64), "32FC1", 2.5).status == FrameStatus.FACES
    # ThermalFrames built by hand bypass from_array's checks: process() still copes.
    r = pipe.process(ThermalFrame(np.full((20, 20), np.inf, np.float32), "temperature", "32FC1"), 3.0)
    assert r.status == FrameStatus.REFUSED and r.issues[0].reason == Reason.NONFINITE
    r = pipe.process(ThermalFrame(np.zeros((0, 5), np.float32), "temperature", "32FC1"), 4.0)
    assert r.issues[0].reason == Reason.EMPTY
    # Partial NaN: processed, with a note.
    t = thermal_frame()
    t[:5, :5] = np.nan
    r = pipe.process_array(t, "32FC1", 5.0)
    assert r.faces and [i.reason for i in r.issues] == [Reason.PARTIAL_NONFINITE]
    # Still alive and working afterwards.
    assert pipe.process_array(thermal_frame(), "32FC1", 6.0).faces


@pytest.mark.parametrize("values,unit,needle", [
    (lambda t: t + 273.15, "celsius", "kelvin"),
    (lambda t: t * 9 / 5 + 32, "celsius", "fahrenheit"),
    (lambda t: t - 273.15, "kelvin", "check the camera's unit"),
])
def test_wrong_temperature_unit_is_named_not_a_constant_frame(model_path, values, unit, needle):
    pipe = make_pipeline(model_path, float_unit=unit)
    r = pipe.process_array(values(thermal_frame()), "32FC1", 0.0)
    assert r.status == FrameStatus.REFUSED and r.issues[0].reason == Reason.TEMPERATURE_RANGE
    assert needle in r.issues[0].message, r.issues[0].message


def test_fahrenheit_frames_with_float_unit_fahrenheit(model_path):
    pipe = make_pipeline(model_path, float_unit="fahrenheit")
    assert pipe.process_array(thermal_frame() * 9 / 5 + 32, "32FC1", 0.0).faces


def test_agc_counts_read_as_radiometric_are_named(model_path):
    r = make_pipeline(model_path).process_array(np.full((64, 80), 3000, np.uint16) + np.arange(80, dtype=np.uint16),
                                                "16UC1", 0.0)
    assert r.issues[0].reason == Reason.TEMPERATURE_RANGE and "radiometric_16bit" in r.issues[0].message


def test_stamp_policy_drops_out_of_order_and_resets_on_a_jump_back(model_path):
    pipe = make_pipeline(model_path, detection_interval=100)
    frame = from_array(thermal_frame(), "32FC1")
    assert pipe.process(frame, 10.0).faces
    r = pipe.process(frame, 9.5)  # a little back: out of order, dropped
    assert r.status == FrameStatus.REFUSED and r.issues[0].reason == Reason.OUT_OF_ORDER
    r = pipe.process(frame, 10.0)  # repeated stamp
    assert r.status == FrameStatus.REFUSED and r.issues[0].reason == Reason.OUT_OF_ORDER
    r = pipe.process(frame, 10.1)
    assert r.faces and not r.detector_ran  # tracking went on
    r = pipe.process(frame, 5.0)  # far back: a new stream (bag loop), tracks reset
    assert [i.reason for i in r.issues] == [Reason.TIME_JUMP] and r.detector_ran and r.faces


def test_face_cut_by_the_border(model_path):
    pipe = make_pipeline(model_path)
    for i, cx in enumerate((8, 312)):
        r = pipe.process_array(thermal_frame(faces=[(cx, 100, 30, 0)]), "32FC1", float(i))
        for f in r.faces:  # may or may not be found; when found, points are finite (possibly off-frame)
            assert np.isfinite(f.landmarks).all()
    top = pipe.process_array(thermal_frame(faces=[(160, 10, 30, 0)]), "32FC1", 5.0)
    assert isinstance(top.faces, list)


def test_max_faces(model_path):
    pipe = make_pipeline(model_path, max_faces=1)
    r = pipe.process_array(thermal_frame(faces=[(80, 100, 25, 0), (240, 100, 28, 0)]), "32FC1", 0.0)
    assert len(r.faces) == 1


# ---------------------------------------------------------------- model problems: clear errors at start-up
def test_missing_model(tmp_path):
    p = tmp_path / "nope.onnx"
    with pytest.raises(ModelError, match="not found") as e:
        Pipeline(PipelineConfig(model_path=str(p)))
    assert str(p) in str(e.value)


def test_truncated_model(tmp_path, model_path):
    p = tmp_path / "cut.onnx"
    p.write_bytes(Path(model_path).read_bytes()[:500])
    with pytest.raises(ModelError) as e:
        Pipeline(PipelineConfig(model_path=str(p)))
    assert str(p) in str(e.value)


def test_wrong_shape_model(tmp_path, model_path):
    m = onnx.load(str(model_path))
    import json
    for prop in m.metadata_props:
        if prop.key == META_KEY:
            doc = json.loads(prop.value)
            doc["input_size"] = [128, 128]
            prop.value = json.dumps(doc)
    p = tmp_path / "wrong.onnx"
    onnx.save(m, str(p))
    with pytest.raises(ModelError, match="input shape") as e:
        Pipeline(PipelineConfig(model_path=str(p)))
    assert str(p) in str(e.value)
    q = make_fixed_landmark_model(tmp_path / "n68.onnx", crop_points=centred_template()[:68])
    m = onnx.load(str(q))
    for prop in m.metadata_props:
        if prop.key == META_KEY:
            doc = json.loads(prop.value)
            doc["num_points"] = 70
            prop.value = json.dumps(doc)
    onnx.save(m, str(q))
    with pytest.raises(ModelError, match="output"):
        Pipeline(PipelineConfig(model_path=str(q)))


def test_untrained_model_is_refused(tmp_path):
    p = make_fixed_landmark_model(tmp_path / "u.onnx", trained=False)
    with pytest.raises(ModelError, match="not marked trained"):
        Pipeline(PipelineConfig(model_path=str(p)))


def test_not_an_onnx_file(tmp_path):
    p = tmp_path / "text.onnx"
    p.write_text("hello")
    with pytest.raises(ModelError) as e:
        Pipeline(PipelineConfig(model_path=str(p)))
    assert str(p) in str(e.value)


def test_default_model_path_error_says_how_to_get_one():
    try:
        path = default_model_path()
    except FileNotFoundError as e:
        assert "student.onnx" in str(e) and "train" in str(e).lower()
    else:
        assert path.is_file()


def test_unavailable_provider_falls_back_to_cpu(model_path):
    pipe = make_pipeline(model_path, providers=["TensorrtExecutionProvider", "CPUExecutionProvider"])
    assert pipe.model.providers[-1] == "CPUExecutionProvider"
    if "TensorrtExecutionProvider" not in pipe.model.providers:
        assert any("TensorrtExecutionProvider" in w for w in pipe.startup_warnings)
    assert pipe.process_array(thermal_frame(), "32FC1", 0.0).faces


# ---------------------------------------------------------------- configuration
def test_config_fields_are_described_and_ranged():
    for f in fields(PipelineConfig):
        assert f.metadata.get("description"), f.name
        if f.type in ("int", "float"):
            lo, hi = f.metadata["range"]
            assert lo <= getattr(PipelineConfig(), f.name) <= hi, f.name


def test_config_from_dict_errors():
    with pytest.raises(ValueError, match="unknown pipeline parameter"):
        PipelineConfig.from_dict({"max_face": 3})
    with pytest.raises(ValueError, match="outside its range"):
        PipelineConfig.from_dict({"max_faces": 0})
    with pytest.raises(ValueError, match="integer"):
        PipelineConfig.from_dict({"max_faces": 1.5})
    with pytest.raises(ValueError, match="temperature_max_c"):
        PipelineConfig.from_dict({"temperature_min_c": 40.0, "temperature_max_c": 30.0})
    cfg = PipelineConfig.from_dict({"max_faces": 2, "providers": "CPUExecutionProvider", "smoothing_beta": 1})
    assert cfg.max_faces == 2 and cfg.providers == ["CPUExecutionProvider"] and cfg.smoothing_beta == 1.0
    assert cfg.frame_config().temperature_window_c == (20.0, 40.0)


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 500), (500, 3), (7, 9), (1, 4000)])
def test_tiny_and_odd_frames(model_path, shape):
    pipe = make_pipeline(model_path)
    a = (np.random.default_rng(0).random(shape) * 20 + 20).astype(np.float32)
    r = pipe.process_array(a, "32FC1", 0.0)
    assert r.faces == [] and (r.width, r.height) == (shape[1], shape[0])


_NO_SIDECAR = object()


def _with_meta(src, dst, sidecar=_NO_SIDECAR, **changes):
    """A copy of the model at ``dst`` with metadata fields changed; ``sidecar`` (any JSON value) beside it."""
    import json

    m = onnx.load(str(src))
    for prop in m.metadata_props:
        if prop.key == META_KEY:
            doc = json.loads(prop.value)
            doc.update(changes)
            prop.value = json.dumps(doc)
    onnx.save(m, str(dst))
    if sidecar is not _NO_SIDECAR:
        Path(dst).with_suffix(".json").write_text(json.dumps(sidecar))
    return dst


@pytest.mark.parametrize("changes,needle", [
    ({"input_std": 0}, "field 'input_std' must be > 0, got 0"),
    ({"input_std": float("nan")}, "field 'input_std' must be a finite number, got nan"),
    ({"crop_scale": 0}, "field 'crop_scale' must be in [0.5, 4]"),
    ({"outputs": ["simcc_x"]}, "field 'outputs' must be a list of at least 2 output names"),
    ({"trained": "false"}, "field 'trained' must be a boolean (true or false), got 'false' (a string)"),
    ({"num_points": "70"}, "field 'num_points' must be an integer, got '70' (a string)"),
    ({"input_size": [96]}, "field 'input_size' must be [width, height]"),
    ({"scheme": "nope"}, "field 'scheme' 'nope' is not a known landmark scheme"),
    ({"split_ratio": None}, "field 'split_ratio' must be a finite number, got None (null)"),
])
def test_bad_metadata_is_refused_at_load_in_one_line(tmp_path, model_path, changes, needle):
    p = _with_meta(model_path, tmp_path / "bad.onnx", **changes)
    with pytest.raises(ModelError) as e:
        Pipeline(PipelineConfig(model_path=str(p)))
    text = str(e.value)
    assert needle in text and str(p) in text and "\n" not in text, text


def test_sidecar_problems(tmp_path, model_path):
    import json

    meta = json.loads(next(p.value for p in onnx.load(str(model_path)).metadata_props if p.key == META_KEY))
    for doc, needle in (([1, 2], "metadata must be a JSON object, got [1, 2] (a list)"),
                        (None, "metadata must be a JSON object, got None (null)"),
                        ({**meta, "input_std": 0.5}, "disagree on 'input_std' (0.25 vs 0.5)")):
        p = _with_meta(model_path, tmp_path / "s.onnx", sidecar=doc)
        with pytest.raises(ModelError) as e:
            Pipeline(PipelineConfig(model_path=str(p)))
        assert needle in str(e.value) and "s.json" in str(e.value), str(e.value)
    p = _with_meta(model_path, tmp_path / "s.onnx", sidecar={**meta, "metrics": {"nme": 9.0}})
    pipe = Pipeline(PipelineConfig(model_path=str(p)))  # only a reporting field differs: a warning
    assert any("differs from the model's embedded metadata on metrics" in w for w in pipe.startup_warnings)
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(ModelError, match="s.json: not valid JSON"):
        Pipeline(PipelineConfig(model_path=str(p)))


def test_every_track_is_re_cropped_on_detector_frames_only(model_path):
    """Detector frame: one batched call for all tracks, then one re-crop call; between detector runs one call."""
    pipe = make_pipeline(model_path, detection_interval=3)
    calls = []
    real_run = pipe.model.run

    def counted(batch):
        calls.append(len(batch))
        return real_run(batch)

    pipe.model.run = counted
    per_frame = []
    for i in range(7):
        calls.clear()
        r = pipe.process_array(thermal_frame(faces=[(90, 100, 24, 0), (235, 120, 30, 0)], seed=i), "32FC1", i / 30.0)
        assert len(r.faces) == 2, r.warnings
        per_frame.append((r.detector_ran, list(calls)))
    assert per_frame == [(i % 3 == 0, [2, 2] if i % 3 == 0 else [2]) for i in range(7)]
