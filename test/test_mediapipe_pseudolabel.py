"""``python -m training pseudolabel`` on a few real PUJ faces: a dataset the generic loader reads."""
import json
from pathlib import Path

import numpy as np
import pytest

from training.__main__ import main

PUJ = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real_thermal" / "puj_lwir_faces"


@pytest.mark.skipif(not PUJ.is_dir(), reason="PUJ thermal faces (../shared/data/real_thermal) not present")
def test_pseudolabel_cli_writes_a_loadable_dataset(tmp_path, capsys):
    from training.baselines.mediapipe_mesh import unavailable_reason

    if unavailable_reason():
        pytest.skip(unavailable_reason())
    from training.data.loaders import load_generic

    out = tmp_path / "pl"
    assert main(["pseudolabel", "--out", str(out), "--data", str(PUJ.parent), "--sources", "puj",
                 "--limit", "3"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert sum(c["candidates"] for c in summary["counts"].values()) == 3
    assert summary["kept"] >= 1, summary
    assert f"kept {summary['kept']} faces" in capsys.readouterr().out
    folders = [d.name for d in out.iterdir() if d.is_dir()]
    records = [r for f in folders for r in load_generic(out, split=f, scheme="ibug70")]
    assert len(records) == summary["kept"]
    for rec in records:
        doc = json.loads(Path(rec.extra["annotation"]).read_text())
        assert doc["source"].startswith("puj_lwir_faces/") and "research" in doc["terms"]
        assert doc["confidence"] >= 0.5 and doc["flip_nme"] <= 0.08
        assert rec.landmarks.shape == (70, 2) and 0.0 <= rec.visible.min() and rec.visible.max() <= 1.0
        # points lie on the face: inside the image, eyes above the mouth
        assert np.isfinite(rec.landmarks[:68]).all()
        assert rec.landmarks[36:48, 1].mean() < rec.landmarks[48:68, 1].mean()


def test_pseudolabel_refuses_an_unknown_source(tmp_path, capsys):
    assert main(["pseudolabel", "--out", str(tmp_path), "--data", str(tmp_path), "--sources", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown nope" in err or "not installed" in err
