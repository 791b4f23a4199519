"""Batched inference for text classifiers: tokenise once, sort by length, pad per batch,
run under torch.inference_mode(), put results back in input order.

Progress goes through the callback protocol in modelqa._types; this layer never draws.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.engine.batching import length_sorted_batches


@dataclass(frozen=True)
class TextPredictions:
    probs: np.ndarray          # (n, K) float32, rows sum to 1, input order
    logits: np.ndarray         # (n, K) float32
    n_truncated: int           # texts longer than max_length (cut at the end)
    max_length: int
    seconds: float
    n_tokens: int


def tokenize(tokenizer, texts: Sequence[str], *, max_length: int) -> tuple[dict, int]:
    """Tokenise without padding, truncated to ``max_length``; also count truncated texts."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False,
                    return_overflowing_tokens=False, return_length=False, verbose=False)
    enc = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    n_trunc = count_truncated(tokenizer, texts, enc["input_ids"], max_length)
    return enc, n_trunc


def count_truncated(tokenizer, texts: Sequence[str], truncated_ids, max_length: int) -> int:
    """Rows that hit max_length may have been cut: re-tokenise only those without truncation."""
    candidates = [i for i, ids in enumerate(truncated_ids) if len(ids) >= max_length]
    if not candidates:
        return 0
    full = tokenizer([texts[i] for i in candidates], truncation=False, padding=False, verbose=False)["input_ids"]
    return sum(1 for ids in full if len(ids) > max_length)


def predict_texts(model, tokenizer, texts: Sequence[str], *, max_length: int, batch_size: int = 64,
                  device: str = "cpu", progress: Progress | None = None,
                  max_tokens: int | None = None) -> TextPredictions:
    """Class probabilities for ``texts`` in input order."""
    import torch

    progress = progress or NullProgress()
    t0 = time.perf_counter()
    n = len(texts)
    enc, n_trunc = tokenize(tokenizer, texts, max_length=max_length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    num_labels = int(model.config.num_labels)
    logits_out = np.empty((n, num_labels), dtype=np.float32)
    n_tokens = sum(len(x) for x in enc["input_ids"])
    was_training = model.training
    model.eval()
    progress.start(n, "Predicting")
    try:
        with torch.inference_mode():
            for batch in length_sorted_batches(enc, batch_size=batch_size, pad_id=pad_id, max_tokens=max_tokens):
                inputs = {"input_ids": torch.from_numpy(batch.input_ids).to(device),
                          "attention_mask": torch.from_numpy(batch.attention_mask).to(device)}
                for k, v in batch.extra.items():
                    inputs[k] = torch.from_numpy(v).to(device)
                out = model(**inputs).logits
                logits_out[batch.rows] = out.float().cpu().numpy()
                progress.advance(len(batch.rows))
    finally:
        progress.finish()
        if was_training:
            model.train()
    return TextPredictions(probs=softmax(logits_out), logits=logits_out, n_truncated=n_trunc,
                           max_length=max_length, seconds=time.perf_counter() - t0, n_tokens=n_tokens)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z.astype(np.float32) if logits.dtype == np.float32 else z
