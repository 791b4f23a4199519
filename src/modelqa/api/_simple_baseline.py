"""The simple-baseline hook of ``evaluate`` (and so of ``train text``): one call after the
evaluation is computed adds ``baselines.simple`` to metrics.json (analysis/simple_baseline.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from modelqa import _atomic
from modelqa._types import NullProgress, Progress
from modelqa.errors import DataError

META_FILE = "modelqa.json"


def model_meta(model_dir) -> dict | None:
    """The model's modelqa.json, or None when it has none (or it is not JSON)."""
    if not model_dir:
        return None
    path = Path(model_dir) / META_FILE
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return meta if isinstance(meta, dict) else None


def attach_simple_baseline(evaluation, *, enabled: bool = True, n_resamples: int = 1000, seed: int = 0,
                           progress: Progress | None = None) -> dict | None:
    """Fit the simple baseline on the training split named by the model's modelqa.json and
    compare it with the model on the evaluated rows. Does nothing (returns None) when turned
    off, for predictions files, tabular and regression runs, and models whose modelqa.json
    names no training data; a training file that is gone or changed gives a ``skipped``
    block with the reason. Rewrites metrics.json when the run folder was written."""
    from modelqa.analysis.simple_baseline import (
        SimpleBaselineConfig,
        simple_baseline_section,
        skipped,
        training_split,
    )

    info = evaluation.run_info or {}
    if not enabled or evaluation.is_regression or info.get("model_kind") == "tabular":
        return None
    frame = evaluation.predictions
    if not {"text", "true_label", "predicted_label"} <= set(frame.columns):
        return None
    meta = model_meta(info.get("model"))
    if not meta or not (meta.get("data_files") or {}).get("data"):
        return None
    progress = progress or NullProgress()
    labels = evaluation.labels
    try:
        if [str(x) for x in meta.get("labels") or []] != labels:
            raise DataError(f"the classes in {Path(info['model']) / META_FILE} ({meta.get('labels')}) are not the "
                            f"evaluated classes ({labels})")
        train_texts, train_y, source = training_split(meta, model_dir=info.get("model"))
    except DataError as exc:
        section = skipped(str(exc))
    else:
        index = {name: i for i, name in enumerate(labels)}
        y_true = np.array([index[str(v)] for v in frame["true_label"]], dtype=np.int64)
        y_pred = np.array([index[str(v)] for v in frame["predicted_label"]], dtype=np.int64)
        fit_seed = int((meta.get("split") or {}).get("seed", 0))
        progress.log(f"simple baseline: fitting on {len(train_texts):,} training rows")
        section = simple_baseline_section(train_texts=train_texts, train_y=train_y,
                                          test_texts=[str(t) for t in frame["text"]], y_true=y_true,
                                          model_pred=y_pred, n_classes=len(labels),
                                          config=SimpleBaselineConfig(seed=fit_seed), n_resamples=n_resamples,
                                          seed=seed, source=source)
    evaluation.result.setdefault("baselines", {})["simple"] = section
    if section["status"] == "done":
        progress.log(f"simple baseline: {section['comparison']['summary']}")
    else:
        progress.log(f"simple baseline skipped: {section['reason']}")
    metrics_path = (evaluation.paths or {}).get("metrics")
    if metrics_path is not None:
        _atomic.write_json(metrics_path, evaluation.result)
    return section
