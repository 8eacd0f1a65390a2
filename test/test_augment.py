"""LandmarkDataset + augmentation: crops put landmarks where the warp puts the pixels, flips swap
left/right correctly, photometric jitter leaves geometry alone, RGB/thermal pairs stay aligned."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from model_factory import frontal_template

from thermal_fld_ros.codec import SimCCCodec
from thermal_fld_ros.schemes import get_scheme
from training.data.augment import NO_AUGMENT, AugmentConfig
from training.data.dataset import LandmarkDataset, make_loader
from training.data.loaders import load_dataset
from training.data.records import FaceRecord, ThermalDecoding

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real_thermal"
FAIYAZ = REAL / "faiyaz106_thermal54"
CHIPS = REAL / "chips_thermal_face"
SIZE = 128
GEOMETRY = replace(NO_AUGMENT, scale_jitter=0.2, rotation_deg=30.0, shift=0.1, flip_prob=0.5)
PHOTOMETRIC = replace(AugmentConfig(), blur_prob=1.0, blur_sigma=(0.8, 0.8), noise_prob=1.0, netd_c=(0.05, 0.05),
                      quantise_prob=1.0, quantise_levels=(64, 64), window_shift_c=0.0, window_gain=0.0,
                      rgb_colour_prob=0.0)


def _face_points() -> np.ndarray:
    return frontal_template((96, 96)).astype(np.float64) * 0.9 + 20.0  # 70 points inside a 128x128 frame


def _blob(pt, size=SIZE, sigma=1.5) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return np.exp(-((xx - pt[0]) ** 2 + (yy - pt[1]) ** 2) / (2 * sigma**2))


def _record(tmp_path: Path, k: int, rgb: bool = False) -> FaceRecord:
    """A 25 C frame with a 35 C spot exactly on landmark k (and the same spot, red, in the RGB pair)."""
    pts = _face_points()
    frame = (25.0 + 10.0 * _blob(pts[k])).astype(np.float32)
    path = tmp_path / f"t{k}.npy"
    np.save(path, frame)
    rgb_path = None
    if rgb:
        rgb_path = tmp_path / f"c{k}.png"
        img = np.zeros((SIZE, SIZE, 3), np.uint8)
        img[..., 2] = np.round(255 * _blob(pts[k])).astype(np.uint8)  # BGR: red channel
        cv2.imwrite(str(rgb_path), img)
    return FaceRecord(path, pts, "ibug70", ThermalDecoding("celsius"), rgb_path=rgb_path,
                      pose_ypr_deg=np.array([20.0, 5.0, 3.0]))


def _centroid(img: np.ndarray, floor: float) -> np.ndarray:
    w = np.clip(img - floor, 0, None)
    w[img < floor + 0.05] = 0
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    return np.array([(w * xx).sum(), (w * yy).sum()]) / w.sum()


def _point_of(item, k: int, scheme) -> np.ndarray:
    flipped = item["pose_ypr"][0] < 0  # the record's yaw is +20: a flip negates it
    j = scheme.flip_permutation()[k] if flipped else k
    return item["landmarks"][j].numpy()


def test_crop_puts_landmarks_on_the_warped_pixels(tmp_path):
    scheme = get_scheme("ibug70")
    flips = checked = 0
    for k in (0, 8, 19, 30, 36, 45, 48, 69):
        ds = LandmarkDataset([_record(tmp_path, k)], "ibug70", augment=GEOMETRY, seed=k)
        for epoch in range(3):
            ds.set_epoch(epoch)
            item = ds[0]
            flips += bool(item["pose_ypr"][0] < 0)
            want = _point_of(item, k, scheme)
            if not (5 <= want).all() or not (want <= 90).all():
                continue  # a spot cut by the crop edge has a biased centroid
            checked += 1
            found = _centroid(item["thermal"][0].numpy(), floor=0.25)  # 25 C in the 20..40 C window
            np.testing.assert_allclose(found, want, atol=0.3, err_msg=f"point {k}")
    assert 0 < flips < 24 and checked >= 18  # both branches exercised, most points checked


def test_flip_swaps_left_and_right(tmp_path):
    rec = _record(tmp_path, 36)
    plain = LandmarkDataset([rec], "ibug70", augment=None)[0]
    flip = LandmarkDataset([rec], "ibug70", augment=replace(NO_AUGMENT, flip_prob=1.0), seed=0)[0]
    perm = get_scheme("ibug70").flip_permutation()
    w = 96
    expect = plain["landmarks"].numpy()[perm] * [-1, 1] + [w, 0]
    np.testing.assert_allclose(flip["landmarks"].numpy(), expect, atol=1e-4)
    # the subject's right outer eye corner (36) is on the image left before and after the flip
    for item in (plain, flip):
        lm = item["landmarks"].numpy()
        assert lm[36, 0] < lm[39, 0] < lm[42, 0] < lm[45, 0]
        assert lm[68, 0] < lm[69, 0] and lm[0, 0] < lm[16, 0] and lm[48, 0] < lm[54, 0]
    np.testing.assert_allclose(flip["thermal"][0].numpy()[:, 1:], plain["thermal"][0].numpy()[:, :0:-1], atol=1e-5)
    # the hot spot sat on point 36; after the flip it is found where point 45 now is
    np.testing.assert_allclose(_centroid(flip["thermal"][0].numpy(), 0.25), flip["landmarks"][45].numpy(), atol=0.3)
    assert flip["pose_ypr"].tolist() == pytest.approx([-20.0, 5.0, -3.0])


@pytest.mark.skipif(not FAIYAZ.is_dir(), reason="real SF-TL54-scheme sample not present")
def test_flip_on_real_frame_keeps_right_eye_on_image_left():
    recs = load_dataset("sftl54", FAIYAZ)
    ds = LandmarkDataset(recs, "sftl54", augment=replace(AugmentConfig(), flip_prob=1.0), seed=3)
    for i in range(len(recs)):
        item = ds[i]
        lm = item["landmarks"].numpy()
        assert lm[36, 0] < lm[45, 0] and lm[48, 0] < lm[50, 0] and lm[0, 0] < lm[16, 0]
        assert item["thermal"].shape == (1, 96, 96) and 0.0 <= item["thermal"].min() <= item["thermal"].max() <= 1.0
        # the face (warmer than the room) fills the crop centre
        t = item["thermal"][0].numpy()
        assert t[40:56, 40:56].mean() > t[:8].mean()


def test_photometric_jitter_keeps_geometry(tmp_path):
    rec = _record(tmp_path, 30)
    base = LandmarkDataset([rec], "ibug70", augment=GEOMETRY, seed=11)
    jit = LandmarkDataset([rec], "ibug70", augment=replace(PHOTOMETRIC, **{
        f: getattr(GEOMETRY, f) for f in ("scale_jitter", "rotation_deg", "shift", "flip_prob")}), seed=11)
    for epoch in range(4):
        base.set_epoch(epoch)
        jit.set_epoch(epoch)
        a, b = base[0], jit[0]
        for key in ("landmarks", "visible", "target_x", "target_y", "target_weight", "pose_ypr"):
            assert torch.equal(a[key], b[key]), key
        assert (a["thermal"] - b["thermal"]).abs().max() > 0.02  # jitter did change the pixels
        levels = np.unique(b["thermal"].numpy())
        assert np.allclose(levels * 63, np.round(levels * 63), atol=1e-4)  # AGC-like 64-level output
        np.testing.assert_allclose(_centroid(b["thermal"][0].numpy(), 0.3), _point_of(b, 30, get_scheme("ibug70")),
                                   atol=0.6)


def test_pose_follows_rotation_and_flip(tmp_path):
    rec = replace(_record(tmp_path, 30), pose_ypr_deg=np.array([0.0, 0.0, 0.0]))
    ds = LandmarkDataset([rec], "ibug70", augment=GEOMETRY, seed=1)
    for epoch in range(6):
        ds.set_epoch(epoch)
        item = ds[0]
        lm = item["landmarks"].numpy()
        dx, dy = lm[45] - lm[36]
        # roll > 0: top of the head towards the image left, i.e. the image-right eye higher
        assert item["pose_ypr"][2].item() == pytest.approx(-np.degrees(np.arctan2(dy, dx)), abs=0.5)
        assert item["pose_ypr"][0].item() == 0.0


def test_radiometric_window_jitter_shifts_levels(tmp_path):
    rec = _record(tmp_path, 30)
    cfg = replace(NO_AUGMENT, window_shift_c=4.0)
    vals = {round(float(LandmarkDataset([rec], "ibug70", augment=cfg, seed=s)[0]["thermal"][0, 2, 2]), 4)
            for s in range(6)}
    assert len(vals) > 3 and all(0.0 < v < 0.5 for v in vals)  # 25 C moves around its 0.25 nominal level


def test_rgb_pair_is_aligned_and_pair_modes(tmp_path):
    rec = _record(tmp_path, 45, rgb=True)
    ds = LandmarkDataset([rec], "ibug70", augment=GEOMETRY, seed=5)
    for epoch in range(3):
        ds.set_epoch(epoch)
        item = ds[epoch * 0]
        assert bool(item["has_rgb"]) and item["rgb"].shape == (3, 96, 96)
        assert item["rgb"][1:].abs().max() == 0  # only the red channel has the spot
        np.testing.assert_allclose(_centroid(item["rgb"][0].numpy(), 0.0), _centroid(item["thermal"][0].numpy(), 0.25),
                                   atol=0.2)
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match=r"small\.png: RGB size 64x64 differs from thermal 128x128"):
        LandmarkDataset([replace(rec, rgb_path=tmp_path / "small.png")], "ibug70")[0]
    unpaired = LandmarkDataset([rec], "ibug70", augment=None, paired=False)[0]
    assert not bool(unpaired["has_rgb"]) and unpaired["rgb"].abs().max() == 0

    # RGB = the normalised thermal frame: identical draws give equal crops, independent ones do not
    frame = np.linspace(20.0, 40.0, SIZE * SIZE, dtype=np.float32).reshape(SIZE, SIZE)
    np.save(tmp_path / "ramp.npy", frame)
    grey = np.round((frame - 20.0) / 20.0 * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "ramp.png"), np.repeat(grey[..., None], 3, 2))
    ramp = replace(rec, image_path=tmp_path / "ramp.npy", rgb_path=tmp_path / "ramp.png")
    noisy = replace(PHOTOMETRIC, quantise_prob=0.0, netd_c=(1.0, 1.0))
    same = LandmarkDataset([ramp], "ibug70", augment=replace(noisy, pair_mode="identical"), seed=2)[0]
    diff = LandmarkDataset([ramp], "ibug70", augment=noisy, seed=2)[0]
    assert (same["rgb"][1] - same["thermal"][0]).abs().max() < 0.01
    assert (diff["rgb"][1] - diff["thermal"][0]).abs().mean() > 0.03


def test_targets_decode_to_the_crop_landmarks(tmp_path):
    item = LandmarkDataset([_record(tmp_path, 0)], "ibug70", augment=GEOMETRY, seed=4)[0]
    codec = SimCCCodec((96, 96), 2.0)
    pts, _ = codec.decode(np.log(item["target_x"].numpy() + 1e-9), np.log(item["target_y"].numpy() + 1e-9))
    ok = item["target_weight"].numpy() > 0
    assert ok.sum() >= 60
    np.testing.assert_allclose(pts[ok], item["landmarks"].numpy()[ok], atol=0.25)


def test_other_schemes_map_and_unknown_points_have_no_weight(tmp_path):
    rec = _record(tmp_path, 30)
    sub = replace(rec, landmarks=rec.landmarks[:54].copy(), scheme="sftl54")
    sub.landmarks[49:] = rec.landmarks[[51, 54, 57, 62, 66]]
    item = LandmarkDataset([sub], "ibug70", augment=None)[0]
    full = LandmarkDataset([rec], "ibug70", augment=None)[0]
    known = item["visible"].numpy() > 0
    assert known.sum() == 54 and not known[[49, 50, 52, 53, 68, 69]].any()
    np.testing.assert_allclose(item["landmarks"][known], full["landmarks"][known], atol=1e-5)
    assert (item["target_weight"][~known] == 0).all() and (item["landmarks"][~known] == 0).all()
    assert torch.isfinite(item["target_x"]).all()


def test_loader_batches_and_determinism(tmp_path):
    recs = [_record(tmp_path, k, rgb=k % 2 == 0) for k in range(6)]
    ds = LandmarkDataset(recs, "ibug70", augment=AugmentConfig(), seed=9)
    assert torch.equal(ds[2]["thermal"], ds[2]["thermal"])
    ds.set_epoch(1)
    other = ds[2]["thermal"]
    ds.set_epoch(0)
    assert not torch.equal(ds[2]["thermal"], other)
    batch = next(iter(make_loader(ds, batch_size=4, shuffle=True, workers=0)))
    assert batch["thermal"].shape == (4, 1, 96, 96) and batch["target_x"].shape == (4, 70, 192)
    assert batch["has_rgb"].dtype == torch.bool and batch["index"].dtype == torch.int64
    parts = [list(make_loader(ds, 2, shuffle=True, distributed=True, num_replicas=2, rank=r).sampler)
             for r in (0, 1)]
    assert sorted(parts[0] + parts[1]) == list(range(6))


@pytest.mark.skipif(not CHIPS.is_dir(), reason="real Lepton YOLO sample not present")
def test_box_only_records_crop_from_the_box():
    recs = [r for r in load_dataset("yolo", CHIPS) if r.image_path.name.startswith("1_")][:4]
    ds = LandmarkDataset(recs, "box_only", augment=AugmentConfig(), seed=0)
    for i in range(len(recs)):
        item = ds[i]
        assert item["landmarks"].shape == (0, 2) and item["thermal"].shape == (1, 96, 96)
        assert item["thermal"].std() > 0.05  # a face, not an empty border
    with pytest.raises(ValueError, match="neither landmarks nor a face box"):
        LandmarkDataset([replace(recs[0], box=None)], "box_only")[0]
