"""Training objectives of the three stages, each an ``nn.Module`` whose forward returns the loss.

Putting the loss inside ``forward`` lets DistributedDataParallel wrap the whole trainable part
(model + adapters) in one piece; frozen teachers live inside too but have ``requires_grad=False``
and stay in eval mode (``train()`` is overridden), so neither their weights nor their BatchNorm
statistics ever change.

Batch keys (from ``training.data.dataset.LandmarkDataset``): ``thermal`` (B,1,H,W) and ``rgb``
(B,3,H,W) in [0, 1], ``has_rgb`` (B,), ``target_x``/``target_y``/``target_weight`` (SimCC targets).
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import nn

from training.config import AblationConfig, StageConfig
from training.losses import feature_kd_loss, simcc_gt_loss, simcc_kd_loss
from training.models import FeatureAdapter, LandmarkNet
from training.schedule import decay_factor

Terms = Dict[str, torch.Tensor]


def freeze(model: nn.Module) -> nn.Module:
    """No gradients, eval mode (fixed BatchNorm statistics)."""
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def _feature_hw(model: LandmarkNet) -> Tuple[int, int]:
    return tuple(model.head.feat_hw)


class _Objective(nn.Module):
    """Common parts: input standardisation and keeping frozen members frozen."""

    frozen_names: Tuple[str, ...] = ()

    def __init__(self, input_mean: float, input_std: float):
        super().__init__()
        self.input_mean = float(input_mean)
        self.input_std = float(input_std)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.input_mean) / self.input_std

    def train(self, mode: bool = True):
        super().train(mode)
        for name in self.frozen_names:
            member = getattr(self, name, None)
            if member is not None:
                member.eval()
        return self

    def trainable_state(self) -> Dict[str, torch.Tensor]:
        """State of the trained members only (what a checkpoint needs)."""
        frozen = tuple(f"{n}." for n in self.frozen_names)
        return {k: v for k, v in self.state_dict().items() if not k.startswith(frozen)}

    def load_trainable_state(self, state: Dict[str, torch.Tensor]) -> None:
        missing, unexpected = self.load_state_dict(state, strict=False)
        frozen = tuple(f"{n}." for n in self.frozen_names)
        missing = [k for k in missing if not k.startswith(frozen)]
        if missing or unexpected:
            raise ValueError(f"checkpoint does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}")

    def gt(self, logits, batch, weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        w = batch["target_weight"] if weight is None else weight
        return simcc_gt_loss(logits[0], logits[1], batch["target_x"], batch["target_y"], w)


class SupervisedObjective(_Objective):
    """Ground truth only: the RGB teacher (on ``rgb``), or a model trained from scratch (on ``thermal``)."""

    def __init__(self, model: LandmarkNet, modality: str, input_mean: float, input_std: float):
        super().__init__(input_mean, input_std)
        if modality not in ("rgb", "thermal"):
            raise ValueError(f"modality must be rgb or thermal, got {modality!r}")
        self.model = model
        self.modality = modality

    def forward(self, batch, step: int = 0, total_steps: int = 1) -> Tuple[torch.Tensor, Terms]:
        weight = batch["target_weight"]
        if self.modality == "rgb":  # samples without an RGB pair carry no RGB supervision
            weight = weight * batch["has_rgb"].to(weight.dtype)[:, None]
        loss = self.gt(self.model(self.standardise(batch[self.modality])), batch, weight)
        return loss, {"gt": loss.detach()}


def rgb_input(batch) -> torch.Tensor:
    """The RGB teacher's view: the paired RGB crop, or the thermal crop replicated to 3 channels."""
    thermal3 = batch["thermal"].expand(-1, 3, -1, -1)
    has = batch["has_rgb"].to(torch.bool).view(-1, 1, 1, 1)
    return torch.where(has, batch["rgb"], thermal3)


class KTLObjective(_Objective):
    """Level 1 (Knowledge Transfer Level): thermal teacher guided by a frozen RGB teacher.

    loss = l_gt * GT + d(t) * (l_fi * FI + l_ri * RI + l_feat * featKD + l_out * outKD)
      FI:     thermal head on adapter_fi(RGB features)          -> GT landmarks
      RI:     frozen RGB head on adapter_ri(thermal features)    -> GT landmarks
      featKD: MSE(adapter_ri(thermal features), RGB features)
      outKD:  KL(RGB teacher's SimCC || thermal SimCC) at temperature tau
    """

    frozen_names = ("rgb_teacher",)

    def __init__(self, thermal: LandmarkNet, rgb_teacher: LandmarkNet, stage: StageConfig,
                 ablation: AblationConfig, input_mean: float, input_std: float):
        super().__init__(input_mean, input_std)
        self.model = thermal
        self.rgb_teacher = freeze(rgb_teacher)
        self.stage = stage
        self.ablation = ablation
        c_t, c_r = thermal.backbone.out_channels, rgb_teacher.backbone.out_channels
        self.adapter_fi = FeatureAdapter(c_r, c_t, _feature_hw(thermal)) if ablation.fi else None
        need_ri = ablation.ri or stage.lambda_feat > 0
        self.adapter_ri = FeatureAdapter(c_t, c_r, _feature_hw(rgb_teacher)) if need_ri else None

    def forward(self, batch, step: int = 0, total_steps: int = 1) -> Tuple[torch.Tensor, Terms]:
        st = self.stage
        f_t = self.model.features(self.standardise(batch["thermal"]))
        logits_t = self.model.head(f_t)
        gt = self.gt(logits_t, batch)
        with torch.no_grad():
            f_r = self.rgb_teacher.features(self.standardise(rgb_input(batch)))
            logits_r = self.rgb_teacher.head(f_r)
        zero = gt.new_zeros(())
        fi = self.gt(self.model.head(self.adapter_fi(f_r)), batch) if self.adapter_fi is not None else zero
        ri = feat = zero
        if self.adapter_ri is not None:
            a = self.adapter_ri(f_t)
            if self.ablation.ri:  # gradients pass through the frozen RGB head into the adapter and backbone
                ri = self.gt(self.rgb_teacher.head(a), batch)
            feat = feature_kd_loss(a, f_r)
        out = simcc_kd_loss(logits_t[0], logits_t[1], logits_r[0], logits_r[1], st.tau)
        lam = decay_factor(step, total_steps, st.decay_floor, self.ablation.decay)
        kd = st.lambda_fi * fi + st.lambda_ri * ri + st.lambda_feat * feat + st.lambda_out * out
        loss = st.lambda_gt * gt + lam * kd
        terms = {"gt": gt, "fi": fi, "ri": ri, "feat_kd": feat, "out_kd": out}
        terms = {k: v.detach() for k, v in terms.items()}
        terms["lambda"] = gt.new_tensor(lam)
        return loss, terms


class MCLObjective(_Objective):
    """Level 2 (Model Compression Level): frozen thermal teacher -> student.

    loss = l_gt * GT + d(t) * (l_out * outKD + l_feat * MSE(adapter(student features), teacher features))
    """

    frozen_names = ("teacher",)

    def __init__(self, student: LandmarkNet, teacher: LandmarkNet, stage: StageConfig, ablation: AblationConfig,
                 input_mean: float, input_std: float):
        super().__init__(input_mean, input_std)
        self.model = student
        self.teacher = freeze(teacher)
        self.stage = stage
        self.ablation = ablation
        self.adapter = FeatureAdapter(student.backbone.out_channels, teacher.backbone.out_channels,
                                      _feature_hw(teacher))

    def forward(self, batch, step: int = 0, total_steps: int = 1) -> Tuple[torch.Tensor, Terms]:
        st = self.stage
        x = self.standardise(batch["thermal"])
        f_s = self.model.features(x)
        logits_s = self.model.head(f_s)
        gt = self.gt(logits_s, batch)
        with torch.no_grad():
            f_t = self.teacher.features(x)
            logits_t = self.teacher.head(f_t)
        feat = feature_kd_loss(self.adapter(f_s), f_t)
        out = simcc_kd_loss(logits_s[0], logits_s[1], logits_t[0], logits_t[1], st.tau)
        lam = decay_factor(step, total_steps, st.decay_floor, self.ablation.decay)
        loss = st.lambda_gt * gt + lam * (st.lambda_out * out + st.lambda_feat * feat)
        terms = {"gt": gt.detach(), "feat_kd": feat.detach(), "out_kd": out.detach(), "lambda": gt.new_tensor(lam)}
        return loss, terms
