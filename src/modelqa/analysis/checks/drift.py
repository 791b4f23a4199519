"""Drift between ``--reference`` and ``--current``: per feature column, labels, predictions.

The test is chosen by column kind and reference size as Evidently's default does, and every
result's ``value`` is an effect size with its own threshold (``modelqa.analysis.drift_stats``);
``p_value`` is the test's p; ``n`` the smaller side. See docs/checks/drift.md.

- ``drift.column``: numeric (and numbers stored as text) and categorical / boolean / constant
  feature columns. A constant column is compared as a category (one value on both sides: no
  drift, value 0). Missing cells are their own category for categorical columns; for numeric
  ones the values present are compared here and the missing share in ``drift.missing``.
  ``id`` and ``empty`` columns are skipped with the reason; text columns are ``drift_text``'s.
- ``drift.missing``: the share of missing cells of each numeric column that has any.
- ``drift.label``: the label distribution, when both sides have labels.
- ``drift.prediction``: predicted labels and confidence (top probability), when both sides
  have predictions.
"""

from __future__ import annotations

import time
import zlib

import numpy as np
import pandas as pd

from modelqa.analysis import drift_stats as ds
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import CheckConfig, CheckResult, skipped

CATEGORY = "drift"
MISSING = "<missing>"
KIND_SAMPLE = 5000            # rows used to infer a kind the runner did not give
NUMERIC_KINDS = frozenset({"numeric", "numeric_text"})
CATEGORICAL_KINDS = frozenset({"categorical", "boolean", "constant"})
SKIP_KINDS = {"id": "an id column (one value per row): its distribution says nothing",
              "empty": "every value is missing (in the rows its kind was read from)"}

COMMON = {"small_n": ds.SMALL_N, "few_values": ds.FEW_VALUES, "min_n": 30, "noise_floor": True}


def bridges(ctx: CheckContext) -> np.ndarray:
    """Brownian-bridge draws shared by every numeric comparison of the run (seeded)."""
    return ctx.memo("drift:bridges", lambda: ds.bridge_draws(
        max(int(ctx.n_resamples), 100), np.random.default_rng([ctx.seed, 9173])))


def numbers(series: pd.Series) -> np.ndarray:
    """float64 values (vectorised; may share memory with the frame: never write to it). Missing
    cells, cells that are not numbers and infinities are not finite: callers keep
    ``np.isfinite``."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    text = series.astype("string").str.strip()
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def category_table(ref: pd.Series, cur: pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Category names (the missing cell as ``<missing>``) and counts per side, from one
    factorisation of both sides. A blank string is missing too; it is looked for among the
    distinct values only, not cell by cell."""
    pooled = pd.concat([ref, cur], ignore_index=True)
    codes, uniques = pd.factorize(pooled, use_na_sentinel=True)
    names = [str(u) for u in uniques]
    blank = np.array([isinstance(u, str) and not u.strip() for u in uniques] + [True], dtype=bool)
    k = len(uniques)
    codes = np.where(codes < 0, k, codes)
    counts_ref = np.bincount(codes[:len(ref)], minlength=k + 1)
    counts_cur = np.bincount(codes[len(ref):], minlength=k + 1)
    keep = ~blank[:k]
    out_names = [n for n, kept in zip(names, keep, strict=True) if kept] + [MISSING]
    fold = np.concatenate([keep, [False]])
    counts_ref = np.append(counts_ref[fold], counts_ref[~fold].sum())
    counts_cur = np.append(counts_cur[fold], counts_cur[~fold].sum())
    return out_names, counts_ref, counts_cur


def with_noise_floor(base: float, noise: float | None, cfg: CheckConfig, *, column: str | None = None,
                     kind: str | None = None) -> float:
    """The threshold a result is judged by: the one set, or — with ``noise_floor`` on (the
    default) — the effect's 95th percentile under "no drift" at these sample sizes when that is
    higher, so that identical distributions are not past the threshold by noise alone."""
    if noise is None or not cfg.get("noise_floor", True, column=column, kind=kind):
        return base
    return max(base, float(noise))


def _values(x_sorted: np.ndarray) -> np.ndarray:
    return x_sorted[np.concatenate([[True], x_sorted[1:] != x_sorted[:-1]])]


def _distinct(x_sorted: np.ndarray) -> int:
    return int(np.count_nonzero(x_sorted[1:] != x_sorted[:-1])) + 1


def _kind_of(ctx: CheckContext, col: str) -> str:
    kind = ctx.column_kinds.get(col)
    if kind:
        return kind

    def infer() -> str:
        from modelqa.data.tabular import infer_kind

        s = ctx.current.frame[col]
        if len(s) > KIND_SAMPLE:
            s = s.sample(KIND_SAMPLE, random_state=ctx.seed)
        fmt = (ctx.current.frame.attrs.get("source") or {}).get("format")
        return infer_kind(s, name=col, text_source=fmt in (None, "csv", "tsv", "jsonl", "json")).kind

    return ctx.memo(f"drift:kind:{col}", infer)


def drift_columns(ctx: CheckContext) -> list[str]:
    """Feature columns in both inputs, without the role columns."""
    roles = {ctx.label_col, ctx.id_col, ctx.timestamp_col}
    cols = ctx.feature_cols or tuple(ctx.current.frame.columns)
    return [c for c in cols if c not in roles]


def compare_series(ref: pd.Series, cur: pd.Series, kind: str, *, ctx: CheckContext, cfg: CheckConfig,
                   column: str, check: str) -> CheckResult:
    """One column (or derived property) of both sides, as a judged result."""
    t0 = time.perf_counter()
    small_n = int(cfg.get("small_n", ds.SMALL_N, column=column, kind=kind))
    few = int(cfg.get("few_values", ds.FEW_VALUES, column=column, kind=kind))
    min_n = int(cfg.get("min_n", 30, column=column, kind=kind))
    family = "categorical"
    extra: dict = {"kind": kind}
    if kind in NUMERIC_KINDS:
        a, b = numbers(ref), numbers(cur)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        extra["missing_share"] = {"reference": 1 - a.size / max(len(ref), 1),
                                  "current": 1 - b.size / max(len(cur), 1)}
        if a.size == 0 or b.size == 0:
            side = "reference" if a.size == 0 else "current"
            return skipped(check, CATEGORY, f"no numbers in {side} (drift.missing compares the "
                                            "missing share)", target=column)
        a, b = np.sort(a), np.sort(b)
        if _distinct(a) > few or _distinct(b) > few or np.union1d(_values(a), _values(b)).size > few:
            family = "numeric"
            cmp = ds.compare_numeric(a, b, small_n=small_n, bridges=bridges(ctx), presorted=True,
                                     n_resamples=int(ctx.n_resamples),
                                     rng=np.random.default_rng([ctx.seed, zlib.crc32(column.encode())]))
            n = int(min(a.size, b.size))
        else:
            ref, cur = pd.Series(a), pd.Series(b)
            extra["few_values"] = True
    if family == "categorical":
        names, c_ref, c_cur = category_table(ref, cur)
        cmp = ds.compare_categorical(c_ref, c_cur, names, small_n=small_n)
        n = int(min(c_ref.sum(), c_cur.sum()))
    fallback = cfg.get(f"{family}_threshold", 0.1, column=column, kind=kind)
    base = float(cfg.get("threshold", fallback, column=column, kind=kind))
    threshold = with_noise_floor(base, cmp.details.get("noise_95"), cfg, column=column, kind=kind)
    extra["threshold_set"] = base
    details = {**extra, **cmp.details}
    examples = tuple(details.pop("shares", ()))      # the categories whose share moved most
    return CheckResult(check=check, category=CATEGORY, target=column, metric=cmp.metric,
                       value=float(cmp.effect), threshold=threshold, bad_when="above",
                       p_value=float(cmp.p_value), n=n, min_n=min_n, test=cmp.test,
                       statistic=float(cmp.statistic), examples=examples,
                       details=details, seconds=time.perf_counter() - t0)


@register("drift.column", requires=("reference",),
          defaults={"numeric_threshold": 0.1, "categorical_threshold": 0.1, **COMMON},
          description="per-column drift: KS / Wasserstein for numbers, chi-square / Z / "
                      "Jensen-Shannon for categories, each with an effect-size threshold")
def column_drift(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    ref_frame, cur_frame = ctx.reference.frame, ctx.current.frame
    out: list[CheckResult] = []
    for col in drift_columns(ctx):
        if col == ctx.text_col:
            continue
        kind = _kind_of(ctx, col)
        if kind == "text":
            continue                            # drift.text and drift.text_property
        if col not in ref_frame.columns:
            out.append(skipped("drift.column", CATEGORY, "the column is not in --reference", target=col))
            continue
        if kind in SKIP_KINDS:
            out.append(skipped("drift.column", CATEGORY, SKIP_KINDS[kind], target=col))
            continue
        if kind not in NUMERIC_KINDS | CATEGORICAL_KINDS:
            out.append(skipped("drift.column", CATEGORY, f"no drift test for kind {kind!r}", target=col))
            continue
        out.append(compare_series(ref_frame[col], cur_frame[col], kind, ctx=ctx, cfg=cfg,
                                  column=col, check="drift.column"))
    return out


@register("drift.missing", requires=("reference",), defaults={"threshold": 0.05, "min_n": 30},
          description="the share of missing cells of each numeric column, reference vs current")
def missing_drift(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    """Effect: |current share - reference share| of missing cells (threshold 5 points); p: the
    two-proportion Z test. Only numeric columns with a missing cell on either side."""
    out = []
    for col in drift_columns(ctx):
        if col == ctx.text_col or col not in ctx.reference.frame.columns:
            continue
        kind = _kind_of(ctx, col)
        if kind not in NUMERIC_KINDS:
            continue
        t0 = time.perf_counter()
        a, b = numbers(ctx.reference.frame[col]), numbers(ctx.current.frame[col])
        k_a, k_b = int((~np.isfinite(a)).sum()), int((~np.isfinite(b)).sum())
        if k_a == 0 and k_b == 0:
            continue
        diff, z, p = ds.proportion_difference(k_a, a.size, k_b, b.size)
        out.append(CheckResult(
            check="drift.missing", category=CATEGORY, target=col, metric="missing_share_difference",
            value=abs(diff), threshold=float(cfg.get("threshold", 0.05, column=col, kind=kind)),
            p_value=p, n=int(min(a.size, b.size)), min_n=int(cfg.get("min_n", 30, column=col, kind=kind)),
            test="z", statistic=z, seconds=time.perf_counter() - t0,
            details={"reference_share": k_a / a.size, "current_share": k_b / b.size,
                     "reference_missing": k_a, "current_missing": k_b}))
    return out


def _label_series(side: Side, ids: np.ndarray, labels: list[str] | None) -> pd.Series:
    names = np.array(list(labels or []) + ["<other>"], dtype=object)
    ids = np.asarray(ids, dtype=int)
    return pd.Series(names[np.where(ids < 0, len(names) - 1, ids)], name=side.name)


@register("drift.label", requires=("reference", "labels", "reference_labels"),
          defaults={"threshold": 0.1, **COMMON},
          description="label distribution drift (chi-square / Z / Jensen-Shannon)")
def label_drift(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    ref = _label_series(ctx.reference, ctx.reference.y, ctx.labels)
    cur = _label_series(ctx.current, ctx.current.y, ctx.labels)
    return [compare_series(ref, cur, "categorical", ctx=ctx, cfg=cfg, column="label", check="drift.label")]


@register("drift.prediction", requires=("reference", "predictions"),
          defaults={"categorical_threshold": 0.1, "numeric_threshold": 0.1, **COMMON},
          description="drift of the predicted labels and of the confidence (top probability)")
def prediction_drift(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    ref, cur = ctx.reference, ctx.current
    if ref.pred is None or cur.pred is None:
        return [skipped("drift.prediction", CATEGORY, "the reference has no predictions (give --model "
                        "so that both inputs are predicted)", target="predicted_label")]
    out = [compare_series(_label_series(ref, ref.pred, ctx.labels), _label_series(cur, cur.pred, ctx.labels),
                          "categorical", ctx=ctx, cfg=cfg, column="predicted_label", check="drift.prediction")]
    if ref.probs is not None and cur.probs is not None:
        conf_ref = pd.Series(np.max(np.asarray(ref.probs, dtype=float), axis=1))
        conf_cur = pd.Series(np.max(np.asarray(cur.probs, dtype=float), axis=1))
        out.append(compare_series(conf_ref, conf_cur, "numeric", ctx=ctx, cfg=cfg, column="confidence",
                                  check="drift.prediction"))
    return out
