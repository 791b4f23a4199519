"""stratified_split: sizes, stratification, determinism, disjointness, small classes."""

from __future__ import annotations

import numpy as np
import pytest

from modelqa.data import stratified_split
from modelqa.errors import DataError, UsageError


def check_partition(parts, n):
    joined = np.concatenate(parts)
    assert len(joined) == n and np.array_equal(np.sort(joined), np.arange(n))
    for part in parts:
        assert np.array_equal(part, np.sort(part)) and part.dtype == np.int64


@pytest.mark.parametrize("fractions", [(0.8, 0.2), (0.6, 0.2, 0.2), (0.7, 0.15, 0.15)])
def test_sizes_and_stratification(fractions):
    rng = np.random.default_rng(0)
    labels = rng.choice(5, size=1003, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    parts = stratified_split(labels, fractions, seed=7)
    check_partition(parts, len(labels))
    totals = np.bincount(labels, minlength=5)
    for part, fraction in zip(parts, fractions, strict=True):
        assert abs(len(part) - fraction * len(labels)) <= 1
        per_class = np.bincount(labels[part], minlength=5)
        assert np.all(np.abs(per_class - fraction * totals) <= 1.5)


def test_deterministic_and_seed_dependent():
    labels = np.repeat(["긍정", "부정", "중립"], [40, 30, 20])
    a = stratified_split(labels, (0.8, 0.2), seed=1)
    b = stratified_split(labels, (0.8, 0.2), seed=1)
    c = stratified_split(labels, (0.8, 0.2), seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])
    assert len(set(a[0]) & set(a[1])) == 0


def test_small_classes_get_one_per_part_and_totals_hold():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 3 + [3] * 2)
    train, val = stratified_split(labels, (0.8, 0.2), seed=0)
    assert (len(train), len(val)) == (68, 17)
    assert np.all(np.bincount(labels[val], minlength=4) >= 1)
    assert np.all(np.bincount(labels[train], minlength=4) >= 1)


def test_single_example_class_is_an_error():
    labels = ["기쁨"] * 10 + ["슬픔"] * 10 + ["분노"]
    with pytest.raises(DataError) as err:
        stratified_split(labels, (0.8, 0.2), seed=0)
    text = str(err.value)
    assert "'분노' (1 example)" in text and "`val_data`" in text
    with pytest.raises(DataError, match=r"'anger' \(1 example\)"):
        stratified_split(np.array([0] * 10 + [1]), (0.8, 0.2), seed=0, class_names=["joy", "anger"])


def test_small_classes_first_mode():
    labels = np.array([0] * 30 + [1] * 30 + [2] * 2)
    parts = stratified_split(labels, (0.6, 0.2, 0.2), seed=0, small_classes="first")
    check_partition(parts, len(labels))
    assert [int(np.sum(labels[p] == 2)) for p in parts] == [1, 1, 0]


def test_all_unique_labels_fall_back_to_random_split():
    parts = stratified_split(np.arange(10), (0.8, 0.2), seed=0)
    check_partition(parts, 10)
    assert [len(p) for p in parts] == [8, 2]


def test_empty_part_and_bad_fractions():
    with pytest.raises(DataError, match="3 rows cannot be split .* part 2 would be empty"):
        stratified_split([0, 1, 0], (0.9, 0.1), seed=0)
    with pytest.raises(UsageError, match="add up to 1"):
        stratified_split([0, 1] * 5, (0.8, 0.3), seed=0)
    with pytest.raises(UsageError):
        stratified_split([0, 1] * 5, (1.0, 0.0), seed=0)
    with pytest.raises(DataError, match="labels are missing in rows 2"):
        stratified_split(np.array([0, None, 1, 0], dtype=object), (0.5, 0.5), seed=0)


def test_single_part():
    (only,) = stratified_split([0, 1, 1], (1.0,), seed=0)
    assert only.tolist() == [0, 1, 2]
