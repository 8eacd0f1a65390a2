"""Presence calibration: teach a trained student's face/not-face head what a crop without a face looks like on a
real camera (hot clutter, hands, bodies), without touching its landmarks.

The students learn presence during MCL from crops of their own face frames moved off the face (neck,
shoulders, background, zoomed out). Those frames hold no lamps, kettles or monitors, and the real Chips
sequences showed it: the runtime detector's boxes on such things got P(face) 0.99, so the tracker kept
them. Here only the presence head (a small MLP on pooled features) trains, on batches that mix the
student's own training items (faces and their geometric negatives, as in MCL) with face-sized windows of
synthetic scenes that hold no face (``training.data.loaders.scene_negatives``). The backbone and the
landmark head are frozen and stay in eval mode (no batch-norm update), so the landmarks are bit-identical
and a run takes minutes, not the MCL's hour.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch

from training.config import PresenceCalibrationConfig, TrainConfig
from training.losses import presence_loss
from training.metrics import presence_summary


def scene_windows(cfg: TrainConfig, held_out: bool):
    """Records of the scene windows: the training part, or (``held_out``) every ``val_every``-th scene."""
    from training.data.loaders.scene_negatives import load_scene_negatives

    pc = cfg.presence_calibration
    records = load_scene_negatives(Path(pc.scenes), per_scene=pc.windows_per_scene, seed=cfg.seed)
    files = sorted({str(r.image_path) for r in records})
    held = {f for i, f in enumerate(files) if i % pc.val_every == 0}
    return [r for r in records if (str(r.image_path) in held) == held_out]


def _cycle(dataset, batch: int, seed: int):
    """Endless shuffled batches; each pass draws new augmentations (``set_epoch``)."""
    from torch.utils.data import DataLoader

    gen = torch.Generator()
    gen.manual_seed(seed)
    epoch = 0
    while True:
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(10_000 + epoch)
        yield from DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=len(dataset) >= batch, generator=gen)
        epoch += 1


def presence_probabilities(model, crops: np.ndarray, mean: float, std: float, batch: int = 128) -> np.ndarray:
    """P(face) of a torch model for (B, 1, H, W) crops in [0, 1]."""
    x = torch.from_numpy(((crops - np.float32(mean)) / np.float32(std)).astype(np.float32))
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(torch.sigmoid(model.presence(model.features(x[i:i + batch]))).numpy())
    return np.concatenate(out) if out else np.zeros((0,), np.float32)


def readout(model, faces: np.ndarray, geometric: np.ndarray, scenes: np.ndarray, mean: float, std: float) -> Dict:
    """Held-out presence figures: faces vs the geometric negatives, and vs the scene windows (threshold 0.5)."""
    pf = presence_probabilities(model, faces, mean, std)
    return {"geometric": presence_summary(pf, presence_probabilities(model, geometric, mean, std)),
            "scenes": presence_summary(pf, presence_probabilities(model, scenes, mean, std))}


def calibrate_presence(model, faces, scenes, pc: PresenceCalibrationConfig, mean: float, std: float,
                       seed: int = 0) -> Tuple[torch.nn.Module, Dict[str, float]]:
    """A copy of ``model`` whose presence head alone was trained ``pc.steps`` steps on ``faces`` (a training
    LandmarkDataset: faces and their geometric negatives) mixed with ``scenes`` (non-face windows)."""
    if not getattr(model, "has_presence", False):
        raise ValueError("calibrate_presence: the model has no presence head")
    tuned = copy.deepcopy(model).eval()
    for p in tuned.parameters():
        p.requires_grad_(False)
    head = tuned.presence
    for p in head.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(head.parameters(), lr=pc.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=pc.steps)
    n_scene = max(1, int(round(pc.batch_size * pc.scene_share)))
    face_it = _cycle(faces, pc.batch_size - n_scene, seed)
    scene_it = _cycle(scenes, n_scene, seed + 1)
    losses = []
    for _ in range(pc.steps):
        fb, sb = next(face_it), next(scene_it)
        x = torch.cat([fb["thermal"], sb["thermal"]])
        y = torch.cat([fb["is_face"].float(), torch.zeros(len(sb["thermal"]))])
        with torch.no_grad():
            feat = tuned.features((x - mean) / std)
        loss = presence_loss(head(feat), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    tail = max(1, len(losses) // 10)
    return tuned.eval(), {"first_loss": float(np.mean(losses[:tail])), "last_loss": float(np.mean(losses[-tail:])),
                          "steps": pc.steps, "scene_windows_per_batch": n_scene}


def held_out_crops(run) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(synthetic val faces, their geometric negatives, held-out scene windows), (B, 1, H, W) in [0, 1]."""
    from training.data.dataset import LandmarkDataset
    from training.runs import negative_eval_crops

    d = run.cfg.data
    faces_ds = run.dataset("val", train=False)
    faces = np.stack([faces_ds[i]["thermal"].numpy() for i in range(len(faces_ds))]).astype(np.float32)
    geometric = negative_eval_crops(run, "val", len(faces))
    ds = LandmarkDataset(scene_windows(run.cfg, held_out=True), d.scheme, tuple(d.input_size), augment=None,
                         paired=False, split_ratio=d.split_ratio)
    scenes = np.stack([ds[i]["thermal"].numpy() for i in range(len(ds))]).astype(np.float32)
    return faces, geometric, scenes


def calibrate_run_student(run, model) -> Tuple[torch.nn.Module, Dict]:
    """The adapt stage's presence step for one student: calibrate, with held-out readouts before and after."""
    from training.data.augment import NO_AUGMENT, AugmentConfig
    from training.data.dataset import LandmarkDataset

    cfg = run.cfg
    d = cfg.data
    pc = cfg.presence_calibration
    aug = AugmentConfig(**d.augment_options) if d.augment else NO_AUGMENT
    scenes = LandmarkDataset(scene_windows(cfg, held_out=False), d.scheme, tuple(d.input_size), augment=aug,
                             paired=False, split_ratio=d.split_ratio, seed=cfg.seed + 31)
    faces = run.dataset("train", train=True)
    crops = held_out_crops(run)
    before = readout(model, *crops, d.input_mean, d.input_std)
    tuned, log = calibrate_presence(model, faces, scenes, pc, d.input_mean, d.input_std, cfg.seed)
    after = readout(tuned, *crops, d.input_mean, d.input_std)
    return tuned, {"config": dataclasses.asdict(pc), "train_scene_windows": len(scenes), "log": log,
                   "held_out": {"faces": int(len(crops[0])), "geometric": int(len(crops[1])),
                                "scene_windows": int(len(crops[2]))},
                   "before": before, "after": after}
