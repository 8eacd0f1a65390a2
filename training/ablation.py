"""The paper's ablations on one data set and one budget: ``python -m training ablate --config ...``.

Variants (switches of ``AblationConfig``), each trained in ``<out>/<variant>`` with the same config,
data, seed, epochs and steps, so differences come from the switch alone:

| variant          | thermal teacher                       | student                    |
|------------------|---------------------------------------|----------------------------|
| full             | KTL: GT + FI + RI + KD, decayed       | MCL from that teacher      |
| fi_off           | KTL without Forward Injection          | MCL from that teacher      |
| ri_off           | KTL without Reverse Injection          | MCL from that teacher      |
| decay_off        | KTL with constant distillation weight  | MCL from that teacher      |
|                  | (``decay_ktl`` off; MCL keeps its decay) |                          |
| no_ktl           | GT loss only (from scratch)            | MCL from that teacher      |
| student_scratch  | (none)                                 | GT loss only               |

All variants share one frozen RGB teacher: ``--rgb-teacher`` (e.g. the bundled recipe's, same
architecture), else one trained once in ``<out>/rgb_teacher``. Only the config's default student size
is trained. Results: ``<out>/<variant>/eval/metrics.json`` and ``<out>/summary.json``.
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import yaml

VARIANTS: Dict[str, Dict[str, bool]] = {
    "full": {},
    "fi_off": {"fi": False},
    "ri_off": {"ri": False},
    "decay_off": {"decay_ktl": False},  # the paper's row is about KTL; MCL keeps its decay
    "no_ktl": {"ktl": False},
    "student_scratch": {"student_kd": False},
}


def variant_config(base_cfg, name: str):
    """The base config with one ablation switch flipped and only the default student size."""
    from training.config import config_from_dict

    doc = copy.deepcopy(base_cfg.to_dict())
    doc.pop("source_path", None)
    doc["ablation"].update(VARIANTS[name])
    default = doc["models"]["default_student"]
    doc["models"]["students"] = {default: doc["models"]["students"][default]}
    doc["export"]["students"] = [default]
    doc["export"]["install_to"] = None
    doc["export"]["fp16"] = False
    doc["export"]["int8"] = False
    return config_from_dict(doc)


def run_variant(base_cfg, out_dir: Path, name: str, rgb_teacher: Path, resume: bool = True,
                allow_recipe_mismatch: bool = False) -> Path:
    from training.distributed import init_distributed, shutdown
    from training.pipeline import stage_eval, stage_export, stage_students, stage_thermal_teacher
    from training.runs import Run

    cfg = variant_config(base_cfg, name)
    run = Run(cfg, str(out_dir / name), allow_recipe_mismatch=allow_recipe_mismatch)
    run.write_config()
    needs_teacher = cfg.ablation.student_kd
    if needs_teacher and cfg.ablation.ktl:
        run.stage_dir("rgb_teacher").mkdir(parents=True, exist_ok=True)
        shutil.copy2(rgb_teacher, run.model_path("rgb_teacher"))
    ctx = init_distributed(cfg.device)
    timings = {}
    try:
        stages = ([stage_thermal_teacher] if needs_teacher else []) + [stage_students, stage_export, stage_eval]
        for stage in stages:
            t = time.time()
            stage(run, ctx, resume=resume)
            timings[stage.__name__] = round(time.time() - t, 1)
    finally:
        shutdown(ctx)
    (run.dir / "timings.json").write_text(json.dumps(timings, indent=1), encoding="utf-8")
    return run.dir


def shared_rgb_teacher(cfg, out_dir: Path, given: Optional[str], resume: bool) -> Path:
    """The frozen RGB teacher every variant uses: the given checkpoint, else train one in ``out_dir``."""
    from training.distributed import init_distributed, shutdown
    from training.pipeline import ensure_synth, stage_rgb_teacher
    from training.runs import Run

    if given:
        path = Path(given)
        if not path.is_file():
            raise SystemExit(f"--rgb-teacher {path}: file not found")
        return path
    run = Run(cfg, str(out_dir))
    run.write_config()
    ensure_synth(run)
    if not run.model_path("rgb_teacher").is_file() or resume:
        ctx = init_distributed(cfg.device)
        try:
            stage_rgb_teacher(run, ctx, resume=resume)
        finally:
            shutdown(ctx)
    return run.model_path("rgb_teacher")


def summarise(out_dir: Path) -> Dict[str, object]:
    """Default-student and thermal-teacher figures of every finished variant -> ``<out>/summary.json``."""
    rows = {}
    seed = None
    for name in VARIANTS:
        path = out_dir / name / "eval" / "metrics.json"
        if not path.is_file():
            continue
        doc = json.loads(path.read_text())
        cfg = yaml.safe_load((out_dir / name / "config.yaml").read_text())
        seed = cfg["seed"]
        size = cfg["models"]["default_student"]
        models = doc["models"]
        key = f"thermal_fld_student_{size} (onnx)"
        key = key if key in models else f"student_{size} (torch)"
        rows[name] = {"student": models.get(key), "thermal_teacher": models.get("thermal_teacher (torch)"),
                      "model": key, "switches": cfg["ablation"]}
    summary = {"seed": seed, "variants": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def _cmd(args: argparse.Namespace) -> int:
    from training.config import load_config
    from training.runs import StageOrderError

    cfg = load_config(args.config)
    out_dir = Path(args.out or cfg.out_dir)
    names: List[str] = args.variants.split(",") if args.variants else list(VARIANTS)
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown ablation variant(s) {unknown}; known: {sorted(VARIANTS)}")
    rgb = shared_rgb_teacher(cfg, out_dir, args.rgb_teacher, resume=not args.fresh)
    for name in names:
        print(f"[ablate] {name}", flush=True)
        try:
            run_variant(cfg, out_dir, name, rgb, resume=not args.fresh,
                        allow_recipe_mismatch=args.allow_recipe_mismatch)
        except StageOrderError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    summary = summarise(out_dir)
    for name, row in summary["variants"].items():
        s = row["student"] or {}
        print(f"[ablate] {name:16s} student NME={s.get('nme', float('nan')):.4f}", flush=True)
    return 0


def register(sub) -> None:
    p = sub.add_parser("ablate", help="the paper's ablations (full, FI off, RI off, decay off, no KTL, "
                                      "student from scratch) on one budget")
    p.add_argument("--config", required=True, help="YAML config (e.g. training/configs/ablation.yaml)")
    p.add_argument("--out", default=None, help="output directory (default: the config's out_dir)")
    p.add_argument("--rgb-teacher", default=None,
                   help="frozen RGB teacher checkpoint to share (default: train one in --out)")
    p.add_argument("--variants", default=None, help=f"comma list of {','.join(VARIANTS)} (default: all)")
    p.add_argument("--fresh", action="store_true", help="do not resume finished variant stages")
    p.add_argument("--allow-recipe-mismatch", action="store_true",
                   help="use a --rgb-teacher trained by another recipe (its hash differs from this config's)")
    p.set_defaults(func=_cmd)
