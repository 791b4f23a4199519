"""The report's plot sections, figures/ and tables/, actions, learning curves and _repr_html_,
for binary, 4-class, 58-class and regression runs built through evaluate_arrays."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_report_html import _parse, _render
from test_report_sample import XSS_LABEL, XSS_TEXT, make_sample

from modelqa.api.evaluate import evaluate_arrays

HOSTILE_ACTION = '<img src=x onerror=alert(1)>'


def _classification(tmp_path_factory, k: int, n: int, *, model=None, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = ["정치", "경제", "사회", "생활문화"][:k] if k <= 4 else [f"주제_{i:02d}" for i in range(k)]
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 2.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    out = tmp_path_factory.mktemp(f"k{k}")
    ev = evaluate_arrays(task="classification", y_true=y, probs=probs, labels=labels, out=out, n_resamples=20,
                         texts=[f"text {i}" for i in range(n)], ids=("doc_id", [f"d{i}" for i in range(n)]),
                         run_info={"model": None if model is None else str(model), "data": "d.csv"})
    return ev, out


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    history = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 0.6 / e + 0.05 * e, "train_accuracy": 0.6 + 0.06 * e,
                "val_accuracy": 0.6 + 0.04 * min(e, 3)} for e in range(1, 7)]
    (folder / "history.json").write_text(json.dumps(history), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    return _classification(tmp_path_factory, 2, 600)


@pytest.fixture(scope="module")
def four(tmp_path_factory, model_dir):
    return _classification(tmp_path_factory, 4, 800, model=model_dir)


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    return _classification(tmp_path_factory, 58, 3000)


@pytest.fixture(scope="module")
def regression(tmp_path_factory, model_dir):
    rng = np.random.default_rng(5)
    y = rng.normal(10, 3, 400)
    out = tmp_path_factory.mktemp("reg")
    ev = evaluate_arrays(task="regression", y_true=y, y_pred=y + rng.normal(0, 1, 400), out=out, n_resamples=20,
                         run_info={"model": str(model_dir)})
    return ev, out


def _ids(out) -> list[str]:
    ids = _parse((out / "report.html").read_text(encoding="utf-8")).ids
    assert len(ids) == len(set(ids)), "ids must be unique"
    return ids


def _files(out, folder: str) -> set[str]:
    return {p.name for p in (out / folder).iterdir()}


def test_binary_sections_and_files(binary):
    _, out = binary
    ids = _ids(out)
    for section in ("headline", "thresholds", "per-class", "confusion", "roc-pr", "calibration", "confidence",
                    "distribution", "errors", "confused-pairs", "all-metrics"):
        assert section in ids, section
    assert ids.index("thresholds") < ids.index("per-class") < ids.index("roc-pr") < ids.index("errors")
    assert {"learning-curves", "actions", "curves-rest-table"}.isdisjoint(ids)
    assert _files(out, "figures") == {"confusion_counts.png", "confusion_normalized.png", "roc.png", "pr.png",
                                      "calibration.png", "confidence.png", "distribution.png", "thresholds.png"}
    assert {"per_class.csv", "distribution.csv", "confused_pairs.csv", "thresholds_grid.csv",
            "thresholds_chosen.csv", "calibration.csv", "roc_pr_per_class.csv", "metrics.csv"} <= _files(out, "tables")
    for png in (out / "figures").iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the PNG file is the very image embedded in the page
    import base64

    html = (out / "report.html").read_text(encoding="utf-8")
    assert base64.b64encode((out / "figures" / "roc.png").read_bytes()).decode() in html
    grid = pd.read_csv(out / "tables" / "thresholds_grid.csv", encoding="utf-8-sig")
    assert len(grid) == 101 and {"threshold", "precision", "recall", "f1"} <= set(grid.columns)


def test_four_classes_with_learning_curves(four):
    ev, out = four
    ids = _ids(out)
    for section in ("roc-pr", "calibration", "learning-curves"):
        assert section in ids, section
    assert "thresholds" not in ids and "curves-rest-table" not in ids
    assert {"loss.png", "metric.png", "roc.png", "pr.png"} <= _files(out, "figures")
    assert "learning_curves.csv" in _files(out, "tables")
    html = (out / "report.html").read_text(encoding="utf-8")
    learning = html.split('id="learning-curves"')[1].split("</section>")[0]
    assert "Diagnosis" in learning and "<li" in learning
    roc = pd.read_csv(out / "tables" / "roc_pr_per_class.csv", encoding="utf-8-sig")
    assert list(roc["label"]) == ev.labels and roc["shown_in_plot"].all()


def test_many_classes_lists_the_rest_and_stays_small(many):
    _, out = many
    ids = _ids(out)
    assert "roc-pr" in ids and "curves-rest-table" in ids
    html = (out / "report.html").read_text(encoding="utf-8")
    rest = html.split('id="curves-rest-table"')[1].split("</table>")[0]
    assert rest.count("<tr>") == 1 + 58 - 6  # header + every class not drawn
    assert "the 3 classes with the highest and the 3 with the lowest ROC AUC" in html
    assert (out / "report.html").stat().st_size < 2_500_000
    roc = pd.read_csv(out / "tables" / "roc_pr_per_class.csv", encoding="utf-8-sig")
    assert roc["shown_in_plot"].sum() == 6


def test_regression_sections_and_files(regression):
    _, out = regression
    ids = _ids(out)
    for section in ("headline", "regression-plots", "residuals", "largest-errors", "learning-curves", "all-metrics"):
        assert section in ids, section
    assert ids.index("regression-plots") < ids.index("residuals") < ids.index("largest-errors")
    assert {"regression_predicted_vs_actual.png", "regression_residuals.png", "regression_residual_histogram.png",
            "loss.png", "metric.png"} <= _files(out, "figures")
    assert "metrics.csv" in _files(out, "tables")


def test_unreadable_history_is_a_note(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "history.json").write_text("{not json", encoding="utf-8")
    ev = evaluate_arrays(task="regression", y_true=[1.0, 2.0, 3.0], y_pred=[1.1, 2.2, 2.7], out=tmp_path / "run",
                         n_resamples=10, run_info={"model": str(model)})
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "could not be read" in html.split('id="learning-curves"')[1].split("</section>")[0]
    assert ev.paths["figures"].is_dir()


def test_errors_table_search_and_sort_without_breaking_csp(binary):
    _, out = binary
    html = (out / "report.html").read_text(encoding="utf-8")
    parsed = _parse(html)
    boxes = [a for t, a in parsed.elements if t == "div" and a.get("data-filter-for") == "errors-table"]
    assert len(boxes) == 1 and "hidden" in boxes[0]  # shown by the script only
    table = next(a for t, a in parsed.elements if t == "table" and a.get("id") == "errors-table")
    assert "sortable" in table["class"]
    errors_html = html.split('id="errors-table"')[1].split("</table>")[0]
    assert errors_html.count("<tr>") > 1  # the rows are in the page without JavaScript
    assert "data-value=" in errors_html
    scripts = [a for t, a in parsed.elements if t == "script"]
    assert len(scripts) == 1


def test_actions_section_from_a_result_dict():
    sample = make_sample(k=4, n=200, hostile=True)
    sample["result"]["actions"] = {
        "file": "actions.yaml", "default": "no action",
        "per_action": [
            {"action": "offer premium plan", "count": 120, "share": 0.6, "accuracy": 0.91, "rule": "label = 정치"},
            {"action": HOSTILE_ACTION, "count": 80, "share": 0.4, "accuracy": None, "rule": XSS_TEXT},
        ],
    }
    html = _render(sample)
    parsed = _parse(html)
    assert "actions" in parsed.ids
    table = html.split('id="actions-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3
    assert "offer premium plan" in table and "60.0%" in table and "91.0%" in table and "—" in table
    assert "&lt;img src=x onerror=alert(1)&gt;" in table and "<img" not in table
    assert not any(name.startswith("on") for _, attrs in parsed.elements for name in attrs)
    del sample["result"]["actions"]
    assert "actions" not in _parse(_render(sample)).ids


def test_hostile_labels_in_curve_sections_stay_inert():
    sample = make_sample(k=12, n=600, hostile=True)
    html = _render(sample)
    parsed = _parse(html)
    assert "curves-rest-table" in parsed.ids and XSS_LABEL in html
    assert "<script>alert" not in html and "<b onmouseover" not in html
    assert len([a for t, a in parsed.elements if t == "script"]) == 1
    for tag, attrs in parsed.elements:
        assert tag != "b"
        assert not any(name.startswith("on") for name in attrs)


def test_repr_html_is_compact_and_escaped(four, regression):
    ev, _ = four
    ev.result["labels"][0] = XSS_LABEL + "<script>alert(1)</script>"
    ev.result["per_class"][XSS_LABEL + "<script>alert(1)</script>"] = ev.result["per_class"][ev.labels[1]]
    try:
        html = ev._repr_html_()
    finally:
        ev.result["labels"][0] = "정치"
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "Accuracy" in html and "Macro F1" in html and f"{ev.metrics['accuracy'] * 100:.1f}%" in html
    assert "<img" not in html and len(html) < 20_000
    parsed = _parse(html)
    assert [t for t, _ in parsed.elements].count("tr") == 4 + 1 + 4  # headline, header, 4 classes
    reg_html = regression[0]._repr_html_()
    assert "R²" in reg_html and "RMSE" in reg_html


def test_report_command_renders_a_run_again(tmp_path, capsys):
    """modelqa report RUN_DIR rebuilds report.html from the run files alone (data files untouched)."""
    import numpy as np

    from modelqa.api.evaluate import evaluate_arrays
    from modelqa.cli.main import main

    rng = np.random.default_rng(0)
    labels = ["부정", "긍정", "=cmd"]
    y = rng.integers(0, 3, 60)
    probs = rng.dirichlet(np.ones(3), 60)
    out = tmp_path / "run"
    evaluate_arrays(task="classification", labels=labels, y_true=y, probs=probs,
                    texts=[f"<script>x{i}</script>" for i in range(60)], run_info={"model": None}, out=out)
    before = (out / "predictions.csv").read_bytes()
    first = (out / "report.html").read_text(encoding="utf-8")
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    again = (out / "report.html").read_text(encoding="utf-8")
    assert (out / "predictions.csv").read_bytes() == before
    # the same sections, the same labels (the neutralised '=cmd' is read back as =cmd), still escaped
    for marker in ('id="headline"', 'id="per-class"', "=cmd", "부정", "&lt;script&gt;x0&lt;/script&gt;"):
        assert (marker in first) == (marker in again), marker
    assert "<script>x0" not in again
    assert main(["report", str(tmp_path / "nope")]) == 3
    assert "not a modelqa run folder" in capsys.readouterr().err
