"""Region temperatures and breathing rate: exact readings on painted frames, every quality flag, the
spectral estimator and its resets, and the issue's checks on synthetic breathing sequences and the two
real radiometric frames (through the bundled student)."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_fld_ros.breathing import (
    BreathingConfig,
    BreathingEstimator,
    BreathingMonitor,
    BreathingSample,
    spectral_rate,
)
from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.frames import FrameConfig, ThermalFrame, from_array
from thermal_fld_ros.schemes import get_scheme
from thermal_fld_ros.thermometry import (
    ThermalReadout,
    Thermometer,
    availability,
    quality_label,
    saturation_limits,
    thermal_record,
)
from thermal_fld_ros.types import (
    REGIONS,
    BreathingSource,
    BreathingState,
    Face,
    HeadPose,
    Region,
    RegionQuality,
)

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real_thermal" / "faiyaz106_thermal54" / "dataset"
ICT_MODEL = ROOT.parent / "shared" / "data" / "face_model_ict" / "FaceXModel"
SCHEME = get_scheme("ibug70")
SKIN, CANTHUS, FOREHEAD = 34.0, 36.5, 35.0


def frontal_landmarks(centre=(160.0, 130.0), face_px: float = 90.0, roll_deg: float = 0.0) -> np.ndarray:
    """The scheme's 3D mean face seen from the front, ``face_px`` wide, rolled about ``centre``."""
    mf = SCHEME.mean_face_3d()[:, :2]
    mf = mf - mf[:68].mean(0)
    pts = mf / np.ptp(mf[:68, 0]) * face_px
    a = np.deg2rad(roll_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ rot.T + np.asarray(centre)


def painted_frame(pts: np.ndarray, shape=(260, 320)) -> np.ndarray:
    """Skin everywhere, hot discs at the inner canthi, a warm forehead band: the readings are known exactly."""
    th = Thermometer(SCHEME)
    geo = th.geometry(pts, None)
    img = np.full(shape, SKIN, np.float32)
    fh = np.round(geo.polygons[Region.FOREHEAD][0] * 16).astype(np.int32)
    cv2.fillPoly(img, [fh], FOREHEAD, shift=4)
    for i in (39, 42):
        cv2.circle(img, tuple(int(round(v)) for v in pts[i]), 2, CANTHUS, -1)
    return img


def pose(yaw: float, pitch: float = 0.0) -> HeadPose:
    return HeadPose(np.eye(3), np.zeros(3), (yaw, pitch, 0.0))


def face(pts: np.ndarray, track_id: int = 1, p=None) -> Face:
    return Face(track_id, np.array([0, 0, 1, 1.0]), pts, np.ones(len(pts)), 1.0, pose=p)


# ---------------------------------------------------------------------------------------------- readings
@pytest.mark.parametrize("roll", [0.0, 25.0])
def test_painted_regions_read_exactly(roll):
    pts = frontal_landmarks(roll_deg=roll)
    img = painted_frame(pts)
    th = Thermometer(SCHEME)
    r = th.read(img, True, th.geometry(pts, pose(0.0))).readings
    assert all(v.ok for v in r.values()), {k: quality_label(v.quality) for k, v in r.items()}
    assert r[Region.CANTHI].temperature_c == pytest.approx(CANTHUS, abs=1e-4)
    assert r[Region.FOREHEAD].temperature_c == pytest.approx(FOREHEAD, abs=1e-4)
    assert r[Region.FACE_MAX].temperature_c == pytest.approx(CANTHUS, abs=1e-4)
    for region in (Region.NOSE_TIP, Region.NOSTRILS, Region.MOUTH, Region.PERIORBITAL):  # periorbital: less canthi
        assert r[region].temperature_c == pytest.approx(SKIN, abs=1e-4)


# a later region wins where two overlap (the module's documented draw order)
_ORDER = (Region.FACE_MAX, Region.FOREHEAD, Region.MOUTH, Region.NOSTRILS, Region.NOSE_TIP, Region.PERIORBITAL,
          Region.CANTHI)


def reference_readings(img: np.ndarray, geo) -> dict:
    """Independent re-statement of the readings: every region's label drawn on the whole frame, read by numpy."""
    label = np.zeros(img.shape, np.uint8)
    for k, region in enumerate(_ORDER, 1):
        cv2.fillPoly(label, [np.floor(p * 16 + 0.5).astype(np.int32) for p in geo.polygons[region]], k, shift=4)
    out = {}
    for k, region in enumerate(_ORDER, 1):
        v = np.sort(img[label > 0] if region is Region.FACE_MAX else img[label == k]).astype(np.float64)
        if region is Region.FACE_MAX:
            out[region] = (v.size, v[-1] if v.size else np.nan)
        elif region is Region.CANTHI:
            out[region] = (v.size, v[-3:].mean() if v.size else np.nan)
        elif region is Region.FOREHEAD:
            out[region] = (v.size, v[v.size // 2] if v.size else np.nan)
        else:
            out[region] = (v.size, v.mean() if v.size else np.nan)
    return out


def test_readings_match_a_whole_frame_reference_at_any_size_and_place():
    """Each region reads only its own box of the face window: the same pixels as a whole-frame read, also for
    faces from 15 to 250 px and half off the frame."""
    rng = np.random.default_rng(3)
    th = Thermometer(SCHEME, min_pixels=1)
    checked = 0
    for _ in range(60):
        img = rng.normal(34.0, 0.8, (256, 320)).astype(np.float32)
        px = rng.uniform(15, 250)
        pts = frontal_landmarks((rng.uniform(-40, 360), rng.uniform(-40, 300)), px, rng.uniform(-30, 30))
        pts = pts + rng.normal(0, 0.02 * px, pts.shape)
        geo = th.geometry(pts, None)
        if geo is None:
            continue
        got = th.read(img, True, geo).readings
        for region, (n, t) in reference_readings(img, geo).items():
            r = got[region]
            if r.quality == RegionQuality.NOT_VISIBLE:
                continue
            assert r.pixels == n, region
            if n:
                assert r.temperature_c == pytest.approx(t, abs=1e-5), region
                checked += 1
    assert checked > 200


def test_non_radiometric_is_never_estimated():
    pts = frontal_landmarks()
    agc = np.clip((painted_frame(pts) - 30) * 40, 0, 255).astype(np.uint8)
    frame = from_array(agc, "mono8")
    readout = ThermalReadout(SCHEME, FrameConfig())
    f = face(pts)
    readout.annotate([f], frame, 0.0)
    assert not f.thermal.radiometric
    for v in f.thermal.readings.values():
        assert v.quality == RegionQuality.NOT_RADIOMETRIC and np.isnan(v.temperature_c)
    assert f.breathing.state == BreathingState.UNAVAILABLE and np.isnan(f.breathing.rate_bpm)
    assert thermal_record(f)["regions"]["canthi"] == {"temperature_c": None, "quality": "not_radiometric",
                                                      "pixels": 0}
    assert availability(True, frame).startswith("unavailable: mono8")
    assert availability(False, frame).startswith("off")


def test_saturated_counts_are_flagged():
    cfg = FrameConfig()
    pts = frontal_landmarks()
    counts = np.round((painted_frame(pts) + 273.15) / 0.01).astype(np.uint16)
    x, y = np.round(pts[39]).astype(int)
    counts[y, x] = 65535
    frame = from_array(counts, "16UC1", cfg)
    th = Thermometer(SCHEME)
    r = th.read(frame.data, True, th.geometry(pts, None), saturation_limits("16UC1", cfg)).readings
    assert r[Region.CANTHI].quality == RegionQuality.SATURATED and np.isnan(r[Region.CANTHI].temperature_c)
    assert r[Region.FACE_MAX].quality == RegionQuality.SATURATED
    assert r[Region.FOREHEAD].ok and r[Region.FOREHEAD].temperature_c == pytest.approx(FOREHEAD, abs=0.006)
    nan_frame = painted_frame(pts)
    nan_frame[y, x] = np.nan
    assert th.read(nan_frame, True, th.geometry(pts, None)).readings[Region.CANTHI].quality == \
        RegionQuality.SATURATED


def test_pose_visibility_and_pixel_count():
    pts = frontal_landmarks()
    img = painted_frame(pts)
    th = Thermometer(SCHEME)
    r = th.read(img, True, th.geometry(pts, pose(60.0))).readings
    assert r[Region.CANTHI].quality == RegionQuality.NOT_VISIBLE
    assert r[Region.NOSTRILS].quality == RegionQuality.NOT_VISIBLE
    assert r[Region.FACE_MAX].ok  # the warmest pixel is still there at 60 deg
    down = th.read(img, True, th.geometry(pts, pose(0.0, pitch=35.0))).readings
    assert down[Region.NOSTRILS].quality == RegionQuality.NOT_VISIBLE and down[Region.FOREHEAD].ok
    tiny = frontal_landmarks(face_px=9.0)
    r = th.read(painted_frame(tiny), True, th.geometry(tiny, None)).readings
    assert r[Region.NOSE_TIP].quality == RegionQuality.TOO_FEW_PIXELS and r[Region.FACE_MAX].ok
    off = frontal_landmarks(centre=(-200.0, 130.0))  # the face is off the frame
    r = th.read(img, True, th.geometry(off, None)).readings
    assert r[Region.FOREHEAD].quality == RegionQuality.TOO_FEW_PIXELS
    assert Thermometer(get_scheme("tfw5")).geometry(np.zeros((5, 2)), None) is None


# ---------------------------------------------------------------------------------------------- breathing
@pytest.mark.parametrize("fps", [9.0, 30.0])
@pytest.mark.parametrize("bpm", [6.0, 15.0, 48.0])
def test_spectral_rate_of_a_noisy_cycle(fps, bpm):
    rng = np.random.default_rng(int(fps * bpm))
    t = np.arange(0, 20, 1 / fps)
    x = 34 + 0.3 * np.sin(2 * np.pi * bpm / 60 * t + 1) + 0.01 * t + rng.normal(0, 0.08, len(t))
    rate, conf = spectral_rate(t, x)
    assert abs(rate - bpm) <= 1.0 and conf >= 0.75
    rate, conf = spectral_rate(t, 34 + rng.normal(0, 0.08, len(t)))
    assert conf < BreathingConfig().min_confidence


def _sample(t, temp, anchor=(100.0, 100.0), yaw=0.0, mouth=34.0):
    return BreathingSample(t, temp, mouth, np.asarray(anchor), 20.0, yaw)


def test_estimator_states_and_resets():
    est = BreathingEstimator()
    fps, bpm = 10.0, 12.0
    states = []
    for i in range(200):
        t = i / fps
        states.append(est.update(_sample(t, 34 + 0.3 * np.sin(2 * np.pi * bpm / 60 * t))))
    assert states[50].state == BreathingState.WARMING_UP
    assert states[-1].state == BreathingState.OK and abs(states[-1].rate_bpm - bpm) < 1.0
    assert states[-1].source == BreathingSource.NOSTRILS
    assert est.update(_sample(20.1, 34.0, anchor=(110.0, 100.0))).state == BreathingState.MOVING  # 0.5 IOD
    assert est.update(_sample(20.2, 34.0, anchor=(110.0, 100.0))).state == BreathingState.WARMING_UP
    assert est.update(_sample(20.3, float("nan"))).state == BreathingState.NOT_VISIBLE
    est.update(_sample(20.4, 34.0))
    assert est.update(_sample(20.5, 34.0, yaw=20.0)).state == BreathingState.MOVING


def test_mouth_fallback_and_monitor_forgets_ids():
    est = BreathingEstimator()
    rng = np.random.default_rng(3)
    for i in range(200):
        t = i / 10.0
        b = est.update(_sample(t, 34 + rng.normal(0, 0.05), mouth=34 + 0.3 * np.sin(2 * np.pi * 0.3 * t)))
    assert b.state == BreathingState.OK and b.source == BreathingSource.MOUTH and abs(b.rate_bpm - 18) < 1
    mon = BreathingMonitor()
    for i in range(150):
        mon.update(1, _sample(i / 10.0, 34 + 0.3 * np.sin(i / 10.0)))
    mon.keep_only([2])  # track 1 lost; a re-identified face comes back as a new id
    assert mon.update(1, _sample(15.1, 34.0)).state == BreathingState.WARMING_UP


# ---------------------------------------------------------------------------------------------- face table
def test_face_table_columns():
    face_table = pytest.importorskip("thermal_fld_ros.ros.face_table")
    from std_msgs.msg import Header

    pts = frontal_landmarks()
    f_on, f_off = face(pts, 1), face(pts, 2)
    readout = ThermalReadout(SCHEME, FrameConfig())
    readout.annotate([f_on], ThermalFrame(painted_frame(pts), "temperature", "32FC1"), 0.0)
    rows = face_table.decode(face_table.encode([f_on, f_off], Header(), SCHEME.num_points))
    assert rows["temperature"].shape == (2, len(REGIONS))
    assert rows["temperature"][0, REGIONS.index(Region.CANTHI)] == pytest.approx(CANTHUS, abs=1e-4)
    assert (rows["temperature_quality"][0] == 0).all() and (rows["temperature_quality"][1] == 255).all()
    assert rows["breathing_state"][0] == BreathingState.WARMING_UP and np.isnan(rows["breathing_rate"][0])


# ---------------------------------------------------------------------------------------------- issue checks
CHECKED = ("canthi", "forehead", "nose_tip", "periorbital", "mouth", "face_max")

def run_sequence(frames, on_true_face: bool = False, **cfg):
    """[(frame, face)]: the first face, or with ``on_true_face`` the first one centred on the true face (a
    false track may come first)."""
    from thermal_fld_ros.pipeline import Pipeline

    pipe = Pipeline(PipelineConfig(**cfg))
    out = []
    for fr in frames:
        res = pipe.process(from_array(fr.counts, "16UC1", pipe.frame_cfg), fr.stamp_s)
        faces = res.faces
        if on_true_face:
            centre, width = fr.landmarks[:68].mean(0), np.ptp(fr.landmarks[:68, 0])
            faces = [f for f in faces if np.hypot(*(f.landmarks[:68].mean(0) - centre)) < 0.2 * width]
        out.append((fr, faces[0] if faces else None))
    return out


@pytest.fixture(scope="module")
def scene_index():
    pytest.importorskip("training.data.synth.render")
    from training.data.synth.breathing import find_scene

    return find_scene(11)


@pytest.mark.parametrize("fps, bpm", [(9.0, 15.0), (30.0, 24.0)])
def test_synthetic_sequence_regions_and_rate(scene_index, fps, bpm):
    from training.data.synth.breathing import breathing_sequence

    out = run_sequence(breathing_sequence(11, fps, 18.0, bpm, index=scene_index))
    assert all(f is not None for _, f in out), "the bundled student lost the face"
    errors = {r: [] for r in CHECKED}
    rates = []
    for fr, f in out:
        for r in CHECKED:
            reading = f.thermal.readings[Region(r)]
            assert reading.ok, (r, quality_label(reading.quality))
            errors[r].append(abs(reading.temperature_c - fr.regions_c[r]))
        if f.breathing.state == BreathingState.OK:
            rates.append(f.breathing.rate_bpm)
    worst = {r: max(e) for r, e in errors.items()}
    assert max(worst.values()) <= 0.3, worst
    assert len(rates) >= 0.25 * len(out)  # reported from 12 s on
    assert max(abs(np.asarray(rates) - bpm)) <= 2.0


def test_no_rate_when_the_face_turns_away(scene_index):
    from training.data.synth.breathing import breathing_sequence

    out = run_sequence(breathing_sequence(11, 9.0, 30.0, 15.0, index=scene_index, turn_away_at_s=15.0,
                                          turned_yaw_deg=80.0, truth_regions=False))
    before = [f for fr, f in out if not fr.turned]
    after = [f for fr, f in out if fr.turned]
    assert any(f is not None and f.breathing.state == BreathingState.OK for f in before)
    assert not any(f is not None and f.breathing.state == BreathingState.OK for f in after)


# The same checks on the issue-8 generator's ICT-FaceKit heads (real-scan shapes, the generator's own breathing
# at the nostril rims, blinks, full sensor model), the faces the bundled student learnt from. Scene 27 of
# seed 11: 320x240, one face 79 px wide, the first ICT sequence of that seed that the bundled detector finds
# (the fixture re-checks both, so a generator change that moves it fails here, not silently). The fixture
# renders it without fps; the sequences below pass fps=9/30, which makes render_sequence skip its frame-rate
# draw, so they show another scene of the same seed and index: one face 24 px wide (IOD 10.6 px).
ICT_SCENE = (11, 27)


def _ict_truth_nme(pipe, sample) -> float:
    pts = np.asarray(sample.annotation["faces"][0]["landmarks"], np.float64)
    res = pipe.process(from_array(sample.thermal_counts, "16UC1", pipe.frame_cfg), 0.0)
    iod = np.linalg.norm(pts[36:42].mean(0) - pts[42:48].mean(0))
    return min((float(np.linalg.norm(f.landmarks[:68] - pts[:68], axis=1).mean() / iod) for f in res.faces),
               default=float("inf"))


@pytest.fixture(scope="module")
def ict_scene():
    if not ICT_MODEL.is_dir():
        pytest.skip(f"ICT-FaceKit model not found at {ICT_MODEL} (shared data absent)")
    pytest.importorskip("training.data.synth.ict.scene")
    from thermal_fld_ros.pipeline import Pipeline
    from training.data.synth.breathing import ict_sequence_options, whole_face_in_frame
    from training.data.synth.ict.scene import render_sequence

    seed, index = ICT_SCENE
    s = render_sequence(index, seed, ict_sequence_options(str(ICT_MODEL)), 1, ypr=(0.0, 0.0, 0.0))[0]
    faces = s.annotation["faces"]
    assert len(faces) == 1 and whole_face_in_frame(np.asarray(faces[0]["landmarks"]), s.annotation, 45.0), \
        "scene moved"
    assert _ict_truth_nme(Pipeline(PipelineConfig()), s) < 0.15, "the bundled detector + student miss this face"
    return ICT_SCENE


@pytest.mark.parametrize("fps", [9.0, 30.0])
def test_ict_sequence_rate(ict_scene, fps):
    from training.data.synth.breathing import ict_breathing_sequence

    seed, index = ict_scene
    out = run_sequence(ict_breathing_sequence(str(ICT_MODEL), seed, fps, 18.0, index=index, truth_regions=False),
                       on_true_face=True)
    assert sum(f is not None for _, f in out) >= 0.9 * len(out), "the bundled student lost the face"
    rates = [f.breathing.rate_bpm - fr.rate_bpm for fr, f in out
             if f is not None and f.breathing.state == BreathingState.OK]
    assert len(rates) >= 0.25 * len(out)  # reported from 12 s on
    assert max(np.abs(rates)) <= 2.0


# Every region read at the student's landmarks within 0.3 C of the reading at the true landmarks on the
# vetted ICT scene (79 px face). Until 2026-12-03 render_sequence skipped its frame-rate draw when given
# fps, so these sequences were another scene (a 24 px face, nose-tip disc ~1 px in radius) and this test was
# a strict xfail (nose tip 0.51 C off, 0.31 with the flip test).
@pytest.mark.parametrize("fps", [9.0, 30.0])
def test_ict_sequence_regions(ict_scene, fps):
    from training.data.synth.breathing import ict_breathing_sequence

    seed, index = ict_scene
    out = run_sequence(ict_breathing_sequence(str(ICT_MODEL), seed, fps, 18.0 if fps < 20 else 8.0, index=index),
                       on_true_face=True)
    worst = {r: 0.0 for r in CHECKED}
    for fr, f in out:
        assert f is not None, "the bundled student lost the face"
        for r in CHECKED:
            reading = f.thermal.readings[Region(r)]
            assert reading.ok, (r, quality_label(reading.quality))
            worst[r] = max(worst[r], abs(reading.temperature_c - fr.regions_c[r]))
    assert max(worst.values()) <= 0.3, worst


def test_ict_no_rate_when_the_face_turns_away(ict_scene):
    from training.data.synth.breathing import ict_breathing_sequence

    seed, index = ict_scene
    out = run_sequence(ict_breathing_sequence(str(ICT_MODEL), seed, 9.0, 30.0, index=index, turn_away_at_s=15.0,
                                              truth_regions=False), on_true_face=True)
    before = [f for fr, f in out if not fr.turned]
    after = [f for fr, f in out if fr.turned]
    assert any(f is not None and f.breathing.state == BreathingState.OK for f in before)
    assert not any(f is not None and f.breathing.state == BreathingState.OK for f in after)


def test_real_radiometric_frames_read_physiological_temperatures():
    if not (REAL / "arrays").is_dir():
        pytest.skip(f"real radiometric frames not found at {REAL} (shared data absent)")
    th = Thermometer(get_scheme("sftl54"))
    for name in ("1_11178", "1_11732"):
        fahrenheit = np.load(REAL / "arrays" / f"{name}.npy")
        frame = from_array(fahrenheit.astype(np.float32), "32FC1", FrameConfig(float_unit="fahrenheit"))
        labels = np.loadtxt(REAL / "labels" / f"{name}.txt")
        r = th.read(frame.data, True, th.geometry(labels[:, 1:3] * [640, 512], None)).readings
        assert 34.5 <= r[Region.CANTHI].temperature_c <= 37.5, r[Region.CANTHI]
        assert 31.5 <= r[Region.FOREHEAD].temperature_c <= 36.5, r[Region.FOREHEAD]
        assert r[Region.FOREHEAD].temperature_c < r[Region.CANTHI].temperature_c


# ---------------------------------------------------------------------------------------------- overlay
def test_overlay_shows_readings_and_breathing_state():
    from thermal_fld_ros.draw import _thermal_lines, draw_result
    from thermal_fld_ros.types import Breathing, FrameResult

    pts = frontal_landmarks()
    f = face(pts)
    ThermalReadout(SCHEME, FrameConfig()).annotate([f], ThermalFrame(painted_frame(pts), "temperature", "32FC1"), 0.0)
    assert _thermal_lines(f) == ["canthi 36.5C forehead 35.0C", "breath: warming up"]
    f.breathing = Breathing(14.2, 0.9, BreathingState.OK, BreathingSource.NOSTRILS, 20.0)
    assert _thermal_lines(f)[1] == "breath 14.2/min (0.90)"
    base = draw_result(np.full((260, 320), 0.5, np.float32), FrameResult([face(pts)], 320, 260))
    with_text = draw_result(np.full((260, 320), 0.5, np.float32), FrameResult([f], 320, 260))
    assert (base != with_text).any()
    f.thermal.radiometric = False
    assert _thermal_lines(f)[0].startswith("temperature n/a")


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_json_and_csv_columns(tmp_path):
    import csv
    import json

    from model_factory import make_fixed_landmark_model
    from synthetic_frames import thermal_frame, to_counts

    from thermal_fld_ros.cli import main

    model = str(make_fixed_landmark_model(tmp_path / "m.onnx"))
    for name, img in (("radiometric", to_counts(thermal_frame(faces=[(150, 110, 40, 0)], seed=1))),
                      ("agc", np.clip((thermal_frame(faces=[(150, 110, 40, 0)], seed=1) - 20) * 12, 0, 255)
                       .astype(np.uint8))):
        src = tmp_path / name
        src.mkdir()
        cv2.imwrite(str(src / "f0.png"), img)
        out = tmp_path / f"out_{name}"
        assert main(["predict", str(src), "--model", model, "--out", str(out)]) == 0
        face_json = json.loads((out / "landmarks.jsonl").read_text().splitlines()[0])["faces"][0]
        with open(out / "landmarks.csv") as fh:
            row = next(csv.DictReader(fh))
        th = face_json["thermal"]
        assert set(th["regions"]) == {r.value for r in REGIONS}
        assert th["breathing"]["state"] in ("warming_up", "not_visible", "unavailable")
        assert row["breathing_bpm"] == ""
        if name == "radiometric":
            assert th["radiometric"] and th["regions"]["face_max"]["quality"] == "ok"
            assert 25.0 < float(row["t_face_max"]) < 40.0 and row["q_face_max"] == "ok"
        else:
            assert not th["radiometric"] and th["regions"]["canthi"]["temperature_c"] is None
            assert row["t_canthi"] == "" and row["q_canthi"] == "not_radiometric"
            assert row["breathing_state"] == "unavailable"


# ---------------------------------------------------------------------------------------------- node
@pytest.mark.ros
def test_node_publishes_readings_and_diagnostics_say_whether_they_exist(tmp_path):
    pytest.importorskip("rclpy")
    from model_factory import make_fixed_landmark_model
    from ros_harness import Harness, centred_template, encode_temperature, face_temperature

    from thermal_fld_ros.ros import face_table

    model = str(make_fixed_landmark_model(tmp_path / "fixed.onnx", crop_points=centred_template()))
    h = Harness()
    try:
        io = h.start_node({"model_path": model, "diagnostics_period_s": 0.2, "log_throttle_s": 0.0})
        frame = face_temperature(centre=(200.0, 120.0), size=(60.0, 76.0), seed=0)
        for encoding, expect in (("16UC1", "available (16UC1 radiometric)"), ("mono8", "unavailable: mono8")):
            _, table = io.roundtrip(encode_temperature(frame, encoding), encoding)
            rows = face_table.decode(table)
            assert len(rows) == 1
            q = rows["temperature_quality"][0]
            if encoding == "16UC1":
                assert q[REGIONS.index(Region.FACE_MAX)] == 0 and 25 < rows["temperature"][0][-1] < 40
            else:
                assert (q == RegionQuality.NOT_RADIOMETRIC).all() and np.isnan(rows["temperature"][0]).all()
                assert rows["breathing_state"][0] == BreathingState.UNAVAILABLE

            def says(d, expect=expect):
                v = {kv.key: kv.value for kv in d.status[0].values} if d.status else {}
                return v.get("thermometry", "").startswith(expect)

            assert h.diagnostics.wait_for(says, timeout=5.0) is not None, expect
    finally:
        h.close()
