"""--precision: bf16 weights on the CPU agree with fp32; bad combinations are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelqa.adapters.hf import load_hf_classifier
from modelqa.api.predict import predict
from modelqa.engine.predict import predict_texts
from modelqa.engine.quantize import cast_model, check_precision
from modelqa.errors import UsageError

TEXTS = ["a good film", "bad plot and awful acting", "ok", "the best thing I have seen this year " * 3,
         "meh", "not great, not terrible", "superb", "boring boring boring"] * 4


def test_bf16_on_the_cpu_is_close_to_fp32(tiny_model):
    ref = predict_texts(load_hf_classifier(tiny_model, device="cpu").model,
                        load_hf_classifier(tiny_model, device="cpu").tokenizer, TEXTS, max_length=32)
    clf = load_hf_classifier(tiny_model, device="cpu")
    model = cast_model(clf.model, "bf16")
    assert next(model.parameters()).dtype.__str__() == "torch.bfloat16"
    res = predict_texts(model, clf.tokenizer, TEXTS, max_length=32)
    assert res.probs.dtype == np.float32
    np.testing.assert_allclose(res.probs.sum(axis=1), 1.0, atol=1e-5)
    # bf16 keeps 8 bits of mantissa: probabilities move by up to a few 1e-2, not more
    assert np.abs(res.probs - ref.probs).max() < 0.05


def test_precision_choices_and_refusals(tiny_model, tmp_path):
    assert check_precision(None) == "fp32"
    with pytest.raises(UsageError, match="must be one of fp32, bf16, fp16"):
        check_precision("int4")
    with pytest.raises(UsageError, match="`precision='fp16'` runs on a CUDA GPU only"):
        check_precision("fp16", "cpu")
    data = tmp_path / "d.csv"
    data.write_text("text\nhello\nworld\n", encoding="utf-8")
    with pytest.raises(UsageError, match="do not go together"):
        predict(model=tiny_model, data=data, quantize="int8", precision="bf16", device="cpu")


def test_predict_with_bf16_writes_float32_probabilities(tiny_model, tmp_path):
    data = tmp_path / "d.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(data, index=False)
    fp32 = predict(model=tiny_model, data=data, device="cpu")
    bf16 = predict(model=tiny_model, data=data, device="cpu", precision="bf16")
    cols = [c for c in fp32.columns if c.startswith("prob_")]
    assert bf16.attrs["precision"] == "bf16"
    assert np.abs(bf16[cols].to_numpy() - fp32[cols].to_numpy()).max() < 0.05
