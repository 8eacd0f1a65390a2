"""All faces of a frame as one ``sensor_msgs/PointCloud2`` "face table": one row per face.

A standard message (no custom interface package to build) that is typed and self-describing: each
column is a named ``PointField`` with a datatype and a count, so a consumer gets a numpy structured
array with :func:`decode` (or ``np.frombuffer(msg.data, dtype)``). height = 1, width = faces.

Columns (N = points of the model's landmark scheme)::

    track_id        uint32      stable id of the face track
    score           float32     face confidence [0, 1]
    box             float32 x4  x0, y0, x1, y1 (image pixels)
    position        float32 x3  head origin (between the eyes) in the optical frame, metres (NaN: no pose)
    orientation     float32 x4  head frame quaternion qx, qy, qz, qw (REP-103 axes; NaN: no pose)
    yaw_pitch_roll  float32 x3  degrees (NaN: no pose)
    u, v            float32 xN  landmark pixels
    point_score     float32 xN  per-landmark confidence [0, 1]
    temperature     float32 x7  region temperatures, deg C, in the order of thermal_fld_ros.types.REGIONS:
                                canthi, forehead, nose_tip, nostrils, periorbital, mouth, face_max
                                (NaN: no reading; see temperature_quality)
    temperature_quality uint8 x7  RegionQuality bits per region: 0 ok, 1 not radiometric input,
                                2 not visible at this pose, 4 too few pixels, 8 saturated;
                                255 thermometry off
    breathing_rate  float32     breaths per minute (NaN unless breathing_state is 0)
    breathing_confidence float32  spectral-peak confidence [0, 1]
    breathing_state uint8       BreathingState: 0 ok, 1 unavailable, 2 warming up, 3 nostrils not visible,
                                4 moving, 5 low confidence
"""
from __future__ import annotations

import array
import functools
from typing import List, Sequence

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField

from thermal_fld_ros.ros.rotation import quaternion_xyzw
from thermal_fld_ros.types import REGIONS, BreathingState, Face

THERMOMETRY_OFF = 255  # temperature_quality when the pipeline's thermometry switch is off

_NUMPY_OF = {
    PointField.INT8: np.int8, PointField.UINT8: np.uint8, PointField.INT16: np.int16,
    PointField.UINT16: np.uint16, PointField.INT32: np.int32, PointField.UINT32: np.uint32,
    PointField.FLOAT32: np.float32, PointField.FLOAT64: np.float64,
}


def columns(num_points: int) -> List[tuple]:
    """(name, PointField datatype, count) of every column, in wire order."""
    f32 = PointField.FLOAT32
    return [("track_id", PointField.UINT32, 1), ("score", f32, 1), ("box", f32, 4), ("position", f32, 3),
            ("orientation", f32, 4), ("yaw_pitch_roll", f32, 3), ("u", f32, num_points),
            ("v", f32, num_points), ("point_score", f32, num_points),
            ("temperature", f32, len(REGIONS)), ("temperature_quality", PointField.UINT8, len(REGIONS)),
            ("breathing_rate", f32, 1), ("breathing_confidence", f32, 1), ("breathing_state", PointField.UINT8, 1)]


@functools.lru_cache(maxsize=8)
def table_dtype(num_points: int) -> np.dtype:
    """Little-endian numpy dtype of one row (the layout :func:`encode` writes)."""
    spec = []
    for name, dt, count in columns(num_points):
        base = np.dtype(_NUMPY_OF[dt]).newbyteorder("<")
        spec.append((name, base) if count == 1 else (name, base, (count,)))
    return np.dtype(spec)


def encode(faces: Sequence[Face], header, num_points: int) -> PointCloud2:
    """Faces -> PointCloud2 (width = len(faces); an empty table when there is no face)."""
    dtype = table_dtype(num_points)
    rows = np.zeros(len(faces), dtype)
    for i, face in enumerate(faces):
        rows["track_id"][i] = int(face.track_id)
        rows["score"][i] = float(face.score)
        rows["box"][i] = np.asarray(face.box, np.float32)[:4]
        lm = np.asarray(face.landmarks, np.float32).reshape(-1, 2)
        if len(lm) != num_points:
            raise ValueError(f"face {face.track_id} has {len(lm)} landmarks, the table has {num_points}")
        rows["u"][i], rows["v"][i] = lm[:, 0], lm[:, 1]
        rows["point_score"][i] = np.asarray(face.scores, np.float32).reshape(-1)
        if face.pose is None:
            rows["position"][i] = np.nan
            rows["orientation"][i] = np.nan
            rows["yaw_pitch_roll"][i] = np.nan
        else:
            rows["position"][i] = np.asarray(face.pose.translation, np.float32).reshape(3)
            rows["orientation"][i] = quaternion_xyzw(face.pose.rotation)
            rows["yaw_pitch_roll"][i] = np.asarray(face.pose.yaw_pitch_roll_deg, np.float32)
        _thermal_columns(rows, i, face)
    msg = PointCloud2()
    msg.header = header
    msg.height, msg.width = 1, len(faces)
    msg.fields = [PointField(name=n, offset=o, datatype=dt, count=c) for n, o, dt, c in _field_layout(num_points)]
    msg.is_bigendian = False
    msg.point_step = dtype.itemsize
    msg.row_step = dtype.itemsize * len(faces)
    msg.is_dense = False  # NaN where pose is unknown
    msg.data = array.array("B", rows.tobytes())
    return msg


@functools.lru_cache(maxsize=8)
def _field_layout(num_points: int) -> tuple:
    """(name, byte offset, datatype, count) of every column: the PointField list, computed once per size."""
    out, offset = [], 0
    for name, dt, count in columns(num_points):
        out.append((name, offset, dt, count))
        offset += np.dtype(_NUMPY_OF[dt]).itemsize * count
    return tuple(out)


def _thermal_columns(rows: np.ndarray, i: int, face: Face) -> None:
    if face.thermal is None:
        rows["temperature"][i] = np.nan
        rows["temperature_quality"][i] = THERMOMETRY_OFF
    else:
        readings = [face.thermal.readings[r] for r in REGIONS]
        rows["temperature"][i] = [v.temperature_c for v in readings]
        rows["temperature_quality"][i] = [int(v.quality) for v in readings]
    b = face.breathing
    rows["breathing_rate"][i] = b.rate_bpm if b is not None and b.state == BreathingState.OK else np.nan
    rows["breathing_confidence"][i] = b.confidence if b is not None else 0.0
    rows["breathing_state"][i] = int(b.state) if b is not None else int(BreathingState.UNAVAILABLE)


def decode(msg: PointCloud2) -> np.ndarray:
    """PointCloud2 face table -> numpy structured array of length ``width`` (fields from the message)."""
    names, formats, offsets = [], [], []
    order = ">" if msg.is_bigendian else "<"
    for f in msg.fields:
        if f.datatype not in _NUMPY_OF:
            raise ValueError(f"field {f.name!r} has unknown PointField datatype {f.datatype}")
        base = np.dtype(_NUMPY_OF[f.datatype]).newbyteorder(order)
        names.append(f.name)
        formats.append(base if f.count == 1 else (base, (f.count,)))
        offsets.append(f.offset)
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": msg.point_step})
    n = int(msg.width) * int(msg.height)
    if len(msg.data) < n * msg.point_step:
        raise ValueError(f"face table has {len(msg.data)} bytes, expected {n * msg.point_step}")
    return np.frombuffer(msg.data, dtype, count=n)
