"""thermal-fld CLI: predict on an image, a folder, a .npy stack and a video; info; friendly errors."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from model_factory import make_fixed_landmark_model
from synthetic_frames import thermal_frame, to_counts

from thermal_fld_ros.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(make_fixed_landmark_model(tmp_path_factory.mktemp("cli") / "m.onnx"))


def read_outputs(out: Path):
    doc = json.loads((out / "landmarks.json").read_text())
    with open(out / "landmarks.csv") as fh:
        rows = list(csv.DictReader(fh))
    return doc, rows


def test_predict_folder_of_16bit_radiometric_pngs(tmp_path, model, capsys):
    src = tmp_path / "frames"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"f{i}.png"), to_counts(thermal_frame(faces=[(150 + 3 * i, 110, 28, 0)], seed=i)))
    out = tmp_path / "out"
    assert main(["predict", str(src), "--model", model, "--out", str(out), "--show-progress"]) == 0
    doc, rows = read_outputs(out)
    assert [f["source"] for f in doc["frames"]] == ["f0.png", "f1.png", "f2.png"]
    assert len(rows) == 3 and {r["track_id"] for r in rows} == {"1"}
    face = doc["frames"][0]["faces"][0]
    assert len(face["landmarks"]) == 70 and len(face["scores"]) == 70
    cx = (face["box"][0] + face["box"][2]) / 2
    assert abs(cx - 150) < 15
    assert float(rows[0]["x69"]) > 0 and rows[0]["yaw_deg"] != ""
    assert sorted(p.name for p in (out / "annotated").iterdir()) == ["f0.png", "f1.png", "f2.png"]
    assert "3 frames, 3 faces" in capsys.readouterr().out


def test_predict_npy_stack_video_and_single_image(tmp_path, model):
    stack = np.stack([thermal_frame(seed=i) for i in range(4)])
    np.save(tmp_path / "s.npy", stack)
    assert main(["predict", str(tmp_path / "s.npy"), "--model", model, "--out", str(tmp_path / "o1")]) == 0
    doc, rows = read_outputs(tmp_path / "o1")
    assert len(doc["frames"]) == 4 and len(rows) == 4
    assert doc["frames"][3]["stamp_s"] == pytest.approx(0.1)

    video = tmp_path / "v.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 9.0, (320, 256))
    for i in range(5):
        t = thermal_frame(seed=i)
        grey = np.clip((t - 20) / 20 * 255, 0, 255).astype(np.uint8)
        w.write(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    w.release()
    assert main(["predict", str(video), "--model", model, "--out", str(tmp_path / "o2")]) == 0
    doc, rows = read_outputs(tmp_path / "o2")
    assert len(doc["frames"]) == 5 and len(rows) >= 4
    assert (tmp_path / "o2" / "annotated.mp4").stat().st_size > 1000

    img = tmp_path / "one.png"
    cv2.imwrite(str(img), np.clip((thermal_frame() - 20) / 20 * 255, 0, 255).astype(np.uint8))
    assert main(["predict", str(img), "--model", model, "--out", str(tmp_path / "o3"),
                 "--set", "max_faces=1", "--set", "pose=false"]) == 0
    doc, rows = read_outputs(tmp_path / "o3")
    assert len(rows) == 1 and rows[0]["yaw_deg"] == "" and doc["config"]["max_faces"] == 1


def test_friendly_errors(tmp_path, model, capsys):
    assert main(["predict", str(tmp_path / "missing.png"), "--model", model, "--out", str(tmp_path)]) == 2
    assert "source not found" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), "--model", str(tmp_path / "no.onnx")]) == 2
    assert "no.onnx" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), "--model", model, "--set", "max_face=2"]) == 2
    assert "unknown pipeline parameter" in capsys.readouterr().err
    (tmp_path / "junk.png").write_bytes(b"not a png")
    assert main(["predict", str(tmp_path / "junk.png"), "--model", model, "--out", str(tmp_path / "o")]) == 2
    assert "cannot read image" in capsys.readouterr().err


def test_bad_frames_in_a_stack_are_reported_and_skipped(tmp_path, model):
    stack = np.stack([thermal_frame(), np.full((256, 320), np.nan, np.float32), thermal_frame(seed=2)])
    np.save(tmp_path / "s.npy", stack.astype(np.float32))
    assert main(["predict", str(tmp_path / "s.npy"), "--model", model, "--out", str(tmp_path / "o")]) == 0
    doc, _ = read_outputs(tmp_path / "o")
    assert "NaN" in doc["frames"][1]["warnings"][0] and doc["frames"][2]["faces"]


def test_info_prints_metadata_in_a_subprocess(model):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "thermal_fld_ros.cli", "info", "--model", model],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["metadata"]["scheme"] == "ibug70" and info["metadata"]["trained"] is True
    assert info["inputs"][0]["name"] == "input"
    missing = subprocess.run([sys.executable, "-m", "thermal_fld_ros.cli", "info", "--model", "/nonexistent.onnx"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 2 and "/nonexistent.onnx" in missing.stderr
