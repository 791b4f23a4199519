"""``modelqa.predict``: label names and confidence for unlabelled texts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from modelqa._types import NullProgress, Progress
from modelqa.api._frames import predictions_frame
from modelqa.api._inputs import load_text_table
from modelqa.api._run import run_classifier

OUTPUT_SUFFIXES = (".csv", ".parquet", ".xlsx")


def predict(*, model: str | Path, data: str | Path, text_col: str = "text", id_col: str | None = None,
            labels: list[str] | None = None, label_map: str | dict | None = None, on_empty: str = "error",
            encoding: str | None = None, sheet: str | int | None = None, batch_size: int = 64,
            max_length: int | None = None, device: str = "auto", allow_pickle: bool = False,
            out: str | Path | None = None, progress: Progress | None = None) -> pd.DataFrame:
    """Predict every row of ``data``; with ``out`` (.csv, .parquet or .xlsx) the table is also
    written there. Columns: the id column, ``text``, ``predicted_label``, ``confidence``,
    ``prob_<label>`` per class. ``DataFrame.attrs`` carries ``n_truncated`` and ``skipped_rows``."""
    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.errors import UsageError

    if out is not None and Path(out).suffix.lower() not in OUTPUT_SUFFIXES:
        raise UsageError(f"--out {out}: the predictions file must end in {', '.join(OUTPUT_SUFFIXES)}")
    progress = progress or NullProgress()
    table = load_text_table(data, text_col=text_col, id_col=id_col, encoding=encoding, sheet=sheet,
                            on_empty=on_empty)
    clf = load_hf_classifier(model, device=device, labels=labels, label_map=label_map, allow_pickle=allow_pickle)
    res = run_classifier(clf, table.texts, max_length=max_length, batch_size=batch_size, progress=progress)
    frame = predictions_frame(labels=clf.labels, y_pred=res.probs.argmax(axis=1), probs=res.probs,
                              texts=table.texts, ids=table.ids)
    frame.attrs.update({"n_truncated": res.n_truncated, "skipped_rows": table.skipped_rows,
                        "max_length": res.max_length, "seconds": res.seconds})
    if out is not None:
        from modelqa.report.tables import write_table

        write_table(frame, Path(out))
    return frame
