"""The report's towards-profile readout: error per |yaw| bin over the true landmark box, hand-computed,
and its markdown line."""
from __future__ import annotations

import numpy as np

from training.report.measure import yaw_bin_nme
from training.report.render import profile_lines


def test_yaw_bins_normalise_by_the_true_box_and_skip_masked_points():
    truth = np.array([[[0.0, 0.0], [4.0, 0.0], [4.0, 9.0]],  # box 4 x 9: side 6
                      [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]])  # box 10 x 10: side 10
    pred = truth.copy()
    pred[0, 0] += [3.0, 0.0]  # error 3 on one of three points: 1 per point, / 6
    pred[1, 1] += [0.0, 4.0]  # error 4 on a masked point: not counted
    pred[1, 2] += [2.0, 0.0]  # error 2 on one of the two counted points: 1 per point, / 10
    mask = np.array([[True, True, True], [True, False, True]])
    bins = yaw_bin_nme(pred, truth, mask, np.array([-85.0, 10.0]), bins=(0.0, 30.0, 80.0, 90.01))
    assert [b["faces"] for b in bins] == [1, 0, 1]
    assert abs(bins[0]["nme_box"] - 0.1) < 1e-9 and bins[1]["nme_box"] is None
    assert abs(bins[2]["nme_box"] - 1.0 / 6.0) < 1e-9 and bins[2]["yaw"] == [80.0, 90.0]


def test_profile_line_names_every_bin_and_is_empty_without_a_readout():
    pr = {"split": {"root": "data/synth_profile", "split": "test", "count": 400, "max_yaw": 90.0}, "flip_test": True,
          "bins": [{"yaw": [0.0, 30.0], "faces": 3, "nme_box": 0.0281}, {"yaw": [80.0, 90.0], "faces": 2, "nme_box": None}]}
    line = profile_lines(pr)[0]
    assert "0-30 deg: 0.0281 (3)" in line and "80-90 deg:" in line and "flip test on" in line
    assert profile_lines(None) == []
