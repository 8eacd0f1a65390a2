"""Derived data a config reads, written when missing before ``all`` trains: synthetic splits, pseudo-labels."""
from __future__ import annotations

from pathlib import Path

from training.runs import Run

SPLIT_SEED_OFFSET = {"train": 0, "val": 1000, "test": 2000}


def ensure_synth(run: Run) -> None:
    """Generate the synthetic splits the config reads when they are missing (``all`` only)."""
    cfg = run.cfg
    syn = cfg.data.synth
    uses = [s for sec in (cfg.data.train, cfg.data.val, cfg.data.test) for s in sec if s.loader == "synth"]
    splits = sorted({(s.root, s.split) for s in uses})
    missing = [(root, split) for root, split in splits if not (Path(root) / split / "annotations.json").is_file()]
    refuse_stale_splits(syn, [p for p in splits if p not in missing])
    if not missing:
        return
    if not syn.generate_if_missing:
        raise FileNotFoundError(f"synthetic splits {missing} are missing and data.synth.generate_if_missing is false "
                                f"(generate them with python -m training synth)")
    from training.data.synth.writer import write_split

    for root, split in missing:
        if split not in syn.counts:
            raise ValueError(f"data.synth.counts has no entry for split {split!r} (needed by {root})")
        opts = synth_options(syn, split)
        print(f"[all] generating synthetic split {split!r} ({syn.counts[split]} faces) in {root}", flush=True)
        write_split(Path(root), split, syn.counts[split], seed=split_seed(syn, split),
                    opts=opts, workers=syn.workers)


def refuse_stale_splits(syn, present) -> None:
    """A split on disk rendered with other settings than ``data.synth`` asks would be trained on silently
    (a changed ``max_yaw`` would not take effect): refuse it in one line."""
    from training.data.loaders.common import DatasetError
    from training.data.synth.writer import generator_mismatch

    for root, split in present:
        if split not in syn.counts:
            continue  # a split this config does not render (given as data, not generated): nothing to compare
        diffs = generator_mismatch(Path(root) / split / "annotations.json", syn.counts[split],
                                   split_seed(syn, split), synth_options(syn, split), split)
        if diffs:
            raise DatasetError(f"{Path(root) / split} was rendered with other settings than data.synth asks "
                               f"({'; '.join(diffs)}): delete it to render it again, or give the source its own root")


def split_seed(syn, split: str) -> int:
    """The generator seed of a split: ``data.synth.seed`` offset per split, so splits never share faces."""
    return syn.seed + SPLIT_SEED_OFFSET.get(split, 3000)


def synth_options(syn, split: str):
    """``data.synth.options`` with ``data.synth.split_options[split]`` on top, as ``SynthOptions``."""
    from training.data.synth.render import SynthOptions

    fields = dict(syn.options, **syn.split_options.get(split, {}))
    try:
        return SynthOptions(**fields)
    except TypeError as exc:
        raise ValueError(f"data.synth.options / split_options[{split!r}]: {exc}") from None


def ensure_pseudo_labels(run: Run) -> None:
    """Write the MediaPipe pseudo-labels the config reads when their folder is missing (``all`` only)."""
    d = run.cfg.data
    roots = sorted({s.root for sec in (d.train, d.val, d.test, d.real_eval, d.adapt_bn) for s in sec
                    if s.loader == "pseudo_labels" and not (Path(s.root) / "summary.json").is_file()})
    if not roots:
        return
    from training.pseudolabel import DEFAULT_DATA
    from training.pseudolabel import run as write_pseudo_labels

    for root in roots:
        print(f"[all] writing MediaPipe pseudo-labels of the real thermal faces in {DEFAULT_DATA} to {root}",
              flush=True)
        write_pseudo_labels(DEFAULT_DATA, Path(root))
