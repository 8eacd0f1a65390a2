"""Config validation errors, metrics against hand-computed values, model sizes of the default recipe."""
import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from training_helpers import REPO  # noqa: E402

from training.config import ConfigError, config_from_dict, load_config  # noqa: E402
from training.metrics import angle_mae, auc, failure_rate, nme_per_sample, summarise  # noqa: E402


@pytest.mark.parametrize("doc, message", [
    ({"thermal_teacher": {"lamda_fi": 1.0}}, "thermal_teacher.lamda_fi: unknown key"),
    ({"seed": "zero"}, "seed: expected an integer"),
    ({"ablation": {"fi": 1}}, "ablation.fi: expected true/false"),
    ({"data": {"train": [{"loader": "synth", "rooot": "x"}]}}, "data.train[0].rooot: unknown key"),
    ({"data": {"input_size": [90, 96]}}, "data.input_size"),
    ({"data": {"scheme": "nope"}}, "data.scheme: unknown scheme"),
    ({"models": {"default_student": "huge"}}, "models.default_student"),
    ({"data": {"augment_options": {"rotation": 3}}}, "data.augment_options"),
    ({"student": {"epochs": 0}}, "student: epochs >= 1"),
    ({"export": {"opset": 13}}, "export.opset"),
])
def test_bad_configs_name_the_key(doc, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config_from_dict(doc)


def test_bad_yaml_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("seed: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_cli_overrides_are_validated(tmp_path):
    from training.config import apply_overrides

    p = tmp_path / "c.yaml"
    p.write_text("seed: 1\n")
    cfg = load_config(p, overrides=["ablation.fi=false", "thermal_teacher.tau=3", "data.input_size=[64, 64]"])
    assert cfg.ablation.fi is False and cfg.thermal_teacher.tau == 3.0 and cfg.data.input_size == [64, 64]
    with pytest.raises(ConfigError, match="ablation.fii: unknown key"):
        load_config(p, overrides=["ablation.fii=false"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides({}, ["ablation.fi"])


def test_shipped_configs_load_and_hash_ignores_output_dir():
    for name in ("smoke.yaml", "default.yaml"):
        cfg = load_config(REPO / "training" / "configs" / name)
        assert cfg.models.default_student in cfg.models.students
    a = config_from_dict({"out_dir": "runs/a"})
    b = config_from_dict({"out_dir": "runs/b"})
    c = config_from_dict({"ablation": {"fi": False}})
    assert a.recipe_hash() == b.recipe_hash() != c.recipe_hash()


def test_nme_fr_auc_hand_computed():
    gt = np.array([[[0.0, 0.0], [10.0, 0.0], [5.0, 5.0]]] * 2)  # inter-ocular (0, 1) = 10 px
    pred = gt.copy()
    pred[0, 2] += [0.0, 3.0]  # sample 0: errors 0, 0, 3 px -> NME 0.1
    pred[1] += [0.4, 0.3]  # sample 1: every point 0.5 px off -> NME 0.05
    mask = np.ones((2, 3), bool)
    nme = nme_per_sample(pred, gt, mask, (0, 1))
    np.testing.assert_allclose(nme, [0.1, 0.05])
    assert failure_rate(nme, 0.10) == 0.0  # 0.1 is not > 0.1
    assert failure_rate(np.array([0.2, 0.05]), 0.10) == 0.5
    # AUC@0.1 = mean(max(0.1 - e, 0)) / 0.1 = (0 + 0.05) / 2 / 0.1
    assert auc(nme, 0.10) == pytest.approx(0.25)
    mask[0, 2] = False  # the 3 px point no longer counts
    assert nme_per_sample(pred, gt, mask, (0, 1))[0] == pytest.approx(0.0)
    s = summarise(pred, gt, mask, (0, 1))
    assert s["count"] == 2 and len(s["per_landmark_nme"]) == 3
    assert s["per_landmark_nme"][2] == pytest.approx(0.05)  # only sample 1 counts for point 2


def test_angle_mae_wraps_around():
    pred = np.array([[179.0, 0.0, 10.0], [np.nan, 0.0, 0.0]])
    true = np.array([[-179.0, 5.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(angle_mae(pred, true), [2.0, 5.0, 10.0])


def test_default_recipe_model_sizes():
    from training.models import count_flops, count_params
    from training.runs import Run

    run = Run(load_config(REPO / "training" / "configs" / "default.yaml"))
    sizes = {}
    for role, size in [("thermal_teacher", None)] + [("student", s) for s in run.cfg.models.students]:
        model = run.new_model(role, size)
        sizes[size or role] = (count_params(model), count_flops(model, tuple(run.cfg.data.input_size), 1))
    teacher = sizes.pop("thermal_teacher")
    assert 1.5e6 <= teacher[0] <= 4e6  # the brief's CPU-trainable teacher
    assert sizes[run.cfg.models.default_student][0] <= 1.5e6
    ordered = sorted(sizes.values())
    assert all(a[1] < b[1] for a, b in zip(ordered, ordered[1:]))  # a real size series
    assert max(s[1] for s in sizes.values()) < teacher[1]


def test_teacher_of_another_recipe_is_refused_in_one_line(tmp_path):
    from training.config import config_from_dict, load_config
    from training.runs import RecipeMismatchError, Run

    doc = yaml.safe_load((REPO / "training/configs/smoke.yaml").read_text())
    cfg = config_from_dict(doc)
    Run(cfg, str(tmp_path)).save_model("rgb_teacher", Run(cfg, str(tmp_path)).new_model("rgb_teacher"), "rgb_teacher")
    # settings of later stages (student) do not change the RGB teacher's recipe
    same = config_from_dict({**doc, "student": {**doc["student"], "lr": 0.01}})
    Run(same, str(tmp_path)).load_teacher("rgb_teacher", "rgb_teacher", for_stage="thermal_teacher")
    other = config_from_dict({**doc, "rgb_teacher": {**doc["rgb_teacher"], "lr": 0.01}})
    with pytest.raises(RecipeMismatchError) as err:
        Run(other, str(tmp_path)).load_teacher("rgb_teacher", "rgb_teacher", for_stage="thermal_teacher")
    assert "\n" not in str(err.value) and "--allow-recipe-mismatch" in str(err.value)
    Run(other, str(tmp_path), allow_recipe_mismatch=True).load_teacher("rgb_teacher", "rgb_teacher", "thermal_teacher")
    # the student's teacher hash chains the RGB teacher's: a changed RGB recipe changes the thermal one
    assert cfg.stage_hash("thermal_teacher") != other.stage_hash("thermal_teacher")
    assert cfg.stage_hash("thermal_teacher") == same.stage_hash("thermal_teacher")
    assert load_config(REPO / "training/configs/default.yaml").models.presence


def test_legacy_decay_switch_reads_as_both_levels():
    from training.config import config_from_dict

    cfg = config_from_dict({"ablation": {"decay": False}})
    assert cfg.ablation.decay_ktl is False and cfg.ablation.decay_mcl is False


def test_ablation_summary_mean_std_and_two_pooled_std_verdict(tmp_path):
    import json

    from training.ablation import summarise, verdict

    nmes = {"full": [0.050, 0.052, 0.054], "fi_off": [0.070, 0.072, 0.074], "ri_off": [0.051, 0.053, 0.055]}
    for name, values in nmes.items():
        for seed, v in enumerate(values):
            d = tmp_path / name / f"seed_{seed}"
            (d / "eval").mkdir(parents=True)
            models = {"thermal_teacher (torch)": {"nme": v}, "thermal_fld_student_tiny (onnx)": {"nme": v + 0.01}}
            (d / "eval" / "metrics.json").write_text(json.dumps({"models": models}))
            (d / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "models": {"default_student": "tiny"},
                                                           "ablation": {"fi": name != "fi_off"}}))
    s = summarise(tmp_path)
    assert s["seeds"] == [0, 1, 2]
    full = s["variants"]["full"]
    assert full["thermal_teacher_nme"]["mean"] == pytest.approx(0.052)
    assert full["thermal_teacher_nme"]["std"] == pytest.approx(0.002)
    assert s["variants"]["fi_off"]["vs_full"]["thermal_teacher"]["verdict"] == "full method better"
    assert s["variants"]["ri_off"]["vs_full"]["thermal_teacher"]["verdict"] == "no difference at this budget"
    assert "student" not in s["variants"]["fi_off"]["vs_full"]  # KTL rows are read on the thermal teacher
    one = {"mean": 0.05, "std": None, "n": 1, "values": [0.05]}
    assert verdict(one, one)["verdict"] == "one seed: no verdict"


def test_split_options_widen_one_split_only(tmp_path):
    """data.synth.split_options: the train split renders with its own yaw range, val keeps the shared one;
    a bad field names the split."""
    import json

    from training.prepare_data import ensure_synth, synth_options
    from training.runs import Run

    doc = yaml.safe_load((REPO / "training/configs/smoke.yaml").read_text())
    doc["data"]["synth"] = {"generate_if_missing": True, "counts": {"train": 24, "val": 24}, "workers": 1,
                            "options": {"size": 64, "max_yaw": 5.0}, "split_options": {"train": {"max_yaw": 90.0}}}
    doc["data"]["train"] = [{"loader": "synth", "root": str(tmp_path / "wide"), "split": "train"}]
    doc["data"]["val"] = [{"loader": "synth", "root": str(tmp_path / "narrow"), "split": "val"}]
    doc["data"]["test"] = []
    cfg = config_from_dict(doc)
    ensure_synth(Run(cfg, str(tmp_path / "run")))

    def yaws(root, split):
        samples = json.loads((tmp_path / root / split / "annotations.json").read_text())["samples"]
        return np.abs([f["pose"]["yaw"] for s in samples for f in s["faces"]])

    assert yaws("narrow", "val").max() <= 5.0 + 1e-6
    assert yaws("wide", "train").max() > 20.0  # 24 draws of a 35 % uniform share over +-90 deg
    bad = config_from_dict({**doc, "data": {**doc["data"], "synth": {**doc["data"]["synth"],
                                                                     "split_options": {"train": {"max_yw": 1}}}}})
    with pytest.raises(ValueError, match="split_options\\['train'\\]"):
        synth_options(bad.data.synth, "train")


def test_a_split_rendered_with_other_settings_is_refused(tmp_path):
    """ensure_synth: a split on disk whose recorded generator settings differ from data.synth (here a
    changed max_yaw) is refused in one line naming the field, instead of being trained on silently; the
    same settings reuse it, and a field the file predates reads as its default."""
    import json

    from training.data.loaders.common import DatasetError
    from training.prepare_data import ensure_synth
    from training.runs import Run

    doc = yaml.safe_load((REPO / "training/configs/smoke.yaml").read_text())
    doc["data"]["synth"] = {"generate_if_missing": True, "counts": {"train": 8}, "workers": 1,
                            "options": {"size": 64, "max_yaw": 30.0}}
    doc["data"]["train"] = [{"loader": "synth", "root": str(tmp_path / "s"), "split": "train"}]
    doc["data"]["val"], doc["data"]["test"] = [], []
    ensure_synth(Run(config_from_dict(doc), str(tmp_path / "run")))
    ann = tmp_path / "s" / "train" / "annotations.json"
    meta = json.loads(ann.read_text())
    del meta["generator"]["options"]["frontal_yaw_sd"]  # as written before that option existed
    ann.write_text(json.dumps(meta))
    stamp = ann.stat().st_mtime_ns
    ensure_synth(Run(config_from_dict(doc), str(tmp_path / "run")))  # same settings: reused as it is
    assert ann.stat().st_mtime_ns == stamp
    doc["data"]["synth"]["options"]["max_yaw"] = 90.0
    with pytest.raises(DatasetError, match=r"s/train was rendered with other settings.*max_yaw: 30.0 -> 90.0"):
        ensure_synth(Run(config_from_dict(doc), str(tmp_path / "run")))
