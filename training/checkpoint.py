"""Checkpoints written atomically, with everything a resume needs to continue bit-for-bit.

A kill during ``torch.save`` leaves the previous checkpoint intact (write to a temp file, then
rename), so finished epochs are never lost. The resume checkpoint also keeps its predecessor
(``last.prev.pt``): when ``last.pt`` is unreadable (truncated, disk trouble) or of the wrong content,
:func:`load_resume` says so in one line and continues from the previous one.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch


def rng_state() -> Dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(),  # noqa: NPY002 (libraries draw from it)
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 (augmentation libraries use the global RNG)
    torch.manual_seed(seed)


def save_atomic(obj: Dict[str, Any], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load(path: Path) -> Dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # truncated or foreign files
        raise ValueError(f"unreadable checkpoint {path}: {exc}") from exc


# what a resume checkpoint of training.engine.train_stage holds
RESUME_KEYS = ("epoch", "step", "objective", "optimiser", "scheduler", "history", "rng")


def previous_path(path: Path) -> Path:
    """``last.pt`` -> ``last.prev.pt``: the checkpoint before the newest one."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def save_keeping_previous(obj: Dict[str, Any], path: Path) -> None:
    """Like :func:`save_atomic`, and the checkpoint it replaces becomes ``previous_path(path)``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    if path.is_file():
        os.replace(path, previous_path(path))
    os.replace(tmp, path)


def _check_resume_state(state: Any) -> None:
    if not isinstance(state, dict):
        raise ValueError(f"not a resume checkpoint (a {type(state).__name__}, not a dict)")
    missing = [k for k in RESUME_KEYS if k not in state]
    if missing:
        raise ValueError(f"not a resume checkpoint of this stage (missing {', '.join(missing)})")
    if not isinstance(state["epoch"], int) or not isinstance(state["history"], list) or not state["rng"]:
        raise ValueError("not a resume checkpoint of this stage (bad epoch/history/rng)")


def load_resume(path: Path, name: str, apply: Optional[Callable[[Dict[str, Any]], None]] = None,
                verbose: bool = True) -> Optional[Dict[str, Any]]:
    """The newest usable resume checkpoint: ``path``, else ``previous_path(path)``; None when neither is.

    ``apply`` (e.g. loading the weights into the model) counts as reading it: a checkpoint it refuses
    (ValueError/RuntimeError/KeyError, e.g. another architecture) is of the wrong content too. Each
    unusable file is one line, never a traceback; an unusable ``path`` is renamed ``<stem>.bad<suffix>`` so
    that the next save does not keep it as the previous checkpoint.
    """
    def say(text: str) -> None:
        if verbose:
            print(f"[{name}] {text}", flush=True)

    path = Path(path)
    prev = previous_path(path)
    for candidate in (path, prev):
        if not candidate.is_file():
            if candidate == path and prev.is_file():
                say(f"{path} is missing; trying the previous checkpoint {prev.name}")
            continue
        try:
            try:
                state = torch.load(candidate, map_location="cpu", weights_only=False)
            except Exception as exc:  # noqa: BLE001 - truncated, corrupt or foreign files raise many types
                raise ValueError(f"unreadable ({str(exc).split('. ')[0] or type(exc).__name__})") from exc
            _check_resume_state(state)
            if apply is not None:
                apply(state)
        except (ValueError, RuntimeError, KeyError, TypeError) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            tail = f"; falling back to the previous checkpoint {prev.name}" if candidate == path and prev.is_file() \
                else ""
            say(f"cannot resume from {candidate}: {text}{tail}")
            if candidate == path:
                os.replace(path, path.with_name(f"{path.stem}.bad{path.suffix}"))
            continue
        if candidate == prev:
            say(f"resuming from the previous checkpoint {prev}")
        return state
    if path.is_file() or prev.is_file():
        say(f"no usable checkpoint in {path.parent}: this stage starts from the beginning")
    return None
