"""error_rows and confused_pairs, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelqa.analysis import confused_pairs, error_rows
from modelqa.errors import DataError, UsageError


def _predictions():
    return pd.DataFrame(
        {
            "id": ["r0", "r1", "r2", "r3", "r4", "r5"],
            "text": ["좋아요", "별로", "so-so", "great", "bad", "meh"],
            "true_label": ["pos", "neg", "neu", "pos", "neg", "neu"],
            "predicted_label": ["pos", "pos", "neg", "neg", "neg", "pos"],
            "confidence": [0.9, 0.6, 0.8, 0.6, 0.7, 0.95],
            "correct": [True, False, False, False, True, False],
            "prob_pos": [0.9, 0.6, 0.1, 0.3, 0.2, 0.95],
        }
    )


def test_error_rows_most_confident_first_stable_all_columns():
    frame = _predictions()
    errors = error_rows(frame)
    assert errors["id"].tolist() == ["r5", "r2", "r1", "r3"]  # r1 before r3: tie kept in input order
    assert list(errors.columns) == list(frame.columns)
    assert errors.index.tolist() == [5, 2, 1, 3]
    assert not errors["correct"].any()


def test_error_rows_none_wrong_and_missing_column():
    frame = _predictions()
    frame["correct"] = True
    assert error_rows(frame).empty
    with pytest.raises(DataError, match="'correct'"):
        error_rows(frame.drop(columns="correct"))


def test_error_rows_without_confidence_keep_input_order():
    frame = _predictions().drop(columns="confidence")
    errors = error_rows(frame)
    assert errors.index.tolist() == [1, 2, 3, 5]
    assert not errors["correct"].any()


def test_confused_pairs_hand_computed():
    labels = ["a", "b", "c"]
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 0, 1, 1, 1, 2])
    pairs = confused_pairs(y_true, y_pred, labels)
    assert list(pairs.columns) == ["true_label", "predicted_label", "count", "share_of_true"]
    # counts 2 (a->b), 2 (b->a), 2 (c->b), 1 (a->c): ties in label order of the true label
    assert list(zip(pairs["true_label"], pairs["predicted_label"], pairs["count"], strict=True)) == [
        ("a", "b", 2), ("b", "a", 2), ("c", "b", 2), ("a", "c", 1)]
    assert pairs["share_of_true"].tolist() == pytest.approx([2 / 4, 2 / 3, 2 / 3, 1 / 4])
    assert confused_pairs(y_true, y_pred, labels, top=2)["true_label"].tolist() == ["a", "b"]


def test_confused_pairs_perfect_predictions_and_bad_top():
    pairs = confused_pairs(np.array([0, 1]), np.array([0, 1]), ["x", "y"])
    assert pairs.empty and list(pairs.columns) == ["true_label", "predicted_label", "count", "share_of_true"]
    with pytest.raises(UsageError, match="top"):
        confused_pairs(np.array([0, 1]), np.array([0, 1]), ["x", "y"], top=-1)
    with pytest.raises(DataError, match="outside"):
        confused_pairs(np.array([0, 2]), np.array([0, 1]), ["x", "y"])
