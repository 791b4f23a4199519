"""analysis/paired.py against independent oracles: scipy.stats (binomtest, binom, bootstrap)
and scikit-learn (every confusion-matrix metric)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from modelqa.analysis import paired
from modelqa.errors import UsageError

SKLEARN = {
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "precision_macro": lambda y, p: skm.precision_score(y, p, average="macro", zero_division=0),
    "recall_macro": lambda y, p: skm.recall_score(y, p, average="macro", zero_division=0),
    "f1_macro": lambda y, p: skm.f1_score(y, p, average="macro", zero_division=0),
    "precision_weighted": lambda y, p: skm.precision_score(y, p, average="weighted", zero_division=0),
    "recall_weighted": lambda y, p: skm.recall_score(y, p, average="weighted", zero_division=0),
    "f1_weighted": lambda y, p: skm.f1_score(y, p, average="weighted", zero_division=0),
    "precision_micro": lambda y, p: skm.precision_score(y, p, average="micro", zero_division=0),
    "recall_micro": lambda y, p: skm.recall_score(y, p, average="micro", zero_division=0),
    "f1_micro": lambda y, p: skm.f1_score(y, p, average="micro", zero_division=0),
    "mcc": skm.matthews_corrcoef,
    "cohen_kappa": skm.cohen_kappa_score,
}


def noisy(y: np.ndarray, accuracy: float, k: int, rng: np.random.Generator) -> np.ndarray:
    """Predictions that keep the true label with probability ``accuracy``, else a random other one."""
    wrong = (y + rng.integers(1, k, y.size)) % k
    return np.where(rng.random(y.size) < accuracy, y, wrong)


@pytest.mark.parametrize("b,c", [(0, 0), (3, 0), (0, 9), (10, 20), (7, 8), (1, 1), (60, 31),
                                 (500, 560), (12345, 12000)])
def test_mcnemar_exact_p_equals_scipy_binomtest_and_statsmodels_formula(b, c):
    a_right = np.r_[np.ones(b, bool), np.zeros(c, bool), np.ones(40, bool), np.zeros(11, bool)]
    b_right = np.r_[np.zeros(b, bool), np.ones(c, bool), np.ones(40, bool), np.zeros(11, bool)]
    order = np.random.default_rng(b + c).permutation(a_right.size)
    result = paired.mcnemar_exact(a_right[order], b_right[order])
    assert (result.b, result.c, result.both_right, result.both_wrong) == (b, c, 40, 11)
    assert result.n == b + c + 51 and result.statistic == min(b, c)
    if b + c == 0:
        assert result.p_value == 1.0
        return
    assert result.p_value == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-9, abs=1e-300)
    # statsmodels.stats.contingency_tables.mcnemar(exact=True): min(1, 2 * binom.cdf(min(b, c), b + c, .5))
    by_hand = min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5))
    assert result.p_value == pytest.approx(by_hand, rel=1e-9)


def test_mcnemar_small_case_by_hand():
    # b = 5, c = 0: p = 2 * (1/2)^5 = 1/16
    result = paired.mcnemar_exact([1, 1, 1, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0, 1])
    assert (result.b, result.c) == (5, 0)
    assert result.p_value == pytest.approx(1 / 16)


def test_mcnemar_refuses_unequal_lengths_and_non_booleans():
    with pytest.raises(UsageError, match="same length"):
        paired.mcnemar_exact([True, False], [True])
    with pytest.raises(UsageError, match="True / False"):
        paired.mcnemar_exact([0, 2], [1, 1])


@pytest.mark.parametrize("k", [2, 3, 5])
def test_observed_deltas_equal_scikit_learn(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 700)
    a, b = noisy(y, 0.8, k, rng), noisy(y, 0.7, k, rng)
    names = np.array([f"class {i}" for i in range(k)], dtype=object)
    result = paired.paired_deltas(names[y], names[a], names[b], n_resamples=50,
                                  per_class=("precision", "recall", "f1"))
    for metric, fn in SKLEARN.items():
        d = result.metrics[metric]
        assert d.value_a == pytest.approx(fn(y, a), abs=1e-12), metric
        assert d.value_b == pytest.approx(fn(y, b), abs=1e-12), metric
        assert d.delta == pytest.approx(fn(y, b) - fn(y, a), abs=1e-12), metric
    for metric, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        want = fn(y, b, average=None, labels=range(k)) - fn(y, a, average=None, labels=range(k))
        got = [result.per_class[metric][str(names[j])].delta for j in range(k)]
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_stack_metrics_on_resampled_matrices_equal_scikit_learn_on_the_rows():
    """Each replicate matrix scored vectorised equals scikit-learn on rows that give that matrix."""
    rng = np.random.default_rng(3)
    k = 4
    cms = rng.multinomial(60, rng.dirichlet(np.ones(k * k) * 0.3), size=12).reshape(12, k, k)
    scored = paired.stack_metrics(cms)
    for r, cm in enumerate(cms):
        true, pred = np.divmod(np.repeat(np.arange(k * k), cm.ravel()), k)
        for metric, fn in SKLEARN.items():
            want = fn(true, pred)
            got = scored[metric][r]
            if np.isnan(got):  # kappa undefined: scikit-learn gives nan too
                assert np.isnan(want), metric
            else:
                assert got == pytest.approx(want, abs=1e-12), (metric, cm)


def test_replicates_are_paired_same_rows_for_both_models():
    """Both models' matrices of a replicate come from the same resampled rows: the same true
    counts per class, n rows each, and on average the observed matrices."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 400)
    a, b = noisy(y, 0.9, 3, rng), noisy(y, 0.6, 3, rng)
    cm_a, cm_b = paired.paired_replicates(y, a, b, 3, n_resamples=4000, seed=1)
    np.testing.assert_array_equal(cm_a.sum(axis=2), cm_b.sum(axis=2))
    assert (cm_a.sum(axis=(1, 2)) == 400).all()
    observed = skm.confusion_matrix(y, a, labels=range(3))
    np.testing.assert_allclose(cm_a.mean(axis=0), observed, atol=1.2)


def test_batching_does_not_change_the_draws(monkeypatch):
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 300)
    a, b = noisy(y, 0.8, 3, rng), noisy(y, 0.7, 3, rng)
    whole = paired.paired_replicates(y, a, b, 3, n_resamples=64, seed=2)
    monkeypatch.setattr(paired, "_BATCH_CELLS", 100)
    batched = paired.paired_replicates(y, a, b, 3, n_resamples=64, seed=2)
    np.testing.assert_array_equal(whole[0], batched[0])
    np.testing.assert_array_equal(whole[1], batched[1])


def test_interval_matches_scipy_paired_bootstrap():
    """The percentile interval of the accuracy delta agrees with scipy.stats.bootstrap(paired=True)
    (different random draws, so to Monte Carlo error)."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 2000)
    a = noisy(y, 0.80, 3, rng)
    b = a.copy()                                   # B: A with 110 rows broken and 30 fixed
    broken = rng.choice(np.flatnonzero(a == y), 110, replace=False)
    fixed = rng.choice(np.flatnonzero(a != y), 30, replace=False)
    b[broken] = (y[broken] + 1) % 3
    b[fixed] = y[fixed]
    ours = paired.paired_bootstrap(y, a, b, metric="accuracy", n_resamples=4999, seed=0)

    def delta(yy, aa, bb, axis=-1):
        return (bb == yy).mean(axis=axis) - (aa == yy).mean(axis=axis)

    ref = stats.bootstrap((y, a, b), delta, paired=True, vectorized=True, n_resamples=4999,
                          method="percentile", random_state=np.random.default_rng(1))
    assert ours.interval[0] == pytest.approx(ref.confidence_interval.low, abs=0.004)
    assert ours.interval[1] == pytest.approx(ref.confidence_interval.high, abs=0.004)
    # and the paired interval is narrower than an unpaired one would be (the point of pairing)
    se_paired = (ours.interval[1] - ours.interval[0]) / (2 * 1.96)
    acc_a, acc_b = (a == y).mean(), (b == y).mean()
    se_unpaired = np.sqrt(acc_a * (1 - acc_a) / 2000 + acc_b * (1 - acc_b) / 2000)
    assert se_paired < 0.6 * se_unpaired


def test_known_truth_real_drop_is_significant_identical_runs_are_not():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 4, 2000)
    a = noisy(y, 0.85, 4, rng)
    worse = a.copy()
    right = np.flatnonzero(a == y)
    flip = rng.choice(right, 120, replace=False)          # 6 points of accuracy lost
    worse[flip] = (y[flip] + 1) % 4
    drop = paired.paired_bootstrap(y, a, worse, metric="f1_macro", n_resamples=2000, seed=0)
    assert drop.delta < -0.05 and drop.interval[1] < 0 and drop.p_value < 0.01
    same = paired.paired_bootstrap(y, a, a, metric="accuracy", n_resamples=500, seed=0)
    assert same.delta == 0.0 and same.interval == (0.0, 0.0) and same.p_value == 1.0


def test_seeded_and_deterministic():
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 500)
    a, b = noisy(y, 0.8, 2, rng), noisy(y, 0.75, 2, rng)
    one = paired.paired_bootstrap(y, a, b, metric="mcc", seed=4)
    two = paired.paired_bootstrap(y, a, b, metric="mcc", seed=4)
    other = paired.paired_bootstrap(y, a, b, metric="mcc", seed=5)
    assert one == two and one.interval != other.interval


def test_bad_inputs_are_usage_errors():
    with pytest.raises(UsageError, match="same length"):
        paired.paired_bootstrap([0, 1], [0, 1, 1], [0, 1])
    with pytest.raises(UsageError, match="'z' at row 1"):
        paired.paired_bootstrap(["x", "y"], ["x", "z"], ["x", "y"], labels=["x", "y"])
    with pytest.raises(UsageError, match="unknown paired metric"):
        paired.paired_bootstrap([0, 1], [0, 1], [0, 1], metric="roc_auc")
    with pytest.raises(UsageError, match="n_resamples"):
        paired.paired_bootstrap([0, 1], [0, 1], [0, 1], n_resamples=0)


def test_mcnemar_takes_a_pandas_column_of_booleans():
    import pandas as pd

    a = pd.Series([True, True, False, True], dtype=object)
    b = pd.Series([False, True, True, False])
    result = paired.mcnemar_exact(a, b)
    assert (result.b, result.c, result.both_right, result.both_wrong) == (2, 1, 1, 0)


def probs_with_ties(y, k, rng, strength=1.5):
    logits = rng.normal(0, 1, (y.size, k))
    logits[np.arange(y.size), y] += strength
    logits = np.round(logits, 1)                                  # tied scores
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("k,pos", [(2, 1), (2, 0), (3, 1), (5, 1)])
def test_probability_metrics_observed_equal_metrics_json(k, pos):
    from modelqa.analysis.paired_rows import probability_metrics
    from modelqa.metrics.classification import classification_metrics

    rng = np.random.default_rng(20 + k + pos)
    y = rng.integers(0, k, 300)
    p = probs_with_ties(y, k, rng)
    ours = probability_metrics(y, p, np.ones((1, 300)), pos=pos)
    doc = classification_metrics(y, p.argmax(1), labels=[f"c{i}" for i in range(k)], probs=p,
                                 pos_label=pos if k == 2 else None, n_resamples=1)["metrics"]
    prob_keys = {"log_loss", "brier_score", "roc_auc_ovr_macro", "roc_auc_ovr_weighted", "average_precision_macro",
                 "ece", "roc_auc", "average_precision", "top_2_accuracy", "top_3_accuracy"} & set(doc)
    assert set(ours) == prob_keys
    for m in prob_keys:
        assert ours[m][0] == pytest.approx(doc[m], abs=1e-12), m


@pytest.mark.parametrize("k", [2, 4])
def test_probability_replicates_equal_the_metrics_of_the_resampled_rows(k):
    """A replicate with row counts w scores like the rows repeated w times (our metrics.json on the
    expanded rows) and like scikit-learn with sample_weight=w."""
    from modelqa.analysis.paired_rows import probability_metrics, resample_counts
    from modelqa.metrics.classification import classification_metrics

    rng = np.random.default_rng(30 + k)
    y = rng.integers(0, k, 250)
    p = probs_with_ties(y, k, rng)
    w = resample_counts(250, 4, rng)
    reps = probability_metrics(y, p, w)
    for r in range(4):
        rows = np.repeat(np.arange(250), w[r].astype(int))
        doc = classification_metrics(y[rows], p[rows].argmax(1), labels=[f"c{i}" for i in range(k)], probs=p[rows],
                                     n_resamples=1)["metrics"]
        for m in reps:
            assert reps[m][r] == pytest.approx(doc[m], rel=1e-5, abs=1e-6), (m, r)
        if k == 2:
            assert reps["roc_auc"][r] == pytest.approx(skm.roc_auc_score(y == 1, p[:, 1], sample_weight=w[r]), rel=1e-5)
            assert reps["average_precision"][r] == pytest.approx(
                skm.average_precision_score(y == 1, p[:, 1], sample_weight=w[r]), rel=1e-5)
        else:
            assert reps["roc_auc_ovr_weighted"][r] == pytest.approx(skm.roc_auc_score(
                y, p, multi_class="ovr", average="weighted", sample_weight=w[r]), rel=1e-5)


def test_paired_probability_deltas_known_truth():
    from modelqa.analysis.paired_rows import paired_probability_deltas

    rng = np.random.default_rng(40)
    y = rng.integers(0, 3, 1500)
    sharp, blurred = probs_with_ties(y, 3, rng, 2.0), probs_with_ties(y, 3, rng, 0.8)
    same = paired_probability_deltas(y, sharp, sharp, n_resamples=200)
    assert all(d.delta == 0 and d.interval == (0.0, 0.0) and d.p_value == 1.0 for d in same.values())
    worse = paired_probability_deltas(y, sharp, blurred, n_resamples=300, seed=1)
    assert worse["roc_auc_ovr_macro"].interval[1] < 0 < worse["log_loss"].interval[0]
    assert worse["roc_auc_ovr_macro"].p_value < 0.01
    again = paired_probability_deltas(y, sharp, blurred, n_resamples=300, seed=1)
    assert again == worse
