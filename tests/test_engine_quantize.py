"""--quantize int8: dynamic int8 Linear layers, head kept in float32, plumbed through predict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from modelqa.engine.predict import predict_texts
from modelqa.engine.quantize import check_quantize, quantize_model
from modelqa.errors import UsageError

TEXTS = [
    "stocks fell sharply as markets reacted to the interest rate decision",
    "the team won the championship after a dramatic final match",
    "new smartphone chips promise longer battery life",
    "leaders met at the summit to discuss the peace agreement",
    "short",
    "스포츠 경기 결과가 발표되었다",
] * 5


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from conftest import build_tiny_classifier

    from modelqa.adapters.hf import load_hf_classifier

    folder = build_tiny_classifier(tmp_path_factory.mktemp("q") / "tiny_q", ["a", "b", "c"], hidden=64, seed=3)
    return load_hf_classifier(folder, device="cpu")


def test_quantised_linear_layers_except_head(loaded):
    q = quantize_model(loaded.model, "int8")
    kinds = {name: type(m).__module__ for name, m in q.named_modules()}
    assert "quantized" in kinds["bert.encoder.layer.0.attention.self.query"]
    assert "quantized" not in kinds["classifier"] and "quantized" not in kinds["bert.pooler.dense"]
    # the original model is left as it was
    assert isinstance(loaded.model.bert.encoder.layer[0].attention.self.query, torch.nn.Linear)
    assert quantize_model(loaded.model, "none") is loaded.model


def test_quantised_predictions_agree_with_fp32(loaded):
    ref = predict_texts(loaded.model, loaded.tokenizer, TEXTS, max_length=32, batch_size=8)
    q = quantize_model(loaded.model, "int8")
    res = predict_texts(q, loaded.tokenizer, TEXTS, max_length=32, batch_size=8)
    assert res.probs.shape == ref.probs.shape
    np.testing.assert_allclose(res.probs.sum(1), 1.0, atol=1e-5)
    assert (res.probs.argmax(1) == ref.probs.argmax(1)).mean() >= 0.8
    assert np.abs(res.probs - ref.probs).max() < 0.1


def test_check_quantize():
    assert check_quantize(None) == "none" and check_quantize("INT8") == "int8"
    with pytest.raises(UsageError, match="`quantize`"):
        check_quantize("int4")
    with pytest.raises(UsageError, match="CPU"):
        quantize_model(torch.nn.Linear(2, 2), "int8", device="cuda")


def test_predict_api_and_cli_plumb_quantize(loaded, tmp_path):
    from typer.testing import CliRunner

    from modelqa.api.predict import predict
    from modelqa.cli.main import app

    data = tmp_path / "texts.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(data, index=False)
    fp32 = predict(model=loaded.path, data=data, device="cpu")
    int8 = predict(model=loaded.path, data=data, device="cpu", quantize="int8")
    assert int8.attrs["quantize"] == "int8" and fp32.attrs["quantize"] == "none"
    assert (int8["predicted_label"] == fp32["predicted_label"]).mean() >= 0.8
    assert not np.allclose(int8["confidence"], fp32["confidence"], atol=1e-7)  # really quantised
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(app, ["predict", "--model", str(loaded.path), "--data", str(data), "--out",
                                      str(out), "--quantize", "int8", "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(pd.read_csv(out)["confidence"], int8["confidence"], atol=1e-5)
    bad = CliRunner().invoke(app, ["predict", "--model", str(loaded.path), "--data", str(data), "--out",
                                   str(out), "--quantize", "fp4", "--quiet"])
    assert bad.exit_code != 0 and "--quantize" in (bad.output + str(bad.exception))
