"""Training callbacks that do not depend on a framework: early stopping on a monitored value."""

from __future__ import annotations

from dataclasses import dataclass, field

MONITORS = {"val_loss": "min", "val_accuracy": "max", "val_f1_macro": "max"}


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``best_epoch`` is 1-based; ``update`` returns True when the epoch is a new best.
    """

    monitor: str = "val_loss"
    patience: int = 2
    min_delta: float = 0.0
    best: float | None = None
    best_epoch: int = 0
    wait: int = 0
    stopped_epoch: int | None = None
    mode: str = field(init=False)

    def __post_init__(self) -> None:
        if self.monitor not in MONITORS:
            from modelqa.errors import UsageError

            raise UsageError(f"`monitor` must be one of {', '.join(MONITORS)}, not {self.monitor!r}")
        self.mode = MONITORS[self.monitor]

    def improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, epoch: int, logs: dict) -> bool:
        value = float(logs[self.monitor])
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return True
        self.wait += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.wait >= self.patience
