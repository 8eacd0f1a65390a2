#!/usr/bin/env python3
"""Real faces as a video: each participant's Chips Thermal Face frames in index order, through the pipeline
(default) or the real node over DDS (``--node``), scored against the true face boxes.

Prints, per sequence and overall:
  hit     share of true faces with a published face whose landmark-box centre lies inside the true box
  false   published faces per frame whose centre lies in no true box; "on a face": of those, the ones whose
          landmark box still overlaps a true box by IoU >= 0.2 (landmarks misplaced on a found face, e.g. spread
          over the back of a head in profile), the rest lie on no face (detector false positives)
  switch  track id switches: a true face (linked frame to frame) covered by another track id than before
  body    body-sized boxes: landmark box side > 2 x the side of the true face it lies on (or of the
          largest true face of the frame, for a false face)

The 300 frames (../shared/data/real_thermal/chips_thermal_face, non-commercial research terms: evaluation
only) are sampled evenly from each participant's sequence, so consecutive frames are further apart than
in a live stream; they are played at --fps with header stamps, each sequence 100 s before the previous
one, so the stamp policy (a jump back > 2 s is a new stream) resets the tracks between sequences.
``--node`` publishes bgr8 images (reliable QoS, one frame at a time: the next is sent when the node's
``faces`` table for the last one has arrived) to a node started as a separate process, localhost only.

    .venv/bin/python bench/eval_real_sequences.py                 # pipeline, tracker rules on (defaults)
    .venv/bin/python bench/eval_real_sequences.py --rules off     # the tracker without its bounds (before)
    .venv/bin/python bench/eval_real_sequences.py --one-by-one    # every frame alone (as the CLI on files)
    .venv/bin/python bench/eval_real_sequences.py --node          # the real node over DDS
    .venv/bin/python bench/eval_real_sequences.py -p detector=centreface -p detection_threshold=0.37 \
        --fold-models runs/det_lopo_mix   # each participant with the detector trained without them
"""
from __future__ import annotations

import os

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # before rclpy: no multicast off this machine
os.environ["ROS_LOCALHOST_ONLY"] = "1"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, List, Tuple  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thermal_fld_ros.detector import box_iou  # noqa: E402
from training.detection_eval import DEFAULT_DATA, load_dataset  # noqa: E402

# The tracker without its bounds: what the pipeline did before presence/size/confirmation rules.
RULES_OFF = {"presence_threshold": 0.0, "max_box_scale_step": 10.0, "max_box_vs_detection": 20.0,
             "max_unconfirmed_detections": 1000, "reseat_iou": 0.0,
             "detection_reach": 0.0}
BODY_FACTOR = 2.0
MISPLACED_IOU = 0.2  # a false face overlapping a true box this much is a misplaced face, not a false positive


@dataclass
class Published:
    track_id: int
    box: np.ndarray  # landmark box x0 y0 x1 y1


@dataclass
class Score:
    frames: int = 0
    faces: int = 0
    hits: int = 0
    false: int = 0
    false_on_face: int = 0
    switches: int = 0
    body: int = 0
    published: int = 0
    per_frame: List[Tuple[int, int]] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for k in ("frames", "faces", "hits", "false", "false_on_face", "switches", "body", "published"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def line(self, name: str) -> str:
        return (f"{name:>8}: {self.frames:3d} frames {self.faces:3d} faces | hit {self.hits / max(self.faces, 1):.3f} "
                f"| false/frame {self.false / max(self.frames, 1):.3f} ({self.false_on_face} of {self.false} on a face) "
                f"| id switches {self.switches:2d} "
                f"| body-sized {self.body:2d} | published {self.published}")


def sequences(data: Path) -> Dict[str, list]:
    """participant -> [(name, bgr, gt boxes)] in frame-index order."""
    seqs: Dict[str, list] = defaultdict(list)
    for item in load_dataset(data):
        m = re.match(r"(.+)_(\d+)$", item[0])
        if m:
            seqs[m.group(1)].append((int(m.group(2)), item))
    return {k: [it for _, it in sorted(v, key=lambda p: p[0])] for k, v in sorted(seqs.items())}


def centre(box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0])


def inside(p, box) -> bool:
    return bool(box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3])


def side(box) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


def link(prev_gt: np.ndarray, prev_ids: List[int], gt: np.ndarray, next_id: List[int]) -> List[int]:
    """Person ids of this frame's true faces: the previous frame's best-IoU face (>= 0.1), or the only face
    when both frames have one, else a new person."""
    ids, used = [], set()
    for g in gt:
        best, j = 0.0, -1
        for k, p in enumerate(prev_gt):
            iou = box_iou(g, p)
            if k not in used and iou > best:
                best, j = iou, k
        if j < 0 or best < 0.1:
            j = 0 if (len(gt) == 1 and len(prev_gt) == 1) else -1
        if j >= 0:
            used.add(j)
            ids.append(prev_ids[j])
        else:
            ids.append(next_id[0])
            next_id[0] += 1
    return ids


def score_sequence(items, published: List[List[Published]]) -> Score:
    s = Score()
    prev_gt, prev_ids, next_id = np.zeros((0, 4)), [], [0]
    last_track: Dict[int, int] = {}  # person -> track id that last covered them
    for (_, _, gt), faces in zip(items, published):
        persons = link(prev_gt, prev_ids, gt, next_id)
        prev_gt, prev_ids = gt, persons
        s.frames += 1
        s.faces += len(gt)
        s.published += len(faces)
        covered = set()
        for f in faces:
            c = centre(f.box)
            on = [j for j, g in enumerate(gt) if inside(c, g)]
            if not on:
                s.false += 1
                s.false_on_face += int(any(box_iou(f.box, g) >= MISPLACED_IOU for g in gt))
                ref = max((side(g) for g in gt), default=0.0)
            else:
                j = min(on, key=lambda j: side(gt[j]))
                ref = side(gt[j])
                if j not in covered:
                    covered.add(j)
                    p = persons[j]
                    if p in last_track and last_track[p] != f.track_id:
                        s.switches += 1
                    last_track[p] = f.track_id
            if ref > 0 and side(f.box) > BODY_FACTOR * ref:
                s.body += 1
        s.hits += len(covered)
    return s


def parse_params(pairs) -> dict:
    """``-p NAME=VALUE`` overrides -> {name: YAML value}."""
    import yaml

    out = {}
    for p in pairs or []:
        k, _, v = p.partition("=")
        out[k.strip()] = yaml.safe_load(v)
    return out


def fold_model(fold_dir: Path, name: str) -> Path:
    """The LOPO fold's detector that never saw participant ``name``; exits with the reason when it is absent."""
    from training.detector.lopo import fold_model as lopo_fold_model

    try:
        return lopo_fold_model(fold_dir, name)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from exc


def run_pipeline(seqs, cfg_over: dict, fps: float, one_by_one: bool,
                 fold_dir: Path = None) -> Dict[str, List[List[Published]]]:
    from thermal_fld_ros.config import PipelineConfig
    from thermal_fld_ros.pipeline import Pipeline

    pipe = Pipeline(PipelineConfig.from_dict(cfg_over)) if fold_dir is None else None
    out = {}
    for k, (name, items) in enumerate(seqs.items()):
        if fold_dir is not None:  # out of sample: this participant's frames never trained the detector
            pipe = Pipeline(PipelineConfig.from_dict(dict(cfg_over, detector_model_path=str(fold_model(fold_dir, name)))))
        res = []
        for i, it in enumerate(items):
            if one_by_one:
                pipe.reset()
            r = pipe.process_array(it.image, it.encoding, stamp(k, i, fps))
            res.append([Published(f.track_id, np.asarray(f.box)) for f in r.faces])
        out[name] = res
    return out


def stamp(seq_index: int, frame_index: int, fps: float) -> float:
    return 10000.0 - 100.0 * seq_index + frame_index / fps


def run_node(seqs, cfg_over: dict, fps: float) -> Dict[str, List[List[Published]]]:
    import subprocess
    import threading
    import time

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, PointCloud2

    from thermal_fld_ros.ros.face_table import decode
    from thermal_fld_ros.ros.image_conversion import array_to_image

    # this checkout's node (not an installed entry point): the subprocess finds the package through sys.path
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    cmd = [sys.executable, "-m", "thermal_fld_ros.ros.landmark_node"]
    ns = f"/realseq_{os.getpid()}"
    params = ["-p", "qos_reliability:=reliable"]
    for k, v in cfg_over.items():
        params += ["-p", f"{k}:={v}"]
    proc = subprocess.Popen(cmd + ["--ros-args", "-r", f"__ns:={ns}"] + params + ["--log-level", "error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    rclpy.init()
    node = rclpy.create_node("realseq_eval")
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    got: Dict[Tuple[int, int], List[Published]] = {}
    cv = threading.Condition()

    def on_faces(msg: PointCloud2):
        rows = decode(msg)
        faces = []
        for r in rows:
            u, v = np.asarray(r["u"], float), np.asarray(r["v"], float)
            ok = np.isfinite(u) & np.isfinite(v)
            box = np.array([u[ok].min(), v[ok].min(), u[ok].max(), v[ok].max()]) if ok.any() \
                else np.asarray(r["box"], float)
            faces.append(Published(int(r["track_id"]), box))
        with cv:
            got[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = faces
            cv.notify_all()

    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(PointCloud2, f"{ns}/faces", on_faces, qos)
    pub = node.create_publisher(Image, f"{ns}/image", qos)
    spinner = threading.Thread(target=ex.spin, daemon=True)
    spinner.start()
    out = {}
    try:
        deadline = time.monotonic() + 60
        while pub.get_subscription_count() == 0 or node.count_publishers(f"{ns}/faces") == 0:
            if proc.poll() is not None:
                raise SystemExit(f"node exited: {proc.stderr.read()}")
            if time.monotonic() > deadline:
                raise SystemExit("node did not come up in 60 s")
            time.sleep(0.05)
        lost = 0
        for k, (name, items) in enumerate(seqs.items()):
            res = []
            for i, it in enumerate(items):
                msg = array_to_image(np.ascontiguousarray(it.image), it.encoding)
                t = stamp(k, i, fps)
                msg.header.frame_id = "thermal_optical"
                msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int(round((t % 1) * 1e9)) % 10 ** 9
                key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
                pub.publish(msg)
                with cv:
                    cv.wait_for(lambda k=key: k in got, timeout=5.0)
                    faces = got.get(key)
                if faces is None:
                    lost += 1
                res.append(faces or [])
            out[name] = res
        if lost:
            print(f"WARNING: {lost} frames got no faces table from the node within 5 s (counted as no face)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        ex.shutdown(timeout_sec=2.0)
        spinner.join(timeout=5.0)  # a spin thread alive at exit aborts the interpreter ("terminate called")
        node.destroy_node()
        rclpy.try_shutdown()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--fps", type=float, default=9.0, help="stamp rate of the played frames")
    ap.add_argument("--rules", choices=("on", "off"), default="on",
                    help="off: the tracker without presence/size/confirmation bounds (the behaviour before them)")
    ap.add_argument("--one-by-one", action="store_true", help="reset the tracks before every frame (pipeline only)")
    ap.add_argument("--node", action="store_true", help="play through the real node over DDS (localhost)")
    ap.add_argument("--fold-models", type=Path, default=None, metavar="DIR",
                    help="a `training detector lopo --out DIR`: play each participant with the fold model trained "
                         "without them (pipeline only; give -p detector=centreface)")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                    help="pipeline parameter override (YAML value), e.g. -p detection_interval=5")
    a = ap.parse_args(argv)
    if not (a.data / "images").is_dir():
        print(f"no dataset at {a.data} (expected images/ and annotations_yolo_format/): nothing to evaluate")
        return 1
    over = dict(RULES_OFF) if a.rules == "off" else {}
    over.update(parse_params(a.param))
    seqs = sequences(a.data)
    if a.node and a.fold_models:
        print("--fold-models plays each sequence with its own detector: pipeline only, not with --node")
        return 2
    if a.node:
        published = run_node(seqs, over, a.fps)
        how = "node over DDS"
    else:
        published = run_pipeline(seqs, over, a.fps, a.one_by_one, a.fold_models)
        how = "pipeline" + (", one frame at a time" if a.one_by_one else "")
        if a.fold_models:
            how += f", detector of the LOPO fold without each participant ({a.fold_models})"
    print(f"real sequences ({a.data.name}, {sum(len(v) for v in seqs.values())} frames) through the {how}, "
          f"{a.fps:g} fps, tracker rules {a.rules}" + (f", overrides {over}" if over else ""))
    total = Score()
    for name, items in seqs.items():
        s = score_sequence(items, published[name])
        total.add(s)
        print(s.line(name))
    print(total.line("all"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
