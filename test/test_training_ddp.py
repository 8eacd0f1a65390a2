"""A 2-process torchrun (gloo, CPU) run of the KTL stage: DDP around model + adapters, frozen RGB teacher inside."""
import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from training_helpers import REPO, smoke_config, write_config  # noqa: E402

from training.engine import read_steps  # noqa: E402

pytestmark = pytest.mark.training


def test_torchrun_two_processes_gloo(tmp_path):
    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split

    data = tmp_path / "synth"
    for split, n, seed in (("train", 32, 0), ("val", 8, 1000), ("test", 8, 2000)):
        write_split(data, split, n, seed=seed, opts=SynthOptions(size=96), workers=1, progress=False)
    doc = smoke_config(data, tmp_path / "run", **{
        "rgb_teacher.epochs": 1, "rgb_teacher.steps_per_epoch": 2,
        "thermal_teacher.epochs": 2, "thermal_teacher.steps_per_epoch": 2, "data.batch_size": 8})
    cfg = write_config(doc, tmp_path / "ddp.yaml")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    first = subprocess.run([sys.executable, "-m", "training", "rgb_teacher", "--config", str(cfg)], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=200)
    assert first.returncode == 0, first.stderr[-3000:]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "training", "thermal_teacher", "--config", str(cfg)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    stage = tmp_path / "run" / "thermal_teacher"
    epochs = json.loads((stage / "epochs.json").read_text())
    assert [e["world_size"] for e in epochs] == [2, 2]
    steps = read_steps(stage / "steps.csv")
    assert list(steps["step"]) == [0, 1, 2, 3]  # rank 0 alone writes: no duplicated rows
    assert (steps["fi"] > 0).all() and (steps["ri"] > 0).all()
    assert (stage / "model.pt").is_file() and (stage / "last.pt").is_file()
    assert proc.stdout.count("epoch 2/2") == 1  # only rank 0 prints the epoch summary
