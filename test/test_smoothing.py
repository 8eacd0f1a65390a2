"""One-Euro filter: less jitter when still, little lag when moving, restarts on a time jump back."""
import numpy as np
import pytest

from thermal_fld_ros.smoothing import OneEuroFilter


def test_still_signal_jitter_is_reduced():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    truth = np.array([[50.0, 40.0]] * 10)
    out = [f(truth + rng.normal(0, 1.0, truth.shape), i / 30.0) for i in range(300)]
    raw_sd = 1.0
    filt_sd = np.std(np.array(out[50:]) - truth)
    assert filt_sd < 0.5 * raw_sd, filt_sd


def test_fast_motion_has_small_lag_with_beta():
    t = np.arange(60) / 30.0
    x = 200.0 * t  # 200 px/s
    lagging = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    adaptive = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    lag0 = [xi - lagging(np.array([xi]), ti)[0] for xi, ti in zip(x, t)][-1]
    lag1 = [xi - adaptive(np.array([xi]), ti)[0] for xi, ti in zip(x, t)][-1]
    assert lag1 < 0.3 * lag0 and lag1 < 5.0, (lag0, lag1)


def test_time_going_back_restarts_and_nan_is_held():
    f = OneEuroFilter()
    f(np.array([0.0, 0.0]), 1.0)
    f(np.array([10.0, 10.0]), 1.1)
    out = f(np.array([100.0, 100.0]), 0.5)  # stamp in the past: no smoothing towards old state
    np.testing.assert_array_equal(out, [100.0, 100.0])
    out = f(np.array([np.nan, 110.0]), 0.6)
    assert np.isfinite(out).all() and out[0] == pytest.approx(100.0)


def test_bad_parameters():
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0)
