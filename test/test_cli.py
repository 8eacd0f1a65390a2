"""thermal-fld CLI: predict on an image, a folder, a .npy stack and a video; info; friendly errors;
streamed outputs that survive a corrupt file and SIGINT/SIGTERM."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
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


# The I/O tests count one face per drawn head: pin the hand-made detector that finds exactly those. The default
# cascade's CNN, trained on real Lepton frames, may add a face on the drawn bodies (its figures: test_cascade.py).
BLOB = ["--set", "detector=thermal_blob"]


def read_outputs(out: Path):
    """(summary with the streamed frames under 'frames', csv rows)."""
    doc = json.loads((out / "summary.json").read_text())
    doc["frames"] = [json.loads(line) for line in (out / "landmarks.jsonl").read_text().splitlines()]
    with open(out / "landmarks.csv") as fh:
        rows = list(csv.DictReader(fh))
    return doc, rows


def test_predict_folder_of_16bit_radiometric_pngs(tmp_path, model, capsys):
    src = tmp_path / "frames"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"f{i}.png"), to_counts(thermal_frame(faces=[(150 + 3 * i, 110, 28, 0)], seed=i)))
    out = tmp_path / "out"
    assert main(["predict", str(src), "--model", model, "--out", str(out), "--show-progress", *BLOB]) == 0
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
    assert main(["predict", str(tmp_path / "s.npy"), "--model", model, "--out", str(tmp_path / "o1"), *BLOB]) == 0
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
    assert main(["predict", str(video), "--model", model, "--out", str(tmp_path / "o2"), *BLOB]) == 0
    doc, rows = read_outputs(tmp_path / "o2")
    assert len(doc["frames"]) == 5 and len(rows) >= 4
    assert (tmp_path / "o2" / "annotated.mp4").stat().st_size > 1000

    img = tmp_path / "one.png"
    cv2.imwrite(str(img), np.clip((thermal_frame() - 20) / 20 * 255, 0, 255).astype(np.uint8))
    assert main(["predict", str(img), "--model", model, "--out", str(tmp_path / "o3"),
                 "--set", "max_faces=1", "--set", "pose=false", *BLOB]) == 0
    doc, rows = read_outputs(tmp_path / "o3")
    assert len(rows) == 1 and rows[0]["yaw_deg"] == "" and doc["config"]["max_faces"] == 1


def test_friendly_errors(tmp_path, model, capsys):
    assert main(["predict", str(tmp_path / "missing.png"), "--model", model, "--out", str(tmp_path)]) == 2
    assert "source not found" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), "--model", str(tmp_path / "no.onnx")]) == 2
    assert "no.onnx" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), "--model", model, "--set", "max_face=2"]) == 2
    assert "unknown pipeline parameter" in capsys.readouterr().err
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("max_faces: [3\n")
    assert main(["predict", str(tmp_path), "--model", model, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.yaml: invalid YAML at line 2" in err, err
    assert main(["predict", str(tmp_path), "--model", model, "--set", "max_faces=[2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--set max_faces=[2: invalid YAML" in err, err
    assert main(["predict", str(tmp_path), "--model", model, "--set", "palette=foo"]) == 2
    assert "palette='foo' is not one of" in capsys.readouterr().err


def test_unknown_config_keys_are_warned_with_the_closest_name(tmp_path, model, capsys):
    cfg = tmp_path / "p.yaml"
    cfg.write_text("thermal_fld_node:\n  ros__parameters:\n    max_facez: 2\n    qos_depth: 1\n")
    np.save(tmp_path / "s.npy", thermal_frame()[None])
    assert main(["predict", str(tmp_path / "s.npy"), "--model", model, "--config", str(cfg),
                 "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "unknown parameter 'max_facez' ignored (did you mean max_faces?)" in err and "qos_depth" not in err


def test_bad_frames_in_a_stack_are_reported_and_skipped(tmp_path, model, capsys):
    stack = np.stack([thermal_frame(), np.full((256, 320), np.nan, np.float32), thermal_frame(seed=2)])
    np.save(tmp_path / "s.npy", stack)  # float64, as np.save writes it: converted, not refused
    assert main(["predict", str(tmp_path / "s.npy"), "--model", model, "--out", str(tmp_path / "o")]) == 3
    doc, _ = read_outputs(tmp_path / "o")
    assert doc["frames"][0]["faces"] and doc["frames"][2]["faces"]
    assert doc["frames"][1]["status"] == "refused" and doc["frames"][1]["issues"][0]["reason"] == "nonfinite"
    assert doc["failed_inputs"] == [{"source": "s_000001", "reason": "nonfinite",
                                     "message": doc["frames"][1]["issues"][0]["message"]}]
    assert doc["exit_code"] == 3 and doc["status"] == {"faces": 2, "refused": 1}
    assert "skipped s_000001" in capsys.readouterr().err


def test_a_corrupt_file_in_a_folder_does_not_stop_the_run(tmp_path, model, capsys):
    src = tmp_path / "frames"
    src.mkdir()
    for i in range(4):
        cv2.imwrite(str(src / f"f{i}.png"), to_counts(thermal_frame(seed=i)))
    (src / "f1.png").write_bytes((src / "f1.png").read_bytes()[:100])  # truncated PNG
    assert main(["predict", str(src), "--model", model, "--out", str(tmp_path / "o"), *BLOB]) == 3
    doc, rows = read_outputs(tmp_path / "o")
    assert [f["source"] for f in doc["frames"]] == ["f0.png", "f1.png", "f2.png", "f3.png"]
    assert len(rows) == 3 and doc["failed_inputs"][0]["source"] == "f1.png"
    assert doc["failed_inputs"][0]["reason"] == "unreadable"
    err = capsys.readouterr().err
    assert "f1.png" in err and "Traceback" not in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_keeps_its_outputs_and_writes_the_summary(tmp_path, model, sig):
    np.save(tmp_path / "s.npy", np.stack([thermal_frame(seed=i % 5) for i in range(400)]).astype(np.float32))
    out = tmp_path / "o"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "thermal_fld_ros.cli", "predict", str(tmp_path / "s.npy"),
                             "--model", model, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # stop it once some frames are on disk
        jsonl = out / "landmarks.jsonl"
        if jsonl.exists() and jsonl.read_text().count("\n") >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    doc, rows = read_outputs(out)
    assert doc["interrupted"] == signal.Signals(sig).name and doc["exit_code"] == 128 + sig
    assert 5 <= len(doc["frames"]) < 400 and doc["frames"] == sorted(doc["frames"], key=lambda f: f["frame"])
    assert json.loads((out / "summary.json").read_text())["frames"] == len(doc["frames"])  # nothing lost
    assert [f["frame"] for f in doc["frames"]] == list(range(len(doc["frames"]))) and len(rows) == doc["faces"]


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
