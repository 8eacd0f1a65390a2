"""Dataset loaders: each published layout read exactly from fixtures written here, the real samples in
../shared/data/real_thermal read exactly, and bad input rejected with errors that name the file."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_fld_ros.schemes import get_scheme
from training.data.loaders import DatasetError, load_dataset
from training.data.records import ThermalDecoding, load_thermal

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real_thermal"
FAIYAZ = REAL / "faiyaz106_thermal54"
CHIPS = REAL / "chips_thermal_face"


def _points(n, w, h, seed=0):
    rng = np.random.default_rng(seed)
    return np.round(np.column_stack([rng.uniform(5, w - 5, n), rng.uniform(5, h - 5, n)]), 2)


# -- real samples ---------------------------------------------------------------------------------------

@pytest.mark.skipif(not FAIYAZ.is_dir(), reason="real SF-TL54-scheme sample not present")
def test_real_sftl54_frames_read_exactly():
    recs = load_dataset("sftl54", FAIYAZ)
    assert [r.image_path.stem for r in recs] == ["1_11178", "1_11732"]
    for rec in recs:
        rows = np.loadtxt(FAIYAZ / "dataset" / "labels" / f"{rec.image_path.stem}.txt")
        assert rows.shape == (54, 5) and (rows[:, 0] == np.arange(54)).all()
        np.testing.assert_allclose(rec.landmarks, rows[:, 1:3] * [640, 512], atol=1e-9)
        assert rec.scheme == "sftl54" and rec.visible.sum() == 54
        names = get_scheme("sftl54").names
        # point 36 is the image-left (subject's right) outer eye corner, 45 the image-right one
        assert names[36] == "right_eye_outer" and names[45] == "left_eye_outer"
        assert rec.landmarks[36, 0] < rec.landmarks[39, 0] < rec.landmarks[42, 0] < rec.landmarks[45, 0]
        assert rec.landmarks[8, 1] > rec.landmarks[30, 1] > rec.landmarks[27, 1]  # chin below nose tip
        x0, y0, x1, y1 = rec.box
        assert x0 < rec.landmarks[:, 0].min() + 20 and x1 > rec.landmarks[:, 0].max() - 20
        frame, kind = load_thermal(rec)
        assert kind == "temperature" and frame.shape == (512, 640)
        cx, cy = rec.landmarks[[39, 42]].mean(0).astype(int)  # between the inner eye corners
        assert 30.0 < frame[cy, cx] < 38.0 and 15.0 < np.median(frame) < 30.0  # warm face, cooler room
    assert recs[0].box.tolist() == [180.0, 209.0, 407.0, 455.0]  # VIA rect x, y, w=227, h=246
    gray = load_dataset("sftl54", FAIYAZ, thermal="gray")
    np.testing.assert_array_equal(gray[0].landmarks, recs[0].landmarks)
    assert gray[0].image_path.suffix == ".jpg" and load_thermal(gray[0])[1] == "intensity"


@pytest.mark.skipif(not CHIPS.is_dir(), reason="real Lepton YOLO sample not present")
def test_real_yolo_frames_give_412_boxes():
    recs = load_dataset("yolo", CHIPS)
    assert len(recs) == 412 and len({r.image_path for r in recs}) == 300
    boxes = np.array([r.box for r in recs])
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 160).all() and (boxes[:, 3] <= 120).all()
    assert all(r.scheme == "box_only" and r.landmarks.shape == (0, 2) for r in recs)
    first = next(r for r in recs if r.image_path.name == "1_1.jpeg")
    cx, cy, w, h = np.loadtxt(CHIPS / "annotations_yolo_format" / "1_1.txt")[1:]
    np.testing.assert_allclose(first.box, [(cx - w / 2) * 160, (cy - h / 2) * 120,
                                           (cx + w / 2) * 160, (cy + h / 2) * 120], atol=1e-6)
    groups = [r for r in recs if r.image_path.name.startswith("group1_")]
    assert max(r.extra["faces_in_image"] for r in groups) > 1


# -- published layouts on fixtures ----------------------------------------------------------------------

def _write_sftl54_release(root: Path, split="val", names=("a", "b"), n=54, shuffle=True):
    rng = np.random.default_rng(1)
    truth = {}
    for i, name in enumerate(names):
        d = root / "gray" / split
        (d / "images").mkdir(parents=True, exist_ok=True)
        (d / "json").mkdir(parents=True, exist_ok=True)
        (root / "rgb" / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / "images" / f"{name}.png"), rng.integers(0, 255, (348, 464), dtype=np.uint8))
        cv2.imwrite(str(root / "rgb" / split / f"{name}.png"), rng.integers(0, 255, (348, 464, 3), dtype=np.uint8))
        pts = _points(n, 464, 348, seed=i)
        truth[name] = pts
        shapes = [{"label": str(k), "points": [pts[k].tolist()], "shape_type": "point"} for k in range(n)]
        if shuffle:
            shapes = [shapes[k] for k in rng.permutation(n)]
        shapes.insert(3, {"label": "face", "points": [[100.5, 60.0], [300.0, 320.25]], "shape_type": "rectangle"})
        (d / "json" / f"{name}.json").write_text(json.dumps({"version": "4.5.6", "shapes": shapes}))
    return truth


def test_sftl54_release_layout_reads_exactly(tmp_path):
    truth = _write_sftl54_release(tmp_path, split="val")
    recs = load_dataset("sftl54", tmp_path, split="valid")  # alias of the val folder
    assert [r.image_path.name for r in recs] == ["a.png", "b.png"]
    for rec in recs:
        np.testing.assert_array_equal(rec.landmarks, truth[rec.image_path.stem])
        assert rec.box.tolist() == [100.5, 60.0, 300.0, 320.25]
        assert rec.rgb_path == tmp_path / "rgb" / "val" / rec.image_path.name
    with pytest.raises(DatasetError, match="no split folder"):
        load_dataset("sftl54", tmp_path, split="test")


def test_charlotte_csv_reads_exactly_both_point_sets(tmp_path):
    counts = np.full((512, 640), 29615, np.uint16)  # 296.15 K = 23 C background
    counts[100:110, 200:210] = 30715  # 34 C
    (tmp_path / "S1").mkdir()
    cv2.imwrite(str(tmp_path / "S1" / "f1.tiff"), counts)
    cv2.imwrite(str(tmp_path / "S1" / "p1.tiff"), counts)
    p72, p43 = _points(72, 640, 512, 3), _points(43, 640, 512, 4)
    header = ["image_name", "air_temp_c"] + [f"{a}{k}" for k in range(72) for a in "xy"]
    row72 = ["f1.tiff", "23.5"] + [f"{v}" for v in p72.ravel()]
    row43 = ["p1.tiff", "24"] + [f"{v}" for v in p43.ravel()] + [""] * (2 * (72 - 43))
    (tmp_path / "landmarks.csv").write_text("\n".join(",".join(r) for r in (header, row72, row43)) + "\n")
    recs = load_dataset("charlotte", tmp_path)
    assert [r.scheme for r in recs] == ["charlotte72", "charlotte43"]
    np.testing.assert_allclose(recs[0].landmarks, p72)
    np.testing.assert_allclose(recs[1].landmarks, p43)
    assert recs[0].extra["air_temp_c"] == 23.5
    frame, kind = load_thermal(recs[0])
    assert kind == "temperature" and frame.dtype == np.float32
    assert frame[105, 205] == pytest.approx(34.0, abs=1e-3) and frame[0, 0] == pytest.approx(23.0, abs=1e-3)
    assert len(load_dataset("charlotte", tmp_path, scheme="charlotte43")) == 1
    # iBUG-68 part of the 72-point scheme flips like iBUG; the 4 extras stay put
    perm = get_scheme("charlotte72").flip_permutation()
    assert perm[36] == 45 and (perm[68:] == np.arange(68, 72)).all()


def test_tfake_layout_pairs_rgb_and_thermal(tmp_path):
    tdir = tmp_path / "warm"
    tdir.mkdir()
    pts = _points(70, 512, 512, 5)
    cv2.imwrite(str(tmp_path / "000007.png"), np.zeros((512, 512, 3), np.uint8))
    cv2.imwrite(str(tdir / "000007_thermal.png"), np.full((512, 512), 30000, np.uint16))
    np.savetxt(tmp_path / "000007_ldmks.txt", pts, fmt="%.3f")
    np.savetxt(tmp_path / "000008_ldmks.txt", pts, fmt="%.3f")  # no thermal image: skipped
    recs = load_dataset("tfake", tmp_path, thermal_dir=tdir)
    assert len(recs) == 1 and recs[0].scheme == "ibug70" and recs[0].extra["skipped_without_thermal"] == 1
    np.testing.assert_allclose(recs[0].landmarks, pts, atol=5e-4)
    assert recs[0].rgb_path == tmp_path / "000007.png" and recs[0].image_path == tdir / "000007_thermal.png"


def test_generic_pts_and_json(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((100, 120), np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((100, 120), np.uint8))
    pts = _points(68, 120, 100, 6)
    body = "\n".join(f"{x + 1:.3f} {y + 1:.3f}" for x, y in pts)
    (tmp_path / "a.pts").write_text(f"version: 1\nn_points:  68\n{{\n{body}\n}}\n")
    jpts = pts.tolist()
    jpts[5] = None
    (tmp_path / "b.json").write_text(json.dumps({"landmarks": jpts, "box": [1, 2, 90, 95],
                                                 "pose_ypr_deg": [10, -5, 2]}))
    recs = load_dataset("generic", tmp_path, scheme="ibug68", decoding=ThermalDecoding("celsius"))
    np.testing.assert_allclose(recs[0].landmarks, pts, atol=1e-9)  # 300-W .pts are 1-based
    assert np.isnan(recs[1].landmarks[5]).all() and recs[1].visible[5] == 0 and recs[1].visible.sum() == 67
    assert recs[1].pose_ypr_deg.tolist() == [10, -5, 2] and recs[1].box.tolist() == [1, 2, 90, 95]
    with pytest.raises(DatasetError, match="needs scheme"):
        load_dataset("generic", tmp_path)
    with pytest.raises(DatasetError, match="a.pts: 68 points, scheme 'ibug70' has 70"):
        load_dataset("generic", tmp_path, scheme="ibug70")


def test_yolo_labels_folder_fixture(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "x.jpg"), np.zeros((120, 160, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "images" / "empty.jpg"), np.zeros((120, 160, 3), np.uint8))
    (tmp_path / "labels" / "x.txt").write_text("0 0.5 0.5 0.25 0.5\n1 0.2 0.2 0.1 0.1\n")
    recs = load_dataset("yolo", tmp_path)
    assert len(recs) == 1 and recs[0].box.tolist() == [60.0, 30.0, 100.0, 90.0]
    assert len(load_dataset("yolo", tmp_path, classes=None)) == 2


# -- bad input ------------------------------------------------------------------------------------------

def _sample_copy(tmp_path: Path) -> Path:
    root = tmp_path / "s"
    (root / "labels").mkdir(parents=True)
    (root / "arrays").mkdir()
    np.save(root / "arrays" / "f.npy", np.full((512, 640), 80.0, np.float32))
    lines = [f"{k} {0.3 + 0.005 * k:.6f} {0.5:.6f} 0.1 0.1" for k in range(54)]
    (root / "labels" / "f.txt").write_text("\n".join(lines) + "\n")
    return root


def test_bad_inputs_raise_clear_errors(tmp_path):
    root = _sample_copy(tmp_path)
    assert len(load_dataset("sftl54", root)) == 1
    label = root / "labels" / "f.txt"
    good = label.read_text()

    label.write_text("\n".join(good.splitlines()[:53]) + "\n")  # wrong point count
    with pytest.raises(DatasetError, match=r"f\.txt: 53 landmarks, expected 54"):
        load_dataset("sftl54", root)
    label.write_text(good.replace("36 0.480000", "36 nan"))  # NaN coordinate
    with pytest.raises(DatasetError, match=r"f\.txt: non-finite landmark coordinates at points \[36\]"):
        load_dataset("sftl54", root)
    label.write_text(good.replace("36 0.480000 0.500000", "36 480.0 250.0"))  # pixels, not normalised
    with pytest.raises(DatasetError, match=r"f\.txt: point 36 .* far outside the 640x512 image"):
        load_dataset("sftl54", root)
    label.write_text(good)
    (root / "bounding_box.json").write_text(json.dumps({"f.jpg1": {"filename": "f.jpg", "regions": [
        {"shape_attributes": {"name": "rect", "x": 500, "y": 10, "width": 300, "height": 100}}]}}))
    with pytest.raises(DatasetError, match=r"bounding_box\.json: face box .* outside the 640x512 image"):
        load_dataset("sftl54", root)
    (root / "bounding_box.json").unlink()
    (root / "arrays" / "f.npy").write_bytes(b"not an array")  # unreadable image
    with pytest.raises(DatasetError, match=r"f\.npy: unreadable array"):
        load_dataset("sftl54", root)
    (root / "arrays" / "f.npy").unlink()  # missing image
    with pytest.raises(DatasetError, match=r"f\.txt: no image 'f\.\*'"):
        load_dataset("sftl54", root)
    with pytest.raises(DatasetError, match="unknown dataset kind 'nope'"):
        load_dataset("nope", root)
    with pytest.raises(DatasetError, match="folder not found"):
        load_dataset("yolo", tmp_path / "missing")


def test_bad_image_and_yolo_box_outside(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "images" / "broken.png").write_bytes(b"\x89PNG garbage")
    (tmp_path / "labels" / "broken.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DatasetError, match=r"broken\.png: unreadable image"):
        load_dataset("yolo", tmp_path)
    cv2.imwrite(str(tmp_path / "images" / "broken.png"), np.zeros((120, 160), np.uint8))
    (tmp_path / "labels" / "broken.txt").write_text("0 0.95 0.5 0.3 0.1\n")
    with pytest.raises(DatasetError, match=r"broken\.txt:1: face box .* outside the 160x120 image"):
        load_dataset("yolo", tmp_path)
    (tmp_path / "labels" / "broken.txt").write_text("0 0.5 0.5 0.1\n")
    with pytest.raises(DatasetError, match=r"broken\.txt:1: expected 'class cx cy w h'"):
        load_dataset("yolo", tmp_path)


def test_labelme_with_wrong_count_names_the_file(tmp_path):
    _write_sftl54_release(tmp_path, split="train", names=("c",), n=53)
    with pytest.raises(DatasetError, match=r"c\.json: 53 points, scheme 'sftl54' has 54"):
        load_dataset("sftl54", tmp_path, split="train")
