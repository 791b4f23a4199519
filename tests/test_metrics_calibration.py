"""Reliability bins and expected calibration error, hand-computed."""

from __future__ import annotations

import numpy as np
import pytest

from modelqa.errors import DataError, UsageError
from modelqa.metrics import expected_calibration_error, reliability_table


def test_hand_computed_ece_and_bin_edges():
    # confidences 0.9, 0.9, 0.6, 0.8; 0.6 and 0.8 sit exactly on edges 9/15 and 12/15
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    y = np.array([0, 1, 0, 1])
    table = reliability_table(y, probs)
    assert table.counts.tolist() == [0] * 8 + [1, 0, 0, 1, 0, 2, 0]  # edge value -> lower bin
    assert table.accuracy()[13] == 0.5 and table.mean_confidence()[13] == pytest.approx(0.9)
    assert table.accuracy()[0] is None
    expected = 2 / 4 * 0.4 + 1 / 4 * 0.4 + 1 / 4 * 0.2
    assert table.ece() == pytest.approx(expected)
    assert expected_calibration_error(y, probs) == pytest.approx(expected)


def test_confidence_one_and_zero_width_bins():
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    table = reliability_table(np.array([0, 1]), probs)
    assert table.counts[-1] == 2 and table.ece() == pytest.approx(0.5)
    d = table.to_dict()
    assert d["n_bins"] == 15 and len(d["bins"]) == 15
    assert d["bins"][-1] == {"lower": pytest.approx(14 / 15), "upper": 1.0, "count": 2,
                             "accuracy": 0.5, "mean_confidence": 1.0}
    assert d["bins"][0]["accuracy"] is None


def test_perfectly_calibrated_bins_give_zero():
    probs = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(np.array([0, 0, 0, 1]), probs) == pytest.approx(0.0)


def test_validation():
    with pytest.raises(DataError, match="NaN"):
        reliability_table([0], np.array([[np.nan, 1.0]]))
    with pytest.raises(DataError, match="outside"):
        reliability_table([2], np.array([[0.5, 0.5]]))
    with pytest.raises(UsageError, match="n_bins"):
        reliability_table([0], np.array([[0.5, 0.5]]), n_bins=0)
