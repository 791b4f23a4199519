"""Drift statistics against scipy.stats, and the drift checks on generated data whose truth is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from modelqa.analysis import drift_stats as ds
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for, ensure_loaded
from modelqa.analysis.checks.verdict import decide

ensure_loaded()


def run(name, ctx, **overrides):
    spec = REGISTRY[name]
    return spec.run(ctx, config_for(spec, overrides))


def context(ref: pd.DataFrame, cur: pd.DataFrame, kinds: dict | None = None, **kw) -> CheckContext:
    return CheckContext(current=Side("current", None, cur), reference=Side("reference", None, ref),
                        feature_cols=tuple(cur.columns), column_kinds=dict(kinds or {}), **kw)


def by_target(results):
    return {r.target: r for r in results}


# ------------------------------------------------------------------ statistics vs scipy


@pytest.mark.parametrize("n,m,ties", [(50, 50, False), (37, 211, False), (1200, 800, True), (3, 1000, True)])
def test_wasserstein_equals_scipy(n, m, ties):
    rng = np.random.default_rng(n + m)
    a, b = rng.normal(size=n), rng.normal(0.3, 2.0, size=m)
    if ties:
        a, b = np.round(a), np.round(b)
    got = ds.wasserstein_sorted(np.sort(a), np.sort(b))
    assert got == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12, abs=1e-12)


def test_category_statistics_equal_scipy():
    table = np.array([[30, 12, 0, 58], [22, 30, 9, 39]])
    chi, p, dof = ds.pearson_chi2(table)
    ref = stats.chi2_contingency(table, correction=False)
    assert (chi, p, dof) == pytest.approx((ref.statistic, ref.pvalue, ref.dof), rel=1e-10)
    g, pg, _ = ds.g_test(table)
    ref_g = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert (g, pg) == pytest.approx((ref_g.statistic, ref_g.pvalue), rel=1e-10)
    assert ds.jensenshannon(table[0], table[1]) == pytest.approx(distance.jensenshannon(table[0], table[1], base=2))
    two = np.array([[40, 60], [55, 45]])
    z, pz = ds.two_proportion_z(two)
    chi2x2 = stats.chi2_contingency(two, correction=False)
    assert z**2 == pytest.approx(chi2x2.statistic) and pz == pytest.approx(chi2x2.pvalue)


def test_pooled_order_statistics_equal_a_merge_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, m = rng.integers(1, 60, 2)
        a = np.sort(rng.integers(0, 10, n).astype(float))
        b = np.sort(rng.integers(0, 10, m).astype(float))
        ranks = np.arange(n + m)
        assert np.array_equal(ds.pooled_order_statistics(a, b, ranks), np.sort(np.concatenate([a, b])))


def test_ks_route_is_scipy_ks_and_effect_is_normalised_wasserstein():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=300), rng.normal(0.4, size=500)
    cmp = ds.compare_numeric(a, b)
    ks = stats.ks_2samp(a, b)
    assert cmp.test == "ks"
    assert (cmp.statistic, cmp.p_value) == pytest.approx((ks.statistic, ks.pvalue))
    assert cmp.effect == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a))


def test_brownian_bridge_null_matches_an_exact_permutation_null():
    """The large-sample null of W agrees with scipy's permutation test on the same data."""
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=1500), rng.normal(0.07, size=1600)
    cmp = ds.compare_numeric(a, b, n_resamples=2000, rng=np.random.default_rng(1))
    assert cmp.details["null"] == "brownian_bridge"
    perm = stats.permutation_test((a, b), lambda x, y: stats.wasserstein_distance(x, y), n_resamples=1000,
                                  alternative="greater", rng=np.random.default_rng(2))
    assert 0.001 < perm.pvalue < 0.5               # a case in the body of the null, not its tail
    assert cmp.p_value == pytest.approx(perm.pvalue, abs=0.05)


def test_exact_permutation_route_when_the_current_side_is_small():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=1500), rng.normal(0.2, size=120)
    cmp = ds.compare_numeric(a, b, n_resamples=600, rng=np.random.default_rng(1))
    assert cmp.test == "wasserstein" and cmp.details["null"] == "permutation"
    perm = stats.permutation_test((a, b), lambda x, y: stats.wasserstein_distance(x, y), n_resamples=600,
                                  alternative="greater", rng=np.random.default_rng(2))
    assert cmp.p_value == pytest.approx(perm.pvalue, abs=0.05)


@pytest.mark.parametrize("ties", [False, True])
def test_closed_form_permutation_statistic_is_the_wasserstein_distance(ties):
    """Fed the true positions of the small side, each "relabelling" reproduces scipy's W."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=2000), rng.normal(0.3, size=150)
    if ties:
        a, b = np.round(a), np.round(b)
    a, b = np.sort(a), np.sort(b)
    order = np.argsort(np.concatenate([a, b]), kind="stable")
    true_positions = np.flatnonzero(order >= a.size)

    rest = np.setdiff1d(np.arange(a.size + b.size), true_positions)

    class TruePositions:
        """Stands in for the generator: every draw is the observed labelling."""

        def permuted(self, x, axis=1):
            return np.tile(np.concatenate([true_positions, rest]), (x.shape[0], 1))

    draws = ds.wasserstein_permutation(a, b, 10, TruePositions())
    assert draws == pytest.approx(np.full(10, stats.wasserstein_distance(a, b)), rel=1e-9)


def test_bridge_p_values_are_uniform_under_no_drift():
    bridges = ds.bridge_draws(1000, np.random.default_rng(0))
    rng = np.random.default_rng(9)
    p = np.array([ds.compare_numeric(rng.normal(size=2000), rng.normal(size=2500), bridges=bridges).p_value
                  for _ in range(200)])
    assert 0.02 <= np.mean(p < 0.05) <= 0.09
    assert 0.4 <= np.mean(p < 0.5) <= 0.6


# ------------------------------------------------------------------ generated truth


def shifted_frames(n: int, seed: int, *, shift: float = 0.8, n_numeric: int = 4, n_categorical: int = 4):
    """Columns num0 / cat0 shifted (num0 by ``shift`` SDs, cat0 by moving 25 points of share),
    the others drawn from one distribution for both sides."""
    rng = np.random.default_rng(seed)
    cats = np.array(["a", "b", "c", "d"])
    p_ref, p_cur = [0.4, 0.3, 0.2, 0.1], [0.15, 0.3, 0.2, 0.35]
    ref, cur = {}, {}
    for i in range(n_numeric):
        ref[f"num{i}"] = rng.normal(size=n)
        cur[f"num{i}"] = rng.normal(shift if i == 0 else 0.0, size=n)
    for i in range(n_categorical):
        ref[f"cat{i}"] = rng.choice(cats, n, p=p_ref)
        cur[f"cat{i}"] = rng.choice(cats, n, p=p_cur if i == 0 else p_ref)
    kinds = {c: "numeric" if c.startswith("num") else "categorical" for c in ref}
    return pd.DataFrame(ref), pd.DataFrame(cur), kinds


@pytest.mark.parametrize("n", [200, 5000, 200_000])
def test_shifted_columns_fail_and_unshifted_do_not(n):
    k = 2 if n > 10_000 else 4
    ref, cur, kinds = shifted_frames(n, seed=n, n_numeric=k, n_categorical=k)
    res = by_target(decide(run("drift.column", context(ref, cur, kinds))))
    assert {t for t, r in res.items() if r.status == "fail"} == {"num0", "cat0"}
    expected = ("ks", "chi2") if n <= 1000 else ("wasserstein", "jensenshannon")
    assert (res["num0"].test, res["cat0"].test) == expected
    assert all(r.n == n for r in res.values())


def test_a_tiny_shift_on_a_huge_sample_is_significant_but_does_not_fail():
    """Honest at every size: p is tiny, the effect (0.02 SD) is under its threshold."""
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=200_000)})
    cur = pd.DataFrame({"x": rng.normal(0.02, size=200_000)})
    (r,) = decide(run("drift.column", context(ref, cur, {"x": "numeric"})))
    assert r.p_value < 0.01 and r.value < 0.05 and r.status == "pass"


def test_at_most_five_percent_of_unshifted_columns_fail_over_many_seeds():
    fails = total = 0
    shared = {}                                  # one run's bridge draws, as in a real run
    for seed in range(40):
        n = 200 if seed % 2 else 2000
        ref, cur, kinds = shifted_frames(n, seed=1000 + seed, shift=0.0)
        ref, cur = ref.drop(columns=["cat0"]), cur.drop(columns=["cat0"])
        res = decide(run("drift.column", context(ref, cur, kinds, cache=shared)))
        fails += sum(r.status == "fail" for r in res)
        total += len(res)
    assert total == 40 * 7
    assert fails / total <= 0.05


# ------------------------------------------------------------------ kinds and edge cases


def test_constant_columns_report_no_drift_and_a_changed_constant_drifts():
    ref = pd.DataFrame({"same": ["x"] * 300, "moved": [1.0] * 300})
    cur = pd.DataFrame({"same": ["x"] * 400, "moved": [2.0] * 400})
    res = by_target(decide(run("drift.column", context(ref, cur, {"same": "constant", "moved": "constant"}))))
    assert res["same"].value == 0.0 and res["same"].p_value == 1.0 and res["same"].status == "pass"
    assert res["moved"].value == pytest.approx(1.0) and res["moved"].status == "fail"
    assert all(math.isfinite(r.value) for r in res.values())


def test_a_category_unseen_in_the_reference_is_named_and_tested_on_both_samples():
    ref = pd.DataFrame({"c": ["a"] * 120 + ["b"] * 80})
    cur = pd.DataFrame({"c": ["a"] * 100 + ["b"] * 60 + ["new"] * 40})
    (r,) = decide(run("drift.column", context(ref, cur, {"c": "categorical"})))
    assert r.details["new_categories"] == ["new"] and r.test == "chi2"
    expected = stats.chi2_contingency(np.array([[120, 80, 0], [100, 60, 40]]), correction=False)
    assert r.p_value == pytest.approx(expected.pvalue) and r.statistic == pytest.approx(expected.statistic)
    assert r.status == "fail"


def test_missing_cells_are_their_own_share():
    rng = np.random.default_rng(2)
    cat_cur = rng.choice(["a", "b"], 500).astype(object)
    cat_cur[:150] = None
    num_cur = rng.normal(size=500)
    num_cur[:150] = np.nan
    ref = pd.DataFrame({"c": rng.choice(["a", "b"], 500), "x": rng.normal(size=500)})
    cur = pd.DataFrame({"c": cat_cur, "x": num_cur})
    ctx = context(ref, cur, {"c": "categorical", "x": "numeric"})
    col = by_target(decide(run("drift.column", ctx)))
    assert "<missing>" in col["c"].details["new_categories"] and col["c"].status == "fail"
    assert col["x"].status == "pass" and col["x"].n == 350      # the numbers present do not drift
    (miss,) = decide(run("drift.missing", ctx))
    assert miss.target == "x" and miss.value == pytest.approx(0.3) and miss.status == "fail"
    expected = stats.chi2_contingency(np.array([[0, 500], [150, 350]]), correction=False)
    assert miss.p_value == pytest.approx(expected.pvalue)


def test_id_and_empty_columns_are_skipped_and_text_is_left_to_the_text_checks():
    ref = pd.DataFrame({"row_id": range(100), "blank": [None] * 100, "note": ["some text"] * 100})
    cur = pd.DataFrame({"row_id": range(100, 200), "blank": [None] * 100, "note": ["other text"] * 100})
    res = by_target(run("drift.column", context(ref, cur, {"row_id": "id", "blank": "empty", "note": "text"})))
    assert set(res) == {"row_id", "blank"}
    assert all(r.status == "skipped" and r.reason for r in res.values())


def test_numbers_stored_as_text_and_few_valued_numbers():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=400), rng.normal(0.5, size=400)
    ref = pd.DataFrame({"t": [f"{v:.6f}" for v in a], "k": rng.integers(0, 3, 400)})
    cur = pd.DataFrame({"t": [f" {v:.6f}" for v in b], "k": rng.integers(0, 3, 400)})
    res = by_target(run("drift.column", context(ref, cur, {"t": "numeric_text", "k": "numeric"})))
    assert res["t"].test == "ks" and res["t"].p_value == pytest.approx(stats.ks_2samp(a, b).pvalue, rel=1e-6)
    assert res["k"].test == "chi2" and res["k"].details["few_values"]


def test_kinds_are_inferred_when_the_runner_gives_none():
    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["u", "v", "w"], 300)})
    cur = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["u", "v", "w"], 300)})
    res = by_target(run("drift.column", context(ref, cur)))
    assert res["x"].details["kind"] == "numeric" and res["c"].details["kind"] == "categorical"


def test_thresholds_per_check_type_and_column():
    ref, cur, kinds = shifted_frames(500, seed=3, n_numeric=2, n_categorical=1)
    res = by_target(run("drift.column", context(ref, cur, kinds), numeric_threshold=0.05,
                        by_type={"categorical": {"threshold": 0.9}}, columns={"num0": {"threshold": 2.0}}))
    assert [res[c].details["threshold_set"] for c in ("num0", "num1", "cat0")] == [2.0, 0.05, 0.9]
    assert res["num0"].threshold == 2.0 and res["num1"].threshold == max(0.05, res["num1"].details["noise_95"])


# ------------------------------------------------------------------ labels and predictions


def test_label_drift_uses_label_names_and_scipy_chi2():
    labels = ["neg", "neu", "pos"]
    ref_y = np.repeat([0, 1, 2], [300, 300, 300])
    cur_y = np.repeat([0, 1, 2, -1], [100, 300, 480, 20])
    ctx = CheckContext(current=Side("current", None, pd.DataFrame({"t": range(900)}), y=cur_y),
                       reference=Side("reference", None, pd.DataFrame({"t": range(900)}), y=ref_y), labels=labels)
    (r,) = decide(run("drift.label", ctx))
    assert r.target == "label" and r.test == "chi2" and r.status == "fail"
    assert r.details["new_categories"] == ["<other>"]
    expected = stats.chi2_contingency(np.array([[300, 300, 300, 0], [100, 300, 480, 20]]), correction=False)
    assert r.p_value == pytest.approx(expected.pvalue)


def test_prediction_drift_labels_and_confidence():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"t": range(2000)})
    p_ref = rng.dirichlet([5, 5], 2000)
    p_cur = rng.dirichlet([1, 8], 2000)
    ref = Side("reference", None, frame, probs=p_ref, pred=p_ref.argmax(1))
    cur = Side("current", None, frame, probs=p_cur, pred=p_cur.argmax(1))
    res = by_target(decide(run("drift.prediction", CheckContext(current=cur, reference=ref, labels=["a", "b"]))))
    assert res["predicted_label"].status == "fail" and res["confidence"].status == "fail"
    assert res["confidence"].test == "wasserstein"
    w = stats.wasserstein_distance(p_ref.max(1), p_cur.max(1)) / np.std(p_ref.max(1))
    assert res["confidence"].value == pytest.approx(w)
    no_ref = CheckContext(current=cur, reference=Side("reference", None, frame), labels=["a", "b"])
    (skip,) = run("drift.prediction", no_ref)
    assert skip.status == "skipped" and "--model" in skip.reason


def test_results_are_json_safe_and_bounded():
    ref, cur, kinds = shifted_frames(3000, seed=1, n_numeric=1, n_categorical=1)
    for r in run("drift.column", context(ref, cur, kinds)):
        d = r.to_dict()
        assert len(str(d)) < 10_000 and len(d["examples"]) <= 20
        assert len(d["details"].get("histogram", {}).get("edges", [])) in (0, 21)


# ------------------------------------------------------------------ the noise floor


def test_noise_floor_covers_95_percent_of_identical_samples():
    """The floor is the effect's 95th percentile under no drift: identical samples pass it ~5 %."""
    rng = np.random.default_rng(12)
    bridges = ds.bridge_draws(1000, np.random.default_rng(0))
    over_num = over_cat = 0
    shares = [0.4, 0.3, 0.2, 0.1]
    for _ in range(200):
        cmp = ds.compare_numeric(rng.normal(size=150), rng.normal(size=250),
                                 bridges=bridges)
        over_num += cmp.effect > cmp.details["noise_95"]
        a, b = np.bincount(rng.choice(4, 150, p=shares), minlength=4), np.bincount(rng.choice(4, 250, p=shares),
                                                                                     minlength=4)
        cat = ds.compare_categorical(a, b, list("abcd"))
        over_cat += cat.effect > cat.details["noise_95"]
    assert 0.01 <= over_num / 200 <= 0.11 and 0.01 <= over_cat / 200 <= 0.11


def test_noise_floor_raises_small_sample_thresholds_only():
    ref, cur, kinds = shifted_frames(200, seed=21, shift=0.0)
    ctx = context(ref, cur, kinds)
    floored = by_target(decide(run("drift.column", ctx)))
    fixed = by_target(decide(run("drift.column", ctx, noise_floor=False)))
    assert all(r.threshold >= 0.1 and r.details["threshold_set"] == 0.1 for r in floored.values())
    assert all(r.threshold == 0.1 for r in fixed.values())
    assert sum(r.status == "warn" for r in floored.values()) <= sum(r.status == "warn" for r in fixed.values())
    big_ref, big_cur, big_kinds = shifted_frames(50_000, seed=22, n_numeric=1, n_categorical=1)
    big = by_target(run("drift.column", context(big_ref, big_cur, big_kinds)))
    assert big["num0"].threshold == 0.1 and big["cat0"].threshold == 0.1
