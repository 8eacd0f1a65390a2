"""Fit the warm-head detector's candidate scorer and box regressor on real Lepton frames with face boxes.

Candidates and features come from ``ThermalBlobDetector`` exactly as at run time. A one hidden-layer MLP
gives each candidate a face score (label: box IoU >= 0.5 with a labelled face) and the labelled box
relative to the candidate's (learned on candidates with IoU >= 0.3). The honest
figure is leave-one-participant-out (each participant's frames are scored by parameters fitted without
them); the parameters fitted on all frames are written to thermal_fld_ros/data/thermal_blob_detector.json.
Needs torch (training environment); the runtime only reads the JSON with numpy.

    .venv/bin/python bench/fit_detector.py [--data DIR] [--out JSON] [--no-write]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from eval_detector import DEFAULT_DATA, evaluate, load_dataset  # noqa: E402

from thermal_fld_ros.config import PipelineConfig  # noqa: E402
from thermal_fld_ros.detector import (  # noqa: E402
    DETECTOR_PARAMS_PATH,
    FEATURE_NAMES,
    BlobDetectorParams,
    ThermalBlobDetector,
    box_iou,
)
from thermal_fld_ros.frames import from_array  # noqa: E402
from thermal_fld_ros.normalise import normalise  # noqa: E402
from training.detection_eval import BoxedFrame  # noqa: E402


def mirrored(items):
    """Left-right mirrored copies (faces are near-symmetric): doubles the fitting data."""
    out = []
    for it in items:
        w = it.image.shape[1]
        g = it.boxes.copy()
        g[:, [0, 2]] = w - it.boxes[:, [2, 0]]
        out.append(BoxedFrame(it.name, np.ascontiguousarray(it.image[:, ::-1]), g))
    return out


def collect(items, det: ThermalBlobDetector, cfg: PipelineConfig):
    """Per image: features (K, F), candidate boxes (K, 4), best IoU (K,), box targets (K, 4)."""
    fcfg = cfg.frame_config()
    out = []
    for it in items:
        gt = it.boxes
        frame = from_array(it.image, it.encoding, fcfg)
        f01 = normalise(frame.data, frame.kind, fcfg.normalise_config())
        work, s = det.prepare(f01)
        feats, discs = det.candidates(work, s)
        boxes = det.raw_boxes(discs, s) if len(discs) else np.zeros((0, 4))
        ious = np.zeros(len(boxes))
        targets = np.zeros((len(boxes), 4))
        for k, b in enumerate(boxes):
            if len(gt):
                iou = [box_iou(b, g) for g in gt]
                j = int(np.argmax(iou))
                ious[k] = iou[j]
                targets[k] = box_deltas(b, gt[j])
        out.append((feats, boxes, ious, targets))
    return out


def box_deltas(b, g):
    bw, bh = b[2] - b[0], b[3] - b[1]
    gw, gh = g[2] - g[0], g[3] - g[1]
    return np.array([((g[0] + g[2]) - (b[0] + b[2])) / 2 / bw, ((g[1] + g[3]) - (b[1] + b[3])) / 2 / bh,
                     np.log(gw / bw), np.log(gh / bh)])


def fit(x, iou, targets, hidden=48, epochs=400, wd=1e-3, seed=0):
    """One hidden layer, 5 outputs: face logit + 4 box deltas (learned on candidates with IoU >= 0.3)."""
    import torch

    torch.manual_seed(seed)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    y = (iou >= 0.5).astype(np.float32)
    xt, yt = torch.tensor(z, dtype=torch.float32), torch.tensor(y)
    tt = torch.tensor(targets, dtype=torch.float32)
    sel = torch.tensor(iou >= 0.3)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 5))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=wd)
    pw = torch.tensor(float((y == 0).sum() / max(y.sum(), 1)))
    for _ in range(epochs):
        opt.zero_grad()
        out = net(xt)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], yt, pos_weight=pw)
        loss = loss + 10.0 * torch.nn.functional.smooth_l1_loss(out[sel, 1:], tt[sel], beta=0.1)
        loss.backward()
        opt.step()
    return {
        "feature_names": list(FEATURE_NAMES), "mean": mu.tolist(), "std": sd.tolist(),
        "w1": net[0].weight.detach().numpy().T.tolist(), "b1": net[0].bias.detach().numpy().tolist(),
        "w2": net[2].weight.detach().numpy().T.tolist(), "b2": net[2].bias.detach().numpy().tolist(),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DETECTOR_PARAMS_PATH)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--mirror", type=int, default=0,
                    help="also fit on left-right mirrored frames (tried: CV AP 0.542 vs 0.541 without; default 0)")
    ap.add_argument("--max-faces", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=48)
    ap.add_argument("--weight-decay", type=float, default=1e-3)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    items = load_dataset(args.data)
    cfg = PipelineConfig()
    base = BlobDetectorParams(min_face_px=cfg.min_face_px)
    det = ThermalBlobDetector(base, scorer={})
    recs = collect(items, det, cfg)
    flips = collect(mirrored(items), det, cfg) if args.mirror else [None] * len(items)
    groups = [name.split("_")[0] for name, _, _ in items]
    cv_dets = [None] * len(items)
    for g in sorted(set(groups)):
        tr = [r for r, gg in zip(recs, groups) if gg != g and len(r[0])]
        tr += [r for r, gg in zip(flips, groups) if gg != g and r is not None and len(r[0])]
        params = fit(*(np.concatenate([r[i] for r in tr]) for i in (0, 2, 3)), hidden=args.hidden,
                     wd=args.weight_decay)
        fold = ThermalBlobDetector(base, scorer=params)
        for i, gg in enumerate(groups):
            if gg == g:
                feats, boxes, _, _ = recs[i]
                cv_dets[i] = (items[i][0], fold.finish(feats, boxes, args.max_faces))
    res = evaluate(items, cv_dets)
    print(f"leave-one-participant-out ({len(set(groups))} groups, max {args.max_faces} faces/image): "
          f"AP@0.5 {res['ap50']:.3f}, best F1 {res['best_f1']:.3f} at score >= {res['best_threshold']:.3f} "
          f"(precision {res['best_precision']:.3f}, recall {res['best_recall']:.3f})")
    from training.detector.evaluate import pool

    pooled = pool(items, cv_dets, {})  # the same pooled figures as the centreface LOPO runs
    print(f"  recall at precision>=0.85 {pooled['recall_at_p85']:.3f} (>=0.80: {pooled['recall_at_p80']:.3f}), "
          f"faces <20 px: recall {pooled['small_recall_at_p85']:.3f} of {pooled['small_faces']} at score >= "
          f"{pooled['threshold_at_p85']:.3f}")
    allr = [r for r in recs + flips if r is not None and len(r[0])]
    params = fit(*(np.concatenate([r[i] for r in allr]) for i in (0, 2, 3)), hidden=args.hidden,
                 wd=args.weight_decay)
    params["fitted_on"] = (f"{len(items)} frames (mirrored too: {bool(args.mirror)}) of the Chips Thermal Face "
                           f"subset ({args.data.name}); "
                           f"leave-one-participant-out AP@0.5 {res['ap50']:.3f}")
    params["data_terms"] = ("Fitted on frames of the Chips Thermal Face Dataset, whose README restricts use to "
                            "non-commercial research and education; these detector parameters are derived from it. "
                            "Refit on data with other terms (bench/fit_detector.py --data DIR, YOLO boxes) for "
                            "commercial use.")
    if not args.no_write:
        args.out.write_text(json.dumps(params))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
