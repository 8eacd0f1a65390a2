"""Command line: ``python -m training <command> --config training/configs/X.yaml [--out runs/NAME] [--resume]``.

| command           | what it does                                                                    |
|-------------------|---------------------------------------------------------------------------------|
| rgb_teacher       | Level 0: train the RGB teacher on RGB faces (paired set)                        |
| thermal_teacher   | Level 1 (KTL): thermal teacher with GT + Forward/Reverse Injection + KD, decayed |
| student           | Level 2 (MCL): distil the thermal teacher into each student size               |
| eval              | NME / FR / AUC / per-landmark / head-pose MAE, plots, metrics JSON (torch+ONNX) |
| export            | student -> ONNX + metadata, simplify, parity check, optional fp16 / int8        |
| all               | every stage above in order (generates the synthetic set first when absent)      |
| synth             | paired synthetic generator (registered by ``training.data.synth``)              |

Ablations without extra files: ``python -m training all --config training/configs/default.yaml
--set ablation.ri=false --out runs/no_ri`` (``--set`` takes dotted keys and YAML values).

Other packages add commands through a ``register(subparsers)`` function listed in ``_REGISTRARS``;
each sets ``func`` on its parser, called with the parsed arguments.
"""
from __future__ import annotations

import argparse
import importlib
import sys

STAGES = ("rgb_teacher", "thermal_teacher", "student", "adapt", "eval", "export", "all")
_REGISTRARS = ("training.data.synth.cli", "training.ablation", "training.report", "training.pseudolabel",
               "training.baselines.compare", "training.presence_eval", "training.detector.cli")


def _run_stage(args: argparse.Namespace) -> int:
    from training.config import ConfigError, load_config
    from training.runs import StageOrderError
    from training.stages import run_command

    try:
        cfg = load_config(args.config, overrides=args.set)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    from training.data.loaders.common import DatasetError
    from training.runs import missing_data_paths

    missing = missing_data_paths(cfg, args.command)
    for line in missing:  # every missing path, one line each
        print(f"error: {line}", file=sys.stderr)
    if missing:
        return 2
    try:
        return run_command(args.command, args.config, out=args.out, resume=args.resume, cfg=cfg,
                           allow_recipe_mismatch=args.allow_recipe_mismatch)
    except (StageOrderError, FileNotFoundError, NotADirectoryError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # missing/foreign teacher, missing or bad data: one line
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for stage in STAGES:
        p = sub.add_parser(stage, help=f"run the {stage!r} stage")
        p.add_argument("--config", required=True, help="YAML config (training/configs/*.yaml)")
        p.add_argument("--out", default=None, help="run directory (default: the config's out_dir)")
        p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
        p.add_argument("--allow-recipe-mismatch", action="store_true",
                       help="use a teacher checkpoint trained by another recipe (its hash differs) anyway")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set ablation.fi=false (YAML value; repeatable)")
        p.set_defaults(func=_run_stage)
    for name in _REGISTRARS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that package is not there (yet): its command is simply absent
            raise
        module.register(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
