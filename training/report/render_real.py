"""Markdown for the real-data figures of ``training.report.real`` (a section of docs/RESULTS.md)."""
from __future__ import annotations

from typing import Dict, List

from training.report.numbers import fmt


def _readouts(entries) -> str:
    return "; ".join(f"{_short(r['source'])} {fmt(r['nme_mean'], 3)}" for r in entries or [])


def _short(source: str) -> str:
    return source.split(":", 1)[-1].replace("../shared/data/real_thermal/", "").replace("data/pseudo_real/", "PUJ ")


def render_real(rx: Dict[str, object]) -> List[str]:
    L: List[str] = ["## Real faces: teacher, adaptation, MediaPipe, data experiments", ""]
    rgb = rx.get("rgb_teacher")
    if rgb:
        L += [f"**RGB teacher on real photos**: NME {fmt(rgb['nme'])} (median {fmt(rgb.get('nme_median'))}, "
              f"{rgb['count']} faces of {', '.join(rgb['sources'])}, {rgb['normaliser']}), trained on 300-W HELEN "
              "train + AFW (research use only) and the paired renders. Published 300-W common-set figures for "
              "small CNNs are about 0.04-0.05.", ""]
    ad = rx.get("adapt")
    if ad:
        L += ["**Real thermal faces never trained on** (`data.real_eval`, inter-ocular NME on the crop of the "
              "labels' box): the 2 labelled radiometric frames of `faiyaz106_thermal54`, and the PUJ subjects "
              "S26-S30 held out of training and adaptation, scored against MediaPipe's pseudo-labels (agreement "
              "with MediaPipe, not accuracy). " + (("AdaBN statistics: " + ", ".join(ad["adapt_bn_sources"])
              + f" ({ad.get('adapt_bn_faces', 0)} crops, real and synthetic mixed).") if ad.get("adapt_bn_sources")
              else "AdaBN is off in this recipe (`data.adapt_bn: []`; see docs/training.md for why)."), "",
              "| model | before adaptation (shipped when AdaBN is off) | after AdaBN |", "|---|---|---|"]
        for name, e in ad["models"].items():
            L.append(f"| {name} | {_readouts(e.get('before'))} | {_readouts(e.get('after_adabn')) or '-'} |")
        L.append("")
    rt = rx.get("runtime")
    if rt and rt.get("sources"):
        L += ["**The bundled student as the runtime runs it** (exported ONNX through `LandmarkModel`, same crops "
              "and labels as above): NME without / with the flip test (`flip_test`, on by default: each crop also "
              "runs mirrored and the two landmark sets are averaged):", "",
              "| source | faces | without flip test | with flip test (default) |", "|---|---|---|---|"]
        for r in rt["sources"]:
            if "missing" in r:
                L.append(f"| {_short(r['source'])} | - | not found | - |")
            else:
                L.append(f"| {_short(r['source'])} | {r['faces']} | {fmt(r['nme_mean'], 3)} | "
                         f"{fmt(r['nme_mean_flip_test'], 3)} |")
        L.append("")
    mp = rx.get("mediapipe")
    if mp:
        L += ["**Bundled student vs MediaPipe's face mesh** on the same boxes of the 2 labelled real frames "
              "(`python -m training compare-mediapipe`; 5-point NME by the eye-centre distance, full NME on "
              f"{mp['shared_points']} shared points by the outer eye corners; margin > 0: the student is better):", "",
              "| box | student 5-pt | MediaPipe 5-pt | margin | student full | MediaPipe full | margin |",
              "|---|---|---|---|---|---|---|"]
        for kind, s in mp["summary"].items():
            L.append(f"| {kind} | {fmt(s['student_nme5'], 3)} | {fmt(s['mesh_nme5'], 3)} | {s['margin_nme5']:+.3f} | "
                     f"{fmt(s['student_nme'], 3)} | {fmt(s['mesh_nme'], 3)} | {s['margin_nme']:+.3f} |")
        L.append("")
    L += _presence(rx.get("presence"))
    ex = rx.get("experiments")
    if ex:
        L += ["**Data experiments** (one student recipe, `small`, trained from scratch on the labels alone, same "
              "budget; `runs/exp/*`, commands in docs/training.md): what each data source buys on real faces.", "",
              "| run | training data | synthetic held-out NME | real, before AdaBN | real, after AdaBN |",
              "|---|---|---|---|---|"]
        for r in ex:
            ev = ", ".join(f"{k}: {fmt(v['nme'], 3)}" for k, v in r["evals"].items())
            L.append(f"| {r['name']} | {' + '.join(r['train'])} | {ev} | {_readouts(r.get('before'))} | "
                     f"{_readouts(r.get('after_adabn'))} |")
        L.append("")
    if len(L) == 2:
        L += ["Not measured (no real data or no run).", ""]
    return L


def _presence(pr) -> List[str]:
    """The face/not-face output on the real Chips frames (``training.presence_eval``)."""
    if not pr:
        return []
    r, d = pr["at"]["0.5"], pr["detections"]
    dd = d["at"]["0.5"]
    return [f"**Face presence on real frames** (`python -m training presence-eval`, the bundled student on the "
            f"{pr['frames']} Chips frames it never trained on; runtime threshold 0.5): {r['faces']} true face crops "
            f"against {r['non_faces']} crops beside, around or inside them: AUC {fmt(r['auc'], 3)}, faces kept "
            f"{fmt(r['face_recall'], 3)}, non-faces accepted {fmt(r['non_face_accepted'], 3)}. On the runtime "
            f"detector's own boxes (in-sample detector): {d['on_face']} on a true face, kept "
            f"{fmt(dd['kept_on_face'], 3)}; {d['off_face']} on none (hot objects, heads from behind), kept "
            f"{fmt(dd['kept_off_face'], 3)}.", ""]
