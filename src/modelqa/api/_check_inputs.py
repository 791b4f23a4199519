"""Read the inputs of ``modelqa check`` once into a ``CheckContext``: the two tables, the
roles of their columns, the labels, and the predictions (from ``--model`` or from the
prediction columns of ``--current``, which follow the predictions-file contract)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelqa._types import NullProgress, Progress
from modelqa.adapters.predictions_file import prob_columns, read_scores
from modelqa.analysis.checks.context import CheckContext, ModelHandle, Side
from modelqa.data.load import file_sha256, read_table
from modelqa.data.schema import infer_classes, normalize_label, require_columns
from modelqa.errors import DataError, UsageError

#: columns of a predictions file (or of predictions.csv) that are outputs, not features
OUTPUT_COLUMNS = ("predicted_label", "confidence", "correct", "true_label", "action")
#: rows used to decide each feature column's kind (data.tabular.infer_kind reads cells one by one)
KIND_SAMPLE_ROWS = 20_000


@dataclass(frozen=True)
class Table:
    name: str
    path: str | None
    sha256: str | None
    frame: pd.DataFrame


def read_input(data, *, name: str, encoding: str | None = None, sheet=None) -> Table:
    """A table from a path (any format ``read_table`` reads) or a DataFrame given by a caller."""
    if isinstance(data, pd.DataFrame):
        return Table(name=name, path=None, sha256=None, frame=data.reset_index(drop=True))
    if not isinstance(data, str | Path):
        raise UsageError(f"{name} must be a file path or a pandas DataFrame, not {type(data).__name__}")
    path = Path(data)
    frame = read_table(path, encoding=encoding, sheet=sheet)  # first: it names a missing or unreadable file
    return Table(name=name, path=str(path), sha256=file_sha256(path), frame=frame)


def _where(table: Table) -> str:
    return table.path or f"the {table.name} DataFrame"


def resolve_role(tables: Sequence[Table], given: str | None, default: str) -> str | None:
    """The column for a role: the one given, else ``default`` when a table has it, else None."""
    if given is not None:
        return given
    return default if any(default in t.frame.columns for t in tables) else None


def build_context(*, current: Table, reference: Table | None, label_col: str | None, text_col: str | None,
                  id_col: str | None, timestamp_col: str | None, window: str | None,
                  slice_cols: Sequence[str], model: str | Path | None, seed: int, cv: int, n_resamples: int,
                  batch_size: int = 64, device: str = "auto", progress: Progress | None = None,
                  predict_reference: bool = True) -> CheckContext:
    progress = progress or NullProgress()
    tables = [t for t in (reference, current) if t is not None]
    label_given = label_col is not None
    label_col = resolve_role(tables, label_col, "label")
    text_col = resolve_role(tables, text_col, "text")
    require_columns(current.frame, {"text": text_col, "id": id_col, "timestamp": timestamp_col},
                    path=_where(current))
    if reference is not None:
        require_columns(reference.frame, {"text": text_col}, path=_where(reference))
    if label_given and not any(label_col in t.frame.columns for t in tables):
        require_columns(current.frame, {"label": label_col}, path=_where(current))
    for col in slice_cols:
        require_columns(current.frame, {"slice": col}, path=_where(current))
    if (timestamp_col is None) != (window is None):
        raise UsageError("--timestamp-col and --window go together: give both or neither")
    handle = _load_model(model, device=device, batch_size=batch_size) if model is not None else None
    scores = read_scores(current.frame, path=_where(current)) if handle is None else None
    labels = handle.labels if handle is not None else (scores.labels if scores is not None else None)
    if labels is None and label_col is not None:
        values = [t.frame[label_col] for t in tables if label_col in t.frame]
        if "predicted_label" in current.frame:
            values.append(current.frame["predicted_label"])
        labels = infer_classes(pd.concat(values, ignore_index=True).dropna(), path=_where(current), column=label_col)
    sides = {}
    for table in tables:
        sides[table.name] = _side(table, label_col=label_col, text_col=text_col, labels=labels)
    cur = sides["current"]
    if handle is not None:
        progress.log(f"predicting {cur.n} rows of {_where(current)} with {model}")
        cur.probs = _predict(handle, cur, text_col)
        ref = sides.get("reference")
        if ref is not None and predict_reference:
            progress.log(f"predicting {ref.n} rows of {_where(reference)} with {model}")
            ref.probs = _predict(handle, ref, text_col)
    elif scores is not None:
        cur.probs = scores.probs
    elif "predicted_label" in current.frame and labels is not None:
        cur.pred = _encode(current.frame["predicted_label"], labels)
    for side in sides.values():
        if side.probs is not None and side.pred is None:
            side.pred = side.probs.argmax(axis=1)
    named = {c for c in (label_col, id_col, timestamp_col) if c is not None}
    outputs = set(OUTPUT_COLUMNS) | set(prob_columns(current.frame.columns))
    base = reference.frame if reference is not None else current.frame
    features = tuple(c for c in current.frame.columns if c not in named and c not in outputs
                     and (reference is None or c in base.columns))
    kinds = column_kinds(base, features, text_col=text_col, id_col=id_col, seed=seed)
    return CheckContext(current=cur, reference=sides.get("reference"), label_col=label_col, text_col=text_col,
                        id_col=id_col, timestamp_col=timestamp_col, window=window, slice_cols=tuple(slice_cols),
                        feature_cols=features, column_kinds=kinds, labels=labels, model=handle, seed=seed, cv=cv,
                        n_resamples=n_resamples)


def column_kinds(frame: pd.DataFrame, columns: Sequence[str], *, text_col: str | None, id_col: str | None,
                 seed: int = 0) -> dict[str, str]:
    """Each feature column's kind (``data.tabular.infer_kind``), decided on a seeded sample of
    at most ``KIND_SAMPLE_ROWS`` rows; numeric dtypes are numeric without reading cells."""
    from modelqa.data.tabular import infer_kind

    if len(frame) > KIND_SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(frame), KIND_SAMPLE_ROWS, replace=False))
        sample = frame.iloc[rows]
    else:
        sample = frame
    text_source = (frame.attrs.get("source") or {}).get("format") in (None, "csv", "tsv", "jsonl", "json")
    kinds = {}
    for col in columns:
        series = frame[col]
        if col == text_col:
            kinds[col] = "text"
        elif pd.api.types.is_bool_dtype(series.dtype):
            kinds[col] = "boolean" if series.nunique(dropna=True) > 1 else "constant"
        elif pd.api.types.is_numeric_dtype(series.dtype) and col != id_col:
            n_unique = series.nunique(dropna=True)
            kinds[col] = "empty" if n_unique == 0 else "constant" if n_unique == 1 else "numeric"
        else:
            kinds[col] = infer_kind(sample[col], name=str(col), text_source=text_source,
                                    forced_id=col == id_col).kind
    return kinds


def _side(table: Table, *, label_col: str | None, text_col: str | None, labels: list[str] | None) -> Side:
    frame = table.frame
    y = _encode(frame[label_col], labels) if label_col is not None and label_col in frame and labels else None
    texts = None
    if text_col is not None and text_col in frame:
        texts = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in frame[text_col]]
    return Side(name=table.name, path=table.path, frame=frame, y=y, texts=texts)


def _encode(values: pd.Series, labels: Sequence[str]) -> np.ndarray:
    """Class ids in ``labels`` order; -1 for a missing label or one outside ``labels``
    (the integrity checks report those)."""
    index = {normalize_label(name): i for i, name in enumerate(labels)}
    keys = [normalize_label(v) for v in values.tolist()]
    if keys and not any(k in index for k in keys if k is not None):
        ids = [int(k) if k is not None and k.lstrip("-").isdigit() else -1 for k in keys]
        if all(0 <= i < len(labels) for i in ids if i != -1) and any(i != -1 for i in ids):
            return np.asarray(ids, dtype=np.int64)
    return np.fromiter((index.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))


def _predict(handle: ModelHandle, side: Side, text_col: str | None) -> np.ndarray:
    if handle.tokenize is not None:
        if side.texts is None:
            raise DataError(f"{side.path or side.name}: a text model needs the text column "
                            f"({text_col or 'text'}); the table has {', '.join(map(str, side.frame.columns))}")
        return np.asarray(handle.predict_proba(side.texts), dtype=np.float64)
    return np.asarray(handle.predict_proba(side.frame), dtype=np.float64)


def _load_model(model: str | Path, *, device: str, batch_size: int) -> ModelHandle:
    """A ``ModelHandle`` for a Hugging Face text classifier or a modelqa tabular model."""
    from modelqa.adapters.tabular import is_tabular_model

    if is_tabular_model(model):
        from modelqa.adapters.tabular import load_tabular_model

        tab = load_tabular_model(model)
        if tab.task == "regression":
            raise UsageError(f"--model {model} is a regression model; modelqa check judges classifiers")
        return ModelHandle(labels=list(tab.labels), predict_proba=lambda frame: tab.predict(frame).probs,
                           path=str(model), info=dict(tab.meta))
    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.engine.embed import embed_texts
    from modelqa.engine.predict import predict_texts

    clf = load_hf_classifier(model, device=device)

    def predict_proba(texts):
        return predict_texts(clf.model, clf.tokenizer, list(texts), max_length=clf.max_length,
                             batch_size=batch_size, device=clf.device).probs

    def embed(texts):
        return embed_texts(clf.model, clf.tokenizer, list(texts), max_length=clf.max_length,
                           batch_size=batch_size, device=clf.device)

    def tokenize(texts):
        return clf.tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]

    return ModelHandle(labels=list(clf.labels), predict_proba=predict_proba, embed=embed, tokenize=tokenize,
                       max_length=clf.max_length, unk_id=clf.tokenizer.unk_token_id, path=str(model),
                       info=dict(clf.meta) or None)
