"""``python -m training report``: write docs/RESULTS.md from finished runs, so no figure is typed by hand.

Reads the bundled recipe's run (``--run``, from ``all``) and the ablation run (``--ablation``, from
``ablate``), re-predicts the held-out synthetic test split with every model (torch teachers, exported
ONNX students through the runtime's ``LandmarkModel``), times every model in onnxruntime on this CPU,
evaluates the runtime face detector and the bundled student on the real thermal frames in
``../shared/data/real_thermal`` (when present), and checks each target of the default-model issue.

Three jobs, three modules: ``measure`` (figures from runs and data), ``judge`` (targets met or missed,
findings), ``render`` (markdown and plots); this module only wires them into the command.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import List, Optional

from thermal_fld_ros.config import default_model_path
from training.report.measure import (
    REAL,
    ablation_figures,
    detector_figures,
    profile_figures,
    real_landmark_figures,
    synthetic_figures,
)
from training.report.real import (
    adaptation_figures,
    experiment_figures,
    mediapipe_figures,
    presence_figures,
    read_json,
    rgb_teacher_figures,
    runtime_readouts,
)
from training.report.render import fps_vs_params_plot, render_markdown

BUNDLED_RECIPE = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"  # the bundled model's recipe


def build(run_dir: Path, ablation_dir: Optional[Path], out_md: Path, img_dir: Path,
          experiments: Optional[List[Path]] = None) -> Path:
    previous = out_md.parent / "results.json"
    carried = carried_run(previous) if not (run_dir / "config.yaml").is_file() else None
    if carried is None:
        syn = synthetic_figures(run_dir)
        model = run_dir / "export" / f"thermal_fld_student_{syn['default_student']}.onnx"
        rx = {"rgb_teacher": rgb_teacher_figures(run_dir), "adapt": adaptation_figures(run_dir),
              "experiments": experiment_figures(experiments or []), "runtime": runtime_readouts(run_dir, model),
              "profile": profile_figures(run_dir / "config.yaml", model)}
    else:  # the run is gone: its figures stand, what does not need it is measured again on the bundled model
        syn, model = carried["synthetic"], default_model_path()
        rx = {k: carried["real"].get(k) for k in ("rgb_teacher", "adapt", "experiments", "runtime", "profile")}
        rx["profile"] = rx["profile"] or profile_figures(BUNDLED_RECIPE, model)  # needs no run: measured here
    det = detector_figures(REAL)
    real = real_landmark_figures(REAL, model)
    rx["mediapipe"] = mediapipe_figures(model)
    rx["presence"] = presence_figures(model)
    abl = ablation_figures(ablation_dir) if ablation_dir else None
    if abl is None and ablation_dir:
        abl = carried_ablation(previous)
    img_dir.mkdir(parents=True, exist_ok=True)
    fps_vs_params_plot(syn["rows"], img_dir / "results_fps_vs_params.png")
    for name in ("ced", "overlay_grid", "training_curves"):
        src = run_dir / "eval" / f"{name}.png"
        if src.is_file():
            shutil.copy2(src, img_dir / f"results_{name}.png")
    rel = os.path.relpath(img_dir, out_md.parent)
    out_md.write_text(render_markdown(syn, det, real, abl, rel, rx), encoding="utf-8")
    (out_md.parent / "results.json").write_text(json.dumps(
        {"synthetic": syn, "detector": det, "real_landmarks": real, "ablation": abl, "real": rx}, indent=1, default=float),
        encoding="utf-8")
    return out_md


def carried_ablation(previous: Path) -> Optional[dict]:
    """The ablation of the previous report when its run directory is gone (a fresh checkout).

    The ablation has its own recipe (``training/configs/ablation.yaml``), independent of the bundled
    model's run, so retraining the bundled model does not invalidate it; the table says it was carried.
    """
    abl = (read_json(previous) or {}).get("ablation")
    if abl:
        abl.setdefault("carried_from", f"{previous.as_posix()} (an earlier `ablate` run; its run directory is absent)")
    return abl


def carried_run(previous: Path) -> Optional[dict]:
    """The previous report's figures when the bundled recipe's run directory is gone (a fresh checkout).

    Only for a report refreshed after a runtime change (a new detector): what needs the run (the synthetic
    test split, the teachers, the RGB and adaptation readouts) is carried and labelled so; the detector,
    the real frames through the pipeline and the MediaPipe comparison are measured again on the bundled
    student, which is the run's exported default. ``None`` when there is no previous report to carry.
    """
    old = read_json(previous) or {}
    syn = old.get("synthetic")
    if not syn:
        return None
    syn.setdefault("carried_from", f"{previous.as_posix()} (the run {syn.get('run_dir')} is absent)")
    return {"synthetic": syn, "real": old.get("real") or {}}


def _cmd(args: argparse.Namespace) -> int:
    out = build(Path(args.run), Path(args.ablation) if args.ablation else None, Path(args.out),
                Path(args.img_dir), [Path(p) for p in args.experiments])
    print(f"[report] wrote {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="write docs/RESULTS.md from a finished `all` run (+ `ablate` run)")
    p.add_argument("--run", default="runs/default", help="the bundled recipe's run directory (absent: its figures are carried "
                   "from the previous results.json and the rest is measured on the bundled student)")
    p.add_argument("--ablation", default="runs/ablation", help="the ablation run directory ('' to skip)")
    p.add_argument("--out", default="docs/RESULTS.md")
    p.add_argument("--img-dir", default="docs/img")
    p.add_argument("--experiments", nargs="*", default=[], help="data-experiment run directories (runs/exp/*)")
    p.set_defaults(func=_cmd)
