"""Training objectives of the three stages, each an ``nn.Module`` whose forward returns the loss.

Putting the loss inside ``forward`` lets DistributedDataParallel wrap the whole trainable part
(model + adapters) in one piece; frozen teachers live inside too but have ``requires_grad=False``
and stay in eval mode (``train()`` is overridden), so neither their weights nor their BatchNorm
statistics ever change.

Batch keys (from ``training.data.dataset.LandmarkDataset``): ``thermal`` (B,1,H,W) and ``rgb``
(B,3,H,W) in [0, 1], ``has_rgb`` (B,), ``target_x``/``target_y``/``target_weight`` (SimCC targets),
optionally ``is_face`` (B,) (False for the negative crops that train the presence head; their
``target_weight`` is 0, so landmark terms skip them; absent means every sample is a face).

Which samples each term uses: GT and Reverse Injection (thermal features through the frozen RGB head,
against the ground truth) need no RGB pair; Forward Injection, feature KD and output KD need the
sample's paired RGB crop (``has_rgb``), since the RGB teacher's guess on a grey thermal crop is no
knowledge to transfer. Distillation terms also skip non-face crops.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import nn

from training.config import AblationConfig, StageConfig
from training.losses import feature_kd_loss, presence_loss, simcc_gt_loss, simcc_kd_loss
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

    def presence(self, features: torch.Tensor, batch) -> torch.Tensor:
        """Face/not-face BCE of ``self.model``'s presence head (0 for models without one)."""
        if not getattr(self.model, "has_presence", False):
            return features.new_zeros(())
        return presence_loss(self.model.presence(features), is_face(batch))


def is_face(batch) -> torch.Tensor:
    """(B,) float: 1 for face crops, 0 for the presence head's negative crops."""
    if "is_face" in batch:
        return batch["is_face"].to(torch.float32)
    return torch.ones(batch["thermal"].shape[0], device=batch["thermal"].device)


def paired_faces(batch) -> torch.Tensor:
    """(B,) float: samples a term that needs the RGB teacher's view may use (RGB pair and a face)."""
    return batch["has_rgb"].to(torch.float32) * is_face(batch)


class SupervisedObjective(_Objective):
    """Ground truth only: the RGB teacher (on ``rgb``), or a model trained from scratch (on ``thermal``)."""

    def __init__(self, model: LandmarkNet, modality: str, input_mean: float, input_std: float,
                 lambda_presence: float = 1.0):
        super().__init__(input_mean, input_std)
        if modality not in ("rgb", "thermal"):
            raise ValueError(f"modality must be rgb or thermal, got {modality!r}")
        self.model = model
        self.modality = modality
        self.lambda_presence = float(lambda_presence)

    def forward(self, batch, step: int = 0, total_steps: int = 1) -> Tuple[torch.Tensor, Terms]:
        weight = batch["target_weight"]
        if self.modality == "rgb":  # samples without an RGB pair carry no RGB supervision
            weight = weight * batch["has_rgb"].to(weight.dtype)[:, None]
        f = self.model.features(self.standardise(batch[self.modality]))
        gt = self.gt(self.model.head(f), batch, weight)
        pres = self.presence(f, batch)
        loss = gt + self.lambda_presence * pres
        return loss, {"gt": gt.detach(), "presence": pres.detach()}


def rgb_input(batch) -> torch.Tensor:
    """The RGB teacher's view: the paired RGB crop, or the thermal crop replicated to 3 channels."""
    thermal3 = batch["thermal"].expand(-1, 3, -1, -1)
    has = batch["has_rgb"].to(torch.bool).view(-1, 1, 1, 1)
    return torch.where(has, batch["rgb"], thermal3)


class KTLObjective(_Objective):
    """Level 1 (Knowledge Transfer Level): thermal teacher guided by a frozen RGB teacher.

    decay_terms "distill" (default):
      loss = l_gt GT + l_fi FI + l_ri RI + d(t) (l_feat featKD + l_out outKD) + l_p presence
    decay_terms "all":
      loss = l_gt GT + d(t) (l_fi FI + l_ri RI + l_feat featKD + l_out outKD) + l_p presence
      FI:     thermal head on adapter_fi(RGB features)          -> GT landmarks   (paired samples)
      RI:     frozen RGB head on adapter_ri(thermal features)    -> GT landmarks   (every sample)
      featKD: MSE(adapter_ri(thermal features), RGB features)                     (paired samples)
      outKD:  KL(RGB teacher's SimCC || thermal SimCC) at temperature tau          (paired samples)
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
        paired = paired_faces(batch)  # FI, feature KD and output KD need the sample's RGB pair
        point_w = paired[:, None].expand_as(batch["target_weight"])
        fi = zero
        if self.adapter_fi is not None:
            fi = self.gt(self.model.head(self.adapter_fi(f_r)), batch, batch["target_weight"] * point_w)
        ri = feat = zero
        if self.adapter_ri is not None:
            a = self.adapter_ri(f_t)
            if self.ablation.ri:  # gradients pass through the frozen RGB head into the adapter and backbone
                ri = self.gt(self.rgb_teacher.head(a), batch)  # against the ground truth: valid without a pair
            feat = feature_kd_loss(a, f_r, paired)
        out = simcc_kd_loss(logits_t[0], logits_t[1], logits_r[0], logits_r[1], st.tau, point_w)
        lam = decay_factor(step, total_steps, st.decay_floor, self.ablation.decay_ktl)
        lam_inj = lam if st.decay_terms == "all" else 1.0
        pres = self.presence(f_t, batch)
        loss = (st.lambda_gt * gt + lam_inj * (st.lambda_fi * fi + st.lambda_ri * ri)
                + lam * (st.lambda_feat * feat + st.lambda_out * out) + st.lambda_presence * pres)
        terms = {"gt": gt, "fi": fi, "ri": ri, "feat_kd": feat, "out_kd": out, "presence": pres}
        terms = {k: v.detach() for k, v in terms.items()}
        terms["lambda"] = gt.new_tensor(lam)
        return loss, terms


class MCLObjective(_Objective):
    """Level 2 (Model Compression Level): frozen thermal teacher -> student.

    loss = l_gt * GT + d(t) * (l_out * outKD + l_feat * MSE(adapter(student features), teacher features))
           + l_p * presence
    (both KD terms on face crops only; the teacher's landmarks on a non-face crop are no target).
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
        face = is_face(batch)
        feat = feature_kd_loss(self.adapter(f_s), f_t, face)
        out = simcc_kd_loss(logits_s[0], logits_s[1], logits_t[0], logits_t[1], st.tau,
                            face[:, None].expand_as(batch["target_weight"]))
        lam = decay_factor(step, total_steps, st.decay_floor, self.ablation.decay_mcl)
        pres = self.presence(f_s, batch)
        loss = st.lambda_gt * gt + lam * (st.lambda_out * out + st.lambda_feat * feat) + st.lambda_presence * pres
        terms = {"gt": gt.detach(), "feat_kd": feat.detach(), "out_kd": out.detach(), "presence": pres.detach(),
                 "lambda": gt.new_tensor(lam)}
        return loss, terms
