"""Figures written by ``eval``: loss and grad-norm curves, CED curves, a qualitative overlay grid."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from training.engine import TERM_COLUMNS, read_steps  # noqa: E402
from training.metrics import ced_curve  # noqa: E402


def training_curves(stage_dirs: Dict[str, Path], path: Path) -> Path:
    """One row per stage: loss terms (log scale) and lambda(t) on the left, grad norm on the right."""
    stages = {k: v for k, v in stage_dirs.items() if (v / "steps.csv").is_file()}
    rows = max(len(stages), 1)
    fig, axes = plt.subplots(rows, 2, figsize=(11, 2.6 * rows), squeeze=False)
    for r, (name, d) in enumerate(stages.items()):
        cols = read_steps(d / "steps.csv")
        ax, ax2 = axes[r]
        for key in ("loss",) + tuple(k for k in TERM_COLUMNS if k != "lambda"):
            if key in cols and np.nanmax(np.abs(cols[key]), initial=0) > 0:
                ax.plot(cols["step"], cols[key], label=key, lw=1)
        ax.set_yscale("log")
        ax.set_title(f"{name}: loss terms")
        if "lambda" in cols and np.isfinite(cols["lambda"]).any():
            tw = ax.twinx()
            tw.plot(cols["step"], cols["lambda"], "k--", lw=0.8, label="lambda(t)")
            tw.set_ylim(0, 1.05)
            tw.set_ylabel("lambda(t)")
        ax.legend(fontsize=6, loc="upper right")
        ax2.plot(cols["step"], cols["grad_norm"], lw=1)
        ax2.set_title(f"{name}: grad norm (before clipping)")
        ax2.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ced_plot(nmes: Dict[str, np.ndarray], path: Path, threshold: float = 0.10) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, nme in nmes.items():
        xs, ys = ced_curve(nme, threshold)
        ax.plot(xs, ys, label=f"{name} (NME {np.nanmean(nme):.4f})")
    ax.set_xlabel("NME (inter-ocular)")
    ax.set_ylabel("fraction of faces")
    ax.set_xlim(0, threshold)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Cumulative error distribution")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def overlay_grid(crops: np.ndarray, gt: np.ndarray, preds: Dict[str, np.ndarray], path: Path,
                 count: int = 16, cols: int = 8, mask: Sequence = None) -> Path:
    """Thermal crops with ground truth (green) and each model's prediction, like the paper's figure."""
    count = min(count, len(crops))
    rows = int(np.ceil(count / cols)) * max(len(preds), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.7 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    colours = ["#ff3b30", "#0a84ff", "#ffd60a", "#bf5af2"]
    for m, (name, pts) in enumerate(preds.items()):
        for k in range(count):
            r = m * int(np.ceil(count / cols)) + k // cols
            ax = axes[r, k % cols]
            ax.imshow(crops[k, 0], cmap="inferno", vmin=0, vmax=1)
            ok = np.ones(len(gt[k]), bool) if mask is None else np.asarray(mask[k], bool)
            ax.scatter(gt[k][ok, 0], gt[k][ok, 1], s=2, c="#30d158")
            ax.scatter(pts[k][:, 0], pts[k][:, 1], s=2, c=colours[m % len(colours)])
            if k % cols == 0:
                ax.set_title(name, fontsize=7, loc="left")
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
