"""prediction_distribution and its over/under-predicted rule, hand-computed."""

from __future__ import annotations

import numpy as np
import pytest

from modelqa.analysis import distribution_flag, prediction_distribution
from modelqa.errors import UsageError


def test_prediction_distribution_hand_computed():
    labels = ["big", "small", "never", "ghost"]
    # true: big 20, small 4, never 0, ghost 1; predicted: big 12, small 6, never 7, ghost 0
    y_true = np.array([0] * 20 + [1] * 4 + [3])
    y_pred = np.array([0] * 12 + [2] * 7 + [1] + [1] * 4 + [1])
    table = prediction_distribution(y_true, y_pred, labels)
    assert list(table.columns) == ["label", "true_count", "predicted_count", "difference", "ratio", "flag"]
    assert table["label"].tolist() == labels
    assert table["true_count"].tolist() == [20, 4, 0, 1]
    assert table["predicted_count"].tolist() == [12, 6, 7, 0]
    assert table["difference"].tolist() == [-8, 2, 7, -1]
    assert table["ratio"].tolist() == [pytest.approx(0.6), pytest.approx(1.5), None, 0.0]
    # big: |−8| >= max(3, 5) -> under; small: 2 < 3 -> no flag; never: 7 >= 3 -> over; ghost: 1 < 3
    assert table["flag"].tolist() == ["under-predicted", "", "over-predicted", ""]


@pytest.mark.parametrize(
    ("true", "pred", "flag"),
    [
        (100, 125, "over-predicted"),  # 25 >= max(3, 25)
        (100, 124, ""),
        (100, 75, "under-predicted"),
        (4, 7, "over-predicted"),  # 3 >= max(3, 1)
        (4, 6, ""),
        (0, 3, "over-predicted"),
        (0, 2, ""),
        (10, 10, ""),
    ],
)
def test_flag_rule(true, pred, flag):
    assert distribution_flag(true, pred) == flag


def test_custom_thresholds_and_validation():
    table = prediction_distribution(np.array([0, 0, 1]), np.array([0, 1, 1]), ["a", "b"], min_difference=1)
    assert table["flag"].tolist() == ["under-predicted", "over-predicted"]
    with pytest.raises(UsageError):
        prediction_distribution(np.array([0]), np.array([0]), ["a", "b"], min_difference=0)
