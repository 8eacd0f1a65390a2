"""Loss terms and the decay schedule against hand-computed values."""
import math

import pytest

torch = pytest.importorskip("torch")

from training.losses import feature_kd_loss, simcc_gt_loss, simcc_kd_loss  # noqa: E402
from training.schedule import decay_factor, lr_factor  # noqa: E402


def test_gt_loss_is_masked_kl():
    # point 0: x logits [0, ln3] -> q = [1/4, 3/4], target [1/2, 1/2]; y logits [0, 0], target [1, 0]
    lx = torch.tensor([[[0.0, math.log(3.0)], [5.0, -5.0]]])
    ly = torch.tensor([[[0.0, 0.0], [1.0, 2.0]]])
    tx = torch.tensor([[[0.5, 0.5], [0.0, 1.0]]])
    ty = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    w = torch.tensor([[1.0, 0.0]])  # point 1 must not count
    kl_x = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    kl_y = math.log(2.0)
    got = simcc_gt_loss(lx, ly, tx, ty, w)
    assert got.item() == pytest.approx(0.5 * (kl_x + kl_y), rel=1e-6)
    # a perfect fit costs zero
    perfect = simcc_gt_loss(torch.log(tx[:, :1] + 1e-12), torch.log(ty[:, :1] + 1e-12), tx[:, :1], ty[:, :1])
    assert perfect.item() == pytest.approx(0.0, abs=1e-6)


def test_output_kd_uses_temperature_and_tau_squared():
    tau = 2.0
    teacher = torch.tensor([[[0.0, 2.0 * math.log(3.0)]]])  # /tau -> p = [1/4, 3/4]
    student = torch.zeros(1, 1, 2)  # q = [1/2, 1/2]
    kl = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    got = simcc_kd_loss(student, student, teacher, teacher, tau=tau)
    assert got.item() == pytest.approx(tau * tau * kl, rel=1e-6)
    with pytest.raises(ValueError):
        simcc_kd_loss(student, student, teacher, teacher, tau=0.0)


def test_output_kd_sends_no_gradient_to_teacher():
    teacher = torch.randn(2, 3, 8, requires_grad=True)
    student = torch.randn(2, 3, 8, requires_grad=True)
    simcc_kd_loss(student, student, teacher, teacher, tau=1.5).backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0


def test_feature_kd_is_mse_and_checks_shapes():
    a = torch.tensor([[[[1.0, 2.0]]]])
    assert feature_kd_loss(a, torch.zeros_like(a)).item() == pytest.approx(2.5)
    with pytest.raises(ValueError):
        feature_kd_loss(a, torch.zeros(1, 1, 1, 3))


def test_decay_schedule_values():
    assert decay_factor(0, 100, floor=0.1) == pytest.approx(1.0)
    assert decay_factor(50, 100, floor=0.1) == pytest.approx(0.55)
    assert decay_factor(25, 100, floor=0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert decay_factor(100, 100, floor=0.1) == pytest.approx(0.1)
    assert decay_factor(500, 100, floor=0.1) == pytest.approx(0.1)  # clamped past the end
    assert decay_factor(50, 100, floor=0.1, enabled=False) == 1.0
    with pytest.raises(ValueError):
        decay_factor(1, 10, floor=1.5)


def test_lr_schedule_warmup_then_cosine():
    assert lr_factor(0, 100, warmup_steps=10) == pytest.approx(0.1)
    assert lr_factor(9, 100, warmup_steps=10) == pytest.approx(1.0)
    assert lr_factor(10, 100, warmup_steps=10) == pytest.approx(1.0)
    assert lr_factor(100, 100, warmup_steps=10, min_factor=0.01) == pytest.approx(0.01)
