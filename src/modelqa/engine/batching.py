"""Length-sorted batching: sort token sequences by length, cut them into batches,
pad each batch only to its own longest row, and remember how to restore input order.

Padding is vectorised: every field is flattened once into one numpy array with row
offsets, and each batch is one fancy-indexing gather, with no Python loop per row."""

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


def _flatten(seqs: Sequence[Sequence[int]], total: int) -> np.ndarray:
    flat = np.fromiter((t for s in seqs for t in s), dtype=np.int64, count=total)
    return flat


def length_sorted_batches(encoded: dict[str, Sequence[Sequence[int]]], *, batch_size: int,
                          pad_id: int, max_tokens: int | None = None) -> Iterator[Batch]:
    """Yield batches of rows sorted by token length, longest first (so memory peaks early).

    ``max_tokens`` caps rows × padded length of a batch (a token budget); ``batch_size``
    caps its rows.
    """
    ids = encoded["input_ids"]
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    n = len(lengths)
    if n == 0:
        return
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    total = int(lengths.sum())
    extra_keys = [k for k in encoded if k not in ("input_ids", "attention_mask")]
    flat = {k: _flatten(encoded[k], total) for k in ["input_ids", *extra_keys]}
    order = np.argsort(-lengths, kind="stable")
    start = 0
    while start < n:
        longest = int(lengths[order[start]])
        rows_fit = batch_size if not max_tokens else max(1, min(batch_size, max_tokens // max(longest, 1)))
        rows = order[start:start + rows_fit]
        start += len(rows)
        yield _gather(flat, extra_keys, starts[rows], lengths[rows], rows, longest, pad_id, total)


def _gather(flat: dict[str, np.ndarray], extra_keys: list[str], starts: np.ndarray, lengths: np.ndarray,
            rows: np.ndarray, width: int, pad_id: int, total: int) -> Batch:
    pos = np.arange(width, dtype=np.int64)
    valid = pos[None, :] < lengths[:, None]
    idx = np.minimum(starts[:, None] + pos[None, :], max(total - 1, 0))
    mask = valid.astype(np.int64)
    if total == 0:
        input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        extra = {k: np.zeros((len(rows), width), dtype=np.int64) for k in extra_keys}
    else:
        input_ids = np.where(valid, flat["input_ids"][idx], pad_id)
        extra = {k: np.where(valid, flat[k][idx], 0) for k in extra_keys}
    return Batch(rows=rows, input_ids=input_ids, attention_mask=mask, extra=extra)
