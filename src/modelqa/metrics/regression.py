"""``regression_metrics``: the metrics.json document of a regression run (layer L1, pure numpy).

Every metric equals its scikit-learn namesake (checked in tests/test_metrics_regression.py).
Conventions (see docs/metrics.md, "Regression"):

- residual = ``y_true - y_pred`` (observed minus predicted; positive = the model predicted
  too low). predictions.csv uses the same sign.
- ``r2`` and ``explained_variance`` with a constant ``y_true`` follow scikit-learn's
  ``force_finite=True``: 1.0 when the predictions are perfect, else 0.0. "Constant" is
  tested exactly (all values equal), not as a floating-point variance of zero.
  With a single row they are undefined (``None``).
- ``mape`` is scikit-learn's: ``mean(|y - p| / max(|y|, eps))`` with eps the float64
  machine epsilon, so a zero target gives a huge (but finite) term. ``target_summary``
  counts the zero targets so a reader can tell.
"""

from __future__ import annotations

import math

import numpy as np

from modelqa.errors import DataError, UsageError, format_rows
from modelqa.metrics.bootstrap import percentile_interval

SCHEMA_VERSION = 1
_EPS = float(np.finfo(np.float64).eps)
#: Cells (replicates x rows) drawn per bootstrap batch, so memory stays bounded (~16 MB per array).
_BATCH_CELLS = 2_000_000


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def check_values(values, name: str) -> np.ndarray:
    """A 1-D float64 array of finite numbers; DataError names the rows that are not."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind == "b":
        raise DataError(f"{name} must hold numbers, got booleans")
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must hold numbers, got dtype {arr.dtype}") from None
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise DataError(f"{name} holds NaN or infinite values at rows {format_rows(bad)}")
    return out


def check_regression_targets(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = check_values(y_true, "y_true")
    p = check_values(y_pred, "y_pred")
    if t.shape[0] != p.shape[0]:
        raise DataError(f"y_true has {t.shape[0]} rows but y_pred has {p.shape[0]}")
    if t.shape[0] == 0:
        raise DataError("no rows to evaluate")
    return t, p


def _r2_like(numerator: np.ndarray, denominator: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """``1 - num/den`` with scikit-learn's force_finite rule where y_true is constant."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    ok = ~np.asarray(constant, dtype=bool) & (den != 0)
    safe = np.where(ok, den, 1.0)
    return np.where(ok, 1.0 - num / safe, np.where(num == 0, 1.0, 0.0))


def point_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """The ``metrics`` block (validated float arrays of equal length n >= 1)."""
    n = y_true.size
    residual = y_true - y_pred
    abs_err = np.abs(residual)
    mse = float(np.mean(residual**2))
    constant = bool(np.all(y_true == y_true[0]))
    if n < 2:
        r2 = ev = None
    else:
        sst = float(np.sum((y_true - np.mean(y_true)) ** 2))
        r2 = float(_r2_like(np.sum(residual**2), sst, constant))
        var_res = float(np.mean((residual - np.mean(residual)) ** 2))
        var_true = sst / n
        ev = float(_r2_like(var_res, var_true, constant))
    return {
        "mse": _num(mse),
        "rmse": _num(math.sqrt(mse)),
        "mae": _num(np.mean(abs_err)),
        "mape": _num(np.mean(abs_err / np.maximum(np.abs(y_true), _EPS))),
        "median_absolute_error": _num(np.median(abs_err)),
        "r2": _num(r2),
        "explained_variance": _num(ev),
        "residual_mean": _num(np.mean(residual)),
        "residual_std": _num(np.std(residual)),
        "max_error": _num(np.max(abs_err)),
    }


def _baselines(y_true: np.ndarray) -> dict:
    mean = float(np.mean(y_true))
    median = float(np.median(y_true))
    mse = float(np.mean((y_true - mean) ** 2))
    return {
        "mean_value": _num(mean),
        "mean_predictor_mse": _num(mse),
        "mean_predictor_rmse": _num(math.sqrt(mse)),
        "mean_predictor_mae": _num(np.mean(np.abs(y_true - mean))),
        "median_value": _num(median),
        "median_predictor_mae": _num(np.mean(np.abs(y_true - median))),
    }


def _target_summary(y_true: np.ndarray) -> dict:
    return {
        "mean": _num(np.mean(y_true)),
        "std": _num(np.std(y_true)),
        "min": _num(np.min(y_true)),
        "max": _num(np.max(y_true)),
        "n_zero": int(np.sum(y_true == 0)),
    }


def bootstrap_replicates(y_true: np.ndarray, y_pred: np.ndarray, n_resamples: int,
                         seed: int) -> dict[str, np.ndarray]:
    """RMSE, MAE and R² of ``n_resamples`` row resamples (with replacement), in bounded batches.

    Rows are drawn as indices with ``default_rng(seed).integers``; each batch draws
    ``(b, n)`` indices, so memory is O(_BATCH_CELLS) whatever n and n_resamples are.
    A replicate whose targets are all equal gets R² by the force_finite rule.
    """
    n = y_true.size
    rng = np.random.default_rng(seed)
    sq = (y_true - y_pred) ** 2
    ab = np.abs(y_true - y_pred)
    yc = y_true - np.mean(y_true)  # centred: sums of squares stay accurate
    batch = max(1, _BATCH_CELLS // max(n, 1))
    rmse, mae, r2 = [], [], []
    for start in range(0, n_resamples, batch):
        b = min(batch, n_resamples - start)
        idx = rng.integers(0, n, size=(b, n))
        sse = sq[idx].sum(axis=1)
        rmse.append(np.sqrt(sse / n))
        mae.append(ab[idx].mean(axis=1))
        yr = y_true[idx]
        constant = (yr == yr[:, :1]).all(axis=1)
        ycr = yc[idx]
        sst = np.sum((ycr - ycr.mean(axis=1, keepdims=True)) ** 2, axis=1)
        r2.append(_r2_like(sse, sst, constant) if n >= 2 else np.full(b, np.nan))
    return {"rmse": np.concatenate(rmse), "mae": np.concatenate(mae), "r2": np.concatenate(r2)}


def bootstrap_intervals(y_true: np.ndarray, y_pred: np.ndarray, *, n_resamples: int = 1000,
                        confidence_level: float = 0.95, seed: int = 0) -> dict:
    """The ``confidence_intervals`` block: percentile bootstrap of RMSE, MAE and R²."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise UsageError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < confidence_level < 1.0:
        raise UsageError(f"confidence_level must be between 0 and 1 (exclusive), got {confidence_level!r}")
    reps = bootstrap_replicates(y_true, y_pred, int(n_resamples), seed)
    out: dict = {"level": float(confidence_level), "method": "bootstrap", "n_resamples": int(n_resamples)}
    for key, values in reps.items():
        out[key] = None if not np.isfinite(values).all() else percentile_interval(values, confidence_level)
    return out


def regression_metrics(y_true, y_pred, *, n_resamples: int = 1000, confidence_level: float = 0.95,
                       seed: int = 0) -> dict:
    """Every regression metric as the JSON-safe metrics.json document (``task: "regression"``).

    ``y_true`` / ``y_pred`` are numbers of equal length. See docs/metrics.md for every definition.
    """
    t, p = check_regression_targets(y_true, y_pred)
    return {
        "schema_version": SCHEMA_VERSION,
        "task": "regression",
        "n_samples": int(t.size),
        "metrics": point_metrics(t, p),
        "baselines": _baselines(t),
        "target_summary": _target_summary(t),
        "confidence_intervals": bootstrap_intervals(t, p, n_resamples=n_resamples,
                                                    confidence_level=confidence_level, seed=seed),
    }
