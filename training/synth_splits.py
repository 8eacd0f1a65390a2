"""Generate the synthetic splits a config reads when they are missing (what ``all`` does first)."""
from __future__ import annotations

from pathlib import Path

from training.runs import Run

SPLIT_SEED_OFFSET = {"train": 0, "val": 1000, "test": 2000}


def ensure_synth(run: Run) -> None:
    """Generate the synthetic splits the config reads when they are missing (``all`` only)."""
    cfg = run.cfg
    syn = cfg.data.synth
    uses = [s for sec in (cfg.data.train, cfg.data.val, cfg.data.test) for s in sec if s.loader == "synth"]
    missing = sorted({(s.root, s.split) for s in uses if not (Path(s.root) / s.split / "annotations.json").is_file()})
    if not missing:
        return
    if not syn.generate_if_missing:
        raise FileNotFoundError(f"synthetic splits {missing} are missing and data.synth.generate_if_missing is false "
                                f"(generate them with python -m training synth)")
    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split

    try:
        opts = SynthOptions(**syn.options)
    except TypeError as exc:
        raise ValueError(f"data.synth.options: {exc}") from None
    for root, split in missing:
        if split not in syn.counts:
            raise ValueError(f"data.synth.counts has no entry for split {split!r} (needed by {root})")
        print(f"[all] generating synthetic split {split!r} ({syn.counts[split]} faces) in {root}", flush=True)
        write_split(Path(root), split, syn.counts[split], seed=syn.seed + SPLIT_SEED_OFFSET.get(split, 3000),
                    opts=opts, workers=syn.workers)
