"""The streamed reader of a large predictions file: one pass in chunks into mergeable metric
states (metrics.streaming.ClassificationState), the most confident errors and a uniform row
sample. It returns an ``EvalInputs`` (api._sources) whose ``streamed`` part the one assembler
(api.evaluate.assemble) turns into the ``Evaluation``, as it does the in-memory inputs.

Memory: ``memory_budget`` bounds the process. Exact ROC AUC / average precision keep every score
(float64, the user's values) in one preallocated array, and sorting one class at a time needs a
workspace of a few arrays of n; that cost (``exact_score_bytes``) plus the chunk working set and
the interpreter's own share (``PROCESS_BASE_BYTES``) must fit in the budget, else the AUCs are
binned (a stated error bound). run.json records the measured peak RSS next to the budget.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from modelqa.api._sources import EvalInputs, Streamed, pos_label_id
from modelqa.errors import DataError, UsageError

#: Default --memory-budget: above it a predictions file is streamed, and exact AUC / AP keep all scores only
#: while their real cost (see exact_score_bytes) fits in it.
DEFAULT_MEMORY_BUDGET = 1 << 30
#: The in-memory path holds about this many copies of the decoded table (frame, float64 probs, output frames).
IN_MEMORY_COPIES = 4
#: Rows read per chunk when streaming.
STREAM_CHUNK_ROWS = 100_000
#: errors.csv of a streamed run: the most confident errors.
STREAM_MAX_ERRORS = 10_000
#: predictions.csv of a streamed run: a uniform random sample of rows (seeded).
STREAM_SAMPLE_ROWS = 20_000
STREAM_FORMATS = {".parquet": None, ".csv": ",", ".tsv": "\t"}
#: What the interpreter, numpy, pandas and pyarrow hold before any data (measured: bench/metrics.py).
PROCESS_BASE_BYTES = 300 << 20
#: Sorting one class's n scores: argsort indices, sorted scores and labels, cumulative sums (8-byte arrays).
SORT_WORKSPACE_ARRAYS = 6
#: Decoded copies of one chunk alive at once (arrow batch, frame, float64 scores, the kept rows).
CHUNK_COPIES = 6
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30,
          "t": 1 << 40, "tb": 1 << 40}


def parse_memory_budget(value) -> int:
    """Bytes from an int or a string such as ``1GB``, ``512MB``, ``2g`` (binary units)."""
    if value is None:
        return DEFAULT_MEMORY_BUDGET
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        budget = int(value)
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value))
        if not m or m.group(2).lower() not in _UNITS:
            raise UsageError(f"--memory-budget must be a size such as 1GB or 512MB, not {value!r}")
        budget = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if budget <= 0:
        raise UsageError(f"--memory-budget must be positive, got {value!r}")
    return budget


def estimated_table_bytes(path) -> int | None:
    """Bytes the in-memory path would need for this predictions file (None: not a streamable format)."""
    if not isinstance(path, str | Path):
        return None  # a DataFrame is in memory already
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in STREAM_FORMATS or not path.is_file():
        return None
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        return int(meta.num_rows) * int(meta.num_columns) * 8 * IN_MEMORY_COPIES
    return path.stat().st_size * IN_MEMORY_COPIES  # a CSV number takes about as many bytes as a float64


def should_stream(path, *, memory_budget=None, stream: bool | None = None) -> bool:
    """Whether ``evaluate --predictions path`` streams: forced by ``stream``, else when the in-memory path's
    estimate exceeds the memory budget."""
    if stream is not None:
        return bool(stream)
    size = estimated_table_bytes(path)
    return size is not None and size > parse_memory_budget(memory_budget)


def exact_score_bytes(n_rows: int, n_classes: int) -> int:
    """What keeping every score for exact AUC / AP really costs: the float64 (n, K) store, the true
    ids, and the sort workspace of one class."""
    return 8 * n_rows * n_classes + 8 * n_rows + SORT_WORKSPACE_ARRAYS * 8 * n_rows


def working_set_bytes(n_classes: int, chunk_rows: int, sample_rows: int, max_errors: int) -> int:
    """The rest of a streamed pass: the interpreter, the live chunk copies, the row sample and errors."""
    return (PROCESS_BASE_BYTES + CHUNK_COPIES * 8 * chunk_rows * (n_classes + 4)
            + 2 * 8 * (sample_rows + max_errors) * (n_classes + 6))


def keeps_exact_scores(n_rows: int | None, n_classes: int, budget: int, *, chunk_rows: int = STREAM_CHUNK_ROWS,
                       sample_rows: int = STREAM_SAMPLE_ROWS, max_errors: int = STREAM_MAX_ERRORS) -> bool:
    """Whether exact AUC / AP fit in ``budget`` (the row count must be known up front: Parquet)."""
    if n_rows is None:
        return False
    return exact_score_bytes(n_rows, n_classes) + working_set_bytes(n_classes, chunk_rows, sample_rows,
                                                                    max_errors) <= budget


def peak_rss_bytes() -> int | None:
    """The process's peak resident set size so far (Linux / macOS), or None where unknown."""
    try:
        import resource
        import sys
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _header(path: Path, *, encoding: str | None) -> list[str]:
    """Column names of a Parquet / CSV / TSV file as written (pandas would rename a duplicate)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    import csv

    with open(path, encoding=encoding or "utf-8-sig", newline="") as fh:
        return next(csv.reader(fh, delimiter=STREAM_FORMATS[path.suffix.lower()]), [])


def _iter_chunks(path: Path, *, encoding: str | None, chunk_rows: int):
    """DataFrame chunks of a Parquet (row batches) or CSV / TSV (pandas chunksize, cells as strings) file."""
    from modelqa.data.load import check_unique_columns

    check_unique_columns(_header(path, encoding=encoding), source=str(path))
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # no pre-buffering of whole row groups and a small read buffer: memory follows chunk_rows
        pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        for batch in pf.iter_batches(batch_size=chunk_rows):
            df = batch.to_pandas()
            del batch
            yield df
            pa.default_memory_pool().release_unused()
        return
    import pandas as pd

    yield from pd.read_csv(path, sep=STREAM_FORMATS[suffix], dtype=str, keep_default_na=False, na_values=[""],
                           encoding=encoding or "utf-8-sig", chunksize=chunk_rows)


def _keep_top(kept: dict | None, new: dict, limit: int, *, largest: bool) -> dict:
    """Merge column dicts and keep the ``limit`` rows with the largest (or smallest) ``_key``."""
    if kept is not None:
        new = {c: np.concatenate([kept[c], new[c]]) for c in new}
    key = new["_key"]
    if key.size > limit:
        part = np.argpartition(-key if largest else key, limit - 1)[:limit]
        new = {c: v[part] for c, v in new.items()}
    return new


def stream_predictions_file(path, *, label_col, id_col, text_col, scores, normalize_probs, encoding, pos_label,
                            n_resamples, seed, memory_budget, chunk_rows=None, max_errors=None,
                            sample_rows=None, progress=None) -> EvalInputs:
    """One pass over the file in chunks: metric state, top errors, a uniform row sample."""
    from modelqa.adapters.predictions_file import read_scores
    from modelqa.api._sources import texts_of
    from modelqa.data.load import file_sha256
    from modelqa.data.schema import encode_labels, require_columns
    from modelqa.metrics.streaming import ClassificationState

    chunk_rows = chunk_rows or STREAM_CHUNK_ROWS
    max_errors = max_errors or STREAM_MAX_ERRORS
    sample_rows = sample_rows or STREAM_SAMPLE_ROWS
    path = Path(path)
    budget = parse_memory_budget(memory_budget)
    n_rows_meta = None
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        n_rows_meta = pq.ParquetFile(path).metadata.num_rows
    rng = np.random.default_rng(seed)
    state = names = errors = sample = None
    start = n_normalized = 0
    for df in _iter_chunks(path, encoding=encoding, chunk_rows=chunk_rows):
        n = len(df)
        if n == 0:
            continue
        require_columns(df, {"label": label_col, "id": id_col}, path=path)
        rows = np.arange(start + 1, start + n + 1)
        try:
            sc = read_scores(df, path=path, scores=scores, normalize_probs=normalize_probs)
        except DataError as exc:
            raise DataError(f"{exc} (row numbers counted from row {start + 1}, the first row of this chunk)",
                            hint=exc.hint) from None
        if sc is None:
            raise DataError(f"{path}: streaming needs one prob_<label> column per class; this file has none",
                            hint="a file of predicted labels only is small: raise --memory-budget to read it whole")
        if names is None:
            names = sc.labels
            keep = keeps_exact_scores(n_rows_meta, len(names), budget, chunk_rows=chunk_rows,
                                      sample_rows=sample_rows, max_errors=max_errors)
            state = ClassificationState(len(names), keep_scores=keep, capacity=n_rows_meta if keep else None)
        elif sc.labels != names:
            raise DataError(f"{path}: the prob_ columns change between chunks")
        y = encode_labels(df[label_col], label2id={c: i for i, c in enumerate(names)}, path=path,
                          column=label_col, rows=rows)
        probs = sc.probs
        n_normalized += sc.n_normalized
        state.update(y, probs)
        pred = probs.argmax(axis=1)
        conf = probs[np.arange(n), pred]
        extra = {}
        if id_col:
            extra[id_col] = df[id_col].to_numpy(dtype=object)
        texts = texts_of(df, text_col)
        if texts is not None:
            extra["text"] = np.array(texts, dtype=object)
        wrong = np.flatnonzero(pred != y)
        cols = {"_key": conf[wrong], "row": rows[wrong], "y": y[wrong], "pred": pred[wrong],
                "probs": probs[wrong], **{c: v[wrong] for c, v in extra.items()}}
        errors = _keep_top(errors, cols, max_errors, largest=True)
        cols = {"_key": rng.random(n), "row": rows, "y": y, "pred": pred, "probs": probs, **extra}
        sample = _keep_top(sample, cols, sample_rows, largest=False)
        start += n
        del df, sc, probs, cols
        if progress is not None:
            progress.log(f"streamed {start:,} rows" + (f" of {n_rows_meta:,}" if n_rows_meta else ""))
    if state is None:
        raise DataError(f"{path}: the file has no rows")
    pos = pos_label_id(pos_label, names)
    result = state.compute(names, pos_label=pos, n_resamples=n_resamples, seed=seed)
    if len(names) == 2:
        result["positive_label"] = names[1 if pos is None else pos]
    from modelqa.api._report_data import streamed_report_data

    curves = streamed_report_data(state, names, result)
    sample_frame = _frame_of(sample, names, id_col, np.argsort(sample["row"]))
    errors_frame = (_frame_of(errors, names, id_col, np.argsort(-errors["_key"], kind="stable")) if errors
                    else sample_frame.iloc[0:0])
    info = {
        "rows": start, "chunk_rows": chunk_rows, "memory_budget_bytes": budget,
        "exact_score_bytes": exact_score_bytes(start, len(names)),
        "auc_method": result.get("auc_method"),
        "predictions_csv": f"a uniform random sample of {len(sample_frame):,} of {start:,} rows (seeded; "
                           "column 'row' is the row number in the input file), not every row",
        "errors_csv": f"the {len(errors_frame):,} most confident errors (at most {max_errors:,})",
        "report": "metrics, ROC / PR / calibration curves and score histograms from every row (the states); "
                  "example tables from the sample",
    }
    streamed = Streamed(result=result, cm=state.cm, sample=sample_frame, errors=errors_frame, info=info,
                        curves=curves)
    return EvalInputs(task="classification", labels=tuple(names), streamed=streamed,
                      info={"model": None, "predictions_file": str(path), "data": str(path),
                            "data_sha256": file_sha256(path), "normalized_rows": n_normalized})


def _frame_of(part: dict, names: list[str], id_col: str | None, order: np.ndarray):
    from modelqa.api._frames import predictions_frame

    part = {c: v[order] for c, v in part.items()}
    frame = predictions_frame(labels=names, y_pred=part["pred"], probs=part["probs"], y_true=part["y"],
                              texts=part.get("text"), ids=(id_col, part[id_col]) if id_col else None)
    frame.insert(0, "row", part["row"].astype(np.int64))
    return frame
