"""Threshold choices against a brute-force computation, and curves against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from modelqa.errors import DataError, UsageError
from modelqa.metrics.thresholds import parse_costs, stats_at, threshold_analysis


def _data(seed, n=300, pos_share=0.2, decimals=2):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < pos_share
    scores = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).round(decimals)  # rounding makes ties
    return y, scores


def _brute(y, s, min_recall, costs):
    """Every distinct score, one at a time, by plain counting."""
    rows = []
    for t in np.unique(s):
        pred = s >= t
        tp = int(np.sum(pred & y))
        fp = int(np.sum(pred & ~y))
        fn = int(np.sum(~pred & y))
        tn = int(np.sum(~pred & ~y))
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        f1 = 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)
        j = recall - fp / (fp + tn)
        cost = (costs.get("tp", 0) * tp + costs["fp"] * fp + costs["fn"] * fn + costs.get("tn", 0) * tn) / len(y)
        rows.append((t, precision, recall, f1, j, cost))

    def best(key, ok=lambda r: True, lowest=False):
        cands = [r for r in rows if ok(r)]
        sign = -1 if lowest else 1
        top = max(sign * key(r) for r in cands)
        return max(r[0] for r in cands if np.isclose(sign * key(r), top, rtol=0, atol=1e-12))  # ties: highest t

    return {
        "best_f1": best(lambda r: r[3]),
        "youden_j": best(lambda r: r[4]),
        "min_recall": best(lambda r: r[1], ok=lambda r: r[2] >= min_recall),
        "min_cost": best(lambda r: r[5], lowest=True),
    }


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(("min_recall", "costs"), [(0.8, "fp=1,fn=5"), (0.5, "fp=1,fn=1"), (0.95, "fp=3,fn=1,tp=-1")])
def test_choices_equal_brute_force(seed, min_recall, costs):
    y, s = _data(seed, decimals=1 + seed % 3)
    section = threshold_analysis(y, s, min_recall=min_recall, costs=costs)
    expected = _brute(y, s, min_recall, parse_costs(costs))
    for key, t in expected.items():
        assert section["chosen"][key]["threshold"] == pytest.approx(t), key
    chosen = section["chosen"]
    for key in expected:
        row = chosen[key]
        again = stats_at(y, s, row["threshold"], costs=costs)
        for k in ("precision", "recall", "f1", "specificity", "predicted_positive_rate", "cost", "tp", "fp"):
            assert row[k] == pytest.approx(again[k]), (key, k)
    assert chosen["min_recall"]["recall"] >= min_recall


def test_curve_equals_sklearn_pr_and_roc():
    y, s = _data(11, n=500)
    section = threshold_analysis(y, s, max_points=10_000, grid=False)
    curve = section["curve"]
    precision, recall, thr = skm.precision_recall_curve(y, s)  # ascending thresholds
    ours = np.array(curve["threshold"])[::-1]
    np.testing.assert_allclose(ours, thr)
    np.testing.assert_allclose(np.array(curve["precision"])[::-1], precision[:-1])
    np.testing.assert_allclose(np.array(curve["recall"])[::-1], recall[:-1])
    fpr, tpr, roc_thr = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(np.array(curve["threshold"]), roc_thr[1:])
    np.testing.assert_allclose(np.array(curve["fpr"]), fpr[1:])
    np.testing.assert_allclose(np.array(curve["recall"]), tpr[1:])
    for i in range(0, len(ours), 7):
        pred = s >= curve["threshold"][i]
        assert curve["f1"][i] == pytest.approx(skm.f1_score(y, pred))
        assert curve["specificity"][i] == pytest.approx(skm.recall_score(~y, ~pred))


def test_curve_is_bounded_and_keeps_the_chosen_points():
    rng = np.random.default_rng(4)
    y = rng.random(20_000) < 0.1
    s = rng.random(20_000)
    section = threshold_analysis(y, s, max_points=200)
    curve = section["curve"]
    assert section["n_candidates"] == 20_000
    assert curve["n_points"] == len(curve["threshold"]) <= 200
    assert curve["threshold"][0] == s.max() and curve["threshold"][-1] == s.min()
    assert all(np.diff(curve["threshold"]) < 0)
    for row in section["chosen"].values():
        assert row["threshold"] in curve["threshold"]
    assert len(json.dumps(section, allow_nan=False)) < 120_000


def test_grid_matches_direct_counts():
    y, s = _data(5)
    grid = threshold_analysis(y, s)["grid"]
    assert len(grid["threshold"]) == 101 and grid["threshold"][35] == 0.35
    for i in (0, 20, 35, 50, 77, 100):
        t = grid["threshold"][i]
        pred = s >= t
        if pred.any():
            assert grid["precision"][i] == pytest.approx(skm.precision_score(y, pred))
        else:
            assert grid["precision"][i] is None
        assert grid["recall"][i] == pytest.approx(skm.recall_score(y, pred))
        assert grid["predicted_positive_rate"][i] == pytest.approx(pred.mean())


def test_min_cost_reports_the_all_negative_alternative():
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], bool)
    s = np.array([0.4, 0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.2, 0.1, 0.05])
    cost = threshold_analysis(y, s, costs="fp=5,fn=1")["chosen"]["min_cost"]
    assert cost["threshold"] == 0.9  # the cheapest threshold: one false positive and one miss, 0.6 per row ...
    assert cost["cost"] == pytest.approx((5 * 1 + 1 * 1) / 10)
    assert cost["cost_all_negative"] == pytest.approx(0.1)  # ... but flagging nothing costs less
    assert cost["cost_all_positive"] == pytest.approx(5 * 9 / 10)


def test_unreachable_min_recall_is_none_only_when_impossible():
    y, s = _data(1)
    assert threshold_analysis(y, s, min_recall=1.0)["chosen"]["min_recall"]["recall"] == 1.0


@pytest.mark.parametrize(("spec", "match"), [
    ("fp=1,fnn=5", "'fnn'"), ("fp=1,fn=x", "fn='x'"), ("fp=1,,fn=2", "empty"), ("fp1", "'fp1'"),
    ("fp=1,fp=2", "twice"), ("fp=inf", "finite"), ("", "empty"),
])
def test_cost_parsing_names_the_bad_part(spec, match):
    with pytest.raises(UsageError, match=match):
        parse_costs(spec)


def test_cost_parsing_defaults():
    assert parse_costs(None) == {"fp": 1.0, "fn": 1.0}
    assert parse_costs("fn=5") == {"fp": 1.0, "fn": 5.0}
    assert parse_costs(" FP = 2 , fn=3, tn=-1") == {"fp": 2.0, "fn": 3.0, "tn": -1.0}


def test_bad_inputs():
    with pytest.raises(DataError, match="both positive and negative"):
        threshold_analysis(np.ones(5, bool), np.linspace(0, 1, 5))
    with pytest.raises(DataError, match="NaN"):
        threshold_analysis(np.array([1, 0], bool), np.array([np.nan, 0.2]))
    with pytest.raises(UsageError, match="`min_recall`"):
        threshold_analysis(np.array([1, 0], bool), np.array([0.3, 0.2]), min_recall=1.5)
