"""Checks and small readers every dataset loader shares, so bad input fails the same clear way everywhere.

A loader reads annotations it did not write; each problem is reported as a :class:`DatasetError` that
names the file and what is wrong with it, at load time rather than deep inside a training step.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from thermal_fld_ros.schemes import get_scheme

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy")

# Points further outside the image than this fraction of its size are taken as an annotation error
# (wrong scale, swapped axes); points just outside (a jaw past the frame edge) are kept as invisible.
FAR_OUTSIDE_FRACTION = 0.5
# Boxes may overshoot the image by this many pixels (rounding in the annotation tool) before failing.
BOX_TOLERANCE_PX = 2.0


class DatasetError(ValueError):
    """A dataset file that cannot be used; the message names the file and the problem."""


def require_dir(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: {what} folder not found")
    return path


def require_file(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: {what} not found")
    return path


def list_images(folder: Path, exts: Sequence[str] = IMAGE_EXTS) -> List[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in exts)


def find_with_stem(folder: Path, stem: str, exts: Sequence[str] = IMAGE_EXTS) -> Optional[Path]:
    """The first ``folder/stem.<ext>`` that exists (extensions tried in order), else None."""
    for ext in exts:
        for cand in (Path(folder) / f"{stem}{ext}", Path(folder) / f"{stem}{ext.upper()}"):
            if cand.is_file():
                return cand
    return None


def image_size(path: Path) -> Tuple[int, int]:
    """(width, height) of an image or .npy array, read from the header where possible (fast)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: image not found")
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, mmap_mode="r")
        except (ValueError, OSError) as exc:
            raise DatasetError(f"{path}: unreadable array ({exc})") from None
        if arr.ndim not in (2, 3):
            raise DatasetError(f"{path}: expected a 2D frame, got shape {arr.shape}")
        return int(arr.shape[1]), int(arr.shape[0])
    try:
        from PIL import Image  # header-only read; training-side dependency (via matplotlib)

        with Image.open(path) as im:
            return int(im.size[0]), int(im.size[1])
    except ImportError:
        pass
    except Exception as exc:  # PIL raises many types for corrupt files
        raise DatasetError(f"{path}: unreadable image ({exc})") from None
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DatasetError(f"{path}: unreadable image")
    return int(img.shape[1]), int(img.shape[0])


def check_points(points: np.ndarray, scheme: str, size: Tuple[int, int], source: Path,
                 allow_nan: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Validate (N, 2) pixel points for ``scheme`` in an image of ``size`` = (w, h).

    Returns (points float64, visible float32): points just outside the image are kept but marked
    invisible; NaN points (only if ``allow_nan``) are invisible. Wrong counts, NaNs where the format has
    no missing marker, and points far outside the image raise :class:`DatasetError`.
    """
    n = get_scheme(scheme).num_points
    pts = np.asarray(points, np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise DatasetError(f"{source}: expected (N, 2) points, got shape {pts.shape}")
    if pts.shape[0] != n:
        raise DatasetError(f"{source}: {pts.shape[0]} points, scheme {scheme!r} has {n}")
    finite = np.isfinite(pts).all(1)
    if not allow_nan and not finite.all():
        bad = np.flatnonzero(~finite)[:5].tolist()
        raise DatasetError(f"{source}: non-finite landmark coordinates at points {bad}")
    w, h = size
    mx, my = FAR_OUTSIDE_FRACTION * w, FAR_OUTSIDE_FRACTION * h
    with np.errstate(invalid="ignore"):
        far = finite & ((pts[:, 0] < -mx) | (pts[:, 0] > w + mx) | (pts[:, 1] < -my) | (pts[:, 1] > h + my))
        inside = finite & (pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1)
    if far.any():
        i = int(np.flatnonzero(far)[0])
        raise DatasetError(f"{source}: point {i} at ({pts[i, 0]:.1f}, {pts[i, 1]:.1f}) is far outside the "
                           f"{w}x{h} image (wrong scale or axes?)")
    return pts, inside.astype(np.float32)


def check_box(box: Iterable[float], size: Tuple[int, int], source: Path) -> np.ndarray:
    """Validate an [x0, y0, x1, y1] pixel box against an image of ``size`` = (w, h); clip small overshoot."""
    b = np.asarray(list(box), np.float64)
    if b.shape != (4,) or not np.isfinite(b).all():
        raise DatasetError(f"{source}: bad face box {b.tolist()}")
    x0, y0, x1, y1 = b
    if x1 <= x0 or y1 <= y0:
        raise DatasetError(f"{source}: empty face box {b.tolist()}")
    w, h = size
    t = BOX_TOLERANCE_PX
    if x0 < -t or y0 < -t or x1 > w + t or y1 > h + t:
        raise DatasetError(f"{source}: face box {np.round(b, 1).tolist()} lies outside the {w}x{h} image")
    return np.array([max(x0, 0.0), max(y0, 0.0), min(x1, float(w)), min(y1, float(h))])


def parse_floats(text: str, source: Path, line_no: int) -> List[float]:
    """Numbers of one annotation line (comma or whitespace separated), with a clear error."""
    try:
        return [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise DatasetError(f"{source}:{line_no}: not a list of numbers: {text.strip()[:80]!r}") from None
