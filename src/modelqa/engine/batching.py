"""Length-sorted batching: sort token sequences by length, cut them into batches,
pad each batch only to its own longest row, and remember how to restore input order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Batch:
    rows: np.ndarray        # positions in the input
    input_ids: np.ndarray   # (b, L) int64
    attention_mask: np.ndarray  # (b, L) int64
    extra: dict[str, np.ndarray]  # token_type_ids etc., padded like input_ids


def length_sorted_batches(encoded: dict[str, Sequence[Sequence[int]]], *, batch_size: int,
                          pad_id: int, max_tokens: int | None = None) -> Iterator[Batch]:
    """Yield batches of rows sorted by token length, longest first (so memory peaks early).

    ``max_tokens`` caps rows × padded length of a batch (a token budget); ``batch_size``
    caps its rows.
    """
    ids = encoded["input_ids"]
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(-lengths, kind="stable")
    start = 0
    n = len(order)
    while start < n:
        longest = int(lengths[order[start]])
        rows_fit = batch_size if not max_tokens else max(1, min(batch_size, max_tokens // max(longest, 1)))
        rows = order[start:start + rows_fit]
        start += len(rows)
        yield _pad(encoded, rows, longest, pad_id)


def _pad(encoded, rows: np.ndarray, width: int, pad_id: int) -> Batch:
    b = len(rows)
    input_ids = np.full((b, width), pad_id, dtype=np.int64)
    mask = np.zeros((b, width), dtype=np.int64)
    extra_keys = [k for k in encoded if k not in ("input_ids", "attention_mask")]
    extra = {k: np.zeros((b, width), dtype=np.int64) for k in extra_keys}
    for j, r in enumerate(rows):
        seq = encoded["input_ids"][r]
        n = len(seq)
        input_ids[j, :n] = seq
        mask[j, :n] = 1
        for k in extra_keys:
            extra[k][j, :n] = encoded[k][r]
    return Batch(rows=rows, input_ids=input_ids, attention_mask=mask, extra=extra)
