"""``modelqa compare RUN_A RUN_B``: two runs on the same rows, compared without judging.

``load_run`` reads the ``predictions.csv`` of an ``evaluate`` or ``check`` run folder (with
``metrics.json`` / ``run.json`` when they are there) into a ``RunData``; ``align_runs``
pairs two runs row for row or refuses, saying why; ``compare`` computes every delta
(B − A) with paired bootstrap intervals, McNemar's exact test, per-class deltas and the
flipped rows, and writes ``compare.json`` and ``tables/flips.csv`` when given ``out``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from modelqa import _atomic
from modelqa.analysis import paired
from modelqa.analysis.checks.regression import AlignedRuns, RunData, align, flip_example, flips
from modelqa.data.schema import as_text, infer_classes, normalize_label
from modelqa.errors import DataError, UsageError, format_rows

SCHEMA_VERSION = 1
COMPARE_FILE = "compare.json"
FLIPS_FILE = "tables/flips.csv"
MAX_FLIP_EXAMPLES = 20
#: predictions.csv columns that are not an id column (docs/file-formats.md)
KNOWN_COLUMNS = {"text", "true_label", "predicted_label", "confidence", "correct", "action", "row"}
#: probability metrics (ROC AUC, AP, ECE, ...) are resampled by row weights: at most this many
#: row x resample cells (resamples are capped at budget / n), and below MIN_RESAMPLES no interval
PROBABILITY_BUDGET = 10_000_000
MIN_RESAMPLES = 100
LOWER_IS_BETTER = ("log_loss", "brier_score", "ece")


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path} does not hold a JSON object")
    return doc


def _read_predictions(path: Path) -> pd.DataFrame:
    from modelqa.report.tables import read_csv_back

    try:
        return read_csv_back(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path} cannot be read as CSV ({exc})") from None


def _label_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = [normalize_label(v) for v in frame[column].tolist()]
    missing = [i + 1 for i, v in enumerate(values) if v is None]
    if missing:
        raise DataError(f"{path}: column {column!r} has no label in row{'s' if len(missing) > 1 else ''} "
                        f"{format_rows(missing)} ({len(missing)} of {len(values)} rows)")
    return np.asarray(values, dtype=object)


def _probs(frame: pd.DataFrame, labels: list[str], path: Path) -> np.ndarray | None:
    columns = [f"prob_{lab}" for lab in labels]
    if not all(c in frame.columns for c in columns):
        return None
    block = frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
    if bad.size:
        col = columns[int(np.flatnonzero(~np.isfinite(block[bad[0]]))[0])]
        raise DataError(f"{path}: column {col!r} is not a probability in row{'s' if bad.size > 1 else ''} "
                        f"{format_rows(bad + 1)} (row {bad[0] + 1} holds {frame[col].iloc[bad[0]]!r})")
    return block


def load_run(run_dir: str | Path) -> RunData:
    """The predictions of a run folder (``modelqa evaluate --out`` or ``modelqa check --out``)."""
    run = Path(run_dir)
    if not run.is_dir():
        raise DataError(f"{run}: no such run folder", hint="give the --out folder of modelqa evaluate or check")
    pred_path = run / "predictions.csv"
    if not pred_path.is_file():
        raise DataError(f"{run} has no predictions.csv, so it is not a modelqa evaluate / check run folder "
                        "with predictions", hint="give the --out folder of modelqa evaluate or check")
    metrics = _read_json(run / "metrics.json")
    info = _read_json(run / "run.json")
    if info.get("streaming"):
        raise DataError(f"{run}: this streamed run's predictions.csv holds a sample of the rows only, so its "
                        "rows cannot be paired with another run", hint="evaluate within --memory-budget")
    frame = _read_predictions(pred_path)
    if "predicted_label" not in frame.columns and {"target", "prediction"} <= set(frame.columns):
        raise DataError(f"{pred_path} is from a regression run; modelqa compare compares classifiers")
    for column in ("true_label", "predicted_label"):
        if column not in frame.columns:
            raise DataError(f"{pred_path} has no {column!r} column"
                            + (" (a run without true labels cannot be compared)" if column == "true_label" else ""),
                            hint="give the --out folder of modelqa evaluate or check, run with labels")
    if frame.empty:
        raise DataError(f"{pred_path} has no rows")
    y = _label_column(frame, "true_label", pred_path)
    pred = _label_column(frame, "predicted_label", pred_path)
    labels = [str(x) for x in metrics.get("labels") or []]
    if not labels:
        labels = [c[5:] for c in frame.columns if isinstance(c, str) and c.startswith("prob_")]
    if not labels:
        labels = infer_classes(np.concatenate([y, pred]), path=pred_path, column="true_label")
    unknown = sorted({v for v in pred.tolist() if v not in labels})
    if unknown:
        raise DataError(f"{pred_path}: predicted_label holds {unknown[:5]}, not among the run's labels {labels[:10]}")
    check = _read_json(run / "check.json")
    inputs = check.get("inputs") if isinstance(check.get("inputs"), dict) else {}
    named = info.get("id_column") or (inputs.get("columns") or {}).get("id")    # evaluate's run.json, check.json
    id_col = named if named in frame.columns else None
    if id_col is None and not (str(frame.columns[0]) in KNOWN_COLUMNS or str(frame.columns[0]).startswith("prob_")):
        id_col = str(frame.columns[0])
    ids = None if id_col is None else np.asarray([as_text(v) for v in frame[id_col].tolist()], dtype=object)
    texts = None
    if "text" in frame.columns:
        texts = [as_text(v) or "" for v in frame["text"].tolist()]
    keep = {k: info[k] for k in ("command", "created", "model", "data", "data_sha256") if k in info}
    if check and not info:                                   # a check run: its command, time and inputs
        keep.update({k: check[k] for k in ("command", "created") if k in check})
        keep.update({"model": inputs.get("model"), "data": (inputs.get("current") or {}).get("path")})
    if metrics.get("positive_label") in labels:
        keep["positive_label"] = metrics["positive_label"]
    return RunData(name=str(run), y_true=y, pred=pred, labels=labels, probs=_probs(frame, labels, pred_path),
                   texts=texts, id_col=id_col, ids=ids, info=keep)


def align_runs(a: RunData, b: RunData) -> AlignedRuns:
    """Run ``b``'s rows in run ``a``'s order; a DataError says why they are not the same rows
    (different row count, different ids, different texts or true labels at named rows)."""
    return align(a, b)


@dataclass
class Comparison:
    """``document``: the compare.json content; ``flips``: every flipped row (tables/flips.csv)."""

    document: dict
    flips: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        from modelqa.report.tables import write_table

        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out} is a file, not a folder")
        self.paths = {"compare": out / COMPARE_FILE, "flips": out / FLIPS_FILE}
        write_table(self.flips, self.paths["flips"])
        _atomic.write_json(self.paths["compare"], self.document)
        return self.paths


def _plain(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def _json_safe(obj):
    """Plain JSON types: numpy scalars to Python, NaN / inf to None, tuples to lists."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    return _plain(obj)


def _ids(run: RunData, labels: list[str]) -> np.ndarray:
    index = {lab: j for j, lab in enumerate(labels)}
    return np.array([index[v] for v in run.y_true.tolist()], dtype=np.int64)


def positive_label(aligned: AlignedRuns) -> str | None:
    """The positive class of a two-class comparison: run A's (metrics.json), else the second label."""
    if len(aligned.labels) != 2:
        return None
    pos = aligned.a.info.get("positive_label") or aligned.b.info.get("positive_label")
    return pos if pos in aligned.labels else aligned.labels[1]


def _probability_metrics(aligned: AlignedRuns, *, n_resamples: int, seed: int, level: float) -> dict:
    """Every probability metric of metrics.json with paired bootstrap intervals (row weights;
    resamples capped at ``PROBABILITY_BUDGET`` / n, or plain deltas below ``MIN_RESAMPLES``)."""
    from modelqa.analysis import paired_rows

    a, b = aligned.a, aligned.b
    if a.probs is None or b.probs is None or a.labels != b.labels or any(
            v not in a.labels for v in a.y_true.tolist()):
        return {}
    y = _ids(a, a.labels)
    pos = a.labels.index(positive_label(aligned)) if len(a.labels) == 2 else 1
    resamples = min(int(n_resamples), PROBABILITY_BUDGET // max(a.n, 1))
    out = {}
    if resamples >= MIN_RESAMPLES:
        deltas = paired_rows.paired_probability_deltas(y, a.probs, b.probs, pos=pos, n_resamples=resamples,
                                                       seed=seed, confidence_level=level)
        for m, d in deltas.items():
            out[m] = {**d.to_dict(), "method": "paired_bootstrap_rows", "lower_is_better": m in LOWER_IS_BETTER}
        return out
    ones = np.ones((1, a.n))
    obs = [paired_rows.probability_metrics(y, run.probs, ones, pos=pos) for run in (a, b)]
    for m in obs[0]:
        va, vb = _plain(float(obs[0][m][0])), _plain(float(obs[1][m][0]))
        out[m] = {"metric": m, "a": va, "b": vb, "delta": None if va is None or vb is None else vb - va,
                  "interval": None, "p_value": None, "n": a.n, "method": "delta_only",
                  "lower_is_better": m in LOWER_IS_BETTER,
                  "note": f"no interval: {a.n:,} rows exceed the bootstrap budget of {PROBABILITY_BUDGET:,} "
                          f"row resamples at {MIN_RESAMPLES} resamples"}
    return out


def compare_runs(aligned: AlignedRuns, *, n_resamples: int = 1000, seed: int = 0,
                 confidence_level: float = 0.95) -> Comparison:
    """The comparison of two aligned runs (B − A) as a ``Comparison``."""
    a, b = aligned.a, aligned.b
    pc = paired.paired_deltas(a.y_true, a.pred, b.pred, labels=aligned.labels, per_class=paired.PER_CLASS_METRICS,
                              n_resamples=n_resamples, seed=seed, confidence_level=confidence_level)
    metrics = {m: {**d.to_dict(), "method": "paired_bootstrap", "lower_is_better": False}
               for m, d in pc.metrics.items()}
    pos = positive_label(aligned)
    if pos is not None:                                # positive-class metrics of a two-class run
        for m in paired.PER_CLASS_METRICS:
            metrics[m] = {**pc.per_class[m][pos].to_dict(), "metric": m, "method": "paired_bootstrap",
                          "lower_is_better": False, "positive_label": pos}
    metrics.update(_probability_metrics(aligned, n_resamples=n_resamples, seed=seed, level=confidence_level))
    mc = paired.mcnemar_exact(a.correct, b.correct)
    flipped = flips(aligned)
    support = {lab: int((a.y_true == lab).sum()) for lab in aligned.labels}
    per_class = {lab: {"support": support[lab], **{m: pc.per_class[m][lab].to_dict() for m in pc.per_class}}
                 for lab in aligned.labels}
    rows = [(i, "right_to_wrong") for i in flipped["right_to_wrong"]] + \
           [(i, "wrong_to_right") for i in flipped["wrong_to_right"]]
    table = pd.DataFrame([{**flip_example(aligned, int(i)), "flip": kind} for i, kind in rows])
    if "text" in table.columns and a.texts is not None:    # the table keeps the whole text
        table["text"] = [a.texts[int(i)] for i, _ in rows]
    if table.empty:
        table = pd.DataFrame(columns=["row", "true_label", "a_label", "b_label", "flip"])
    document = {
        "schema_version": SCHEMA_VERSION,
        "run_a": {"path": a.name, "n": a.n, "labels": a.labels, **a.info},
        "run_b": {"path": b.name, "n": b.n, "labels": b.labels, **b.info},
        "n": a.n, "aligned_by": aligned.by, "labels": aligned.labels, "delta": "b - a",
        "n_resamples": int(n_resamples), "confidence_level": float(confidence_level), "seed": int(seed),
        "metrics": metrics,
        "per_class": per_class,
        "mcnemar": mc.to_dict(),
        "flips": {kind: {"count": int(idx.size),
                         "examples": [flip_example(aligned, int(i)) for i in idx[:MAX_FLIP_EXAMPLES]]}
                  for kind, idx in flipped.items()},
    }
    return Comparison(document=_json_safe(document), flips=table)


def compare(run_a: str | Path | RunData, run_b: str | Path | RunData, *, out: str | Path | None = None,
            n_resamples: int = 1000, seed: int = 0, confidence_level: float = 0.95) -> Comparison:
    """Compare run B with run A on the same rows (deltas are B − A); with ``out``, write
    ``compare.json`` and ``tables/flips.csv`` there (atomically)."""
    a = run_a if isinstance(run_a, RunData) else load_run(run_a)
    b = run_b if isinstance(run_b, RunData) else load_run(run_b)
    result = compare_runs(align_runs(a, b), n_resamples=n_resamples, seed=seed, confidence_level=confidence_level)
    if out is not None:
        result.save(out)
    return result
