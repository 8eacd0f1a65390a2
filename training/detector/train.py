"""Train the CentreFace detector on synthetic scene patches for a wall-clock budget, with checkpoints.

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


class PatchStream(IterableDataset):
    def __init__(self, roots, seed: int, size=(160, 128)):
        self.roots, self.seed, self.size = roots, seed, size

    def __iter__(self):
        info = get_worker_info()
        rng = np.random.default_rng(self.seed + (info.id if info else 0) + int(time.time()) % 10000)
        scenes = [s for r in self.roots for s in load_scenes(r)]
        while True:
            x, b = make_patch(scenes[int(rng.integers(len(scenes)))], rng, self.size)
            heat, reg, mask = targets(b, self.size)
            yield torch.from_numpy(x[None].copy()), torch.from_numpy(heat), torch.from_numpy(reg), torch.from_numpy(mask)


def train(scene_roots, out: Path, budget_s: float = 1500, batch: int = 24, lr: float = 3e-3, width: int = 16,
          seed: int = 0, ckpt_every_s: float = 120, workers: int = 1) -> Path:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
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
    loader = DataLoader(PatchStream([str(r) for r in scene_roots], seed), batch_size=batch, num_workers=workers,
                        persistent_workers=workers > 0)
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
        run = 0.98 * run + 0.02 * float(loss) if step > 1 else float(loss)
        if step % 25 == 0:
            print(f"step {step} {spent:.0f}s loss {run:.3f} (heat {float(lh):.3f} box {float(lb):.3f})", file=log,
                  flush=True)
        if time.time() - t_ck > ckpt_every_s:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "spent_s": spent, "step": step,
                        "width": width}, last)
            t_ck = time.time()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "spent_s": spent, "step": step,
                "width": width}, last)
    (out / "train.json").write_text(json.dumps({"steps": step, "seconds": spent, "batch": batch, "lr": lr,
                                                "width": width, "scenes": [str(r) for r in scene_roots]}))
    return last
