"""Load the ICT Face Model from its published layout (``FaceXModel/*.obj``) once, then from a compact cache.

Vertices come from every ``.obj``; topology and UVs from ``generic_neutral_mesh.obj`` (the other files
may hold only their ``v`` lines). Identity files ``identity###.obj`` are the PCA basis (file - neutral);
every other ``.obj`` is an expression blendshape named after its file. Deltas are cached as float16
(about 25 MB; 0.03 mm resolution) under ``$THERMAL_FLD_CACHE`` (default ``~/.cache/thermal_fld_ros``).
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

NEUTRAL = "generic_neutral_mesh.obj"
CACHE_VERSION = 1
_IDENTITY = re.compile(r"^identity(\d+)\.obj$")
_WHERE_TO_GET = "clone ICT-VGL/ICT-FaceKit and pass its FaceXModel/ folder"


class FaceModelError(ValueError):
    """A face-model path or file that cannot be used; the message is one line saying what and where."""


@dataclass
class IctModel:
    neutral: np.ndarray  # (V, 3) float32, ICT frame: cm, x subject's left, y up, z out of the face
    faces: np.ndarray  # (F, 3) int32 triangles (quads split)
    uv: np.ndarray  # (V, 2) float32, first texture coordinate seen for each vertex
    identity: np.ndarray  # (I, V, 3) float16 identity basis (identity_i - neutral)
    expression: np.ndarray  # (E, V, 3) float16 expression deltas
    expression_names: Tuple[str, ...]
    source: str

    def expression_index(self) -> Dict[str, int]:
        return {n: i for i, n in enumerate(self.expression_names)}


def _vertices(path: Path) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise FaceModelError(f"face model: cannot read {path}: {exc.strerror}") from None
    rows = [ln[2:] for ln in text.splitlines() if ln.startswith("v ")]
    if not rows:
        raise FaceModelError(f"face model: {path} has no vertex ('v x y z') lines; {_WHERE_TO_GET}")
    try:
        v = np.array(" ".join(rows).split(), np.float64)
    except ValueError:
        raise FaceModelError(f"face model: {path} has a non-numeric vertex line") from None
    if v.size != 3 * len(rows):
        raise FaceModelError(f"face model: {path}: vertex lines must have exactly 3 numbers")
    return v.reshape(-1, 3)


def _topology(path: Path, n_vertices: int) -> Tuple[np.ndarray, np.ndarray]:
    text = path.read_text(encoding="utf-8", errors="replace")
    vt = [ln[3:] for ln in text.splitlines() if ln.startswith("vt ")]
    uv_all = np.array(" ".join(vt).split(), np.float64).reshape(-1, 2) if vt else np.zeros((0, 2))
    tris, uv = [], np.zeros((n_vertices, 2), np.float32)
    seen = np.zeros(n_vertices, bool)
    for ln in text.splitlines():
        if not ln.startswith("f "):
            continue
        try:
            corners = [c.split("/") for c in ln[2:].split()]
            vi = [int(c[0]) - 1 for c in corners]
            ti = [int(c[1]) - 1 if len(c) > 1 and c[1] else -1 for c in corners]
        except ValueError:
            raise FaceModelError(f"face model: {path} has a malformed face line: {ln[:60]!r}") from None
        if len(vi) < 3 or min(vi) < 0 or max(vi) >= n_vertices:
            raise FaceModelError(f"face model: {path}: face line {ln[:60]!r} refers to a missing vertex")
        for j in range(1, len(vi) - 1):
            tris.append((vi[0], vi[j], vi[j + 1]))
        for a, t in zip(vi, ti):
            if not seen[a] and 0 <= t < len(uv_all):
                uv[a] = uv_all[t]
                seen[a] = True
    if not tris:
        raise FaceModelError(f"face model: {path} has no face ('f') lines; it must be the full neutral mesh")
    return np.asarray(tris, np.int32), uv


def _model_dir(path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise FaceModelError(f"face model: {p} does not exist; {_WHERE_TO_GET}")
    if p.is_dir() and not (p / NEUTRAL).is_file() and (p / "FaceXModel" / NEUTRAL).is_file():
        p = p / "FaceXModel"  # the repository root given instead of its model folder
    if p.is_dir() and not (p / NEUTRAL).is_file():
        raise FaceModelError(f"face model: {p} has no {NEUTRAL}; {_WHERE_TO_GET}")
    return p


def parse_obj_folder(path) -> IctModel:
    """Read the published layout (slow: seconds); ``load_face_model`` caches the result."""
    d = _model_dir(path)
    neutral = _vertices(d / NEUTRAL)
    faces, uv = _topology(d / NEUTRAL, len(neutral))
    ids, exprs, names = [], [], []
    files = sorted(f for f in d.glob("*.obj") if f.name != NEUTRAL)
    id_files = sorted((int(_IDENTITY.match(f.name).group(1)), f) for f in files if _IDENTITY.match(f.name))
    if not id_files:
        raise FaceModelError(f"face model: {d} has no identity###.obj files; {_WHERE_TO_GET}")
    for f in files:
        v = _vertices(f)
        if v.shape != neutral.shape:
            raise FaceModelError(f"face model: {f} has {len(v)} vertices, {NEUTRAL} has {len(neutral)}")
        if not _IDENTITY.match(f.name):
            exprs.append((v - neutral).astype(np.float16))
            names.append(f.stem)
    for _, f in id_files:
        ids.append((_vertices(f) - neutral).astype(np.float16))
    empty = np.zeros((0,) + neutral.shape, np.float16)
    return IctModel(neutral.astype(np.float32), faces, uv, np.stack(ids),
                    np.stack(exprs) if exprs else empty, tuple(names), str(d))


def cache_dir() -> Path:
    return Path(os.environ.get("THERMAL_FLD_CACHE", "~/.cache/thermal_fld_ros")).expanduser()


def _fingerprint(d: Path) -> str:
    h = hashlib.sha1(f"{CACHE_VERSION}:{d.resolve()}".encode())
    for f in sorted(d.glob("*.obj")):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def save_cache(model: IctModel, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, version=CACHE_VERSION, neutral=model.neutral, faces=model.faces, uv=model.uv,
             identity=model.identity, expression=model.expression,
             expression_names=np.array(model.expression_names), source=np.array(model.source))
    os.replace(tmp, path)  # atomic: parallel workers never read a half-written cache
    return path


def load_cache(path) -> IctModel:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) != CACHE_VERSION:
                raise FaceModelError(f"face model: cache {path} has version {int(z['version'])}, "
                                     f"expected {CACHE_VERSION}; delete it to rebuild")
            m = IctModel(z["neutral"], z["faces"], z["uv"], z["identity"], z["expression"],
                         tuple(str(n) for n in z["expression_names"]), str(z["source"]))
    except FaceModelError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise FaceModelError(f"face model: {path} is not a face-model cache ({type(exc).__name__}); "
                             f"pass the FaceXModel/ folder instead") from None
    if m.identity.shape[1:] != m.neutral.shape or m.expression.shape[1:] != m.neutral.shape:
        raise FaceModelError(f"face model: cache {path} has inconsistent shapes; delete it to rebuild")
    return m


_LOADED: Dict[str, IctModel] = {}


def load_face_model(path) -> IctModel:
    """The model at ``path`` (a ``FaceXModel/`` folder, the repository root, or a cache ``.npz``)."""
    key = str(path)
    if key in _LOADED:
        return _LOADED[key]
    p = Path(path).expanduser()
    if p.is_file() and p.suffix == ".npz":
        model = load_cache(p)
    else:
        d = _model_dir(p)
        cached = cache_dir() / f"ict_{_fingerprint(d)}.npz"
        if cached.is_file():
            model = load_cache(cached)
        else:
            model = parse_obj_folder(d)
            try:
                save_cache(model, cached)
            except OSError:
                pass  # a read-only home: parse again next time
    _LOADED[key] = model
    return model
