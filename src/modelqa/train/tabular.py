"""Train a tabular MLP (torch): shuffled mini-batches, AdamW with L2 weight decay, optional
balanced class weights, validation each epoch, early stopping that restores the best epoch,
an atomic checkpoint per epoch for ``--resume``, and a staged save (safetensors + JSON).

Classification uses cross-entropy over one logit per class (two for binary, so probabilities
are a softmax like every other classifier's); regression uses the mean squared error of the
standardised target (``val_loss``), and reports ``val_rmse`` in target units.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.adapters.tabular import MODEL_FILE, build_mlp, forward_numpy
from modelqa.errors import RunError, UsageError
from modelqa.metrics.confusion import accuracy, confusion_matrix, macro_f1
from modelqa.train.callbacks import EarlyStopping

CHECKPOINT_DIR = ".checkpoint"
CLASSIFICATION_MONITORS = ("val_loss", "val_accuracy", "val_f1_macro")
REGRESSION_MONITORS = ("val_loss", "val_rmse")


@dataclass
class TabularTrainConfig:
    """Options of ``modelqa train tabular`` with their defaults (docs/tabular.md explains them)."""

    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.2
    batch_norm: bool = False
    weight_decay: float = 1e-4
    class_weight: str | None = None
    epochs: int = 200
    lr: float = 1e-3
    batch_size: int = 128
    patience: int = 15
    min_delta: float = 0.0
    monitor: str = "val_loss"
    seed: int = 42

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    def validate(self, task: str) -> None:
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise UsageError(f"`hidden` must be layer widths of at least 1, e.g. 128,64; got {list(self.hidden)}")
        if not 0.0 <= self.dropout < 1.0:
            raise UsageError(f"`dropout` must be in [0, 1), not {self.dropout}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.weight_decay < 0 or self.patience < 0:
            raise UsageError("`epochs` and `batch_size` must be at least 1, `lr` above 0, `weight_decay` and "
                             "`patience` at least 0")
        if self.class_weight not in (None, "none", "balanced"):
            raise UsageError(f"`class_weight` must be none or balanced, not {self.class_weight!r}")
        allowed = REGRESSION_MONITORS if task == "regression" else CLASSIFICATION_MONITORS
        if self.monitor not in allowed:
            raise UsageError(f"`monitor` for a {task} task must be one of {', '.join(allowed)}, not {self.monitor!r}")
        if task == "regression" and self.class_weight == "balanced":
            raise UsageError("`class_weight='balanced'` applies to classification, not regression")


def parse_hidden(text: str | list | tuple) -> tuple[int, ...]:
    """``"128,64"`` → (128, 64)."""
    if isinstance(text, list | tuple):
        return tuple(int(h) for h in text)
    try:
        sizes = tuple(int(part) for part in str(text).replace(" ", "").split(",") if part)
    except ValueError:
        raise UsageError(f"`hidden` must be comma-separated layer widths such as 128,64, not {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise UsageError(f"`hidden` must be comma-separated layer widths of at least 1, not {text!r}")
    return sizes


@dataclass
class TabularFit:
    model: object
    architecture: dict
    history: list[dict]
    best_epoch: int
    stopped_early: bool
    seconds: float
    resumed_from: int | None = None
    notes: list[str] = field(default_factory=list)


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """scikit-learn's 'balanced' weights: n_samples / (n_classes * count); absent classes get 0."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    with np.errstate(divide="ignore"):
        return np.where(counts > 0, len(y) / (n_classes * counts), 0.0)


def _batches(perm: np.ndarray, batch_size: int, batch_norm: bool) -> list[np.ndarray]:
    out = [perm[s:s + batch_size] for s in range(0, len(perm), batch_size)]
    if batch_norm and len(out) > 1 and len(out[-1]) == 1:  # batch norm cannot train on one row
        out[-2] = np.concatenate([out[-2], out.pop()])
    return out


def validation_logs(model, x_val: np.ndarray, y_val: np.ndarray, *, task: str, n_outputs: int,
                    target_std: float = 1.0) -> dict:
    """val_loss plus val_accuracy / val_f1_macro (classification) or val_rmse in target units (regression)."""
    out = forward_numpy(model, x_val)
    if task == "regression":
        mse = float(np.mean((out[:, 0] - y_val.astype(np.float64)) ** 2))
        return {"val_loss": mse, "val_rmse": math.sqrt(mse) * target_std}
    y = y_val.astype(np.int64)
    z = out - out.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    cm = confusion_matrix(y, out.argmax(axis=1), n_outputs)
    return {"val_loss": float(-logp[np.arange(len(y)), y].mean()), "val_accuracy": float(accuracy(cm)),
            "val_f1_macro": float(macro_f1(cm))}


def _checkpointer(folder: Path | None, fingerprint: dict | None = None):
    if folder is None:
        return None
    from modelqa.train.checkpoint import EpochCheckpointer

    return EpochCheckpointer(folder, fingerprint=fingerprint)


def fit_tabular(*, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, task: str,
                n_outputs: int, config: TabularTrainConfig, target_std: float = 1.0,
                progress: Progress | None = None, checkpoint_dir: str | Path | None = None,
                resume: bool = False, fingerprint: dict | None = None) -> TabularFit:
    """Train the MLP; returns it with the best epoch's weights restored.

    With ``checkpoint_dir`` every epoch is checkpointed (model, optimizer, RNG states, history,
    early-stopping state); ``resume=True`` continues from the last complete epoch and yields the
    same history (except ``seconds``) as an uninterrupted run with the same seed. ``fingerprint``
    (training arguments, data hashes) is stored with each checkpoint; resuming with another is refused.
    """
    import torch

    progress = progress or NullProgress()
    config.validate(task)
    t_start = time.perf_counter()
    torch.manual_seed(config.seed)
    architecture = {"type": "mlp", "input_dim": int(x_train.shape[1]), "hidden": [int(h) for h in config.hidden],
                    "dropout": float(config.dropout), "batch_norm": bool(config.batch_norm),
                    "activation": "relu", "output_dim": int(n_outputs)}
    model = build_mlp(architecture)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if task == "regression":
        loss_fn = torch.nn.MSELoss()
        y_t = torch.from_numpy(np.asarray(y_train, dtype=np.float32))[:, None]
    else:
        weights = None
        if config.class_weight == "balanced":
            weights = torch.tensor(class_weights(np.asarray(y_train, np.int64), n_outputs), dtype=torch.float32)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
        y_t = torch.from_numpy(np.asarray(y_train, dtype=np.int64))
    x_t = torch.from_numpy(np.ascontiguousarray(x_train, dtype=np.float32))
    monitor = "val_loss" if config.monitor == "val_rmse" else config.monitor  # rmse is monotone in val_loss
    stopper = EarlyStopping(monitor=monitor, patience=config.patience, min_delta=config.min_delta)
    rng = np.random.default_rng(config.seed)
    history: list[dict] = []
    best_state = None
    start = 1
    notes: list[str] = []
    ckpt_folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    ckpt = _checkpointer(ckpt_folder, fingerprint)
    resumed_from = None
    if resume:
        if ckpt is None:
            raise UsageError("`resume` needs a checkpoint folder")
        latest = ckpt.latest()
        if latest is None:
            notes.append(f"--resume: no checkpoint in {ckpt_folder}; trained from the start")
        else:
            state = ckpt.restore(model=model, optimizer=optimizer, rng=rng)
            history = list(state["history"])
            stopper.best, stopper.best_epoch, stopper.wait = state["best"], state["best_epoch"], state["wait"]
            best_state = ckpt.restore_best()
            if best_state is None:
                raise RunError(f"`resume`: the best weights are missing from the checkpoint in {ckpt_folder}",
                               hint="train again without `resume`")
            start = int(latest["epoch"]) + 1
            resumed_from = int(latest["epoch"])
            notes.append(f"resumed after epoch {resumed_from} from {ckpt_folder}")
    elif ckpt is not None:
        ckpt.clear()

    stopped_early = bool(history) and stopper.should_stop
    n = len(x_train)
    epoch = start - 1
    for epoch in range(start, config.epochs + 1):
        if stopped_early:
            break
        t0 = time.perf_counter()
        model.train()
        total, seen = 0.0, 0
        progress.start(n, f"Epoch {epoch}/{config.epochs}")
        for rows in _batches(rng.permutation(n), config.batch_size, config.batch_norm):
            idx = torch.from_numpy(rows)
            loss = loss_fn(model(x_t[idx]), y_t[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
            seen += len(rows)
            progress.advance(len(rows))
        progress.finish()
        logs = {"epoch": epoch, "train_loss": total / max(seen, 1),
                **validation_logs(model, x_val, y_val, task=task, n_outputs=n_outputs, target_std=target_std),
                "learning_rate": float(optimizer.param_groups[0]["lr"]),
                "seconds": round(time.perf_counter() - t0, 3)}
        is_best = stopper.update(epoch, logs)
        logs["best"] = is_best
        history.append(logs)
        if is_best:
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        stopped_early = stopper.should_stop and epoch < config.epochs
        if ckpt is not None:
            ckpt.save(epoch, model=model, optimizer=optimizer, rng=rng, best_weights=best_state,
                      state={"history": history, "best": stopper.best, "best_epoch": stopper.best_epoch,
                             "wait": stopper.wait})
        extra = (f"val_rmse {logs['val_rmse']:.4f}" if task == "regression"
                 else f"val_accuracy {logs['val_accuracy']:.4f}  val_f1_macro {logs['val_f1_macro']:.4f}")
        progress.log(f"epoch {epoch}: train_loss {logs['train_loss']:.4f}  val_loss {logs['val_loss']:.4f}  "
                     f"{extra}" + ("  (best)" if is_best else ""))
    if stopped_early:
        last = history[-1]["epoch"] if history else epoch
        notes.append(f"early stopping after epoch {last}: {config.monitor} did not improve for "
                     f"{config.patience} epoch(s); restored epoch {stopper.best_epoch}")
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TabularFit(model=model, architecture=architecture, history=history, best_epoch=stopper.best_epoch,
                      stopped_early=stopped_early, seconds=time.perf_counter() - t_start,
                      resumed_from=resumed_from, notes=notes)


def clear_checkpoints(folder: str | Path) -> None:
    """Remove the per-epoch checkpoints once the final model is saved."""
    _checkpointer(Path(folder)).clear()


def save_tabular_model(out_dir: str | Path, fit: TabularFit, meta: dict) -> None:
    """Write model.safetensors + modelqa.json + history.json into a staging folder, then move the
    files into ``out_dir`` (a killed run never leaves half a model)."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in fit.model.state_dict().items()}
        save_file(state, str(stage / MODEL_FILE), metadata={"format": "pt", "kind": "tabular"})
        (stage / "modelqa.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                                            encoding="utf-8")
        (stage / "history.json").write_text(json.dumps(fit.history, indent=2) + "\n", encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        mask = os.umask(0)
        os.umask(mask)
        for item in stage.iterdir():
            os.chmod(item, 0o666 & ~mask)
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
