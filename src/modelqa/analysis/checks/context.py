"""The shared inputs of one ``modelqa check`` run, read once and handed to every check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class ModelHandle:
    """What checks may ask of a model, without knowing its framework.

    ``predict_proba(texts) -> (n, K)`` probabilities in ``labels`` order; ``embed(texts) -> (n, d)``
    pooled embeddings (None when the model has none); ``tokenize(texts) -> list of token-id lists``
    (None for non-text models); ``max_length`` the model's token limit; ``unk_id`` the
    unknown-token id (None when the tokenizer has none); ``info`` the folder's
    ``modelqa.json`` when it has one.
    """

    labels: list[str]
    predict_proba: Callable[[Sequence[str]], np.ndarray]
    embed: Callable[[Sequence[str]], np.ndarray] | None = None
    tokenize: Callable[[Sequence[str]], list[list[int]]] | None = None
    max_length: int | None = None
    unk_id: int | None = None
    path: str | None = None
    info: dict | None = None        # the model folder's modelqa.json (names its training data)


@dataclass
class Side:
    """One input table (reference or current) and what was read from it.

    ``y`` are class ids in ``CheckContext.labels`` order (-1 for a label outside them, None
    without a label column); ``probs`` ``(n, K)`` and ``pred`` (class ids) come from the
    model or the file's prediction columns (None when there are none).
    """

    name: str                        # "reference" or "current"
    path: str | None
    frame: pd.DataFrame
    y: np.ndarray | None = None
    probs: np.ndarray | None = None
    pred: np.ndarray | None = None
    texts: list[str] | None = None

    @property
    def n(self) -> int:
        return len(self.frame)


@dataclass
class CheckContext:
    """Everything a check may read. Checks never modify it; ``cache`` memoises work that
    several checks share (embeddings, text properties), keyed by a name the check chooses."""

    current: Side
    reference: Side | None = None
    label_col: str | None = None
    text_col: str | None = None
    id_col: str | None = None
    timestamp_col: str | None = None
    window: str | None = None
    slice_cols: tuple[str, ...] = ()
    feature_cols: tuple[str, ...] = ()        # columns not named by a role (features, incl. text)
    column_kinds: dict[str, str] = field(default_factory=dict)  # feature column -> kind (data.tabular)
    labels: list[str] | None = None           # class names in model / file order
    model: ModelHandle | None = None
    baseline: Any = None                      # a loaded baseline run (regression checks)
    seed: int = 0
    cv: int = 5
    n_resamples: int = 1000
    cache: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def sides(self) -> list[Side]:
        return [s for s in (self.reference, self.current) if s is not None]
