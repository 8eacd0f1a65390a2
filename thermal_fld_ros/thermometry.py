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
    periorbital  mean of both eye contours enlarged 1.6x about their centres
    mouth        mean of the hull of the mouth points
    face_max     warmest pixel in the hull of all landmarks and the forehead band

Each reading has a RegionQuality: NOT_VISIBLE beyond the region's yaw/pitch limits (head pose, or a
rough yaw from the nose's offset between the eyes when pose is off), TOO_FEW_PIXELS when fewer than
``min_pixels`` of it lie on the frame, SATURATED when any of its pixels sit at the sensor's count
limits or are NaN/inf.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .breathing import BreathingConfig, BreathingMonitor, BreathingSample
from .frames import FrameConfig, ThermalFrame
from .normalise import KIND_TEMPERATURE
from .schemes import LandmarkScheme
from .types import (REGIONS, Breathing, BreathingState, Face, FaceThermal, HeadPose, Region, RegionQuality,
                    RegionReading)

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
CANTHUS_HOTTEST = 3  # pixels averaged for the canthus reading: the max, less sensitive to one noisy pixel
_SHIFT = 4  # sub-pixel bits for cv2.fillPoly
_DISC = np.stack([np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False)),
                  np.sin(np.linspace(0, 2 * np.pi, 12, endpoint=False))], 1)


def saturation_limits(encoding: str, cfg: FrameConfig) -> Optional[Tuple[float, float]]:
    """Temperatures of the lowest and highest 16-bit count (readings touching them are saturated)."""
    if encoding in ("mono16", "16UC1") and cfg.radiometric_16bit:
        a = cfg.radiometric_offset
        b = cfg.radiometric_offset + 65535 * cfg.radiometric_scale
        return (min(a, b), max(a, b))
    return None


@dataclass
class FaceGeometry:
    """The face's own axes in the image: what the regions are placed with."""

    polygons: Dict[Region, List[np.ndarray]]  # (K, 2) pixel polygons per region
    nose_tip: np.ndarray
    iod_px: float
    yaw_deg: float  # from the pose, or the rough landmark estimate
    pitch_deg: float  # NaN without pose


class Thermometer:
    """Landmarks + a temperature frame -> :class:`FaceThermal` (stateless, one per scheme)."""

    def __init__(self, scheme: LandmarkScheme, min_pixels: int = 4):
        self.min_pixels = int(min_pixels)
        own = {ib: i for i, ib in scheme.to_ibug70.items()}
        self._idx = own
        self.usable = all(i in own for i in list(range(17, 48)))
        self._mouth = [own[i] for i in range(48, 68) if i in own]

    # ------------------------------------------------------------------ geometry
    def geometry(self, landmarks: np.ndarray, pose: Optional[HeadPose]) -> Optional[FaceGeometry]:
        """Region polygons for one face; None when the scheme or the landmarks cannot place them."""
        if not self.usable:
            return None
        p = np.asarray(landmarks, np.float64)
        o = self._idx

        def pt(i: int) -> np.ndarray:
            return p[o[i]]

        core = p[[o[i] for i in range(17, 48)]]
        if not np.isfinite(core).all():
            return None
        c_r = p[[o[i] for i in range(36, 42)]].mean(0)  # image-left eye
        c_l = p[[o[i] for i in range(42, 48)]].mean(0)
        ex = c_l - c_r
        iod = float(np.hypot(*ex))
        if iod < 2.0:
            return None
        ex /= iod
        ey = np.array([-ex[1], ex[0]])  # down the face
        polys: Dict[Region, List[np.ndarray]] = {}
        polys[Region.CANTHI] = [pt(39) + 0.15 * iod * _DISC, pt(42) + 0.15 * iod * _DISC]
        a, b = pt(18), pt(25)
        fh = np.stack([a - 0.15 * iod * ey, b - 0.15 * iod * ey, b - 0.55 * iod * ey, a - 0.55 * iod * ey])
        polys[Region.FOREHEAD] = [fh]
        polys[Region.NOSE_TIP] = [pt(30) + 0.10 * iod * _DISC]
        base = p[[o[i] for i in range(31, 36)]]
        polys[Region.NOSTRILS] = [_hull(np.concatenate([base - 0.07 * iod * ey, base + 0.04 * iod * ey]))]
        eyes = []
        for c, rng in ((c_r, range(36, 42)), (c_l, range(42, 48))):
            eyes.append(_hull(c + 1.6 * (p[[o[i] for i in rng]] - c)))
        polys[Region.PERIORBITAL] = eyes
        mouth = p[self._mouth]
        mouth = mouth[np.isfinite(mouth).all(1)]
        polys[Region.MOUTH] = [_hull(mouth)] if len(mouth) >= 3 else []
        allp = p[: min(len(p), 68)]
        allp = allp[np.isfinite(allp).all(1)]
        polys[Region.FACE_MAX] = [_hull(np.concatenate([allp, fh]))]
        if pose is not None:
            yaw, pitch = float(pose.yaw_pitch_roll_deg[0]), float(pose.yaw_pitch_roll_deg[1])
        else:  # the nose tip's offset from the eyes' midpoint along the eye line, as a rough yaw
            off = float((pt(30) - (c_r + c_l) / 2) @ ex) / iod
            yaw, pitch = float(np.degrees(np.arcsin(np.clip(2.0 * off, -1.0, 1.0)))), float("nan")
        return FaceGeometry(polys, pt(30).copy(), iod, yaw, pitch)

    # ------------------------------------------------------------------ readings
    def read(self, data: np.ndarray, radiometric: bool, geo: Optional[FaceGeometry],
             saturation: Optional[Tuple[float, float]] = None) -> FaceThermal:
        readings: Dict[Region, RegionReading] = {}
        for region in REGIONS:
            if not radiometric:
                readings[region] = RegionReading(float("nan"), RegionQuality.NOT_RADIOMETRIC)
                continue
            if geo is None or not geo.polygons.get(region) or not self._visible(region, geo):
                readings[region] = RegionReading(float("nan"), RegionQuality.NOT_VISIBLE)
                continue
            values = _pixels(data, geo.polygons[region])
            readings[region] = self._reading(region, values, saturation)
        return FaceThermal(readings, radiometric)

    @staticmethod
    def _visible(region: Region, geo: FaceGeometry) -> bool:
        max_yaw, lo, hi = VISIBLE_LIMITS[region]
        if abs(geo.yaw_deg) > max_yaw:
            return False
        return not (np.isfinite(geo.pitch_deg) and not lo <= geo.pitch_deg <= hi)

    def _reading(self, region: Region, values: np.ndarray, saturation) -> RegionReading:
        n = int(values.size)
        if n < self.min_pixels:
            return RegionReading(float("nan"), RegionQuality.TOO_FEW_PIXELS, n)
        if not np.isfinite(values).all() or (
                saturation is not None and (values.min() <= saturation[0] or values.max() >= saturation[1])):
            return RegionReading(float("nan"), RegionQuality.SATURATED, n)
        if region is Region.CANTHI:
            k = min(CANTHUS_HOTTEST, n)
            t = float(np.partition(values, n - k)[n - k:].mean())
        elif region is Region.FACE_MAX:
            t = float(values.max())
        elif region is Region.FOREHEAD:
            t = float(np.median(values))
        else:
            t = float(values.mean())
        return RegionReading(t, RegionQuality.OK, n)


def _hull(points: np.ndarray) -> np.ndarray:
    return cv2.convexHull(np.asarray(points, np.float32)).reshape(-1, 2).astype(np.float64)


def _pixels(data: np.ndarray, polygons: Sequence[np.ndarray]) -> np.ndarray:
    """Frame values whose pixel centres fall inside any of ``polygons`` (clipped to the frame)."""
    h, w = data.shape
    allp = np.concatenate(polygons)
    if not np.isfinite(allp).all():
        return np.zeros(0, np.float32)
    x0, y0 = max(int(np.floor(allp[:, 0].min())), 0), max(int(np.floor(allp[:, 1].min())), 0)
    x1, y1 = min(int(np.ceil(allp[:, 0].max())) + 1, w), min(int(np.ceil(allp[:, 1].max())) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return np.zeros(0, np.float32)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = [np.round((q - (x0, y0)) * (1 << _SHIFT)).astype(np.int32) for q in polygons]
    cv2.fillPoly(mask, pts, 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return data[y0:y1, x0:x1][mask.astype(bool)]


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
