"""``modelqa.thresholds``: the binary threshold analysis of a finished run folder.

Reads RUN_DIR/predictions.csv (true labels and ``prob_<label>`` columns) and
RUN_DIR/metrics.json (task, labels, positive class), and writes RUN_DIR/thresholds.json
atomically. See docs/thresholds.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from modelqa import _atomic
from modelqa.api._runinfo import now_iso
from modelqa.errors import DataError, UsageError

THRESHOLDS_FILE = "thresholds.json"
MAX_POINTS = 1000


def thresholds(run_dir: str | Path, *, min_recall: float | None = None, cost: str | Mapping | None = None,
               pos_label: str | None = None, max_points: int = MAX_POINTS, write: bool = True) -> dict:
    """The thresholds document for a binary run with probabilities (written to
    RUN_DIR/thresholds.json unless ``write=False``). ``pos_label`` defaults to the run's
    positive class (metrics.json), else the second label."""
    from modelqa.adapters.predictions_file import PROB_PREFIX
    from modelqa.data.load import read_table
    from modelqa.metrics.thresholds import (
        DEFAULT_MIN_RECALL,
        check_min_recall,
        parse_costs,
        threshold_analysis,
    )

    run = Path(run_dir)
    if not run.is_dir():
        raise DataError(f"{run}: not a run folder (it does not exist or is not a folder)",
                        hint="give the --out folder of a `modelqa evaluate` run")
    min_recall = DEFAULT_MIN_RECALL if min_recall is None else check_min_recall(min_recall)
    costs = parse_costs(cost)
    meta = _read_metrics(run)
    task = meta.get("task")
    if task != "binary":
        what = f"a {task} run" + (f" with {len(meta.get('labels') or [])} classes" if task == "multiclass" else "")
        raise UsageError(f"{run}: thresholds apply to binary runs; this is {what}")
    labels = [str(x) for x in meta.get("labels") or []]
    pred_path = run / "predictions.csv"
    if not pred_path.is_file():
        raise DataError(f"{pred_path}: not found; the run folder has no predictions")
    df = read_table(pred_path)
    cols = [f"{PROB_PREFIX}{name}" for name in labels]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"{pred_path}: no probability columns ({', '.join(missing)}): the run was evaluated "
                        "from predicted labels only, and a threshold needs the positive class's probability",
                        hint="evaluate a model, or a predictions file with one prob_<label> column per class")
    if "true_label" not in df.columns:
        raise DataError(f"{pred_path}: no true_label column")
    positive = pos_label or meta.get("positive_label") or labels[1]
    if positive not in labels:
        raise UsageError(f"--pos-label {positive!r} is not one of the classes: {', '.join(labels)}")
    from modelqa.api._sources import numeric_column

    scores = numeric_column(df[f"{PROB_PREFIX}{positive}"], path=pred_path, column=f"{PROB_PREFIX}{positive}")
    truth = df["true_label"].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                                 else str(v).strip())
    unknown = sorted({str(v) for v in truth if v not in labels})
    if unknown:
        raise DataError(f"{pred_path}: true_label holds values that are not the run's labels: "
                        f"{', '.join(unknown[:5])}")
    is_pos = (truth == positive).to_numpy(dtype=bool)
    if is_pos.all() or not is_pos.any():
        raise DataError(f"{pred_path}: every row is {'' if is_pos.all() else 'not '}{positive!r}; a threshold "
                        "analysis needs rows of both classes")
    section = threshold_analysis(is_pos, scores, min_recall=min_recall, costs=costs, max_points=max_points)
    doc = {"schema_version": 1, "run_dir": str(run), "created": now_iso(), "positive_label": positive,
           "labels": labels, "run_threshold": meta.get("threshold"), **section}
    if write:
        _atomic.write_json(run / THRESHOLDS_FILE, doc)
    return doc


def _read_metrics(run: Path) -> dict:
    path = run / "metrics.json"
    if not path.is_file():
        raise DataError(f"{path}: not found; is {run} the --out folder of `modelqa evaluate`?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
