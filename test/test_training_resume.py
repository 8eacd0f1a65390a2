"""Checkpoint resume: a run killed after epoch 1 and resumed ends exactly where an uninterrupted run does."""
import json

import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import Dataset  # noqa: E402

from training.checkpoint import seed_everything  # noqa: E402
from training.config import StageConfig  # noqa: E402
from training.distributed import DistContext  # noqa: E402
from training.engine import StopTraining, read_steps, train_stage  # noqa: E402
from training.models import build_model  # noqa: E402
from training.objectives import SupervisedObjective  # noqa: E402

SIZE, N = (32, 32), 4


class _RandomFaces(Dataset):
    """Fixed random crops + targets; ``noise`` draws from torch's global RNG like augmentation does."""

    def __init__(self, n=12):
        g = torch.Generator().manual_seed(1)
        self.x = torch.rand(n, 1, SIZE[1], SIZE[0], generator=g)
        self.tx = torch.softmax(torch.randn(n, N, SIZE[0] * 2, generator=g) * 4, -1)
        self.ty = torch.softmax(torch.randn(n, N, SIZE[1] * 2, generator=g) * 4, -1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        noise = 0.01 * torch.randn(1, SIZE[1], SIZE[0])  # global RNG: must be restored on resume
        return {"thermal": self.x[i] + noise, "target_x": self.tx[i], "target_y": self.ty[i],
                "target_weight": torch.ones(N), "has_rgb": torch.tensor(False)}


def _run(out, resume=False, stop=None):
    seed_everything(3)
    model = build_model({"arch": "mobile", "width_mult": 0.25, "out_channels": 8}, 1, N, SIZE, head_hidden=16)
    obj = SupervisedObjective(model, "thermal", 0.5, 0.25)
    stage = StageConfig(epochs=2, steps_per_epoch=4, lr=5e-3, warmup_steps=1)
    hist = train_stage("t", obj, _RandomFaces(), stage, out, DistContext(), seed=3, batch_size=4,
                       resume=resume, log_every=1, stop_after_epoch=stop)
    return obj, hist


def test_resume_after_kill_matches_uninterrupted(tmp_path):
    full, hist_full = _run(tmp_path / "a")
    with pytest.raises(StopTraining):
        _run(tmp_path / "b", stop=1)
    assert json.loads((tmp_path / "b" / "epochs.json").read_text())[0]["epoch"] == 1
    resumed, hist_res = _run(tmp_path / "b", resume=True)
    a, b = full.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["train_loss"] for h in hist_full] == [h["train_loss"] for h in hist_res]
    steps = read_steps(tmp_path / "b" / "steps.csv")
    assert list(steps["step"]) == list(range(8))  # no step lost or logged twice
    assert hist_full[-1]["train_loss"] < hist_full[0]["train_loss"]
    # resuming a finished stage is a no-op that returns its history
    _, again = _run(tmp_path / "b", resume=True)
    assert again == hist_res


def test_cli_resume_after_sigkill_keeps_finished_epochs(tmp_path):
    """A real ``kill -9`` during epoch 2 of ``python -m training rgb_teacher``; ``--resume`` finishes the run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from training_helpers import REPO, smoke_config, write_config

    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split

    data = tmp_path / "synth"
    for split, n, seed in (("train", 24, 0), ("val", 4, 1000), ("test", 4, 2000)):
        write_split(data, split, n, seed=seed, opts=SynthOptions(size=64), workers=1, progress=False)
    doc = smoke_config(data, tmp_path / "run", **{"rgb_teacher.epochs": 3, "rgb_teacher.steps_per_epoch": 15,
                                                  "data.batch_size": 4, "data.val_limit": 4})
    cfg = write_config(doc, tmp_path / "c.yaml")
    cmd = [sys.executable, "-m", "training", "rgb_teacher", "--config", str(cfg)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    stage = tmp_path / "run" / "rgb_teacher"
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if (stage / "last.pt").is_file():  # epoch 1 is finished once its checkpoint exists
                break
            time.sleep(0.05)
        assert proc.poll() is None, "run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    done_before = int(torch.load(stage / "last.pt", weights_only=False)["epoch"])
    assert 1 <= done_before < 3 and not (stage / "model.pt").is_file()
    out = subprocess.run(cmd + ["--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=200)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"resuming after epoch {done_before}/3" in out.stdout
    epochs = json.loads((stage / "epochs.json").read_text())
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert list(read_steps(stage / "steps.csv")["step"]) == list(range(45))
    assert (stage / "model.pt").is_file()


def test_stage_keeps_the_best_validation_epoch_not_the_last(tmp_path):
    """Validation NME 0.5, 0.3, 0.4: the model handed on is epoch 2's (best.pt), not epoch 3's."""
    seed_everything(3)
    model = build_model({"arch": "mobile", "width_mult": 0.25, "out_channels": 8}, 1, N, SIZE, head_hidden=16)
    obj = SupervisedObjective(model, "thermal", 0.5, 0.25)
    figures = iter([0.5, 0.3, 0.4])
    snapshots = []

    def validate(o):
        snapshots.append({k: v.clone() for k, v in o.model.state_dict().items()})
        return {"val_nme": next(figures)}

    stage = StageConfig(epochs=3, steps_per_epoch=2, lr=5e-3, warmup_steps=1)
    hist = train_stage("t", obj, _RandomFaces(), stage, tmp_path, DistContext(), seed=3, batch_size=4,
                       validate=validate)
    final = obj.model.state_dict()
    assert all(torch.equal(final[k], snapshots[1][k]) for k in final)
    assert not all(torch.equal(final[k], snapshots[2][k]) for k in final)
    assert torch.load(tmp_path / "best.pt", weights_only=False)["epoch"] == 2
    assert [h["best_val_nme"] for h in hist] == [0.5, 0.3, 0.3]


def test_cli_falls_back_to_the_previous_checkpoint_and_names_missing_paths(tmp_path):
    """``python -m training rgb_teacher --resume`` with a truncated, then a foreign ``last.pt``: one line
    each, and the run continues from ``last.prev.pt``. Missing data paths: one line each, exit 2."""
    import subprocess
    import sys

    from training_helpers import REPO, smoke_config, write_config

    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split

    data = tmp_path / "synth"
    for split, n, seed in (("train", 16, 0), ("val", 4, 1000), ("test", 4, 2000)):
        write_split(data, split, n, seed=seed, opts=SynthOptions(size=64), workers=1, progress=False)
    doc = smoke_config(data, tmp_path / "run", **{"rgb_teacher.epochs": 2, "rgb_teacher.steps_per_epoch": 2,
                                                  "data.batch_size": 4, "data.val_limit": 4})
    cfg = write_config(doc, tmp_path / "c.yaml")
    cmd = [sys.executable, "-m", "training", "rgb_teacher", "--config", str(cfg)]
    env = dict(__import__("os").environ, OMP_NUM_THREADS="1")
    stage = tmp_path / "run" / "rgb_teacher"
    first = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    last, prev = stage / "last.pt", stage / "last.prev.pt"
    assert torch.load(prev, weights_only=False)["epoch"] == 1 and torch.load(last, weights_only=False)["epoch"] == 2
    for damage, words in ((lambda: last.write_bytes(last.read_bytes()[:1000]), "unreadable"),
                          (lambda: torch.save({"weights": 1}, last), "not a resume checkpoint of this stage")):
        damage()
        out = subprocess.run(cmd + ["--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        assert "Traceback" not in out.stderr + out.stdout
        lines = [ln for ln in out.stdout.splitlines() if "cannot resume from" in ln]
        assert len(lines) == 1 and words in lines[0] and "falling back to the previous checkpoint" in lines[0], \
            out.stdout
        assert "resuming after epoch 1/2" in out.stdout
        assert [e["epoch"] for e in json.loads((stage / "epochs.json").read_text())] == [1, 2]
        assert (stage / "last.bad.pt").is_file()  # kept aside, never rotated into last.prev.pt
        assert torch.load(prev, weights_only=False)["epoch"] == 1
    missing = smoke_config(tmp_path / "nope", tmp_path / "run2")
    missing["data"]["rgb_train"] = [{"loader": "rgb_photos", "root": str(tmp_path / "photos"), "split": "train"}]
    out = subprocess.run([sys.executable, "-m", "training", "rgb_teacher", "--config",
                          str(write_config(missing, tmp_path / "m.yaml"))], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 3 and all(ln.startswith("error: data.") and "not found" in ln for ln in errors), errors
    assert str(tmp_path / "photos") in out.stderr
