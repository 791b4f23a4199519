"""The regression checks on generated runs where the truth is known, with scipy / scikit-learn
as oracles for every number, judged by the one verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import f1_score, log_loss, recall_score

from modelqa.analysis import paired
from modelqa.analysis.checks import verdict
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for
from modelqa.analysis.checks.regression import RunData, align, current_run
from modelqa.errors import DataError

LABELS = ["neg", "neu", "pos"]
N = 2000


def baseline_rows(n: int = N, seed: int = 0, accuracy: float = 0.85):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < accuracy, y, (y + rng.integers(1, 3, n)) % 3)
    return y, pred, rng


def degrade(y, pred, rng, *, broken: int, fixed: int, only_class: int | None = None):
    """The baseline's predictions with ``broken`` right rows made wrong and ``fixed`` wrong rows made right."""
    new = pred.copy()
    right = np.flatnonzero((pred == y) & ((y == only_class) if only_class is not None else True))
    wrong = np.flatnonzero(pred != y)
    b = rng.choice(right, broken, replace=False)
    f = rng.choice(wrong, fixed, replace=False)
    new[b] = (y[b] + 1) % 3
    new[f] = y[f]
    return new


def make_ctx(y, pred_base, pred_new, *, texts=None, ids=None, base_texts=None, base_ids=None):
    n = y.size
    texts = texts if texts is not None else [f"review number {i}" for i in range(n)]
    names = np.asarray(LABELS, dtype=object)
    frame = pd.DataFrame({"text": texts, "label": names[y]})
    if ids is not None:
        frame.insert(0, "id", ids)
    current = Side(name="current", path="current.csv", frame=frame, y=y, pred=pred_new, texts=list(texts))
    baseline = RunData(name="runs/baseline", y_true=names[y], pred=names[pred_base], labels=list(LABELS),
                       texts=list(base_texts if base_texts is not None else texts),
                       id_col="id" if base_ids is not None else None,
                       ids=None if base_ids is None else np.asarray(base_ids, dtype=object))
    return CheckContext(current=current, label_col="label", text_col="text", id_col="id" if ids is not None else None,
                        labels=list(LABELS), baseline=baseline, n_resamples=1000, seed=0)


def run(name: str, ctx: CheckContext, **overrides):
    spec = REGISTRY[name]
    return verdict.decide(spec.run(ctx, config_for(spec, overrides)))


def test_a_real_drop_fails_at_2000_rows():
    y, base, rng = baseline_rows()
    new = degrade(y, base, rng, broken=120, fixed=20)           # accuracy 5 points lower
    [r] = run("regression.metric_drop", make_ctx(y, base, new))
    assert r.status == "fail"
    assert r.target == "accuracy" and r.test == "mcnemar_exact" and r.n == N
    assert r.value == pytest.approx((base == y).mean() - (new == y).mean()) == pytest.approx(0.05)
    assert r.p_value == pytest.approx(stats.binomtest(120, 140, 0.5).pvalue, rel=1e-9)
    assert r.interval[0] < r.value < r.interval[1] and r.interval[0] > 0.01
    assert r.details["right_to_wrong"] == 120 and r.details["wrong_to_right"] == 20
    assert len(r.examples) == 20
    for ex in r.examples:                                       # each example really flipped
        i = ex["row"] - 1
        assert base[i] == y[i] != new[i] and ex["baseline_label"] == LABELS[base[i]]


def test_a_tiny_drop_passes_and_an_insignificant_one_warns():
    y, base, rng = baseline_rows()
    tiny = degrade(y, base, rng, broken=15, fixed=10)           # 0.25 points: under the 1-point threshold
    [r] = run("regression.metric_drop", make_ctx(y, base, tiny))
    assert r.status == "pass" and r.value == pytest.approx(0.0025)
    # 1.5 points lower, but from 200 losses against 170 gains: not significant
    churn = degrade(y, base, rng, broken=200, fixed=170)
    [r] = run("regression.metric_drop", make_ctx(y, base, churn))
    assert r.value == pytest.approx(0.015)
    assert r.p_value == pytest.approx(stats.binomtest(200, 370, 0.5).pvalue) and r.p_value > 0.05
    assert r.status == "warn" and "not significant" in r.reason


def test_identical_runs_and_an_improvement_pass():
    y, base, rng = baseline_rows()
    [same] = run("regression.metric_drop", make_ctx(y, base, base.copy()))
    assert same.status == "pass" and same.value == 0.0 and same.p_value == 1.0
    better = degrade(y, base, rng, broken=0, fixed=150)
    [r] = run("regression.metric_drop", make_ctx(y, base, better))
    assert r.status == "pass" and r.value == pytest.approx(-0.075) and r.p_value < 1e-10


def test_too_few_rows_warn_at_most():
    y, base, rng = baseline_rows(n=60, seed=3)
    new = degrade(y, base, rng, broken=12, fixed=0)
    [r] = run("regression.metric_drop", make_ctx(y, base, new))
    assert r.value == pytest.approx(0.2) and r.p_value < 0.001
    assert r.status == "warn" and "only 60 rows" in r.reason


def test_another_metric_uses_the_paired_bootstrap():
    y, base, rng = baseline_rows()
    new = degrade(y, base, rng, broken=120, fixed=20)
    [r] = run("regression.metric_drop", make_ctx(y, base, new), metric="f1_macro")
    assert r.test == "paired_bootstrap" and r.status == "fail"
    assert r.value == pytest.approx(f1_score(y, base, average="macro") - f1_score(y, new, average="macro"))
    expected = paired.paired_bootstrap(y, base, new, metric="f1_macro", n_resamples=1000, seed=0, labels=[0, 1, 2])
    assert r.p_value == pytest.approx(expected.p_value)
    assert r.interval == pytest.approx((-expected.interval[1], -expected.interval[0]))


def test_class_drop_finds_the_one_class_that_got_worse():
    y, base, rng = baseline_rows()
    new = degrade(y, base, rng, broken=100, fixed=0, only_class=2)   # only "pos" loses recall
    results = {r.target: r for r in run("regression.class_drop", make_ctx(y, base, new))}
    assert set(results) == set(LABELS)
    want = recall_score(y, base, average=None) - recall_score(y, new, average=None)
    for j, label in enumerate(LABELS):
        assert results[label].value == pytest.approx(want[j], abs=1e-12)
        assert results[label].n == int((y == j).sum())
    assert results["pos"].status == "fail" and results["pos"].value > 0.1
    assert results["neg"].status == results["neu"].status == "pass"


def test_rows_are_matched_by_id_when_the_order_differs():
    y, base, rng = baseline_rows(n=500, seed=4)
    new = degrade(y, base, rng, broken=40, fixed=5)
    ids = np.array([f"id{i}" for i in range(500)], dtype=object)
    texts = [f"review number {i}" for i in range(500)]
    order = rng.permutation(500)
    ctx = make_ctx(y[order], base[order], new[order], texts=[texts[i] for i in order], ids=ids[order])
    ctx.baseline = make_ctx(y, base, new, ids=ids, base_ids=ids).baseline     # baseline in the original order
    [r] = run("regression.metric_drop", ctx)
    assert r.details["aligned_by"] == "id"
    assert (r.details["right_to_wrong"], r.details["wrong_to_right"]) == (40, 5)


def test_runs_on_different_rows_are_refused_with_the_reason():
    y, base, _ = baseline_rows(n=300, seed=5)
    texts = [f"review number {i}" for i in range(300)]
    other = list(texts)
    other[41] = "something else entirely"
    ctx = make_ctx(y, base, base, texts=other, base_texts=texts)
    with pytest.raises(DataError, match=r"texts differ in 1 of 300 rows \(42\); row 42 is 'review number 41'"):
        REGISTRY["regression.metric_drop"].run(ctx, config_for(REGISTRY["regression.metric_drop"]))
    short = make_ctx(y[:299], base[:299], base[:299])
    short.baseline = make_ctx(y, base, base).baseline
    with pytest.raises(DataError, match="has 300 rows and current.csv has 299"):
        REGISTRY["regression.class_drop"].run(short, config_for(REGISTRY["regression.class_drop"]))
    flipped = y.copy()
    flipped[[3, 7]] = (flipped[[3, 7]] + 1) % 3
    ctx = make_ctx(flipped, base, base)
    ctx.baseline = make_ctx(y, base, base).baseline
    with pytest.raises(DataError, match=r"true labels differ in 2 of 300 rows \(4, 8\)"):
        align(ctx.baseline, current_run(ctx))
    ids = np.array([f"id{i}" for i in range(300)], dtype=object)
    ctx = make_ctx(y, base, base, ids=np.r_[ids[:-1], ["new-id"]], base_ids=ids)
    with pytest.raises(DataError, match="1 ids of 'id' only in runs/baseline \\('id299'\\), 1 only in current.csv"):
        REGISTRY["regression.metric_drop"].run(ctx, config_for(REGISTRY["regression.metric_drop"]))


def test_log_loss_increase_with_probabilities():
    y, base, rng = baseline_rows(n=800, seed=6)
    p_base = np.full((800, 3), 0.1)
    p_base[np.arange(800), base] = 0.8
    p_new = np.full((800, 3), 0.2)
    p_new[np.arange(800), base] = 0.6                             # same labels, less confident
    ctx = make_ctx(y, base, base)
    ctx.current.probs = p_new
    ctx.baseline = RunData(**{**ctx.baseline.__dict__, "probs": p_base})
    [r] = run("regression.metric_drop", ctx, metric="log_loss", max_drop=0.05)
    assert r.value == pytest.approx(log_loss(y, p_new, labels=[0, 1, 2]) - log_loss(y, p_base, labels=[0, 1, 2]))
    assert r.test == "paired_bootstrap" and r.status == "fail"


def test_a_label_outside_the_model_labels_keeps_its_name():
    """A current row whose label the model does not know (y = -1) is matched by its raw label
    and counts as wrong in both runs."""
    y, base, _ = baseline_rows(n=200, seed=7)
    ctx = make_ctx(y, base, base.copy())
    ctx.current.y = y.copy()
    ctx.current.y[0] = -1
    ctx.current.frame.loc[0, "label"] = " other "
    names = ctx.baseline.y_true.copy()
    names[0] = "other"
    ctx.baseline = RunData(**{**ctx.baseline.__dict__, "y_true": names})
    run_now = current_run(ctx)
    assert run_now.y_true[0] == "other" and not run_now.correct[0]
    [r] = run("regression.metric_drop", ctx)
    assert r.value == 0.0 and r.details["mcnemar"]["both_wrong"] >= 1
