"""``thermal-fld``: run the pipeline offline on an image, a folder, a video or a .npy stack.

    thermal-fld predict SOURCE [--model M] [--out DIR] [--encoding E] [--fps F] [--set key=value ...]
    thermal-fld info [--model M]

``predict`` writes annotated images (or an annotated video for a video source) plus ``landmarks.json``
and ``landmarks.csv`` (one row per face: box, score, yaw/pitch/roll, translation, points, scores).
Errors (missing model, unreadable source, bad parameter) print one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np
import yaml

from .config import PipelineConfig
from .draw import draw_result
from .frames import ENCODINGS
from .landmark_model import LandmarkModel
from .normalise import normalise
from .types import FrameResult
from .video import video_frames

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".pgm", ".ppm"}
VIDEO_EXTS = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".mpg", ".mpeg"}


class CliError(Exception):
    """A user-facing problem (bad source, bad option)."""


def guess_encoding(arr: np.ndarray) -> str:
    """Encoding for an array read from a file (OpenCV colour images are BGR)."""
    if arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype == np.uint8:
        return "bgr8"
    if arr.ndim == 2 and arr.dtype == np.uint8:
        return "mono8"
    if arr.ndim == 2 and arr.dtype == np.uint16:
        return "16UC1"
    if arr.ndim == 2 and arr.dtype.kind == "f":
        return "32FC1"
    raise CliError(f"cannot tell the encoding of a {arr.dtype} array of shape {arr.shape}; pass --encoding")


def _read_image(path: Path) -> np.ndarray:
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise CliError(f"cannot read image {path}")
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return arr


def iter_source(source: Path) -> Tuple[str, int, Iterator[Tuple[str, np.ndarray]], Optional[float]]:
    """(kind 'images'|'video', frame count, iterator of (name, array), video fps or None)."""
    if not source.exists():
        raise CliError(f"source not found: {source}")
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_EXTS | {".npy"})
        if not files:
            raise CliError(f"no images (.png/.jpg/.tiff/.npy) in {source}")
        return "images", len(files), ((p.name, _load_file(p)) for p in files), None
    ext = source.suffix.lower()
    if ext == ".npy":
        arr = np.load(source, allow_pickle=False)
        if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype == np.uint8 and arr.shape[0] > 3):
            arr = arr[None]
        if arr.ndim not in (3, 4):
            raise CliError(f"{source}: expected a (N, H, W) stack, got shape {arr.shape}")
        return "images", len(arr), ((f"{source.stem}_{i:06d}.png", arr[i]) for i in range(len(arr))), None
    if ext in IMAGE_EXTS:
        return "images", 1, iter([(source.name, _read_image(source))]), None
    if ext in VIDEO_EXTS:
        cap = cv2.VideoCapture(str(source))
        if not cap.isOpened():
            raise CliError(f"cannot open video {source}")
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        cap.release()
        frames = ((f"frame_{i:06d}", img) for i, img in enumerate(video_frames(source)))
        return "video", n, frames, (fps if fps > 0 else None)
    raise CliError(f"unsupported source {source} (image, folder, video or .npy)")


def _load_file(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False) if path.suffix.lower() == ".npy" else _read_image(path)


def face_rows(index: int, name: str, stamp: float, result: FrameResult) -> List[dict]:
    rows = []
    for f in result.faces:
        row = {"frame": index, "source": name, "stamp_s": round(stamp, 6), "track_id": f.track_id,
               "score": round(f.score, 4), "box": [round(float(v), 2) for v in f.box],
               "landmarks": np.round(f.landmarks, 2).tolist(), "scores": np.round(f.scores, 3).tolist(),
               "pose": None}
        if f.pose is not None:
            row["pose"] = {"yaw_pitch_roll_deg": [round(v, 2) for v in f.pose.yaw_pitch_roll_deg],
                           "translation_m": np.round(f.pose.translation, 4).tolist(),
                           "rotation": np.round(f.pose.rotation, 5).tolist(),
                           "reprojection_error_px": round(f.pose.reprojection_error_px, 3)}
        rows.append(row)
    return rows


def _csv_header(num_points: int) -> List[str]:
    head = ["frame", "source", "stamp_s", "track_id", "score", "box_x0", "box_y0", "box_x1", "box_y1", "yaw_deg",
            "pitch_deg",
            "roll_deg", "tx_m", "ty_m", "tz_m"]
    return head + [f"{a}{i}" for i in range(num_points) for a in ("x", "y")] + [f"s{i}" for i in range(num_points)]


def _csv_row(r: dict) -> list:
    pose = r["pose"]
    ypr = pose["yaw_pitch_roll_deg"] if pose else ["", "", ""]
    t = pose["translation_m"] if pose else ["", "", ""]
    pts = [v for p in r["landmarks"] for v in p]
    return [r["frame"], r["source"], r["stamp_s"], r["track_id"], r["score"], *r["box"], *ypr, *t, *pts, *r["scores"]]


def parse_sets(pairs: List[str]) -> dict:
    out = {}
    for item in pairs or []:
        if "=" not in item:
            raise CliError(f"--set expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


def load_config(args) -> PipelineConfig:
    """Parameters from --config (flat YAML or a ROS 2 parameter file; node-only keys are ignored),
    then --set overrides (strict), then --model."""
    from dataclasses import fields

    known = {f.name for f in fields(PipelineConfig)}
    params = {}
    if args.config:
        doc = yaml.safe_load(Path(args.config).read_text()) or {}
        if not isinstance(doc, dict):
            raise CliError(f"{args.config}: expected a mapping of parameters")
        for v in doc.values():  # ROS 2 parameter file: {node: {ros__parameters: {...}}}
            if isinstance(v, dict) and "ros__parameters" in v:
                doc = v["ros__parameters"]
                break
        params.update({k: v for k, v in doc.items() if k in known})
    params.update(parse_sets(args.set))
    if args.model:
        params["model_path"] = str(args.model)
    return PipelineConfig.from_dict(params)


def cmd_predict(args) -> int:
    from tqdm import tqdm

    from .frames import FrameError, from_array
    from .pipeline import Pipeline

    cfg = load_config(args)
    pipe = Pipeline(cfg)
    for w in pipe.startup_warnings:
        print(f"warning: {w}", file=sys.stderr)
    kind, n, frames, video_fps = iter_source(Path(args.source))
    fps = args.fps or video_fps or 30.0
    out = Path(args.out)
    (out / "annotated").mkdir(parents=True, exist_ok=True) if kind == "images" else out.mkdir(parents=True,
                                                                                                exist_ok=True)
    writer = None
    rows: List[dict] = []
    frames_json = []
    norm_cfg = pipe.frame_cfg.normalise_config()
    bar = tqdm(frames, total=n or None, disable=not args.show_progress, unit="frame", desc="thermal-fld")
    n_faces = 0
    for i, (name, arr) in enumerate(bar):
        stamp = i / fps
        encoding = args.encoding or guess_encoding(arr)
        try:
            frame = from_array(arr, encoding, pipe.frame_cfg)
        except FrameError as exc:
            frames_json.append({"frame": i, "source": name, "warnings": [f"bad frame: {exc}"], "faces": []})
            print(f"warning: {name}: {exc}", file=sys.stderr)
            continue
        if args.independent:
            pipe.reset()  # unrelated images: no tracking from one to the next
        result = pipe.process(frame, stamp)
        face_list = face_rows(i, name, stamp, result)
        n_faces += len(face_list)
        rows.extend(face_list)
        frames_json.append({"frame": i, "source": name, "stamp_s": round(stamp, 6), "width": result.width,
                            "height": result.height, "warnings": result.warnings, "faces": face_list})
        overlay = draw_result(normalise(frame.data, frame.kind, norm_cfg), result)
        if kind == "video":
            if writer is None:
                writer = cv2.VideoWriter(str(out / "annotated.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                         (overlay.shape[1], overlay.shape[0]))
            writer.write(overlay)
        else:
            cv2.imwrite(str(out / "annotated" / (Path(name).stem + ".png")), overlay)
    if writer is not None:
        writer.release()
    meta = pipe.meta
    doc = {"model": str(pipe.model.path), "model_name": meta.model_name, "scheme": meta.scheme,
           "num_points": meta.num_points, "source": str(args.source), "config": cfg.to_dict(), "frames": frames_json}
    (out / "landmarks.json").write_text(json.dumps(doc, indent=1))
    with open(out / "landmarks.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(_csv_header(meta.num_points))
        for r in rows:
            w.writerow(_csv_row(r))
    print(f"{len(frames_json)} frames, {n_faces} faces -> {out}")
    return 0


def cmd_info(args) -> int:
    cfg = load_config(args)
    model = LandmarkModel(cfg.resolved_model_path(), cfg.providers, allow_untrained=True)
    info = {"path": str(model.path), "providers": model.providers,
            "inputs": [{"name": i.name, "shape": i.shape} for i in model.session.get_inputs()],
            "outputs": [{"name": o.name, "shape": o.shape} for o in model.session.get_outputs()],
            "metadata": json.loads(model.meta.to_json())}
    print(json.dumps(info, indent=2))
    if not model.meta.trained:
        print("warning: this model is NOT marked trained; the pipeline refuses it", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="thermal-fld", description="Thermal facial landmarks and head pose, offline.")
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--model", help="landmark ONNX model (default: the bundled student)")
        p.add_argument("--config", help="YAML of pipeline parameters (flat, or a ROS 2 parameter file)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one parameter")

    p = sub.add_parser("predict", help="landmarks + head pose for an image, folder, video or .npy stack")
    p.add_argument("source")
    p.add_argument("--out", default="thermal_fld_out", help="output folder (default: %(default)s)")
    p.add_argument("--encoding", choices=sorted(ENCODINGS), help="pixel meaning (default: from the file type)")
    p.add_argument("--fps", type=float, help="frame rate for stamps of images/.npy (default 30 or the video's)")
    p.add_argument("--show-progress", action="store_true", help="progress bar")
    p.add_argument("--independent", action="store_true",
                   help="images are unrelated (detect in each; no tracking between them)")
    common(p)
    p.set_defaults(func=cmd_predict)
    p = sub.add_parser("info", help="print the model's metadata")
    common(p)
    p.set_defaults(func=cmd_info)
    return ap


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (CliError, FileNotFoundError, ValueError, OSError) as exc:
        print(f"thermal-fld: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
