"""The report only draws: curve points, reliability table and confidence histogram are computed
before rendering from every row (exact in memory, from ClassificationState histograms when
streamed), stored in the run's tables/, and ``modelqa report RUN_DIR`` draws them again without
recomputing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from modelqa.api.evaluate import evaluate
from modelqa.metrics import curves
from modelqa.metrics.report_data import from_scores


def _file(tmp_path, n=4000, k=4, seed=2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.0
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    names = [f"c{j}" for j in range(k)]
    df = pd.DataFrame({"label": np.array(names)[y], **{f"prob_{c}": p[:, j] for j, c in enumerate(names)}})
    path = tmp_path / "p.parquet"
    df.to_parquet(path, index=False)
    return path, y, p


def test_streamed_figures_come_from_every_row(tmp_path):
    path, y, p = _file(tmp_path)
    out = tmp_path / "run"
    ev = evaluate(predictions=path, stream=True, memory_budget="1KB", n_resamples=20, out=out)  # binned
    assert ev.result["auc_method"] == "binned"
    summary = pd.read_csv(out / "tables" / "curve_summary.csv")
    metrics = json.loads((out / "metrics.json").read_text())
    per_class = summary[summary["kind"] == "class"].set_index("label")
    for name, stats in metrics["per_class"].items():
        assert per_class.loc[name, "roc_auc"] == pytest.approx(stats["roc_auc"], abs=1e-12)  # legend == metrics
        assert per_class.loc[name, "n_pos"] == stats["support"]  # every row, not the sample
    roc = pd.read_csv(out / "tables" / "roc_curve_points.csv")
    for j in range(p.shape[1]):
        exact = curves.grid_curves(y == j, p[:, j]).tpr
        assert np.abs(roc[f"tpr c{j}"].to_numpy() - exact).max() < 0.01  # 10,000 score bins
    cal = pd.read_csv(out / "tables" / "calibration.csv")
    assert int(cal["rows"].sum()) == len(y)
    hist = pd.read_csv(out / "tables" / "confidence_histogram.csv")
    assert int(hist["correct"].sum()) == int((p.argmax(1) == y).sum())


def test_in_memory_report_data_is_exact(tmp_path):
    path, y, p = _file(tmp_path, n=600)
    ev = evaluate(predictions=path, n_resamples=20)
    data = ev.report_data
    for j in range(p.shape[1]):
        fpr, tpr, _ = skm.roc_curve(y == j, p[:, j])
        np.testing.assert_allclose(data["roc_curve_points"][f"tpr c{j}"], np.interp(curves.ROC_GRID, fpr, tpr),
                                   atol=1e-12)
    assert int(data["confidence_histogram"][["correct", "wrong"]].to_numpy().sum()) == len(y)


def test_report_rerenders_from_the_run_folder_without_recomputing(tmp_path, monkeypatch):
    from modelqa.api.report import render_report
    from modelqa.metrics import report_data

    path, _, _ = _file(tmp_path, n=500)
    out = tmp_path / "run"
    evaluate(predictions=path, n_resamples=20, out=out)
    first = (out / "figures" / "roc.png").read_bytes()
    (out / "figures" / "roc.png").unlink()

    def refuse(*args, **kwargs):
        raise AssertionError("the report recomputed its data")

    monkeypatch.setattr(report_data, "from_scores", refuse)
    monkeypatch.setattr(curves, "one_vs_rest_curves", refuse)
    render_report(out)
    assert (out / "figures" / "roc.png").read_bytes() == first
    assert from_scores is not refuse
