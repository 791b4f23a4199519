"""The three ways into ``evaluate`` (a model folder, a predictions file, a streamed predictions
file) pinned to the metrics.json values the code gave before the issue-9 refactor.

``tests/pinned/evaluate_metrics.json`` was written by ``_write_pins`` at commit 97e8588 (before
any change); a refactor that moves a number fails here. Part-B fixes that change a value on
purpose are listed in ``CHANGED_ON_PURPOSE`` with the reason.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import keyword_frame

from modelqa.api.evaluate import evaluate

PINS = Path(__file__).parent / "pinned" / "evaluate_metrics.json"
#: (kind, dotted key) -> why the value moved on purpose (issue 9, part B).
CHANGED_ON_PURPOSE = {
    "baselines.uniform_accuracy": "added: 1/K beside chance_accuracy",
}


def predictions_table(n: int = 400, k: int = 4, seed: int = 7) -> pd.DataFrame:
    """A 4-class predictions table with 12-decimal probabilities (rows sum to 1 within 1e-11)."""
    rng = np.random.default_rng(seed)
    names = ["ant", "bee", "cat", "dog"][:k]
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.2
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    p = np.round(p, 12)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "label": [names[i] for i in y]})
    for j, name in enumerate(names):
        frame[f"prob_{name}"] = p[:, j]
    return frame


def _inputs(kind: str, tmp_path: Path, tiny_model: Path) -> dict:
    if kind == "model":
        data = tmp_path / "data.csv"
        keyword_frame(20, seed=3).to_csv(data, index=False)
        return {"model": tiny_model, "data": data, "text_col": "sentence", "label_col": "emotion", "device": "cpu"}
    path = tmp_path / ("preds.csv" if kind == "predictions" else "preds.parquet")
    table = predictions_table()
    if kind == "predictions":
        table.to_csv(path, index=False, float_format="%.12f")
    else:
        table.to_parquet(path, index=False)
    return {"predictions": path, "id_col": "id", "stream": kind == "streamed"}


def _metrics_json(kind, tmp_path, tiny_model) -> dict:
    out = tmp_path / f"run-{kind}"
    evaluate(out=out, n_resamples=200, seed=0, **_inputs(kind, tmp_path, tiny_model))
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def _flat(doc, prefix=""):
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _flat(value, f"{prefix}{key}.")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _flat(value, f"{prefix}{i}.")
    else:
        yield prefix[:-1], doc


def _write_pins(tmp_path, tiny_model) -> None:  # run by hand before the refactor only
    PINS.write_text(json.dumps({k: _metrics_json(k, tmp_path, tiny_model) for k in KINDS}, indent=1,
                               sort_keys=True), encoding="utf-8")


KINDS = ("model", "predictions", "streamed")
#: float32 model outputs may move in the last bits between BLAS builds; files are exact.
TOLERANCE = {"model": 1e-5, "predictions": 1e-12, "streamed": 1e-12}


@pytest.mark.parametrize("kind", KINDS)
def test_metrics_json_equals_the_pinned_values(kind, tmp_path, tiny_model):
    pinned = dict(_flat(json.loads(PINS.read_text(encoding="utf-8"))[kind]))
    got = dict(_flat(_metrics_json(kind, tmp_path, tiny_model)))
    assert len(pinned) > 50
    for key, value in pinned.items():
        assert key in got, f"{kind}: {key} is gone"
        if isinstance(value, float) and isinstance(got[key], float):
            assert math.isclose(got[key], value, rel_tol=TOLERANCE[kind], abs_tol=TOLERANCE[kind]), \
                (kind, key, got[key], value)
        else:
            assert got[key] == value, (kind, key, got[key], value)
    added = set(got) - set(pinned)
    assert added <= set(CHANGED_ON_PURPOSE), f"{kind}: keys added without a reason: {sorted(added)}"
