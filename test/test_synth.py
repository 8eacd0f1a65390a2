"""The paired synthetic generator: landmarks sit on the rendered features in both modalities, pose and
visibility are right, output is deterministic, and the loader reads back exactly what was written."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from thermal_fld_ros.pose import MODEL_TO_HEAD, ypr_from_rotation
from thermal_fld_ros.schemes import IBUG70
from training.data.records import load_thermal, read_image
from training.data.synth.camera import matrix_to_ypr, sample_ypr, ypr_to_matrix
from training.data.synth.face_model import hair_mask, origin_offset, surface_points
from training.data.synth.loader import load_synth_split
from training.data.synth.render import SynthOptions, render_sample
from training.data.synth.writer import write_split

PLAIN = SynthOptions(glasses_prob=0.0, out_of_frame_prob=0.0)


def _celsius(sample) -> np.ndarray:
    return sample.thermal_counts.astype(np.float64) * 0.01 - 273.15


def _frontal(n: int, seed: int = 5, opts: SynthOptions = PLAIN):
    """Near-frontal samples (yaw, pitch, roll within a few degrees) with all points visible."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ypr = tuple(rng.uniform(-8, 8, 3))
        out.append(render_sample(i, seed, opts, ypr=ypr))
    return out


@pytest.fixture(scope="module")
def frontal():
    return _frontal(6)


def _value(img: np.ndarray, uv) -> np.ndarray:
    u, v = int(round(uv[0])), int(round(uv[1]))
    return img[v, u]


def test_pupils_on_warm_eye_pixels(frontal):
    for s in frontal:
        t = _celsius(s)
        f = s.annotation["faces"][0]
        lm = np.asarray(f["landmarks"])
        eye_w = np.linalg.norm(lm[36] - lm[39])
        r = int(round(eye_w))
        for pupil in (68, 69):
            u, v = np.round(lm[pupil]).astype(int)
            window = t[max(v - r, 0):v + r + 1, max(u - r, 0):u + r + 1]
            tp = t[v, u]
            # the pupil lies in the warm eye opening: warmer than most of the eye region around it
            assert tp >= np.percentile(window, 70), (s.annotation["faces"][0]["pose"], pupil)
            # and warmer than the brow above and the cheek below it
            assert tp > t[int(v - 0.8 * eye_w), u] and tp > t[int(v + 1.0 * eye_w), u]
            # the warm eye opening is a thin horizontal band: its warmest row is the pupil's (+-1 px)
            hw, vh = max(1, int(0.25 * eye_w)), int(0.6 * eye_w)
            rows = t[v - vh:v + vh + 1, u - hw:u + hw + 1].mean(1)
            assert abs(int(np.argmax(rows)) - vh) <= 1


def _redness(img: np.ndarray, uv) -> float:
    """Red / green of a 3x3 patch: lips are redder than skin of any tone, whatever the lighting."""
    u, v = int(round(uv[0])), int(round(uv[1]))
    patch = img[v - 1:v + 2, u - 1:u + 2].reshape(-1, 3).mean(0)
    return float(patch[0] / (patch[1] + 1.0))


def test_mouth_corners_at_lip_edge_in_rgb(frontal):
    for s in frontal:
        img = s.rgb.astype(np.float64)
        lm = np.asarray(s.annotation["faces"][0]["landmarks"])
        width = np.linalg.norm(lm[54] - lm[48])
        d = max(2.0, 0.12 * width)
        for corner, direction in ((48, 1.0), (54, -1.0)):  # direction: towards the mouth centre
            c = lm[corner]
            inside = _redness(img, c + [direction * d, 0])
            outside = _redness(img, c - [direction * d, 0])
            # the hue changes across the corner: lip just inside, skin just outside
            assert inside > outside * 1.08


def test_rgb_and_thermal_share_geometry(frontal):
    """One landmark set serves both images: at the same pixel the RGB shows the dark iris between
    bright sclera and the thermal frame a warm eye opening below a cooler brow."""
    for s in frontal:
        assert s.rgb.shape[:2] == s.thermal_counts.shape
        grey = cv2.cvtColor(s.rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
        t = _celsius(s)
        lm = np.asarray(s.annotation["faces"][0]["landmarks"])
        eye_w = np.linalg.norm(lm[36] - lm[39])
        for pupil, outer, inner in ((68, 36, 39), (69, 45, 42)):
            c = lm[pupil]
            sclera = max(_value(grey, 0.55 * c + 0.45 * lm[outer]), _value(grey, 0.55 * c + 0.45 * lm[inner]))
            assert _value(grey, c) < sclera - 10
            assert _value(t, c) > _value(t, c - [0, 0.8 * eye_w]) + 0.2


def test_pose_round_trips_through_solvepnp():
    rng = np.random.default_rng(3)
    errs_mean = []
    for i in range(12):
        ypr = (rng.uniform(-50, 50), rng.uniform(-25, 25), rng.uniform(-20, 20))
        s = render_sample(i, 21, PLAIN, ypr=ypr)
        f = s.annotation["faces"][0]
        k = np.asarray(s.annotation["camera_matrix"])
        uv, vis = np.asarray(f["landmarks"]), np.asarray(f["visible"]) > 0
        rot = np.asarray(f["pose"]["R"])
        assert np.allclose(matrix_to_ypr(rot), ypr, atol=1e-3)
        assert np.allclose(ypr_to_matrix(*ypr), rot, atol=1e-6)
        # the runtime (thermal_fld_ros.pose) reads the same angles from this rotation
        assert np.allclose(ypr_from_rotation(rot @ MODEL_TO_HEAD), ypr, atol=1e-3)
        # the sample's own 3D points: exact
        ok, rv, tv = cv2.solvePnP(s.heads[0].points[vis], uv[vis], k, None, flags=cv2.SOLVEPNP_ITERATIVE)
        assert ok
        r_est = cv2.Rodrigues(rv)[0]
        ang = np.degrees(np.arccos(np.clip((np.trace(r_est.T @ rot) - 1) / 2, -1, 1)))
        assert ang < 0.2
        assert np.linalg.norm(tv.ravel() - np.asarray(f["pose"]["t"])) < 0.002 * np.linalg.norm(tv)
        # the runtime's mean face: a few degrees (identity and expression differ from the mean)
        mean = IBUG70.mean_face_3d()
        ok, rv, tv = cv2.solvePnP(mean[vis], uv[vis], k, None, flags=cv2.SOLVEPNP_SQPNP)
        errs_mean.append(np.abs(np.subtract(matrix_to_ypr(cv2.Rodrigues(rv)[0]), ypr)))
    assert np.mean(errs_mean) < 5.0


def test_far_side_hidden_in_profile():
    # yaw > 0: the subject turns to their left, so their left side goes away from the camera
    far_left = [16, 15, 14, 13, 26, 25, 45, 44, 46]
    far_right = [0, 1, 2, 3, 17, 18, 36, 37, 41]
    for yaw, far, near in ((80.0, far_left, [36, 37, 41, 30]), (-80.0, far_right, [45, 44, 46, 30])):
        s = render_sample(0, 4, PLAIN, ypr=(yaw, 0.0, 0.0))
        vis = np.asarray(s.annotation["faces"][0]["visible"])
        assert not vis[far].any(), (yaw, vis[far])
        assert vis[near].all(), (yaw, vis[near])
    s = render_sample(0, 4, PLAIN, ypr=(0.0, 0.0, 0.0))
    assert np.asarray(s.annotation["faces"][0]["visible"])[:68].all()


def _window_max(img: np.ndarray, uv, r: int = 2) -> float:
    u, v = int(round(uv[0])), int(round(uv[1]))
    return float(img[max(v - r, 0):v + r + 1, max(u - r, 0):u + r + 1].max())


def test_temperatures_plausible():
    found_hair = 0
    wide = SynthOptions(glasses_prob=0.0, out_of_frame_prob=0.0, crop_scale=2.2)  # hair inside the crop
    for s in _frontal(6, seed=12, opts=wide):
        t = _celsius(s)
        lm = np.asarray(s.annotation["faces"][0]["landmarks"])
        canthus = max(_window_max(t, lm[39]), _window_max(t, lm[42]))
        nose = _value(t, lm[30])
        assert 33.5 < canthus < 37.8  # low sensor resolution and blur lower the 35.5-37 deg C peak
        assert 26.0 < nose < 35.5
        assert canthus > nose
        h = s.heads[0]
        if h.params.hair == "none":
            continue
        phis = np.linspace(0.6, 1.3, 30)
        cover = hair_mask(np.zeros(30), phis, h.params)
        if cover.max() < 0.99:
            continue
        phi = phis[np.argmax(cover > 0.99)] + 0.05  # just above the hairline on the forehead
        top, _ = surface_points(np.array([0.0]), np.array([phi]), h.params)
        pc = (top - origin_offset(h.params)) @ h.rot.T + h.trans
        k = np.asarray(s.annotation["camera_matrix"])
        u, v = (pc[0, :2] / pc[0, 2]) * [k[0, 0], k[1, 1]] + [k[0, 2], k[1, 2]]
        if 0 <= u < t.shape[1] and 0 <= v < t.shape[0]:
            assert _value(t, (u, v)) < nose, "hair should be colder than the nose tip"
            found_hair += 1
    assert found_hair >= 1


def test_deterministic_parallel_equals_serial_and_loader_reads_back(tmp_path):
    opts = SynthOptions(agc8=True)
    a = write_split(tmp_path / "a", "val", 6, seed=5, opts=opts, workers=1, progress=False)
    b = write_split(tmp_path / "b", "val", 6, seed=5, opts=opts, workers=2, progress=False)
    assert a.read_bytes() == b.read_bytes()
    for sub in ("thermal", "rgb", "thermal8"):
        fa = sorted((tmp_path / "a" / "val" / sub).iterdir())
        fb = sorted((tmp_path / "b" / "val" / sub).iterdir())
        assert [p.name for p in fa] == [p.name for p in fb] and len(fa) == 6
        assert all(x.read_bytes() == y.read_bytes() for x, y in zip(fa, fb))
    doc = json.loads(a.read_text())
    assert doc["format"] == "thermal_fld.synth/1" and doc["scheme"] == "ibug70"
    assert doc["thermal_decoding"] == {"type": "counts", "scale": 0.01, "offset": -273.15}
    records = load_synth_split(tmp_path / "a", "val")
    assert len(records) == 6
    for rec, entry in zip(records, doc["samples"]):
        s = render_sample(int(entry["id"]), 5, opts)
        face = s.annotation["faces"][0]
        assert np.array_equal(rec.landmarks, np.asarray(face["landmarks"]))
        assert np.array_equal(rec.visible, np.asarray(face["visible"]))
        assert np.allclose(rec.pose_ypr_deg, [face["pose"][k] for k in ("yaw", "pitch", "roll")])
        assert np.array_equal(rec.camera_matrix, np.asarray(s.annotation["camera_matrix"]))
        temp, _ = load_thermal(rec)
        assert np.abs(temp - s.temperature).max() < 0.0051  # 0.01 K counts
        assert np.array_equal(read_image(rec.image_path), s.thermal_counts)
        rgb = read_image(rec.rgb_path)
        assert rgb.shape == s.rgb.shape and np.abs(rgb.astype(int) - s.rgb).mean() < 6  # JPEG q93 of a noisy image


def test_scenes_mode_frames_with_several_faces():
    opts = SynthOptions(mode="scenes", max_faces=3)
    counts = []
    for i in range(4):
        s = render_sample(i, 8, opts)
        w, h = s.annotation["width"], s.annotation["height"]
        assert (w, h) in {(160, 120), (320, 240), (384, 288), (640, 480), (640, 512)}
        assert s.thermal_counts.shape == (h, w) and s.rgb.shape == (h, w, 3)
        for f in s.annotation["faces"]:
            lm, vis = np.asarray(f["landmarks"]), np.asarray(f["visible"]) > 0
            inside = (lm[:, 0] >= 0) & (lm[:, 0] <= w - 1) & (lm[:, 1] >= 0) & (lm[:, 1] <= h - 1)
            assert not (vis & ~inside).any()  # out-of-frame points are never visible
        counts.append(len(s.annotation["faces"]))
    assert max(counts) >= 2


def test_frontal_yaw_sd_widens_the_range_but_keeps_the_frontal_faces():
    """max_yaw 90 with the 70 deg recipe's frontal spread reaches profile as often as plain 90 deg does, and
    keeps as many near-frontal faces as 70 deg did; plain 90 deg thins them out."""
    def yaws(max_yaw, yaw_sd=0.0):
        rng = np.random.default_rng(3)
        return np.abs([sample_ypr(rng, max_yaw, yaw_sd=yaw_sd)[0] for _ in range(4000)])

    narrow, plain_wide, kept_core = yaws(70.0), yaws(90.0), yaws(90.0, yaw_sd=70.0 / 3)
    frontal = {name: float(np.mean(y < 20.0)) for name, y in
               (("narrow", narrow), ("plain", plain_wide), ("kept", kept_core))}
    assert abs(frontal["kept"] - frontal["narrow"]) < 0.03, frontal
    assert frontal["plain"] < frontal["narrow"] - 0.05, frontal
    assert narrow.max() <= 70.0 and np.mean(kept_core > 75.0) > 0.03
    with pytest.raises(ValueError, match="frontal_yaw_sd"):
        SynthOptions(frontal_yaw_sd=-1.0)


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown synth mode"):
        render_sample(0, 0, SynthOptions(mode="video"))
    with pytest.raises(ValueError, match="glasses_prob"):
        SynthOptions(glasses_prob=1.5)
    with pytest.raises(FileNotFoundError, match="annotations.json"):
        load_synth_split(tmp_path, "train")
    split = tmp_path / "train"
    split.mkdir()
    (split / "annotations.json").write_text(json.dumps({"format": "other/1"}))
    with pytest.raises(ValueError, match="format"):
        load_synth_split(tmp_path, "train")
    doc = {"format": "thermal_fld.synth/1", "scheme": "ibug70",
           "thermal_decoding": {"type": "counts", "scale": 0.01, "offset": -273.15},
           "samples": [{"id": "0", "thermal": "thermal/0.png", "rgb": "rgb/0.jpg", "camera_matrix": np.eye(3).tolist(),
                        "ambient_c": 20.0, "width": 8, "height": 8,
                        "faces": [{"landmarks": [[1.0, 2.0]] * 69, "visible": [1] * 69, "box": [0, 0, 1, 1],
                                   "pose": {"R": np.eye(3).tolist(), "t": [0, 0, 1], "yaw": 0, "pitch": 0,
                                            "roll": 0}}]}]}
    (split / "annotations.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="bad landmarks"):
        load_synth_split(tmp_path, "train")


def test_open_mouth_between_inner_lip_landmarks():
    """Jaw opening: the cavity (dark in RGB, warm in thermal) lies between the inner-lip landmarks."""
    found = 0
    for i in range(60):
        s = render_sample(i, 31, PLAIN, ypr=(0.0, 0.0, 0.0))
        if s.heads[0].params.jaw_open < 0.6:
            continue
        lm = np.asarray(s.annotation["faces"][0]["landmarks"])
        assert lm[66, 1] - lm[62, 1] > 5  # the lower inner lip moved down with the jaw
        grey = cv2.cvtColor(s.rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
        t = _celsius(s)
        mid, upper, lower = (lm[62] + lm[66]) / 2, (lm[51] + lm[62]) / 2, (lm[57] + lm[66]) / 2
        assert _value(grey, mid) < min(_value(grey, upper), _value(grey, lower)) - 2
        assert _value(t, mid) > max(_value(t, upper), _value(t, lower)) + 0.3
        found += 1
        if found == 2:
            break
    assert found == 2
