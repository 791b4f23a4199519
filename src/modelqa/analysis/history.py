"""Training histories from three frameworks, read into one per-epoch :class:`History`.

Formats (detected from the JSON shape, never from the file name):

- ``modelqa``: our ``history.json``, a list of per-epoch objects
  (``epoch``, ``train_loss``, ``val_loss``, ``val_accuracy``, ... ). ``loss`` is accepted for
  ``train_loss``; ``train_<m>`` / ``val_<m>`` become a metric ``m``.
- ``keras``: a ``History.history`` dict saved as JSON, ``{"loss": [...], "val_loss": [...],
  "accuracy": [...], "val_accuracy": [...]}``, one list entry per epoch; the older ``acc`` /
  ``val_acc`` names become ``accuracy``; ``lr`` / ``learning_rate`` is the learning rate. A dict
  ``{"history": {...}}`` around it is accepted too.
- ``huggingface``: a Trainer ``trainer_state.json``. Its ``log_history`` holds training logs
  (``loss``, ``learning_rate``, ``epoch``, ``step``) and evaluation logs (``eval_loss``,
  ``eval_<metric>``, ``epoch``), both at fractional epochs when logging is step based. A log at
  epoch ``e`` belongs to epoch ``ceil(e)`` (the epoch it was logged in, so 0.25, 0.5 and 1.0 are
  all epoch 1). Training loss per epoch is the mean of the losses logged in it; the learning
  rate is the last one logged; when an epoch was evaluated more than once the last evaluation
  (the one nearest the end of the epoch) is kept.

Epochs are numbered from 1 as Keras prints them. A value that is missing for an epoch (an
epoch that was not evaluated, or ``null`` in the JSON) is None; NaN or infinity logged by the
framework (``NaN``, ``Infinity`` in the JSON, or the strings "nan" / "inf") is kept as a float:
that is a diverged run, not a gap.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelqa.errors import DataError

FORMATS = ("modelqa", "keras", "huggingface")
EXPECTED = ("a modelqa history.json (a list of per-epoch objects with train_loss / val_loss), "
            "a Keras History.history dict saved as JSON ({\"loss\": [...], \"val_loss\": [...], ...}), "
            "or a Hugging Face trainer_state.json (an object with log_history)")
# Names looked for inside a folder, in this order.
FOLDER_FILES = ("history.json", "trainer_state.json")

_LR_KEYS = ("learning_rate", "lr")
_ALIASES = {"acc": "accuracy"}
# Keys of a modelqa row / Keras dict that are bookkeeping, not curves.
_NOT_CURVES = {"epoch", "step", "seconds", "best", "time", "duration", "global_step", *_LR_KEYS}
# Keys of a Hugging Face evaluation log that are speed, not quality.
_HF_EVAL_SKIP = re.compile(r"^eval_(runtime|samples_per_second|steps_per_second|model_preparation_time)$")
_LOWER_IS_BETTER = re.compile(r"(loss|error|mse|mae|rmse|mape|perplexity|wer|cer)", re.IGNORECASE)
_EPOCH_SLACK = 1e-6

Series = tuple[float | None, ...]


def lower_is_better(metric: str) -> bool:
    """True for losses and errors (``*_loss``, ``*_error``, mse, mae, ...), False for scores."""
    return bool(_LOWER_IS_BETTER.search(metric))


@dataclass(frozen=True)
class History:
    """Per-epoch curves. Every series has one value per epoch: a float (NaN / infinity when the
    framework logged one), or None where the epoch has no value.

    ``train_metrics`` / ``val_metrics`` map a metric name (``accuracy``, ``f1_macro``, ...) to
    its series; a metric logged only on validation data has no train entry.
    """

    source: str
    format: str
    epochs: tuple[int, ...]
    train_loss: Series | None = None
    val_loss: Series | None = None
    train_metrics: Mapping[str, Series] = field(default_factory=dict)
    val_metrics: Mapping[str, Series] = field(default_factory=dict)
    learning_rate: Series | None = None

    @property
    def n_epochs(self) -> int:
        return len(self.epochs)

    @property
    def metric_names(self) -> list[str]:
        """Every metric, validation metrics first, in the order they were logged."""
        return list(dict.fromkeys([*self.val_metrics, *self.train_metrics]))

    @property
    def main_metric(self) -> str | None:
        """``accuracy`` when there is a validation accuracy, else the first metric with a
        validation series (a ``val_`` twin), else the first training metric, else None."""
        if "accuracy" in self.val_metrics:
            return "accuracy"
        if self.val_metrics:
            return next(iter(self.val_metrics))
        return next(iter(self.train_metrics), None)

    def rows(self) -> list[dict]:
        """One dict per epoch: epoch, train_loss, val_loss, train_<m>, val_<m>, learning_rate
        (only the columns this history has; None where an epoch lacks a value)."""
        columns = self.columns()
        return [{"epoch": epoch, **{name: series[i] for name, series in columns.items()}}
                for i, epoch in enumerate(self.epochs)]

    def columns(self) -> dict[str, Series]:
        """Column name → series, in table order."""
        out: dict[str, Series] = {}
        if self.train_loss is not None:
            out["train_loss"] = self.train_loss
        if self.val_loss is not None:
            out["val_loss"] = self.val_loss
        for name in self.metric_names:
            if name in self.train_metrics:
                out[f"train_{name}"] = self.train_metrics[name]
            if name in self.val_metrics:
                out[f"val_{name}"] = self.val_metrics[name]
        if self.learning_rate is not None:
            out["learning_rate"] = self.learning_rate
        return out

    def to_dict(self) -> dict:
        """JSON-ready: a missing value is None; a logged NaN / infinity is the string "NaN",
        "Infinity" or "-Infinity" (JSON has no such numbers)."""
        return {"source": self.source, "format": self.format, "n_epochs": self.n_epochs,
                "main_metric": self.main_metric,
                "epochs": [{k: _json_float(v) if k != "epoch" else v for k, v in row.items()}
                           for row in self.rows()]}


def _json_float(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


# --------------------------------------------------------------------------- reading


def read_history(path: str | Path) -> History:
    """Read a history file (or a folder holding ``history.json`` / ``trainer_state.json``)
    in any of :data:`FORMATS`. Raises DataError naming the file and what was expected."""
    path = Path(path)
    if path.is_dir():
        found = next((path / name for name in FOLDER_FILES if (path / name).is_file()), None)
        if found is None:
            raise DataError(f"{path}: a folder without {' or '.join(FOLDER_FILES)}; "
                            "give the history file itself")
        path = found
    if not path.is_file():
        raise DataError(f"{path}: no such file", hint="give the path of history.json, a Keras history "
                        "saved as JSON, or trainer_state.json")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text, so not a JSON training history ({exc.reason} at byte "
                        f"{exc.start})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                        f"expected {EXPECTED}") from None
    return parse_history(obj, source=str(path))


def detect_format(obj: object) -> str | None:
    """``modelqa``, ``keras``, ``huggingface``, or None when the shape is none of them."""
    if isinstance(obj, list):
        return "modelqa" if obj and all(isinstance(row, Mapping) for row in obj) else None
    if isinstance(obj, Mapping):
        if isinstance(obj.get("log_history"), list):
            return "huggingface"
        inner = obj.get("history")
        if isinstance(inner, Mapping) and _looks_keras(inner):
            return "keras"
        if _looks_keras(obj):
            return "keras"
    return None


def _looks_keras(obj: Mapping) -> bool:
    """A dict of lists with a loss or a ``val_`` series (lengths are checked by from_keras)."""
    if any(isinstance(obj.get(k), list) for k in ("loss", "val_loss")):
        return True
    return bool(obj) and all(isinstance(v, list) for v in obj.values()) and any(str(k).startswith("val_") for k in obj)


def parse_history(obj: object, *, source: str = "<history>") -> History:
    """Parse an already-loaded JSON value (see :func:`read_history`)."""
    if isinstance(obj, list | Mapping) and not obj:
        raise DataError(f"{source}: the history is empty; expected {EXPECTED} with at least one epoch")
    fmt = detect_format(obj)
    if fmt == "modelqa":
        history = from_records(obj, source=source)  # type: ignore[arg-type]
    elif fmt == "keras":
        inner = obj.get("history") if isinstance(obj.get("history"), Mapping) else obj  # type: ignore[union-attr]
        history = from_keras(inner, source=source)
    elif fmt == "huggingface":
        history = from_trainer_state(obj, source=source)  # type: ignore[arg-type]
    else:
        raise DataError(f"{source}: not a training history I can read; expected {EXPECTED}")
    return history


def from_records(records: Sequence[Mapping], *, source: str = "<history>") -> History:
    """Our ``history.json``: one object per epoch. ``train_loss`` (or ``loss``), ``val_loss``,
    ``train_<m>`` / ``val_<m>`` (or a bare ``<m>`` for the training value), ``learning_rate``.

    Epochs are taken from ``epoch`` when every row has one and they count 1, 2, 3, ...;
    a 0-based counter (0, 1, 2, ...) is shifted to start at 1; otherwise rows are numbered
    by position."""
    if not records:
        raise DataError(f"{source}: the history is empty; expected at least one epoch")
    for i, row in enumerate(records, start=1):
        if not isinstance(row, Mapping):
            raise DataError(f"{source}: entry {i} is {type(row).__name__}, expected an object per epoch")
    keys = list(dict.fromkeys(k for row in records for k in row))
    columns: dict[str, list[float]] = {}
    for key in keys:
        if key in _NOT_CURVES and key not in _LR_KEYS:
            continue
        values = [row.get(key) for row in records]
        if not any(_is_number(v) for v in values):
            continue  # text or flags, not a curve
        columns[key] = [_number(v, source=source, where=f"epoch {i} {key!r}")
                        for i, v in enumerate(values, start=1)]
    train_loss = columns.pop("train_loss", None) or columns.pop("loss", None)
    columns.pop("loss", None)
    val_loss = columns.pop("val_loss", None)
    lr, train_metrics, val_metrics = _split_curves(columns)
    return _finish(source, "modelqa", _epoch_numbers(records), train_loss, val_loss, train_metrics,
                   val_metrics, lr)


def _split_curves(columns: dict[str, list]) -> tuple[list | None, dict, dict]:
    """The learning rate, training metrics and validation metrics (``val_<m>``) of the columns
    left after the losses; ``train_<m>`` and ``<m>`` both name a training metric."""
    lr = next((columns.pop(k) for k in _LR_KEYS if k in columns), None)
    for k in _LR_KEYS:
        columns.pop(k, None)
    train_metrics: dict[str, tuple[float, ...]] = {}
    val_metrics: dict[str, tuple[float, ...]] = {}
    for key, values in columns.items():
        if key.startswith("val_"):
            val_metrics[_canon(key[4:])] = tuple(values)
        else:
            train_metrics[_canon(key[6:] if key.startswith("train_") else key)] = tuple(values)
    return lr, train_metrics, val_metrics


def from_keras(history: Mapping[str, Sequence], *, source: str = "<history>") -> History:
    """A Keras ``History.history`` dict: metric name → one value per epoch; ``val_<m>`` is the
    validation twin of ``<m>``. All lists must have the same length."""
    if not history:
        raise DataError(f"{source}: the history is empty; expected {{\"loss\": [...], \"val_loss\": [...]}}")
    lengths = {str(k): len(v) for k, v in history.items() if isinstance(v, list)}
    bad = [k for k, v in history.items() if not isinstance(v, list)]
    if bad:
        raise DataError(f"{source}: {', '.join(map(repr, bad))} is not a list; a Keras history maps each "
                        "metric to a list with one value per epoch")
    if len(set(lengths.values())) > 1:
        listing = ", ".join(f"{k} {n}" for k, n in lengths.items())
        raise DataError(f"{source}: the lists have different lengths ({listing}); a Keras history has one "
                        "value per epoch in every list")
    n = next(iter(lengths.values()))
    if n == 0:
        raise DataError(f"{source}: the history is empty (every list has 0 values); expected one value per epoch")
    columns = {str(k): [_number(v, source=source, where=f"{k!r} value {i}") for i, v in enumerate(vals, start=1)]
               for k, vals in history.items()}
    train_loss = columns.pop("loss", None)
    val_loss = columns.pop("val_loss", None)
    lr, train_metrics, val_metrics = _split_curves(columns)
    return _finish(source, "keras", tuple(range(1, n + 1)), train_loss, val_loss, train_metrics, val_metrics, lr)


def from_trainer_state(state: Mapping, *, source: str = "<trainer_state.json>") -> History:
    """A Hugging Face ``trainer_state.json`` (see the module docstring for the epoch rules)."""
    logs = state.get("log_history")
    if not isinstance(logs, list):
        raise DataError(f"{source}: no log_history list; expected a Hugging Face trainer_state.json")
    train: dict[int, list[float]] = {}
    lrs: dict[int, float] = {}
    evals: dict[int, dict[str, float]] = {}
    for i, entry in enumerate(logs, start=1):
        if not isinstance(entry, Mapping):
            raise DataError(f"{source}: log_history entry {i} is {type(entry).__name__}, expected an object")
        epoch_value = entry.get("epoch")
        if not _is_number(epoch_value):
            continue  # a log without an epoch cannot be placed on a per-epoch curve
        epoch = max(1, math.ceil(float(epoch_value) - _EPOCH_SLACK))
        if "loss" in entry and not any(str(k).startswith("eval_") for k in entry):
            train.setdefault(epoch, []).append(_number(entry["loss"], source=source, where=f"log_history "
                                                       f"entry {i} 'loss'"))
            if _is_number(entry.get("learning_rate")):
                lrs[epoch] = float(entry["learning_rate"])
        elif any(str(k).startswith("eval_") for k in entry):
            values = {}
            for key, value in entry.items():
                key = str(key)
                if not key.startswith("eval_") or _HF_EVAL_SKIP.match(key):
                    continue
                if value is None or _is_number(value):
                    values[key[5:]] = _number(value, source=source, where=f"log_history entry {i} {key!r}")
            evals[epoch] = values  # the last evaluation in an epoch wins
        # anything else (the final train_runtime / total_flos summary) is not a curve
    if not train and not evals:
        raise DataError(f"{source}: log_history has no training loss and no evaluation logs with an epoch; "
                        "expected entries like {\"loss\": 0.7, \"epoch\": 0.5, \"step\": 50} and "
                        "{\"eval_loss\": 0.6, \"epoch\": 1.0}")
    n = max([*train, *evals])
    epochs = tuple(range(1, n + 1))
    train_loss = [_mean(train[e]) if e in train else None for e in epochs] if train else None
    eval_keys = list(dict.fromkeys(k for e in sorted(evals) for k in evals[e]))
    val_loss = [evals.get(e, {}).get("loss") for e in epochs] if "loss" in eval_keys else None
    val_metrics = {_canon(k): tuple(evals.get(e, {}).get(k) for e in epochs) for k in eval_keys if k != "loss"}
    lr = [lrs.get(e) for e in epochs] if lrs else None
    return _finish(source, "huggingface", epochs, train_loss, val_loss, {}, val_metrics, lr)


# --------------------------------------------------------------------------- helpers


def _finish(source, fmt, epochs, train_loss, val_loss, train_metrics, val_metrics, lr) -> History:
    if train_loss is None and val_loss is None and not val_metrics and not train_metrics:
        raise DataError(f"{source}: the history has no loss and no metric to draw; expected {EXPECTED}")
    return History(source=source, format=fmt, epochs=tuple(int(e) for e in epochs),
                   train_loss=None if train_loss is None else tuple(train_loss),
                   val_loss=None if val_loss is None else tuple(val_loss),
                   train_metrics=train_metrics, val_metrics=val_metrics,
                   learning_rate=None if lr is None else tuple(lr))


def _canon(name: str) -> str:
    return _ALIASES.get(name, name)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _mean(values: list[float | None]) -> float | None:
    logged = [v for v in values if v is not None]
    return sum(logged) / len(logged) if logged else None


def _number(value: object, *, source: str, where: str) -> float | None:
    if value is None:
        return None
    if _is_number(value):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
        return float(value.strip().lower().replace("infinity", "inf"))
    raise DataError(f"{source}: {where} is {value!r}, expected a number")


def _epoch_numbers(records: Sequence[Mapping]) -> tuple[int, ...]:
    n = len(records)
    given = [row.get("epoch") for row in records]
    if all(_is_number(e) and float(e).is_integer() for e in given):
        ints = [int(e) for e in given]  # type: ignore[arg-type]
        if ints == list(range(1, n + 1)):
            return tuple(ints)
        if ints == list(range(0, n)):
            return tuple(e + 1 for e in ints)
        if all(b > a for a, b in zip(ints, ints[1:], strict=False)) and ints[0] >= 1:
            return tuple(ints)  # e.g. a resumed run that kept its epoch numbers
    return tuple(range(1, n + 1))
