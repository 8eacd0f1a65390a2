"""Presence calibration: scene windows that hold no face, and a head-only fine-tune that leaves landmarks as they were."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.config import PresenceCalibrationConfig  # noqa: E402
from training.models import build_model  # noqa: E402

SIZE = (32, 32)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    from training.detector.render_scenes import render_scenes

    root = tmp_path_factory.mktemp("scenes")
    render_scenes(root, 6, seed=3, face_model="")  # procedural people: seconds
    return root


def test_scene_windows_hold_no_face(scenes):
    from thermal_fld_ros.crop import CROP_SCALE
    from training.data.dataset import LandmarkDataset
    from training.data.loaders import load_dataset
    from training.data.loaders.scene_negatives import holds_a_face
    from training.data.records import NOT_A_FACE

    recs = load_dataset("scene_negatives", scenes, per_scene=5, seed=1)
    assert len(recs) >= 20
    for r in recs:
        with np.load(r.image_path) as z:
            faces, (h, w) = z["boxes"], z["temperature"].shape
        centre = (r.box[:2] + r.box[2:]) / 2
        side = float(r.box[2] - r.box[0])
        assert r.extra[NOT_A_FACE] and 0 <= centre[0] < w and 0 <= centre[1] < h
        assert not holds_a_face(centre, side * CROP_SCALE, faces)
    ds = LandmarkDataset(recs, "ibug70", SIZE, paired=False)
    item = ds[0]
    assert not bool(item["is_face"]) and float(item["target_weight"].sum()) == 0.0
    assert item["thermal"].shape == (1, SIZE[1], SIZE[0]) and float(item["thermal"].std()) >= 0.0
    assert len({str(r.image_path) for r in load_dataset("scene_negatives", scenes, per_scene=5, limit=2)}) == 2


def test_a_window_on_a_face_is_refused():
    from training.data.loaders.scene_negatives import holds_a_face

    face = np.array([[40.0, 40.0, 60.0, 60.0]])
    assert holds_a_face(np.array([50.0, 52.0]), 30.0, face)
    assert not holds_a_face(np.array([90.0, 50.0]), 30.0, face)  # beside it
    assert not holds_a_face(np.array([50.0, 50.0]), 400.0, face)  # a far-off face, tiny in a body-sized window


def test_calibration_trains_only_the_presence_head(scenes, tmp_path):
    from training.data.augment import AugmentConfig
    from training.data.dataset import LandmarkDataset
    from training.data.loaders import load_dataset
    from training.data.synth.loader import load_synth_split
    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split
    from training.presence_calibration import calibrate_presence, presence_probabilities

    write_split(tmp_path, "train", 8, seed=0, opts=SynthOptions(size=64), workers=1, progress=False)
    faces = LandmarkDataset(load_synth_split(tmp_path, "train"), "ibug70", SIZE, augment=AugmentConfig(), seed=0,
                            negative_rate=0.25)
    windows = LandmarkDataset(load_dataset("scene_negatives", scenes, per_scene=5), "ibug70", SIZE,
                              augment=AugmentConfig(), paired=False, seed=1)
    torch.manual_seed(0)
    net = build_model({"arch": "mobile", "width_mult": 0.25, "out_channels": 8}, 1, 70, SIZE, head_hidden=16,
                      presence=True).eval()
    probe = torch.rand(4, 1, SIZE[1], SIZE[0])
    with torch.no_grad():
        before = [t.clone() for t in net(probe)]
    plain = LandmarkDataset(load_dataset("scene_negatives", scenes, per_scene=5), "ibug70", SIZE, paired=False)
    crops = np.stack([plain[i]["thermal"].numpy() for i in range(len(plain))])
    p_before = presence_probabilities(net, crops, 0.5, 0.25).mean()
    pc = PresenceCalibrationConfig(enabled=True, steps=40, batch_size=16, lr=1e-2, scene_share=0.5)
    tuned, log = calibrate_presence(net, faces, windows, pc, 0.5, 0.25, seed=0)
    with torch.no_grad():
        after = tuned(probe)
    for a, b in zip(before, after):
        assert torch.equal(a, b)  # landmarks untouched: backbone and head frozen, batch norm in eval mode
    assert all(torch.equal(p, q) for p, q in zip(net.backbone.parameters(), tuned.backbone.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(net.presence.parameters(), tuned.presence.parameters()))
    assert presence_probabilities(tuned, crops, 0.5, 0.25).mean() < p_before - 0.05
    assert log["steps"] == 40 and log["scene_windows_per_batch"] == 8
    with pytest.raises(ValueError, match="no presence head"):
        calibrate_presence(build_model({"arch": "mobile", "width_mult": 0.25, "out_channels": 8}, 1, 70, SIZE,
                                       head_hidden=16), faces, windows, pc, 0.5, 0.25)


def test_config_refuses_calibration_without_a_presence_head():
    from training.config import ConfigError, config_from_dict

    with pytest.raises(ConfigError, match="no presence head"):
        config_from_dict({"data": {"train": [{"loader": "synth", "root": "x", "split": "train"}]},
                          "presence_calibration": {"enabled": True}})
