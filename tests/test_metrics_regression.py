"""regression_metrics: every key against scikit-learn, edge cases, bootstrap."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from modelqa.errors import DataError, UsageError
from modelqa.metrics.regression import bootstrap_replicates, regression_metrics

SK = {
    "mse": skm.mean_squared_error,
    "rmse": skm.root_mean_squared_error,
    "mae": skm.mean_absolute_error,
    "mape": skm.mean_absolute_percentage_error,
    "median_absolute_error": skm.median_absolute_error,
    "r2": skm.r2_score,
    "explained_variance": skm.explained_variance_score,
    "max_error": skm.max_error,
}


def _cases():
    rng = np.random.default_rng(0)
    y = rng.normal(10, 3, 200)
    yield "random", y, y + rng.normal(0.5, 2, 200)
    yield "perfect", y, y.copy()
    yield "with zeros", np.r_[0.0, 0.0, y[:20]], np.r_[0.5, 0.0, y[:20] * 1.1]
    yield "constant true, perfect", np.full(7, 3.0), np.full(7, 3.0)
    yield "constant true, wrong", np.full(7, 3.0), np.arange(7.0)
    yield "constant prediction", y[:50], np.full(50, y[:50].mean())
    yield "two rows", np.array([1.0, 2.0]), np.array([2.0, 2.0])
    yield "ints", np.array([1, 5, 9, 2]), np.array([2, 5, 7, 1])
    yield "large offset", 1e9 + y[:30], 1e9 + y[:30] + rng.normal(0, 1, 30)
    yield "negative", -y[:30], -y[:30] + 1.0


@pytest.mark.parametrize(("name", "y", "p"), list(_cases()), ids=[c[0] for c in _cases()])
def test_every_key_equals_sklearn(name, y, p):
    doc = regression_metrics(y, p, n_resamples=50)
    m = doc["metrics"]
    for key, fn in SK.items():
        assert m[key] == pytest.approx(fn(y, p), rel=1e-9, abs=1e-12), key
    residual = np.asarray(y, float) - np.asarray(p, float)  # y_true - y_pred
    assert m["residual_mean"] == pytest.approx(residual.mean(), abs=1e-9)
    assert m["residual_std"] == pytest.approx(residual.std(), abs=1e-9)
    json.dumps(doc, allow_nan=False)


def test_document_shape_and_baselines():
    rng = np.random.default_rng(1)
    y = rng.gamma(2.0, 3.0, 120)
    p = y + rng.normal(0, 1, 120)
    doc = regression_metrics(y, p, n_resamples=100)
    assert doc["schema_version"] == 1 and doc["task"] == "regression" and doc["n_samples"] == 120
    assert set(doc["metrics"]) == set(SK) | {"residual_mean", "residual_std"}
    b = doc["baselines"]
    mean_pred = np.full_like(y, y.mean())
    assert b["mean_predictor_mse"] == pytest.approx(skm.mean_squared_error(y, mean_pred))
    assert b["mean_predictor_rmse"] == pytest.approx(skm.root_mean_squared_error(y, mean_pred))
    assert b["mean_predictor_mae"] == pytest.approx(skm.mean_absolute_error(y, mean_pred))
    assert b["median_predictor_mae"] == pytest.approx(skm.mean_absolute_error(y, np.full_like(y, np.median(y))))
    assert b["mean_value"] == pytest.approx(y.mean())
    assert doc["target_summary"]["n_zero"] == 0
    ci = doc["confidence_intervals"]
    assert ci["level"] == 0.95 and ci["method"] == "bootstrap" and ci["n_resamples"] == 100
    for key in ("rmse", "mae", "r2"):
        lo, hi = ci[key]
        assert lo <= doc["metrics"][key] <= hi


def test_single_row_r2_is_none_not_nan():
    doc = regression_metrics([2.0], [3.0], n_resamples=10)
    assert doc["metrics"]["r2"] is None and doc["metrics"]["explained_variance"] is None
    assert doc["metrics"]["mae"] == 1.0
    assert doc["confidence_intervals"]["r2"] is None
    json.dumps(doc, allow_nan=False)


def test_constant_true_with_inexact_mean_uses_force_finite_rule():
    """0.1 * 3 has a mean that is not exactly 0.1; we test constancy exactly."""
    doc = regression_metrics([0.1, 0.1, 0.1], [0.1, 0.2, 0.1], n_resamples=10)
    assert doc["metrics"]["r2"] == 0.0
    assert regression_metrics([0.1] * 3, [0.1] * 3, n_resamples=10)["metrics"]["r2"] == 1.0


def test_zero_targets_mape_is_finite_and_counted():
    doc = regression_metrics([0.0, 1.0], [1.0, 1.0], n_resamples=10)
    assert math.isfinite(doc["metrics"]["mape"]) and doc["metrics"]["mape"] > 1e14
    assert doc["target_summary"]["n_zero"] == 1


def test_bootstrap_matches_naive_loop_and_is_deterministic():
    rng = np.random.default_rng(2)
    y = rng.normal(0, 1, 40)
    p = y + rng.normal(0, 0.5, 40)
    reps = bootstrap_replicates(y, p, 30, seed=5)
    rng2 = np.random.default_rng(5)
    idx = rng2.integers(0, 40, size=(30, 40))
    for b in range(30):
        yt, yp = y[idx[b]], p[idx[b]]
        assert reps["rmse"][b] == pytest.approx(skm.root_mean_squared_error(yt, yp))
        assert reps["mae"][b] == pytest.approx(skm.mean_absolute_error(yt, yp))
        assert reps["r2"][b] == pytest.approx(skm.r2_score(yt, yp))
    a = regression_metrics(y, p, n_resamples=200, seed=1)["confidence_intervals"]
    assert regression_metrics(y, p, n_resamples=200, seed=1)["confidence_intervals"] == a
    assert regression_metrics(y, p, n_resamples=200, seed=2)["confidence_intervals"] != a


def test_bootstrap_batches_give_the_same_replicates(monkeypatch):
    from modelqa.metrics import regression

    rng = np.random.default_rng(3)
    y = rng.normal(0, 1, 50)
    p = y + rng.normal(0, 1, 50)
    whole = bootstrap_replicates(y, p, 40, seed=0)
    monkeypatch.setattr(regression, "_BATCH_CELLS", 50 * 7)  # batches of 7 replicates
    batched = bootstrap_replicates(y, p, 40, seed=0)
    for key in whole:
        np.testing.assert_allclose(whole[key], batched[key])


@pytest.mark.parametrize(("y", "p", "match"), [
    ([1.0, np.nan], [1.0, 2.0], "rows 1"),
    ([1.0, 2.0], [1.0, np.inf], "y_pred"),
    ([1.0, 2.0], [1.0], "2 rows"),
    ([], [], "no rows"),
    (["a", "b"], [1.0, 2.0], "numbers"),
    ([True, False], [1.0, 2.0], "booleans"),
])
def test_bad_input_raises_data_error(y, p, match):
    with pytest.raises(DataError, match=match):
        regression_metrics(y, p)


def test_bad_options():
    with pytest.raises(UsageError):
        regression_metrics([1.0, 2.0], [1.0, 2.0], n_resamples=0)
    with pytest.raises(UsageError):
        regression_metrics([1.0, 2.0], [1.0, 2.0], confidence_level=1.0)
