"""The training loop every stage shares: epochs, DDP, logging, checkpoints and resume.

Per stage directory: ``steps.csv`` (loss terms, lambda(t), lr, grad norm per logged step),
``epochs.json`` (per-epoch means + validation), ``last.pt`` (resume checkpoint, written every epoch),
``best.pt`` (the network of the epoch with the lowest validation NME so far) and ``model.pt`` (the
network the stage hands on: the best epoch's when validation ran, else the last epoch's).
"""
from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from training import checkpoint as ckpt
from training.config import StageConfig
from training.distributed import DistContext, all_reduce_mean
from training.schedule import lr_factor

TERM_COLUMNS = ("gt", "fi", "ri", "feat_kd", "out_kd", "presence", "lambda")


class StopTraining(RuntimeError):
    """Raised by the ``stop_after_epoch`` hook: simulates a kill right after a checkpoint."""


def _to_device(batch: Dict, device: torch.device) -> Dict:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


def make_loader(dataset: Dataset, batch_size: int, ctx: DistContext, seed: int, num_workers: int = 0,
                shuffle: bool = True) -> DataLoader:
    """Deterministic order per (seed, epoch): the sampler is re-seeded with ``set_epoch``."""
    sampler = DistributedSampler(dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=shuffle, seed=seed)
    per_rank = math.ceil(len(dataset) / ctx.world_size)
    return DataLoader(dataset, batch_size=min(batch_size, per_rank), sampler=sampler, num_workers=num_workers,
                      drop_last=shuffle and per_rank >= batch_size, persistent_workers=False)


def _batches(loader: DataLoader, epoch: int, steps: int):
    """``steps`` batches, cycling the loader with a fresh (deterministic) order each pass."""
    done, cycle = 0, 0
    while done < steps:
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch * 1000 + cycle)
        if hasattr(loader.dataset, "set_epoch"):  # per-epoch augmentation draws
            loader.dataset.set_epoch(epoch * 1000 + cycle)
        got = False
        for batch in loader:
            got = True
            yield batch
            done += 1
            if done >= steps:
                return
        if not got:
            raise ValueError("training data loader is empty")
        cycle += 1


def train_stage(name: str, objective: nn.Module, train_set: Dataset, stage: StageConfig, out_dir: Path,
                ctx: DistContext, seed: int, batch_size: int, num_workers: int = 0, resume: bool = False,
                log_every: int = 10, validate: Optional[Callable[[nn.Module], Dict[str, float]]] = None,
                stop_after_epoch: Optional[int] = None) -> List[Dict]:
    """Train ``objective`` (an ``nn.Module`` returning (loss, terms)) for ``stage.epochs`` epochs.

    Returns the per-epoch history. With ``resume``, continues after the last finished epoch of
    ``out_dir/last.pt``; a finished stage returns at once. With ``validate`` returning ``val_nme``, the
    objective's model ends with the weights of the best validation epoch (``best.pt``), not the last:
    a late epoch whose validation NME rose is never what the next stage or the export gets.
    """
    out_dir = Path(out_dir)
    device = ctx.device
    objective.to(device)
    params = [p for p in objective.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=stage.lr, weight_decay=stage.weight_decay)
    loader = make_loader(train_set, batch_size, ctx, seed, num_workers)
    steps_per_epoch = stage.steps_per_epoch or len(loader)
    total = steps_per_epoch * stage.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: lr_factor(s, total, min(stage.warmup_steps, total // 4)))
    history: List[Dict] = []
    start_epoch, step = 0, 0
    last_rows: List[Dict] = []
    last = out_dir / "last.pt"
    best_path = out_dir / "best.pt"
    best_nme = math.inf
    state = ckpt.load_resume(last, name, lambda s: objective.load_trainable_state(s["objective"]),
                             verbose=ctx.is_main) if resume else None
    if state is not None:
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, step, history = state["epoch"], state["step"], state["history"]
        ckpt.set_rng_state(state["rng"][min(ctx.rank, len(state["rng"]) - 1)])
        last_rows = state.get("rows", [])
        best_nme = state.get("best_val_nme", math.inf)
        if ctx.is_main:
            print(f"[{name}] resuming after epoch {start_epoch}/{stage.epochs} (step {step})", flush=True)
    elif ctx.is_main:
        resume = False  # nothing to resume from: the logs below start afresh too
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("steps.csv", "epochs.json", "best.pt"):
            (out_dir / stale).unlink(missing_ok=True)
    model = objective
    if ctx.distributed:
        model = nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None)
    log_path = out_dir / "steps.csv"
    if ctx.is_main and resume:  # logs = what the checkpoint knows (a kill may fall between the two writes)
        _truncate_log(log_path, step)
        _append_log(log_path, [r for r in last_rows if r["step"] > _last_logged_step(log_path)])
        if history:
            (out_dir / "epochs.json").write_text(json.dumps(history, indent=1), encoding="utf-8")

    for epoch in range(start_epoch, stage.epochs):
        objective.train()
        t0 = time.time()
        sums: Dict[str, float] = {}
        bar = tqdm(_batches(loader, epoch, steps_per_epoch), total=steps_per_epoch, disable=not ctx.is_main,
                   desc=f"{name} {epoch + 1}/{stage.epochs}", leave=False, dynamic_ncols=True)
        rows = []
        for batch in bar:
            batch = _to_device(batch, device)
            loss, terms = model(batch, step=step, total_steps=total)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"[{name}] non-finite loss at step {step}: {terms}")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, stage.grad_clip if stage.grad_clip > 0
                                                             else float("inf")))
            optimiser.step()
            scheduler.step()
            loss_v = float(all_reduce_mean(loss.detach(), ctx))
            values = {"loss": loss_v, "grad_norm": grad_norm, **{k: float(v) for k, v in terms.items()}}
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            if step % max(log_every, 1) == 0 or step == total - 1:
                rows.append({"epoch": epoch + 1, "step": step, "lr": scheduler.get_last_lr()[0], **values})
                bar.set_postfix(loss=f"{loss_v:.4f}")
            step += 1
        record = {"epoch": epoch + 1, "step": step, "seconds": round(time.time() - t0, 2), "world_size": ctx.world_size,
                  **{f"train_{k}": v / steps_per_epoch for k, v in sums.items()}}
        if validate is not None and ctx.is_main:
            objective.eval()
            record.update(validate(objective))
            nme = record.get("val_nme", math.nan)
            if math.isfinite(nme) and nme < best_nme:  # before last.pt: a resume never misses a best epoch
                best_nme = nme
                ckpt.save_atomic({"epoch": epoch + 1, "val_nme": nme,
                                  "model": objective.model.state_dict()}, best_path)
            record["best_val_nme"] = best_nme if math.isfinite(best_nme) else None
        history.append(record)
        rngs = _gather_rng(ctx)
        if ctx.is_main:  # checkpoint first: the epoch counts as finished once it is saved
            ckpt.save_keeping_previous({"epoch": epoch + 1, "step": step, "objective": objective.trainable_state(),
                                        "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(),
                                        "history": history, "rows": rows, "rng": rngs, "best_val_nme": best_nme},
                                       last)
            _append_log(log_path, rows)
            (out_dir / "epochs.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
            print(f"[{name}] epoch {epoch + 1}/{stage.epochs} " + " ".join(
                f"{k}={v:.4g}" for k, v in record.items() if isinstance(v, float)), flush=True)
        ctx.barrier()
        if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch and epoch + 1 < stage.epochs:
            raise StopTraining(f"[{name}] stopped after epoch {epoch + 1} (test hook)")
    if best_path.is_file():
        best = ckpt.load(best_path)
        objective.model.load_state_dict(best["model"])
        if ctx.is_main:
            print(f"[{name}] keeping epoch {best['epoch']} (best validation NME {best['val_nme']:.4f})", flush=True)
    return history


def _gather_rng(ctx: DistContext) -> List[Dict]:
    """RNG state of every rank (rank i resumes with its own)."""
    mine = ckpt.rng_state()
    if not ctx.distributed:
        return [mine]
    import torch.distributed as dist

    out: List = [None] * ctx.world_size
    dist.all_gather_object(out, mine)
    return out


def _append_log(path: Path, rows: List[Dict]) -> None:
    if not rows:
        return
    fields = ["epoch", "step", "lr", "loss", "grad_norm", *TERM_COLUMNS]
    new = not path.is_file()
    with open(path, "a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in fields})


def _last_logged_step(path: Path) -> int:
    if not path.is_file():
        return -1
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return int(rows[-1]["step"]) if rows else -1


def _truncate_log(path: Path, step: int) -> None:
    """Drop log rows past the checkpoint (steps of an epoch that was killed and will be redone)."""
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return
    fields = list(rows[0].keys())
    keep = [r for r in rows if int(r["step"]) < step]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(keep)


def read_steps(path: Path) -> Dict[str, np.ndarray]:
    """steps.csv as columns of floats (blank -> NaN), for plots and tests."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    return {k: np.array([float(r[k]) if r[k] not in ("", None) else np.nan for r in rows]) for k in rows[0]}
