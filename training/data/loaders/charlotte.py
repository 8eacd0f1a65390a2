"""CHARLOTTE-ThermalFace (UNC Charlotte): 16-bit radiometric frames with 72 (frontal) or 43 (profile) points.

The release ships "the original 16-bit radiometric TemperatureLinear format" images and landmark
annotations; their exact file layout is not documented where this code was written, so this loader
reads the following layout (docs/datasets.md says how to arrange a download to match it)::

    root/**/<image>.<tif|tiff|png>      16-bit TLinear counts, anywhere under root (found by file name)
    root/<annotations>.csv              one row per image (``csv=`` names the file; default: every
                                        *.csv directly in root)

CSV, with a header row: an image column (the first whose name contains "image", "file" or "name");
landmark columns ``x0, y0, x1, y1, ...`` (also ``x_0``/``X0``); every other column is kept as metadata
in ``extra`` (air temperature, humidity, distance, ...). Without a header: ``image, x0, y0, x1, y1, ...``.
A row with 72 points is scheme ``charlotte72``, with 43 points ``charlotte43``; empty or NaN cells are
missing points (invisible). ``split`` selects a ``split`` column's value when the CSV has one.

Temperatures: TLinear counts in centi-kelvin (FLIR high-gain: 0.01 K/count), i.e.
``ThermalDecoding("counts", 0.01, -273.15)``; pass ``decoding=`` for another camera setting.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ..records import FaceRecord, ThermalDecoding
from .common import IMAGE_EXTS, DatasetError, check_points, image_size, require_dir, require_file

TLINEAR = ThermalDecoding("counts", 0.01, -273.15)
SCHEME_BY_COUNT = {72: "charlotte72", 43: "charlotte43"}
_XY = re.compile(r"^([xy])_?(\d+)$", re.IGNORECASE)


def load_charlotte(root: Path, split: Optional[str] = None, csv_file: Optional[Path] = None,
                   decoding: ThermalDecoding = TLINEAR, scheme: Optional[str] = None) -> List[FaceRecord]:
    """Records of a CHARLOTTE-ThermalFace folder; ``scheme`` keeps only 'charlotte72' or 'charlotte43'."""
    root = require_dir(Path(root), "CHARLOTTE-ThermalFace")
    csvs = [require_file(Path(csv_file), "annotation CSV")] if csv_file else sorted(root.glob("*.csv"))
    if not csvs:
        raise DatasetError(f"{root}: no annotation CSV (*.csv) found")
    index = _image_index(root)
    records: List[FaceRecord] = []
    for path in csvs:
        for row_no, name, pts, meta in _read_csv(path):
            if split is not None and str(meta.get("split", split)).lower() != split.lower():
                continue
            n = len(pts)
            if n not in SCHEME_BY_COUNT:
                raise DatasetError(f"{path}:{row_no}: {n} points; CHARLOTTE rows have 72 or 43")
            sch = SCHEME_BY_COUNT[n]
            if scheme is not None and sch != scheme:
                continue
            img = index.get(Path(name).name)
            if img is None:
                raise DatasetError(f"{path}:{row_no}: image {name!r} not found under {root}")
            pts, visible = check_points(pts, sch, image_size(img), Path(f"{path}:{row_no}"), allow_nan=True)
            records.append(FaceRecord(image_path=img, landmarks=pts, scheme=sch, decoding=decoding,
                                      visible=visible, extra={"dataset": "charlotte", "annotation": str(path),
                                                              "row": row_no, **meta}))
    if not records:
        raise DatasetError(f"{root}: no CHARLOTTE records (split={split!r}, scheme={scheme!r})")
    return records


def _image_index(root: Path) -> Dict[str, Path]:
    exts = tuple(e for e in IMAGE_EXTS if e not in (".jpg", ".jpeg"))
    return {p.name: p for p in sorted(root.rglob("*")) if p.suffix.lower() in exts and p.is_file()}


def _cell(text: str) -> float:
    text = (text or "").strip()
    return float(text) if text and text.lower() not in ("nan", "none", "null") else float("nan")


def _read_csv(path: Path):
    """Yield (row number, image name, (N, 2) points, metadata dict) per data row."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: unreadable CSV ({exc})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise DatasetError(f"{path}: empty CSV")
    header = [c.strip() for c in rows[0]]
    xy = {i: _XY.match(h) for i, h in enumerate(header)}
    if any(xy.values()):
        img_col = next((i for i, h in enumerate(header)
                        if any(k in h.lower() for k in ("image", "file", "name"))), None)
        if img_col is None:
            raise DatasetError(f"{path}: header has no image/file/name column")
        xs = {int(m.group(2)): i for i, m in xy.items() if m and m.group(1).lower() == "x"}
        ys = {int(m.group(2)): i for i, m in xy.items() if m and m.group(1).lower() == "y"}
        if sorted(xs) != sorted(ys) or sorted(xs) != list(range(len(xs))):
            raise DatasetError(f"{path}: landmark columns must be x0..x(N-1) and y0..y(N-1), each once")
        meta_cols = [i for i in range(len(header)) if i != img_col and not xy[i]]
        for no, row in enumerate(rows[1:], 2):
            if len(row) != len(header):
                raise DatasetError(f"{path}:{no}: {len(row)} cells, header has {len(header)}")
            try:
                pts = np.array([[_cell(row[xs[k]]), _cell(row[ys[k]])] for k in range(len(xs))])
            except ValueError:
                raise DatasetError(f"{path}:{no}: non-numeric landmark cell") from None
            if not np.isfinite(pts).any():  # a 43-point row in a CSV with 72 columns: trailing empties
                raise DatasetError(f"{path}:{no}: no landmark values")
            pts = _trim_trailing_missing(pts)
            meta = {header[i]: _maybe_number(row[i]) for i in meta_cols}
            yield no, row[img_col].strip(), pts, meta
    else:
        for no, row in enumerate(rows, 1):
            try:
                vals = [_cell(c) for c in row[1:]]
            except ValueError:
                raise DatasetError(f"{path}:{no}: non-numeric landmark cell (header missing?)") from None
            if len(vals) % 2:
                raise DatasetError(f"{path}:{no}: odd number of coordinates ({len(vals)})")
            yield no, row[0].strip(), _trim_trailing_missing(np.asarray(vals).reshape(-1, 2)), {}


def _trim_trailing_missing(pts: np.ndarray) -> np.ndarray:
    """Drop all-NaN rows at the end, so 43-point rows can share a table with 72-point ones."""
    finite = np.isfinite(pts).any(1)
    last = int(np.flatnonzero(finite)[-1]) + 1 if finite.any() else 0
    return pts[:last] if last in SCHEME_BY_COUNT else pts


def _maybe_number(text: str):
    try:
        return float(text)
    except ValueError:
        return text.strip()
