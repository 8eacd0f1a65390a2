"""A report refreshed on a fresh checkout (its run directory gone) carries the run's figures, labelled."""
from __future__ import annotations

import json

from training.report import carried_run


def test_a_missing_run_is_carried_from_the_previous_report_and_says_so(tmp_path):
    previous = tmp_path / "results.json"
    syn = {"run_dir": "runs/default", "rows": {"student_small (onnx)": {"nme": 0.0793}}, "default_student": "small"}
    previous.write_text(json.dumps({"synthetic": syn, "real": {"adapt": {"models": []}}}))
    got = carried_run(previous)
    assert got["synthetic"]["rows"] == syn["rows"]
    assert "runs/default" in got["synthetic"]["carried_from"] and "absent" in got["synthetic"]["carried_from"]
    assert got["real"] == {"adapt": {"models": []}}


def test_nothing_to_carry_without_a_previous_report(tmp_path):
    assert carried_run(tmp_path / "results.json") is None
    (tmp_path / "results.json").write_text(json.dumps({"synthetic": None}))
    assert carried_run(tmp_path / "results.json") is None
