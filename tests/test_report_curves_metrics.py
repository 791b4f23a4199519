"""metrics.curves: ROC / PR aggregated on fixed grids, checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from modelqa.metrics.curves import PR_GRID, ROC_GRID, grid_curves, one_vs_rest_curves


def _sk_pr_on_grid(y, s) -> np.ndarray:
    """scikit-learn's PR curve read at the first operating point whose recall reaches each grid value."""
    precision, recall, _ = skm.precision_recall_curve(y, s)
    precision, recall = precision[::-1], recall[::-1]  # recall ascending, highest threshold first
    return precision[np.searchsorted(recall, PR_GRID - 1e-12, side="left")]


@pytest.mark.parametrize(("n", "decimals", "seed"), [(997, None, 0), (5003, 1, 1), (31, None, 2), (2000, 2, 3)])
def test_grid_curves_equal_sklearn_on_the_grid(n, decimals, seed):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    s = rng.normal(size=n) + y
    if decimals is not None:
        s = np.round(s, decimals)  # many ties
    g = grid_curves(y, s)
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(g.tpr, np.interp(ROC_GRID, fpr, tpr), atol=1e-12)
    np.testing.assert_allclose(g.precision, _sk_pr_on_grid(y, s), atol=1e-12)
    assert g.roc_auc == pytest.approx(skm.roc_auc_score(y, s), abs=2.5e-3)
    assert g.average_precision == pytest.approx(skm.average_precision_score(y, s), abs=1e-2)
    assert len(g.tpr) == len(ROC_GRID) <= 500


def test_grid_curves_single_class_and_float32():
    assert grid_curves(np.ones(5, bool), np.arange(5.0)).tpr is None
    only_neg = grid_curves(np.zeros(5, bool), np.arange(5.0))
    assert only_neg.tpr is None and only_neg.precision is None
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.5
    s = (rng.random(400) + y).astype(np.float32)
    assert grid_curves(y, s).roc_auc == pytest.approx(skm.roc_auc_score(y, s), abs=2.5e-3)


def test_one_vs_rest_binary_multiclass_and_micro_sampling():
    rng = np.random.default_rng(4)
    n, k = 3000, 5
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.5
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    curves = one_vs_rest_curves(y, p, list("abcde"))
    assert len(curves.per_class) == k and curves.micro is not None and not curves.notes
    onehot = np.eye(k, dtype=bool)[y]
    assert curves.micro.roc_auc == pytest.approx(skm.roc_auc_score(onehot.ravel(), p.ravel()), abs=2.5e-3)
    exact_macro = np.mean([skm.roc_auc_score(y == j, p[:, j]) for j in range(k)])
    assert curves.macro_roc_auc == pytest.approx(exact_macro, abs=2.5e-3)
    sampled = one_vs_rest_curves(y, p, list("abcde"), micro_max_pairs=5000)
    assert sampled.micro_rows == 1000 and "one row in every 3" in sampled.notes[0]
    assert sampled.micro.roc_auc == pytest.approx(curves.micro.roc_auc, abs=0.03)
    binary = one_vs_rest_curves((y == 0).astype(int), np.c_[1 - p[:, 0], p[:, 0]], ["rest", "a"])
    assert binary.labels == ["a"] and binary.micro is None
    assert binary.per_class[0].roc_auc == pytest.approx(skm.roc_auc_score(y == 0, p[:, 0]), abs=2.5e-3)
