"""evaluate --quantize int8 and --compare-fp32: the variant's own metrics, and what the lever costs
against the plain fp32 torch model, every number checked against scikit-learn / scipy on the
models' own predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, f1_score

from modelqa.cli.main import main

LABELS = ["neg", "neu", "pos"]
CHUNK_ROWS = 64  # fixed chunks: the oracle below sees the same int8 batches as the run


@pytest.fixture(scope="module")
def spread_model(tmp_path_factory):
    """The tiny BERT of conftest with its Linear weights drawn at std 0.1 (instead of 0.02), so that
    its outputs differ from row to row and int8 flips the argmax of a few near-tie rows."""
    import torch
    from conftest import build_tiny_classifier
    from transformers import BertForSequenceClassification

    folder = build_tiny_classifier(tmp_path_factory.mktemp("quant") / "tiny", LABELS, seed=0)
    model = BertForSequenceClassification.from_pretrained(folder).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.normal_(0.0, 0.1)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from conftest import keyword_frame

    path = tmp_path_factory.mktemp("quant_data") / "test.csv"
    keyword_frame(50, 1).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def oracle(spread_model, data):
    """fp32 and int8 probabilities computed without modelqa.api: the model loaded, a copy quantised
    with engine.quantize, both predicted with the engine's batching."""
    import pandas as pd

    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.engine.predict import predict_texts
    from modelqa.engine.quantize import quantize_model

    frame = pd.read_csv(data)
    clf = load_hf_classifier(spread_model, device="cpu")
    texts = frame["sentence"].tolist()
    common = {"max_length": clf.max_length, "batch_size": 64, "chunk_rows": CHUNK_ROWS}
    fp32 = predict_texts(clf.model, clf.tokenizer, texts, **common).probs
    int8 = predict_texts(quantize_model(clf.model, "int8"), clf.tokenizer, texts, **common).probs
    y = np.array([LABELS.index(v) for v in frame["emotion"]])
    return {"y": y, "fp32": fp32.astype(np.float64), "int8": int8.astype(np.float64)}


@pytest.fixture(scope="module")
def run(spread_model, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("quant_run") / "run"
    code = main(["evaluate", "--model", str(spread_model), "--data", str(data), "--text-col", "sentence",
                 "--label-col", "emotion", "--device", "cpu", "--quantize", "int8", "--compare-fp32",
                 "--chunk-rows", str(CHUNK_ROWS), "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_int8_metrics_are_the_int8_models_own(run, oracle):
    metrics = json.loads((run / "metrics.json").read_text())
    pred = oracle["int8"].argmax(1)
    assert (pred != oracle["fp32"].argmax(1)).any(), "the fixture must give int8 a few flipped rows"
    assert metrics["metrics"]["accuracy"] == pytest.approx(accuracy_score(oracle["y"], pred), abs=1e-12)
    assert metrics["metrics"]["f1_macro"] == pytest.approx(f1_score(oracle["y"], pred, average="macro"), abs=1e-12)
    import pandas as pd

    written = pd.read_csv(run / "predictions.csv")
    assert written["predicted_label"].tolist() == [LABELS[i] for i in pred]
    info = json.loads((run / "run.json").read_text())
    assert (info["quantize"], info["backend"], info["precision"], info["compare_fp32"]) == \
        ("int8", "torch", "fp32", True)
    assert not (run / ".partial").exists()  # the variant's chunk journal is dropped as usual


def test_compare_fp32_against_sklearn_and_scipy(run, oracle):
    section = json.loads((run / "metrics.json").read_text())["compare_fp32"]
    y, ref, var = oracle["y"], oracle["fp32"].argmax(1), oracle["int8"].argmax(1)
    assert (section["variant"], section["reference"], section["n_rows"]) == ("int8", "fp32 torch", y.size)
    assert section["agreement"]["rows_differ"] == int((ref != var).sum())
    assert section["agreement"]["fraction"] == pytest.approx((ref == var).mean(), abs=1e-12)
    diff = np.abs(oracle["int8"] - oracle["fp32"])
    assert section["probability_delta"]["mean_abs"] == pytest.approx(diff.mean(), abs=1e-6)
    assert section["probability_delta"]["max_abs"] == pytest.approx(diff.max(), abs=1e-6)
    acc_ref, acc_var = accuracy_score(y, ref), accuracy_score(y, var)
    f1_ref, f1_var = f1_score(y, ref, average="macro"), f1_score(y, var, average="macro")
    assert section["reference_metrics"]["accuracy"] == pytest.approx(acc_ref, abs=1e-12)
    assert section["reference_metrics"]["f1_macro"] == pytest.approx(f1_ref, abs=1e-12)
    acc, f1 = section["accuracy_difference"], section["f1_macro_difference"]
    assert acc["delta"] == pytest.approx(acc_var - acc_ref, abs=1e-12)
    assert f1["delta"] == pytest.approx(f1_var - f1_ref, abs=1e-12)
    assert acc["interval"][0] <= acc["delta"] <= acc["interval"][1]
    b = int(((ref == y) & (var != y)).sum())
    c = int(((ref != y) & (var == y)).sum())
    mc = section["mcnemar"]
    assert (mc["b_right_to_wrong"], mc["c_wrong_to_right"]) == (b, c)
    assert mc["p_value"] == pytest.approx(binomtest(b, b + c, 0.5).pvalue if b + c else 1.0, rel=1e-9)
    assert section["summary"].startswith(f"int8 vs fp32: {100 * (ref == var).mean():.1f} % agreement")
    page = (run / "report.html").read_text(encoding="utf-8")
    assert 'id="compare-fp32"' in page and "int8 vs fp32 torch" in page
    assert f"{section['agreement']['rows_differ']} of {y.size} rows differ" in page


def test_console_line_names_the_comparison(spread_model, data, tmp_path, capsys):
    import pandas as pd

    small = tmp_path / "small.csv"
    pd.read_csv(data).head(40).to_csv(small, index=False)  # bf16 is slow on CPUs without AVX512-BF16
    code = main(["evaluate", "--model", str(spread_model), "--data", str(small), "--text-col", "sentence",
                 "--label-col", "emotion", "--device", "cpu", "--precision", "bf16", "--compare-fp32",
                 "--out", str(tmp_path / "bf16"), "--quiet"])
    assert code == 0
    shown = capsys.readouterr().out
    section = json.loads((tmp_path / "bf16" / "metrics.json").read_text())["compare_fp32"]
    assert section["variant"] == "bf16"
    assert "bf16 vs fp32:" in shown and f"McNemar p = {section['mcnemar']['p_value']:.3g}" in shown


@pytest.mark.parametrize(("extra", "needle"), [
    ([], "--compare-fp32 compares a speed lever"),
    (["--engine", "ray", "--precision", "bf16"], "--engine ray"),
])
def test_compare_fp32_refusals(spread_model, data, tmp_path, capsys, extra, needle):
    out = tmp_path / "run"
    code = main(["evaluate", "--model", str(spread_model), "--data", str(data), "--text-col", "sentence",
                 "--label-col", "emotion", "--device", "cpu", "--compare-fp32", "--out", str(out), *extra])
    assert code == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("flags", [["--quantize", "int8"], ["--compare-fp32"]])
def test_predictions_file_refuses_quantize_and_compare(tmp_path, capsys, flags):
    path = tmp_path / "preds.csv"
    path.write_text("label,prob_a,prob_b\na,0.9,0.1\nb,0.2,0.8\n", encoding="utf-8")
    code = main(["evaluate", "--predictions", str(path), "--out", str(tmp_path / "run"), *flags])
    assert code == 2
    err = capsys.readouterr().err
    assert flags[0] in err and "--predictions file" in err


def test_quantize_value_is_checked(spread_model, data, tmp_path, capsys):
    code = main(["evaluate", "--model", str(spread_model), "--data", str(data), "--text-col", "sentence",
                 "--label-col", "emotion", "--quantize", "int4", "--out", str(tmp_path / "run")])
    assert code == 2 and "--quantize" in capsys.readouterr().err
