"""Our tabular MLP folders: ``model.safetensors`` + ``modelqa.json`` (``"kind": "tabular"``,
task, labels, architecture, preprocessing). No pickle: weights are safetensors, the rest JSON.

The network is defined here (``build_mlp``) so that training and loading build the same one.
torch is imported inside the functions that need it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelqa.data.tabular import Preprocessor
from modelqa.errors import ModelError

MODEL_FILE = "model.safetensors"
META_FILE = "modelqa.json"
KIND = "tabular"


def build_mlp(architecture: dict) -> Any:
    """``Linear → [BatchNorm1d] → ReLU → [Dropout]`` per hidden layer, then a linear output layer.

    ``architecture``: ``{"input_dim", "hidden": [..], "dropout", "batch_norm", "output_dim"}``.
    """
    import torch

    layers: list = []
    width = int(architecture["input_dim"])
    for h in architecture["hidden"]:
        layers.append(torch.nn.Linear(width, int(h)))
        if architecture.get("batch_norm"):
            layers.append(torch.nn.BatchNorm1d(int(h)))
        layers.append(torch.nn.ReLU())
        if float(architecture.get("dropout", 0.0)) > 0:
            layers.append(torch.nn.Dropout(float(architecture["dropout"])))
        width = int(h)
    layers.append(torch.nn.Linear(width, int(architecture["output_dim"])))
    return torch.nn.Sequential(*layers)


def forward_numpy(module: Any, x: np.ndarray, *, batch_size: int = 8192) -> np.ndarray:
    """Outputs (float64) of ``module`` in eval mode for a float32 matrix, batched, without gradients."""
    import torch

    module.eval()
    outs = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            outs.append(module(torch.from_numpy(np.ascontiguousarray(x[s:s + batch_size]))).double().numpy())
    if not outs:
        return np.zeros((0, module[-1].out_features), dtype=np.float64)
    return np.concatenate(outs)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def read_meta(folder: str | Path) -> dict | None:
    path = Path(folder) / META_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_tabular_model(folder: str | Path) -> bool:
    """True when ``folder`` holds a modelqa.json with ``"kind": "tabular"``."""
    meta = read_meta(folder) if Path(folder).is_dir() else None
    return bool(meta) and meta.get("kind") == KIND


@dataclass
class TabularPredictions:
    """``probs`` (n, k) for classification or ``values`` (n,) for regression; the other is None.
    ``unseen_categories``: per column, how many cells held a category not seen in training."""

    probs: np.ndarray | None
    values: np.ndarray | None
    unseen_categories: dict[str, int] = field(default_factory=dict)
    report: dict = field(default_factory=dict)

    @property
    def y_pred(self) -> np.ndarray | None:
        return None if self.probs is None else self.probs.argmax(axis=1)


@dataclass
class TabularModel:
    path: Path | None
    task: str
    labels: list[str] | None
    preprocessor: Preprocessor
    module: Any
    meta: dict = field(default_factory=dict)

    @property
    def feature_columns(self) -> list[str]:
        return self.preprocessor.feature_columns

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.labels or [])}

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (classification) or target values (regression) for a preprocessed matrix."""
        out = forward_numpy(self.module, x)
        if self.task == "regression":
            return self.preprocessor.target.decode(out[:, 0])
        return softmax(out)

    def predict(self, df, *, path: str | Path | None = None) -> TabularPredictions:
        """Predict every row of a DataFrame (extra columns are ignored; a missing training
        column is a DataError naming every one)."""
        where = path or (df.attrs.get("source") or {}).get("path", "data")
        x, report = self.preprocessor.transform(df, path=where)
        out = self.predict_matrix(x)
        if self.task == "regression":
            return TabularPredictions(probs=None, values=out, unseen_categories=dict(report.unseen_categories),
                                      report=report.to_dict())
        return TabularPredictions(probs=out, values=None, unseen_categories=dict(report.unseen_categories),
                                  report=report.to_dict())


def load_tabular_model(folder: str | Path) -> TabularModel:
    """Load a folder written by ``modelqa train tabular`` (safetensors only, never pickle)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"model folder {folder} does not exist" if not folder.exists()
                         else f"`model` {folder} is a file, not a model folder")
    meta = read_meta(folder)
    if meta is None or meta.get("kind") != KIND:
        raise ModelError(f"{folder} is not a tabular model folder (no {META_FILE} with \"kind\": \"tabular\")")
    weights = folder / MODEL_FILE
    if not weights.is_file():
        raise ModelError(f"{folder}: {MODEL_FILE} is missing")
    try:
        pre = Preprocessor.from_dict(meta["preprocessing"])
        module = build_mlp(meta["architecture"])
        state = load_file(str(weights))
        module.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ModelError(f"{folder}: cannot load the tabular model: {exc}") from None
    module.eval()
    return TabularModel(path=folder, task=meta["task"], labels=meta.get("labels"), preprocessor=pre,
                        module=module, meta=meta)
