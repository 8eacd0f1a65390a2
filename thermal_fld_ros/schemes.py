"""Landmark schemes: point names, flip pairs, NME normaliser and the 3D mean face, in one place.

Shared by the runtime (head pose, drawing) and by ``training`` (loaders, flip augmentation, metrics),
so a scheme is defined exactly once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"

_JAW = [f"jaw_{i:02d}" for i in range(17)]  # subject's right ear (image left) -> chin -> left ear
_BROWS = [f"right_brow_{i}" for i in range(5)] + [f"left_brow_{i}" for i in range(5)]
_NOSE = [f"nose_bridge_{i}" for i in range(4)] + [f"nose_base_{i}" for i in range(5)]
_EYES = (
    ["right_eye_outer", "right_eye_upper_0", "right_eye_upper_1", "right_eye_inner",
     "right_eye_lower_1", "right_eye_lower_0"]
    + ["left_eye_inner", "left_eye_upper_1", "left_eye_upper_0", "left_eye_outer",
       "left_eye_lower_0", "left_eye_lower_1"]
)
_MOUTH_OUTER = ["mouth_right_corner"] + [f"upper_lip_outer_{i}" for i in range(5)] + [
    "mouth_left_corner"] + [f"lower_lip_outer_{i}" for i in range(5)]
_MOUTH_INNER = ["mouth_inner_right"] + [f"upper_lip_inner_{i}" for i in range(3)] + [
    "mouth_inner_left"] + [f"lower_lip_inner_{i}" for i in range(3)]
IBUG68_NAMES = tuple(_JAW + _BROWS + _NOSE + _EYES + _MOUTH_OUTER + _MOUTH_INNER)
assert len(IBUG68_NAMES) == 68

# Subject's right <-> left pairs of the 68-point iBUG/300W scheme (0-based).
IBUG68_FLIP_PAIRS = (
    tuple((i, 16 - i) for i in range(8))
    + ((17, 26), (18, 25), (19, 24), (20, 23), (21, 22))
    + ((31, 35), (32, 34))
    + ((36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46))
    + ((48, 54), (49, 53), (50, 52), (55, 59), (56, 58))
    + ((60, 64), (61, 63), (65, 67))
)


@dataclass(frozen=True)
class LandmarkScheme:
    """A named set of facial landmarks.

    ``to_ibug70`` maps this scheme's indices onto the default 70-point scheme (``{own: ibug70}``), so
    models trained on one scheme can be evaluated against another on their common points.
    """

    name: str
    names: Tuple[str, ...]
    flip_pairs: Tuple[Tuple[int, int], ...]
    normaliser: Tuple[int, int]  # NME normaliser: outer eye corners (inter-ocular distance)
    to_ibug70: Dict[int, int] = field(default_factory=dict)
    description: str = ""

    @property
    def num_points(self) -> int:
        return len(self.names)

    def flip_permutation(self) -> np.ndarray:
        """Index permutation that swaps left/right points (apply after mirroring x)."""
        perm = np.arange(self.num_points)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def mean_face_3d(self) -> np.ndarray:
        """3D mean face (N, 3) in metres for this scheme's points (NaN rows where unknown).

        Model frame: x to the image right of a frontal face (subject's left), y down, z away from the
        camera (into the head); origin between the eyes. Derived from the ibug70 mean face.
        """
        base = _ibug70_mean_face()
        out = np.full((self.num_points, 3), np.nan, np.float64)
        for own, ib in self.to_ibug70.items():
            out[own] = base[ib]
        return out


@lru_cache(maxsize=1)
def _ibug70_mean_face() -> np.ndarray:
    path = DATA_DIR / "mean_face_ibug70.json"
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    pts = np.asarray(doc["points_m"], np.float64)
    if pts.shape != (70, 3):
        raise ValueError(f"{path}: expected 70x3 points, got {pts.shape}")
    return pts


def _identity(n: int) -> Dict[int, int]:
    return {i: i for i in range(n)}


IBUG70 = LandmarkScheme(
    name="ibug70",
    names=IBUG68_NAMES + ("right_pupil", "left_pupil"),
    flip_pairs=IBUG68_FLIP_PAIRS + ((68, 69),),
    normaliser=(36, 45),
    to_ibug70=_identity(70),
    description="68-point iBUG/300W + 2 pupils (order of hri_msgs/FacialLandmarks and T-FAKE)",
)

IBUG68 = LandmarkScheme(
    name="ibug68",
    names=IBUG68_NAMES,
    flip_pairs=IBUG68_FLIP_PAIRS,
    normaliser=(36, 45),
    to_ibug70=_identity(68),
    description="68-point iBUG/300W",
)

_SFTL54_TO_IBUG = {**{i: i for i in range(48)}, 48: 48, 49: 51, 50: 54, 51: 57, 52: 62, 53: 66}
SFTL54 = LandmarkScheme(
    name="sftl54",
    names=tuple(IBUG68_NAMES[_SFTL54_TO_IBUG[i]] for i in range(54)),
    flip_pairs=tuple(p for p in IBUG68_FLIP_PAIRS if p[0] < 48 and p[1] < 48) + ((48, 50),),
    normaliser=(36, 45),
    to_ibug70=_SFTL54_TO_IBUG,
    description="SF-TL54 (IS2AI): iBUG points 0-47 + 6 mouth points",
)

TFW5 = LandmarkScheme(
    name="tfw5",
    names=("right_eye_centre", "left_eye_centre", "nose_tip", "mouth_right_corner", "mouth_left_corner"),
    flip_pairs=((0, 1), (3, 4)),
    normaliser=(0, 1),
    to_ibug70={0: 68, 1: 69, 2: 30, 3: 48, 4: 54},
    description="TFW 5 points (eye centres, nose tip, mouth corners); NME by eye-centre distance",
)

# CHARLOTTE-ThermalFace (UNC Charlotte): "manually annotated with 72 or 43 facial landmarks"; the
# order of the points is not published in a form available here. Assumed (docs/datasets.md): the
# 72-point frontal set starts with the 68 iBUG/300W points in iBUG order, followed by 4 points whose
# meaning is not known (kept, never flipped, not mapped). Users with the official point diagram can
# register a corrected scheme under the same name with ``register_scheme``.
CHARLOTTE72 = LandmarkScheme(
    name="charlotte72",
    names=IBUG68_NAMES + tuple(f"charlotte_extra_{i}" for i in range(68, 72)),
    flip_pairs=IBUG68_FLIP_PAIRS,
    normaliser=(36, 45),
    to_ibug70=_identity(68),
    description="CHARLOTTE-ThermalFace frontal, 72 points; assumed iBUG-68 order + 4 unmapped extras",
)

# The 43-point profile set marks one side of the face only; its order is not known here, so the
# scheme names the points by index, has no flip pairs (a mirrored profile is the same half-face set)
# and no iBUG correspondence. Inter-ocular distance does not exist on a profile: the normaliser
# (first, last point) is a placeholder; evaluate profiles with a box-size normaliser instead.
CHARLOTTE43 = LandmarkScheme(
    name="charlotte43",
    names=tuple(f"profile_{i:02d}" for i in range(43)),
    flip_pairs=(),
    normaliser=(0, 42),
    to_ibug70={},
    description="CHARLOTTE-ThermalFace profile, 43 points (order unpublished here; no iBUG mapping)",
)

# Face boxes without landmarks (detector data such as YOLO-style folders): zero points.
BOX_ONLY = LandmarkScheme(
    name="box_only",
    names=(),
    flip_pairs=(),
    normaliser=(0, 0),
    to_ibug70={},
    description="face box only, no landmarks (detector training / evaluation)",
)

SCHEMES: Dict[str, LandmarkScheme] = {
    s.name: s for s in (IBUG70, IBUG68, SFTL54, TFW5, CHARLOTTE72, CHARLOTTE43, BOX_ONLY)}
DEFAULT_SCHEME = IBUG70


def register_scheme(scheme: LandmarkScheme) -> None:
    """Add a scheme (e.g. a dataset's own) so that loaders and the runtime can name it."""
    SCHEMES[scheme.name] = scheme


def get_scheme(name: str) -> LandmarkScheme:
    try:
        return SCHEMES[name]
    except KeyError:
        raise KeyError(f"unknown landmark scheme {name!r}; known: {sorted(SCHEMES)}") from None


def map_points(points: np.ndarray, src: LandmarkScheme, dst: LandmarkScheme,
               fill: Optional[float] = np.nan) -> np.ndarray:
    """Map (N_src, D) points from ``src`` to ``dst`` through their ibug70 correspondences."""
    inv_dst = {ib: own for own, ib in dst.to_ibug70.items()}
    out = np.full((dst.num_points,) + points.shape[1:], fill, np.float64)
    for own, ib in src.to_ibug70.items():
        if ib in inv_dst:
            out[inv_dst[ib]] = points[own]
    return out


def common_indices(a: LandmarkScheme, b: LandmarkScheme) -> Tuple[Sequence[int], Sequence[int]]:
    """Indices into ``a`` and ``b`` of the points both schemes share (same ibug70 point)."""
    inv_b = {ib: own for own, ib in b.to_ibug70.items()}
    ia, ib_ = [], []
    for own, ib in sorted(a.to_ibug70.items()):
        if ib in inv_b:
            ia.append(own)
            ib_.append(inv_b[ib])
    return ia, ib_
