"""Assemble the predictions table every command writes (a documented file contract)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def predictions_frame(*, labels: Sequence[str], y_pred: np.ndarray, probs: np.ndarray | None,
                      y_true: np.ndarray | None = None, texts: Sequence[str] | None = None,
                      ids: tuple[str, Sequence] | None = None) -> pd.DataFrame:
    """Columns: the id column under its own name, ``text``, ``true_label``, ``predicted_label``,
    ``confidence`` (max probability), ``correct``, and ``prob_<label>`` per class in model order.
    Columns that need what was not given (ids, text, true labels, probabilities) are left out."""
    names = np.asarray(list(labels), dtype=object)
    cols: dict[str, object] = {}
    if ids is not None:
        cols[ids[0]] = list(ids[1])
    if texts is not None:
        cols["text"] = list(texts)
    if y_true is not None:
        cols["true_label"] = names[y_true]
    cols["predicted_label"] = names[y_pred]
    if probs is not None:
        cols["confidence"] = probs.max(axis=1)
    if y_true is not None:
        cols["correct"] = np.asarray(y_true) == np.asarray(y_pred)
    if probs is not None:
        for j, name in enumerate(labels):
            cols[f"prob_{name}"] = probs[:, j]
    return pd.DataFrame(cols)


def regression_frame(*, y_pred: np.ndarray, y_true: np.ndarray | None = None,
                     texts: Sequence[str] | None = None,
                     ids: tuple[str, Sequence] | None = None) -> pd.DataFrame:
    """Columns: the id column under its own name, ``text``, ``target`` (the true value),
    ``prediction`` and ``residual`` (= target - prediction). Columns that need what was not
    given (ids, text, true values) are left out."""
    cols: dict[str, object] = {}
    if ids is not None:
        cols[ids[0]] = list(ids[1])
    if texts is not None:
        cols["text"] = list(texts)
    pred = np.asarray(y_pred, dtype=np.float64)
    if y_true is not None:
        cols["target"] = np.asarray(y_true, dtype=np.float64)
    cols["prediction"] = pred
    if y_true is not None:
        cols["residual"] = np.asarray(y_true, dtype=np.float64) - pred
    return pd.DataFrame(cols)


def with_actions(frame: pd.DataFrame, rules) -> tuple[pd.DataFrame, dict]:
    """The predictions frame with its ``action`` column (its ``attrs`` kept), and the ``actions``
    summary (counts per action; accuracy per action where the frame has ``correct``): the one
    place ``predict`` and ``evaluate`` apply business-action rules."""
    from modelqa.analysis.rules import action_summary, add_action_column

    confidence = frame["confidence"].to_numpy() if "confidence" in frame.columns else None
    acts = rules.apply(frame["predicted_label"].to_numpy(), confidence)
    correct = frame["correct"].to_numpy() if "correct" in frame.columns else None
    attrs = dict(frame.attrs)
    out = add_action_column(frame, acts)
    out.attrs.update(attrs)
    return out, action_summary(acts, correct, rules)
