"""Forward/Reverse Injection and KD terms: non-zero, and gradients only where they belong."""
import pytest

torch = pytest.importorskip("torch")

from training.config import AblationConfig, StageConfig  # noqa: E402
from training.models import build_model  # noqa: E402
from training.objectives import KTLObjective, MCLObjective, rgb_input  # noqa: E402

SIZE = (32, 32)
N = 5


def _batch(b=4, paired=2):
    g = torch.Generator().manual_seed(0)
    wx, hy = SIZE[0] * 2, SIZE[1] * 2
    tx = torch.softmax(torch.randn(b, N, wx, generator=g) * 3, -1)
    ty = torch.softmax(torch.randn(b, N, hy, generator=g) * 3, -1)
    return {
        "thermal": torch.rand(b, 1, SIZE[1], SIZE[0], generator=g),
        "rgb": torch.rand(b, 3, SIZE[1], SIZE[0], generator=g),
        "has_rgb": torch.arange(b) < paired,
        "target_x": tx, "target_y": ty, "target_weight": torch.ones(b, N),
    }


def _models():
    torch.manual_seed(0)
    thermal = build_model({"arch": "hrnet", "width": 8, "out_channels": 16}, 1, N, SIZE, head_hidden=16)
    rgb = build_model({"arch": "hrnet", "width": 8, "out_channels": 24}, 3, N, SIZE, head_hidden=16)
    return thermal, rgb


def _ktl(**stage_kw):
    thermal, rgb = _models()
    stage = StageConfig(**stage_kw)
    return KTLObjective(thermal, rgb, stage, AblationConfig(), 0.5, 0.25).train()


def _grad_norm(module):
    grads = [p.grad.abs().sum() for p in module.parameters() if p.grad is not None]
    return float(sum(grads)) if grads else 0.0


def test_all_ktl_terms_nonzero_and_rgb_teacher_stays_bit_identical():
    obj = _ktl()
    before = {k: v.clone() for k, v in obj.rgb_teacher.state_dict().items()}
    opt = torch.optim.SGD([p for p in obj.parameters() if p.requires_grad], lr=0.1)
    loss, terms = obj(_batch(), step=0, total_steps=10)
    for name in ("gt", "fi", "ri", "feat_kd", "out_kd"):
        assert terms[name].item() > 0, name
    loss.backward()
    opt.step()
    assert all(p.grad is None for p in obj.rgb_teacher.parameters())
    after = obj.rgb_teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BatchNorm statistics
    assert not obj.rgb_teacher.training
    for part in (obj.adapter_fi, obj.adapter_ri, obj.model.backbone, obj.model.head):
        assert _grad_norm(part) > 0


def test_reverse_injection_trains_thermal_backbone_and_adapter_only():
    obj = _ktl(lambda_gt=0.0, lambda_fi=0.0, lambda_feat=0.0, lambda_out=0.0, lambda_ri=1.0)
    loss, terms = obj(_batch(), step=0, total_steps=10)
    loss.backward()
    assert terms["ri"].item() > 0
    assert _grad_norm(obj.adapter_ri) > 0 and _grad_norm(obj.model.backbone) > 0
    assert _grad_norm(obj.model.head) == 0.0  # RI bypasses the thermal head
    assert _grad_norm(obj.adapter_fi) == 0.0


def test_forward_injection_trains_thermal_head_and_adapter_not_backbone():
    obj = _ktl(lambda_gt=0.0, lambda_ri=0.0, lambda_feat=0.0, lambda_out=0.0, lambda_fi=1.0)
    loss, terms = obj(_batch(), step=0, total_steps=10)
    loss.backward()
    assert terms["fi"].item() > 0
    assert _grad_norm(obj.adapter_fi) > 0 and _grad_norm(obj.model.head) > 0
    assert _grad_norm(obj.model.backbone) == 0.0  # FI input comes from the frozen RGB teacher


def test_unpaired_samples_show_the_rgb_teacher_the_thermal_image():
    batch = _batch(b=3, paired=1)
    view = rgb_input(batch)
    assert torch.equal(view[0], batch["rgb"][0])
    for i in (1, 2):
        assert torch.equal(view[i], batch["thermal"][i].expand(3, -1, -1))
    # all-unpaired and all-paired batches both run
    for paired in (0, 4):
        loss, _ = _ktl()(_batch(paired=paired))
        assert torch.isfinite(loss)


def test_ablation_switches_remove_terms_and_decay_scales_kd():
    thermal, rgb = _models()
    obj = KTLObjective(thermal, rgb, StageConfig(decay_floor=0.0), AblationConfig(fi=False, ri=False), 0.5, 0.25)
    assert obj.adapter_fi is None
    _, terms = obj(_batch(), step=10, total_steps=10)
    assert terms["fi"].item() == 0 and terms["ri"].item() == 0 and terms["feat_kd"].item() > 0
    assert terms["lambda"].item() == pytest.approx(0.0)
    loss_end, t = obj(_batch(), step=10, total_steps=10)
    assert loss_end.item() == pytest.approx(t["gt"].item(), rel=1e-5)  # d(T) = 0: GT alone


def test_mcl_terms_and_frozen_teacher():
    thermal, _ = _models()
    student = build_model({"arch": "mobile", "width_mult": 0.25, "out_channels": 8}, 1, N, SIZE, head_hidden=16)
    obj = MCLObjective(student, thermal, StageConfig(), AblationConfig(), 0.5, 0.25).train()
    before = {k: v.clone() for k, v in obj.teacher.state_dict().items()}
    loss, terms = obj(_batch())
    loss.backward()
    assert terms["out_kd"].item() > 0 and terms["feat_kd"].item() > 0
    assert all(p.grad is None for p in obj.teacher.parameters())
    assert all(torch.equal(before[k], v) for k, v in obj.teacher.state_dict().items())
    assert _grad_norm(obj.adapter) > 0 and _grad_norm(obj.model) > 0
    assert set(obj.trainable_state()) and not any(k.startswith("teacher.") for k in obj.trainable_state())


def test_unpaired_samples_get_no_fi_or_kd_gradient_but_reverse_injection():
    """Thermal samples without an RGB pair: FI, feature KD and output KD are masked; RI still trains."""
    obj = _ktl(lambda_gt=0.0, lambda_ri=0.0)  # only the pair-needing terms
    loss, terms = obj(_batch(paired=0), step=0, total_steps=10)
    assert terms["fi"].item() == 0 and terms["feat_kd"].item() == 0 and terms["out_kd"].item() == 0
    loss.backward()
    for part in (obj.adapter_fi, obj.adapter_ri, obj.model.backbone, obj.model.head):
        assert _grad_norm(part) == 0.0
    obj = _ktl(lambda_gt=0.0)  # RI on: valid without a pair (its target is the ground truth)
    loss, terms = obj(_batch(paired=0), step=0, total_steps=10)
    loss.backward()
    assert terms["ri"].item() > 0
    assert _grad_norm(obj.adapter_ri) > 0 and _grad_norm(obj.model.backbone) > 0
    assert _grad_norm(obj.adapter_fi) == 0.0


def test_mixed_batch_pair_terms_equal_the_paired_samples_alone():
    """Masking changes nothing for paired samples: a mixed batch's FI/KD terms are those of its pairs."""
    from training.losses import feature_kd_loss, simcc_kd_loss

    obj = _ktl().eval()  # eval: per-sample results do not depend on the batch
    mixed = _batch(b=4, paired=2)
    pairs = {k: v[:2] for k, v in mixed.items()}
    with torch.no_grad():
        _, t_mixed = obj(mixed)
        _, t_pairs = obj(pairs)
        for name in ("fi", "feat_kd", "out_kd"):
            assert t_mixed[name].item() == pytest.approx(t_pairs[name].item(), rel=1e-5), name
        # and on an all-paired batch the terms are the unmasked definitions
        x = obj.standardise(pairs["thermal"])
        f_t, f_r = obj.model.features(x), obj.rgb_teacher.features(obj.standardise(pairs["rgb"]))
        lt, lr = obj.model.head(f_t), obj.rgb_teacher.head(f_r)
        assert t_pairs["feat_kd"].item() == pytest.approx(feature_kd_loss(obj.adapter_ri(f_t), f_r).item(), rel=1e-5)
        assert t_pairs["out_kd"].item() == pytest.approx(simcc_kd_loss(*lt, *lr, obj.stage.tau).item(), rel=1e-5)
        assert t_pairs["fi"].item() == pytest.approx(obj.gt(obj.model.head(obj.adapter_fi(f_r)), pairs).item(),
                                                     rel=1e-5)


@pytest.mark.parametrize("terms_scaled", ["distill", "all"])
def test_decay_terms_switch(terms_scaled):
    """decay_terms 'distill': d(t) scales feature/output KD only; 'all': FI and RI too."""
    obj = _ktl(decay_floor=0.0, decay_terms=terms_scaled)
    _, t = obj(_batch(paired=4), step=10, total_steps=10)  # d(T) = 0
    loss, _ = obj(_batch(paired=4), step=10, total_steps=10)
    expected = t["gt"] + (t["fi"] + t["ri"] if terms_scaled == "distill" else 0.0)
    assert loss.item() == pytest.approx(float(expected), rel=1e-5)


def test_decay_switches_are_per_level():
    thermal, rgb = _models()
    student = build_model({"arch": "mobile", "width_mult": 0.25, "out_channels": 8}, 1, N, SIZE, head_hidden=16)
    off_ktl = AblationConfig(decay_ktl=False)
    ktl = KTLObjective(thermal, rgb, StageConfig(decay_floor=0.0), off_ktl, 0.5, 0.25)
    mcl = MCLObjective(student, thermal, StageConfig(decay_floor=0.0), off_ktl, 0.5, 0.25)
    assert ktl(_batch(), step=10, total_steps=10)[1]["lambda"].item() == 1.0
    assert mcl(_batch(), step=10, total_steps=10)[1]["lambda"].item() == 0.0
