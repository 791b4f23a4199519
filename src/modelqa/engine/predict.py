"""Batched inference for text classifiers: tokenise, sort by length, pad per batch, run
under torch.inference_mode(), put results back in input order.

Rows are taken in chunks of consecutive input rows (length sorting happens inside each chunk).
A chunk is the unit of durable work: a ``ChunkStore`` (engine.journal) can hand back chunks a
killed run already finished, and keeps each new one as soon as it is done. The next chunk is
tokenised in a background thread while the model runs the current one.

Chunk size: with ``chunk_rows`` given, every chunk has that many rows. By default chunks are sized
by work: a chunk closes after about ``CHUNK_SECONDS`` of compute or ``DEFAULT_CHUNK_ROWS`` rows,
whichever comes first (the first chunks are ``PROBE_ROWS`` rows, to measure this run's speed), so
a kill loses at most about ``CHUNK_SECONDS`` of work on a slow CPU and at most 4,096 rows on a fast
GPU. The store records each chunk's ``[start, stop)`` rows, and a resumed run reuses them.

The model call goes through a ``Forward`` (a batch in, ``(b, K)`` float32 logits out): the
torch model by default, or another backend such as ONNX Runtime (engine.onnx_backend).

Progress goes through the callback protocol in modelqa._types; this layer never draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.engine.batching import Batch, length_sorted_batches

#: Input rows per chunk: the unit of length sorting, prefetching and resumable work.
DEFAULT_CHUNK_ROWS = 4096
#: Compute per chunk when chunks are sized by work (``chunk_rows`` not given).
CHUNK_SECONDS = 10.0
#: Rows of the chunks that measure a run's speed before it is known.
PROBE_ROWS = 64
#: Padded tokens per batch (rows x longest row), on top of the batch size's row cap. Smaller
#: batches of long rows keep the activations in cache: 6-12% faster than 64 rows of any length
#: on AG News with MiniLM on 2 cores (docs/performance.md, "Batching").
DEFAULT_MAX_TOKENS = 2048

Forward = Callable[[Batch], np.ndarray]


@dataclass(frozen=True)
class TextPredictions:
    probs: np.ndarray          # (n, K) float32, rows sum to 1, input order
    logits: np.ndarray         # (n, K) float32
    n_truncated: int           # texts longer than max_length (cut at the end)
    max_length: int
    seconds: float
    n_tokens: int
    resumed_rows: int = 0      # rows taken from a ChunkStore instead of being predicted


@dataclass(frozen=True)
class ChunkResult:
    logits: np.ndarray         # (rows in the chunk, K) float32, input order
    n_tokens: int
    n_truncated: int


class ChunkStore(Protocol):
    """Durable chunk results (engine.journal.ChunkJournal writes them to disk)."""

    def load(self, index: int) -> ChunkResult | None: ...

    def save(self, index: int, result: ChunkResult, *, bounds: tuple[int, int] | None = None) -> None: ...

    def bounds(self) -> list[tuple[int, int]]: ...  # optional: without it chunks have fixed boundaries


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


def torch_forward(model, device: str = "cpu") -> Forward:
    """The model's logits for a batch (call inside ``torch.inference_mode()``)."""
    import torch

    def forward(batch: Batch) -> np.ndarray:
        inputs = {"input_ids": torch.from_numpy(batch.input_ids).to(device),
                  "attention_mask": torch.from_numpy(batch.attention_mask).to(device)}
        for k, v in batch.extra.items():
            inputs[k] = torch.from_numpy(v).to(device)
        return model(**inputs).logits.float().cpu().numpy()

    return forward


def finished_chunks(store: ChunkStore | None, n_chunks: int) -> dict[int, ChunkResult]:
    """The chunks ``store`` already holds (those of a resumed run), by chunk index."""
    if store is None:
        return {}
    found = {i: store.load(i) for i in range(n_chunks)}
    return {i: res for i, res in found.items() if res is not None}


def chunk_bounds(n: int, chunk_rows: int) -> list[tuple[int, int]]:
    """``[start, stop)`` input rows of each chunk."""
    return [(s, min(s + chunk_rows, n)) for s in range(0, n, chunk_rows)]


class ChunkPlan:
    """Chunk boundaries decided as the run goes: fixed (``chunk_rows``), or sized by measured work
    (about ``seconds`` of compute, at most ``max_rows``). ``recorded`` boundaries (those of a resumed
    run) come first, unchanged."""

    def __init__(self, n: int, *, chunk_rows: int | None, max_rows: int | None = None,
                 seconds: float | None = None, recorded: list[tuple[int, int]] | None = None) -> None:
        self.n, self.chunk_rows = n, chunk_rows
        self.max_rows = DEFAULT_CHUNK_ROWS if max_rows is None else int(max_rows)
        self.seconds = CHUNK_SECONDS if seconds is None else float(seconds)
        if chunk_rows is not None:
            self.bounds = chunk_bounds(n, chunk_rows)
        else:
            self.bounds = [tuple(b) for b in recorded or [] if 0 <= b[0] < b[1] <= n]
            if any(a[1] != b[0] for a, b in zip(self.bounds, self.bounds[1:], strict=False)) or \
                    (self.bounds and self.bounds[0][0] != 0):
                self.bounds = []  # not a contiguous prefix: start over
        self.rows_timed = 0
        self.seconds_timed = 0.0

    def timed(self, rows: int, seconds: float) -> None:
        self.rows_timed += rows
        self.seconds_timed += seconds

    def get(self, i: int) -> tuple[int, int] | None:
        """Chunk ``i``'s boundaries (deciding them if this is the next one), or None past the end."""
        while i >= len(self.bounds):
            start = self.bounds[-1][1] if self.bounds else 0
            if start >= self.n:
                return None
            if self.seconds_timed > 0:
                rows = int(self.rows_timed / self.seconds_timed * self.seconds)
            else:
                rows = PROBE_ROWS
            self.bounds.append((start, min(self.n, start + max(1, min(rows, self.max_rows)))))
        return self.bounds[i]


def predict_texts(model, tokenizer, texts: Sequence[str], *, max_length: int, batch_size: int = 64,
                  device: str = "cpu", progress: Progress | None = None,
                  max_tokens: int | None = DEFAULT_MAX_TOKENS,
                  forward: Forward | None = None, chunk_rows: int | None = None,
                  store: ChunkStore | None = None, prefetch: bool = True,
                  num_labels: int | None = None) -> TextPredictions:
    """Class probabilities for ``texts`` in input order.

    ``max_tokens`` caps the padded tokens of a batch (``None`` or 0: ``batch_size`` rows whatever
    their length); ``forward`` replaces the torch model call (``model`` then only gives ``config.num_labels``,
    and may be None when ``num_labels`` is given: an ONNX text model);
    ``store`` supplies finished chunks and keeps new ones; ``prefetch`` tokenises the next
    chunk while the current one runs."""
    import torch

    progress = progress or NullProgress()
    t0 = time.perf_counter()
    n = len(texts)
    if chunk_rows is not None and int(chunk_rows) < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    num_labels = int(num_labels if num_labels is not None else model.config.num_labels)
    logits_out = np.empty((n, num_labels), dtype=np.float32)
    forward = forward or torch_forward(model, device)
    records = store is not None and hasattr(store, "bounds")  # a store that keeps each chunk's rows
    if store is not None and not records and chunk_rows is None:
        chunk_rows = DEFAULT_CHUNK_ROWS  # a resume must find the same chunks: fixed boundaries
    recorded = store.bounds() if records else []
    plan = ChunkPlan(n, chunk_rows=None if chunk_rows is None else int(chunk_rows), recorded=recorded)
    known = len(plan.bounds)  # chunks whose boundaries are already fixed (all of them when chunk_rows is given)
    done = finished_chunks(store, known)
    n_tokens = n_trunc = resumed = 0
    for i, res in done.items():
        s, e = plan.bounds[i]
        logits_out[s:e] = res.logits
        n_tokens += res.n_tokens
        n_trunc += res.n_truncated
        resumed += e - s

    def next_todo(after: int) -> int | None:
        i = after + 1
        while i in done:
            i += 1
        return i if plan.get(i) is not None else None

    def tok(i: int):
        s, e = plan.get(i)
        return tokenize(tokenizer, texts[s:e], max_length=max_length)

    was_training = model is not None and model.training
    if model is not None:
        model.eval()
    progress.start(n, "Predicting")
    progress.advance(resumed)
    current = next_todo(-1)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelqa-tokenize") \
        if prefetch and current is not None else None
    try:
        pending = pool.submit(tok, current) if pool else None
        with torch.inference_mode():
            while current is not None:
                enc, trunc = pending.result() if pool else tok(current)
                following = next_todo(current)
                if pool and following is not None:
                    pending = pool.submit(tok, following)
                s, e = plan.get(current)
                t_chunk = time.perf_counter()
                chunk_logits = np.empty((e - s, num_labels), dtype=np.float32)
                for batch in length_sorted_batches(enc, batch_size=batch_size, pad_id=pad_id,
                                                   max_tokens=max_tokens):
                    chunk_logits[batch.rows] = forward(batch)
                    progress.advance(len(batch.rows))
                plan.timed(e - s, time.perf_counter() - t_chunk)
                res = ChunkResult(logits=chunk_logits, n_tokens=sum(len(x) for x in enc["input_ids"]),
                                  n_truncated=trunc)
                if store is not None:
                    if records:
                        store.save(current, res, bounds=(s, e))
                    else:
                        store.save(current, res)
                logits_out[s:e] = chunk_logits
                n_tokens += res.n_tokens
                n_trunc += trunc
                current = following
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
        progress.finish()
        if was_training:
            model.train()
    return TextPredictions(probs=softmax(logits_out), logits=logits_out, n_truncated=n_trunc,
                           max_length=max_length, seconds=time.perf_counter() - t0, n_tokens=n_tokens,
                           resumed_rows=resumed)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z.astype(np.float32) if logits.dtype == np.float32 else z
