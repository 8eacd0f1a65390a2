"""Synthetic breathing sequences: one rendered face whose nostril region warms and cools at a known rate.

A test fixture for the runtime's thermometry and breathing rate (thermal_fld_ros/thermometry.py): the
generator's frame (render_sample, scenes mode, one face) is held still, and on each frame a breathing
term ``amplitude_c * sin(2 pi rate t)`` is added under the nose (an elliptic Gaussian at the nostrils,
placed from the true landmarks: sigma 0.18 x 0.09 inter-ocular distances, the size of
the generator's own breath term in thermal.py), plus fresh sensor noise
(``noise_c`` per pixel), then the frame is quantised to 16-bit radiometric counts (0.01 K/count).

The truth of every frame travels with it: the breathing rate, and each region's temperature read with
the runtime's own region definitions at the true landmarks on the noise-free frame (what a perfect
landmark model would read), so a test measures what the landmarks and the noise cost.
``turn_away_at_s`` re-renders the same head (same seed and index) at ``turned_yaw_deg`` from that time on.

``ict_breathing_sequence`` gives the same frames from an ICT-FaceKit sequence (training/data/synth/ict/scene.py):
a real-scan head held still, breathing at the generator's own rate (warm exhaled air at the nostril rims,
cool inhaled air), with blinks, talking and the full sensor model; its region truth is read with the
runtime's regions at the true landmarks on the very frame the pipeline sees, so the error is what the
landmarks cost.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional

import numpy as np

from training.data.synth.render import SynthOptions, render_sample
from training.data.synth.sensor import COUNTS_OFFSET, COUNTS_SCALE


@dataclass
class BreathingFrame:
    counts: np.ndarray  # (H, W) uint16 radiometric counts
    stamp_s: float
    rate_bpm: float  # true breathing rate
    turned: bool  # the face is turned away (no rate may be reported)
    landmarks: np.ndarray  # (70, 2) true landmarks
    regions_c: Dict[str, float] = field(default_factory=dict)  # true region temperatures (runtime's regions)


@dataclass
class BreathingScene:
    temperature: np.ndarray  # (H, W) noise-bearing sensor frame of the generator, deg C
    landmarks: np.ndarray  # (70, 2)
    yaw_deg: float


def find_scene(seed: int, ypr=(0.0, 0.0, 0.0), min_face_px: float = 45.0, start: int = 0,
               tries: int = 400) -> int:
    """Index of the first scenes-mode sample of ``seed`` with one whole face at least ``min_face_px`` wide."""
    opts = SynthOptions(mode="scenes", max_faces=1, glasses_prob=0.0, expressions=False)
    for index in range(start, start + tries):
        s = render_sample(index, seed, opts, ypr=ypr)
        faces = s.annotation["faces"]
        if len(faces) != 1:
            continue
        if whole_face_in_frame(np.asarray(faces[0]["landmarks"], np.float64), s.annotation, min_face_px):
            return index
    raise RuntimeError(f"no scene with one whole face >= {min_face_px} px in {tries} samples of seed {seed}")


def render_scene(index: int, seed: int, ypr=(0.0, 0.0, 0.0)) -> BreathingScene:
    opts = SynthOptions(mode="scenes", max_faces=1, glasses_prob=0.0, expressions=False)
    s = render_sample(index, seed, opts, ypr=ypr)
    f = s.annotation["faces"][0]
    return BreathingScene(s.temperature.astype(np.float32), np.asarray(f["landmarks"], np.float64), float(ypr[0]))


def nostril_blob(shape, landmarks: np.ndarray) -> np.ndarray:
    """Unit-peak elliptic Gaussian at the nostrils (between the nose tip 30 and the nose base 31-35)."""
    p = landmarks
    iod = float(np.linalg.norm(p[36:42].mean(0) - p[42:48].mean(0)))
    ex = (p[42:48].mean(0) - p[36:42].mean(0)) / iod
    ey = np.array([-ex[1], ex[0]])
    centre = 0.75 * p[31:36].mean(0) + 0.25 * p[30]
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    d = np.stack([xx - centre[0], yy - centre[1]], -1)
    a, b = d @ ex, d @ ey
    return np.exp(-0.5 * ((a / (0.18 * iod)) ** 2 + (b / (0.09 * iod)) ** 2)).astype(np.float32)


def to_counts(temp_c: np.ndarray) -> np.ndarray:
    return np.clip(np.round((temp_c - COUNTS_OFFSET) / COUNTS_SCALE), 0, 65535).astype(np.uint16)


def breathing_sequence(seed: int, fps: float, duration_s: float, rate_bpm: float, amplitude_c: float = 0.5,
                       noise_c: float = 0.05, turn_away_at_s: Optional[float] = None,
                       turned_yaw_deg: float = 80.0, index: Optional[int] = None,
                       truth_regions: bool = True) -> Iterator[BreathingFrame]:
    """Frames of one still face breathing at ``rate_bpm`` (see the module docstring)."""
    from thermal_fld_ros.schemes import get_scheme
    from thermal_fld_ros.thermometry import Thermometer

    index = find_scene(seed) if index is None else index
    front = render_scene(index, seed)
    turned = render_scene(index, seed, (turned_yaw_deg, 0.0, 0.0)) if turn_away_at_s is not None else None
    blobs = {id(front): nostril_blob(front.temperature.shape, front.landmarks)}
    if turned is not None:
        blobs[id(turned)] = nostril_blob(turned.temperature.shape, turned.landmarks)
    thermometer = Thermometer(get_scheme("ibug70"))
    rng = np.random.default_rng([int(seed), 7])
    n = int(round(duration_s * fps))
    phase = float(rng.uniform(0, 2 * np.pi))
    for i in range(n):
        t = i / fps
        away = turned is not None and t >= turn_away_at_s
        scene = turned if away else front
        clean = scene.temperature + np.float32(amplitude_c * np.sin(2 * np.pi * rate_bpm / 60.0 * t + phase)) \
            * blobs[id(scene)]
        noisy = clean + rng.normal(0, noise_c, clean.shape).astype(np.float32)
        regions = true_regions(thermometer, clean, scene.landmarks) if truth_regions else {}
        yield BreathingFrame(to_counts(noisy), t, float(rate_bpm), bool(away), scene.landmarks, regions)


def true_regions(thermometer, temperature: np.ndarray, landmarks: np.ndarray) -> Dict[str, float]:
    """Each region's reading with the runtime's own regions at the true landmarks (what a perfect landmark
    model would read from ``temperature``)."""
    geo = thermometer.geometry(landmarks, None)
    if geo is None:
        return {}
    return {region.value: reading.temperature_c for region, reading in
            thermometer.read(temperature, True, geo).readings.items()}


def frames_list(*args, **kwargs) -> List[BreathingFrame]:
    return list(breathing_sequence(*args, **kwargs))


def ict_sequence_options(face_model: str) -> SynthOptions:
    """One still person, no glasses: the breathing checks' ICT scenes."""
    return SynthOptions(face_model=face_model, mode="sequences", max_faces=1, glasses_prob=0.0)


def find_ict_scene(face_model: str, seed: int, min_face_px: float = 45.0, start: int = 0, tries: int = 200) -> int:
    """Index of the first ICT sequence of ``seed`` with one whole frontal face at least ``min_face_px`` wide."""
    from training.data.synth.ict.scene import render_sequence

    opts = ict_sequence_options(face_model)
    for index in range(start, start + tries):
        s = render_sequence(index, seed, opts, 1, ypr=(0.0, 0.0, 0.0))[0]
        faces = s.annotation["faces"]
        if len(faces) == 1 and whole_face_in_frame(np.asarray(faces[0]["landmarks"], np.float64), s.annotation,
                                                   min_face_px):
            return index
    raise RuntimeError(f"no ICT sequence with one whole face >= {min_face_px} px in {tries} of seed {seed}")


def whole_face_in_frame(pts: np.ndarray, ann: Dict, min_face_px: float) -> bool:
    """The face is at least ``min_face_px`` wide and 0.3 face widths clear of every frame edge."""
    width = pts[:68, 0].max() - pts[:68, 0].min()
    margin = 0.3 * width
    return bool(width >= min_face_px and pts[:, 0].min() > margin and pts[:, 0].max() < ann["width"] - margin
                and pts[:, 1].min() > margin and pts[:, 1].max() < ann["height"] - margin)


def ict_breathing_sequence(face_model: str, seed: int, fps: float, duration_s: float, index: Optional[int] = None,
                           turn_away_at_s: Optional[float] = None, turned_yaw_deg: float = 80.0,
                           truth_regions: bool = True) -> Iterator[BreathingFrame]:
    """Frames of one still ICT head breathing at the generator's rate (see the module docstring)."""
    from thermal_fld_ros.schemes import get_scheme
    from thermal_fld_ros.thermometry import Thermometer
    from training.data.synth.ict.scene import render_sequence

    opts = ict_sequence_options(face_model)
    index = find_ict_scene(face_model, seed) if index is None else index
    n = int(round(duration_s * fps))
    turn = n if turn_away_at_s is None else min(n, int(np.ceil(turn_away_at_s * fps)))
    samples = render_sequence(index, seed, opts, turn, ypr=(0.0, 0.0, 0.0), fps=fps)
    if turn < n:
        samples += render_sequence(index, seed, opts, n, ypr=(turned_yaw_deg, 0.0, 0.0), fps=fps, first_frame=turn)
    thermometer = Thermometer(get_scheme("ibug70"))
    for i, s in enumerate(samples):
        a = s.annotation
        if not a["faces"]:
            raise RuntimeError(f"ICT sequence {seed}:{index} lost its face at frame {i}")
        f = a["faces"][0]
        pts = np.asarray(f["landmarks"], np.float64)
        regions = true_regions(thermometer, s.temperature, pts) if truth_regions else {}
        yield BreathingFrame(s.thermal_counts, float(a["time_s"]), float(f["breathing_rate_bpm"]), i >= turn, pts,
                             regions)
