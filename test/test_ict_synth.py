"""The ICT face source of the synthetic generator: loader and its errors on a tiny OBJ fixture, and on
the real model (../shared, skipped without it) landmarks on the rendered features, exact pose, and the
held-out identity split."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_fld_ros.types import Region
from training.data.synth.ict.model import (
    FaceModelError,
    load_cache,
    load_face_model,
    parse_obj_folder,
    save_cache,
)

ICT_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "face_model_ict" / "FaceXModel"
needs_ict = pytest.mark.skipif(not (ICT_DIR / "generic_neutral_mesh.obj").is_file(),
                               reason=f"ICT Face Model not present at {ICT_DIR} (../shared data)")

_V = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1]], float)


def _write_obj(path: Path, v: np.ndarray, faces: bool) -> None:
    lines = ["# tiny fixture in the published layout", "usemtl skin"]
    for i, p in enumerate(v):
        lines.append(f"v {p[0]:.6f} {p[1]:.6f} {p[2]:.6f}")
        if i == 2:
            lines.append("usemtl other")  # the vertex-only files interleave usemtl lines
    if faces:
        lines += ["vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1", "vt 0.5 0.5",
                  "f 1/1 2/2 3/3 4/4", "f 1/1 2/2 5/5", "f 2/2 3/3 5/5"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _fixture(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    _write_obj(d / "generic_neutral_mesh.obj", _V, True)
    _write_obj(d / "identity000.obj", _V + [0, 0, 0.1], False)
    _write_obj(d / "identity001.obj", _V * 1.1, False)
    _write_obj(d / "jawOpen.obj", _V + [0, -0.2, 0], False)
    return d


def test_tiny_model_loads_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMAL_FLD_CACHE", str(tmp_path / "cache"))
    d = _fixture(tmp_path / "FaceXModel")
    m = parse_obj_folder(d)
    assert m.neutral.shape == (5, 3) and m.faces.shape == (4, 3)  # the quad split in two
    assert m.identity.shape == (2, 5, 3) and m.expression_names == ("jawOpen",)
    assert np.allclose(m.identity[0][:, 2], 0.1, atol=1e-3) and np.allclose(m.expression[0][:, 1], -0.2, atol=1e-3)
    assert np.allclose(m.uv[4], [0.5, 0.5])
    m2 = load_face_model(tmp_path)  # the repository root works too
    assert list((tmp_path / "cache").glob("ict_*.npz")), "no cache written"
    m3 = load_cache(save_cache(m2, tmp_path / "c.npz"))
    assert np.array_equal(m3.faces, m.faces) and np.array_equal(m3.identity, m.identity)


@pytest.mark.parametrize("breakage, words", [
    ("missing_dir", "does not exist"),
    ("no_neutral", "generic_neutral_mesh.obj"),
    ("no_identity", "identity###.obj"),
    ("count", "has 4 vertices"),
    ("nonnumeric", "non-numeric"),
    ("bad_face", "missing vertex"),
    ("bad_cache", "not a face-model cache"),
])
def test_loader_errors_are_one_line(tmp_path, monkeypatch, breakage, words):
    monkeypatch.setenv("THERMAL_FLD_CACHE", str(tmp_path / "cache"))
    d = _fixture(tmp_path / "m")
    target = d
    if breakage == "missing_dir":
        target = tmp_path / "nowhere"
    elif breakage == "no_neutral":
        (d / "generic_neutral_mesh.obj").unlink()
    elif breakage == "no_identity":
        for f in d.glob("identity*.obj"):
            f.unlink()
    elif breakage == "count":
        _write_obj(d / "jawOpen.obj", _V[:4], False)
    elif breakage == "nonnumeric":
        (d / "identity001.obj").write_text("v 1 2 x\n", encoding="utf-8")
    elif breakage == "bad_face":
        (d / "generic_neutral_mesh.obj").write_text(
            "\n".join(f"v {a} {b} {c}" for a, b, c in _V) + "\nf 1 2 9\n", encoding="utf-8")
    elif breakage == "bad_cache":
        target = tmp_path / "x.npz"
        target.write_bytes(b"not a zip")
    with pytest.raises(FaceModelError) as e:
        load_face_model(target)
    msg = str(e.value)
    assert words in msg and "\n" not in msg, msg


def test_tiny_model_is_refused_for_rendering(tmp_path, monkeypatch):
    from training.data.synth.ict.rig import build_rig

    monkeypatch.setenv("THERMAL_FLD_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FaceModelError, match="26719"):
        build_rig(parse_obj_folder(_fixture(tmp_path / "m")))


def test_cli_reports_a_bad_face_model_in_one_line(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "training", "synth", "--face-model", str(tmp_path / "none"),
                        "--out", str(tmp_path / "o"), "--split", "train=1"], capture_output=True, text=True,
                       cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("synth: face model:") and "does not exist" in last, r.stderr[-500:]


# ---- the real model --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ict():
    from training.data.synth.ict.rig import load_rig
    from training.data.synth.render import SynthOptions

    opts = SynthOptions(face_model=str(ICT_DIR), glasses_prob=0.0, accessories=False, out_of_frame_prob=0.0,
                        size=256)
    return load_rig(str(ICT_DIR)), opts


def _render(opts, index, ypr):
    from training.data.synth.render import render_sample

    return render_sample(index, 3, opts, ypr=ypr)


@needs_ict
def test_pupils_inside_the_iris_disc(ict):
    from training.data.synth.camera import project
    from training.data.synth.ict.rig import IRIS_L, IRIS_R

    rig, opts = ict
    for i in range(4):
        s = _render(opts, i, (float(10 * i - 15), 5.0, 0.0))
        h = s.heads[0]
        f = s.annotation["faces"][0]
        k = np.asarray(s.annotation["camera_matrix"])
        vc = h.camera_vertices()
        for p, (a, b) in zip((68, 69), (IRIS_R, IRIS_L)):
            iris = (rig.keep >= a) & (rig.keep < b)
            hull = cv2.convexHull(project(vc[iris], k).astype(np.float32))
            uv = tuple(float(x) for x in f["landmarks"][p])
            if h.expression.get("eyeBlink_L", 0) < 0.5 and h.expression.get("eyeBlink_R", 0) < 0.5:
                assert f["visible"][p] == 1
            assert cv2.pointPolygonTest(hull, uv, True) > 1.0, (i, p)  # > 1 px inside the iris outline


@needs_ict
def test_mouth_corners_at_the_lip_junction(ict):
    from training.data.synth.ict.rig import R

    rig, opts = ict
    s = _render(opts, 0, (0.0, 0.0, 0.0))
    h = s.heads[0]
    lips = rig.regions[:, R["lips"]] > 0.5
    lv = h.verts[lips]
    pts = h.verts[rig.landmarks]
    # the corners are the lateral ends of the lips, at the height where upper and lower lip meet
    assert abs(pts[48, 0] - lv[:, 0].min()) < 0.003 and abs(pts[54, 0] - lv[:, 0].max()) < 0.003
    inner = pts[[61, 62, 63, 65, 66, 67], 1]
    assert inner.min() - 0.006 < pts[48, 1] < inner.max() + 0.006


@needs_ict
def test_jaw_on_the_outline_at_60_degrees(ict):
    from training.data.synth.camera import project
    from training.data.synth.ict.zbuffer import rasterise

    rig, opts = ict
    for yaw in (60.0, -60.0):
        s = _render(opts, 1, (yaw, 0.0, 0.0))
        f = s.annotation["faces"][0]
        h = s.heads[0]
        k = np.asarray(s.annotation["camera_matrix"])
        vc = h.camera_vertices()
        depth = rasterise(project(vc, k), vc[:, 2], rig.faces, 256, 256).depth
        far = range(9, 16) if yaw > 0 else range(1, 8)  # yaw > 0: the subject's left side turns away
        out = (h.rot @ np.array([1.0 if yaw > 0 else -1.0, 0, 0]))[:2]
        out /= np.linalg.norm(out)
        on_outline = n_visible = 0
        for j in far:
            u, v = f["landmarks"][j]
            z0 = depth[int(round(v)), int(round(u))]
            beyond = [depth[int(round(v + out[1] * r)), int(round(u + out[0] * r))] for r in (2.0, 3.0, 4.0)]
            on_outline += any((not np.isfinite(z)) or z > z0 + 0.02 for z in beyond)
            n_visible += f["visible"][j]
        # the top two sit where the cheek outline meets the side of the nose (no depth step there)
        assert on_outline >= len(far) - 2 and n_visible >= len(far) - 2, (yaw, on_outline, n_visible)
        fixed = project(vc[rig.landmarks[list(far)]], k)
        gain = (np.asarray(f["landmarks"])[list(far)] - fixed) @ out
        assert gain.max() > 3.0 and gain.min() > -0.5  # marched outwards, past the fixed vertices


@needs_ict
def test_solvepnp_on_exact_landmarks_returns_the_pose(ict):
    rig, opts = ict
    for i, ypr in enumerate([(0.0, 0.0, 0.0), (35.0, -10.0, 8.0), (-70.0, 20.0, -15.0)]):
        s = _render(opts, i, ypr)
        h = s.heads[0]
        f = s.annotation["faces"][0]
        k = np.asarray(s.annotation["camera_matrix"])
        sel = list(range(17, 70))  # the fixed-vertex points (jaw points march along the outline)
        obj = h.verts[np.concatenate([rig.landmarks, rig.pupils])][sel]
        img = np.asarray(f["landmarks"])[sel]
        ok, rv, tv = cv2.solvePnP(obj, img, k, None, flags=cv2.SOLVEPNP_ITERATIVE)
        assert ok
        rot, _ = cv2.Rodrigues(rv)
        ang = np.degrees(np.arccos(np.clip((np.trace(rot.T @ np.asarray(f["pose"]["R"])) - 1) / 2, -1, 1)))
        assert ang < 0.2 and np.linalg.norm(tv.ravel() - np.asarray(f["pose"]["t"])) < 0.001, (ypr, ang)


@needs_ict
def test_held_out_identities_never_in_training_splits(tmp_path):
    from training.data.synth.ict.shape import HELD_OUT
    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split

    opts = SynthOptions(face_model=str(ICT_DIR), size=48)
    seen = {}
    for split in ("train", "val", "test"):
        path = write_split(tmp_path, split, 6, seed=11, opts=opts, workers=1, progress=False)
        doc = json.loads(path.read_text())
        assert doc["generator"]["identity_split"]["heldout"] == [0, HELD_OUT]
        seen[split] = {(f["identity"], f["identity_set"]) for s in doc["samples"] for f in s["faces"]}
        from training.data.synth import load_synth_split

        recs = load_synth_split(tmp_path, split)  # the loader every training stage uses
        assert len(recs) == 6 and recs[0].landmarks.shape == (70, 2) and recs[0].rgb_path.is_file()
    assert seen["test"] and all(i < HELD_OUT and st == "heldout" for i, st in seen["test"])
    for split in ("train", "val"):
        assert seen[split] and all(i >= HELD_OUT and st == "train" for i, st in seen[split])


@needs_ict
def test_sequences_move_smoothly_and_carry_the_breathing_signal(tmp_path):
    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split

    opts = SynthOptions(face_model=str(ICT_DIR), mode="sequences", frames=10, max_faces=2, accessories=False,
                        palettes=("ironbow",))
    path = write_split(tmp_path, "train", 2, seed=4, opts=opts, workers=1, progress=False)
    doc = json.loads(path.read_text())
    assert len(doc["samples"]) == 20
    tracks = {}
    for s in doc["samples"]:
        assert (path.parent / s["palette_ironbow"]).is_file()
        for f in s["faces"]:
            tracks.setdefault((s["sequence"], f["track_id"]), []).append((s["time_s"], f))
    assert tracks
    for key, items in tracks.items():
        times = np.array([t for t, _ in items])
        yaw = np.array([f["pose"]["yaw"] for _, f in items])
        box = np.array([f["box"] for _, f in items])
        assert np.all(np.diff(times) > 0)
        assert np.abs(np.diff(yaw)).max() < 15.0, key  # smooth head motion at >= 8.7 fps
        assert len({f["identity"] for _, f in items}) == 1
        rate = items[0][1]["breathing_rate_bpm"] / 60.0
        breath = np.array([f["breath"] for _, f in items])
        phase = np.arcsin(np.clip(breath[0], -1, 1))
        # the label is a sinusoid at the stated rate
        model = np.sin(2 * np.pi * rate * times + phase), np.sin(2 * np.pi * rate * times + np.pi - phase)
        assert min(np.abs(m - breath).max() for m in model) < 1e-3, key
        nost = np.array([f["nostril_c"] for _, f in items], float)
        if np.ptp(breath) > 0.5:  # exhaled air warms the nostrils
            assert np.corrcoef(breath, nost)[0, 1] > 0.9, key
        assert np.all(box[:, 2] >= box[:, 0])


@needs_ict
def test_scenes_have_bodies_distractors_and_small_faces():
    from training.data.synth.render import SynthOptions, render_sample

    opts = SynthOptions(face_model=str(ICT_DIR), mode="scenes", max_faces=3)
    widths, kinds, n_faces = [], set(), 0
    for i in range(6):
        s = render_sample(i, 2, opts)
        kinds |= {d["kind"] for d in s.annotation["distractors"]}
        for f in s.annotation["faces"]:
            n_faces += 1
            widths.append(f["face_width_px"])
            assert len(f["landmarks"]) == 70 and "track_id" in f and "regions_c" in f
        # warm pixels that are no face: neck, hands, arms (skin within 4 K of the face)
        if s.annotation["faces"]:
            f = s.annotation["faces"][0]
            skin = f["skin_c"]
            warm = (s.temperature > skin - 4.0) & (s.temperature < skin + 2.0)
            x0, y0, x1, y1 = (int(v) for v in f["box"])
            warm[max(y0, 0):y1 + 1, max(x0, 0):x1 + 1] = False
            assert warm.sum() > 0
    assert n_faces >= 6 and min(widths) < 40 and len(kinds) >= 3


@needs_ict
def test_inner_canthi_are_the_warmest_facial_points():
    from training.data.synth.render import SynthOptions, render_sample

    opts = SynthOptions(face_model=str(ICT_DIR), accessories=False, expressions=False, out_of_frame_prob=0.0,
                        size=160)
    for i in range(4):
        s = render_sample(i, 6, opts, ypr=(float(8 * i - 12), 0.0, 0.0))
        lm = np.asarray(s.annotation["faces"][0]["landmarks"])
        hull = cv2.convexHull(lm[:68].astype(np.float32))
        mask = np.zeros(s.temperature.shape, np.uint8)
        cv2.fillConvexPoly(mask, hull.astype(np.int32), 1)
        t = np.where(mask > 0, s.temperature, -np.inf)
        y, x = np.unravel_index(np.argmax(t), t.shape)
        iod = np.linalg.norm(lm[36] - lm[45])
        d = min(np.linalg.norm(lm[j] - [x, y]) for j in (39, 42))
        assert d < 0.15 * iod, (i, d / iod)


@needs_ict
def test_region_labels_match_what_the_frame_shows_at_the_landmarks():
    """The labels' forehead (and the other regions) are the exposed skin's temperature: read with the runtime's
    regions at the true landmarks, the rendered frame agrees within the emissivity and region-shape offsets
    (a forehead label that took in the hair over the scalp read 4-6 C low)."""
    from thermal_fld_ros.schemes import get_scheme
    from thermal_fld_ros.thermometry import Thermometer
    from training.data.synth.breathing import ict_sequence_options
    from training.data.synth.ict.scene import render_sequence

    th = Thermometer(get_scheme("ibug70"))
    checked = 0
    for index in range(12):
        s = render_sequence(index, 11, ict_sequence_options(str(ICT_DIR)), 1, ypr=(0.0, 0.0, 0.0))[0]
        for f in s.annotation["faces"]:
            if f["face_width_px"] < 40 or f["accessories"].get("hat") or f["accessories"].get("hood"):
                continue
            geo = th.geometry(np.asarray(f["landmarks"], np.float64), None)
            read = th.read(s.temperature, True, geo).readings
            for region in ("forehead", "canthi", "nose_tip"):
                got = read[Region(region)]
                if got.ok:
                    assert abs(got.temperature_c - f["regions_c"][region]) < 1.5, (index, region, got, f["regions_c"])
                    checked += 1
    assert checked >= 6
