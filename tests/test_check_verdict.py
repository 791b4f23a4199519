"""The one place that decides pass / warn / fail (analysis.checks.verdict)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from modelqa.analysis.checks.result import CheckResult
from modelqa.analysis.checks.verdict import benjamini_hochberg, decide, summary, worst_first


def _r(value, threshold, p=None, n=1000, min_n=0, bad_when="above", **kw):
    return CheckResult(check="x.y", category="x", target=kw.pop("target", None), metric="effect", value=value,
                       threshold=threshold, p_value=p, n=n, min_n=min_n, bad_when=bad_when, **kw)


@pytest.mark.parametrize("seed", range(5))
def test_bh_equals_scipy(seed):
    p = np.random.default_rng(seed).random(37) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"), rtol=1e-12)


def test_bh_hand_computed():
    # p sorted: 0.01, 0.02, 0.03, 0.5 -> p*m/rank = 0.04, 0.04, 0.04, 0.5
    np.testing.assert_allclose(benjamini_hochberg([0.03, 0.5, 0.01, 0.02]), [0.04, 0.5, 0.04, 0.04])


def test_fail_needs_effect_and_significance_and_rows():
    out = decide([
        _r(0.3, 0.1, p=1e-6),                 # big effect, significant: fail
        _r(0.3, 0.1, p=0.4),                  # big effect, not significant: warn
        _r(0.01, 0.1, p=1e-30),               # tiny effect, "significant" (large n): pass
        _r(0.3, 0.1, p=1e-6, n=10, min_n=30),  # too few rows: warn
        _r(0.02, 0.0, p=None),                # an exact count over its threshold: fail
        _r(0.0, 0.0, p=None),                 # exactly at the threshold: pass
        _r(0.7, 0.8, p=1e-4, bad_when="below"),  # a metric below its minimum, significant: fail
    ])
    assert [r.status for r in out] == ["fail", "warn", "pass", "warn", "fail", "pass", "fail"]
    assert "not significant" in out[1].reason and "only 10 rows" in out[3].reason


def test_correction_is_run_wide():
    """p = 0.02 alone fails; among 20 null results it is no longer significant after BH."""
    alone = decide([_r(0.3, 0.1, p=0.02)])
    crowd = decide([_r(0.3, 0.1, p=0.02)] + [_r(0.0, 0.1, p=0.5 + i / 100) for i in range(20)])
    assert alone[0].status == "fail" and crowd[0].status == "warn"
    assert crowd[0].q_value == pytest.approx(0.02 * 21)


def test_error_and_skipped_keep_their_status_and_stay_out_of_the_correction():
    out = decide([_r(0.3, 0.1, p=0.02), CheckResult(check="a.b", category="a", status="error", reason="boom",
                                                    p_value=0.9),
                  CheckResult(check="a.c", category="a", status="skipped", reason="needs --model")])
    assert [r.status for r in out] == ["fail", "error", "skipped"]
    assert out[0].q_value == pytest.approx(0.02)
    assert summary(out) == {"fail": 1, "error": 1, "warn": 0, "pass": 0, "skipped": 1}
    assert [r.status for r in worst_first(out[::-1])] == ["fail", "error", "skipped"]


def test_nan_value_never_fails():
    assert decide([_r(float("nan"), 0.1, p=0.0)])[0].status == "pass"
