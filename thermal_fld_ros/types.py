"""Plain result types shared by the pipeline, the nodes, the CLI and the tests."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum, IntFlag
from typing import Dict, List, Optional, Tuple

import numpy as np


class Reason(str, Enum):
    """Why a frame was refused or needs a note; the value is the ``/diagnostics`` and CLI summary key."""

    # refusals: the frame is not processed
    ENCODING = "encoding"  # not an encoding the package reads
    EMPTY = "empty"  # zero width or height
    LAYOUT = "layout"  # step, data length, shape or dtype disagree with the encoding
    TOO_LARGE = "too_large"  # above max_pixels or a side above OpenCV's limit
    NONFINITE = "nonfinite"  # no finite pixel at all
    TEMPERATURE_RANGE = "temperature_range"  # implausible temperatures: wrong unit or radiometric scale
    PALETTE = "palette"  # a colour frame that cannot be mapped back to a scalar
    UNREADABLE = "unreadable"  # a file that cannot be read or decoded (CLI, player)
    OUT_OF_ORDER = "out_of_order"  # stamp not after the previous frame's (dropped)
    STALE = "stale"  # older than max_frame_age_s (dropped, node)
    INTERNAL = "internal"  # a bug: an exception inside the pipeline
    # notes: the frame is processed
    CONSTANT = "constant"  # no contrast at all: no face can be found
    PARTIAL_NONFINITE = "some_nonfinite"  # some NaN/inf pixels, treated as coldest
    TIME_JUMP = "time_jump"  # stamp jumped back: a new stream, tracks reset
    DETECTOR_FAILED = "detector_failed"  # the face detector raised on this frame
    INTRINSICS_APPROXIMATED = "intrinsics_approximated"  # no (usable) camera_info: K from the image size
    CAMERA_INFO = "camera_info"  # camera_info scaled or ignored


REFUSALS = frozenset({Reason.ENCODING, Reason.EMPTY, Reason.LAYOUT, Reason.TOO_LARGE, Reason.NONFINITE,
                      Reason.TEMPERATURE_RANGE, Reason.PALETTE, Reason.UNREADABLE, Reason.OUT_OF_ORDER,
                      Reason.STALE, Reason.INTERNAL})
# counted as bad frames (diagnostics ``bad_<reason>``): refusals other than drops, and frames with no content
BAD_FRAME_REASONS = (REFUSALS - {Reason.OUT_OF_ORDER, Reason.STALE}) | {Reason.CONSTANT}


@dataclass(frozen=True)
class Issue:
    """One problem with one frame: a typed reason and the line to log."""

    reason: Reason
    message: str

    @property
    def refused(self) -> bool:
        return self.reason in REFUSALS


class FrameStatus(str, Enum):
    FACES = "faces"  # processed, at least one face
    NO_FACE = "no_face"  # processed, no face
    REFUSED = "refused"  # not processed (see the issues)


@dataclass
class HeadPose:
    """Head frame in the camera optical frame.

    Head axes follow REP-103 body conventions as REP-155 uses them for faces: x out of the face
    (towards the camera for a frontal face), y to the subject's left, z up.
    ``yaw_pitch_roll_deg``: yaw > 0 when the subject turns to their left, pitch > 0 looking down,
    roll > 0 tilting the head towards their right shoulder... see pose.py for the exact definition.
    """

    rotation: np.ndarray  # (3, 3): columns are the head axes expressed in the optical frame
    translation: np.ndarray  # (3,) metres, head origin (between the eyes) in the optical frame
    yaw_pitch_roll_deg: Tuple[float, float, float]
    reprojection_error_px: float = float("nan")


class Region(str, Enum):
    """Facial regions read by thermal_fld_ros.thermometry, in wire order (face table, CSV)."""

    CANTHI = "canthi"  # hottest pixels near the inner eye corners (fever-screening site)
    FOREHEAD = "forehead"  # band above the brows (median)
    NOSE_TIP = "nose_tip"
    NOSTRILS = "nostrils"  # band along the nose base: the breathing signal
    PERIORBITAL = "periorbital"  # around both eyes
    MOUTH = "mouth"
    FACE_MAX = "face_max"  # warmest pixel inside the landmark hull


REGIONS: Tuple[Region, ...] = tuple(Region)


class RegionQuality(IntFlag):
    """Why a region has no reading (bits; OK = 0 means the temperature is valid)."""

    OK = 0
    NOT_RADIOMETRIC = 1  # 8-bit AGC, palette or non-radiometric 16-bit input: never estimated
    NOT_VISIBLE = 2  # turned away at this head pose, or its landmarks are missing
    TOO_FEW_PIXELS = 4  # too few pixels of the region lie on the frame
    SATURATED = 8  # pixels at the sensor's count limits, or NaN/inf


@dataclass
class RegionReading:
    temperature_c: float  # apparent temperature (°C); NaN unless quality is OK
    quality: RegionQuality
    pixels: int = 0  # pixels the reading was taken from

    @property
    def ok(self) -> bool:
        return self.quality == RegionQuality.OK


@dataclass
class FaceThermal:
    """Region temperatures of one face (``radiometric`` False: every reading is NOT_RADIOMETRIC)."""

    readings: Dict[Region, RegionReading]
    radiometric: bool


class BreathingState(IntEnum):
    """Why a breathing rate is (not) reported; the rate is valid only for OK."""

    OK = 0
    UNAVAILABLE = 1  # non-radiometric input or thermometry off
    WARMING_UP = 2  # collecting the window after a (re)start
    NOT_VISIBLE = 3  # nostril region not readable at this pose
    MOVING = 4  # the head moved: window restarted
    LOW_CONFIDENCE = 5  # no clear breathing peak in 6-50 breaths/min


class BreathingSource(IntEnum):
    NONE = 0
    NOSTRILS = 1
    MOUTH = 2  # fallback when the nostril signal has no clear peak (mouth breathing)


@dataclass
class Breathing:
    rate_bpm: float  # breaths per minute; NaN unless state is OK
    confidence: float  # share of the 6-50 /min band's power in the peak, [0, 1]
    state: BreathingState
    source: BreathingSource = BreathingSource.NONE
    window_s: float = 0.0  # seconds of signal behind the estimate


@dataclass
class Face:
    track_id: int
    box: np.ndarray  # [x0, y0, x1, y1] image pixels
    landmarks: np.ndarray  # (N, 2) image pixels (u, v)
    scores: np.ndarray  # (N,) per-point confidence in [0, 1]
    score: float  # face confidence in [0, 1]
    pose: Optional[HeadPose] = None
    age_frames: int = 0  # frames since this track started
    thermal: Optional[FaceThermal] = None  # region temperatures (None: thermometry off)
    breathing: Optional[Breathing] = None  # per-track breathing rate (None: thermometry off)


@dataclass
class FrameResult:
    faces: List[Face]
    width: int
    height: int
    detector_ran: bool = False
    detection_deferred: bool = False  # the periodic detector run waits for Pipeline.run_deferred_detection
    timings_ms: Dict[str, float] = field(default_factory=dict)
    issues: List[Issue] = field(default_factory=list)

    @property
    def status(self) -> FrameStatus:
        if any(i.refused for i in self.issues):
            return FrameStatus.REFUSED
        return FrameStatus.FACES if self.faces else FrameStatus.NO_FACE

    @property
    def warnings(self) -> List[str]:
        """The issues' lines (for logs and the CLI's JSON); use ``issues`` to act on them."""
        return [i.message for i in self.issues]

    @property
    def primary(self) -> Optional[Face]:
        """The face a single-face consumer should use: the largest confident one."""
        if not self.faces:
            return None
        return max(self.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) * f.score)
