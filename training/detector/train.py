"""Train the CentreFace detector on synthetic scene patches, real Chips frames or a mix of both, for a
wall-clock budget, with checkpoints.

Real frames (``real_root``, ``training/detector/real.py``) make the separate ``detector_chips`` model:
``exclude`` leaves participants out (LOPO folds), ``real_share`` is the fraction of patches cut from real
frames when scenes are mixed in.

Time-based cosine learning rate (the budget, not an epoch count, is what a CPU run can promise); a
checkpoint every ``ckpt_every_s`` and at the end, resumed automatically from ``out/last.pt``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from .data import load_scenes, make_patch, targets
from .model import CentreFaceNet, box_loss, focal_loss
from .real import load_real, real_patch, without


class PatchStream(IterableDataset):
    def __init__(self, roots, seed: int, size=(160, 128), real=(), real_share: float = 0.0):
        self.roots, self.seed, self.size = roots, seed, size
        self.real, self.real_share = list(real), float(real_share) if len(real) else 0.0

    def __iter__(self):
        info = get_worker_info()
        rng = np.random.default_rng(self.seed + (info.id if info else 0) + int(time.time()) % 10000)
        scenes = [s for r in self.roots for s in load_scenes(r)]
        if not scenes and not self.real:
            raise RuntimeError(f"no training data: no scenes in {self.roots} and no real frames")
        share = self.real_share if scenes else 1.0
        while True:
            if self.real and rng.random() < share:
                x, b = real_patch(self.real[int(rng.integers(len(self.real)))], rng, self.size)
            else:
                x, b = make_patch(scenes[int(rng.integers(len(scenes)))], rng, self.size)
            heat, reg, mask = targets(b, self.size)
            yield torch.from_numpy(x[None].copy()), torch.from_numpy(heat), torch.from_numpy(reg), torch.from_numpy(mask)


def train(scene_roots, out: Path, budget_s: float = 1500, batch: int = 24, lr: float = 3e-3, width: int = 16,
          seed: int = 0, ckpt_every_s: float = 120, workers: int = 1, real_root=None, exclude=(),
          real_share: float = 0.7, real_items=None) -> Path:
    """Train for ``budget_s`` wall seconds; ``real_root`` (or already loaded ``real_items``) adds Chips frames
    except the participants in ``exclude``. Returns the checkpoint path (``out/last.pt``)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    scene_roots = [str(r) for r in scene_roots if Path(r).is_dir() and any(Path(r).glob("*.npz"))]
    real = []
    if real_items is not None or real_root:
        items = real_items if real_items is not None else load_real(real_root)
        real = without(items, exclude)
        print(f"{len(real)} real frames ({len(items) - len(real)} of {sorted(set(exclude))} left out), "
              f"{len(scene_roots)} scene dir(s), real share {real_share if scene_roots else 1.0}")
    data_info = {"scenes": scene_roots, "real": str(real_root or ""), "exclude": sorted(set(exclude)),
                 "real_frames": len(real), "real_share": (real_share if scene_roots else 1.0) if real else 0.0}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = CentreFaceNet(width)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    spent, step = 0.0, 0
    last = out / "last.pt"
    if last.is_file():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        spent, step = ck["spent_s"], ck["step"]
        print(f"resumed at step {step}, {spent:.0f} s spent")
    loader = DataLoader(PatchStream(scene_roots, seed, real=real, real_share=real_share), batch_size=batch,
                        num_workers=workers, persistent_workers=workers > 0)
    t_start, t_ck = time.time() - spent, time.time()
    log = open(out / "train.log", "a")
    run = 0.0
    for x, heat, reg, mask in loader:
        spent = time.time() - t_start
        if spent >= budget_s:
            break
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + np.cos(np.pi * min(spent / budget_s, 1.0))) + 1e-5
        ph, pb = model(x)
        lh, lb = focal_loss(ph, heat), box_loss(pb, reg, mask)
        loss = lh + lb
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        run = 0.98 * run + 0.02 * float(loss.detach()) if step > 1 else float(loss.detach())
        if step % 25 == 0:
            print(f"step {step} {spent:.0f}s loss {run:.3f} (heat {float(lh.detach()):.3f} box {float(lb.detach()):.3f})", file=log,
                  flush=True)
        if time.time() - t_ck > ckpt_every_s:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "spent_s": spent, "step": step,
                        "width": width, "data": data_info}, last)
            t_ck = time.time()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "spent_s": spent, "step": step,
                "width": width, "data": data_info}, last)
    (out / "train.json").write_text(json.dumps({"steps": step, "seconds": spent, "batch": batch, "lr": lr,
                                                "width": width, **data_info}))
    return last
