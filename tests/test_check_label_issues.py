"""Label issues (modelqa check, issue 10 part 4): confident learning against cleanlab as the oracle,
on generated data where the flipped labels are known, and on the Korean shared set."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from cleanlab.filter import find_label_issues as cleanlab_find
from conftest import shared_file

from modelqa.analysis.checks import label_issues  # noqa: F401  (registers the checks)
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for
from modelqa.analysis.checks.verdict import decide
from modelqa.analysis.confident_learning import find_label_issues
from modelqa.analysis.oof import out_of_fold_probs


def oracle(labels, probs, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cleanlab_find(labels, probs, n_jobs=1, **kw)    # n_jobs only changes speed


def noisy_probs(*, n, k, noise, seed, prior=None, strength=3.0, dtype=np.float64):
    """(given labels, probs, flipped mask): a model that knows the true class, labels flipped at ``noise``."""
    rng = np.random.default_rng(seed)
    prior = np.full(k, 1 / k) if prior is None else np.asarray(prior)
    y_true = rng.choice(k, size=n, p=prior)
    flipped = rng.random(n) < noise
    y = y_true.copy()
    y[flipped] = (y_true[flipped] + rng.integers(1, k, flipped.sum())) % k
    logits = rng.normal(size=(n, k)) + strength * np.eye(k)[y_true]
    p = np.exp(logits)
    return y, (p / p.sum(axis=1, keepdims=True)).astype(dtype), flipped


CASES = {
    "clean-binary": dict(n=400, k=2, noise=0.0, seed=1),
    "noisy-binary": dict(n=600, k=2, noise=0.15, seed=2),
    "noisy-3": dict(n=900, k=3, noise=0.2, seed=3),
    "imbalanced-4": dict(n=1200, k=4, noise=0.1, seed=4, prior=[0.7, 0.2, 0.07, 0.03]),
    "many-12": dict(n=2000, k=12, noise=0.1, seed=5, strength=4.0),
    "float32-5": dict(n=500, k=5, noise=0.1, seed=6, dtype=np.float32),
    "tiny-7": dict(n=40, k=7, noise=0.3, seed=7),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_flagged_rows_and_ranking_equal_cleanlab(case):
    y, p, _ = noisy_probs(**CASES[case])
    ours = find_label_issues(y, p)
    assert np.array_equal(ours.mask, oracle(y, p))
    assert np.array_equal(ours.ranked, oracle(y, p, return_indices_ranked_by="self_confidence"))


def test_rounded_probabilities_with_ties_equal_cleanlab():
    """Probabilities with two decimals make calibrated cells of exactly .5 and tied margins."""
    for seed in range(40):
        y, p, _ = noisy_probs(n=int(30 + 10 * seed), k=2 + seed % 6, noise=0.25, seed=100 + seed, strength=1.5)
        p = np.round(p, 2)
        p = p / p.sum(axis=1, keepdims=True)
        if len(np.unique(y)) > 1:
            assert np.array_equal(find_label_issues(y, p).mask, oracle(y, p)), seed


def test_min_examples_per_class_and_absent_class_equal_cleanlab():
    y, p, _ = noisy_probs(n=300, k=4, noise=0.2, seed=11)
    y[y == 3] = 0                                  # class 3 carried by no row
    y[:3] = 2
    y[3:] = np.where(y[3:] == 2, 1, y[3:])         # class 2 has 3 rows only
    for m in (1, 3, 5):
        assert np.array_equal(find_label_issues(y, p, min_examples_per_class=m).mask,
                              oracle(y, p, min_examples_per_class=m))
    assert 2 in find_label_issues(y, p, min_examples_per_class=5).small_classes


def ctx_for(frame, y, probs, *, reference=None, text_col=None, labels=None, cv=5, feature_cols=()):
    labels = labels or [f"c{i}" for i in range(probs.shape[1] if probs is not None else int(y.max()) + 1)]
    texts = frame[text_col].tolist() if text_col else None
    cur = Side(name="current", path=None, frame=frame, y=y, probs=probs,
               pred=None if probs is None else probs.argmax(axis=1), texts=texts)
    return CheckContext(current=cur, reference=reference, labels=labels, text_col=text_col, cv=cv,
                        feature_cols=tuple(feature_cols))


def run(name, ctx, **overrides):
    spec = REGISTRY[name]
    return decide(spec.run(ctx, config_for(spec, overrides)))


def test_current_noisy_fails_clean_passes_and_lists_the_flips():
    y, p, flipped = noisy_probs(n=1000, k=3, noise=0.12, seed=21, strength=4.0)
    frame = pd.DataFrame({"text": [f"row {i}" for i in range(len(y))]})
    [res] = run("label_issues.current", ctx_for(frame, y, p, text_col="text"))
    truth = oracle(y, p)
    assert res.status == "fail" and res.p_value is None
    assert res.value == pytest.approx(truth.mean()) and res.details["n_flagged"] == truth.sum()
    # the planted flips are what it finds: precision and recall on the known truth
    assert (truth & flipped).sum() / truth.sum() > 0.9 and (truth & flipped).sum() / flipped.sum() > 0.7
    assert len(res.examples) == 20
    ranked = oracle(y, p, return_indices_ranked_by="self_confidence")
    assert [e["row"] for e in res.examples] == (ranked[:20] + 1).tolist()
    first = res.examples[0]
    i = first["row"] - 1
    assert first["given_label"] == f"c{y[i]}" and first["text"] == f"row {i}"
    assert first["p_given"] == pytest.approx(p[i, y[i]], abs=1e-6)
    others = np.delete(p[i], y[i])
    assert first["suggested_label"] == f"c{np.delete(np.arange(3), y[i])[others.argmax()]}"
    assert first["margin"] == pytest.approx(p[i, y[i]] - others.max(), abs=1e-6)
    assert [e["p_given"] for e in res.examples] == sorted(e["p_given"] for e in res.examples)

    y0, p0, _ = noisy_probs(n=1000, k=3, noise=0.0, seed=22, strength=4.0)
    [clean] = run("label_issues.current", ctx_for(frame, y0, p0))
    assert clean.status == "pass" and clean.value <= 0.05
    [few] = run("label_issues.current", ctx_for(frame.iloc[:40], y[:40], p[:40]))
    assert few.status == "warn" and "only 40 rows" in few.reason      # min_n 50: never fails on 40 rows


def test_current_ignores_rows_with_labels_outside_the_model():
    y, p, _ = noisy_probs(n=500, k=3, noise=0.1, seed=23)
    y_out = y.copy()
    y_out[::7] = -1
    keep = y_out >= 0
    [res] = run("label_issues.current", ctx_for(pd.DataFrame({"x": range(500)}), y_out, p))
    assert res.n == keep.sum() and res.details["n_unlabelled"] == (~keep).sum()
    assert res.details["n_flagged"] == oracle(y[keep], p[keep]).sum()
    [one] = run("label_issues.current", ctx_for(pd.DataFrame({"x": range(500)}), np.zeros(500, int), p))
    assert one.status == "skipped"


def keyword_texts(n_per_class, seed, noise):
    rng = np.random.default_rng(seed)
    words = [["refund", "money", "charge", "paid"], ["delivery", "shipping", "parcel", "late"],
             ["password", "login", "account", "locked"]]
    filler = ["please", "help", "today", "my", "the", "is", "why", "again"]
    texts, y = [], []
    for c, ws in enumerate(words):
        for _ in range(n_per_class):
            toks = list(rng.choice(ws, 2)) + list(rng.choice(filler, 3))
            rng.shuffle(toks)
            texts.append(" ".join(toks))
            y.append(c)
    y = np.array(y)
    flipped = rng.random(len(y)) < noise
    given = np.where(flipped, (y + rng.integers(1, 3, len(y))) % 3, y)
    return texts, given, flipped


def test_reference_out_of_fold_equals_sklearn_and_flags_equal_cleanlab():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    texts, given, flipped = keyword_texts(100, seed=31, noise=0.15)
    oof = out_of_fold_probs(given, n_classes=3, texts=texts, cv=4, seed=7)
    pipe = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2),
                         LogisticRegression(C=4.0, max_iter=1000, random_state=7))
    with threadpool_limits(limits=1):
        expected = cross_val_predict(pipe, np.array(texts, dtype=object), given, method="predict_proba",
                                     cv=StratifiedKFold(4, shuffle=True, random_state=7))
    np.testing.assert_allclose(oof.probs, expected, atol=1e-6)   # n-gram columns in another order

    frame = pd.DataFrame({"text": texts, "label": given})
    ref = Side(name="reference", path="train.csv", frame=frame, y=given, texts=texts)
    ctx = ctx_for(frame.iloc[:10], given[:10], None, reference=ref, text_col="text", cv=4,
                  labels=["billing", "shipping", "account"])
    ctx.seed = 7
    [res] = run("label_issues.reference", ctx)
    truth = oracle(given, oof.probs)
    assert res.details["n_flagged"] == truth.sum() and res.status == "fail" and res.threshold == 0.10
    assert (truth & flipped).sum() / flipped.sum() > 0.8 and (truth & flipped).sum() / truth.sum() > 0.8
    assert res.details["folds"] == 4 and res.examples[0]["given_label"] in ("billing", "shipping", "account")
    assert res.details["model_accuracy"] == pytest.approx(np.mean(expected.argmax(axis=1) == given))


def test_reference_skipped_when_the_cheap_model_learns_nothing():
    """Labels unrelated to the texts: the cheap model is no better than the majority class, and
    its disagreements would flag half the rows; the check says so instead of failing."""
    rng = np.random.default_rng(33)
    texts = [" ".join(rng.choice(["alpha", "beta", "gamma", "delta", "omega"], 4)) for _ in range(300)]
    given = rng.integers(0, 3, 300)
    frame = pd.DataFrame({"text": texts})
    ref = Side(name="reference", path=None, frame=frame, y=given, texts=texts)
    [res] = run("label_issues.reference", ctx_for(frame.iloc[:5], given[:5], None, reference=ref, text_col="text",
                                                  labels=["a", "b", "c"]))
    assert res.status == "skipped" and "no better than always predicting the most frequent class" in res.reason


def test_reference_table_features():
    rng = np.random.default_rng(41)
    n = 600
    frame = pd.DataFrame({"age": rng.normal(40, 10, n).round(1),
                          "plan": rng.choice(["basic", "pro", "team"], n),
                          "visits": rng.poisson(5, n)})
    y = ((frame["age"] > 40).astype(int) + (frame["plan"] == "pro")).to_numpy()
    flipped = rng.random(n) < 0.06
    given = np.where(flipped, (y + 1) % 3, y)
    ref = Side(name="reference", path=None, frame=frame.assign(label=given), y=given)
    ctx = ctx_for(frame.iloc[:5], given[:5], None, reference=ref, feature_cols=("age", "plan", "visits"),
                  labels=["a", "b", "c"])
    [res] = run("label_issues.reference", ctx)
    oof = out_of_fold_probs(given, n_classes=3, frame=frame, feature_cols=["age", "plan", "visits"], cv=5, seed=0)
    truth = oracle(given, oof.probs)
    assert res.details["n_flagged"] == truth.sum() and set(res.details["features"]) == {"age", "plan", "visits"}
    assert (truth & flipped).sum() / flipped.sum() > 0.6


def test_korean_shared_set_with_character_ngrams():
    df = pd.read_csv(shared_file("korean_chatbot.csv"))
    df["label"] = df["label"].astype(str).str.strip().astype(int)
    sample = df.groupby("label").sample(400, random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(51)
    y = sample["label"].to_numpy()
    flipped = rng.random(len(y)) < 0.05
    given = np.where(flipped, (y + rng.integers(1, 3, len(y))) % 3, y)
    texts = sample["Q"].tolist()
    ref = Side(name="reference", path="korean_chatbot.csv", frame=sample, y=given, texts=texts)
    ctx = ctx_for(sample.iloc[:5], given[:5], None, reference=ref, text_col="Q", cv=3, labels=["0", "1", "2"])
    [res] = run("label_issues.reference", ctx)
    [oof] = ctx.cache.values()                  # the out-of-fold probabilities the check used
    assert oof.folds == 3 and oof.probs.shape == (1200, 3)
    truth = oracle(given, oof.probs)
    assert res.details["n_flagged"] == truth.sum()
    assert {e["row"] - 1 for e in res.examples} <= set(np.flatnonzero(truth))
    # the cheap model is weak here (about 72 % accurate), so many flags are its own errors; still
    # the planted flips are found, and they are 3x more common among the flagged than by chance (5 %)
    assert (truth & flipped).sum() / flipped.sum() > 0.6
    assert (truth & flipped).sum() / truth.sum() > 0.15
