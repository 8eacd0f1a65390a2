"""Adaptation to real thermal faces: pseudo-label subject splits, masked-background fill, AdaBN."""
import json

import numpy as np
import pytest
import torch

from training.adapt import adapt_batchnorm
from training.data.augment import fill_background
from training.data.loaders import load_dataset
from training.data.loaders.common import DatasetError
from training.models import build_model


def _pseudo_set(root, subjects):
    import cv2

    folder = root / "puj_t360"
    folder.mkdir(parents=True)
    pts = np.stack([np.linspace(40, 160, 70), np.linspace(50, 190, 70)], 1)
    for i, subject in enumerate(subjects):
        img = np.zeros((240, 206), np.uint8)
        img[30:220, 30:180] = 200
        cv2.imwrite(str(folder / f"f{i}.png"), img)
        doc = {"landmarks": pts.tolist(), "visible": [0.5] * 70, "subject": subject, "source": "puj_t360",
               "terms": "test"}
        (folder / f"f{i}.json").write_text(json.dumps(doc))


def test_pseudo_labels_split_by_subject(tmp_path):
    _pseudo_set(tmp_path, ["S01", "S02", "S03", "S03"])
    held = load_dataset("pseudo_labels", tmp_path, "puj_t360", subjects=["S03"])
    rest = load_dataset("pseudo_labels", tmp_path, "puj_t360", exclude_subjects=["S03"], masked_background=True)
    assert sorted(r.extra["subject"] for r in held) == ["S03", "S03"]
    assert sorted(r.extra["subject"] for r in rest) == ["S01", "S02"]
    assert all(r.extra["masked_background"] for r in rest)
    np.testing.assert_allclose(rest[0].visible, 0.5)  # per-point pseudo-label weights reach the loss
    with pytest.raises(DatasetError, match="no pseudo-labelled faces"):
        load_dataset("pseudo_labels", tmp_path, "puj_t360", subjects=["S99"])


def test_fill_background_replaces_only_the_masked_pixels():
    rng = np.random.default_rng(0)
    crop = np.full((32, 32), 0.9, np.float32)
    mask = np.zeros((32, 32), bool)
    mask[:, :8] = True
    out = fill_background(crop, mask, rng)
    assert np.abs(out[:, 16:] - 0.9).max() < 1e-3  # the face is untouched away from the seam
    assert np.abs(out[:, :4] - 0.9).mean() > 0.05  # the black background became something else


def test_adabn_takes_the_real_statistics_and_keeps_the_weights():
    torch.manual_seed(0)
    model = build_model({"arch": "mobile", "width_mult": 0.35, "out_channels": 32}, 1, 70, (64, 64), 2.0, 32).eval()
    crops = np.random.default_rng(0).uniform(0.6, 1.0, (64, 1, 64, 64)).astype(np.float32)
    adapted = adapt_batchnorm(model, crops, 0.5, 0.25)
    bn_a = next(m for m in adapted.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn_m = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not torch.allclose(bn_a.running_mean, bn_m.running_mean)  # statistics moved to the real crops
    assert int(bn_a.num_batches_tracked) == 2  # 64 crops in batches of 32
    for (name, p), (_, q) in zip(model.named_parameters(), adapted.named_parameters()):
        assert torch.equal(p, q), name  # weights untouched
    # the first BatchNorm's mean is the mean of its input over the real crops
    first_conv = next(m for m in adapted.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        feats = first_conv(torch.from_numpy((crops - 0.5) / 0.25))
    torch.testing.assert_close(bn_a.running_mean, feats.mean((0, 2, 3)), atol=1e-4, rtol=1e-3)
