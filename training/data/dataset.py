"""The training Dataset: records -> jittered face crops (thermal + paired RGB) and SimCC targets.

Every step uses the runtime's own functions (``normalise`` on the full frame, ``crop_matrix`` +
``warp``, ``SimCCCodec.encode``), so a model is trained on exactly the framing and value range it will
see in the node. Unknown points (NaN in a record, or absent from the record's scheme) come out as
(0, 0) with ``visible`` 0 and ``target_weight`` 0; points outside the crop keep ``visible`` but get
``target_weight`` 0.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from thermal_fld_ros.codec import SimCCCodec
from thermal_fld_ros.crop import CROP_SCALE, crop_matrix, landmarks_box, transform_points, warp
from thermal_fld_ros.normalise import NormaliseConfig, normalise
from thermal_fld_ros.schemes import LandmarkScheme, get_scheme, map_points

from .augment import (
    AugmentConfig,
    Geometry,
    RGBColour,
    SensorDraw,
    adjust_pose,
    apply_sensor,
    fill_background,
    flip_crop_matrix,
    jitter_window,
    occlude,
    sample_geometry,
    sample_sensor,
)
from .loaders.pseudo_labels import MASKED_BACKGROUND
from .loaders.rgb_photos import is_rgb_only
from .records import FaceRecord, load_thermal, read_image

FAR = -1.0e4  # where unknown points are encoded (outside every crop: zero target, zero weight)

# Non-face crops for the presence head, as (kind, probability): the ways a runtime crop loses its face.
NEGATIVE_KINDS = (("off_face", 0.5),  # moved 0.7-1.5 crop sides away: neck, body, background
                  ("half_face", 0.2),  # moved 0.45-0.6 crop sides: at most half the face inside
                  ("zoom_out", 0.2),  # crop 3-6x larger: a small, far-off face in a body-sized box
                  ("zoom_in", 0.1))  # crop 0.25-0.4x: a patch of skin, no face layout


def negative_geometry(rng: np.random.Generator, geo: Geometry) -> Geometry:
    """Turn a face crop's jitter draw into a non-face crop of the same frame (rotation and flip kept)."""
    kinds, probs = zip(*NEGATIVE_KINDS)
    kind = kinds[int(rng.choice(len(kinds), p=np.asarray(probs) / sum(probs)))]
    scale, shift = geo.scale, geo.shift
    if kind in ("off_face", "half_face"):
        lo, hi = (0.7, 1.5) if kind == "off_face" else (0.45, 0.6)
        r = rng.uniform(lo, hi)
        # half of the far-off crops look below the face (neck, shoulders, body: where tracks slide to)
        a = rng.uniform(0.25 * np.pi, 0.75 * np.pi) if kind == "off_face" and rng.random() < 0.5 \
            else rng.uniform(0.0, 2.0 * np.pi)
        shift = (float(r * np.cos(a)), float(r * np.sin(a)))
    elif kind == "zoom_out":
        scale = geo.scale * float(rng.uniform(3.0, 6.0))
    else:
        scale = geo.scale * float(rng.uniform(0.25, 0.4))
        shift = (float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.5, 0.5)))
    return Geometry(scale=scale, angle_deg=geo.angle_deg, shift=shift, flip=geo.flip)


class FrameCache:
    """Small per-process LRU of decoded frames (by path), bounded in megabytes: decode often dominates."""

    def __init__(self, max_mb: float = 256.0):
        self.max_bytes = int(max_mb * 2**20)
        self._items: OrderedDict[str, tuple] = OrderedDict()
        self._bytes = 0

    def get(self, key: str, load):
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = load()
        size = sum(v.nbytes for v in value if isinstance(v, np.ndarray))
        if self.max_bytes > 0 and size <= self.max_bytes:
            self._items[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= sum(v.nbytes for v in old if isinstance(v, np.ndarray))
        return value


class LandmarkDataset(Dataset):
    """Face crops for landmark training in ``scheme`` (records of other schemes are mapped onto it).

    ``augment=None`` gives the deterministic runtime crop (evaluation). ``paired`` loads the RGB image of
    records that have one (zeros and ``has_rgb`` False otherwise). ``seed`` fixes the augmentation draws
    (item ``i`` of epoch ``e`` after ``set_epoch(e)``); None draws from torch's per-worker seed.
    ``negative_rate`` (training only): that share of items becomes a non-face crop of the same frame
    (``negative_geometry``) with ``is_face`` False, no landmark targets and no RGB pair, for the presence head.
    """

    def __init__(self, records: Sequence[FaceRecord], scheme: Union[str, LandmarkScheme],
                 input_size: Tuple[int, int] = (96, 96), augment: Optional[AugmentConfig] = None,
                 paired: bool = True, split_ratio: float = 2.0, sigma: Optional[float] = None,
                 crop_scale: float = CROP_SCALE, normalise_cfg: NormaliseConfig = NormaliseConfig(),
                 cache_mb: float = 256.0, seed: Optional[int] = None, negative_rate: float = 0.0):
        self.records = list(records)
        self.negative_rate = float(negative_rate)
        self.scheme = get_scheme(scheme) if isinstance(scheme, str) else scheme
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.augment = augment
        self.paired = paired
        self.codec = SimCCCodec(self.input_size, split_ratio) if sigma is None else \
            SimCCCodec(self.input_size, split_ratio, sigma)
        self.crop_scale = crop_scale
        self.normalise_cfg = normalise_cfg
        self.seed = seed
        self.epoch = 0
        self._perm = self.scheme.flip_permutation()
        self._colour = RGBColour(augment) if augment is not None else None
        self._cache = FrameCache(cache_mb)
        self._rgb_cache = FrameCache(cache_mb / 2)

    @property
    def num_points(self) -> int:
        return self.scheme.num_points

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """New augmentation draws per epoch when ``seed`` is set (call from the training loop)."""
        self.epoch = int(epoch)

    # -- pieces -------------------------------------------------------------------------------------------

    def _rng(self, index: int) -> np.random.Generator:
        base = self.seed if self.seed is not None else torch.initial_seed() % 2**32
        extra = 0 if self.seed is not None else int(torch.randint(0, 2**31 - 1, (1,)).item())
        return np.random.default_rng([int(base), self.epoch, int(index), extra])

    def points_of(self, rec: FaceRecord) -> Tuple[np.ndarray, np.ndarray]:
        """The record's (N, 2) points and visibility in this dataset's scheme (NaN / 0 where unknown)."""
        pts = np.asarray(rec.landmarks, np.float64).reshape(-1, 2)
        vis = np.ones(len(pts), np.float32) if rec.visible is None else np.asarray(rec.visible, np.float32)
        if rec.scheme != self.scheme.name:
            src = get_scheme(rec.scheme)
            pts = map_points(pts, src, self.scheme)
            vis = map_points(vis[:, None].astype(np.float64), src, self.scheme, fill=0.0)[:, 0].astype(np.float32)
        elif len(pts) != self.num_points:
            raise ValueError(f"{rec.image_path}: {len(pts)} points, scheme {self.scheme.name!r} has "
                             f"{self.num_points}")
        finite = np.isfinite(pts).all(1)
        return pts, np.where(finite, vis, 0.0).astype(np.float32)

    def face_box(self, rec: FaceRecord, pts: np.ndarray) -> np.ndarray:
        """Landmark box (what the runtime tracks), else the record's face box."""
        if np.isfinite(pts).all(1).any():
            return landmarks_box(pts)
        if rec.box is not None:
            return np.asarray(rec.box, np.float64)
        raise ValueError(f"{rec.image_path}: record has neither landmarks nor a face box to crop")

    def crop_transform(self, rec: FaceRecord, pts: np.ndarray, geo: Geometry) -> np.ndarray:
        """2x3 image -> crop matrix for this draw (flip included)."""
        m = crop_matrix(self.face_box(rec, pts), self.input_size, scale=self.crop_scale * geo.scale,
                        angle_deg=geo.angle_deg, shift=geo.shift)
        return flip_crop_matrix(m, self.input_size[0]) if geo.flip else m

    def _thermal_raw(self, rec: FaceRecord):
        if is_rgb_only(rec):  # a colour photo is never shown to a thermal model: a blank frame of its size
            def blank():
                img = self._rgb(rec)
                return np.zeros(img.shape[:2], np.float32), "intensity"
            return self._cache.get(f"blank:{rec.image_path}", blank)
        return self._cache.get(str(rec.image_path), lambda: load_thermal(rec))

    def _rgb(self, rec: FaceRecord) -> np.ndarray:
        def load():
            img = read_image(rec.rgb_path)
            if img.dtype == np.uint8:
                img = img.astype(np.float32) * np.float32(1 / 255.0)
            elif img.dtype == np.uint16:
                img = img.astype(np.float32) * np.float32(1 / 65535.0)
            else:
                img = np.clip(img.astype(np.float32), 0.0, 1.0)
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            return (np.ascontiguousarray(img),)
        return self._rgb_cache.get(str(rec.rgb_path), load)[0]

    # -- item ---------------------------------------------------------------------------------------------

    def __getitem__(self, index: int) -> Dict[str, torch.Tensor]:
        rec = self.records[index]
        raw, kind = self._thermal_raw(rec)
        aug = self.augment
        rng = self._rng(index) if aug is not None else None
        geo = sample_geometry(aug, rng) if aug is not None else Geometry()
        negative = bool(aug is not None and self.negative_rate > 0 and rng.random() < self.negative_rate)
        if negative:
            geo = negative_geometry(rng, geo)
        window = jitter_window(kind, aug, rng, self.normalise_cfg) if aug is not None else self.normalise_cfg

        pts, vis = self.points_of(rec)
        m = self.crop_transform(rec, pts, geo)
        w, h = self.input_size
        rgb_only = is_rgb_only(rec)
        thermal = np.zeros((h, w), np.float32) if rgb_only else warp(normalise(raw, kind, window), m, self.input_size)
        if (aug is not None and rec.extra.get(MASKED_BACKGROUND) and aug.masked_background_prob > 0
                and rng.random() < aug.masked_background_prob):
            masked = warp((raw <= 0).astype(np.float32), m, self.input_size, border_value=1.0) > 0.5
            thermal = fill_background(thermal, masked, rng)
        crop_pts = transform_points(pts, m)
        if geo.flip:
            crop_pts, vis = crop_pts[self._perm], vis[self._perm]
        if negative:  # no landmark targets on a non-face crop
            crop_pts = np.full_like(crop_pts, np.nan)
            vis = np.zeros_like(vis)

        has_rgb = bool(self.paired and rec.rgb_path is not None and not negative)
        rgb = None
        if has_rgb:
            rgb_full = self._rgb(rec)
            if rgb_full.shape[:2] != raw.shape[:2]:
                raise ValueError(f"{rec.rgb_path}: RGB size {rgb_full.shape[1]}x{rgb_full.shape[0]} differs from "
                                 f"thermal {raw.shape[1]}x{raw.shape[0]} ({rec.image_path}); pairs must be aligned")
            rgb = warp(rgb_full, m, self.input_size)

        if aug is not None:
            draw = sample_sensor(aug, rng, kind, window)
            if not rgb_only:
                thermal = occlude(apply_sensor(thermal, draw), aug, rng)
            if rgb is not None:
                rgb = occlude(self._colour(rgb, rng), aug, rng)
                rdraw = draw if aug.pair_mode == "identical" else sample_sensor(aug, rng, kind, window)
                rgb = apply_sensor(rgb, SensorDraw(rdraw.blur_sigma, rdraw.noise_std, rdraw.noise_seed, 0))

        known = np.isfinite(crop_pts).all(1)
        tx, ty, weight = self.codec.encode(np.where(known[:, None], crop_pts, FAR), vis)
        landmarks = np.where(known[:, None], crop_pts, 0.0).astype(np.float32)
        if rgb is None:
            rgb_t = torch.zeros((3, h, w), dtype=torch.float32)
        else:
            rgb_t = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32))
        return {
            "thermal": torch.from_numpy(np.ascontiguousarray(thermal, dtype=np.float32))[None],
            "rgb": rgb_t,
            "has_rgb": torch.tensor(has_rgb),
            "is_face": torch.tensor(not negative),
            "landmarks": torch.from_numpy(landmarks),
            "visible": torch.from_numpy(vis.astype(np.float32)),
            "target_x": torch.from_numpy(tx),
            "target_y": torch.from_numpy(ty),
            "target_weight": torch.from_numpy(weight.astype(np.float32)),
            "pose_ypr": torch.from_numpy(adjust_pose(rec.pose_ypr_deg, geo)),
            "index": torch.tensor(index, dtype=torch.int64),
        }


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = True, workers: int = 0,
                distributed: bool = False, drop_last: bool = False, seed: int = 0,
                num_replicas: Optional[int] = None, rank: Optional[int] = None) -> DataLoader:
    """DataLoader with sensible defaults; a DistributedSampler under ``distributed`` (world size and rank
    from the initialised process group unless given; call ``loader.sampler.set_epoch(e)`` each epoch).

    Workers are not persistent, so ``dataset.set_epoch(e)`` called before iterating reaches them.
    """
    sampler = DistributedSampler(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                                 drop_last=drop_last) if distributed else None
    gen = torch.Generator()
    gen.manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=workers, drop_last=drop_last, persistent_workers=False,
                      generator=gen, pin_memory=torch.cuda.is_available())


__all__ = ["LandmarkDataset", "FrameCache", "make_loader"]
