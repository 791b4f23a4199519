"""Data integrity checks of each input (``--reference`` and ``--current``): docs/checks/integrity.md.

Every result here is an exact count (``p_value`` None): ``value`` is a share of rows or a
number of columns / labels, and the verdict fails as soon as it is above its threshold.
The "input" of a row is its text column when there is one (what a text model reads), else
every feature column. Row numbers count data rows from 1, as every modelqa message does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import MAX_EXAMPLES, CheckConfig, CheckResult, skipped
from modelqa.analysis.normalize import distinct_values, empty_rows, missing_mask, row_keys
from modelqa.data.schema import row_numbers

CATEGORY = "integrity"
TEXT_CHARS = 300            # example texts are cut to this many characters
EXAMPLE_ROWS = 10           # row numbers listed per example group


# ---- helpers shared with the leakage checks -------------------------------------------------

def input_columns(ctx: CheckContext, *sides: Side) -> list[str]:
    """The columns that make a row's input, present in every side given: the text column
    when there is one, else the feature columns (else every column not named by a role)."""
    if ctx.text_col is not None:
        cols = [ctx.text_col]
    elif ctx.feature_cols:
        cols = list(ctx.feature_cols)
    else:
        roles = {ctx.label_col, ctx.id_col, ctx.timestamp_col}
        cols = [c for c in (sides[0].frame.columns if sides else []) if c not in roles]
    return [c for c in cols if all(c in s.frame.columns for s in sides)]


def feature_columns(ctx: CheckContext, side: Side) -> list[str]:
    """Feature columns (text included) of one side."""
    cols = list(ctx.feature_cols) if ctx.feature_cols else input_columns(ctx, side)
    if ctx.text_col is not None and ctx.text_col not in cols:
        cols.insert(0, ctx.text_col)
    return [c for c in cols if c in side.frame.columns]


def keys_of(ctx: CheckContext, side: Side, cols: list[str], *, normalized: bool,
            as_text: list[str] | tuple[str, ...] = ()) -> np.ndarray:
    """``normalize.row_keys`` of one side, computed once per run and shared by the checks."""
    key = f"rows.keys.{side.name}.{normalized}.{tuple(cols)}.{tuple(as_text)}"
    return ctx.memo(key, lambda: row_keys(side.frame, cols, normalized=normalized, as_text=as_text))


def empty_of(ctx: CheckContext, side: Side, cols: list[str]) -> np.ndarray:
    """Rows whose input is entirely missing or blank (memoised like ``keys_of``)."""
    if len(cols) == 1:
        return missing_of(ctx, side, cols[0])
    return ctx.memo(f"rows.empty.{side.name}.{tuple(cols)}", lambda: empty_rows(side.frame, cols))


def missing_of(ctx: CheckContext, side: Side, column: str) -> np.ndarray:
    return ctx.memo(f"rows.missing.{side.name}.{column}", lambda: missing_mask(side.frame[column]))


def shown(value) -> object:
    """A cell as a JSON-able example value (long texts cut, missing as None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return value if len(value) <= TEXT_CHARS else value[:TEXT_CHARS] + "…"
    return value.item() if hasattr(value, "item") else value


def row_input(frame: pd.DataFrame, columns: list[str], i: int) -> dict:
    """``{"text": ...}`` for a one-column input, else ``{"values": {column: value}}``."""
    if len(columns) == 1:
        return {"text": shown(frame[columns[0]].iloc[i])}
    return {"values": {c: shown(frame[c].iloc[i]) for c in columns[:MAX_EXAMPLES]}}


def label_names(ctx: CheckContext, side: Side) -> np.ndarray | None:
    """Each row's label as a string (None where missing), or None without a label column.

    Class ids in ``side.y`` are named by ``ctx.labels``; a label outside them keeps its value
    as read, trimmed."""
    if ctx.label_col is None or ctx.label_col not in side.frame.columns:
        return None
    codes, uniques = pd.factorize(side.frame[ctx.label_col], use_na_sentinel=True)
    table = [str(u).strip() or None for u in uniques] + [None]
    names = np.array(table, dtype=object)[codes]
    if side.y is not None and ctx.labels:
        y = np.asarray(side.y)
        known = y >= 0
        names[known] = np.asarray(ctx.labels, dtype=object)[y[known]]
    return names


def _target(side: Side, column: str | None = None) -> str:
    return side.name if column is None else f"{side.name}:{column}"


def _groups(keys: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
    """Positions grouped by key among rows where ``keep``: columns key, pos (sorted by pos)."""
    pos = np.flatnonzero(keep)
    return pd.DataFrame({"key": keys[pos], "pos": pos})


# ---- duplicates ------------------------------------------------------------------------------

def _duplicates(ctx: CheckContext, cfg: CheckConfig, *, normalized: bool) -> list[CheckResult]:
    out = []
    metric = "normalized_duplicate_share" if normalized else "duplicate_share"
    for side in ctx.sides():
        cols = input_columns(ctx, side)
        if not cols:
            out.append(skipped(cfg.name, CATEGORY, "no input columns", _target(side)))
            continue
        keys = keys_of(ctx, side, cols, normalized=normalized)
        present = ~empty_of(ctx, side, cols)
        g = _groups(keys, present)
        repeated = g["key"].duplicated(keep="first").to_numpy()       # repeats an earlier row
        n = side.n
        n_dup = int(repeated.sum())
        sizes = g.groupby("key", sort=False)["pos"].agg(["size", "min"])
        dup_groups = sizes[sizes["size"] > 1].sort_values(["size", "min"], ascending=[False, True])
        rows = row_numbers(side.frame)
        examples = []
        if len(dup_groups):
            members = g[g["key"].isin(dup_groups.index[:MAX_EXAMPLES])].groupby("key", sort=False)["pos"]
            listed = {k: v.to_numpy() for k, v in members}
            for key, grp in dup_groups.head(MAX_EXAMPLES).iterrows():
                pos = listed[key]
                examples.append({"rows": rows[pos[:EXAMPLE_ROWS]].tolist(), "count": int(grp["size"]),
                                 **row_input(side.frame, cols, int(pos[0]))})
        out.append(CheckResult(
            check=cfg.name, category=CATEGORY, target=_target(side), metric=metric,
            value=n_dup / n if n else 0.0, threshold=float(cfg.get("threshold")), n=n,
            examples=tuple(examples),
            details={"duplicate_rows": n_dup, "groups": int(len(dup_groups)), "columns": cols,
                     "empty_rows": int((~present).sum()), "normalized": normalized}))
    return out


@register("integrity.duplicates", defaults={"threshold": 0.05},
          description="exact duplicate inputs (text, or all feature columns) within each file")
def duplicates(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    return _duplicates(ctx, cfg, normalized=False)


@register("integrity.normalized_duplicates", defaults={"threshold": 0.05},
          description="duplicate inputs after NFKC, case folding and whitespace collapse, within each file")
def normalized_duplicates(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    return _duplicates(ctx, cfg, normalized=True)


# ---- conflicting labels ----------------------------------------------------------------------

@register("integrity.conflicting_labels", defaults={"threshold": 0.0},
          description="rows with the same normalised input but different labels, within each file")
def conflicting_labels(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    out = []
    for side in ctx.sides():
        names = label_names(ctx, side)
        cols = input_columns(ctx, side)
        if names is None:
            out.append(skipped(cfg.name, CATEGORY, f"{side.name} has no label column", _target(side)))
            continue
        if not cols:
            out.append(skipped(cfg.name, CATEGORY, "no input columns", _target(side)))
            continue
        keys = keys_of(ctx, side, cols, normalized=True)
        keep = ~empty_of(ctx, side, cols) & pd.notna(names)
        g = _groups(keys, keep)
        g["label"] = names[g["pos"].to_numpy()]
        n_labels = g.groupby("key", sort=False)["label"].nunique()
        bad = n_labels[n_labels > 1].index
        conflicting = g[g["key"].isin(bad)]
        n = int(keep.sum())
        rows = row_numbers(side.frame)
        examples = []
        for _, grp in sorted(conflicting.groupby("key", sort=False), key=lambda kv: (-len(kv[1]), kv[1]["pos"].min())):
            if len(examples) == MAX_EXAMPLES:
                break
            pos = grp["pos"].to_numpy()
            counts = grp["label"].value_counts()
            examples.append({"rows": rows[pos[:EXAMPLE_ROWS]].tolist(),
                             "labels": [str(v) for v in grp["label"].iloc[:EXAMPLE_ROWS]],
                             "label_counts": {str(k): int(v) for k, v in counts.items()},
                             "count": int(len(pos)), **row_input(side.frame, cols, int(pos[0]))})
        out.append(CheckResult(
            check=cfg.name, category=CATEGORY, target=_target(side), metric="conflicting_share",
            value=len(conflicting) / n if n else 0.0, threshold=float(cfg.get("threshold")), n=n,
            examples=tuple(examples),
            details={"conflicting_rows": int(len(conflicting)), "groups": int(len(bad)), "columns": cols}))
    return out


# ---- columns and texts -----------------------------------------------------------------------

def _column_check(ctx: CheckContext, cfg: CheckConfig, *, constant: bool) -> list[CheckResult]:
    out = []
    for side in ctx.sides():
        cols = feature_columns(ctx, side)
        found = []
        for c in cols:
            missing = missing_of(ctx, side, c)
            count, first = ctx.memo(f"rows.distinct.{side.name}.{c}",
                                    lambda c=c, s=side, m=missing: distinct_values(s.frame[c], m))
            if constant and count == 1 and side.n >= 2:
                found.append({"column": c, "value": shown(first), "missing": int(missing.sum())})
            elif not constant and count == 0:
                found.append({"column": c, "missing": side.n})
        out.append(CheckResult(
            check=cfg.name, category=CATEGORY, target=_target(side),
            metric="constant_columns" if constant else "empty_columns",
            value=float(len(found)), threshold=float(cfg.get("threshold")), n=side.n,
            examples=tuple(found), details={"columns": [f["column"] for f in found], "checked": len(cols)}))
    return out


@register("integrity.empty_columns", defaults={"threshold": 0},
          description="feature columns in which every value is missing or blank")
def empty_columns(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    return _column_check(ctx, cfg, constant=False)


@register("integrity.constant_columns", defaults={"threshold": 0},
          description="feature columns with a single distinct value (missing values aside)")
def constant_columns(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    return _column_check(ctx, cfg, constant=True)


@register("integrity.empty_texts", requires=("text",), defaults={"threshold": 0.0},
          description="rows whose text is missing, blank or only invisible characters")
def empty_texts(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    out = []
    for side in ctx.sides():
        if ctx.text_col not in side.frame.columns:
            out.append(skipped(cfg.name, CATEGORY, f"{side.name} has no column {ctx.text_col!r}", _target(side)))
            continue
        text = side.frame[ctx.text_col]
        blank = missing_of(ctx, side, ctx.text_col)
        pos = np.flatnonzero(blank)
        rows = row_numbers(side.frame)
        examples = [{"row": int(rows[i]), "text": shown(text.iloc[i])} for i in pos[:MAX_EXAMPLES]]
        out.append(CheckResult(
            check=cfg.name, category=CATEGORY, target=_target(side, ctx.text_col), metric="empty_share",
            value=len(pos) / side.n if side.n else 0.0, threshold=float(cfg.get("threshold")), n=side.n,
            examples=tuple(examples),
            details={"empty_rows": int(len(pos)), "missing": int(text.isna().sum())}))
    return out


# ---- label sets ------------------------------------------------------------------------------

@register("integrity.label_set", requires=("reference", "labels", "reference_labels"),
          defaults={"max_new": 0, "max_missing": 0},
          description="labels of --current never seen in --reference, and reference labels absent from current")
def label_set(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    ref, cur = label_names(ctx, ctx.reference), label_names(ctx, ctx.current)
    ref_counts = pd.Series(ref).dropna().value_counts()
    cur_counts = pd.Series(cur).dropna().value_counts()
    new = [lab for lab in cur_counts.index if lab not in ref_counts.index]
    missing = [lab for lab in ref_counts.index if lab not in cur_counts.index]
    rows = row_numbers(ctx.current.frame)
    new_examples = []
    for lab in new[:MAX_EXAMPLES]:
        pos = np.flatnonzero(cur == lab)
        new_examples.append({"label": str(lab), "count": int(cur_counts[lab]), "rows": rows[pos[:EXAMPLE_ROWS]].tolist()})
    missing_examples = [{"label": str(lab), "reference_count": int(ref_counts[lab])} for lab in missing[:MAX_EXAMPLES]]
    common = {"reference_labels": sorted(map(str, ref_counts.index)), "current_labels": sorted(map(str, cur_counts.index))}
    return [
        CheckResult(check=cfg.name, category=CATEGORY, target="new_in_current", metric="new_labels",
                    value=float(len(new)), threshold=float(cfg.get("max_new")), n=int(cur_counts.sum()),
                    examples=tuple(new_examples),
                    details={"labels": [str(v) for v in new], "rows": int(cur_counts[new].sum()) if new else 0,
                             **common}),
        CheckResult(check=cfg.name, category=CATEGORY, target="missing_from_current", metric="missing_labels",
                    value=float(len(missing)), threshold=float(cfg.get("max_missing")), n=int(cur_counts.sum()),
                    examples=tuple(missing_examples), details={"labels": [str(v) for v in missing], **common}),
    ]
