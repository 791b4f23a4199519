"""Bootstrap confidence intervals: the multinomial shortcut against a naive row bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from modelqa.metrics import classification_metrics


def _data(n, seed=0, n_classes=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    pred = np.where(rng.random(n) < 0.7, y, rng.integers(0, n_classes, n))
    return y, pred, [f"c{k}" for k in range(n_classes)]


def test_interval_contains_estimate_and_is_deterministic():
    y, pred, labels = _data(300)
    r = classification_metrics(y, pred, labels=labels, seed=3)
    ci = r["confidence_intervals"]
    assert ci["level"] == 0.95 and ci["method"] == "bootstrap" and ci["n_resamples"] == 1000
    for key in ("accuracy", "f1_macro"):
        lo, hi = ci[key]
        assert lo < r["metrics"][key] < hi
    assert classification_metrics(y, pred, labels=labels, seed=3)["confidence_intervals"] == ci
    assert classification_metrics(y, pred, labels=labels, seed=4)["confidence_intervals"] != ci


def test_interval_shrinks_with_n():
    widths = []
    for n in (100, 1000, 10000):
        y, pred, labels = _data(n)
        lo, hi = classification_metrics(y, pred, labels=labels)["confidence_intervals"]["accuracy"]
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(10, rel=0.3)  # ~ 1 / sqrt(n)


def test_level_changes_width():
    y, pred, labels = _data(300)
    narrow = classification_metrics(y, pred, labels=labels, confidence_level=0.5)["confidence_intervals"]
    wide = classification_metrics(y, pred, labels=labels, confidence_level=0.99)["confidence_intervals"]
    assert np.diff(narrow["f1_macro"])[0] < np.diff(wide["f1_macro"])[0]


def _naive_macro_f1(y, pred):
    """Macro F1 over the classes present in y or pred, one class at a time."""
    scores = []
    for k in np.union1d(y, pred):
        tp = np.sum((y == k) & (pred == k))
        scores.append(2 * tp / (np.sum(y == k) + np.sum(pred == k)))
    return float(np.mean(scores))


def test_matches_naive_row_bootstrap():
    """Rare class: replicates that lose it use their own label set, as sklearn would."""
    rng = np.random.default_rng(1)
    y = np.r_[rng.integers(0, 3, 195), [3] * 5]
    pred = np.where(rng.random(200) < 0.75, y, rng.integers(0, 4, 200))
    r = classification_metrics(y, pred, labels=list("abcd"), n_resamples=2000, seed=0)
    acc, f1 = [], []
    for _ in range(2000):
        idx = rng.integers(0, y.size, y.size)
        acc.append(np.mean(y[idx] == pred[idx]))
        f1.append(_naive_macro_f1(y[idx], pred[idx]))
        if len(f1) <= 20:  # the naive F1 is scikit-learn's, with its default label set
            assert f1[-1] == pytest.approx(f1_score(y[idx], pred[idx], average="macro", zero_division=0))
    for key, values in (("accuracy", acc), ("f1_macro", f1)):
        naive = np.percentile(values, [2.5, 97.5])
        assert r["confidence_intervals"][key] == pytest.approx(naive, abs=0.02)


def test_many_classes_stays_fast_and_bounded():
    y, pred, labels = _data(5000, n_classes=150)
    ci = classification_metrics(y, pred, labels=labels, n_resamples=200)["confidence_intervals"]
    assert 0 < ci["f1_macro"][0] < ci["f1_macro"][1] < 1
