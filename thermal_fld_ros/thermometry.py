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
_SCALE = float(1 << _SHIFT)
_MAX, _HOTTEST, _MEDIAN, _MEAN = range(4)  # each region's statistic
_STAT = {Region.FACE_MAX: _MAX, Region.CANTHI: _HOTTEST, Region.FOREHEAD: _MEDIAN}
_STAT.update({r: _MEAN for r in REGIONS if r not in _STAT})
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


def _finite_counts(cfg: FrameConfig) -> bool:
    """Whether every 16-bit count maps to a finite °C value (finite scale and offset, no float32 overflow)."""
    a = cfg.radiometric_offset + 0.0 * cfg.radiometric_scale
    b = cfg.radiometric_offset + 65535.0 * cfg.radiometric_scale
    return math.isfinite(a) and math.isfinite(b) and max(abs(a), abs(b)) < 1e37


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
    downward unit vector times the inter-ocular distance. ``down`` is linear in the landmarks, so the
    vertices, the eye centres, the nose tip and a finiteness probe of the core landmarks are one
    matrix-vector product on the flattened landmarks (built once per scheme), plus the disc term: a face
    costs a handful of numpy calls, not dozens. Reading a face draws every region once into one label
    image over the face's bounding window only and scans each region's own box of it (per face: 7 fills,
    about 4 small array operations per region, no per-call slicing of the polygons).
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
        # each region's vertices are one contiguous run (added region by region): one reduceat boxes them all
        assert all(a.stop == b.start for sls in self._slices.values() for a, b in zip(sls, sls[1:])), \
            "a region's polygons must be added one after another (read() boxes each region by one run)"
        A, c = np.stack(rows), np.asarray(downs)
        nv = len(A)
        # Flattened landmarks q = (x0, y0, x1, y1, ...). With u = eye_l - eye_r, ex = (u.x, u.y) and
        # down = (-ex.y, ex.x), so vertex k is (A_k x - c_k u y, A_k y + c_k u x) + IOD * disc_k.
        u = eye_l - eye_r
        core = np.zeros(n)
        core[[own[i] for i in range(17, 48)]] = 1.0  # a NaN/inf core landmark makes this row non-finite
        m = np.zeros((2 * nv + 7, 2 * n))
        m[0:2 * nv:2, 0::2], m[0:2 * nv:2, 1::2] = A, -c[:, None] * u
        m[1:2 * nv:2, 0::2], m[1:2 * nv:2, 1::2] = c[:, None] * u, A
        for j, row in enumerate((eye_r, eye_l, onehot(30))):  # eye centres and nose tip: (x, y) rows
            m[2 * nv + 2 * j, 0::2] = m[2 * nv + 2 * j + 1, 1::2] = row
        m[2 * nv + 6, 0::2] = m[2 * nv + 6, 1::2] = core
        self._m, self._nv = m, nv
        self._disc = np.stack(discs)
        # Scratch for read(): the vertices in 1/16 px, with every polygon and every region's vertex run a view
        # of it made once here (slicing per face costs more than the drawing). It makes read() non-reentrant:
        # one Thermometer per thread, and read() takes the geometry of this Thermometer only.
        # _draw: (label, polygons) in draw order; _plan: per region (region, label, vertex run, statistic,
        # visibility limits).
        self._fbuf = np.zeros((nv, 2))
        self._fixed = fixed = np.zeros((nv, 2), np.int32)
        self._origin = np.zeros(2, np.int32)
        self._draw = [(k, [fixed[sl] for sl in self._slices[r]]) for k, r in enumerate(_DRAW_ORDER, 1)
                      if r in self._slices]
        self._plan = [(r, _LABEL[r], fixed[self._slices[r][0].start:self._slices[r][-1].stop], _STAT[r],
                       VISIBLE_LIMITS[r]) for r in REGIONS if r in self._slices]
        self._absent = [r for r in REGIONS if r not in self._slices]

    # ------------------------------------------------------------------ geometry
    def geometry(self, landmarks: np.ndarray, pose: Optional[HeadPose]) -> Optional[FaceGeometry]:
        """Region polygons for one face; None when the scheme or the landmarks cannot place them."""
        if not self.usable:
            return None
        q = np.asarray(landmarks, np.float64).reshape(-1)
        out = self._m @ q
        if not np.isfinite(out).all():  # a core landmark, or one a polygon uses, is NaN/inf
            return None
        nv2 = 2 * self._nv
        erx, ery, elx, ely, nx, ny, _ = out[nv2:].tolist()
        ex, ey = elx - erx, ely - ery  # image-left to image-right eye centre
        iod = math.hypot(ex, ey)
        if iod < 2.0:
            return None
        verts = out[:nv2].reshape(self._nv, 2)
        verts += self._disc * iod
        if pose is not None:
            yaw, pitch = float(pose.yaw_pitch_roll_deg[0]), float(pose.yaw_pitch_roll_deg[1])
        else:  # the nose tip's offset from the eyes' midpoint along the eye line, as a rough yaw
            off = ((nx - 0.5 * (erx + elx)) * ex + (ny - 0.5 * (ery + ely)) * ey) / (iod * iod)
            yaw, pitch = math.degrees(math.asin(min(max(2.0 * off, -1.0), 1.0))), float("nan")
        return FaceGeometry(verts, self._slices, out[nv2 + 4:nv2 + 6], iod, yaw, pitch)

    # ------------------------------------------------------------------ readings
    def read(self, data: np.ndarray, radiometric: bool, geo: Optional[FaceGeometry],
             saturation: Optional[Tuple[float, float]] = None, finite: bool = False) -> FaceThermal:
        """Readings of every region (NaN with the reason where there is none).

        ``finite``: the caller knows every value of ``data`` is finite (16-bit counts scaled to °C), so
        the window's NaN/inf scan is skipped; the readings are the same either way.
        """
        nan = float("nan")
        if not radiometric:
            return FaceThermal({r: RegionReading(nan, RegionQuality.NOT_RADIOMETRIC) for r in REGIONS}, False)
        if geo is None:
            return FaceThermal({r: RegionReading(nan, RegionQuality.NOT_VISIBLE) for r in REGIONS}, True)
        h, w = data.shape
        # vertices in 1/16 px; the face window: their box, 1 px wider before and 2 px after, clipped to the frame
        buf, fixed = self._fbuf, self._fixed
        np.multiply(geo.vertices, _SCALE, out=buf)
        buf += 0.5
        np.floor(buf, out=buf)
        fixed[...] = buf  # integral already: the cast is exact
        fx, fy, fw, fh = cv2.boundingRect(fixed)
        x0, y0 = min(max((fx >> _SHIFT) - 1, 0), w), min(max((fy >> _SHIFT) - 1, 0), h)
        x1, y1 = max(min(((fx + fw - 1) >> _SHIFT) + 2, w), x0), max(min(((fy + fh - 1) >> _SHIFT) + 2, h), y0)
        label = np.zeros((y1 - y0, x1 - x0), np.uint8)
        window = data[y0:y1, x0:x1]
        n_face = 0
        if label.size:
            org = self._origin
            org[0], org[1] = x0 << _SHIFT, y0 << _SHIFT
            fixed -= org  # exact: the window's integer origin
            for k, polys in self._draw:
                cv2.fillPoly(label, polys, k, lineType=cv2.LINE_8, shift=_SHIFT)
            n_face = cv2.countNonZero(label)  # every labelled pixel: the face hull
        lo, hi = saturation if saturation is not None else (-math.inf, math.inf)
        vmax, bad = nan, None
        if n_face:
            vmin, vmax = cv2.minMaxLoc(window, label)[:2]
            ok = finite or math.isfinite(cv2.sumElems(window)[0])  # NaN/inf anywhere in the window make the sum so
            if not (ok and lo < vmin and vmax < hi):
                bad = ~((window > lo) & (window < hi)) & (label > 0)  # NaN compares False: bad
        yaw, pitch = abs(geo.yaw_deg), geo.pitch_deg
        need = max(self.min_pixels, 1)
        readings: Dict[Region, RegionReading] = {r: RegionReading(nan, RegionQuality.NOT_VISIBLE)
                                                 for r in self._absent}
        for region, k, pts, stat, (max_yaw, p_lo, p_hi) in self._plan:
            if yaw > max_yaw or pitch < p_lo or pitch > p_hi:  # NaN pitch (no pose): no pitch limit
                readings[region] = RegionReading(nan, RegionQuality.NOT_VISIBLE)
                continue
            if stat == _MAX:
                n = n_face
                if n < need:
                    readings[region] = RegionReading(nan, RegionQuality.TOO_FEW_PIXELS, n)
                elif bad is not None and bad.any():
                    readings[region] = RegionReading(nan, RegionQuality.SATURATED, n)
                else:
                    readings[region] = RegionReading(float(vmax), RegionQuality.OK, n)
                continue
            # only the region's own box (its vertices' box, 1 px wider) is scanned: a large face costs
            # little more than a small one
            bx, by, bw, bh = cv2.boundingRect(pts)
            bx0, by0 = max((bx >> _SHIFT) - 1, 0), max((by >> _SHIFT) - 1, 0)
            bx1, by1 = max(((bx + bw - 1) >> _SHIFT) + 2, 0), max(((by + bh - 1) >> _SHIFT) + 2, 0)
            sel = label[by0:by1, bx0:bx1] == k
            if stat == _MEAN:
                n = int(np.count_nonzero(sel))
            else:
                vals = window[by0:by1, bx0:bx1][sel]
                n = vals.size
            if n < need:
                readings[region] = RegionReading(nan, RegionQuality.TOO_FEW_PIXELS, n)
                continue
            if bad is not None and bad[by0:by1, bx0:bx1][sel].any():
                readings[region] = RegionReading(nan, RegionQuality.SATURATED, n)
                continue
            if stat == _MEAN:
                t = cv2.mean(window[by0:by1, bx0:bx1], sel.view(np.uint8))[0]
            elif stat == _HOTTEST:
                m = min(CANTHUS_HOTTEST, n)
                t = sum(np.partition(vals, n - m)[n - m:].tolist()) / m  # float64 sum, as numpy's mean
            else:  # median (upper for even n; np.median is slow)
                t = float(np.partition(vals, n // 2)[n // 2])
            readings[region] = RegionReading(t, RegionQuality.OK, n)
        return FaceThermal(readings, True)


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
        finite = sat is not None and _finite_counts(self.frame_cfg)  # 16-bit counts: no NaN/inf to look for
        for f in faces:
            geo = self.thermometer.geometry(f.landmarks, f.pose) if radiometric else None
            f.thermal = self.thermometer.read(frame.data, radiometric, geo, sat, finite)
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
