"""performance.metric: metric values against scikit-learn, intervals against metrics.json and
scipy.stats.bootstrap, and the three interval outcomes through the one verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier

from modelqa.analysis.checks import performance as perf
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for
from modelqa.analysis.checks.result import CheckResult
from modelqa.analysis.checks.verdict import decide
from modelqa.errors import UsageError
from modelqa.metrics.classification import classification_metrics

SPEC = REGISTRY["performance.metric"]


def _data(n=400, k=3, acc=0.75, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < acc, y, rng.integers(0, k, n))
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), pred] += 2.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, pred, probs


def _ctx(y, pred, probs=None, labels=None, n_resamples=1000):
    labels = labels or [f"c{i}" for i in range(int(max(np.max(y), np.max(pred))) + 1)]
    side = Side(name="current", path=None, frame=pd.DataFrame({"i": np.arange(len(y))}), y=np.asarray(y),
                probs=probs, pred=np.asarray(pred))
    return CheckContext(current=side, labels=labels, n_resamples=n_resamples, seed=0)


def _run(ctx, **overrides):
    return decide(SPEC.run(ctx, config_for(SPEC, overrides)))


def _by_target(results):
    return {r.target: r for r in results}


SK = {
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "precision_macro": lambda a, b: skm.precision_score(a, b, average="macro", zero_division=0),
    "recall_macro": lambda a, b: skm.recall_score(a, b, average="macro", zero_division=0),
    "f1_macro": lambda a, b: skm.f1_score(a, b, average="macro", zero_division=0),
    "precision_weighted": lambda a, b: skm.precision_score(a, b, average="weighted", zero_division=0),
    "recall_weighted": lambda a, b: skm.recall_score(a, b, average="weighted", zero_division=0),
    "f1_weighted": lambda a, b: skm.f1_score(a, b, average="weighted", zero_division=0),
    "precision_micro": lambda a, b: skm.precision_score(a, b, average="micro", zero_division=0),
    "recall_micro": lambda a, b: skm.recall_score(a, b, average="micro", zero_division=0),
    "f1_micro": lambda a, b: skm.f1_score(a, b, average="micro", zero_division=0),
    "mcc": skm.matthews_corrcoef,
    "cohen_kappa": skm.cohen_kappa_score,
}


@pytest.mark.parametrize("k", [2, 4])
def test_confusion_metrics_equal_sklearn_on_one_matrix_and_on_a_stack(k):
    rng = np.random.default_rng(k)
    stack, pairs = [], []
    for _ in range(6):
        y = rng.integers(0, k, 60)
        pred = np.where(rng.random(60) < 0.6, y, rng.integers(0, k - 1, 60))    # class k-1 rarely predicted
        stack.append(skm.confusion_matrix(y, pred, labels=range(k)))
        pairs.append((y, pred))
    stack = np.stack(stack)
    names = list(SK) + (["precision", "recall", "f1"] if k == 2 else [])
    for name in names:
        got = perf.cm_metric(stack, name)
        for (y, pred), value in zip(pairs, got, strict=True):
            if name in ("precision", "recall", "f1"):
                want = getattr(skm, f"{name}_score")(y, pred, pos_label=1, zero_division=0)
            else:
                want = SK[name](y, pred)
            assert value == pytest.approx(want, abs=1e-12), name


def test_probability_metrics_equal_classification_metrics_and_sklearn():
    for k in (2, 4):
        y, pred, probs = _data(n=300, k=k, seed=k)
        doc = classification_metrics(y, pred, labels=[str(i) for i in range(k)], probs=probs, n_resamples=1)
        for name, value in doc["metrics"].items():
            if name in perf.PROB_METRICS:
                assert perf.prob_metric(name, y, probs) == pytest.approx(value, abs=1e-12), name
            else:
                assert float(perf.cm_metric(doc["confusion_matrix"]["counts"], name)) == pytest.approx(value), name
        assert perf.prob_metric("log_loss", y, probs) == pytest.approx(skm.log_loss(y, probs))
        auc = "roc_auc" if k == 2 else "roc_auc_ovr_macro"
        want = skm.roc_auc_score(y, probs[:, 1]) if k == 2 else skm.roc_auc_score(y, probs, multi_class="ovr")
        assert perf.prob_metric(auc, y, probs) == pytest.approx(want)


def test_accuracy_and_f1_intervals_equal_the_metrics_json_intervals():
    y, pred, probs = _data()
    ctx = _ctx(y, pred, probs)
    res = _by_target(_run(ctx, min={"accuracy": 0.1, "f1_macro": 0.1}, min_lift_over_majority={}))
    doc = classification_metrics(y, pred, labels=ctx.labels, probs=probs, n_resamples=1000, seed=0)
    assert res["min:accuracy"].interval == pytest.approx(tuple(doc["confidence_intervals"]["accuracy"]), abs=1e-12)
    assert res["min:f1_macro"].interval == pytest.approx(tuple(doc["confidence_intervals"]["f1_macro"]), abs=1e-12)
    assert res["min:accuracy"].statistic == pytest.approx(skm.accuracy_score(y, pred))


def test_log_loss_interval_agrees_with_scipy_bootstrap():
    y, pred, probs = _data(n=600, seed=3)
    res = _by_target(_run(_ctx(y, pred, probs), max={"log_loss": 5.0}, min_lift_over_majority={}))
    losses = -np.log(np.clip(probs[np.arange(y.size), y], 1e-15, 1))
    ci = stats.bootstrap((losses,), np.mean, method="percentile", n_resamples=2000, random_state=1).confidence_interval
    lo, hi = res["max:log_loss"].interval
    assert lo == pytest.approx(ci.low, abs=0.03) and hi == pytest.approx(ci.high, abs=0.03)
    assert res["max:log_loss"].statistic == pytest.approx(skm.log_loss(y, probs))


def test_pass_warn_fail_follow_the_interval_for_min_and_max():
    y, pred, probs = _data(n=400, acc=0.75)
    ctx = _ctx(y, pred, probs)
    acc = skm.accuracy_score(y, pred)
    ll = skm.log_loss(y, probs)
    res = _by_target(_run(ctx, min={"accuracy": acc - 0.15}, min_lift_over_majority={}))
    assert res["min:accuracy"].status == "pass" and res["min:accuracy"].interval[0] >= acc - 0.15
    for target, limits in (("min:accuracy", {"min": {"accuracy": acc}}), ("max:log_loss", {"max": {"log_loss": ll}})):
        r = _by_target(_run(ctx, min_lift_over_majority={}, **limits))[target]
        lo, hi = r.interval
        assert lo < (acc if target == "min:accuracy" else ll) < hi
        assert r.status == "warn" and r.p_value >= 0.05 and r.details["interval_side"] == "straddles"
    fail = _by_target(_run(ctx, min={"accuracy": acc + 0.15}, max={"log_loss": ll - 0.3},
                           min_lift_over_majority={}))
    assert fail["min:accuracy"].status == "fail" and fail["min:accuracy"].interval[1] < acc + 0.15
    assert fail["max:log_loss"].status == "fail" and fail["max:log_loss"].interval[0] > ll - 0.3
    assert fail["min:accuracy"].value == fail["min:accuracy"].interval[0]      # the bad-side bound
    assert fail["max:log_loss"].value == fail["max:log_loss"].interval[1]


def test_the_interval_rule_survives_run_wide_correction():
    """A whole-interval fail stays fail and a straddle stays warn among 200 other tests."""
    y, pred, _ = _data(n=400, acc=0.75)
    acc = skm.accuracy_score(y, pred)
    mine = SPEC.run(_ctx(y, pred), config_for(SPEC, {"min": {"accuracy": acc + 0.15, "f1_macro": 0.0},
                                                     "min_lift_over_majority": {}}))
    straddle = SPEC.run(_ctx(y, pred), config_for(SPEC, {"min": {"accuracy": acc}, "min_lift_over_majority": {}}))
    others = [CheckResult(check="drift.column", category="drift", target=f"c{i}", value=0.5, threshold=0.1,
                          p_value=p) for i, p in enumerate(np.linspace(0.001, 1, 200))]
    statuses = {r.target: r.status for r in decide(mine + others)}
    assert statuses["min:accuracy"] == "fail" and statuses["min:f1_macro"] == "pass"
    assert [r.status for r in decide(straddle + others) if r.check == "performance.metric"] == ["warn"]


def test_default_suite_fails_a_constant_model_and_passes_a_useful_one():
    y, pred, probs = _data(n=300, acc=0.8)
    constant = np.full_like(y, np.bincount(y).argmax())
    bad = _run(_ctx(y, constant))
    assert [(r.target, r.status) for r in bad] == [("min_lift_over_majority:balanced_accuracy", "fail")]
    assert bad[0].statistic == 0.0 and bad[0].interval == (0.0, 0.0)
    good = _run(_ctx(y, pred, probs))
    assert [r.status for r in good] == ["pass"]
    dummy = DummyClassifier(strategy="most_frequent").fit(np.zeros((y.size, 1)), y)
    base = skm.balanced_accuracy_score(y, dummy.predict(np.zeros((y.size, 1))))
    assert good[0].details["majority_balanced_accuracy"] == pytest.approx(base)
    assert good[0].statistic == pytest.approx(skm.balanced_accuracy_score(y, pred) - base)


def test_lift_over_chance_and_a_bare_number_for_accuracy():
    y, pred, _ = _data(n=500, k=3, acc=0.8, seed=5)
    shares = np.bincount(y) / y.size
    res = _by_target(_run(_ctx(y, pred), min_lift_over_chance={"accuracy": 0.1}, min_lift_over_majority=0.05))
    chance = res["min_lift_over_chance:accuracy"]
    assert chance.details["chance_accuracy"] == pytest.approx(np.sum(shares**2))      # hand-computed
    assert chance.statistic == pytest.approx(skm.accuracy_score(y, pred) - np.sum(shares**2))
    majority = res["min_lift_over_majority:accuracy"]
    assert majority.details["majority_accuracy"] == pytest.approx(shares.max())
    assert chance.status == majority.status == "pass"


def test_rows_with_labels_outside_the_model_are_excluded_and_counted():
    y, pred, _ = _data(n=200)
    y2 = y.copy()
    y2[:10] = -1
    r = _run(_ctx(y2, pred, labels=["c0", "c1", "c2"]), min={"accuracy": 0.1}, min_lift_over_majority={})[0]
    assert r.n == 190 and r.details["excluded_rows"] == 10
    assert r.statistic == pytest.approx(skm.accuracy_score(y[10:], pred[10:]))


def test_suite_errors_and_skips_name_the_metric():
    y, pred, _ = _data(n=100)
    ctx = _ctx(y, pred)
    with pytest.raises(UsageError, match="f1_macro"):
        _run(ctx, min={"f1_marco": 0.5})
    with pytest.raises(UsageError, match="lift is defined for confusion-matrix metrics"):
        _run(ctx, min_lift_over_majority={"log_loss": 0.1})
    with pytest.raises(UsageError, match="must be a number"):
        _run(ctx, min={"accuracy": "high"})
    res = _by_target(_run(ctx, min={"roc_auc_ovr_macro": 0.5, "f1": 0.5}, min_lift_over_majority={}))
    assert res["min:roc_auc_ovr_macro"].status == "skipped" and "probabilities" in res["min:roc_auc_ovr_macro"].reason
    assert res["min:f1"].status == "skipped" and "binary" in res["min:f1"].reason
    assert [r.status for r in _run(ctx, min_lift_over_majority={})] == ["skipped"]
