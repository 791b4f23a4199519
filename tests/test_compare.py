"""``modelqa compare`` and ``modelqa.api.compare`` on real run folders written by
``modelqa.evaluate``, with scikit-learn / scipy and the runs' own metrics.json as oracles."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

import modelqa
from modelqa.api.compare import compare, load_run
from modelqa.cli.main import main
from modelqa.errors import DataError
from modelqa.report.tables import read_csv_back, write_table

LABELS = ["neg", "neu", "pos"]
N = 600


def predictions_file(path, y, accuracy, rng, *, texts):
    logits = rng.normal(0, 1, (y.size, 3))
    target = np.where(rng.random(y.size) < accuracy, y, (y + rng.integers(1, 3, y.size)) % 3)
    logits[np.arange(y.size), target] += 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(y.size)], "text": texts,
                          "label": np.asarray(LABELS)[y]})
    for j, label in enumerate(LABELS):
        frame[f"prob_{label}"] = probs[:, j]
    frame.to_csv(path, index=False)
    return probs.argmax(axis=1), probs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two evaluate runs (A ~85 %, B ~78 % accurate) of the same 600 rows; texts include a
    formula-looking cell and Hangul, so the CSV round trip is exercised."""
    root = tmp_path_factory.mktemp("compare")
    rng = np.random.default_rng(11)
    y = rng.integers(0, 3, N)
    texts = [f"=cmd {i}" if i % 50 == 0 else f"리뷰 {i} text" for i in range(N)]
    out = {"y": y, "root": root, "texts": texts}
    for name, acc in (("a", 0.85), ("b", 0.78)):
        pred, probs = predictions_file(root / f"{name}.csv", y, acc, rng, texts=texts)
        modelqa.evaluate(predictions=root / f"{name}.csv", id_col="id", out=root / f"run_{name}")
        out[name], out[f"probs_{name}"] = pred, probs
    return out


def test_deltas_mcnemar_and_flips_against_oracles(runs, tmp_path):
    y, a, b = runs["y"], runs["a"], runs["b"]
    result = compare(runs["root"] / "run_a", runs["root"] / "run_b", out=tmp_path / "cmp", n_resamples=500)
    doc = result.document
    assert doc["n"] == N and doc["aligned_by"] == "id" and doc["labels"] == LABELS
    m = doc["metrics"]
    # each side's value is the run's own metrics.json value (itself checked against scikit-learn)
    for side, run in (("a", "run_a"), ("b", "run_b")):
        written = json.loads((runs["root"] / run / "metrics.json").read_text())["metrics"]
        for metric, value in written.items():
            assert m[metric][side] == pytest.approx(value, abs=1e-9), (metric, side)
    assert m["accuracy"]["delta"] == pytest.approx(skm.accuracy_score(y, b) - skm.accuracy_score(y, a))
    assert m["f1_macro"]["delta"] == pytest.approx(skm.f1_score(y, b, average="macro")
                                                   - skm.f1_score(y, a, average="macro"))
    assert m["log_loss"]["delta"] == pytest.approx(skm.log_loss(y, runs["probs_b"]) - skm.log_loss(y, runs["probs_a"]))
    lo, hi = m["accuracy"]["interval"]
    assert lo < m["accuracy"]["delta"] < hi
    # McNemar: the discordant counts by hand, the p from scipy
    b_, c_ = int(((a == y) & (b != y)).sum()), int(((a != y) & (b == y)).sum())
    mc = doc["mcnemar"]
    assert (mc["b_right_to_wrong"], mc["c_wrong_to_right"]) == (b_, c_)
    assert mc["p_value"] == pytest.approx(stats.binomtest(b_, b_ + c_, 0.5).pvalue, rel=1e-9)
    # per-class recall and F1 deltas
    for metric, fn in (("recall", skm.recall_score), ("f1", skm.f1_score)):
        want = fn(y, b, average=None) - fn(y, a, average=None)
        got = [doc["per_class"][lab][metric]["delta"] for lab in LABELS]
        np.testing.assert_allclose(got, want, atol=1e-12)
    # the flips table: exactly the rows whose correctness changed, the whole text restored
    flips = read_csv_back(tmp_path / "cmp" / "tables" / "flips.csv")
    want_rtw = set(np.flatnonzero((a == y) & (b != y)) + 1)
    assert set(flips.loc[flips["flip"] == "right_to_wrong", "row"]) == want_rtw
    assert set(flips.loc[flips["flip"] == "wrong_to_right", "row"]) == set(np.flatnonzero((a != y) & (b == y)) + 1)
    for _, row in flips.iterrows():
        i = row["row"] - 1
        assert row["id"] == f"r{i}" and row["text"] == runs["texts"][i]
        assert (row["a_label"], row["b_label"]) == (LABELS[a[i]], LABELS[b[i]])
    assert doc["flips"]["right_to_wrong"]["count"] == len(want_rtw)
    assert len(doc["flips"]["right_to_wrong"]["examples"]) == 20
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text()) == doc


def test_same_seed_same_json_and_b_against_itself(runs, tmp_path):
    one = compare(runs["root"] / "run_a", runs["root"] / "run_b", n_resamples=200, seed=3).document
    two = compare(runs["root"] / "run_a", runs["root"] / "run_b", n_resamples=200, seed=3).document
    assert one == two
    same = compare(runs["root"] / "run_b", runs["root"] / "run_b", n_resamples=200).document
    assert same["mcnemar"]["p_value"] == 1.0 and same["flips"]["right_to_wrong"]["count"] == 0
    assert all(v["delta"] == 0 for v in same["metrics"].values())


def test_rows_in_another_order_are_matched_by_id(runs, tmp_path):
    run = tmp_path / "shuffled"
    shutil.copytree(runs["root"] / "run_b", run)
    frame = read_csv_back(run / "predictions.csv")
    write_table(frame.sample(frac=1.0, random_state=1), run / "predictions.csv")
    plain = compare(runs["root"] / "run_a", runs["root"] / "run_b", n_resamples=200).document
    shuffled = compare(runs["root"] / "run_a", run, n_resamples=200).document
    for key in ("metrics", "per_class", "mcnemar", "flips"):
        assert shuffled[key] == plain[key]


def broken_copy(runs, tmp_path, edit):
    run = tmp_path / "broken"
    shutil.copytree(runs["root"] / "run_b", run)
    frame = read_csv_back(run / "predictions.csv")
    write_table(edit(frame), run / "predictions.csv")
    return run


@pytest.mark.parametrize("edit,message", [
    (lambda f: f.iloc[:-1], r"run_a has 600 rows and .*broken has 599"),
    (lambda f: f.assign(id=f["id"].where(f.index != 5, "zzz")), r"1 ids of 'id' only in .*run_a \('r5'\)"),
    (lambda f: f.drop(columns="id").assign(text=f["text"].where(f.index != 9, "changed")),
     r"the texts differ in 1 of 600 rows \(10\); row 10 is '리뷰 9 text' in .*run_a and 'changed'"),
    (lambda f: f.drop(columns="id").assign(true_label=f["true_label"].where(f.index != 2, "zzz")),
     r"the true labels differ in 1 of 600 rows \(3\)"),
    (lambda f: f.assign(true_label=f["true_label"].where(f.index != 4, None)),
     r"predictions.csv: column 'true_label' has no label in row 5"),
    (lambda f: f.drop(columns="true_label"), r"predictions.csv has no 'true_label' column"),
])
def test_runs_on_different_rows_or_broken_files_are_refused(runs, tmp_path, edit, message):
    run = broken_copy(runs, tmp_path, edit)
    with pytest.raises(DataError, match=message):
        compare(runs["root"] / "run_a", run, n_resamples=10)


def test_bad_run_folders_name_the_file(runs, tmp_path):
    with pytest.raises(DataError, match="no such run folder"):
        load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty has no predictions.csv"):
        load_run(tmp_path / "empty")
    run = tmp_path / "badjson"
    shutil.copytree(runs["root"] / "run_a", run)
    (run / "metrics.json").write_text("{not json")
    with pytest.raises(DataError, match=r"badjson/metrics.json is not valid JSON"):
        load_run(run)
    reg = tmp_path / "regression"
    reg.mkdir()
    write_table(pd.DataFrame({"target": [1.0, 2.0], "prediction": [1.5, 2.5], "residual": [-0.5, -0.5]}),
                reg / "predictions.csv")
    with pytest.raises(DataError, match="regression run"):
        load_run(reg)


def test_cli_prints_and_writes_without_judging(runs, tmp_path, capsys):
    a, b = str(runs["root"] / "run_a"), str(runs["root"] / "run_b")
    assert main(["compare", a, b, "--out", str(tmp_path / "c"), "--n-resamples", "200"]) == 0
    shown = capsys.readouterr().out
    assert "McNemar" in shown and "accuracy" in shown and "Rows right in A, wrong in B" in shown
    assert not any(word in shown.lower() for word in ("pass", "fail", "warn"))
    assert (tmp_path / "c" / "compare.json").is_file() and (tmp_path / "c" / "tables" / "flips.csv").is_file()
    assert main(["compare", a, b, "--format", "json", "--n-resamples", "200"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mcnemar"] == json.loads((tmp_path / "c" / "compare.json").read_text())["mcnemar"]


def test_cli_errors_are_messages_with_exit_codes(runs, tmp_path, capsys):
    assert main(["compare", str(runs["root"] / "run_a"), str(tmp_path / "missing")]) == 3
    err = capsys.readouterr().err
    assert "missing: no such run folder" in err and "Traceback" not in err
    assert main(["compare", str(runs["root"] / "run_a"), str(runs["root"] / "run_b"), "--format", "xml"]) == 2


def test_a_check_run_folder_compares_and_the_baseline_check_agrees(runs, tmp_path):
    """`modelqa check --out` writes predictions.csv in the same format: it loads and pairs with the
    evaluate run of the same file; `check --baseline` reports the same drop and McNemar p as compare."""
    from modelqa.api.check import check

    only_regression = {"only": True, "checks": {"regression.metric_drop": {}}}
    judged = check(current=runs["root"] / "b.csv", baseline=runs["root"] / "run_a", id_col="id",
                   n_resamples=200, suite=only_regression, out=tmp_path / "chk")
    [r] = [x for x in judged.results if x.check == "regression.metric_drop"]
    doc = compare(runs["root"] / "run_a", tmp_path / "chk", n_resamples=200).document
    assert r.value == pytest.approx(-doc["metrics"]["accuracy"]["delta"])
    assert r.p_value == pytest.approx(doc["mcnemar"]["p_value"])
    assert r.details["right_to_wrong"] == doc["flips"]["right_to_wrong"]["count"]
    same = compare(runs["root"] / "run_b", tmp_path / "chk", n_resamples=50).document
    assert same["aligned_by"] == "id" and same["mcnemar"]["discordant"] == 0


def test_two_classes_use_the_runs_positive_label(tmp_path):
    """Binary runs: positive-class precision / recall / F1, Brier and ROC AUC follow the run's
    positive label (metrics.json), checked against scikit-learn with that pos_label."""
    from modelqa.analysis.checks.regression import RunData

    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    names = np.array(["spam", "ham"], dtype=object)
    runs = []
    for noise in (0.8, 1.3):
        p1 = 1 / (1 + np.exp(-(2 * y - 1) * 2 + rng.normal(0, noise, 400)))
        probs = np.c_[1 - p1, p1]
        runs.append(RunData(name=f"run{noise}", y_true=names[y], pred=names[probs.argmax(1)], labels=list(names),
                            probs=probs, info={"positive_label": "spam"}))
    doc = compare(runs[0], runs[1], n_resamples=100).document
    m = doc["metrics"]
    preds = [r.probs.argmax(1) for r in runs]
    for metric, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        want = fn(y, preds[1], pos_label=0) - fn(y, preds[0], pos_label=0)
        assert m[metric]["delta"] == pytest.approx(want) and m[metric]["positive_label"] == "spam"
    brier = [skm.brier_score_loss(y == 0, r.probs[:, 0]) for r in runs]
    assert m["brier_score"]["a"] == pytest.approx(brier[0]) and m["brier_score"]["b"] == pytest.approx(brier[1])
    auc = [skm.roc_auc_score(y == 0, r.probs[:, 0]) for r in runs]
    assert m["roc_auc"]["delta"] == pytest.approx(auc[1] - auc[0])


def test_probability_bootstrap_is_bounded_and_says_so(runs, monkeypatch):
    from modelqa.api import compare as api

    a, b = load_run(runs["root"] / "run_a"), load_run(runs["root"] / "run_b")
    full = compare(a, b, n_resamples=300).document["metrics"]
    assert full["roc_auc_ovr_macro"]["method"] == "paired_bootstrap_rows"
    assert full["roc_auc_ovr_macro"]["n_resamples"] == 300
    lo, hi = full["roc_auc_ovr_macro"]["interval"]
    assert lo < full["roc_auc_ovr_macro"]["delta"] < hi
    monkeypatch.setattr(api, "PROBABILITY_BUDGET", 150 * N)          # fewer resamples, recorded
    capped = compare(a, b, n_resamples=300).document["metrics"]
    assert capped["ece"]["n_resamples"] == 150 and capped["accuracy"]["n_resamples"] == 300
    monkeypatch.setattr(api, "PROBABILITY_BUDGET", 50 * N)           # too few: a plain delta, with a note
    plain = compare(a, b, n_resamples=300).document["metrics"]
    assert plain["ece"]["method"] == "delta_only" and plain["ece"]["interval"] is None
    assert plain["ece"]["delta"] == pytest.approx(full["ece"]["delta"]) and "budget" in plain["ece"]["note"]
