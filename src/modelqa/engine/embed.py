"""Pooled sentence embeddings from a sequence classifier's encoder (for embedding drift).

The mean of the last hidden layer over the real (unpadded) tokens, in input order, batched
by length like prediction (engine.batching)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from modelqa.engine.batching import length_sorted_batches
from modelqa.engine.predict import tokenize


def embed_texts(model, tokenizer, texts: Sequence[str], *, max_length: int, batch_size: int = 64,
                device: str = "cpu", max_tokens: int | None = 2048) -> np.ndarray:
    """``(n, hidden)`` float32 mean-pooled embeddings of ``texts``."""
    import torch

    enc, _ = tokenize(tokenizer, texts, max_length=max_length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: np.ndarray | None = None
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in length_sorted_batches(enc, batch_size=batch_size, pad_id=pad_id, max_tokens=max_tokens):
                inputs = {"input_ids": torch.from_numpy(batch.input_ids).to(device),
                          "attention_mask": torch.from_numpy(batch.attention_mask).to(device)}
                for k, v in batch.extra.items():
                    inputs[k] = torch.from_numpy(v).to(device)
                hidden = model(**inputs, output_hidden_states=True).hidden_states[-1].float()
                mask = inputs["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                pooled = pooled.cpu().numpy()
                if out is None:
                    out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
                out[batch.rows] = pooled
    finally:
        if was_training:
            model.train()
    if out is None:
        hidden_size = int(getattr(model.config, "hidden_size", 0))
        out = np.empty((0, hidden_size), dtype=np.float32)
    return out
