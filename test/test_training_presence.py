"""Face presence: negative crops from the dataset, the BCE term, and the ONNX output ``presence``."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.config import AblationConfig, StageConfig  # noqa: E402
from training.models import build_model  # noqa: E402
from training.objectives import MCLObjective, SupervisedObjective  # noqa: E402

SIZE, N = (32, 32), 5


def _net(presence=True, width=0.25):
    torch.manual_seed(0)
    return build_model({"arch": "mobile", "width_mult": width, "out_channels": 8}, 1, N, SIZE, head_hidden=16,
                       presence=presence)


def _batch(faces=(True, True, False, False)):
    g = torch.Generator().manual_seed(0)
    b = len(faces)
    face = torch.tensor(faces)
    return {"thermal": torch.rand(b, 1, SIZE[1], SIZE[0], generator=g),
            "rgb": torch.zeros(b, 3, SIZE[1], SIZE[0]), "has_rgb": torch.zeros(b, dtype=torch.bool),
            "is_face": face,
            "target_x": torch.softmax(torch.randn(b, N, SIZE[0] * 2, generator=g) * 3, -1),
            "target_y": torch.softmax(torch.randn(b, N, SIZE[1] * 2, generator=g) * 3, -1),
            "target_weight": face[:, None].float().expand(b, N).clone()}  # the dataset zeroes negatives' weights


def _grad(module):
    return float(sum(p.grad.abs().sum() for p in module.parameters() if p.grad is not None))


def test_presence_term_trains_the_head_and_negatives_carry_no_landmark_loss():
    obj = SupervisedObjective(_net(), "thermal", 0.5, 0.25).train()
    loss, terms = obj(_batch())
    assert terms["presence"].item() > 0
    loss.backward()
    assert _grad(obj.model.presence) > 0
    obj.zero_grad()
    _, terms = obj(_batch(faces=(False, False)))
    assert terms["gt"].item() == 0.0  # negatives only: no landmark loss


def test_student_kd_skips_negative_crops():
    teacher, student = _net(width=0.5), _net()
    obj = MCLObjective(student, teacher, StageConfig(lambda_presence=0.0), AblationConfig(), 0.5, 0.25).train()
    loss, terms = obj(_batch(faces=(False, False, False)))
    assert terms["out_kd"].item() == 0 and terms["feat_kd"].item() == 0 and loss.item() == 0


def test_models_without_presence_are_unchanged():
    net = _net(presence=False)
    assert not net.has_presence and net.presence is None
    obj = SupervisedObjective(net, "thermal", 0.5, 0.25)
    _, terms = obj(_batch())
    assert terms["presence"].item() == 0


def test_dataset_negative_crops(tmp_path):
    from training.data.augment import AugmentConfig
    from training.data.dataset import LandmarkDataset
    from training.data.synth.loader import load_synth_split
    from training.data.synth.render import SynthOptions
    from training.data.synth.writer import write_split

    write_split(tmp_path, "train", 4, seed=0, opts=SynthOptions(size=64), workers=1, progress=False)
    recs = load_synth_split(tmp_path, "train")
    faces = LandmarkDataset(recs, "ibug70", (32, 32), augment=AugmentConfig(), seed=0)
    negs = LandmarkDataset(recs, "ibug70", (32, 32), augment=AugmentConfig(), seed=0, negative_rate=0.999)
    for i in range(len(recs)):
        f, n = faces[i], negs[i]
        assert bool(f["is_face"]) and f["target_weight"].sum() > 0
        assert not bool(n["is_face"]) and float(n["target_weight"].sum()) == 0.0 and not bool(n["has_rgb"])
        assert not torch.equal(f["thermal"], n["thermal"])
    half = LandmarkDataset(recs * 25, "ibug70", (32, 32), augment=AugmentConfig(), seed=0, negative_rate=0.25)
    share = np.mean([not bool(half[i]["is_face"]) for i in range(len(half))])
    assert 0.1 < share < 0.4


def test_export_with_presence_output_and_runtime_loads_it(tmp_path):
    pytest.importorskip("onnxruntime")
    from training import export as E
    from training.config import config_from_dict

    cfg = config_from_dict({"data": {"input_size": list(SIZE), "scheme": "ibug70"}})
    from thermal_fld_ros.schemes import get_scheme

    n = get_scheme("ibug70").num_points
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(3, 1, SIZE[1], SIZE[0])).astype(np.float32)
    for presence in (True, False):
        net = build_model({"arch": "mobile", "width_mult": 0.25, "out_channels": 8}, 1, n, SIZE, head_hidden=16,
                          presence=presence).eval()
        path = E.export_onnx(net, tmp_path / f"m_{presence}.onnx", SIZE)
        E.parity_check(net, path, x, 1e-3)
        outputs = E.output_names(net)
        E.write_meta(path, E.build_meta(cfg, "m", n, outputs=outputs))
        sess = E.ort_session(path)
        assert [o.name for o in sess.get_outputs()] == list(outputs)
        assert E.read_meta(path)["outputs"] == list(outputs)
        if presence:
            assert outputs[-1] == "presence"
            (p,) = E.run_onnx(path, x, names=("presence",))
            assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()
            with torch.no_grad():
                ref = torch.sigmoid(net.presence(net.features(torch.from_numpy(x)))).numpy()
            assert np.abs(p - ref).max() < 1e-4
        from thermal_fld_ros.landmark_model import LandmarkModel

        pts, scores = LandmarkModel(path, intra_op_threads=1).predict(np.full((2, SIZE[1], SIZE[0]), 0.5, np.float32))
        assert pts.shape == (2, n, 2)


def test_presence_eval_on_real_boxed_frames(tmp_path):
    """``presence-eval`` crops true faces and non-faces of real frames and reads the model's output."""
    from training.detection_eval import DEFAULT_DATA

    if not (DEFAULT_DATA / "images").is_dir():
        pytest.skip(f"real boxed frames not present ({DEFAULT_DATA})")
    from thermal_fld_ros.schemes import get_scheme
    from training import export as E
    from training.config import config_from_dict
    from training.presence_eval import evaluate_presence

    n = get_scheme("ibug70").num_points
    net = build_model({"arch": "mobile", "width_mult": 0.25, "out_channels": 8}, 1, n, SIZE, head_hidden=16,
                      presence=True).eval()
    path = E.export_onnx(net, tmp_path / "p.onnx", SIZE)
    cfg = config_from_dict({"data": {"input_size": list(SIZE)}})
    E.write_meta(path, E.build_meta(cfg, "p", n, outputs=E.output_names(net)))
    res = evaluate_presence(path, DEFAULT_DATA, limit=4)
    r = res["at"]["0.5"]
    assert res["frames"] == 4 and r["faces"] >= 4 and r["non_faces"] > 0 and 0.0 <= r["auc"] <= 1.0
    d = res["detections"]  # the runtime detector's boxes on these frames, each on a true face or on none
    assert d["on_face"] >= 1 and 0.0 <= d["at"]["0.5"]["kept_on_face"] <= 1.0
    plain = build_model({"arch": "mobile", "width_mult": 0.25, "out_channels": 8}, 1, n, SIZE, head_hidden=16).eval()
    path2 = E.export_onnx(plain, tmp_path / "q.onnx", SIZE)
    E.write_meta(path2, E.build_meta(cfg, "q", n))
    with pytest.raises(ValueError, match="no 'presence' output"):
        evaluate_presence(path2, DEFAULT_DATA, limit=1)
