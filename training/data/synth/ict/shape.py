"""Identity and expression sampling for the ICT model, and the fixed held-out identity split.

Identities: a fixed population of ``POPULATION`` people, person ``i`` drawn from its own seed (so every
process, split and run sees the same people). Coefficients of the PCA identity modes (stored at one
standard deviation each: their RMS falls from 3.7 mm to 0.07 mm) are N(0, 1) truncated at 2.5.
Persons ``0 .. HELD_OUT - 1`` are held out: only splits named ``test*`` use them, and training and
validation splits never do. Expressions: realistic combinations of the ARKit-style blendshapes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

POPULATION = 1000
HELD_OUT = 150  # persons 0..149 (15 %) appear only in test splits
POPULATION_SEED = 20201231
IDENTITY_SETS = ("train", "heldout")

# (weight of this program, {blendshape: (low, high)}) — symmetric pairs are listed with _L and drawn
# together with a small asymmetry
_PROGRAMS = (
    (0.25, {}),  # neutral (plus the small background activity below)
    (0.16, {"mouthSmile_L": (0.3, 1.0), "cheekSquint_L": (0.0, 0.6), "eyeSquint_L": (0.0, 0.4)}),
    (0.12, {"jawOpen": (0.15, 0.9), "mouthLowerDown_L": (0.0, 0.5), "mouthUpperUp_L": (0.0, 0.3)}),
    (0.06, {"jawOpen": (0.2, 0.7), "mouthSmile_L": (0.3, 0.9), "cheekSquint_L": (0.2, 0.6)}),  # laugh
    (0.06, {"eyeBlink_L": (0.7, 1.0)}),
    (0.06, {"browInnerUp_L": (0.3, 1.0), "browOuterUp_L": (0.2, 0.9), "eyeWide_L": (0.0, 0.6)}),  # surprise
    (0.06, {"browDown_L": (0.3, 1.0), "eyeSquint_L": (0.0, 0.5), "noseSneer_L": (0.0, 0.5)}),  # frown
    (0.05, {"mouthPucker": (0.3, 1.0)}),
    (0.04, {"mouthFunnel": (0.3, 1.0), "jawOpen": (0.0, 0.3)}),
    (0.04, {"cheekPuff_L": (0.4, 1.0), "mouthClose": (0.0, 0.3)}),
    (0.04, {"mouthFrown_L": (0.3, 1.0), "mouthShrugLower": (0.0, 0.6)}),
    (0.03, {"mouthStretch_L": (0.3, 0.9), "mouthPress_L": (0.0, 0.5)}),
    (0.03, {"mouthLeft": (0.3, 0.9)}),
    (0.03, {"mouthRight": (0.3, 0.9)}),
    (0.03, {"mouthRollLower": (0.3, 0.9), "mouthRollUpper": (0.3, 0.9)}),
)
_GAZE = ("eyeLookDown", "eyeLookUp", "eyeLookIn", "eyeLookOut")


@dataclass
class Person:
    """The stable traits of one member of the population."""

    pid: int
    identity: np.ndarray  # (I,) identity coefficients
    skin_tone: int  # index into rgb.SKIN_TONES
    hair_colour: int
    male: bool
    skin_offset: float  # deg C, this person's facial skin relative to the population
    hairline_cm: float  # forehead height above the brows (large: receding / bald)
    bald: bool


def identity_set_of_split(split: str) -> str:
    """``heldout`` for test splits (``test``, ``test_hard``...), ``train`` for all others."""
    return "heldout" if str(split).lower().startswith("test") else "train"


def person(pid: int, n_modes: int) -> Person:
    rng = np.random.default_rng([POPULATION_SEED, int(pid)])
    coef = np.clip(rng.normal(0.0, 1.0, n_modes), -2.5, 2.5)
    male = bool(rng.random() < 0.5)
    bald = bool(male and rng.random() < 0.15)
    return Person(int(pid), coef.astype(np.float32), int(rng.integers(7)), int(rng.integers(6)), male,
                  float(rng.normal(0.0, 0.35)), float(rng.uniform(4.5, 7.5) + (2.5 if male and rng.random() < 0.3
                                                                             else 0.0)), bald)


def sample_person(rng: np.random.Generator, identity_set: str, n_modes: int) -> Person:
    if identity_set == "heldout":
        pid = int(rng.integers(0, HELD_OUT))
    elif identity_set == "train":
        pid = int(rng.integers(HELD_OUT, POPULATION))
    else:
        raise ValueError(f"unknown identity set {identity_set!r} ({' | '.join(IDENTITY_SETS)})")
    return person(pid, n_modes)


def sample_expression(rng: np.random.Generator, names: Tuple[str, ...], enabled: bool = True) -> Dict[str, float]:
    """Blendshape weights in [0, 1] by name (only names the model has)."""
    have = set(names)
    w: Dict[str, float] = {}
    if not enabled:
        return w
    probs = np.array([p for p, _ in _PROGRAMS])
    prog = _PROGRAMS[int(rng.choice(len(_PROGRAMS), p=probs / probs.sum()))][1]
    for name, (lo, hi) in prog.items():
        v = float(rng.uniform(lo, hi))
        if name.endswith("_L"):
            base = name[:-2]
            asym = float(rng.normal(0.0, 0.08))
            w[base + "_L"] = v + asym
            w[base + "_R"] = v - asym
        else:
            w[name] = v
    for name in names:  # low background activity everywhere (nobody is perfectly still)
        if rng.random() < 0.15 and not name.startswith("Pupil"):
            w[name] = w.get(name, 0.0) + abs(float(rng.normal(0.0, 0.08)))
    g = int(rng.integers(len(_GAZE) + 1))  # gaze: the left/right pairs move the eyes together
    if g < len(_GAZE):
        a = float(rng.uniform(0.0, 0.7))
        pair = {"eyeLookIn": "eyeLookOut", "eyeLookOut": "eyeLookIn"}
        w[_GAZE[g] + "_L"] = w.get(_GAZE[g] + "_L", 0.0) + a
        w[pair.get(_GAZE[g], _GAZE[g]) + "_R"] = w.get(pair.get(_GAZE[g], _GAZE[g]) + "_R", 0.0) + a
    if rng.random() < 0.5:
        d = float(rng.uniform(0.0, 0.8))
        w["PupilDilate_L"] = w["PupilDilate_R"] = d
    return {k: float(np.clip(v, 0.0, 1.0)) for k, v in w.items() if k in have}
