"""Node health for ``/diagnostics``: rates, end-to-end latency, drops and bad frames, ~1 Hz.

Bad frames and notes are counted under the typed reasons of :class:`thermal_fld_ros.types.Reason`
(``bad_<reason>``, ``note_<reason>``). Latency is measured from the image's header stamp to the moment its results are published (same
clock on one machine; on a robot it includes the camera driver's delay, which is what a consumer sees).
"""
from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Deque, Dict, List, Optional, Tuple

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


class NodeStats:
    """Thread-safe counters (subscription callback vs worker) plus a window of recent events."""

    def __init__(self, window: int = 300):
        self._lock = threading.Lock()
        self.received = 0
        self.processed = 0
        self.dropped_stale = 0  # replaced by a newer frame before the worker got to it, or too old
        self.dropped_order = 0  # stamp not newer than the last processed frame
        self.bad = Counter()  # reason -> count
        self.last_faces = 0
        self.last_bad_reason = ""
        self.bad_by_reason: Dict[str, int] = {}
        self.notes = Counter()  # reason -> count, for frames processed with a note (Reason values)
        self.notes_by_reason: Dict[str, int] = {}
        self._rx: Deque[float] = deque(maxlen=window)  # receive times (monotonic)
        self._done: Deque[float] = deque(maxlen=window)  # publish times (monotonic)
        self._latency_ms: Deque[float] = deque(maxlen=window)
        self._proc_ms: Deque[float] = deque(maxlen=window)
        self._transport_ms: Deque[float] = deque(maxlen=window)  # header stamp -> subscription callback
        self._wait_ms: Deque[float] = deque(maxlen=window)  # callback -> worker picks the frame up

    def on_receive(self) -> None:
        with self._lock:
            self.received += 1
            self._rx.append(time.monotonic())

    def on_drop_stale(self, n: int = 1) -> None:
        with self._lock:
            self.dropped_stale += n

    def on_out_of_order(self) -> None:
        with self._lock:
            self.dropped_order += 1

    def on_bad(self, reason: str) -> None:
        with self._lock:
            self.bad[reason] += 1
            self.last_bad_reason = reason

    def on_note(self, reason: str) -> None:
        with self._lock:
            self.notes[reason] += 1

    def on_processed(self, latency_ms: float, process_ms: float, faces: int,
                     transport_ms: float = float("nan"), wait_ms: float = float("nan")) -> None:
        with self._lock:
            self.processed += 1
            self.last_faces = faces
            self._done.append(time.monotonic())
            self._latency_ms.append(latency_ms)
            self._proc_ms.append(process_ms)
            self._transport_ms.append(transport_ms)
            self._wait_ms.append(wait_ms)

    @staticmethod
    def _rate(times: Deque[float], now: float, horizon: float = 5.0) -> float:
        recent = [t for t in times if now - t <= horizon]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-9)

    def snapshot(self) -> Dict[str, float]:
        now = time.monotonic()
        with self._lock:
            lat = np.asarray(self._latency_ms, np.float64)
            proc = np.asarray(self._proc_ms, np.float64)
            snap = {
                "received": self.received, "processed": self.processed,
                "dropped_stale": self.dropped_stale, "dropped_out_of_order": self.dropped_order,
                "bad_frames": sum(self.bad.values()), "faces": self.last_faces,
                "input_rate_hz": self._rate(self._rx, now), "processing_rate_hz": self._rate(self._done, now),
                "latency_p50_ms": float(np.median(lat)) if lat.size else float("nan"),
                "latency_p95_ms": float(np.percentile(lat, 95)) if lat.size else float("nan"),
                "process_p50_ms": float(np.median(proc)) if proc.size else float("nan"),
                "transport_p50_ms": _nanmedian(self._transport_ms),
                "wait_p50_ms": _nanmedian(self._wait_ms),
            }
            self.bad_by_reason = dict(self.bad)
            self.notes_by_reason = dict(self.notes)
        return snap


def _nanmedian(values) -> float:
    a = np.asarray(values, np.float64)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else float("nan")


def diagnostic_array(stamp, name: str, hardware_id: str, snap: Dict[str, float],
                     bad_by_reason: Dict[str, int], extra: List[Tuple[str, str]], recent_bad: int = 0,
                     notes_by_reason: Optional[Dict[str, int]] = None) -> DiagnosticArray:
    """One DiagnosticStatus for the node; WARN while bad frames arrive (``recent_bad``) or before any image."""
    status = DiagnosticStatus()
    status.name, status.hardware_id = name, hardware_id
    if snap["received"] == 0:
        status.level, status.message = DiagnosticStatus.WARN, "no image received yet"
    elif recent_bad:
        status.level = DiagnosticStatus.WARN
        totals = ", ".join(f"{k}={v}" for k, v in sorted(bad_by_reason.items()))
        status.message = f"{recent_bad} bad frame(s) since the last report; totals: {totals}"
    else:
        status.level, status.message = DiagnosticStatus.OK, "running"
    values = [(k, f"{v:.2f}" if isinstance(v, float) else str(v)) for k, v in snap.items()]
    values += [(f"bad_{k}", str(v)) for k, v in sorted(bad_by_reason.items())]
    values += [(f"note_{k}", str(v)) for k, v in sorted((notes_by_reason or {}).items())]
    status.values = [KeyValue(key=k, value=v) for k, v in values + list(extra)]
    msg = DiagnosticArray()
    msg.header.stamp = stamp
    msg.status = [status]
    return msg
