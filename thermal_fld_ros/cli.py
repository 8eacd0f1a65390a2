"""``thermal-fld``: run the pipeline offline on an image, a folder, a video or a .npy stack.

    thermal-fld predict SOURCE [--model M] [--out DIR] [--encoding E] [--fps F] [--set key=value ...]
    thermal-fld info [--model M]

``predict`` streams its results: ``landmarks.jsonl`` (one JSON object per frame: status, issues, faces)
and ``landmarks.csv`` (one row per face: box, score, yaw/pitch/roll, translation, points, scores, region
temperatures with their quality, breathing rate; see docs/runtime.md) are
flushed after every frame, and ``summary.json`` (counts, issues by reason, every input that failed) is
written at the end, also when the run is stopped by SIGINT/SIGTERM. Annotated images (or an annotated
video for a video source) go to the same folder. An unreadable or refused input is skipped with one
line and listed in the summary.

Exit status: 0 every input processed; 2 nothing could start (missing model or source, bad option or
parameter); 3 finished, but some inputs failed (see ``failed_inputs`` in summary.json); 130/143 stopped
by SIGINT/SIGTERM (the outputs so far are complete and the summary is written).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional

import cv2
import numpy as np
import yaml

from .config import PipelineConfig, closest_name
from .draw import draw_result
from .file_source import FileSource, SourceError
from .ingest import ENCODINGS
from .landmark_model import LandmarkModel
from .memory import return_large_buffers_to_os
from .normalise import normalise
from .thermometry import thermal_record
from .types import REGIONS, FrameResult, FrameStatus, Issue

EXIT_OK, EXIT_ERROR, EXIT_INPUTS_FAILED = 0, 2, 3


class CliError(Exception):
    """A user-facing problem (bad source, bad option)."""


def face_rows(index: int, name: str, stamp: float, result: FrameResult) -> List[dict]:
    rows = []
    for f in result.faces:
        row = {"frame": index, "source": name, "stamp_s": round(stamp, 6), "track_id": f.track_id,
               "score": round(f.score, 4), "box": [round(float(v), 2) for v in f.box],
               "landmarks": np.round(f.landmarks, 2).tolist(), "scores": np.round(f.scores, 3).tolist(),
               "pose": None, "thermal": thermal_record(f)}
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
    return (head + [f"{a}{i}" for i in range(num_points) for a in ("x", "y")] + [f"s{i}" for i in range(num_points)]
            + [f"{c}_{r.value}" for r in REGIONS for c in ("t", "q")]
            + ["breathing_bpm", "breathing_confidence", "breathing_state"])


def _csv_thermal(th: Optional[dict]) -> list:
    """t_<region> (°C, empty when unavailable), q_<region> (quality label), breathing rate/confidence/state."""
    if th is None:
        return [""] * (2 * len(REGIONS) + 3)
    out = []
    for r in REGIONS:
        reading = th["regions"][r.value]
        out += ["" if reading["temperature_c"] is None else reading["temperature_c"], reading["quality"]]
    b = th["breathing"] or {}
    rate = b.get("rate_bpm")
    return out + ["" if rate is None else rate, b.get("confidence", ""), b.get("state", "")]


def _csv_row(r: dict) -> list:
    pose = r["pose"]
    ypr = pose["yaw_pitch_roll_deg"] if pose else ["", "", ""]
    t = pose["translation_m"] if pose else ["", "", ""]
    pts = [v for p in r["landmarks"] for v in p]
    return [r["frame"], r["source"], r["stamp_s"], r["track_id"], r["score"], *r["box"], *ypr, *t, *pts, *r["scores"],
            *_csv_thermal(r["thermal"])]


def _yaml_value(text: str, where: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CliError(f"{where}: {_yaml_problem(exc)}") from exc


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else \
        f"invalid YAML: {problem}"


def parse_sets(pairs: List[str]) -> dict:
    out = {}
    for item in pairs or []:
        if "=" not in item:
            raise CliError(f"--set expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = _yaml_value(v, f"--set {item}")
    return out


def load_config(args) -> PipelineConfig:
    """Parameters from --config (flat YAML or a ROS 2 parameter file; node-only keys are ignored, other
    unknown keys warned about), then --set overrides (strict), then --model."""
    from dataclasses import fields

    from .ros.parameters import NODE_PARAMS

    known = {f.name for f in fields(PipelineConfig)}
    params = {}
    if args.config:
        try:
            text = Path(args.config).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"--config {args.config}: cannot read ({exc.strerror or exc})") from exc
        doc = _yaml_value(text, args.config) or {}
        if not isinstance(doc, dict):
            raise CliError(f"{args.config}: expected a mapping of parameters, got {type(doc).__name__}")
        for v in doc.values():  # ROS 2 parameter file: {node: {ros__parameters: {...}}}
            if isinstance(v, dict) and "ros__parameters" in v:
                doc = v["ros__parameters"] or {}
                break
        node_only = {p.name for p in NODE_PARAMS} | {"use_sim_time"}
        for k in sorted(set(doc) - known - node_only, key=str):
            print(f"warning: {args.config}: unknown parameter {k!r} ignored{closest_name(str(k), known | node_only)}",
                  file=sys.stderr)
        params.update({k: v for k, v in doc.items() if k in known})
    params.update(parse_sets(args.set))
    if args.model:
        params["model_path"] = str(args.model)
    return PipelineConfig.from_dict(params)


class _Stop:
    """SIGINT/SIGTERM: finish the current frame, then stop (a second signal stops at once)."""

    def __init__(self):
        self.signum: Optional[int] = None
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False

    def _handle(self, signum, _frame):
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum


class _StreamWriter:
    """landmarks.jsonl + landmarks.csv, flushed after every frame so a stopped run keeps what it did."""

    def __init__(self, out: Path, num_points: int):
        self.jsonl = open(out / "landmarks.jsonl", "w", encoding="utf-8")
        self.csv_fh = open(out / "landmarks.csv", "w", newline="", encoding="utf-8")
        self.csv = csv.writer(self.csv_fh)
        self.csv.writerow(_csv_header(num_points))
        self.csv_fh.flush()

    def frame(self, record: dict) -> None:
        self.jsonl.write(json.dumps(record) + "\n")
        for r in record.get("faces", []):
            self.csv.writerow(_csv_row(r))
        self.jsonl.flush()
        self.csv_fh.flush()

    def close(self) -> None:
        self.jsonl.close()
        self.csv_fh.close()


def _issues_json(issues: List[Issue]) -> List[dict]:
    return [{"reason": i.reason.value, "message": i.message} for i in issues]


def _write_json(path: Path, doc: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def cmd_predict(args) -> int:
    from tqdm import tqdm

    from .frames import from_array
    from .ingest import FrameError
    from .pipeline import Pipeline

    cfg = load_config(args)
    pipe = Pipeline(cfg)
    for w in pipe.startup_warnings:
        print(f"warning: {w}", file=sys.stderr)
    try:
        source = FileSource(args.source, encoding=args.encoding or "")
    except SourceError as exc:
        raise CliError(str(exc)) from exc
    fps = args.fps or source.fps or 30.0
    out = Path(args.out)
    video_out = source.kind == "video"
    out.mkdir(parents=True, exist_ok=True)
    if not video_out:
        (out / "annotated").mkdir(exist_ok=True)
    meta = pipe.meta
    norm_cfg = pipe.frame_cfg.normalise_config()
    status = Counter()
    by_reason: Counter = Counter()
    failed: List[Dict[str, str]] = []
    n_frames = n_faces = 0
    summary = {"model": str(pipe.model.path), "model_name": meta.model_name, "scheme": meta.scheme,
               "num_points": meta.num_points, "source": str(args.source), "config": cfg.to_dict(),
               "outputs": {"frames": "landmarks.jsonl", "faces": "landmarks.csv"}}
    writer = _StreamWriter(out, meta.num_points)
    video = None
    stop = _Stop()
    try:
        with stop:
            bar = tqdm(source.frames(), total=source.count, disable=not args.show_progress, unit="frame",
                       desc="thermal-fld")
            for i, sf in enumerate(bar):
                stamp = i / fps
                n_frames += 1
                record = {"frame": i, "source": sf.name, "stamp_s": round(stamp, 6)}
                frame = None
                if sf.issue is not None:
                    result = FrameResult(faces=[], width=0, height=0, issues=[sf.issue])
                else:
                    try:
                        frame = from_array(sf.array, sf.encoding, pipe.frame_cfg)
                    except FrameError as exc:
                        result = FrameResult(faces=[], width=0, height=0, issues=[exc.issue()])
                    else:
                        if args.independent:
                            pipe.reset()  # unrelated images: no tracking from one to the next
                        result = pipe.process(frame, stamp)
                st = result.status
                status[st.value] += 1
                by_reason.update(i_.reason.value for i_ in result.issues)
                if st == FrameStatus.REFUSED:
                    first = next(i_ for i_ in result.issues if i_.refused)
                    failed.append({"source": sf.name, "reason": first.reason.value, "message": first.message})
                    print(f"thermal-fld: skipped {sf.name}: {first.message} [{first.reason.value}]", file=sys.stderr)
                face_list = face_rows(i, sf.name, stamp, result)
                n_faces += len(face_list)
                record.update({"width": result.width, "height": result.height, "status": st.value,
                               "issues": _issues_json(result.issues), "faces": face_list})
                writer.frame(record)
                if frame is not None and st != FrameStatus.REFUSED:
                    overlay = draw_result(normalise(frame.data, frame.kind, norm_cfg), result)
                    if video_out:
                        if video is None:
                            video = cv2.VideoWriter(str(out / "annotated.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                                                    fps, (overlay.shape[1], overlay.shape[0]))
                        video.write(overlay)
                    else:
                        cv2.imwrite(str(out / "annotated" / (Path(sf.name).stem + ".png")), overlay)
                if stop.signum is not None:
                    break
    except KeyboardInterrupt:
        stop.signum = stop.signum or signal.SIGINT
    finally:
        writer.close()
        if video is not None:
            video.release()
        interrupted = signal.Signals(stop.signum).name if stop.signum is not None else None
        code = 128 + int(stop.signum) if stop.signum is not None else (EXIT_INPUTS_FAILED if failed else EXIT_OK)
        summary.update({"frames": n_frames, "faces": n_faces, "status": dict(status),
                        "issues_by_reason": dict(by_reason), "failed_inputs": failed,
                        "interrupted": interrupted, "exit_code": code})
        _write_json(out / "summary.json", summary)
    tail = f"; stopped by {interrupted}" if interrupted else ""
    bad = f"; {len(failed)} input(s) failed (listed in summary.json)" if failed else ""
    print(f"{n_frames} frames, {n_faces} faces -> {out}{bad}{tail}")
    return code


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
    p.add_argument("--encoding", choices=sorted(ENCODINGS),
                   help="pixel meaning (default: from the dtype: uint8 mono8, colour bgr8, uint16 16UC1, float 32FC1)")
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
    return_large_buffers_to_os()
    try:
        return int(args.func(args))
    except (CliError, FileNotFoundError, ValueError, OSError) as exc:
        print(f"thermal-fld: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # before the run started (e.g. while loading the model)
        print("thermal-fld: interrupted", file=sys.stderr)
        return 128 + int(signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
