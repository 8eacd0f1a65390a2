"""Detector training pieces: scene rendering, patches and targets, one training step, export to a model the
runtime loads (onnxruntime, dynamic batch and size)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.detector.data import load_scenes, make_patch, targets  # noqa: E402
from training.detector.model import STRIDE, CentreFaceNet, box_loss, focal_loss  # noqa: E402


def test_targets_peak_at_face_centres_with_log_sizes():
    heat, reg, mask = targets(np.array([[40.0, 20.0, 60.0, 44.0]]), (160, 128))
    iy, ix = np.unravel_index(np.argmax(heat[0]), heat[0].shape)
    assert (ix, iy) == (50 // STRIDE, 32 // STRIDE) and mask.sum() == 1 and heat.max() == 1.0
    assert np.isclose(np.exp(reg[2, iy, ix]) * STRIDE, 20.0) and np.isclose(np.exp(reg[3, iy, ix]) * STRIDE, 24.0)


def test_render_patch_train_export_load(tmp_path):
    from thermal_fld_ros.centreface import CentreFaceDetector
    from training.detector.export import export
    from training.detector.render_scenes import render_scenes

    assert render_scenes(tmp_path / "scenes", 2, seed=3) == 2  # procedural heads (no ICT model needed)
    scenes = load_scenes(tmp_path / "scenes")
    rng = np.random.default_rng(0)
    x, b = make_patch(scenes[0], rng)
    assert x.shape == (128, 160) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert ((b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])).all()
    torch.manual_seed(0)
    net = CentreFaceNet(8)
    heat, reg, mask = (torch.from_numpy(a)[None] for a in targets(b))
    ph, pb = net(torch.from_numpy(x)[None, None])
    loss = focal_loss(ph, heat) + box_loss(pb, reg, mask)
    loss.backward()
    assert torch.isfinite(loss)
    ck = tmp_path / "last.pt"
    torch.save({"model": net.state_dict(), "width": 8, "step": 1}, ck)
    path = export(ck, tmp_path / "det.onnx")
    det = CentreFaceDetector(path)
    assert isinstance(det.detect(x, 3), list)
    assert det.session.run(["heatmap"], {"image": np.zeros((2, 1, 64, 96), np.float32)})[0].shape == (2, 1, 16, 24)
