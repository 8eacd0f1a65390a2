"""Real RGB photos for the RGB teacher: loaded as RGB-only records, never shown to a thermal model."""
from pathlib import Path

import numpy as np
import pytest

from training.data.augment import AugmentConfig
from training.data.dataset import LandmarkDataset
from training.data.loaders import load_dataset
from training.data.loaders.rgb_photos import is_rgb_only

PHOTOS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "rgb_faces_300w"


def _write_photo(folder: Path, name: str) -> np.ndarray:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 100, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / f"{name}.jpg"), img)
    pts = np.stack([np.linspace(20, 80, 68), np.linspace(30, 100, 68)], 1)
    body = "\n".join(f"{x + 1:.2f} {y + 1:.2f}" for x, y in pts)  # 300-W files are 1-based
    (folder / f"{name}.pts").write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")
    return pts


def test_rgb_only_records_give_blank_thermal_and_a_real_rgb_crop(tmp_path):
    pts = _write_photo(tmp_path / "a", "face1")
    recs = load_dataset("rgb_photos", tmp_path, None, subdirs=["a"])
    assert len(recs) == 1 and is_rgb_only(recs[0]) and recs[0].rgb_path == recs[0].image_path
    np.testing.assert_allclose(recs[0].landmarks, pts, atol=0.01)  # 1-based -> 0-based
    ds = LandmarkDataset(recs, "ibug70", (64, 64), augment=AugmentConfig(occlude_prob=1.0), seed=0)
    item = ds[0]
    assert bool(item["has_rgb"])
    assert float(item["thermal"].abs().max()) == 0.0  # the photo never becomes a "thermal" crop
    assert float(item["rgb"].std()) > 0.05
    assert float(item["target_weight"][68:].sum()) == 0.0  # 300-W has no pupils: masked in the loss
    assert float(item["target_weight"][:68].sum()) > 0.0


def test_thermal_sections_refuse_rgb_only_photos(tmp_path):
    from training.config import config_from_dict
    from training.runs import Run

    _write_photo(tmp_path / "a", "face1")
    src = {"loader": "rgb_photos", "root": str(tmp_path), "split": None, "options": {"subdirs": ["a"]}}
    run = Run(config_from_dict({"data": {"train": [src], "rgb_train": [src]}}), str(tmp_path / "run"))
    with pytest.raises(ValueError, match="rgb_train"):
        run.records("train")
    assert len(run.records("rgb_train")) == 1


@pytest.mark.skipif(not PHOTOS.is_dir(), reason="300-W photos not present (../shared/data/rgb_faces_300w)")
def test_helen_test_split_loads_all_330_faces():
    recs = load_dataset("rgb_photos", PHOTOS, None, subdirs=["helen/testset"])
    assert len(recs) == 330
    assert all(np.isfinite(r.landmarks).all() for r in recs)
