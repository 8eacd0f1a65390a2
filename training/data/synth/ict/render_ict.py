"""A generator sample with ICT heads: the same ``Sample`` and annotation format as the procedural head
(``training.data.synth.render``), plus ``identity`` / ``identity_set`` / ``expression`` per face.

Selected by ``SynthOptions.face_model`` (a ``FaceXModel/`` folder or its cache ``.npz``).
"""
from __future__ import annotations

from typing import List, Tuple

import cv2
import numpy as np

from training.data.synth import rgb as rgb_app
from training.data.synth import thermal as th_app
from training.data.synth.camera import intrinsics, project, sample_ypr
from training.data.synth.framing import frame_view, through_sensor
from training.data.synth.ict.head import (
    IctHead,
    glasses_geometry,
    landmarks_3d,
    make_ict_head,
    vertex_albedo,
    vertex_temperature,
)
from training.data.synth.ict.rig import JAW_FIXED, Rig, load_rig
from training.data.synth.ict.zbuffer import ZBuffer, rasterise, vertex_normals
from training.data.synth.sensor import HFOVS, SENSOR_SIZES, agc8, sample_sensor, to_counts

FACE_WIDTH_M = 0.15


def _place(head: IctHead, k: np.ndarray, u: float, v: float, dist: float) -> None:
    ray = np.linalg.solve(k, np.array([u, v, 1.0]))
    head.trans = ray / ray[2] * dist


def _render(rig: Rig, heads: List[IctHead], k: np.ndarray, width: int, height: int, ambient: float,
            breath: List[float], bg_t: np.ndarray, bg_rgb: np.ndarray, light: rgb_app.Light):
    """Shade all heads into copies of the backgrounds; returns temperature, colour, head z-buffer."""
    verts, faces, attrs = [], [], []
    n = 0
    for h, b in zip(heads, breath):
        vc = h.camera_vertices()
        nc = vertex_normals(h.verts, rig.faces) @ h.rot.T
        temp = vertex_temperature(rig, h, ambient, b)
        alb = vertex_albedo(rig, h)
        verts.append(vc)
        faces.append(rig.faces + n)
        attrs.append(np.concatenate([temp[:, None], alb, nc], 1))
        n += len(vc)
    temp_img, img = bg_t.copy(), bg_rgb.copy()
    if not verts:
        return temp_img, img, rasterise(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3), np.int32), width, height)
    v = np.concatenate(verts)
    f = np.concatenate(faces)
    zb = rasterise(project(v, k), v[:, 2], f, width, height)
    ys, xs, a = zb.interpolate(f, np.concatenate(attrs).astype(np.float32))
    if len(ys):
        z = zb.depth[ys, xs]
        pc = np.stack([(xs - k[0, 2]) / k[0, 0] * z, (ys - k[1, 2]) / k[1, 1] * z, z], 1)
        view = -pc / np.linalg.norm(pc, axis=1, keepdims=True)
        nrm = a[:, 4:7] / (np.linalg.norm(a[:, 4:7], axis=1, keepdims=True) + 1e-9)
        cosv = np.abs((nrm * view).sum(1))  # the open mesh is seen from both sides
        eps = 0.98 * np.clip(0.78 + 0.22 * np.clip(cosv, 0, 1) / 0.5, 0, 1)  # emissivity at grazing angles
        temp_img[ys, xs] = eps * a[:, 0] + (1 - eps) * ambient
        img[ys, xs] = rgb_app.shade(a[:, 1:4], nrm, view, light)
    _glasses(rig, heads, k, width, height, ambient, zb, temp_img, img, light)
    return temp_img, img, zb


def _glasses(rig, heads, k, width, height, ambient, zb: ZBuffer, temp_img, img, light) -> None:
    for h in heads:
        if not h.acc.glasses:
            continue
        gv, gf, frame = glasses_geometry(rig, h)
        gc = gv @ h.rot.T + h.trans
        g = rasterise(project(gc, k), gc[:, 2], gf, width, height)
        ys, xs, a = g.interpolate(gf, frame[:, None])
        front = g.depth[ys, xs] < zb.depth[ys, xs]
        ys, xs, a = ys[front], xs[front], a[front]
        temp_img[ys, xs] = th_app.glasses_temperature(h.thermal, ambient)  # glass is opaque in LWIR
        lens = 0.82 * img[ys, xs] + 0.18 * np.array([0.75, 0.8, 0.85])
        fcol = np.asarray(h.extra["frame_colour"]) * (light.ambient + 0.4)
        img[ys, xs] = np.where(a[:, :1] > 0.5, fcol, lens)


def _depth_test(k: np.ndarray, zb: ZBuffer, width: int, height: int, tol: float = 0.004):
    d = np.where(np.isfinite(zb.depth), zb.depth, 1e6).astype(np.float32)
    dmax = cv2.dilate(d, np.ones((3, 3), np.uint8))

    def seen(pts: np.ndarray) -> np.ndarray:
        uv = project(pts, k)
        ui = np.clip(np.round(uv[:, 0]).astype(int), 0, width - 1)
        vi = np.clip(np.round(uv[:, 1]).astype(int), 0, height - 1)
        return dmax[vi, ui] >= pts[:, 2] - tol

    return seen


def _visibility(rig: Rig, pts: np.ndarray, k: np.ndarray, zb: ZBuffer, width: int, height: int):
    uv = project(pts, k)
    inside = (uv[:, 0] >= 0) & (uv[:, 0] <= width - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= height - 1)
    d = np.where(np.isfinite(zb.depth), zb.depth, 1e6).astype(np.float32)
    dmax = cv2.dilate(d, np.ones((3, 3), np.uint8))
    ui = np.clip(np.round(uv[:, 0]).astype(int), 0, width - 1)
    vi = np.clip(np.round(uv[:, 1]).astype(int), 0, height - 1)
    tol = np.full(len(pts), 0.004)
    tol[[j for j in range(17) if j not in JAW_FIXED]] = 0.01  # outline points sit on grazing surfaces
    front = pts[:, 2] > 0.05
    return uv, inside & front & (dmax[vi, ui] >= pts[:, 2] - tol)


def _annotation(h: IctHead, uv: np.ndarray, vis: np.ndarray, width: int, height: int, breath: float) -> dict:
    box = np.array([uv[:68, 0].min(), uv[:68, 1].min(), uv[:68, 0].max(), uv[:68, 1].max()])
    box = np.clip(box, [0, 0, 0, 0], [width - 1, height - 1, width - 1, height - 1])
    return {"landmarks": np.round(uv, 4).tolist(), "visible": vis.astype(int).tolist(),
            "box": np.round(box, 3).tolist(),
            "pose": {"R": np.round(h.rot, 8).tolist(), "t": np.round(h.trans, 6).tolist(),
                     "yaw": round(h.ypr[0], 4), "pitch": round(h.ypr[1], 4), "roll": round(h.ypr[2], 4)},
            "face_model": "ict", "identity": h.person.pid, "identity_set": h.extra["identity_set"],
            "expression": {k: round(v, 3) for k, v in sorted(h.expression.items()) if v >= 0.05},
            "accessories": {"glasses": h.acc.glasses, "mask": h.acc.mask, "hat": h.acc.hat, "hood": h.acc.hood,
                            "scarf": h.acc.scarf, "beard": round(h.acc.beard, 3)},
            "breath": round(breath, 4), "skin_c": round(h.thermal.skin + h.person.skin_offset, 3)}


def _new_head(rig: Rig, rng, opts, ypr) -> IctHead:
    ypr = ypr if ypr is not None else sample_ypr(rng, opts.max_yaw, opts.max_pitch, opts.max_roll,
                                                 yaw_sd=opts.frontal_yaw_sd)
    ident = opts.identities if opts.identities != "auto" else "train"
    h = make_ict_head(rig, rng, ident, opts.expressions, opts.accessories, opts.glasses_prob, ypr)
    h.extra["identity_set"] = ident
    return h


def _subjects(rng, heads: List[IctHead], ambient: float) -> List[float]:
    breath = []
    for h in heads:
        h.thermal = th_app.sample_subject(rng, ambient)
        r = rgb_app.sample_subject(rng)
        p = h.person
        r.skin = np.clip(rgb_app.SKIN_TONES[p.skin_tone] * rng.uniform(0.95, 1.04, 3), 0, 1)
        r.lips = np.clip(r.skin * np.array([0.85, 0.55, 0.55]), 0, 1)
        r.hair = np.clip(rgb_app.HAIR_COLOURS[p.hair_colour] * rng.uniform(0.85, 1.15, 3), 0, 1)
        h.rgb = r
        h.extra["frame_colour"] = rng.uniform(0.0, 0.5, 3)
        h.extra["mask_colour"] = rng.uniform(0.3, 0.95, 3)
        h.extra["hat_colour"] = rng.uniform(0.05, 0.8, 3)
        breath.append(float(np.sin(rng.uniform(0, 2 * np.pi))))
    return breath


def render_ict_sample(index: int, seed: int, opts, ypr=None):
    """Like ``render.render_sample`` with ICT heads (a pure function of seed, index and options)."""
    from training.data.synth.render import Sample, _torso_like

    if opts.mode != "crops":  # scenes: people with bodies, distractors (one frame of a sequence)
        from training.data.synth.ict.scene import render_sequence

        return render_sequence(index, seed, opts, 1, ypr)[0]
    rig = load_rig(opts.face_model)
    rng = np.random.default_rng([int(seed), int(index), 7])
    sw, sh = SENSOR_SIZES[int(rng.integers(len(SENSOR_SIZES)))]
    k_full = intrinsics(sw, sh, float(rng.choice(HFOVS)))
    ambient = float(rng.uniform(15.0, 30.0))
    sensor = sample_sensor(rng, sw, sh)
    light = rgb_app.sample_light(rng)
    f = k_full[0, 0]
    heads: List[IctHead] = []
    if opts.mode == "crops":
        h = _new_head(rig, rng, opts, ypr)
        fw = float(np.exp(rng.uniform(np.log(28.0), np.log(0.7 * min(sw, sh)))))
        _place(h, k_full, rng.uniform(fw * 0.6, sw - fw * 0.6), rng.uniform(fw * 0.6, sh - fw * 0.6),
               f * FACE_WIDTH_M / fw)
        heads.append(h)
    else:
        for _ in range(int(rng.integers(0, opts.max_faces + 1))):
            h = _new_head(rig, rng, opts, ypr)
            dist = float(np.exp(rng.uniform(np.log(0.4), np.log(6.0))))
            _place(h, k_full, rng.uniform(-0.05, 1.05) * sw, rng.uniform(-0.05, 1.05) * sh, dist)
            heads.append(h)
    breath = _subjects(rng, heads, ambient)
    pts3 = [landmarks_3d(rig, h) for h in heads]

    view = frame_view(project(pts3[0], k_full)[:68] if opts.mode == "crops" else None, opts, rng, k_full, sw, sh,
                      ambient)
    k, width, height, x0, y0, side, bg_t = (view.k, view.width, view.height, view.x0, view.y0, view.side,
                                            view.background_c)
    bg_rgb = rgb_app.background(rng, width, height)
    _torso_like([(h.trans, h.scale, h.thermal.skin) for h in heads], k, bg_t, bg_rgb, rng, ambient)
    temp, img, zb = _render(rig, heads, k, width, height, ambient, breath, bg_t, bg_rgb, light)

    temp, rgb8 = through_sensor(temp, img, view, sensor, rng)
    faces = []
    seen = _depth_test(k, zb, width, height)
    pts3 = [landmarks_3d(rig, h, seen) for h in heads]  # the jaw on the outline the camera sees
    for h, p3, b in zip(heads, pts3, breath):
        uv, vis = _visibility(rig, p3, k, zb, width, height)
        faces.append(_annotation(h, uv, vis, width, height, b))
    ann = {"width": width, "height": height, "camera_matrix": np.round(k, 6).tolist(),
           "ambient_c": round(ambient, 3), "faces": faces,
           "sensor": {"width": sw, "height": sh, "crop": [x0, y0, side] if side is not None else None,
                      "netd_k": round(sensor.netd, 4), "blur_px": round(sensor.blur_sigma, 3)}}
    return Sample(to_counts(temp), rgb8, agc8(temp) if opts.agc8 else None, ann, temp.astype(np.float32), heads)


def split_identity_sets(samples) -> Tuple[set, set]:
    """(identities, identity sets) seen in a list of annotation samples (tests, analysis)."""
    ids, sets = set(), set()
    for s in samples:
        for f in s["faces"]:
            ids.add(f.get("identity"))
            sets.add(f.get("identity_set"))
    return ids, sets
