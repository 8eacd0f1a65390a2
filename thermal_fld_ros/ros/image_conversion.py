"""``sensor_msgs/Image`` <-> numpy without the ROS 1 ``cv-bridge`` from PyPI.

The ROS 2 ``cv_bridge`` is used when it is importable (a normal ROS install); otherwise the numpy path
(:func:`thermal_fld_ros.frames.array_from_buffer`) that honours ``step`` (row padding) and
``is_bigendian``. Size and step are checked here first, strictly (data length must equal
step*height), and a frame above ``max_pixels`` is refused before anything is copied. Problems raise
:class:`~thermal_fld_ros.frames.FrameError` with a message a user can act on.
"""
from __future__ import annotations

import array
from typing import Optional, Tuple

import numpy as np
from sensor_msgs.msg import Image

from thermal_fld_ros.frames import ENCODINGS, FrameError, array_from_buffer

try:  # ROS 2 cv_bridge (not on PyPI; present on a ROS install)
    from cv_bridge import CvBridge as _CvBridge  # type: ignore

    _BRIDGE = _CvBridge()
except Exception:  # noqa: BLE001 - ImportError, or a broken install (e.g. numpy ABI mismatch)
    _BRIDGE = None


def bridge_available() -> bool:
    return _BRIDGE is not None


def check_layout(msg: Image, max_pixels: Optional[int] = None) -> Tuple[type, int]:
    """Validate encoding, size and step of ``msg``; returns (dtype, channels)."""
    enc = msg.encoding
    if enc not in ENCODINGS:
        raise FrameError(f"unsupported encoding {enc!r}; supported: {', '.join(ENCODINGS)}")
    dtype, channels = ENCODINGS[enc]
    h, w = int(msg.height), int(msg.width)
    if h <= 0 or w <= 0:
        raise FrameError(f"empty frame ({w}x{h}, {enc})")
    if max_pixels is not None and h * w > max_pixels:
        raise FrameError(f"frame too large: {w}x{h} = {h * w} pixels > max_pixels {max_pixels}")
    row = w * channels * np.dtype(dtype).itemsize
    if msg.step < row:
        raise FrameError(f"step {msg.step} < width*channels*bytes = {row} ({enc}, {w}x{h})")
    if len(msg.data) != msg.step * h:
        raise FrameError(f"data has {len(msg.data)} bytes, expected step*height = {msg.step}*{h} = "
                         f"{msg.step * h} ({enc}, {w}x{h})")
    return dtype, channels


def image_to_array(msg: Image, max_pixels: Optional[int] = None, use_bridge: bool = True) -> np.ndarray:
    """Image message -> (H, W) or (H, W, 3) array in native byte order."""
    check_layout(msg, max_pixels)
    if use_bridge and _BRIDGE is not None:
        try:
            return np.asarray(_BRIDGE.imgmsg_to_cv2(msg, desired_encoding="passthrough"))
        except Exception:  # noqa: BLE001 - fall back to the numpy path, which explains any error
            pass
    return array_from_buffer(msg.data, msg.height, msg.width, msg.step, msg.encoding, bool(msg.is_bigendian))


def array_to_image(arr: np.ndarray, encoding: str, header=None, step_padding: int = 0,
                   big_endian: bool = False) -> Image:
    """(H, W[, 3]) array -> Image message; ``step_padding``/``big_endian`` exist to test consumers."""
    if encoding not in ENCODINGS:
        raise FrameError(f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}")
    dtype, channels = ENCODINGS[encoding]
    arr = np.asarray(arr)
    shape_ok = arr.ndim == 2 if channels == 1 else (arr.ndim == 3 and arr.shape[2] == channels)
    if not shape_ok:
        raise FrameError(f"array of shape {arr.shape} does not fit encoding {encoding!r}")
    h, w = arr.shape[:2]
    wire = np.dtype(dtype)
    if wire.itemsize > 1:
        wire = wire.newbyteorder(">" if big_endian else "<")
    rows = np.ascontiguousarray(arr.astype(wire, copy=False)).reshape(h, -1).view(np.uint8)
    if step_padding:
        rows = np.concatenate([rows, np.zeros((h, step_padding), np.uint8)], 1)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(h), int(w)
    msg.encoding = encoding
    msg.is_bigendian = int(bool(big_endian))
    msg.step = int(rows.shape[1])
    msg.data = array.array("B", rows.tobytes())
    return msg
