"""``sensor_msgs/Image`` <-> numpy without the ROS 1 ``cv-bridge`` from PyPI.

The message's layout is checked by :func:`thermal_fld_ros.ingest.check_layout` (the one rule set:
encoding, size, side and pixel limits, step, data length = step*height) before anything is copied;
then the ROS 2 ``cv_bridge`` converts when it is importable, else :func:`thermal_fld_ros.ingest.array_from_buffer`
(honours ``step`` padding and ``is_bigendian``). Problems raise a typed
:class:`~thermal_fld_ros.ingest.FrameError`.
"""
from __future__ import annotations

import array
from typing import Optional

import numpy as np
from sensor_msgs.msg import Image

from thermal_fld_ros.ingest import ENCODINGS, FrameError, array_from_buffer, check_layout
from thermal_fld_ros.types import Reason

DEFAULT_MAX_PIXELS = 4096 * 4096

try:  # ROS 2 cv_bridge (not on PyPI; present on a ROS install)
    from cv_bridge import CvBridge as _CvBridge  # type: ignore

    _BRIDGE = _CvBridge()
except Exception:  # noqa: BLE001 - ImportError, or a broken install (e.g. numpy ABI mismatch)
    _BRIDGE = None


def bridge_available() -> bool:
    return _BRIDGE is not None


def image_to_array(msg: Image, max_pixels: Optional[int] = None, use_bridge: bool = True) -> np.ndarray:
    """Image message -> (H, W) or (H, W, 3) array in native byte order (may share the message's memory)."""
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    check_layout(msg.height, msg.width, msg.encoding, limit, msg.step, len(msg.data))
    if use_bridge and _BRIDGE is not None:
        try:
            return np.asarray(_BRIDGE.imgmsg_to_cv2(msg, desired_encoding="passthrough"))
        except Exception:  # noqa: BLE001 - fall back to the numpy path, which explains any error
            pass
    return array_from_buffer(msg.data, msg.height, msg.width, msg.step, msg.encoding, bool(msg.is_bigendian), limit)


def array_to_image(arr: np.ndarray, encoding: str, header=None, step_padding: int = 0,
                   big_endian: bool = False) -> Image:
    """(H, W[, 3]) array -> Image message; ``step_padding``/``big_endian`` exist to test consumers."""
    if encoding not in ENCODINGS:
        raise FrameError(Reason.ENCODING, f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}")
    dtype, channels = ENCODINGS[encoding]
    arr = np.asarray(arr)
    shape_ok = arr.ndim == 2 if channels == 1 else (arr.ndim == 3 and arr.shape[2] == channels)
    if not shape_ok:
        raise FrameError(Reason.LAYOUT, f"array of shape {arr.shape} does not fit encoding {encoding!r}")
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
