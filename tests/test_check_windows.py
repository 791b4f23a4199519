"""Monitoring windows: a shifted day fails, the other days do not, across-window correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelqa.analysis.checks.windows import parse_window, two_proportion_drop
from modelqa.api.check import check
from modelqa.errors import UsageError

SUITE = {"only": True, "checks": {"windows": {}}}


def _frames(seed=0, days=10, per_day=300, shifted_day=6, bad_day=3):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 3000), "y": rng.normal(0, 1, 3000),
                        "label": rng.choice(["a", "b"], 3000)})
    parts = []
    for d in range(days):
        x = rng.normal(1.0 if d == shifted_day else 0.0, 1, per_day)
        label = rng.choice(["a", "b"], per_day)
        right = rng.random(per_day) < (0.6 if d == bad_day else 0.9)
        pred = np.where(right, label, np.where(label == "a", "b", "a"))
        ts = pd.Timestamp("2026-03-01") + pd.to_timedelta(d, "D") + pd.to_timedelta(rng.integers(0, 86400, per_day),
                                                                                    "s")
        parts.append(pd.DataFrame({"ts": ts.astype(str), "x": x, "y": rng.normal(0, 1, per_day), "label": label,
                                   "predicted_label": pred}))
    return ref, pd.concat(parts, ignore_index=True)


def test_the_shifted_day_fails_and_no_other_window_does():
    ref, cur = _frames()
    run = check(current=cur, reference=ref, timestamp_col="ts", window="1D", suite=SUITE)
    drift = {r.target: r.status for r in run.results if r.check == "windows.drift"}
    assert len(drift) == 20
    assert drift["2026-03-07T00:00:00+00:00 x"] == "fail"
    assert [t for t, s in drift.items() if s == "fail"] == ["2026-03-07T00:00:00+00:00 x"]
    acc = {r.target: r for r in run.results if r.check == "windows.accuracy"}
    assert acc["2026-03-04T00:00:00+00:00"].status == "fail"
    assert [t for t, r in acc.items() if r.status == "fail"] == ["2026-03-04T00:00:00+00:00"]
    assert acc["2026-03-04T00:00:00+00:00"].details["accuracy"] < 0.7


def test_row_count_windows_and_small_windows_skipped():
    ref, cur = _frames(days=2, per_day=100)
    run = check(current=cur, reference=ref, timestamp_col="ts", window="90", suite=SUITE)
    targets = [r.target for r in run.results if r.check == "windows.accuracy"]
    assert targets == ["rows 1-90", "rows 91-180", "rows 181-200"]
    last = next(r for r in run.results if r.target == "rows 181-200" and r.check == "windows.accuracy")
    assert last.status == "skipped" and "20 labelled rows" in last.reason


def test_two_proportion_z_equals_the_chi_square_test():
    for k_a, n_a, k_b, n_b in [(60, 100, 900, 1000), (45, 50, 80, 100), (10, 40, 30, 40)]:
        drop, p = two_proportion_drop(k_a, n_a, k_b, n_b)
        table = [[k_a, n_a - k_a], [k_b, n_b - k_b]]
        chi2_p = stats.chi2_contingency(table, correction=False).pvalue
        assert drop == pytest.approx(k_b / n_b - k_a / n_a)
        lower = k_a / n_a < k_b / n_b
        assert p == pytest.approx(chi2_p / 2 if lower else 1 - chi2_p / 2)


@pytest.mark.parametrize("text", ["1 day", "0D", "D", "-5", "1Y"])
def test_bad_windows_are_usage_errors(text):
    with pytest.raises(UsageError, match="window must be"):
        parse_window(text)
    ref, cur = _frames(days=1, per_day=40)
    with pytest.raises(UsageError):
        check(current=cur, reference=ref, timestamp_col="ts", window=text, suite=SUITE)
