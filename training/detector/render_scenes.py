"""Render synthetic thermal scenes for detector training: temperature frames + face boxes, one .npz each.

Why a separate store: the detector needs only the full-frame temperature and the face boxes, not the
RGB pair or per-face crops that ``python -m training synth`` writes, so this is several times smaller.
Scenes come from the ICT-FaceKit generator (bodies, hands, distractors) when ``face_model`` is given,
else from the procedural heads; ``ict_share`` mixes both.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np


def render_scenes(out: Path, count: int, seed: int, face_model: str = "", ict_share: float = 0.67,
                  max_faces: int = 4, budget_s: float = 0.0) -> int:
    """Write up to ``count`` scenes (stops early after ``budget_s`` seconds when > 0); returns how many."""
    from training.data.synth.render import SynthOptions, render_sample

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ict = SynthOptions(face_model=face_model, mode="scenes", max_faces=max_faces) if face_model else None
    proc = SynthOptions(mode="scenes", max_faces=max_faces)
    rng = np.random.default_rng(seed)
    t0 = time.time()
    done = 0
    for i in range(count):
        if budget_s and time.time() - t0 > budget_s:
            break
        name = out / f"{seed}_{i:05d}.npz"
        if name.exists():
            done += 1
            continue
        use_ict = ict is not None and rng.random() < ict_share
        s = render_sample(i, seed + (1000 if use_ict else 0), ict if use_ict else proc)
        boxes = np.array([f["box"] for f in s.annotation["faces"]], np.float32).reshape(-1, 4)
        np.savez_compressed(name, temperature=s.temperature.astype(np.float16), boxes=boxes,
                            source=np.array("ict" if use_ict else "procedural"))
        done += 1
    (out / f"render_{seed}.json").write_text(json.dumps({"count": done, "seconds": time.time() - t0}))
    return done


if __name__ == "__main__":
    import sys

    render_scenes(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "",
                  budget_s=float(sys.argv[5]) if len(sys.argv) > 5 else 0.0)
