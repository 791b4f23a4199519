"""Leakage: rows of ``--current`` whose input also appears in ``--reference`` (docs/checks/leakage.md).

The input is the text column when there is one, else every feature column present in both
files. Rows are matched by 64-bit hashes of their (exact or normalised) input
(``analysis.normalize.row_keys``), so a million rows on each side take seconds. Each result
is an exact count (``p_value`` None): ``value`` is the share of current rows that match a
reference row, and the verdict fails as soon as it is above the threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelqa.analysis.checks.context import CheckContext
from modelqa.analysis.checks.integrity import empty_of, input_columns, keys_of, label_names, row_input
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import MAX_EXAMPLES, CheckConfig, CheckResult, skipped
from modelqa.analysis.normalize import is_text_column
from modelqa.data.schema import row_numbers

CATEGORY = "leakage"


def _type_mismatches(ref: pd.DataFrame, cur: pd.DataFrame, cols: list[str]) -> list[str]:
    """Columns read as numbers in one file and as text in the other: compared as text."""
    return [c for c in cols if is_text_column(ref[c]) != is_text_column(cur[c])]


def matches(ctx: CheckContext, *, normalized: bool) -> dict:
    """For each current row, the position of the first reference row with the same input
    (-1 when none), plus the columns used. Memoised: the two checks and reporters share it."""
    def compute():
        ref, cur = ctx.reference, ctx.current
        cols = input_columns(ctx, ref, cur)
        if not cols:
            return {"columns": [], "ref_pos": np.full(cur.n, -1, dtype=np.int64)}
        as_text = _type_mismatches(ref.frame, cur.frame, cols)
        ref_keys = keys_of(ctx, ref, cols, normalized=normalized, as_text=as_text)
        cur_keys = keys_of(ctx, cur, cols, normalized=normalized, as_text=as_text)
        ref_present = ~empty_of(ctx, ref, cols)
        first = pd.Series(np.flatnonzero(ref_present), index=ref_keys[ref_present])
        first = first[~first.index.duplicated(keep="first")]
        ref_pos = pd.Index(first.index).get_indexer(cur_keys)
        ref_pos = np.where(ref_pos >= 0, first.to_numpy()[ref_pos], -1).astype(np.int64)
        ref_pos[empty_of(ctx, cur, cols)] = -1          # an empty input leaks nothing
        return {"columns": cols, "ref_pos": ref_pos, "as_text": as_text}

    return ctx.memo(f"leakage.matches.{'normalized' if normalized else 'exact'}", compute)


def _leakage(ctx: CheckContext, cfg: CheckConfig, *, normalized: bool) -> list[CheckResult]:
    found = matches(ctx, normalized=normalized)
    cols = found["columns"]
    if not cols:
        return [skipped(cfg.name, CATEGORY, "--reference and --current share no input column")]
    ref, cur = ctx.reference, ctx.current
    ref_pos = found["ref_pos"]
    hit = np.flatnonzero(ref_pos >= 0)
    order = hit
    exact_pos = None
    if normalized:        # list the matches that only normalisation finds first
        exact_pos = matches(ctx, normalized=False)["ref_pos"]
        order = np.concatenate([hit[exact_pos[hit] < 0], hit[exact_pos[hit] >= 0]])
    cur_rows, ref_rows = row_numbers(cur.frame), row_numbers(ref.frame)
    cur_labels, ref_labels = label_names(ctx, cur), label_names(ctx, ref)
    examples = []
    for i in order[:MAX_EXAMPLES]:
        j = int(ref_pos[i])
        ex = {"current_row": int(cur_rows[i]), "reference_row": int(ref_rows[j]), **row_input(cur.frame, cols, int(i))}
        if normalized:
            ex["exact"] = bool(exact_pos[i] >= 0)
            if not ex["exact"]:       # the reference's own spelling of the input
                ex.update({f"reference_{k}": v for k, v in row_input(ref.frame, cols, j).items()})
        if cur_labels is not None and ref_labels is not None:
            ex["current_label"], ex["reference_label"] = cur_labels[i], ref_labels[j]
        examples.append(ex)
    details = {"leaked_rows": int(hit.size), "distinct_reference_rows": int(np.unique(ref_pos[hit]).size),
               "columns": cols, "compared_as_text": found["as_text"]}
    if cur_labels is not None and ref_labels is not None and hit.size:
        same = cur_labels[hit] == ref_labels[ref_pos[hit]]
        details["same_label"] = int(np.sum(same))
        details["different_label"] = int(hit.size - np.sum(same))
    if normalized:
        details["exact_rows"] = int(np.sum(exact_pos[hit] >= 0))
    return [CheckResult(check=cfg.name, category=CATEGORY, target=cols[0] if len(cols) == 1 else "rows",
                        metric="normalized_leaked_share" if normalized else "leaked_share",
                        value=hit.size / cur.n if cur.n else 0.0, threshold=float(cfg.get("threshold")), n=cur.n,
                        examples=tuple(examples), details=details)]


@register("leakage.exact", requires=("reference",), defaults={"threshold": 0.0},
          description="rows of --current whose input appears verbatim in --reference")
def exact(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    return _leakage(ctx, cfg, normalized=False)


@register("leakage.normalized", requires=("reference",), defaults={"threshold": 0.01},
          description="rows of --current whose input appears in --reference after NFKC, case folding "
                      "and whitespace collapse")
def normalized(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    return _leakage(ctx, cfg, normalized=True)
