"""The paper's ablations on one data set and one budget: ``python -m training ablate --config ... --seeds 0,1,2``.

Variants (switches of ``AblationConfig``), each trained in ``<out>/<variant>/seed_<k>`` with the same config,
data, epochs and steps, so differences come from the switch (and the seed) alone:

| variant          | thermal teacher                         | student                | primary readout |
|------------------|-----------------------------------------|------------------------|-----------------|
| full             | KTL: GT + FI + RI + KD, decayed         | MCL from that teacher  | both            |
| fi_off           | KTL without Forward Injection           | MCL from that teacher  | thermal teacher |
| ri_off           | KTL without Reverse Injection           | MCL from that teacher  | thermal teacher |
| decay_off        | KTL with constant distillation weight   | MCL from that teacher  | thermal teacher |
|                  | (``decay_ktl`` off; MCL keeps its decay)|                        |                 |
| no_ktl           | GT loss only (from scratch)             | MCL from that teacher  | thermal teacher |
| student_scratch  | (none)                                  | GT loss only           | student         |

The KTL rows change only the thermal teacher, so its NME is their primary readout; the MCL row changes only
the student. All variants and seeds share one frozen RGB teacher (``--rgb-teacher``, e.g. the bundled
recipe's, else one trained once in ``<out>/rgb_teacher`` with the config's seed): it is an input every row
gets alike, checked once against the config's RGB-teacher recipe. Only the config's default student size
is trained. ``summarise`` gives mean and standard deviation over seeds and a verdict against ``full`` only
where the difference of means exceeds twice the pooled standard deviation; otherwise "no difference at this
budget". Results: ``<out>/<variant>/seed_<k>/eval/metrics.json`` and ``<out>/summary.json``.
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

import numpy as np
import yaml

VARIANTS: Dict[str, Dict[str, bool]] = {
    "full": {},
    "fi_off": {"fi": False},
    "ri_off": {"ri": False},
    "decay_off": {"decay_ktl": False},  # the paper's row is about KTL; MCL keeps its decay
    "no_ktl": {"ktl": False},
    "student_scratch": {"student_kd": False},
}


PRIMARY = {"full": ("thermal_teacher", "student"), "fi_off": ("thermal_teacher",), "ri_off": ("thermal_teacher",),
           "decay_off": ("thermal_teacher",), "no_ktl": ("thermal_teacher",), "student_scratch": ("student",)}


def variant_config(base_cfg, name: str, seed: Optional[int] = None):
    """The base config with one ablation switch flipped, only the default student size, and ``seed``."""
    from training.config import config_from_dict

    doc = copy.deepcopy(base_cfg.to_dict())
    doc.pop("source_path", None)
    doc["ablation"].update(VARIANTS[name])
    if seed is not None:
        doc["seed"] = int(seed)
    default = doc["models"]["default_student"]
    doc["models"]["students"] = {default: doc["models"]["students"][default]}
    doc["export"]["students"] = [default]
    doc["export"]["install_to"] = None
    doc["export"]["fp16"] = False
    doc["export"]["int8"] = False
    return config_from_dict(doc)


def variant_dir(out_dir: Path, name: str, seed: int) -> Path:
    return Path(out_dir) / name / f"seed_{seed}"


def run_variant(base_cfg, out_dir: Path, name: str, rgb_teacher: Path, resume: bool = True,
                seed: Optional[int] = None) -> Path:
    """Train and evaluate one variant for one seed. The shared RGB teacher was checked against the base
    config by ``check_rgb_teacher``; its seed may differ from ``seed``, so only that teacher's recipe check is
    relaxed here (the variant's own thermal teacher -> student step is still checked)."""
    from training.distributed import init_distributed, shutdown
    from training.eval_stage import stage_eval
    from training.export_stage import stage_export
    from training.runs import Run
    from training.train_stages import stage_students, stage_thermal_teacher

    seed = base_cfg.seed if seed is None else int(seed)
    cfg = variant_config(base_cfg, name, seed)
    run = Run(cfg, str(variant_dir(out_dir, name, seed)), allow_recipe_mismatch={"rgb_teacher"})
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
    from training.prepare_data import ensure_synth
    from training.runs import Run
    from training.train_stages import stage_rgb_teacher

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


def check_rgb_teacher(cfg, path: Path, allow_mismatch: bool) -> None:
    """Refuse (one line) a shared RGB teacher trained by another RGB-teacher recipe than ``cfg``'s."""
    from training.runs import RecipeMismatchError, saved_stage_hash

    saved, expected = saved_stage_hash(path), cfg.stage_hash("rgb_teacher")
    if saved == expected:
        return
    line = (f"ablate: RGB teacher {path} was trained by recipe {saved or 'unknown (older checkpoint)'} but the "
            f"config's rgb_teacher recipe is {expected}; train it with this config or pass --allow-recipe-mismatch")
    if not allow_mismatch:
        raise RecipeMismatchError(line)
    print(f"warning: {line.split('; ')[0]}; used anyway (--allow-recipe-mismatch)", flush=True)


def _stats(values: List[float]) -> Dict[str, object]:
    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], np.float64)
    return {"mean": float(arr.mean()) if len(arr) else None,
            "std": float(arr.std(ddof=1)) if len(arr) > 1 else None, "n": int(len(arr)),
            "values": [float(v) for v in arr]}


def verdict(variant: Dict[str, object], full: Dict[str, object]) -> Dict[str, object]:
    """Compare two ``_stats``: a verdict only where |mean difference| > 2 x pooled standard deviation."""
    if not variant["n"] or not full["n"]:
        return {"diff": None, "pooled_std": None, "verdict": "not run"}
    diff = variant["mean"] - full["mean"]
    n1, n2 = variant["n"], full["n"]
    if n1 < 2 or n2 < 2:
        return {"diff": diff, "pooled_std": None, "verdict": "one seed: no verdict"}
    pooled = float(np.sqrt(((n1 - 1) * variant["std"] ** 2 + (n2 - 1) * full["std"] ** 2) / (n1 + n2 - 2)))
    if abs(diff) <= 2.0 * pooled:
        text = "no difference at this budget"
    else:
        text = "full method better" if diff > 0 else "variant better than the full method"
    return {"diff": diff, "pooled_std": pooled, "verdict": text}


def summarise(out_dir: Path) -> Dict[str, object]:
    """Per seed, mean and std of the default student's and the thermal teacher's NME for every finished
    variant, and verdicts against ``full`` (primary readouts in ``PRIMARY``) -> ``<out>/summary.json``.

    ``variants[name]["student"]`` / ``["thermal_teacher"]`` hold the full figures of the lowest seed.
    """
    rows: Dict[str, Dict[str, object]] = {}
    seeds = set()
    for name in VARIANTS:
        per_seed = {}
        for seed_dir in sorted((out_dir / name).glob("seed_*"), key=lambda p: int(p.name.split("_")[1])):
            path = seed_dir / "eval" / "metrics.json"
            if not path.is_file():
                continue
            doc = json.loads(path.read_text())
            cfg = yaml.safe_load((seed_dir / "config.yaml").read_text())
            size = cfg["models"]["default_student"]
            models = doc["models"]
            key = f"thermal_fld_student_{size} (onnx)"
            key = key if key in models else f"student_{size} (torch)"
            per_seed[int(cfg["seed"])] = {"student": models.get(key), "thermal_teacher": models.get(
                "thermal_teacher (torch)"), "model": key, "switches": cfg["ablation"]}
        if not per_seed:
            continue
        seeds.update(per_seed)
        first = per_seed[min(per_seed)]
        rows[name] = {**first, "seeds": sorted(per_seed), "primary": list(PRIMARY[name]),
                      "student_nme": _stats([(r["student"] or {}).get("nme") for r in per_seed.values()]),
                      "thermal_teacher_nme": _stats([(r["thermal_teacher"] or {}).get("nme")
                                                     for r in per_seed.values()])}
    if "full" in rows:
        for name, row in rows.items():
            if name != "full":
                row["vs_full"] = {k: verdict(row[f"{k}_nme"], rows["full"][f"{k}_nme"]) for k in row["primary"]}
    summary = {"seeds": sorted(seeds), "seed": min(seeds) if seeds else None,
               "rule": "verdict only where |mean(variant) - mean(full)| > 2 x pooled std over seeds",
               "variants": rows}
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
    try:
        seeds = [int(v) for v in args.seeds.split(",")] if args.seeds else [cfg.seed]
    except ValueError:
        raise SystemExit(f"--seeds {args.seeds!r}: expected a comma list of integers, e.g. 0,1,2") from None
    try:
        rgb = shared_rgb_teacher(cfg, out_dir, args.rgb_teacher, resume=not args.fresh)
        check_rgb_teacher(cfg, rgb, args.allow_recipe_mismatch)
        for seed in seeds:
            for name in names:
                print(f"[ablate] {name} seed {seed}", flush=True)
                run_variant(cfg, out_dir, name, rgb, resume=not args.fresh, seed=seed)
    except StageOrderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = summarise(out_dir)
    for name, row in summary["variants"].items():
        s, t = row["student_nme"], row["thermal_teacher_nme"]
        verdicts = "; ".join(f"{k}: {v['verdict']}" for k, v in row.get("vs_full", {}).items())
        print(f"[ablate] {name:16s} teacher NME={_ms(t)} student NME={_ms(s)} (n={s['n']}) {verdicts}", flush=True)
    return 0


def _ms(st: Dict[str, object]) -> str:
    if st["mean"] is None:
        return "n/a"
    return f"{st['mean']:.4f}" + (f"+-{st['std']:.4f}" if st["std"] is not None else "")


def register(sub) -> None:
    p = sub.add_parser("ablate", help="the paper's ablations (full, FI off, RI off, decay off, no KTL, "
                                      "student from scratch) on one budget")
    p.add_argument("--config", required=True, help="YAML config (e.g. training/configs/ablation.yaml)")
    p.add_argument("--out", default=None, help="output directory (default: the config's out_dir)")
    p.add_argument("--rgb-teacher", default=None,
                   help="frozen RGB teacher checkpoint to share (default: train one in --out)")
    p.add_argument("--seeds", default=None, help="comma list of seeds, e.g. 0,1,2 (default: the config's seed)")
    p.add_argument("--variants", default=None, help=f"comma list of {','.join(VARIANTS)} (default: all)")
    p.add_argument("--fresh", action="store_true", help="do not resume finished variant stages")
    p.add_argument("--allow-recipe-mismatch", action="store_true",
                   help="use a --rgb-teacher trained by another recipe (its hash differs from this config's)")
    p.set_defaults(func=_cmd)
