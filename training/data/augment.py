"""Training augmentation: crop jitter, flip, and thermal-specific photometric jitter.

Geometry is not done here: a jittered crop is the runtime's own ``thermal_fld_ros.crop.crop_matrix``
with a perturbed scale, angle and shift, so training frames faces exactly as the runtime does. This
module draws those perturbations and applies the photometric ones:

- radiometric frames: the fixed temperature window moves and widens/narrows (camera offset drift,
  different ambient), applied *before* ``normalise`` so clipping behaves as at run time;
- intensity frames: the robust percentile window moves (AGC picks different limits per scene);
- on the crop: optical blur, NETD noise (temperature noise of the sensor, in degrees C), then AGC-like
  re-quantisation to a random number of grey levels (8-bit AGC output of cheap cores);
- RGB: colour jitter from albumentations, plus the same blur/noise as the thermal crop when
  ``pair_mode="identical"`` (same draws) or independent draws when ``"independent"``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Tuple

import albumentations as A
import cv2
import numpy as np

from thermal_fld_ros.normalise import KIND_TEMPERATURE, NormaliseConfig


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation strengths; every range is sampled uniformly. Zero (or prob 0) switches a part off."""

    # geometry (crop jitter around the landmark box)
    scale_jitter: float = 0.15  # crop side multiplied by U(1 - s, 1 + s)
    rotation_deg: float = 25.0  # crop rotated by U(-r, r) degrees
    shift: float = 0.08  # crop centre moved by U(-t, t) x crop side, per axis
    flip_prob: float = 0.5  # horizontal flip with the scheme's left/right permutation
    # thermal window (before normalisation)
    window_shift_c: float = 3.0  # radiometric: temperature window moved by U(-a, a) degrees C
    window_gain: float = 0.25  # radiometric: window width multiplied by U(1 - g, 1 + g)
    percentile_jitter: Tuple[float, float] = (1.0, 0.5)  # intensity: low/high percentile moved by U(-a, a)
    # thermal sensor effects (on the crop)
    blur_prob: float = 0.3
    blur_sigma: Tuple[float, float] = (0.3, 1.2)  # Gaussian optical blur, crop pixels
    noise_prob: float = 0.5
    netd_c: Tuple[float, float] = (0.02, 0.12)  # NETD noise std, degrees C (intensity: vs a 20 C window)
    quantise_prob: float = 0.3
    quantise_levels: Tuple[int, int] = (24, 256)  # AGC-like re-quantisation to N grey levels
    # RGB
    rgb_colour: float = 0.3  # brightness / contrast / saturation strength (albumentations ColorJitter)
    rgb_hue: float = 0.05
    rgb_colour_prob: float = 0.8
    pair_mode: str = "independent"  # "identical": RGB gets the thermal crop's blur and noise draws
    # occluders (hands, cups, hair, microphones): a random rectangle of flat or noisy fill on the crop
    occlude_prob: float = 0.0
    occlude_size: Tuple[float, float] = (0.15, 0.4)  # rectangle side, fraction of the crop side
    # faces whose publisher masked the background to 0 (PUJ): that background becomes smooth clutter
    masked_background_prob: float = 0.0

    def __post_init__(self):
        if self.pair_mode not in ("identical", "independent"):
            raise ValueError(f"pair_mode must be 'identical' or 'independent', got {self.pair_mode!r}")


NO_AUGMENT = AugmentConfig(scale_jitter=0.0, rotation_deg=0.0, shift=0.0, flip_prob=0.0, window_shift_c=0.0,
                           window_gain=0.0, percentile_jitter=(0.0, 0.0), blur_prob=0.0, noise_prob=0.0,
                           quantise_prob=0.0, rgb_colour_prob=0.0)


@dataclass(frozen=True)
class Geometry:
    """One draw of crop jitter: multiply the crop scale, rotate (deg, CCW on screen), shift, flip."""

    scale: float = 1.0
    angle_deg: float = 0.0
    shift: Tuple[float, float] = (0.0, 0.0)
    flip: bool = False


@dataclass(frozen=True)
class SensorDraw:
    """One draw of sensor effects, shareable between the thermal and the RGB crop."""

    blur_sigma: float = 0.0
    noise_std: float = 0.0  # in normalised [0, 1] units
    noise_seed: int = 0
    levels: int = 0  # 0: no re-quantisation


def sample_geometry(cfg: AugmentConfig, rng: np.random.Generator) -> Geometry:
    s, r, t = cfg.scale_jitter, cfg.rotation_deg, cfg.shift
    return Geometry(
        scale=float(rng.uniform(1 - s, 1 + s)) if s > 0 else 1.0,
        angle_deg=float(rng.uniform(-r, r)) if r > 0 else 0.0,
        shift=(float(rng.uniform(-t, t)), float(rng.uniform(-t, t))) if t > 0 else (0.0, 0.0),
        flip=bool(rng.random() < cfg.flip_prob),
    )


def jitter_window(kind: str, cfg: AugmentConfig, rng: np.random.Generator,
                  base: NormaliseConfig = NormaliseConfig()) -> NormaliseConfig:
    """A perturbed normalisation config: temperature window for radiometric frames, percentiles otherwise."""
    if kind == KIND_TEMPERATURE:
        lo, hi = base.temperature_window_c
        centre = 0.5 * (lo + hi) + (rng.uniform(-cfg.window_shift_c, cfg.window_shift_c)
                                    if cfg.window_shift_c > 0 else 0.0)
        half = 0.5 * (hi - lo) * (rng.uniform(1 - cfg.window_gain, 1 + cfg.window_gain)
                                  if cfg.window_gain > 0 else 1.0)
        return replace(base, temperature_window_c=(float(centre - half), float(centre + half)))
    a_lo, a_hi = cfg.percentile_jitter
    p_lo, p_hi = base.percentiles
    p_lo = float(np.clip(p_lo + (rng.uniform(-a_lo, a_lo) if a_lo > 0 else 0.0), 0.0, 20.0))
    p_hi = float(np.clip(p_hi + (rng.uniform(-a_hi, a_hi) if a_hi > 0 else 0.0), 80.0, 100.0))
    return replace(base, percentiles=(p_lo, p_hi))


def sample_sensor(cfg: AugmentConfig, rng: np.random.Generator, kind: str,
                  window: NormaliseConfig = NormaliseConfig()) -> SensorDraw:
    """Blur / NETD noise / AGC quantisation draws; NETD in C becomes normalised units via the window."""
    blur = float(rng.uniform(*cfg.blur_sigma)) if rng.random() < cfg.blur_prob else 0.0
    noise = 0.0
    if rng.random() < cfg.noise_prob:
        span = (window.temperature_window_c[1] - window.temperature_window_c[0]
                if kind == KIND_TEMPERATURE else 20.0)
        noise = float(rng.uniform(*cfg.netd_c)) / max(span, 1e-3)
    levels = int(rng.integers(cfg.quantise_levels[0], cfg.quantise_levels[1] + 1)) \
        if rng.random() < cfg.quantise_prob else 0
    return SensorDraw(blur, noise, int(rng.integers(0, 2**31 - 1)), levels)


def apply_sensor(img: np.ndarray, draw: SensorDraw, quantise: bool = True) -> np.ndarray:
    """Optics blur, then sensor noise, then AGC quantisation, on a float [0, 1] crop (H, W[, C])."""
    out = img
    if draw.blur_sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), draw.blur_sigma, borderType=cv2.BORDER_REPLICATE)
    if draw.noise_std > 0:
        noise = np.random.default_rng(draw.noise_seed).standard_normal(out.shape[:2], dtype=np.float32)
        out = out + (noise * np.float32(draw.noise_std) if out.ndim == 2
                     else noise[..., None] * np.float32(draw.noise_std))
    if quantise and draw.levels > 1:
        q = np.float32(draw.levels - 1)
        out = np.round(np.clip(out, 0.0, 1.0) * q) / q
    if out is img:
        return img
    return np.clip(out, 0.0, 1.0, out=out.astype(np.float32, copy=False))


def occlude(img: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Paste one occluding rectangle (prob ``occlude_prob``); the landmarks under it keep their targets,
    so the model learns to place hidden points from the visible face, as 300-W labels require."""
    if cfg.occlude_prob <= 0 or rng.random() >= cfg.occlude_prob:
        return img
    h, w = img.shape[:2]
    rw = max(1, int(w * rng.uniform(*cfg.occlude_size)))
    rh = max(1, int(h * rng.uniform(*cfg.occlude_size)))
    x0, y0 = int(rng.integers(0, max(1, w - rw + 1))), int(rng.integers(0, max(1, h - rh + 1)))
    out = img.copy()
    shape = (rh, rw) + img.shape[2:]
    fill = rng.uniform(0.0, 1.0, img.shape[2:] or (1,)).astype(np.float32)
    patch = np.broadcast_to(fill, shape) + rng.normal(0.0, rng.uniform(0.0, 0.1), shape).astype(np.float32)
    out[y0:y0 + rh, x0:x0 + rw] = np.clip(patch.reshape(shape), 0.0, 1.0)
    return out


def fill_background(crop: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace the masked pixels of a [0, 1] crop by a smooth random field (walls, bodies, clutter) with
    a blurred seam, so that a face cut out by its publisher looks like a face in a scene again."""
    h, w = crop.shape[:2]
    cells = int(rng.integers(2, 7))
    coarse = rng.uniform(0.0, 1.0, (cells, cells)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    lo, hi = sorted(rng.uniform(0.0, 0.9, 2))
    field = np.float32(lo) + np.clip(field, 0, 1) * np.float32(max(hi - lo, 0.05))
    field += rng.normal(0.0, 0.02, (h, w)).astype(np.float32)
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.0)
    return np.clip(crop * (1 - alpha) + field * alpha, 0.0, 1.0).astype(np.float32)


class RGBColour:
    """Colour jitter for the RGB crop (albumentations), built once per dataset."""

    def __init__(self, cfg: AugmentConfig):
        self.enabled = cfg.rgb_colour_prob > 0 and (cfg.rgb_colour > 0 or cfg.rgb_hue > 0)
        self._t = A.Compose([A.ColorJitter(brightness=cfg.rgb_colour, contrast=cfg.rgb_colour,
                                           saturation=cfg.rgb_colour, hue=cfg.rgb_hue, p=cfg.rgb_colour_prob)],
                            ) if self.enabled else None

    def __call__(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not self.enabled:
            return rgb
        self._t.set_random_seed(int(rng.integers(0, 2**31 - 1)))
        return self._t(image=rgb)["image"]


def flip_crop_matrix(matrix: np.ndarray, width: int) -> np.ndarray:
    """Compose a crop matrix with a mirror about the crop's vertical centre line (x -> width - x)."""
    f = np.array([[-1.0, 0.0, float(width)], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return (f @ np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]


def adjust_pose(pose_ypr: Optional[np.ndarray], geo: Geometry) -> np.ndarray:
    """Head pose seen in the augmented crop.

    Convention (``training.data.synth.camera``): yaw > 0 moves the nose to the image right, roll > 0
    tilts the top of the head to the image left (counter-clockwise on screen). A crop rotated by
    ``angle_deg`` (content counter-clockwise on screen) adds that angle to roll; a mirror negates yaw
    and roll; pitch is unchanged.
    """
    if pose_ypr is None:
        return np.full(3, np.nan, np.float32)
    y, p, r = (float(v) for v in pose_ypr)
    r = r + geo.angle_deg
    if geo.flip:
        y, r = -y, -r
    r = (r + 180.0) % 360.0 - 180.0
    return np.array([y, p, r], np.float32)
