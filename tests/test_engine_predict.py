"""The batched, length-sorted engine must equal an unsorted, unpadded one-by-one run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import RecordingProgress

from modelqa.engine.batching import length_sorted_batches
from modelqa.engine.predict import predict_texts

TEXTS = [
    "short",
    "a somewhat longer sentence about markets and prices rising again",
    "",
    "스포츠 경기 결과가 발표되었다",
    "word " * 200,  # longer than max_length: truncated
    "the same short",
    "Mid-length text, with punctuation; and numbers 12345.",
] * 3


def _one_by_one(model, tokenizer, texts, max_length):
    out = []
    with torch.inference_mode():
        for t in texts:
            enc = tokenizer(t, truncation=True, max_length=max_length, return_tensors="pt")
            out.append(torch.softmax(model(**enc).logits.double(), dim=-1)[0].numpy())
    return np.stack(out)


@pytest.fixture(scope="module")
def loaded(tiny_model):
    from modelqa.adapters.hf import load_hf_classifier

    return load_hf_classifier(tiny_model, device="cpu")


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_batched_equals_one_by_one(loaded, batch_size):
    res = predict_texts(loaded.model, loaded.tokenizer, TEXTS, max_length=32, batch_size=batch_size)
    ref = _one_by_one(loaded.model, loaded.tokenizer, TEXTS, 32)
    assert res.probs.shape == (len(TEXTS), 3)
    np.testing.assert_array_equal(res.probs.argmax(1), ref.argmax(1))
    np.testing.assert_allclose(res.probs, ref, atol=1e-4)
    np.testing.assert_allclose(res.probs.sum(1), 1.0, atol=1e-5)


def test_truncation_is_counted(loaded):
    res = predict_texts(loaded.model, loaded.tokenizer, TEXTS, max_length=32, batch_size=8)
    assert res.n_truncated == 3  # the 200-word text, three times
    res = predict_texts(loaded.model, loaded.tokenizer, TEXTS[:4], max_length=32)
    assert res.n_truncated == 0


def test_token_budget_caps_batch_area():
    enc = {"input_ids": [[1] * n for n in (5, 40, 3, 40, 12, 7)], "attention_mask": [[1] * n for n in (5, 40, 3, 40, 12, 7)]}
    batches = list(length_sorted_batches(enc, batch_size=4, pad_id=0, max_tokens=80))
    seen = np.concatenate([b.rows for b in batches])
    assert sorted(seen.tolist()) == list(range(6))
    for b in batches:
        assert b.input_ids.shape[0] * b.input_ids.shape[1] <= 80 or b.input_ids.shape[0] == 1
        # padding only to the batch's own longest row, mask marks real tokens
        assert b.attention_mask.sum() == sum(len(enc["input_ids"][r]) for r in b.rows)
    lengths = [b.input_ids.shape[1] for b in batches]
    assert lengths == sorted(lengths, reverse=True)


def test_progress_callback_counts_rows(loaded):
    rec = RecordingProgress()
    predict_texts(loaded.model, loaded.tokenizer, TEXTS, max_length=32, batch_size=5, progress=rec)
    assert rec.total == len(TEXTS) and rec.done == len(TEXTS) and rec.finished
