"""The verdict, decided here and nowhere else.

fail: the effect is on the bad side of its threshold, **and** significant after the run-wide
Benjamini-Hochberg correction (q < alpha) — or exact, for a count with no p-value — **and**
the result rests on at least ``min_n`` rows. Over the threshold without significance, or on
too few rows: warn. Otherwise pass. "error" and "skipped" results keep their status.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from modelqa.analysis.checks.result import STATUS_ORDER, CheckResult

ALPHA = 0.05


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """BH-adjusted q-values (the step-up procedure; equals scipy.stats.false_discovery_control)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="mergesort")
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.clip(q_sorted, 0.0, 1.0)
    return q


def status_of(result: CheckResult, alpha: float = ALPHA) -> tuple[str, str | None]:
    """(status, reason) of one result whose ``q_value`` is already set."""
    if result.status in ("error", "skipped"):
        return result.status, result.reason
    if not result.exceeded:
        return "pass", result.reason
    side = "above" if result.bad_when == "above" else "below"
    what = f"{result.metric or 'value'} {result.value:.4g} is {side} the threshold {result.threshold:.4g}"
    if result.n is not None and result.n < result.min_n:
        return "warn", f"{what}, but only {result.n} rows (fewer than {result.min_n}): not enough to fail"
    if result.p_value is not None and not (result.q_value is not None and result.q_value < alpha):
        q = result.q_value if result.q_value is not None else result.p_value
        return "warn", f"{what}, but not significant (q = {q:.3g} ≥ {alpha:g} after correction)"
    return "fail", what


def decide(results: Sequence[CheckResult], *, alpha: float = ALPHA) -> list[CheckResult]:
    """Results with ``q_value`` (BH over every result of the run that has a p-value) and
    ``status`` / ``reason`` set, in the order given."""
    results = list(results)
    tested = [i for i, r in enumerate(results)
              if r.p_value is not None and r.status not in ("error", "skipped") and np.isfinite(r.p_value)]
    q = benjamini_hochberg([results[i].p_value for i in tested])
    for i, qi in zip(tested, q, strict=True):
        results[i] = results[i].with_(q_value=float(qi))
    out = []
    for r in results:
        status, reason = status_of(r, alpha)
        out.append(r.with_(status=status, reason=reason))
    return out


def worst_first(results: Sequence[CheckResult]) -> list[CheckResult]:
    return sorted(results, key=lambda r: (STATUS_ORDER[r.status or "pass"], r.category, r.check, str(r.target)))


def summary(results: Sequence[CheckResult]) -> dict[str, int]:
    counts = {s: 0 for s in STATUS_ORDER}
    for r in results:
        counts[r.status or "pass"] += 1
    return counts
