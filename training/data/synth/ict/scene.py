"""Scenes and sequences of ICT people: 0..N persons with bodies (neck, torso, arms, hands), faces 10-200 px
wide, thermal distractors and clutter; a sequence moves heads and bodies smoothly over ``frames`` frames
and labels every frame (boxes, landmarks, visibility, pose, track ids) with the known breathing signal
and region temperatures (keys documented in docs/synthetic_data.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from training.data.synth import rgb as rgb_app
from training.data.synth import thermal as th_app
from training.data.synth.camera import intrinsics, project, sample_ypr, ypr_to_matrix
from training.data.synth.ict import distractors
from training.data.synth.ict.body import NECK_PIVOT, BodyStyle, body_mesh, sample_style
from training.data.synth.ict.head import (
    IctHead,
    cloth_cover,
    make_ict_head,
    set_shape,
    vertex_albedo,
    vertex_temperature,
)
from training.data.synth.ict.rig import REGIONS, R, Rig, load_rig
from training.data.synth.ict.zbuffer import rasterise, vertex_normals
from training.data.synth.sensor import HFOVS, SENSOR_SIZES, agc8, apply_sensor, sample_sensor, to_counts

FPS_CHOICES = (8.7, 9.0, 15.0, 25.0, 30.0)
REGION_KEYS = ("forehead", "periorbital", "canthi", "nose_tip", "nostrils", "cheeks", "lips")


@dataclass
class Motion:
    """Smooth per-person trajectories: sums of slow sinusoids and a drift."""

    yaw: tuple
    pitch: tuple
    roll: tuple
    base_ypr: tuple
    velocity: np.ndarray  # m/s in the camera frame (x, y, z)
    breath_hz: float
    breath_phase: float
    blinks: np.ndarray  # blink start times (s)
    talk: float  # jaw-open amplitude while talking (0: silent)
    talk_hz: float


@dataclass
class Actor:
    head: IctHead
    style: BodyStyle
    neck0: np.ndarray  # neck joint (camera frame) at t = 0
    motion: Motion
    base_expr: Dict[str, float]
    track_id: int
    state: Dict = field(default_factory=dict)


def _waves(rng, amp: float):
    n = 2
    return tuple((float(rng.uniform(0, amp) / n), float(np.exp(rng.uniform(np.log(0.04), np.log(0.5)))),
                  float(rng.uniform(0, 2 * np.pi))) for _ in range(n))


def _wave(w, t: float) -> float:
    return float(sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in w))


def _make_actor(rig: Rig, rng, opts, k, width, height, track_id: int, duration: float) -> Actor:
    ypr = sample_ypr(rng, opts.max_yaw, opts.max_pitch, opts.max_roll, yaw_sd=opts.frontal_yaw_sd)
    ident = opts.identities if opts.identities != "auto" else "train"
    h = make_ict_head(rig, rng, ident, opts.expressions, opts.accessories, opts.glasses_prob, ypr)
    h.extra["identity_set"] = ident
    fw = float(np.exp(rng.uniform(np.log(10.0), np.log(min(200.0, 0.8 * min(width, height))))))
    dist = k[0, 0] * 0.15 / fw
    u, v = rng.uniform(-0.02, 1.02) * width, rng.uniform(0.05, 0.85) * height
    ray = np.linalg.solve(k, np.array([u, v, 1.0]))
    t = ray / ray[2] * dist
    neck = t + h.rot @ NECK_PIVOT
    moving = rng.random() < 0.5
    vel = np.array([rng.normal(0, 0.12), rng.normal(0, 0.01), rng.normal(0, 0.08)]) if moving else np.zeros(3)
    blinks = np.cumsum(rng.exponential(3.5, 12)) - rng.uniform(0, 3.5)
    m = Motion(_waves(rng, 40.0), _waves(rng, 15.0), _waves(rng, 10.0), ypr, vel,
               float(rng.uniform(0.17, 0.42)), float(rng.uniform(0, 2 * np.pi)), blinks,
               float(rng.uniform(0.15, 0.45)) if rng.random() < 0.3 else 0.0, float(rng.uniform(2.0, 4.0)))
    return Actor(h, sample_style(rng), neck, m, dict(h.expression), track_id)


def _pose_at(rig: Rig, a: Actor, t: float, opts) -> None:
    m = a.motion
    y = float(np.clip(m.base_ypr[0] + _wave(m.yaw, t), -opts.max_yaw, opts.max_yaw))
    p = float(np.clip(m.base_ypr[1] + _wave(m.pitch, t), -opts.max_pitch, opts.max_pitch))
    r = float(np.clip(m.base_ypr[2] + _wave(m.roll, t), -opts.max_roll, opts.max_roll))
    h = a.head
    h.ypr = (y, p, r)
    h.rot = ypr_to_matrix(y, p, r)
    neck = a.neck0 + m.velocity * t
    if neck[2] < 0.3:
        neck = neck.copy()
        neck[2] = 0.3
    h.trans = neck - h.rot @ NECK_PIVOT
    expr = dict(a.base_expr)
    blink = float(np.max(np.clip(1.0 - np.abs(t - m.blinks - 0.1) / 0.1, 0.0, 1.0))) if len(m.blinks) else 0.0
    if blink > 0:
        expr["eyeBlink_L"] = max(expr.get("eyeBlink_L", 0.0), blink)
        expr["eyeBlink_R"] = max(expr.get("eyeBlink_R", 0.0), blink)
    if m.talk > 0:
        expr["jawOpen"] = max(expr.get("jawOpen", 0.0), m.talk * 0.5 * (1 + np.sin(2 * np.pi * m.talk_hz * t)))
    set_shape(rig, h, expr)
    a.state = {"breath": float(np.sin(2 * np.pi * m.breath_hz * t + m.breath_phase)), "neck": neck,
               "body_rot": ypr_to_matrix(0.55 * y, 0.0, 0.0), "swing": 0.03 * np.sin(2 * np.pi * 0.5 * t)}


def _render_frame(rig: Rig, actors: List[Actor], k, width, height, ambient, light, bg_t, bg_rgb):
    from training.data.synth.ict.render_ict import _glasses

    verts, faces, attrs, head_temps = [], [], [], []
    n = 0
    for a in actors:
        h = a.head
        b = a.state["breath"]
        vt = vertex_temperature(rig, h, ambient, b)
        head_temps.append(vt)
        vc = h.camera_vertices()
        nc = vertex_normals(h.verts, rig.faces) @ h.rot.T
        verts.append(vc)
        faces.append(rig.faces + n)
        attrs.append(np.concatenate([vt[:, None], vertex_albedo(rig, h), nc], 1))
        n += len(vc)
        bv, bf, btemp, balb = body_mesh(a.style, h.thermal.skin + h.person.skin_offset, ambient, a.state["swing"])
        balb = np.where(balb < 0, h.rgb.skin, balb)
        bc = bv @ a.state["body_rot"].T + a.state["neck"]
        bn = vertex_normals(bv, bf) @ a.state["body_rot"].T
        verts.append(bc)
        faces.append(bf + n)
        attrs.append(np.concatenate([btemp[:, None], balb, bn], 1))
        n += len(bc)
    temp_img, img = bg_t.copy(), bg_rgb.copy()
    if not verts:
        zb = rasterise(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3), np.int32), width, height)
        return temp_img, img, zb, head_temps
    v = np.concatenate(verts)
    f = np.concatenate(faces)
    zb = rasterise(project(v, k), v[:, 2], f, width, height)
    ys, xs, at = zb.interpolate(f, np.concatenate(attrs).astype(np.float32))
    if len(ys):
        z = zb.depth[ys, xs]
        pc = np.stack([(xs - k[0, 2]) / k[0, 0] * z, (ys - k[1, 2]) / k[1, 1] * z, z], 1)
        view = -pc / np.linalg.norm(pc, axis=1, keepdims=True)
        nrm = at[:, 4:7] / (np.linalg.norm(at[:, 4:7], axis=1, keepdims=True) + 1e-9)
        cosv = np.abs((nrm * view).sum(1))
        eps = 0.98 * np.clip(0.78 + 0.22 * np.clip(cosv, 0, 1) / 0.5, 0, 1)
        temp_img[ys, xs] = eps * at[:, 0] + (1 - eps) * ambient
        img[ys, xs] = rgb_app.shade(at[:, 1:4], nrm, view, light)
    _glasses(rig, [a.head for a in actors], k, width, height, ambient, zb, temp_img, img, light)
    return temp_img, img, zb, head_temps


def _region_temps(rig: Rig, vt: np.ndarray, head: IctHead) -> Dict[str, float]:
    """Mean surface temperature of each region's exposed skin (hair, hats, hoods and scarves left out:
    the forehead region reaches up to the scalp, and the hair over it is near ambient)."""
    exposed = 1.0 - head.extra.get("hair_cover", np.zeros(len(vt)))
    cover = cloth_cover(rig, head)
    if cover is not None:
        exposed = exposed * (1.0 - cover)
    out = {}
    for name in REGION_KEYS:
        w = rig.regions[:, R[name]] * exposed
        sel = w > 0.5 * w.max() if w.max() > 0.05 else np.zeros(len(w), bool)
        out[name] = round(float((vt[sel] * w[sel]).sum() / max(w[sel].sum(), 1e-9)), 3) if sel.any() else None
    return out


def render_sequence(index: int, seed: int, opts, frames: int = 1, ypr=None, fps: Optional[float] = None,
                    first_frame: int = 0) -> List:
    """Frames ``first_frame .. frames - 1`` of one scene (a pure function of seed, index and options).

    ``ypr`` holds every head at that pose and every body still (no sway, no drift): the scene a fixed
    subject in front of a robot gives, used by the breathing checks; ``fps`` replaces the scene's frame rate.
    Both leave every other draw (people, temperatures, camera, clutter) as they are.
    """
    from training.data.synth.ict.head import landmarks_3d
    from training.data.synth.ict.render_ict import _annotation, _depth_test, _subjects, _visibility
    from training.data.synth.render import Sample

    rig = load_rig(opts.face_model)
    rng = np.random.default_rng([int(seed), int(index), 11])
    sw, sh = SENSOR_SIZES[int(rng.integers(len(SENSOR_SIZES)))]
    k = intrinsics(sw, sh, float(rng.choice(HFOVS)))
    drawn_fps = float(rng.choice(FPS_CHOICES))  # drawn even when ``fps`` is given: the rest of the scene must
    fps = drawn_fps if fps is None else float(fps)  # not depend on the frame rate asked for (same people, place)
    ambient = float(rng.uniform(15.0, 30.0))
    sensor = sample_sensor(rng, sw, sh)
    light = rgb_app.sample_light(rng)
    n_people = 0 if rng.random() < 0.08 else int(rng.integers(1, max(1, opts.max_faces) + 1))
    actors = [_make_actor(rig, rng, opts, k, sw, sh, i, frames / fps) for i in range(n_people)]
    if ypr is not None:
        for a in actors:
            a.motion.base_ypr = tuple(ypr)
            a.motion.yaw = a.motion.pitch = a.motion.roll = ()
            a.motion.velocity = np.zeros(3)
    _subjects(rng, [a.head for a in actors], ambient)
    bg_t = th_app.background(rng, sw, sh, ambient)
    bg_rgb = rgb_app.background(rng, sw, sh)
    objs = distractors.draw(rng, bg_t, bg_rgb, ambient, int(rng.integers(1, 9)))
    out = []
    for fi in range(int(first_frame), frames):
        t = fi / fps
        for a in actors:
            _pose_at(rig, a, t, opts)
        temp, img, zb, vts = _render_frame(rig, actors, k, sw, sh, ambient, light, bg_t, bg_rgb)
        frame_rng = np.random.default_rng([int(seed), int(index), 12, fi])
        temp = apply_sensor(temp, sensor, frame_rng)
        img = np.clip(img + frame_rng.normal(0, 0.01, img.shape).astype(np.float32), 0, 1)
        seen = _depth_test(k, zb, sw, sh)
        faces = []
        for a, vt in zip(actors, vts):
            p3 = landmarks_3d(rig, a.head, seen)
            uv, vis = _visibility(rig, p3, k, zb, sw, sh)
            if p3[:, 2].min() <= 0.05:
                continue
            ann = _annotation(a.head, uv, vis, sw, sh, a.state["breath"])
            regions = _region_temps(rig, vt, a.head)
            ann.update({"track_id": a.track_id, "nostril_c": regions["nostrils"], "regions_c": regions,
                        "breathing_rate_bpm": round(a.motion.breath_hz * 60.0, 3),
                        "face_width_px": round(float(uv[:68, 0].max() - uv[:68, 0].min()), 2)})
            faces.append(ann)
        ann = {"width": sw, "height": sh, "camera_matrix": np.round(k, 6).tolist(), "ambient_c": round(ambient, 3),
               "faces": faces, "sensor": {"width": sw, "height": sh, "crop": None, "netd_k": round(sensor.netd, 4),
                                          "blur_px": round(sensor.blur_sigma, 3)},
               "sequence": int(index), "frame": fi, "time_s": round(t, 4), "fps": fps, "distractors": objs}
        out.append(Sample(to_counts(temp), (img * 255.0 + 0.5).astype(np.uint8), agc8(temp) if opts.agc8 else None,
                          ann, temp.astype(np.float32), [a.head for a in actors]))
    return out


REGION_NAMES = REGIONS  # re-exported for docs/tests
