"""Shared set-up for the training tests: the smoke config pointed at a per-session temp directory."""
from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "training" / "configs" / "smoke.yaml"


def smoke_config(data_root: Path, out_dir: Path, **overrides) -> dict:
    """The smoke config as a dict, reading/generating its synthetic set under ``data_root``."""
    doc = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    for section in ("train", "val", "test"):
        for src in doc["data"][section]:
            src["root"] = str(data_root)
    doc["out_dir"] = str(out_dir)
    for dotted, value in overrides.items():
        node = doc
        keys = dotted.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return doc


def write_config(doc: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path
