"""Stage orchestration: which stages exist, the ``all`` order, and running a command on a run directory.

rgb_teacher -> thermal_teacher (KTL) -> student (MCL, every size) -> adapt -> export -> eval. Each stage
reads what the previous one saved in the run directory, so stages run one by one or all at once, and
``--resume`` continues any of them after a kill. The stages live in ``training.train_stages``,
``training.adapt``, ``training.export_stage`` and ``training.eval_stage``; ``all`` first writes missing
synthetic splits and pseudo-labels (``training.prepare_data``).
"""
from __future__ import annotations

import json
import time
from typing import Optional

import torch

from training.adapt import stage_adapt
from training.config import TrainConfig, load_config
from training.distributed import DistContext, init_distributed, shutdown
from training.eval_stage import stage_eval
from training.export_stage import stage_export
from training.prepare_data import ensure_pseudo_labels, ensure_synth
from training.runs import Run
from training.train_stages import stage_rgb_teacher, stage_students, stage_thermal_teacher

STAGES = {
    "rgb_teacher": stage_rgb_teacher,
    "thermal_teacher": stage_thermal_teacher,
    "student": stage_students,
    "adapt": stage_adapt,
    "export": stage_export,
    "eval": stage_eval,
}
ALL_ORDER = ("rgb_teacher", "thermal_teacher", "student", "adapt", "export", "eval")


def run_command(command: str, config_path, out: Optional[str] = None, resume: bool = False,
                cfg: Optional[TrainConfig] = None, allow_recipe_mismatch: bool = False) -> int:
    cfg = cfg or load_config(config_path)
    if cfg.device == "cpu" and torch.cuda.is_available():
        print("device: cpu (config) although CUDA is available", flush=True)
    ctx = init_distributed(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run = Run(cfg, out, allow_recipe_mismatch=allow_recipe_mismatch)
    t0 = time.time()
    try:
        if ctx.is_main and command in ("all", "rgb_teacher", "thermal_teacher", "student"):
            run.write_config()  # eval/export may run with overrides: they keep their own copy
        if command == "all":
            if ctx.is_main:
                ensure_synth(run)
                ensure_pseudo_labels(run)
            ctx.barrier()
            for name in ALL_ORDER:
                _timed(name, STAGES[name], run, ctx, resume)
        elif command in STAGES:
            _timed(command, STAGES[command], run, ctx, resume)
        else:
            raise ValueError(f"unknown command {command!r}; known: {sorted(STAGES) + ['all']}")
    finally:
        shutdown(ctx)
    if ctx.is_main:
        print(f"[{command}] done in {time.time() - t0:.1f} s -> {run.dir}", flush=True)
    return 0


def _timed(name, fn, run: Run, ctx: DistContext, resume: bool) -> None:
    t = time.time()
    fn(run, ctx, resume=resume)
    ctx.barrier()
    if ctx.is_main:
        timings = run.dir / "timings.json"
        doc = json.loads(timings.read_text()) if timings.is_file() else {}
        doc[name] = round(time.time() - t, 1)
        timings.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        print(f"[{name}] finished in {doc[name]:.1f} s", flush=True)
