"""``modelqa.perturb``: write a data file with one text column perturbed (docs/behaviour.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from modelqa.errors import UsageError

OUTPUT_SUFFIXES = (".csv", ".parquet", ".xlsx")


@dataclass(frozen=True)
class PerturbResult:
    frame: pd.DataFrame        # the table written: text column perturbed, <col>_original, perturbed
    perturbation: str
    amount: str                # "count 1" / "rate 0.5"
    seed: int
    rows: int                  # rows with a text
    changed: int               # rows whose text the perturbation changed
    applicable: int            # rows with a place the perturbation could edit
    edits: int                 # places edited over all rows
    out: Path | None


def perturb(*, data: str | Path, perturbation: str, text_col: str = "text", rate: float | None = None,
            count: int | None = None, seed: int = 0, out: str | Path | None = None, encoding: str | None = None,
            sheet: str | int | None = None) -> PerturbResult:
    """Apply ``perturbation`` (a name from ``modelqa.analysis.perturb``, with ``rate`` or ``count``)
    to column ``text_col`` of ``data`` with the seeded generator. The table keeps every column; the
    text column holds the perturbed text, ``<text_col>_original`` the original and ``perturbed``
    whether the row changed. Empty cells stay empty. With ``out`` (.csv, .parquet, .xlsx) the
    table is written atomically."""
    from modelqa.analysis import perturb as P
    from modelqa.data.load import read_table

    if out is not None and Path(out).suffix.lower() not in OUTPUT_SUFFIXES:
        raise UsageError(f"--out {out}: the perturbed file must end in {', '.join(OUTPUT_SUFFIXES)}")
    pert = P.get(perturbation, rate=rate, count=count, flag="--perturbation")
    frame = read_table(data, encoding=encoding, sheet=sheet)
    if text_col not in frame.columns:
        import difflib

        near = difflib.get_close_matches(text_col, [str(c) for c in frame.columns], n=1, cutoff=0.6)
        raise UsageError(f"{data}: no column {text_col!r} for --text-col" + (f"; did you mean {near[0]!r}?" if near else "")
                         + f" (columns: {', '.join(map(str, frame.columns))})")
    original_col = f"{text_col}_original"
    if original_col in frame.columns or "perturbed" in frame.columns:
        taken = original_col if original_col in frame.columns else "perturbed"
        raise UsageError(f"{data} already has a column {taken!r}, which the output adds; rename it first")
    values = frame[text_col]
    present = values.notna() & values.astype(str).str.strip().ne("")
    rows = [i for i, ok in enumerate(present.tolist()) if ok]
    batch = P.apply_all(pert, [str(values.iloc[i]) for i in rows], seed=seed)
    new_values = values.astype(object).copy()
    changed = pd.Series(False, index=frame.index)
    for j, i in enumerate(rows):
        new_values.iloc[i] = batch.texts[j]
        changed.iloc[i] = bool(batch.changed[j])
    position = frame.columns.get_loc(text_col)
    result = frame.copy()
    result[text_col] = new_values
    result.insert(position + 1, original_col, values)
    result.insert(position + 2, "perturbed", changed)
    if out is not None:
        from modelqa.report.tables import write_table

        write_table(result, Path(out))
    return PerturbResult(frame=result, perturbation=pert.name, amount=pert.amount, seed=seed, rows=len(rows),
                         changed=int(batch.changed.sum()), applicable=int(batch.applicable.sum()),
                         edits=batch.edited, out=None if out is None else Path(out))
