"""Smoke run of the whole pipeline (``python -m training all``) on a tiny generated set.

Checks the issue's list: every stage runs, losses fall, FI and RI are non-zero, the export matches
torch, the runtime loads the exported model and reproduces the training-side predictions, and eval
writes its metrics JSON and plots.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training_helpers import REPO, smoke_config, write_config  # noqa: E402

from training.engine import read_steps  # noqa: E402

pytestmark = pytest.mark.training


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("smoke")
    cfg = write_config(smoke_config(base / "synth", base / "run"), base / "smoke.yaml")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "training", "all", "--config", str(cfg)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return base / "run", base / "synth", proc.stdout


def test_all_generated_data_and_ran_every_stage(smoke_run):
    run, synth, _ = smoke_run
    for split in ("train", "val", "test"):
        assert (synth / split / "annotations.json").is_file()
    for stage in ("rgb_teacher", "thermal_teacher", "student_tiny", "student_base"):
        assert (run / stage / "model.pt").is_file(), stage
        assert (run / stage / "last.pt").is_file(), stage
    assert json.loads((run / "timings.json").read_text()).keys() >= {"rgb_teacher", "export", "eval"}


def test_losses_fall_and_injection_terms_are_active(smoke_run):
    run, _, _ = smoke_run
    for stage in ("rgb_teacher", "thermal_teacher", "student_tiny", "student_base"):
        cols = read_steps(run / stage / "steps.csv")
        first, last = cols["loss"][:3].mean(), cols["loss"][-3:].mean()
        assert last < first, (stage, first, last)
        assert np.isfinite(cols["grad_norm"]).all()
    kt = read_steps(run / "thermal_teacher" / "steps.csv")
    for term in ("fi", "ri", "feat_kd", "out_kd"):
        assert (kt[term] > 0).all(), term
    assert kt["lambda"][0] > kt["lambda"][-1]  # time-adaptive decay in action
    st = read_steps(run / "student_base" / "steps.csv")
    assert (st["out_kd"] > 0).all() and (st["feat_kd"] > 0).all()
    assert (st["presence"] > 0).all() and (kt["presence"] > 0).all()  # negatives in the batches
    for stage in ("thermal_teacher", "student_base"):  # the stage hands on its best validation epoch
        assert (run / stage / "best.pt").is_file()


def test_export_parity_and_runtime_loads_the_model(smoke_run):
    from thermal_fld_ros.codec import SimCCCodec
    from thermal_fld_ros.landmark_model import LandmarkModel
    from thermal_fld_ros.model_meta import read_onnx_metadata

    run, synth, _ = smoke_run
    report = json.loads((run / "export" / "export.json").read_text())
    for entry in report.values():
        assert entry["fp32"]["parity"]["max_abs_error"] <= 1e-3
        assert {"fp16", "int8"} <= entry.keys() and "nme_cost_vs_fp32" in entry["int8"]
    path = run / "export" / "thermal_fld_student_base.onnx"
    meta = read_onnx_metadata(path)  # from the embedded metadata_props
    assert meta["trained"] is True and meta["scheme"] == "ibug70" and meta["input_size"] == [64, 64]
    assert meta["recipe"]["config_hash"] and "nme" in meta["metrics"]
    assert json.loads(path.with_suffix(".json").read_text()) == meta
    # smoke.yaml has models.presence: the face/not-face output is exported, listed and evaluated
    assert meta["outputs"] == ["simcc_x", "simcc_y", "presence"]
    pres = meta["metrics"]["presence"]
    assert pres["faces"] > 0 and pres["non_faces"] > 0 and 0.0 <= pres["auc"] <= 1.0
    # the runtime's model class reproduces the torch model through its own standardisation + decoder
    model = LandmarkModel(path)
    from training.config import load_config
    from training.runs import Run

    cfg = load_config(run / ".." / "smoke.yaml")
    r = Run(cfg, str(run))
    crops = np.stack([r.dataset("test", train=False)[i]["thermal"][0].numpy() for i in range(4)])
    pts_rt, _ = model.predict(crops)
    net = r.load_model("student_base", "student", "base")
    with torch.no_grad():
        lx, ly = net(torch.from_numpy((crops[:, None] - 0.5) / 0.25))
    pts_torch, _ = SimCCCodec((64, 64), 2.0).decode(lx.numpy(), ly.numpy())
    assert np.abs(pts_rt - pts_torch).max() < 1e-3


def test_runtime_pipeline_runs_the_exported_model_on_a_radiometric_frame(smoke_run):
    import cv2

    from thermal_fld_ros.config import PipelineConfig
    from thermal_fld_ros.pipeline import Pipeline

    run, synth, _ = smoke_run
    pipe = Pipeline(PipelineConfig(model_path=str(run / "export" / "thermal_fld_student_base.onnx")))
    assert pipe.meta.model_name == "thermal_fld_student_base" and pipe.meta.input_size == (64, 64)
    frame = cv2.imread(str(sorted((synth / "test" / "thermal").glob("*.png"))[0]), cv2.IMREAD_UNCHANGED)
    assert frame.dtype == np.uint16
    result = pipe.process_array(frame, "16UC1", 0.0)
    assert result.width == frame.shape[1] and result.height == frame.shape[0]


def test_eval_writes_metrics_and_plots(smoke_run):
    run, _, _ = smoke_run
    doc = json.loads((run / "eval" / "metrics.json").read_text())
    onnx_names = [k for k in doc["models"] if k.endswith("(onnx)")]
    assert len(onnx_names) == 6  # 2 sizes x fp32/fp16/int8
    m = doc["models"]["student_base (torch)"]
    for key in ("nme", "fr@0.10", "auc@0.10", "pose_mae_deg"):
        assert key in m
    assert len(m["per_landmark_nme"]) == 70
    assert m["nme"] == pytest.approx(doc["models"]["thermal_fld_student_base (onnx)"]["nme"], abs=1e-4)
    ref = doc["pose_from_true_landmarks_mae_deg"]
    assert ref["count"] > 0 and ref["mean"] < 10.0  # pose path works on the true landmarks
    for name in ("training_curves.png", "ced.png", "overlay_grid.png"):
        assert (run / "eval" / name).stat().st_size > 5000
    sizes = doc["model_sizes"]
    assert sizes["student_tiny"]["params"] < sizes["student_base"]["params"] < sizes["thermal_teacher"]["params"]
