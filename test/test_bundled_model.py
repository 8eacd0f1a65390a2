"""The bundled default student: trained, described by its metadata, and accurate where we can check.

Accuracy is checked end to end through the runtime (detector -> tracker -> crop -> onnxruntime ->
decode -> un-warp) on held-out synthetic frames rendered here (seeds never used for training) and on
the two real radiometric 54-point frames in ../shared/data (skipped where absent), and once through
the real node over Fast DDS. Thresholds sit a margin above what `python -m training report` measured,
so a regression in the model, the pipeline or the node fails them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from thermal_fld_ros.config import PipelineConfig, default_model_path
from thermal_fld_ros.frames import ThermalFrame
from thermal_fld_ros.model_meta import read_onnx_metadata
from thermal_fld_ros.pipeline import Pipeline
from thermal_fld_ros.schemes import IBUG70, SFTL54, common_indices

REPO = Path(__file__).resolve().parents[1]
REAL54 = REPO.parent / "shared" / "data" / "real_thermal" / "faiyaz106_thermal54"
HELD_OUT_SEED = 777_000  # training uses seeds 0..3000 + index; this one is never used there


def test_bundled_model_is_trained_and_described():
    path = default_model_path()  # raises, naming how to get one, when the model is missing
    assert path.stat().st_size < 8 * 1024 * 1024, "bundled model should stay a few MB"
    meta = read_onnx_metadata(path)
    assert meta["trained"] is True
    assert meta["scheme"] == "ibug70" and meta["num_points"] == 70
    assert meta["decoder"] == "simcc"
    assert meta["recipe"].get("config_hash"), "recipe hash must be recorded"
    assert "nme" in meta["metrics"], "evaluation figures must travel with the model"


def _held_out_frames(count: int):
    """Synthetic radiometric frames with one well-visible, moderately turned face, and their truth."""
    from training.data.synth.render import SynthOptions, render_sample

    opts = SynthOptions(mode="scenes", max_faces=1, max_yaw=45.0, max_pitch=25.0, max_roll=20.0)
    out, index = [], 0
    while len(out) < count and index < 40 * count:
        s = render_sample(index, HELD_OUT_SEED, opts)
        index += 1
        faces = s.annotation["faces"]
        if len(faces) != 1:
            continue
        f = faces[0]
        pts = np.asarray(f["landmarks"], np.float64)
        vis = np.asarray(f["visible"], bool)
        w = pts[:68, 0].max() - pts[:68, 0].min()
        inside = (pts[:, 0] > 2).all() and (pts[:, 0] < s.annotation["width"] - 2).all() and \
            (pts[:, 1] > 2).all() and (pts[:, 1] < s.annotation["height"] - 2).all()
        if vis.sum() >= 60 and w >= 40 and inside:
            out.append((s.temperature, pts, vis, f["pose"]["yaw"]))
    return out


def _nme(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    iod = np.linalg.norm(gt[36] - gt[45])
    return float(np.linalg.norm(pred[mask] - gt[mask], axis=1).mean() / iod)


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline(PipelineConfig(smoothing=False))


def _face_on(result, gt: np.ndarray):
    """The reported face whose box overlaps the true face most (None if none overlaps)."""
    from thermal_fld_ros.crop import landmarks_box
    from thermal_fld_ros.detector import box_iou

    truth = landmarks_box(gt[:68])
    scored = [(box_iou(f.box, truth), f) for f in result.faces]
    scored = [(iou, f) for iou, f in scored if iou >= 0.3]
    return max(scored, key=lambda s: s[0])[1] if scored else None


def test_landmarks_on_held_out_synthetic_frames(pipeline):
    frames = _held_out_frames(16)
    assert len(frames) >= 12
    errors, yaw_pairs, missed = [], [], 0
    for temp, gt, vis, yaw in frames:
        pipeline.reset()
        res = pipeline.process(ThermalFrame(temp, "temperature", "32FC1"), 0.0)
        face = _face_on(res, gt)
        if face is None:
            missed += 1
            continue
        errors.append(_nme(face.landmarks, gt, vis))
        if face.pose is not None and abs(yaw) > 15:
            yaw_pairs.append((yaw, face.pose.yaw_pitch_roll_deg[0]))
    # The detector (fitted on real Lepton frames) is the weak link on these renders: measured 11 of 16.
    assert missed <= len(frames) // 2, f"the runtime found only {len(frames) - missed} of {len(frames)} faces"
    # The bundled student (issue-9 recipe) learnt from ICT-FaceKit renders and real faces, not from these
    # procedural heads, on a CPU budget: measured median 0.119 here (docs/RESULTS.md for its own test split).
    assert np.median(errors) < 0.16, f"median NME {np.median(errors):.3f} (per face {np.round(errors, 3)})"
    assert yaw_pairs, "turned faces must get a pose"
    agree = [np.sign(a) == np.sign(b) for a, b in yaw_pairs]
    assert np.mean(agree) >= 0.8, f"yaw sign (truth, estimate): {yaw_pairs}"


@pytest.mark.skipif(not REAL54.is_dir(), reason="real thermal samples not present (../shared/data)")
def test_landmarks_on_real_radiometric_frames(pipeline):
    from training.data.loaders import load_dataset
    from training.data.records import load_thermal

    ia, ib = common_indices(SFTL54, IBUG70)
    records = load_dataset("sftl54", REAL54)
    assert len(records) == 2
    for rec in records:
        data, kind = load_thermal(rec)
        pipeline.reset()
        res = pipeline.process(ThermalFrame(data, kind, "32FC1"), 0.0)
        assert res.faces, f"no face found in the real frame {rec.image_path.name}"
        pred = res.primary.landmarks[ib]
        gt = rec.landmarks[ia]
        nme = float(np.linalg.norm(pred - gt, axis=1).mean() / np.linalg.norm(rec.landmarks[36] - rec.landmarks[45]))
        # Measured 0.25 (synthetic-only training: a real-domain gap, see docs/RESULTS.md); guards regressions.
        assert nme < 0.35, f"{rec.image_path.name}: NME {nme:.3f} on 54 real points"


@pytest.mark.ros
def test_node_publishes_accurate_landmarks_with_the_bundled_model(pipeline):
    from ros_harness import Harness

    frames = []
    for temp, gt, vis, _yaw in _held_out_frames(12):  # frames whose primary face the runtime finds
        pipeline.reset()
        res = pipeline.process(ThermalFrame(temp, "temperature", "32FC1"), 0.0)
        if res.primary is not None and _face_on(res, gt) is res.primary:
            frames.append((temp, gt, vis))
    assert len(frames) >= 3
    h = Harness()
    try:
        io = h.start_node({"smoothing": False})
        for temp, gt, vis in frames[:3]:
            counts = np.round((temp + 273.15) / 0.01).astype(np.uint16)
            # Unrelated scenes one after another: the first frame of each may still carry the previous
            # scene's track (lost, then re-detected), so judge the third frame of each scene.
            for _ in range(3):
                msg = io.publish(counts, "16UC1")
                stamp = msg.header.stamp
                got = io.out["landmarks"].wait_for(lambda m, s=stamp: m.header.stamp == s, timeout=15.0)
            assert got is not None, "no landmarks for the frame"
            assert got.header.frame_id == msg.header.frame_id
            pred = np.array([[p.x, p.y] for p in got.polygon.points])
            assert pred.shape == (70, 2)
            assert _nme(pred, gt, vis) < 0.12
    finally:
        h.close()
