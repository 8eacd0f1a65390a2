"""Region temperatures of a face from its landmarks, and the per-track breathing rate built on them.

Readings exist only for radiometric input (16-bit counts with scale/offset, 32FC1): they are the
camera's apparent temperatures (°C) with the camera's emissivity setting (0.98 for skin assumed), no
correction of our own; an 8-bit AGC or palette frame has no temperature scale, so its readings are
NOT_RADIOMETRIC and NaN, never estimated. Regions are convex polygons placed in the face's own axes
(eye line and its normal, sized by the inter-ocular distance), so they follow roll and scale:

    canthi       mean of the 3 hottest pixels in discs (r = 0.15 IOD) at the inner eye corners (39, 42)
    forehead     median of a band 0.15-0.55 IOD above the brows (points 18-25)
    nose_tip     mean of a disc (r = 0.10 IOD) at point 30
    nostrils     mean of a band along the nose base (31-35), 0.07 IOD above to 0.04 IOD below
    periorbital  mean of both eye contours (36-41, 42-47) enlarged 1.6x about their centres, less the canthi
    mouth        mean inside the outer lip contour (48-59; the scheme's mouth points)
    face_max     warmest pixel inside the jaw line (0-16) closed by the forehead band's top, or of any region

Each reading has a RegionQuality: NOT_VISIBLE beyond the region's yaw/pitch limits (head pose, or a
rough yaw from the nose's offset between the eyes when pose is off), TOO_FEW_PIXELS when fewer than
``min_pixels`` of it lie on the frame, SATURATED when any of its pixels sit at the sensor's count
limits or are NaN/inf.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from .breathing import BreathingConfig, BreathingMonitor, BreathingSample
from .frames import FrameConfig, ThermalFrame
from .normalise import KIND_TEMPERATURE
from .schemes import LandmarkScheme
from .types import (
    REGIONS,
    Breathing,
    BreathingState,
    Face,
    FaceThermal,
    HeadPose,
    Region,
    RegionQuality,
    RegionReading,
)

# (max |yaw|, min pitch, max pitch) in degrees at which a region is still seen well; pitch > 0 = looking down
VISIBLE_LIMITS: Dict[Region, Tuple[float, float, float]] = {
    Region.CANTHI: (40.0, -35.0, 35.0),
    Region.FOREHEAD: (50.0, -35.0, 50.0),
    Region.NOSE_TIP: (60.0, -45.0, 45.0),
    Region.NOSTRILS: (35.0, -45.0, 25.0),
    Region.PERIORBITAL: (40.0, -35.0, 35.0),
    Region.MOUTH: (50.0, -45.0, 35.0),
    Region.FACE_MAX: (75.0, -60.0, 60.0),
}
# label order: a later region wins where two overlap (periorbital excludes the canthus discs)
_DRAW_ORDER = (Region.FACE_MAX, Region.FOREHEAD, Region.MOUTH, Region.NOSTRILS, Region.NOSE_TIP,
               Region.PERIORBITAL, Region.CANTHI)
_LABEL = {r: k for k, r in enumerate(_DRAW_ORDER, 1)}
CANTHUS_HOTTEST = 3  # pixels averaged for the canthus reading: the max, less sensitive to one noisy pixel
_SHIFT = 4  # sub-pixel bits for cv2.fillPoly
_DISC = np.stack([np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False)),
                  np.sin(np.linspace(0, 2 * np.pi, 12, endpoint=False))], 1)


def quality_label(q: RegionQuality) -> str:
    """'ok' or the failed checks joined by '+', e.g. 'not_visible' (CLI JSON/CSV, overlay)."""
    if q == RegionQuality.OK:
        return "ok"
    return "+".join(f.name.lower() for f in RegionQuality if f.value and f in q)


def thermal_record(face: Face) -> Optional[dict]:
    """JSON-ready readings of one face (CLI): temperatures in °C (None when unavailable) and labels."""
    if face.thermal is None:
        return None
    regions = {r.value: {"temperature_c": round(v.temperature_c, 3) if v.ok else None,
                         "quality": quality_label(v.quality), "pixels": v.pixels}
               for r, v in face.thermal.readings.items()}
    b = face.breathing
    breathing = None if b is None else {
        "rate_bpm": round(b.rate_bpm, 2) if b.state == BreathingState.OK else None,
        "confidence": round(b.confidence, 3), "state": b.state.name.lower(), "source": b.source.name.lower(),
        "window_s": round(b.window_s, 2)}
    return {"radiometric": face.thermal.radiometric, "regions": regions, "breathing": breathing}


def availability(enabled: bool, frame: Optional[ThermalFrame]) -> str:
    """One line for /diagnostics: whether this stream gives temperature readings, and why not."""
    if not enabled:
        return "off (parameter thermometry: false)"
    if frame is None:
        return "no frame yet"
    if frame.kind == KIND_TEMPERATURE:
        return f"available ({frame.encoding} radiometric)"
    return f"unavailable: {frame.encoding} input is not radiometric (readings marked not_radiometric)"


def saturation_limits(encoding: str, cfg: FrameConfig) -> Optional[Tuple[float, float]]:
    """Temperatures half a count inside the lowest and highest 16-bit count (readings at them are saturated)."""
    if encoding in ("mono16", "16UC1") and cfg.radiometric_16bit:
        a = cfg.radiometric_offset + 0.5 * cfg.radiometric_scale
        b = cfg.radiometric_offset + 65534.5 * cfg.radiometric_scale
        return (min(a, b), max(a, b))
    return None


@dataclass
class FaceGeometry:
    """The face's own axes in the image: what the regions are placed with."""

    vertices: np.ndarray  # (V, 2) every polygon vertex; a region's polygons are its ``slices`` of it
    slices: Dict[Region, List[slice]]
    nose_tip: np.ndarray
    iod_px: float
    yaw_deg: float  # from the pose, or the rough landmark estimate
    pitch_deg: float  # NaN without pose

    @property
    def polygons(self) -> Dict[Region, List[np.ndarray]]:
        """(K, 2) pixel polygons per region (views of ``vertices``; built on demand, not per face)."""
        return {r: [self.vertices[sl] for sl in sls] for r, sls in self.slices.items()}


class Thermometer:
    """Landmarks + a temperature frame -> :class:`FaceThermal` (stateless, one per scheme).

    Every polygon vertex is ``A @ landmarks + c * down + r * IOD * disc``, with ``down`` the face's
    downward unit vector times the inter-ocular distance: the matrices are built once per scheme, so a
    face costs one matrix product, not dozens of small numpy calls.
    """

    def __init__(self, scheme: LandmarkScheme, min_pixels: int = 4):
        self.min_pixels = int(min_pixels)
        own = {ib: i for i, ib in scheme.to_ibug70.items()}
        self.usable = all(i in own for i in range(17, 48))
        if not self.usable:
            return
        n = scheme.num_points
        rows: List[np.ndarray] = []
        downs: List[float] = []
        discs: List[np.ndarray] = []
        self._slices: Dict[Region, List[slice]] = {}

        def onehot(i: int) -> np.ndarray:
            v = np.zeros(n)
            v[own[i]] = 1.0
            return v

        def centre(ids) -> np.ndarray:
            return sum(onehot(i) for i in ids) / len(ids)

        def add(region: Region, pts: List[np.ndarray], down=0.0, disc: float = 0.0) -> None:
            start = len(rows)
            downs_v = np.broadcast_to(np.asarray(down, np.float64), (len(pts),))
            for k, (row, d) in enumerate(zip(pts, downs_v)):
                rows.append(row)
                downs.append(float(d))
                discs.append(disc * _DISC[k] if disc else np.zeros(2))
            self._slices.setdefault(region, []).append(slice(start, len(rows)))

        eye_r, eye_l = centre(range(36, 42)), centre(range(42, 48))
        self._eyes = np.stack([eye_r, eye_l])
        for i in (39, 42):
            add(Region.CANTHI, [onehot(i)] * len(_DISC), disc=0.15)
        a, b = onehot(18), onehot(25)
        add(Region.FOREHEAD, [a, b, b, a], [-0.15, -0.15, -0.55, -0.55])
        add(Region.NOSE_TIP, [onehot(30)] * len(_DISC), disc=0.10)
        base = [onehot(i) for i in range(31, 36)]
        add(Region.NOSTRILS, base + base[::-1], [-0.07] * 5 + [0.04] * 5)
        for c, ids in ((eye_r, range(36, 42)), (eye_l, range(42, 48))):
            add(Region.PERIORBITAL, [1.6 * onehot(i) - 0.6 * c for i in ids])
        mouth = [i for i in range(48, 60) if i in own] or [i for i in range(48, 68) if i in own]
        if len(mouth) >= 3:
            add(Region.MOUTH, [onehot(i) for i in mouth])
        jaw = [onehot(i) for i in range(17) if i in own]
        add(Region.FACE_MAX, jaw + [b, a] if len(jaw) >= 3 else [a, b, b, a],
            [0.0] * len(jaw) + [-0.55, -0.55] if len(jaw) >= 3 else [-0.15, -0.15, -0.55, -0.55])
        self._A = np.stack(rows)
        self._down = np.asarray(downs)[:, None]
        self._disc = np.stack(discs)
        self._nose, self._core = own[30], np.array([own[i] for i in range(17, 48)])
        # each region's vertices are one contiguous run (added region by region): one reduceat boxes them all
        assert all(a.stop == b.start for sls in self._slices.values() for a, b in zip(sls, sls[1:])), \
            "a region's polygons must be added one after another (Thermometer._region_boxes)"
        self._box_regions = list(self._slices)
        self._box_starts = np.array([self._slices[r][0].start for r in self._box_regions])

    # ------------------------------------------------------------------ geometry
    def geometry(self, landmarks: np.ndarray, pose: Optional[HeadPose]) -> Optional[FaceGeometry]:
        """Region polygons for one face; None when the scheme or the landmarks cannot place them."""
        if not self.usable:
            return None
        p = np.asarray(landmarks, np.float64)
        if not np.isfinite(p[self._core]).all():
            return None
        eyes = self._eyes @ p  # image-left, image-right eye centres
        ex = eyes[1] - eyes[0]
        iod = float(np.hypot(ex[0], ex[1]))
        if iod < 2.0:
            return None
        down = np.array([-ex[1], ex[0]])  # (unit down the face) * iod
        verts = self._A @ p + self._down * down + self._disc * iod
        if not np.isfinite(verts).all():
            return None
        nose = p[self._nose]
        if pose is not None:
            yaw, pitch = float(pose.yaw_pitch_roll_deg[0]), float(pose.yaw_pitch_roll_deg[1])
        else:  # the nose tip's offset from the eyes' midpoint along the eye line, as a rough yaw
            off = float((nose - 0.5 * (eyes[0] + eyes[1])) @ ex) / (iod * iod)
            yaw, pitch = float(np.degrees(np.arcsin(min(max(2.0 * off, -1.0), 1.0)))), float("nan")
        return FaceGeometry(verts, self._slices, nose.copy(), iod, yaw, pitch)

    # ------------------------------------------------------------------ readings
    def read(self, data: np.ndarray, radiometric: bool, geo: Optional[FaceGeometry],
             saturation: Optional[Tuple[float, float]] = None) -> FaceThermal:
        """Readings of every region (NaN with the reason where there is none)."""
        if not radiometric:
            return FaceThermal({r: RegionReading(float("nan"), RegionQuality.NOT_RADIOMETRIC) for r in REGIONS},
                               False)
        if geo is None:
            return FaceThermal({r: RegionReading(float("nan"), RegionQuality.NOT_VISIBLE) for r in REGIONS}, True)
        label, window, origin = self._label_window(data, geo)
        n_face = cv2.countNonZero(label) if label.size else 0  # every labelled pixel: the face hull
        lo, hi = saturation if saturation is not None else (-np.inf, np.inf)
        vmax, bad = float("nan"), None
        if n_face:
            vmin, vmax = cv2.minMaxLoc(window, label)[:2]
            finite = np.isfinite(cv2.sumElems(window)[0])  # NaN/inf anywhere in the window make the sum so
            if not (finite and lo < vmin and vmax < hi):
                bad = ~((window > lo) & (window < hi)) & (label > 0)  # NaN compares False: bad
        boxes = self._region_boxes(geo, origin, label.shape)
        readings: Dict[Region, RegionReading] = {}
        for region in REGIONS:
            if region not in geo.slices or not self._visible(region, geo):
                readings[region] = RegionReading(float("nan"), RegionQuality.NOT_VISIBLE)
                continue
            k = _LABEL[region]
            if region is Region.FACE_MAX:
                n, sel, sub = n_face, label, (slice(None), slice(None))
            else:  # only the region's own box is scanned: a large face costs little more than a small one
                y0, y1, x0, x1 = boxes[region]
                sub = (slice(y0, y1), slice(x0, x1))
                sel = (label[sub] == k).view(np.uint8)
                n = cv2.countNonZero(sel) if sel.size else 0
            if n < self.min_pixels:
                readings[region] = RegionReading(float("nan"), RegionQuality.TOO_FEW_PIXELS, n)
                continue
            if bad is not None and bad[sub][sel > 0].any():
                readings[region] = RegionReading(float("nan"), RegionQuality.SATURATED, n)
                continue
            if region is Region.FACE_MAX:
                t = float(vmax)
            elif region is Region.CANTHI:
                m = min(CANTHUS_HOTTEST, n)
                vals = window[sub][sel > 0]
                t = float(np.partition(vals, n - m)[n - m:].astype(np.float64).mean())
            elif region is Region.FOREHEAD:
                vals = window[sub][sel > 0]
                t = float(np.partition(vals, n // 2)[n // 2])  # median (upper for even n; np.median is slow)
            else:
                t = float(cv2.mean(window[sub], sel)[0])
            readings[region] = RegionReading(t, RegionQuality.OK, n)
        return FaceThermal(readings, True)

    def _region_boxes(self, geo: FaceGeometry, origin: Tuple[int, int],
                      shape: Tuple[int, int]) -> Dict[Region, Tuple[int, int, int, int]]:
        """Per region, the label window's (y0, y1, x0, x1) that can hold its pixels (vertex box, 1 px wider).

        Plain Python on a dozen numbers: numpy's per-call cost would exceed the work here.
        """
        lo = np.minimum.reduceat(geo.vertices, self._box_starts).tolist()
        hi = np.maximum.reduceat(geo.vertices, self._box_starts).tolist()
        ox, oy = origin
        h, w = shape
        boxes = {}
        for region, (lx, ly), (hx, hy) in zip(self._box_regions, lo, hi):
            y0 = min(max(math.floor(ly - oy) - 1, 0), h)
            x0 = min(max(math.floor(lx - ox) - 1, 0), w)
            boxes[region] = (y0, min(max(math.ceil(hy - oy) + 2, y0), h), x0, min(max(math.ceil(hx - ox) + 2, x0), w))
        return boxes

    @staticmethod
    def _visible(region: Region, geo: FaceGeometry) -> bool:
        max_yaw, lo, hi = VISIBLE_LIMITS[region]
        if abs(geo.yaw_deg) > max_yaw:
            return False
        return not (geo.pitch_deg < lo or geo.pitch_deg > hi)  # NaN pitch (no pose): no pitch limit

    @staticmethod
    def _label_window(data: np.ndarray, geo: FaceGeometry) -> Tuple[np.ndarray, np.ndarray, Tuple[int, int]]:
        """(region label per pixel, frame values, window origin x, y) of the face's bounding window.

        Regions are drawn in ``_DRAW_ORDER`` into one label image (later ones win where they overlap):
        the face hull (label of FACE_MAX) is every labelled pixel, and each region reads its own label.
        """
        h, w = data.shape
        lo, hi = geo.vertices.min(0), geo.vertices.max(0)
        x0, y0 = min(max(int(lo[0]), 0), w), min(max(int(lo[1]), 0), h)
        x1, y1 = max(min(int(hi[0]) + 2, w), x0), max(min(int(hi[1]) + 2, h), y0)
        label = np.zeros((y1 - y0, x1 - x0), np.uint8)
        if label.size:
            fixed = np.floor((geo.vertices - np.array([x0, y0], np.float64)) * (1 << _SHIFT) + 0.5).astype(np.int32)
            for k, region in enumerate(_DRAW_ORDER, 1):
                sls = geo.slices.get(region)
                if sls:
                    cv2.fillPoly(label, [fixed[sl] for sl in sls], k, lineType=cv2.LINE_8, shift=_SHIFT)
        return label, data[y0:y1, x0:x1], (x0, y0)


class ThermalReadout:
    """The pipeline's hook: region temperatures on every face, then the breathing rate per track."""

    def __init__(self, scheme: LandmarkScheme, frame_cfg: FrameConfig, min_pixels: int = 4,
                 breathing: BreathingConfig = BreathingConfig()):
        self.thermometer = Thermometer(scheme, min_pixels)
        self.frame_cfg = frame_cfg
        self.monitor = BreathingMonitor(breathing)

    def reset(self) -> None:
        self.monitor.reset()

    def annotate(self, faces: List[Face], frame: ThermalFrame, stamp_s: float) -> None:
        radiometric = frame.kind == KIND_TEMPERATURE
        sat = saturation_limits(frame.encoding, self.frame_cfg) if radiometric else None
        for f in faces:
            geo = self.thermometer.geometry(f.landmarks, f.pose) if radiometric else None
            f.thermal = self.thermometer.read(frame.data, radiometric, geo, sat)
            if not radiometric:
                f.breathing = Breathing(float("nan"), 0.0, BreathingState.UNAVAILABLE)
                continue
            r = f.thermal.readings
            nose = r[Region.NOSTRILS]
            sample = BreathingSample(stamp_s, nose.temperature_c if nose.ok else float("nan"),
                                     r[Region.MOUTH].temperature_c,
                                     geo.nose_tip if geo is not None else np.full(2, np.nan),
                                     geo.iod_px if geo is not None else 0.0,
                                     geo.yaw_deg if geo is not None else float("nan"))
            f.breathing = self.monitor.update(f.track_id, sample)
        self.monitor.keep_only(f.track_id for f in faces)
