"""One synthetic sample: heads placed in front of one camera, rasterised once, shaded twice (RGB photo
and radiometric thermal frame), with exact landmarks, visibility and pose.

``crops``: one face, a face-centred square crop of a full sensor frame, resampled to ``size``; the
thermal crop passes through the sensor's own pixel grid (blur, noise, fixed pattern and vignetting of
that place in the frame). ``scenes``: a full sensor frame with 0..N faces.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

import cv2
import numpy as np

from training.data.synth import rgb as rgb_app
from training.data.synth import thermal as th_app
from training.data.synth.camera import (
    intrinsics,
    project,
    sample_ypr,
    ypr_to_matrix,
)
from training.data.synth.face_model import (
    FaceParams,
    landmark_directions,
    origin_offset,
    sample_face_params,
    surface_points,
)
from training.data.synth.framing import frame_view, through_sensor
from training.data.synth.mesh import Mesh, glasses_mesh, head_mesh
from training.data.synth.raster import rasterise
from training.data.synth.sensor import HFOVS, SENSOR_SIZES, agc8, sample_sensor, to_counts
from training.data.synth.textures import face_texture

FACE_WIDTH_M = 0.15  # for placing heads at a wanted size in pixels


@dataclass
class SynthOptions:
    mode: str = "crops"  # crops | scenes | sequences (sequences: ICT face model only)
    size: int = 128  # crop side (crops mode)
    crop_scale: float = 1.3  # crop side / landmark box side (x 0.95..1.15 jitter)
    max_faces: int = 3  # scenes mode
    glasses_prob: float = 0.2
    expressions: bool = True
    accessories: bool = True
    out_of_frame_prob: float = 0.1  # crops shifted so that part of the face leaves the crop
    max_yaw: float = 90.0
    max_pitch: float = 45.0
    max_roll: float = 30.0
    frontal_yaw_sd: float = 0.0  # spread of the near-frontal yaw draws (0: max_yaw / 3); see sample_ypr
    agc8: bool = False  # also write an 8-bit AGC thermal image
    face_model: str = ""  # ICT Face Model (FaceXModel/ folder or its cache .npz); empty: the procedural head
    identities: str = "auto"  # ICT persons: train | heldout | auto (write_split: heldout for test* splits)
    frames: int = 16  # frames per sequence (sequences mode)
    palettes: tuple = ()  # also write false-colour images through these thermal_fld_ros.palettes names

    def __post_init__(self) -> None:
        problems = []
        if self.mode not in ("crops", "scenes", "sequences"):
            problems.append(f"unknown synth mode {self.mode!r} (crops | scenes | sequences)")
        if self.mode == "sequences" and not self.face_model:
            problems.append("mode sequences needs face_model (the ICT Face Model folder)")
        if not 1 <= int(self.frames) <= 1000:
            problems.append(f"frames {self.frames} outside 1..1000")
        self.palettes = tuple(self.palettes)
        if self.palettes:
            from thermal_fld_ros.palettes import PALETTE_ALIASES, palette_names

            bad = [p for p in self.palettes if PALETTE_ALIASES.get(p, p) not in palette_names()]
            if bad:
                problems.append(f"unknown palettes {bad} (known: {', '.join(palette_names())})")
        if not 16 <= int(self.size) <= 2048:
            problems.append(f"size {self.size} outside 16..2048")
        if self.max_faces < 0:
            problems.append("max_faces must be >= 0")
        for name in ("glasses_prob", "out_of_frame_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in [0, 1]")
        for name, top in (("max_yaw", 90.0), ("max_pitch", 60.0), ("max_roll", 60.0)):
            if not 0.0 <= getattr(self, name) <= top:
                problems.append(f"{name} must be in [0, {top:g}] degrees")
        if not 0.0 <= self.frontal_yaw_sd <= 90.0:
            problems.append("frontal_yaw_sd must be in [0, 90] degrees")
        if self.identities not in ("auto", "train", "heldout"):
            problems.append(f"identities {self.identities!r} must be auto | train | heldout")
        if not 1.0 <= self.crop_scale <= 4.0:
            problems.append("crop_scale must be in [1, 4]")
        if problems:
            raise ValueError("SynthOptions: " + "; ".join(problems))

    def to_dict(self) -> Dict:
        return asdict(self)


@dataclass
class Head:
    params: FaceParams
    mesh: Mesh
    glasses: Optional[Mesh]
    points: np.ndarray  # (70, 3) model frame
    normals: np.ndarray  # (70, 3) model frame, outward
    rot: np.ndarray
    trans: np.ndarray
    ypr: tuple
    rgb: rgb_app.RgbSubject
    thermal: th_app.ThermalSubject
    texture: object


@dataclass
class Sample:
    thermal_counts: np.ndarray  # (H, W) uint16
    rgb: np.ndarray  # (H, W, 3) uint8 RGB
    thermal_agc8: Optional[np.ndarray]
    annotation: Dict
    temperature: np.ndarray  # (H, W) float32 deg C after sensor effects (tests, previews)
    heads: List[Head] = field(default_factory=list)  # the rendered heads (not written; tests, analysis)


def _vertex_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    idx = f.ravel()
    n = np.stack([np.bincount(idx, np.repeat(fn[:, c], 3), minlength=len(v)) for c in range(3)], 1)
    return n / (np.linalg.norm(n, axis=1, keepdims=True) + 1e-12)


def _landmarks_with_normals(p: FaceParams, origin: np.ndarray):
    theta, phi = landmark_directions(p)
    pts, _ = surface_points(theta, phi, p, with_hair=False)
    e = 1e-4
    dt = surface_points(theta + e, phi, p, with_hair=False)[0] - surface_points(theta - e, phi, p, with_hair=False)[0]
    dp = surface_points(theta, phi + e, p, with_hair=False)[0] - surface_points(theta, phi - e, p, with_hair=False)[0]
    n = np.cross(dt, dp)
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    centre = np.array([0.0, p.centre_y, p.centre_z]) * p.scale
    n *= np.sign(((pts - centre) * n).sum(1, keepdims=True))
    return pts - origin, n


def make_head(rng: np.random.Generator, opts: SynthOptions, ypr=None) -> Head:
    p = sample_face_params(rng, opts.expressions, opts.accessories, opts.glasses_prob)
    origin = origin_offset(p)
    mesh = head_mesh(p, origin)
    pts, normals = _landmarks_with_normals(p, origin)
    glasses = None
    if p.glasses:
        eye_front = float(pts[[27, 36, 45, 37, 44], 2].min())
        glasses = glasses_mesh(p, origin, eye_front)
    ypr = ypr if ypr is not None else sample_ypr(rng, opts.max_yaw, opts.max_pitch, opts.max_roll,
                                                 yaw_sd=opts.frontal_yaw_sd)
    return Head(p, mesh, glasses, pts, normals, ypr_to_matrix(*ypr), np.zeros(3), tuple(ypr),
                rgb_app.sample_subject(rng), None, face_texture(p))


def _place(head: Head, k: np.ndarray, u: float, v: float, dist: float) -> None:
    ray = np.linalg.solve(k, np.array([u, v, 1.0]))
    head.trans = ray / ray[2] * dist


def _render_heads(heads: List[Head], k: np.ndarray, width: int, height: int):
    """Rasterise all heads (and glasses) on one (width, height) grid with intrinsics ``k``."""
    verts, faces, attrs, cull = [], [], [], []
    gverts, gfaces, gattrs = [], [], []
    n = gn = 0
    for i, h in enumerate(heads):
        m = h.mesh
        vc = m.vertices @ h.rot.T + h.trans
        nc = _vertex_normals(m.vertices, m.faces) @ h.rot.T
        verts.append(vc)
        faces.append(m.faces + n)
        cull.append(np.ones(len(m.faces), bool))
        attrs.append(np.concatenate([m.base_xy, m.front[:, None], m.hair[:, None], m.part[:, None], nc,
                                     np.full((len(vc), 1), i)], 1))
        n += len(vc)
        if h.glasses is not None:
            g = h.glasses
            gv = g.vertices @ h.rot.T + h.trans
            gverts.append(gv)
            gfaces.append(g.faces + gn)
            gattrs.append(np.concatenate([g.front[:, None], np.full((len(gv), 1), i)], 1))
            gn += len(gv)
    if not verts:
        return rasterise(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3), np.int32), np.zeros((0, 9), np.float32),
                         (width, height), np.zeros(0, bool)), None
    v = np.concatenate(verts)
    r = rasterise(project(v, k), v[:, 2], np.concatenate(faces), np.concatenate(attrs).astype(np.float32),
                  (width, height), np.concatenate(cull))
    g = None
    if gverts:
        gv = np.concatenate(gverts)
        gf = np.concatenate(gfaces)
        g = rasterise(project(gv, k), gv[:, 2], gf, np.concatenate(gattrs).astype(np.float32), (width, height),
                      np.zeros(len(gf), bool))
    return r, g


def _visibility(head: Head, k: np.ndarray, depth: np.ndarray, width: int, height: int):
    pc = head.points @ head.rot.T + head.trans
    nc = head.normals @ head.rot.T
    uv = project(pc, k)
    # facing the camera, with a little slack: jaw points of a frontal face sit on the silhouette
    facing = (nc * -pc).sum(1) / np.linalg.norm(pc, axis=1) > -0.2
    inside = (uv[:, 0] >= 0) & (uv[:, 0] <= width - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= height - 1)
    dmax = cv2.dilate(np.where(np.isfinite(depth), depth, 1e6).astype(np.float32), np.ones((3, 3), np.uint8))
    ui = np.clip(np.round(uv[:, 0]).astype(int), 0, width - 1)
    vi = np.clip(np.round(uv[:, 1]).astype(int), 0, height - 1)
    unoccluded = dmax[vi, ui] >= pc[:, 2] - 0.006
    return uv, facing & inside & unoccluded


def _shade(heads: List[Head], r, g, k: np.ndarray, width: int, height: int, ambient: float,
           bg_t: np.ndarray, bg_rgb: np.ndarray, light: rgb_app.Light):
    temp = bg_t.copy()
    img = bg_rgb.copy()
    mask = r.mask
    if mask.any():
        ys, xs = np.nonzero(mask)
        a = r.attrs[ys, xs]
        z = r.depth[ys, xs]
        pc = np.stack([(xs - k[0, 2]) / k[0, 0] * z, (ys - k[1, 2]) / k[1, 1] * z, z], 1)
        view = -pc / np.linalg.norm(pc, axis=1, keepdims=True)
        nrm = a[:, 5:8] / (np.linalg.norm(a[:, 5:8], axis=1, keepdims=True) + 1e-9)
        cosv = (nrm * view).sum(1)
        part = np.round(a[:, 4]).astype(int)
        hid = np.round(a[:, 8]).astype(int)
        t_pix = np.empty(len(ys), np.float32)
        c_pix = np.empty((len(ys), 3), np.float32)
        for i, h in enumerate(heads):
            sel = hid == i
            if not sel.any():
                continue
            masks = h.texture.lookup(a[sel, 0:2]) * a[sel, 2:3]
            t_pix[sel] = th_app.face_temperature(a[sel, 0:2], masks, a[sel, 2], a[sel, 3], part[sel], cosv[sel],
                                                 h.params, h.thermal, ambient)
            alb = rgb_app.albedo(masks, a[sel, 3], part[sel], h.rgb)
            c_pix[sel] = rgb_app.shade(alb, nrm[sel], view[sel], light)
        temp[ys, xs] = t_pix
        img[ys, xs] = c_pix
    if g is not None and g.mask.any():
        front = np.where(np.isfinite(r.depth), r.depth, np.inf)
        gm = g.mask & (g.depth < front)
        ys, xs = np.nonzero(gm)
        frame = g.attrs[ys, xs, 0] > 0.5
        hid = np.round(g.attrs[ys, xs, 1]).astype(int)
        for i, h in enumerate(heads):
            sel = hid == i
            if h.glasses is None or not sel.any():
                continue
            temp[ys[sel], xs[sel]] = th_app.glasses_temperature(h.thermal, ambient)
            under = img[ys[sel], xs[sel]]
            lens = 0.82 * under + 0.18 * np.array([0.75, 0.8, 0.85])
            col = np.where(frame[sel][:, None], h.rgb.glasses_frame * (light.ambient + 0.4), lens)
            img[ys[sel], xs[sel]] = col
    return temp, img


def _torso(heads: List[Head], k: np.ndarray, bg_t: np.ndarray, bg_rgb: np.ndarray, rng, ambient: float) -> None:
    """Shoulders under each head, drawn into the background layers (heads are drawn over them)."""
    _torso_like([(h.trans, h.params.scale, h.thermal.skin) for h in heads], k, bg_t, bg_rgb, rng, ambient)


def _torso_like(heads, k: np.ndarray, bg_t: np.ndarray, bg_rgb: np.ndarray, rng, ambient: float) -> None:
    """Shoulders under each (translation, scale, skin temperature) head, into the background layers."""
    for trans, scale, skin in heads:
        # the body does not turn with the head: below the head in the camera's axes
        pc = np.array([0.0, 0.22, 0.10]) * scale + trans
        if pc[2] <= 0.1:
            continue
        u, v = project(pc[None], k)[0]
        ax, ay = 0.22 / pc[2] * k[0, 0], 0.16 / pc[2] * k[1, 1]
        if not (np.isfinite(u) and np.isfinite(v)) or max(ax, ay) > 1e4:
            continue
        t_cloth = th_app.clothing_temperature(rng, skin, ambient)
        colour = tuple(float(x) for x in rng.uniform(0, 1, 3))
        centre = (int(round(u)), int(round(v + ay * 0.6)))
        axes = (int(ax), int(ay))
        cv2.ellipse(bg_t, centre, axes, 0, 0, 360, t_cloth, -1)
        cv2.ellipse(bg_rgb, centre, axes, 0, 0, 360, colour, -1)


def _face_annotation(h: Head, uv: np.ndarray, vis: np.ndarray, width: int, height: int) -> Dict:
    box = np.array([uv[:68, 0].min(), uv[:68, 1].min(), uv[:68, 0].max(), uv[:68, 1].max()])
    box = np.clip(box, [0, 0, 0, 0], [width - 1, height - 1, width - 1, height - 1])
    return {"landmarks": np.round(uv, 4).tolist(), "visible": vis.astype(int).tolist(),
            "box": np.round(box, 3).tolist(),
            "pose": {"R": np.round(h.rot, 8).tolist(), "t": np.round(h.trans, 6).tolist(),
                     "yaw": round(h.ypr[0], 4), "pitch": round(h.ypr[1], 4), "roll": round(h.ypr[2], 4)}}


def render_sample(index: int, seed: int, opts: SynthOptions, ypr=None) -> Sample:
    """Render sample ``index`` of the split generated with ``seed`` (a pure function of both)."""
    if opts.face_model:
        from training.data.synth.ict.render_ict import render_ict_sample

        return render_ict_sample(index, seed, opts, ypr)
    rng = np.random.default_rng([int(seed), int(index)])
    sw, sh = SENSOR_SIZES[int(rng.integers(len(SENSOR_SIZES)))]
    k_full = intrinsics(sw, sh, float(rng.choice(HFOVS)))
    ambient = float(rng.uniform(15.0, 30.0))
    sensor = sample_sensor(rng, sw, sh)
    light = rgb_app.sample_light(rng)
    f = k_full[0, 0]
    heads: List[Head] = []
    if opts.mode == "crops":
        h = make_head(rng, opts, ypr)
        fw = float(np.exp(rng.uniform(np.log(28.0), np.log(0.7 * min(sw, sh)))))
        dist = f * FACE_WIDTH_M / fw
        _place(h, k_full, rng.uniform(fw * 0.6, sw - fw * 0.6), rng.uniform(fw * 0.6, sh - fw * 0.6), dist)
        heads.append(h)
    elif opts.mode == "scenes":
        for _ in range(int(rng.integers(0, opts.max_faces + 1))):
            h = make_head(rng, opts, ypr)
            dist = float(np.exp(rng.uniform(np.log(0.4), np.log(6.0))))
            _place(h, k_full, rng.uniform(-0.05, 1.05) * sw, rng.uniform(-0.05, 1.05) * sh, dist)
            heads.append(h)
    else:
        raise ValueError(f"unknown synth mode {opts.mode!r} (crops | scenes)")
    for h in heads:
        h.thermal = th_app.sample_subject(rng, ambient)

    uv68 = project(heads[0].points @ heads[0].rot.T + heads[0].trans, k_full)[:68] if opts.mode == "crops" else None
    view = frame_view(uv68, opts, rng, k_full, sw, sh, ambient)
    k, width, height, x0, y0, side, bg_t = (view.k, view.width, view.height, view.x0, view.y0, view.side,
                                            view.background_c)
    bg_rgb = rgb_app.background(rng, width, height)
    _torso(heads, k, bg_t, bg_rgb, rng, ambient)
    r, g = _render_heads(heads, k, width, height)
    temp, img = _shade(heads, r, g, k, width, height, ambient, bg_t, bg_rgb, light)

    temp, rgb8 = through_sensor(temp, img, view, sensor, rng)

    faces = []
    for h in heads:
        uv, vis = _visibility(h, k, r.depth, width, height)
        faces.append(_face_annotation(h, uv, vis, width, height))
    ann = {"width": width, "height": height, "camera_matrix": np.round(k, 6).tolist(),
           "ambient_c": round(ambient, 3), "faces": faces,
           "sensor": {"width": sw, "height": sh, "crop": [x0, y0, side] if side is not None else None,
                      "netd_k": round(sensor.netd, 4), "blur_px": round(sensor.blur_sigma, 3)}}
    return Sample(to_counts(temp), rgb8, agc8(temp) if opts.agc8 else None, ann, temp.astype(np.float32), heads)
