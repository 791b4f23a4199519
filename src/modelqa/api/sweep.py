"""``modelqa.sweep_text``: a grid of ``train_text`` runs into ``<out>/runs/<config>/`` with one
seed, a summary sorted by the best validation value of the monitored metric, and resume."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from modelqa._types import NullProgress, Progress
from modelqa.data.load import file_sha256
from modelqa.errors import UsageError
from modelqa.train.callbacks import MONITORS
from modelqa.train.config import TextTrainConfig
from modelqa.train.sweep import SweepResult, TrialOutcome, parse_values, run_sweep


def _max_length(text: str):
    return "auto" if text.strip().lower() == "auto" else int(text)


def _class_weight(text: str):
    text = text.strip().lower()
    if text not in ("none", "balanced"):
        raise ValueError("use none or balanced")
    return None if text == "none" else text


# TextTrainConfig fields that can be swept: (CLI flag, parser of one value)
TEXT_GRID = {
    "lr": ("--lr", float),
    "batch_size": ("--batch-size", int),
    "epochs": ("--epochs", int),
    "max_length": ("--max-length", _max_length),
    "warmup_ratio": ("--warmup-ratio", float),
    "weight_decay": ("--weight-decay", float),
    "class_weight": ("--class-weight", _class_weight),
}


def _hidden(text: str) -> str:
    """One architecture, ``"128,64"``, checked and written back in a canonical form."""
    from modelqa.train.tabular import parse_hidden

    return ",".join(str(h) for h in parse_hidden(text))


# TabularTrainConfig fields that can be swept. --hidden alternatives are separated by '/'
# because a comma already separates the layer widths of one architecture: 128,64/64,32.
TABULAR_GRID = {
    "hidden": ("--hidden", _hidden),
    "dropout": ("--dropout", float),
    "lr": ("--lr", float),
    "batch_size": ("--batch-size", int),
    "epochs": ("--epochs", int),
    "weight_decay": ("--weight-decay", float),
    "class_weight": ("--class-weight", _class_weight),
}

_RULES = {
    "lr": (lambda x: x > 0, "above 0"), "batch_size": (lambda x: x >= 1, "at least 1"),
    "epochs": (lambda x: x >= 1, "at least 1"), "max_length": (lambda x: x == "auto" or x >= 8, "'auto' or at least 8"),
    "warmup_ratio": (lambda x: 0 <= x < 1, "in [0, 1)"), "weight_decay": (lambda x: x >= 0, "at least 0"),
    "class_weight": (lambda x: x in (None, "balanced"), "none or balanced"),
    "dropout": (lambda x: 0 <= x < 1, "in [0, 1)"), "hidden": (lambda x: True, "layer widths"),
}


def _check_value(key: str, flag: str, v) -> None:
    ok, rule = _RULES[key]
    if not ok(v):
        raise UsageError(f"{flag} values must be {rule}; got {v!r}")


def parse_grid(grid: Mapping[str, str | Sequence], spec: Mapping[str, tuple]) -> dict[str, list]:
    """Parse and check a sweep grid against ``spec`` (TEXT_GRID or TABULAR_GRID)."""
    parsed = {}
    for key, value in grid.items():
        if key not in spec:
            raise UsageError(f"cannot sweep {key!r}; sweepable options: {', '.join(spec)}")
        flag, cast = spec[key]
        if key == "hidden" and isinstance(value, str):
            value = [v.strip() for v in value.split("/")]
        values = parse_values(value, cast, flag)
        for v in values:
            _check_value(key, flag, v)
        parsed[key] = values
    return parsed


def _data_hashes(data, val_data, test_data) -> dict[str, str]:
    """SHA-256 of each data file a sweep reads: a changed file refuses to resume the sweep."""
    files = {"data": data, "val_data": val_data, "test_data": test_data}
    return {role: file_sha256(path) for role, path in files.items() if path is not None}


def text_grid(grid: Mapping[str, str | Sequence]) -> dict[str, list]:
    """Parse and check a text sweep grid: ``{"lr": "5e-5,2e-5", "batch_size": [16, 32]}``."""
    return parse_grid(grid, TEXT_GRID)


def sweep_text(*, data: str | Path, out: str | Path, grid: Mapping[str, str | Sequence],
               text_col: str = "text", label_col: str = "label", val_data: str | Path | None = None,
               test_data: str | Path | None = None, base_model: str | Path | None = None,
               encoding: str | None = None, sheet: str | int | None = None, evaluate_test: bool = True,
               progress: Progress | None = None, command: str | None = None, **options) -> SweepResult:
    """Train one text classifier per configuration of ``grid`` (keys: lr, batch_size, epochs,
    max_length, warmup_ratio, weight_decay, class_weight; values: lists or comma-separated
    strings). ``options`` are the other TextTrainConfig fields, fixed for every run (monitor,
    patience, min_delta, seed, device, ...). Every run uses the same seed. Results and resume:
    see docs/sweeps.md."""
    from modelqa.api.train import train_text

    progress = progress or NullProgress()
    parsed = text_grid(grid)
    if not parsed:
        raise UsageError("the sweep grid is empty: give at least one of " + ", ".join(TEXT_GRID))
    for key in options:
        if key == "resume" or key not in TextTrainConfig.__dataclass_fields__:
            raise UsageError(f"sweep_text() got an unknown option {key!r}")
        if key in parsed:
            raise UsageError(f"{key!r} is both swept and fixed; give it once")
    fixed = {**TextTrainConfig().to_dict(), **options}
    fixed.pop("resume")
    for key in parsed:
        fixed.pop(key)
    monitor = fixed["monitor"]
    if monitor not in MONITORS:
        raise UsageError(f"--monitor must be one of {', '.join(MONITORS)}, not {monitor!r}")
    if val_data is not None and test_data is None:
        raise UsageError("--val-data needs --test-data too (otherwise --data is split 60/20/20)")
    hashes = _data_hashes(data, val_data, test_data)
    fingerprint = {"kind": "text", "data_sha256": hashes, "text_col": text_col, "label_col": label_col,
                   "base_model": str(base_model) if base_model else None, "encoding": encoding,
                   "sheet": sheet, "evaluate_test": evaluate_test,
                   **{k: v for k, v in fixed.items() if k != "device"}}

    def train_one(params: dict, run_dir: Path, resume: bool) -> TrialOutcome:
        result = train_text(data=data, out=run_dir, text_col=text_col, label_col=label_col, val_data=val_data,
                            test_data=test_data, base_model=base_model, encoding=encoding, sheet=sheet,
                            evaluate_test=evaluate_test, progress=progress, command=command, resume=resume,
                            **fixed, **params)
        best = result.history[result.best_epoch - 1][monitor] if result.best_epoch else None
        accuracy = None
        if result.evaluation is not None:
            accuracy = result.evaluation.result.get("metrics", {}).get("accuracy")
        return TrialOutcome(best_value=best, best_epoch=result.best_epoch, test_accuracy=accuracy,
                            extra={"epochs_run": len(result.history), "stopped_early": result.stopped_early})

    return run_sweep(grid=parsed, out=out, train_fn=train_one, monitor=monitor, mode=MONITORS[monitor],
                     fingerprint=fingerprint, progress=progress)


def sweep_tabular(*, data: str | Path, target: str, out: str | Path, grid: Mapping[str, str | Sequence],
                  task: str | None = None, val_data: str | Path | None = None, test_data: str | Path | None = None,
                  id_cols: list[str] | None = None, encoding: str | None = None, sheet: str | int | None = None,
                  evaluate_test: bool = True, progress: Progress | None = None, command: str | None = None,
                  **options) -> SweepResult:
    """Train one tabular MLP per configuration of ``grid`` (keys: hidden, dropout, lr, batch_size,
    epochs, weight_decay, class_weight). ``options`` are the other TabularTrainConfig fields,
    fixed for every run (monitor, patience, min_delta, batch_norm, seed). Same machinery,
    summary and resume as ``sweep_text``."""
    from modelqa.api.tabular import train_tabular
    from modelqa.train.tabular import CLASSIFICATION_MONITORS, REGRESSION_MONITORS, TabularTrainConfig

    progress = progress or NullProgress()
    parsed = parse_grid(grid, TABULAR_GRID)
    if not parsed:
        raise UsageError("the sweep grid is empty: give at least one of " + ", ".join(TABULAR_GRID))
    for key in options:
        if key not in TabularTrainConfig.__dataclass_fields__:
            raise UsageError(f"sweep_tabular() got an unknown option {key!r}")
        if key in parsed:
            raise UsageError(f"{key!r} is both swept and fixed; give it once")
    fixed = {**TabularTrainConfig().to_dict(), **options}
    for key in parsed:
        fixed.pop(key)
    monitor = fixed["monitor"]
    if monitor not in (*CLASSIFICATION_MONITORS, *REGRESSION_MONITORS):
        raise UsageError(f"--monitor must be one of {', '.join(dict.fromkeys(CLASSIFICATION_MONITORS + REGRESSION_MONITORS))}")
    if val_data is not None and test_data is None:
        raise UsageError("--val-data needs --test-data too (otherwise --data is split 60/20/20)")
    hashes = _data_hashes(data, val_data, test_data)
    fingerprint = {"kind": "tabular", "data_sha256": hashes, "target": target, "task": task,
                   "id_cols": list(id_cols or []), "encoding": encoding, "sheet": sheet,
                   "evaluate_test": evaluate_test, **fixed}
    mode = "min" if monitor in ("val_loss", "val_rmse") else "max"

    def train_one(params: dict, run_dir: Path, resume: bool) -> TrialOutcome:
        result = train_tabular(data=data, target=target, out=run_dir, task=task, test_data=test_data,
                               val_data=val_data, id_cols=id_cols, encoding=encoding, sheet=sheet,
                               resume=resume, evaluate_test=evaluate_test, progress=progress, command=command,
                               **fixed, **params)
        best = result.history[result.best_epoch - 1][monitor] if result.best_epoch else None
        accuracy = (result.test_metrics or {}).get("metrics", {}).get("accuracy")
        return TrialOutcome(best_value=best, best_epoch=result.best_epoch, test_accuracy=accuracy,
                            extra={"epochs_run": len(result.history), "stopped_early": result.stopped_early})

    return run_sweep(grid=parsed, out=out, train_fn=train_one, monitor=monitor, mode=mode,
                     fingerprint=fingerprint, progress=progress)
