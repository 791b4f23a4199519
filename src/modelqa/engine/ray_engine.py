"""``--engine ray``: text-classifier prediction spread over a Ray actor pool.

The texts become a Ray Dataset with the columns ``row`` (int64 input position) and ``text``,
one block per chunk of ``block_rows`` rows, cut at the same boundaries as the local engine's
chunks (engine.predict.chunk_bounds). ``map_batches`` sends each block, whole, to one actor of
a fixed-size pool; every actor loads the model once (on its GPU when it was given one) and runs
the local engine (engine.predict.predict_texts) on the block as a single chunk, so each row is
computed exactly as the local engine computes it with ``chunk_rows=block_rows``.

An actor answers a block with the columns ``row``, ``logits`` (a ``(rows, K)`` float32 tensor
column), ``n_tokens``, ``n_truncated`` and ``error``. The two counts are the block's totals, put
in the block's first row with zeros in the others, so summing the columns over every row gives
the run's totals whatever way Ray slices the output. An error in an actor (a model folder it
cannot load, …) is not raised there but sent back as JSON in ``error`` (first row of the block),
and the driver raises it again as the same modelqa error: Ray itself would hand back a wrapper
(ActorDiedError, UserCodeException) that keeps only the text of the original. The driver streams
the output, writes the logits into a preallocated ``(n, K)`` float32 array by ``row``, checks
that every row came back exactly once, and applies the softmax.

Ray is imported inside the functions: ``import modelqa`` never needs it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.engine.predict import (
    DEFAULT_CHUNK_ROWS,
    DEFAULT_MAX_TOKENS,
    ChunkResult,
    ChunkStore,
    TextPredictions,
    chunk_bounds,
    finished_chunks,
    softmax,
)
from modelqa.engine.quantize import check_quantize
from modelqa.engine.ray_errors import as_modelqa_error, error_record, quiet_ray_data, raise_record, unwrap
from modelqa.errors import ModelQAError, RunError, UsageError, check_choice, format_rows

ENGINE_CHOICES = ("local", "ray")
RAY_INSTALL_HINT = 'pip install "modelqa[ray]"'


def check_engine(value: str | None) -> str:
    """``local`` (the default) or ``ray``; anything else is a UsageError."""
    return check_choice(value or None, "engine", ENGINE_CHOICES)


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (ray without the [data] extra has no pandas / pyarrow)
    except ImportError as exc:
        raise UsageError(f"`engine='ray'` needs Ray, which is not installed ({exc})",
                         hint=f"install it with {RAY_INSTALL_HINT}") from exc
    return ray


def connect_ray():
    """The ``ray`` module, connected: the running Ray session if there is one, else
    ``ray.init`` at ``$RAY_ADDRESS`` (``auto``, ``ray://head:10001``, …), or a new local
    Ray when it is unset. Returns ``(ray, started_seconds)``."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray, 0.0
    address = os.environ.get("RAY_ADDRESS") or None
    kwargs = {"address": address, "log_to_driver": False, "logging_level": logging.ERROR,
              "ignore_reinit_error": True}
    if address is None:
        kwargs["include_dashboard"] = False
    t0 = time.perf_counter()
    try:
        ray.init(**kwargs)
    except Exception as exc:  # noqa: BLE001  (Ray raises ConnectionError, RuntimeError, ValueError, …)
        if address:
            raise RunError(f"cannot connect to the Ray cluster at RAY_ADDRESS={address} "
                           f"({exc.__class__.__name__}: {exc})",
                           hint="check that the head node is up and the address and port are right "
                           "(ray://head:10001 for Ray Client, auto on a cluster node), "
                           "or unset RAY_ADDRESS to start a local Ray") from exc
        raise RunError(f"cannot start a local Ray ({exc.__class__.__name__}: {exc})",
                       hint="run `ray status` to see whether another Ray is running, "
                       "or use `engine='local'`") from exc
    return ray, time.perf_counter() - t0


class _Predictor:
    """One Ray Data actor: loads the model once, predicts one block per call."""

    def __init__(self, model_path: str, *, max_length: int, batch_size: int, labels, label_map,
                 allow_pickle: bool, quantize: str, precision: str = "fp32",
                 max_tokens: int | None = DEFAULT_MAX_TOKENS) -> None:
        self.clf = None
        self.error: BaseException | None = None
        self.max_length = max_length
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        try:
            self.clf = self._load(model_path, labels=labels, label_map=label_map, allow_pickle=allow_pickle,
                                  quantize=quantize, precision=precision)
        except Exception as exc:  # noqa: BLE001
            # Reported by __call__ instead: Ray would turn a failed constructor into an
            # ActorDiedError holding only the text of the error (and retry the actor).
            self.error = exc

    @staticmethod
    def _load(model_path: str, *, labels, label_map, allow_pickle: bool, quantize: str, precision: str):
        import ray
        import torch

        from modelqa.adapters.hf import load_hf_classifier
        from modelqa.engine.quantize import cast_model, quantize_model

        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU") or 1
        torch.set_num_threads(max(1, int(cpus)))
        device = "cuda" if ray.get_gpu_ids() else "cpu"  # Ray sets CUDA_VISIBLE_DEVICES to this actor's GPU(s)
        # float32 on a CPU actor: the same adapters.lean_bert model as a local run (same numbers)
        clf = load_hf_classifier(model_path, device=device, labels=labels, label_map=label_map,
                                 allow_pickle=allow_pickle, lean=quantize == "none" and precision == "fp32")
        if quantize != "none":
            clf.model = quantize_model(clf.model, quantize, device=clf.device)
        clf.model = cast_model(clf.model, precision, device=clf.device)
        return clf

    def __call__(self, batch: dict) -> dict:
        from modelqa.engine.predict import predict_texts

        rows = np.asarray(batch["row"], dtype=np.int64)
        n_tokens = np.zeros(len(rows), dtype=np.int64)
        n_trunc = np.zeros(len(rows), dtype=np.int64)
        error = np.full(len(rows), "", dtype=object)
        try:
            if self.error is not None:
                raise self.error
            texts = [str(t) for t in batch["text"]]
            out = predict_texts(self.clf.model, self.clf.tokenizer, texts, max_length=self.max_length,
                                batch_size=self.batch_size, max_tokens=self.max_tokens, device=self.clf.device,
                                chunk_rows=max(1, len(texts)), prefetch=False)
            logits = out.logits.astype(np.float32, copy=False)
            if len(rows):
                n_tokens[0], n_trunc[0] = out.n_tokens, out.n_truncated
        except Exception as exc:  # noqa: BLE001  (sent back as data, raised again on the driver)
            logits = np.zeros((len(rows), 1), dtype=np.float32)
            if len(rows):
                error[0] = error_record(exc)
        return {"row": rows, "logits": logits, "n_tokens": n_tokens, "n_truncated": n_trunc, "error": error}


def _cluster_resources(ray) -> tuple[float, float]:
    res = ray.cluster_resources()
    return float(res.get("CPU", 0.0)), float(res.get("GPU", 0.0))


def predict_texts_ray(model_path: str | Path, texts: Sequence[str], *, max_length: int, batch_size: int = 64,
                      labels: list[str] | None = None, label_map=None, allow_pickle: bool = False,
                      quantize: str = "none", precision: str = "fp32", block_rows: int | None = None,
                      max_tokens: int | None = DEFAULT_MAX_TOKENS,
                      num_actors: int | None = None,
                      gpus_per_actor: float | None = None, cpus_per_actor: float = 1.0,
                      progress: Progress | None = None, store: ChunkStore | None = None) -> TextPredictions:
    """Class probabilities for ``texts`` in input order, computed by a pool of Ray actors.

    Same result and fields as engine.predict.predict_texts run with ``chunk_rows=block_rows``.
    ``num_actors`` defaults to the smaller of the number of blocks and what the cluster can
    hold (CPUs / ``cpus_per_actor``, or GPUs / ``gpus_per_actor`` when actors take GPUs);
    ``gpus_per_actor`` defaults to 1 when the cluster has GPUs (0 with ``quantize='int8'``,
    which runs on the CPU only). ``store`` (an engine.journal.ChunkJournal) works as with the
    local engine: chunk i is rows ``[i * block_rows, (i + 1) * block_rows)`` either way, finished
    chunks are not sent to Ray, and each new one is saved on the driver as soon as all its rows
    are back. ``seconds`` counts the whole call, Ray start-up and actor start-up included."""
    t0 = time.perf_counter()
    progress = progress or NullProgress()
    quantize = check_quantize(quantize)
    block_rows = DEFAULT_CHUNK_ROWS if block_rows is None else int(block_rows)
    if block_rows < 1:
        raise UsageError(f"block_rows must be at least 1, not {block_rows}")
    if int(batch_size) < 1:
        raise UsageError(f"`batch_size` must be at least 1, not {batch_size}")
    if num_actors is not None and int(num_actors) < 1:
        raise UsageError(f"num_actors must be at least 1, not {num_actors}")
    if gpus_per_actor is not None and gpus_per_actor < 0:
        raise UsageError(f"gpus_per_actor must be 0 or more, not {gpus_per_actor}")
    if cpus_per_actor <= 0:
        raise UsageError(f"cpus_per_actor must be more than 0, not {cpus_per_actor}")
    if quantize != "none" and gpus_per_actor:
        raise UsageError("`quantize='int8'` runs on the CPU only", hint="leave GPUs per actor at 0, "
                         "or leave `quantize='none'`")
    model_path = str(Path(model_path).expanduser().resolve())
    texts = list(texts)
    n = len(texts)
    bounds = chunk_bounds(n, block_rows)
    done = finished_chunks(store, len(bounds))
    todo = [i for i in range(len(bounds)) if i not in done]

    from modelqa.adapters.hf import check_model_folder

    ray = _import_ray() if todo else None
    here = Path(model_path).exists()
    if here or n == 0 or (todo and not ray.is_initialized() and not os.environ.get("RAY_ADDRESS")):
        # Checked on the driver, before any actor starts, when the driver sees the folder or
        # Ray will run on this machine only (a cluster's driver need not hold the folder).
        check_model_folder(model_path, allow_pickle=allow_pickle)
    if done:
        k = int(next(iter(done.values())).logits.shape[1])
    elif not todo:  # no texts: no actor to ask for K, the model's config gives it
        from transformers import AutoConfig

        k = int(AutoConfig.from_pretrained(model_path, local_files_only=True).num_labels)
    else:
        k = None  # the first block back says
    if todo:
        ray, _ = connect_ray()
        if not here and _single_machine(ray):
            check_model_folder(model_path, allow_pickle=allow_pickle)
        cpus, gpus = _cluster_resources(ray)
        if gpus_per_actor is None:
            gpus_per_actor = 1.0 if gpus >= 1 and quantize == "none" else 0.0
        if gpus_per_actor > gpus:
            raise UsageError(f"each Ray actor asks for {gpus_per_actor:g} GPU(s) but the Ray cluster has {gpus:g}",
                             hint="ask for fewer GPUs per actor (0 runs on the CPU)")
        if cpus_per_actor > cpus:
            raise UsageError(f"each Ray actor asks for {cpus_per_actor:g} CPU(s) but the Ray cluster has "
                             f"{cpus:g}")
        if num_actors is None:
            room = gpus / gpus_per_actor if gpus_per_actor else cpus / cpus_per_actor
            num_actors = max(1, int(math.floor(room + 1e-9)))
        num_actors = min(int(num_actors), len(todo))

    progress.start(n, "Predicting")
    try:
        run = _Gathered(n, block_rows, bounds, k, store)
        for i, res in done.items():
            run.take_resumed(i, res)
        progress.advance(run.resumed)
        if todo:
            import pandas as pd
            from ray.data import ActorPoolStrategy

            with quiet_ray_data():
                frames = [pd.DataFrame({"row": np.arange(bounds[i][0], bounds[i][1], dtype=np.int64),
                                        "text": texts[bounds[i][0]:bounds[i][1]]}) for i in todo]
                ds = ray.data.from_pandas(frames)  # one block per chunk, at the local engine's boundaries
                ds = ds.map_batches(
                    _Predictor, batch_size=block_rows, batch_format="numpy",
                    compute=ActorPoolStrategy(size=num_actors),
                    num_cpus=cpus_per_actor, num_gpus=gpus_per_actor or None,
                    fn_constructor_kwargs={"model_path": model_path, "max_length": int(max_length),
                                           "batch_size": int(batch_size), "labels": labels,
                                           "label_map": label_map, "allow_pickle": allow_pickle,
                                           "quantize": quantize, "precision": precision,
                                           "max_tokens": max_tokens})
                run.stream(ds, progress)
        run.check()
    finally:
        progress.finish()
    return TextPredictions(probs=softmax(run.logits), logits=run.logits, n_truncated=int(run.chunk_trunc.sum()),
                           max_length=max_length, seconds=time.perf_counter() - t0,
                           n_tokens=int(run.chunk_tokens.sum()), resumed_rows=run.resumed)


class _Gathered:
    """The driver's side of a run: logits by row, per-chunk counts, rows seen, chunks saved."""

    def __init__(self, n: int, block_rows: int, bounds: list[tuple[int, int]], k: int | None,
                 store: ChunkStore | None) -> None:
        self.n, self.block_rows, self.bounds, self.store = n, block_rows, bounds, store
        self.logits = np.empty((n, k), dtype=np.float32) if k is not None else None
        self.seen = np.zeros(n, dtype=np.int32)
        self.chunk_tokens = np.zeros(len(bounds), dtype=np.int64)
        self.chunk_trunc = np.zeros(len(bounds), dtype=np.int64)
        self.left = np.array([e - s for s, e in bounds], dtype=np.int64)  # rows still to come per chunk
        self.resumed = 0

    def take_resumed(self, i: int, res: ChunkResult) -> None:
        s, e = self.bounds[i]
        self.logits[s:e] = res.logits
        self.seen[s:e] += 1
        self.chunk_tokens[i], self.chunk_trunc[i] = res.n_tokens, res.n_truncated
        self.left[i] = 0
        self.resumed += e - s

    def stream(self, ds, progress: Progress) -> None:
        """Take the actors' output as it comes; raise what an actor reported."""
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                self._take(batch)
                progress.advance(len(batch["row"]))
        except ModelQAError:
            raise
        except Exception as exc:  # noqa: BLE001  (Ray's own failures: a dead actor or node, …)
            err = as_modelqa_error(exc)
            if err is not None:
                raise err from None
            inner = unwrap(exc)
            first = (str(inner).strip().splitlines() or [""])[0]
            raise RunError(f"the Ray prediction run failed: {inner.__class__.__name__}: {first}",
                           hint="the Ray Data logs (logs/ray-data in the Ray session folder, "
                           "/tmp/ray/session_latest by default) have the whole story; "
                           "`engine='local'` runs without Ray") from exc

    def _take(self, batch: dict) -> None:
        for text in batch["error"]:
            if text:
                raise_record(text)
        rows = np.asarray(batch["row"], dtype=np.int64)
        if not len(rows):
            return
        got = np.asarray(batch["logits"], dtype=np.float32)
        if self.logits is None:
            self.logits = np.empty((self.n, got.shape[1]), dtype=np.float32)
        if got.shape != (len(rows), self.logits.shape[1]):
            raise RunError(f"a Ray actor returned logits of shape {got.shape} for {len(rows)} rows "
                           f"of a model with {self.logits.shape[1]} outputs")
        if rows.min() < 0 or rows.max() >= self.n:
            raise RunError(f"Ray returned row numbers outside 0..{self.n - 1}")
        self.logits[rows] = got
        np.add.at(self.seen, rows, 1)
        chunk = rows // self.block_rows
        np.add.at(self.chunk_tokens, chunk, np.asarray(batch["n_tokens"], dtype=np.int64))
        np.add.at(self.chunk_trunc, chunk, np.asarray(batch["n_truncated"], dtype=np.int64))
        np.subtract.at(self.left, chunk, 1)
        if self.store is not None:
            for i in np.unique(chunk):
                if self.left[i] == 0:
                    s, e = self.bounds[i]
                    self.store.save(int(i), ChunkResult(logits=self.logits[s:e].copy(),
                                                        n_tokens=int(self.chunk_tokens[i]),
                                                        n_truncated=int(self.chunk_trunc[i])))

    def check(self) -> None:
        """Every row back exactly once."""
        missing = np.flatnonzero(self.seen == 0)
        doubled = np.flatnonzero(self.seen > 1)
        if len(missing) or len(doubled):
            parts = []
            if len(missing):
                parts.append(f"{len(missing)} row(s) never came back ({format_rows(missing)})")
            if len(doubled):
                parts.append(f"{len(doubled)} row(s) came back more than once ({format_rows(doubled)})")
            raise RunError("the Ray prediction run lost track of rows: " + "; ".join(parts))


def _single_machine(ray) -> bool:
    """Whether every live node of the cluster is this machine (the driver's file system is theirs)."""
    try:
        here = ray.util.get_node_ip_address()
        nodes = [x for x in ray.nodes() if x.get("Alive")]
    except Exception:  # noqa: BLE001  (best effort: Ray Client may not answer)
        return False
    return bool(nodes) and all(x.get("NodeManagerAddress") == here for x in nodes)


__all__ = ["ENGINE_CHOICES", "check_engine", "connect_ray", "predict_texts_ray"]
