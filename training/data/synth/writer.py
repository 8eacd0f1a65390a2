"""Write a synthetic split to disk in parallel: images + one ``annotations.json`` (format below).

```
<root>/<split>/thermal/<id>.png     16-bit radiometric counts: T_C = counts * 0.01 - 273.15
<root>/<split>/thermal8/<id>.png    8-bit AGC (only with agc8)
<root>/<split>/rgb/<id>.jpg         8-bit colour, pixel-aligned with the thermal image
<root>/<split>/annotations.json     {"format": "thermal_fld.synth/1", "scheme": "ibug70", ...}
```
Each sample is a pure function of (seed, index), so any number of workers writes the same bytes.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional

import cv2
from tqdm import tqdm

from training.data.synth.render import SynthOptions, render_sample
from training.data.synth.sensor import COUNTS_OFFSET, COUNTS_SCALE, agc8

FORMAT = "thermal_fld.synth/1"
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
VERSION = "1.0"


def sample_id(index: int) -> str:
    return f"{index:07d}"


def _write_one(job) -> List[Dict]:
    index, seed, opts, split_dir = job
    if opts.mode == "sequences":
        from training.data.synth.ict.scene import render_sequence

        return [_write_sample(s, f"{index:05d}_{j:03d}", opts, split_dir)
                for j, s in enumerate(render_sequence(index, seed, opts, opts.frames))]
    return [_write_sample(render_sample(index, seed, opts), sample_id(index), opts, split_dir)]


def _write_sample(s, sid: str, opts: SynthOptions, split_dir: Path) -> Dict:
    rel_t, rel_c = f"thermal/{sid}.png", f"rgb/{sid}.jpg"
    if not cv2.imwrite(str(split_dir / rel_t), s.thermal_counts, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f"could not write {split_dir / rel_t}")
    if not cv2.imwrite(str(split_dir / rel_c), cv2.cvtColor(s.rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 93]):
        raise OSError(f"could not write {split_dir / rel_c}")
    entry = {"id": sid, "thermal": rel_t, "rgb": rel_c}
    if s.thermal_agc8 is not None:
        entry["thermal8"] = f"thermal8/{sid}.png"
        cv2.imwrite(str(split_dir / entry["thermal8"]), s.thermal_agc8)
    if opts.palettes:
        from thermal_fld_ros.palettes import render as palette_render

        grey = s.thermal_agc8 if s.thermal_agc8 is not None else agc8(s.temperature)
        for name in opts.palettes:
            rel = f"palette_{name}/{sid}.png"
            (split_dir / f"palette_{name}").mkdir(exist_ok=True)
            cv2.imwrite(str(split_dir / rel), cv2.cvtColor(palette_render(grey / 255.0, name), cv2.COLOR_RGB2BGR))
            entry[f"palette_{name}"] = rel
    entry.update(s.annotation)
    return entry


def _ict_info(opts: SynthOptions) -> Dict:
    from training.data.synth.ict import shape

    return {"face_model": "ict", "identity_set": opts.identities,
            "identity_split": {"population": shape.POPULATION, "heldout": [0, shape.HELD_OUT],
                               "rule": "persons 0..heldout-1 only in test* splits, all others only in the rest"}}


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core; OpenCV's own threads would fight over them


def resolved_options(opts: SynthOptions, split: str) -> SynthOptions:
    """The options a split is rendered with: ``identities: auto`` becomes the split's ICT identity set
    (test splits get the held-out persons only)."""
    if opts.face_model and opts.identities == "auto":
        from training.data.synth.ict.shape import identity_set_of_split

        return replace(opts, identities=identity_set_of_split(split))
    return opts


def generator_mismatch(annotations: Path, count: int, seed: int, opts: SynthOptions, split: str) -> List[str]:
    """How an existing split's recorded generator settings differ from the ones asked for ("field: was ->
    asked"); empty when it matches. Fields a file predates are read as their defaults (what the generator
    of that time did)."""
    gen = json.loads(Path(annotations).read_text(encoding="utf-8")).get("generator", {})
    was = dict(SynthOptions().to_dict(), **gen.get("options", {}))
    asked = json.loads(json.dumps(resolved_options(opts, split).to_dict()))  # as the file holds it (lists)
    diffs = [f"{k}: {gen.get(k)} -> {v}" for k, v in (("count", count), ("seed", seed)) if gen.get(k) != v]
    for k, v in asked.items():
        w = was.get(k)
        same = (Path(w).resolve() == Path(v).resolve()) if k == "face_model" and w and v else w == v
        if not same:
            diffs.append(f"{k}: {w} -> {v}")
    return diffs


def write_split(root, split: str, count: int, seed: int = 0, opts: Optional[SynthOptions] = None,
                workers: int = 0, progress: bool = True) -> Path:
    """Render ``count`` samples (sequences mode: ``count`` sequences of ``opts.frames`` frames) into
    ``root/split`` and return the annotation file's path."""
    opts = resolved_options(opts or SynthOptions(), split)
    if count < 0:
        raise ValueError("count must be >= 0")
    split_dir = Path(root) / split
    for sub in ("thermal", "rgb") + (("thermal8",) if opts.agc8 else ()):
        (split_dir / sub).mkdir(parents=True, exist_ok=True)
    jobs = [(i, seed, opts, split_dir) for i in range(count)]
    workers = workers if workers > 0 else max(1, (os.cpu_count() or 1))
    bar = dict(total=count, desc=f"synth {split}", unit="img", disable=not progress)
    if workers == 1:
        _init_worker()
        samples = [e for j in tqdm(jobs, **bar) for e in _write_one(j)]
    else:
        # one BLAS thread per worker (spawned children read these at numpy import); many threads per
        # process halve the throughput on a busy machine
        saved = {k: os.environ.get(k) for k in _THREAD_VARS}
        os.environ.update({k: "1" for k in _THREAD_VARS})
        try:
            with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
                chunk = 1 if opts.mode == "sequences" else 8
                samples = [e for es in tqdm(pool.imap(_write_one, jobs, chunksize=chunk), **bar) for e in es]
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    doc = {
        "format": FORMAT,
        "scheme": "ibug70",
        "thermal_decoding": {"type": "counts", "scale": COUNTS_SCALE, "offset": COUNTS_OFFSET},
        "generator": {"seed": seed, "version": VERSION, "count": count, "options": opts.to_dict(),
                      "pose": "X_cam = R @ X_model + t; model frame of thermal_fld_ros.schemes; "
                              "R = Ry(-yaw) Rx(pitch) Rz(-roll) (training/data/synth/camera.py)",
                      **(_ict_info(opts) if opts.face_model else {})},
        "samples": samples,
    }
    path = split_dir / "annotations.json"
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    return path
