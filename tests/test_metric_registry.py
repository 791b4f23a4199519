"""The one metric registry covers every key metrics.json holds, with the right kind, and the
report and console read their names and directions from it."""

from __future__ import annotations

import numpy as np

from modelqa.metrics.classification import classification_metrics
from modelqa.metrics.registry import REGISTRY, names_of
from modelqa.metrics.regression import regression_metrics
from modelqa.metrics.streaming import ClassificationState


def _data(k: int, n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    p = rng.dirichlet(np.ones(k), n)
    return y, p


def test_every_metric_key_is_registered_with_its_kind():
    for k in (2, 5):
        y, p = _data(k)
        labels = [f"c{i}" for i in range(k)]
        labels_only = classification_metrics(y, p.argmax(1), labels=labels, n_resamples=10)["metrics"]
        with_probs = classification_metrics(y, p.argmax(1), labels=labels, probs=p, n_resamples=10)["metrics"]
        assert {REGISTRY[key].kind for key in labels_only} == {"label"}
        assert {REGISTRY[key].kind for key in set(with_probs) - set(labels_only)} == {"probability"}
        binned = ClassificationState(k).update(y, p).compute(labels, n_resamples=10)["metrics"]
        assert {REGISTRY[key].kind for key in set(binned) - set(with_probs)} == {"info"}
    reg = regression_metrics(np.arange(10.0), np.arange(10.0) + 0.5, n_resamples=10)["metrics"]
    assert set(reg) == set(names_of("regression"))


def test_directions_follow_the_naming_rule():
    for name, info in REGISTRY.items():
        if name.endswith(("_error", "_loss", "_score")) and info.kind != "info":
            # *_error / *_loss lower is better; the Brier *score* is a loss too (DESIGN.md naming)
            assert info.direction == "lower" or name == "explained_variance", name
        assert info.direction in ("higher", "lower", "zero", "none") and info.display


def test_report_and_console_read_the_registry():
    from modelqa.report import formatting as fmt
    from modelqa.report.html import REGRESSION_NAMES, _all_metrics

    y, p = _data(3)
    result = classification_metrics(y, p.argmax(1), labels=["a", "b", "c"], probs=p, n_resamples=10)
    for row in _all_metrics(result):
        assert row["name"] == REGISTRY[row["key"]].display
        assert row["direction"] == REGISTRY[row["key"]].direction_text
    assert fmt.LOWER_IS_BETTER == {n for n, i in REGISTRY.items() if i.direction == "lower"}
    assert REGRESSION_NAMES["r2"] == (REGISTRY["r2"].display, True)
    assert REGRESSION_NAMES["residual_mean"][1] is None
