"""Training options for text classifiers, with the defaults documented in docs/training.md."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class TextTrainConfig:
    epochs: int = 3
    lr: float = 1e-4
    batch_size: int = 16
    max_length: int | str = "auto"
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    monitor: str = "val_loss"
    patience: int = 2
    min_delta: float = 0.0
    class_weight: str | None = None
    seed: int = 42
    device: str = "auto"
    resume: bool = False  # continue from <out>/.checkpoint (see docs/training.md, "Resume")
    freeze_embeddings: bool | None = None  # word embeddings not trained; None: the base's default (docs/korean.md)

    # fields that may differ between an interrupted run and its --resume
    NOT_FINGERPRINTED = ("device", "resume")

    def to_dict(self) -> dict:
        return asdict(self)

    def fingerprint(self) -> dict:
        """The options that shape the training history (all but device and resume)."""
        return {k: v for k, v in asdict(self).items() if k not in self.NOT_FINGERPRINTED}
