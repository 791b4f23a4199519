"""Every metrics.json number against scikit-learn, registry-driven (in the style of
scikit-learn's metrics/tests/test_common.py), plus invariances."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from modelqa.metrics import classification_metrics


def _none_if_nan(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _sk(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _none_if_nan(fn(*args, **kwargs))


def _binary_auc(yt, scores):
    return _sk(skm.roc_auc_score, yt, scores) if 0 < yt.sum() < yt.size else None


def _binary_ap(yt, scores):
    return _sk(skm.average_precision_score, yt, scores) if yt.sum() > 0 else None


def _mean(values, weights=None):
    keep = [i for i, v in enumerate(values) if v is not None]
    if not keep:
        return None
    w = np.ones(len(values)) if weights is None else np.asarray(weights, float)
    return float(np.dot([values[i] for i in keep], w[keep]) / w[keep].sum())


def _ovr(case, fn):
    """Per-class one-vs-rest oracle values, computed once per case."""
    cache = case.setdefault("_ovr_cache", {})
    if fn.__name__ not in cache:
        yt, probs = case["y_true"], case["probs"]
        cache[fn.__name__] = [fn(yt == k, probs[:, k]) for k in range(case["K"])]
    return cache[fn.__name__]


def _ece_reference(case, n_bins=15):
    """A naive loop over bins; bin i holds confidences in (i/15, (i+1)/15], bin 0 also 0."""
    probs, yt = case["probs"], case["y_true"]
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == yt
    total = 0.0
    for i in range(n_bins):
        lo, hi = i / n_bins, (i + 1) / n_bins
        in_bin = (conf > lo) & (conf <= hi) if i else (conf <= hi)
        if in_bin.any():
            total += in_bin.sum() / yt.size * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return total


def _prf(average, which):
    def oracle(c):
        fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[which]
        return _sk(fn, c["y_true"], c["y_pred"], average=average, zero_division=0)

    return oracle


def _binary_prf(which):
    def oracle(c):
        pos = c["pos"]
        if pos not in set(c["y_true"]) | set(c["y_pred"]):
            return None  # modelqa: undefined for a class seen nowhere (scikit-learn says 0)
        fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[which]
        return _sk(fn, c["y_true"], c["y_pred"], average="binary", pos_label=pos, zero_division=0)

    return oracle


def _brier(c):
    yt, probs = c["y_true"], c["probs"]
    if c["K"] == 2:
        return _sk(skm.brier_score_loss, yt == c["pos"], probs[:, c["pos"]])
    return _sk(skm.brier_score_loss, yt, probs, labels=list(range(c["K"])), scale_by_half=False)


# key -> oracle(case); None from the oracle means "undefined", the key must hold None.
LABEL_METRICS = {
    "accuracy": lambda c: _sk(skm.accuracy_score, c["y_true"], c["y_pred"]),
    "balanced_accuracy": lambda c: _sk(skm.balanced_accuracy_score, c["y_true"], c["y_pred"]),
    **{f"{w}_{a}": _prf(a, w) for w in ("precision", "recall", "f1") for a in ("macro", "weighted", "micro")},
    "mcc": lambda c: _sk(skm.matthews_corrcoef, c["y_true"], c["y_pred"]),
    "cohen_kappa": lambda c: _sk(skm.cohen_kappa_score, c["y_true"], c["y_pred"]),
}
BINARY_LABEL_METRICS = {w: _binary_prf(w) for w in ("precision", "recall", "f1")}
PROB_METRICS = {
    "log_loss": lambda c: _sk(skm.log_loss, c["y_true"], c["probs"], labels=list(range(c["K"]))),
    "brier_score": _brier,
    "roc_auc_ovr_macro": lambda c: _mean(_ovr(c, _binary_auc)),
    "roc_auc_ovr_weighted": lambda c: _mean(_ovr(c, _binary_auc), np.bincount(c["y_true"], minlength=c["K"])),
    "average_precision_macro": lambda c: _mean(_ovr(c, _binary_ap)),
    "ece": _ece_reference,
}
TOP_K_METRICS = {
    f"top_{k}_accuracy": (
        k,
        lambda c, k=k: _sk(skm.top_k_accuracy_score, c["y_true"], c["probs"], k=k, labels=list(range(c["K"]))),
    )
    for k in (2, 3)
}
BINARY_PROB_METRICS = {
    "roc_auc": lambda c: _binary_auc(c["y_true"] == c["pos"], c["probs"][:, c["pos"]]),
    "average_precision": lambda c: _binary_ap(c["y_true"] == c["pos"], c["probs"][:, c["pos"]]),
}


def make_case(seed: int, n_classes: int, n: int = 120, ties: bool = False, pos: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    if ties:  # coarse probabilities: many equal values within and across rows
        weights = rng.integers(1, 4, size=(n, n_classes)).astype(float)
        probs = weights / weights.sum(axis=1, keepdims=True)
    else:
        probs = rng.dirichlet(np.full(n_classes, 0.7), size=n)
    y_true = np.array([rng.choice(n_classes, p=0.5 * row + 0.5 / n_classes) for row in probs])
    y_pred = probs.argmax(axis=1)
    flip = rng.random(n) < 0.2
    y_pred[flip] = rng.integers(0, n_classes, flip.sum())
    labels = [f"class_{k}" for k in range(n_classes)]
    return {"y_true": y_true, "y_pred": y_pred, "probs": probs, "K": n_classes, "labels": labels, "pos": pos}


CASES = [
    pytest.param(seed, k, ties, id=f"seed{seed}-K{k}{'-ties' if ties else ''}")
    for k in (2, 3, 5, 58)
    for seed in (0, 1, 2)
    for ties in (False, True)
]


def _check(actual, expected, key):
    if expected is None:
        assert actual is None, key
    else:
        assert actual is not None, key
        assert type(actual) is float, key
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize(("seed", "n_classes", "ties"), CASES)
def test_every_metric_matches_sklearn(seed, n_classes, ties):
    case = make_case(seed, n_classes, ties=ties)
    result = classification_metrics(
        case["y_true"], case["y_pred"], labels=case["labels"], probs=case["probs"], n_resamples=50
    )
    metrics = result["metrics"]
    expected = {**LABEL_METRICS, **PROB_METRICS}
    if n_classes == 2:
        expected.update(BINARY_LABEL_METRICS)
        expected.update(BINARY_PROB_METRICS)
    for key, (k, fn) in TOP_K_METRICS.items():
        if n_classes > k:
            expected[key] = fn
    assert set(metrics) == set(expected)
    for key, oracle in expected.items():
        _check(metrics[key], oracle(case), key)

    # Per class: against precision_recall_fscore_support and the binary ranking scores.
    p, r, f, s = skm.precision_recall_fscore_support(
        case["y_true"], case["y_pred"], labels=list(range(n_classes)), zero_division=0
    )
    seen = set(case["y_true"]) | set(case["y_pred"])
    aucs, aps = _ovr(case, _binary_auc), _ovr(case, _binary_ap)
    for k, name in enumerate(case["labels"]):
        entry = result["per_class"][name]
        for key, value in (("precision", p[k]), ("recall", r[k]), ("f1", f[k])):
            _check(entry[key], float(value) if k in seen else None, f"{name}.{key}")
        assert entry["support"] == s[k]
        assert entry["predicted_count"] == int(np.sum(case["y_pred"] == k))
        _check(entry["roc_auc"], aucs[k], f"{name}.roc_auc")
        _check(entry["average_precision"], aps[k], f"{name}.average_precision")

    cm = skm.confusion_matrix(case["y_true"], case["y_pred"], labels=list(range(n_classes)))
    assert result["confusion_matrix"] == {"labels": case["labels"], "counts": cm.tolist()}
    json.dumps(result, allow_nan=False)


@pytest.mark.parametrize("n_classes", [3, 5])
def test_ovr_auc_matches_sklearn_multiclass_call(n_classes):
    """When every class is present, the averages equal roc_auc_score(multi_class='ovr')."""
    case = make_case(7, n_classes, n=300)
    assert set(case["y_true"]) == set(range(n_classes))
    metrics = classification_metrics(
        case["y_true"], case["y_pred"], labels=case["labels"], probs=case["probs"], n_resamples=10
    )["metrics"]
    for average in ("macro", "weighted"):
        expected = skm.roc_auc_score(
            case["y_true"], case["probs"], multi_class="ovr", average=average, labels=list(range(n_classes))
        )
        assert metrics[f"roc_auc_ovr_{average}"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("pos", [0, 1])
def test_binary_pos_label(pos):
    case = make_case(3, 2, pos=pos)
    metrics = classification_metrics(
        case["y_true"], case["y_pred"], labels=["neg", "pos"], probs=case["probs"], pos_label=pos, n_resamples=10
    )["metrics"]
    for registry in (BINARY_LABEL_METRICS, BINARY_PROB_METRICS):
        for key, oracle in registry.items():
            _check(metrics[key], oracle(case), key)
    _check(metrics["brier_score"], _brier(case), "brier_score")


def _assert_close(a, b, path="result"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-12, abs=1e-15), path
    else:
        assert a == b, path


@pytest.mark.parametrize("n_classes", [2, 5, 58])
def test_row_order_does_not_matter(n_classes):
    case = make_case(11, n_classes, ties=True)
    order = np.random.default_rng(0).permutation(case["y_true"].size)
    kwargs = {"labels": case["labels"], "n_resamples": 100}
    a = classification_metrics(case["y_true"], case["y_pred"], probs=case["probs"], **kwargs)
    b = classification_metrics(case["y_true"][order], case["y_pred"][order], probs=case["probs"][order], **kwargs)
    _assert_close(a, b)


@pytest.mark.parametrize("n_classes", [3, 5, 58])
def test_relabeling_only_moves_classes(n_classes):
    """Renaming and reordering the classes gives the same numbers per class name.

    Tie-free probabilities: top-k tie breaking depends on class order by definition.
    The bootstrap draws depend on cell order, so intervals are compared loosely.
    """
    case = make_case(5, n_classes)
    perm = np.random.default_rng(1).permutation(n_classes)  # old id k -> new id perm[k]
    new_labels = [""] * n_classes
    for k, name in enumerate(case["labels"]):
        new_labels[perm[k]] = f"renamed {name}"
    new_probs = np.empty_like(case["probs"])
    new_probs[:, perm] = case["probs"]
    a = classification_metrics(
        case["y_true"], case["y_pred"], labels=case["labels"], probs=case["probs"], n_resamples=400
    )
    b = classification_metrics(
        perm[case["y_true"]], perm[case["y_pred"]], labels=new_labels, probs=new_probs, n_resamples=400
    )
    _assert_close(a["metrics"], b["metrics"])
    for k, name in enumerate(case["labels"]):
        _assert_close(a["per_class"][name], b["per_class"][new_labels[perm[k]]])
    cm_b = np.array(b["confusion_matrix"]["counts"])
    assert np.array_equal(np.array(a["confusion_matrix"]["counts"]), cm_b[np.ix_(perm, perm)])
    for key in ("accuracy", "f1_macro"):
        assert a["confidence_intervals"][key] == pytest.approx(b["confidence_intervals"][key], abs=0.06)


def test_integer_label_names_become_strings():
    case = make_case(2, 3)
    result = classification_metrics(case["y_true"], case["y_pred"], labels=[10, 20, 30], n_resamples=10)
    assert result["labels"] == ["10", "20", "30"]
    assert list(result["per_class"]) == ["10", "20", "30"]
    named = classification_metrics(case["y_true"], case["y_pred"], labels=case["labels"], n_resamples=10)
    assert result["metrics"] == named["metrics"]
