"""Give large frame buffers back to the OS once they are freed.

glibc's malloc raises its mmap threshold after a large block is freed, so the next frame-sized
buffers (a 4096x4096 frame makes several of 16-64 MB) come from the heap and stay in the process
for good: one such frame left the node's RSS ~100 MB higher. A fixed threshold keeps every block
above 1 MB in its own mapping, returned to the OS on free (typical frames, 320x256, stay below it).
A no-op where the C library is not glibc.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc mallopt parameter (malloc.h)
THRESHOLD_BYTES = 1 << 20


def return_large_buffers_to_os() -> bool:
    """Fix glibc's mmap threshold at 1 MB for this process; True when it took effect."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
