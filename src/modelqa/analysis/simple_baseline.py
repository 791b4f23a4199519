"""A trained simple baseline beside a text model: character n-gram TF-IDF + logistic regression.

"Is the deep model worth it?" The baseline is fitted on the same training rows as the
fine-tuned model (seeded, seconds on a CPU), scored on the same test rows, and compared
with the model row by row:

* accuracy and macro F1 of the baseline with percentile-bootstrap intervals
  (``modelqa.metrics.bootstrap``, the same method and seed as the model's own intervals);
* McNemar's exact test on the rows one gets right and the other wrong, and a paired
  bootstrap of the macro-F1 (and accuracy) difference model − baseline
  (``modelqa.analysis.paired``);
* a verdict: ``better`` / ``worse`` when both the McNemar p and the macro-F1 interval say so
  at ``alpha``, otherwise ``no significant difference`` (docs/metrics.md, "Simple baseline").

``training_split`` rebuilds the training rows of ``modelqa train text`` from the model's
``modelqa.json`` (data file, its SHA-256, columns, split rule and seed) so that ``evaluate``
can fit the same baseline later; a fingerprint of the rows proves it is the same split.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from modelqa.analysis.paired import mcnemar_exact, paired_bootstrap
from modelqa.errors import DataError, UsageError
from modelqa.metrics.bootstrap import bootstrap_intervals
from modelqa.metrics.confusion import accuracy, confusion_matrix, macro_f1

NAME = "char n-gram TF-IDF + logistic regression"
#: significance level of the verdict
ALPHA = 0.05


@dataclass(frozen=True)
class SimpleBaselineConfig:
    """The baseline's settings (measured on the shared Korean chatbot and AG News sets, docs/metrics.md)."""

    analyzer: str = "char_wb"
    ngram_min: int = 1
    ngram_max: int = 4
    sublinear_tf: bool = True
    max_features: int | None = 300_000
    C: float = 10.0
    max_iter: int = 1000
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def rows_fingerprint(texts: Sequence[str], y) -> str:
    """SHA-256 of the texts and label ids in their order (which rows a split holds)."""
    h = hashlib.sha256()
    h.update(json.dumps([str(t) for t in texts], ensure_ascii=False).encode("utf-8"))
    h.update(json.dumps([int(v) for v in np.asarray(y).ravel()]).encode("utf-8"))
    return h.hexdigest()


def fit_predict(train_texts: Sequence[str], train_y, test_texts: Sequence[str], *,
                config: SimpleBaselineConfig | None = None) -> np.ndarray:
    """Fit the baseline on the training rows and return its predicted class ids for the test rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    config = config or SimpleBaselineConfig()
    y = np.asarray(train_y, dtype=np.int64)
    if len(train_texts) != y.size or y.size == 0:
        raise UsageError(f"the simple baseline needs as many training labels as texts (got {len(train_texts)} "
                         f"texts and {y.size} labels, at least one)")
    classes = np.unique(y)
    if classes.size == 1:  # logistic regression needs two classes: one class is always predicted
        return np.full(len(test_texts), int(classes[0]), dtype=np.int64)
    vectorizer = TfidfVectorizer(analyzer=config.analyzer, ngram_range=(config.ngram_min, config.ngram_max),
                                 sublinear_tf=config.sublinear_tf, max_features=config.max_features)
    x_train = vectorizer.fit_transform([str(t) for t in train_texts])
    clf = LogisticRegression(C=config.C, max_iter=config.max_iter, random_state=config.seed)
    clf.fit(x_train, y)
    return np.asarray(clf.predict(vectorizer.transform([str(t) for t in test_texts])), dtype=np.int64)


def _verdict(mcnemar, f1_delta, alpha: float) -> str:
    """``better`` / ``worse`` (the model vs the baseline) when McNemar and the macro-F1 interval agree."""
    lo_hi = f1_delta.interval
    if mcnemar.p_value < alpha and lo_hi is not None:
        if mcnemar.c > mcnemar.b and lo_hi[0] > 0:
            return "better"
        if mcnemar.b > mcnemar.c and lo_hi[1] < 0:
            return "worse"
    return "no significant difference"


def compare(*, y_true, model_pred, baseline_pred, n_classes: int, n_resamples: int = 1000, seed: int = 0,
            confidence_level: float = 0.95, alpha: float = ALPHA) -> dict:
    """The baseline's metrics with intervals and the paired comparison with the model (JSON-safe).

    All arrays are class ids ``0..n_classes-1`` of the same test rows. Differences are
    model − baseline: positive means the model is better."""
    y = np.asarray(y_true, dtype=np.int64)
    m = np.asarray(model_pred, dtype=np.int64)
    b = np.asarray(baseline_pred, dtype=np.int64)
    if not (y.shape == m.shape == b.shape) or y.ndim != 1 or y.size == 0:
        raise UsageError(f"y_true, model_pred and baseline_pred must be non-empty and of one length, got "
                         f"{y.shape}, {m.shape} and {b.shape}")
    cm = confusion_matrix(y, b, n_classes)
    ids = list(range(n_classes))
    # A = the baseline, B = the model: deltas B - A are model - baseline
    mc = mcnemar_exact(b == y, m == y)
    common = {"n_resamples": n_resamples, "seed": seed, "confidence_level": confidence_level, "labels": ids}
    f1_delta = paired_bootstrap(y, b, m, metric="f1_macro", **common)
    acc_delta = paired_bootstrap(y, b, m, metric="accuracy", **common)
    verdict = _verdict(mc, f1_delta, alpha)
    mcnemar = {**mc.to_dict(),
               "meaning": "b: rows the baseline gets right and the model wrong; c: the model right, the baseline wrong"}
    return {
        "n_samples": int(y.size),
        "metrics": {"accuracy": float(accuracy(cm)), "f1_macro": float(macro_f1(cm))},
        "confidence_intervals": bootstrap_intervals(cm, n_resamples=n_resamples, confidence_level=confidence_level,
                                                    seed=seed),
        "comparison": {
            "difference": "model - baseline", "alpha": alpha, "seed": seed, "mcnemar": mcnemar,
            "f1_macro_difference": _delta_dict(f1_delta), "accuracy_difference": _delta_dict(acc_delta),
            "verdict": verdict, "summary": summary_sentence(verdict, mc, f1_delta, alpha),
        },
    }


def _delta_dict(delta) -> dict:
    """A PairedDelta with its sides named: ``baseline`` (A), ``model`` (B), ``delta`` = model - baseline."""
    out = delta.to_dict()
    out["baseline"], out["model"] = out.pop("a"), out.pop("b")
    return out


def summary_sentence(verdict: str, mc, f1_delta, alpha: float) -> str:
    delta = f1_delta.delta
    interval = f1_delta.interval
    shown = "n/a" if delta is None else f"{delta:+.3f}"
    if interval is not None:
        shown += f" [{interval[0]:+.3f}, {interval[1]:+.3f}]"
    detail = f"macro-F1 difference {shown}, McNemar p = {mc.p_value:.3g} ({mc.c} rows only the model gets right, " \
             f"{mc.b} only the baseline)"
    if verdict == "better":
        return f"the fine-tuned model is significantly better than the simple baseline ({detail})"
    if verdict == "worse":
        return f"the simple baseline is significantly better than the fine-tuned model ({detail})"
    return f"no significant difference between the fine-tuned model and the simple baseline at {alpha:g} ({detail})"


def simple_baseline_section(*, train_texts: Sequence[str], train_y, test_texts: Sequence[str], y_true, model_pred,
                            n_classes: int, config: SimpleBaselineConfig | None = None, n_resamples: int = 1000,
                            seed: int = 0, source: Mapping | None = None) -> dict:
    """Fit, predict and compare: the ``baselines.simple`` block of metrics.json."""
    config = config or SimpleBaselineConfig()
    t0 = time.perf_counter()
    pred = fit_predict(train_texts, train_y, test_texts, config=config)
    seconds = time.perf_counter() - t0
    section = compare(y_true=y_true, model_pred=model_pred, baseline_pred=pred, n_classes=n_classes,
                      n_resamples=n_resamples, seed=seed)
    return {"status": "done", "name": NAME, "config": config.to_dict(), "fit_seed": config.seed,
            "bootstrap_seed": seed, "train_rows": len(train_texts), "training": dict(source or {}),
            **section, "fit_predict_seconds": round(seconds, 3)}


def skipped(reason: str) -> dict:
    """The ``baselines.simple`` block when the baseline cannot be fitted (the reason says why)."""
    return {"status": "skipped", "name": NAME, "reason": reason}


# -- the training rows of a ``modelqa train text`` model, from its modelqa.json ---------------------------------------

def training_split(meta: Mapping, *, model_dir: str | Path | None = None) -> tuple[list[str], np.ndarray, dict]:
    """``(texts, label ids, source)`` of the training split recorded in ``meta`` (modelqa.json).

    DataError when the training file is not found, changed since training (SHA-256), or gives
    other rows than training used (the rows fingerprint, when recorded)."""
    from modelqa.data.clean import drop_unusable
    from modelqa.data.load import file_sha256, read_table
    from modelqa.data.schema import encode_labels, require_columns
    from modelqa.data.split import stratified_split

    where = f"{Path(model_dir) / 'modelqa.json'}" if model_dir is not None else "modelqa.json"
    files = meta.get("data_files") or {}
    split = meta.get("split") or {}
    labels = meta.get("labels")
    if not files.get("data") or not labels or "seed" not in split or not meta.get("text_col"):
        raise DataError(f"{where} does not name the training data, labels and split seed (not a model of "
                        "modelqa train text)")
    path = Path(files["data"])
    if not path.is_file():
        raise DataError(f"the training data {path} named in {where} is not found (relative paths are read from "
                        "the current folder)", hint="run from the folder you trained in, or pass "
                                                    "`simple_baseline=False`")
    recorded = (meta.get("data_sha256") or {}).get("data")
    if recorded and file_sha256(path) != recorded:
        raise DataError(f"the training data {path} changed since the model was trained (SHA-256 differs from "
                        f"{where})")
    text_col, label_col = meta["text_col"], meta.get("label_col", "label")
    options = meta.get("read_options") or {}
    df = read_table(path, encoding=options.get("encoding"), sheet=options.get("sheet"))
    require_columns(df, {"text": text_col, "label": label_col}, path=path)
    df = drop_unusable(df, text_col, label_col).df
    label2id = {str(c): i for i, c in enumerate(labels)}
    y_all = encode_labels(df[label_col], label2id=label2id, path=path, column=label_col)
    seed = int(split["seed"])
    if not files.get("test_data"):
        rows = stratified_split(y_all, (0.6, 0.2, 0.2), seed=seed)[0]
    elif not files.get("val_data"):
        rows = stratified_split(y_all, (0.8, 0.2), seed=seed)[0]
    else:
        rows = np.arange(len(df))
    texts = [str(t) for t in df[text_col].iloc[rows]]
    y = y_all[rows]
    if split.get("train_sha256") and rows_fingerprint(texts, y) != split["train_sha256"]:
        raise DataError(f"the training rows rebuilt from {path} differ from those recorded in {where}")
    if split.get("train") is not None and int(split["train"]) != len(texts):
        raise DataError(f"{len(texts)} training rows rebuilt from {path}, but {where} records {split['train']}")
    return texts, y, {"data": str(path), "rule": split.get("rule"), "split_seed": seed, "rows": len(texts)}
