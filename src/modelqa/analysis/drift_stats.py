"""Two-sample drift statistics: the test chosen by kind and size, and an effect size for each.

Pure numbers in, numbers out (numpy; scipy imported lazily; no pandas, no check objects). The choice
follows Evidently's default (``stattests/registry.py::_get_default_stattest``):

- numbers, reference up to ``small_n`` (1,000) rows: the two-sample Kolmogorov-Smirnov test;
  above: the normalised Wasserstein distance, its p from the permutation null's large-sample
  limit (a Brownian bridge on the pooled quantiles, ``wasserstein_null``) when both sides have
  more than ``small_n`` rows, from an exact permutation null otherwise;
- categories (and numbers with at most ``few_values`` distinct values), reference up to
  ``small_n`` rows: the two-proportion Z test for two categories, Pearson's chi-square test on
  the 2 x K contingency table (both samples, so a category unseen in the reference is just
  another column of the table) for more; above: the Jensen-Shannon distance, its p from the
  G test on the same table (G = 2 N x the sample-weighted JS divergence, so the test and the
  distance read the same table).

Whatever the test, the effect the threshold is compared with is the same for a kind: the
Wasserstein distance over the reference's standard deviation for numbers, the Jensen-Shannon
distance (base 2, in [0, 1]) for categories. So the verdict does not change meaning at 1,000
rows, and neither a huge sample (tiny p, tiny effect) nor a small one (large effect by noise,
large p) fails a column on its own. Each comparison also gives ``details["noise_95"]``: the
effect's 95th percentile under "same distribution" at these sample sizes (the checks' noise
floor for the threshold).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

SMALL_N = 1000
FEW_VALUES = 5
BRIDGE_GRID = 1000


@dataclass(frozen=True)
class Comparison:
    """The outcome of one two-sample comparison."""

    test: str             # "ks", "wasserstein", "z", "chi2", "jensenshannon"
    statistic: float      # the test's statistic (D, W, z, chi2, G)
    p_value: float
    metric: str           # "wasserstein_norm" or "jensenshannon"
    effect: float         # compared with the threshold
    details: dict = field(default_factory=dict)


# ------------------------------------------------------------------ numbers


def merge_sorted(a_sorted: np.ndarray, b_sorted: np.ndarray) -> np.ndarray:
    """The pooled sorted sample (a stable sort of two sorted runs is one linear merge)."""
    return np.sort(np.concatenate([a_sorted, b_sorted]), kind="stable")


def wasserstein_sorted(a_sorted: np.ndarray, b_sorted: np.ndarray) -> float:
    """First Wasserstein distance as the area between the quantile functions, integral over
    u in (0, 1] of |Q_a(u) - Q_b(u)| (equals ``scipy.stats.wasserstein_distance``). The
    breakpoints i / n and j / m are merged as integers over the common denominator n * m, so
    the quantile indices are exact and no search over the data is needed."""
    n, m = a_sorted.size, b_sorted.size
    if n == m:
        return float(np.mean(np.abs(a_sorted - b_sorted)))
    ticks = np.sort(np.concatenate([np.arange(1, n + 1, dtype=np.int64) * m,
                                    np.arange(1, m + 1, dtype=np.int64) * n]), kind="stable")
    ticks = ticks[np.concatenate([[True], ticks[1:] != ticks[:-1]])]
    du = np.diff(ticks, prepend=0) / (n * m)
    qa = a_sorted[(ticks + m - 1) // m - 1]
    qb = b_sorted[(ticks + n - 1) // n - 1]
    return float(np.abs(qa - qb) @ du)


def scale_of(ref: np.ndarray, cur: np.ndarray) -> float:
    """The reference's standard deviation; the pooled one when the reference is constant;
    0 when both are (then the distance is 0 too)."""
    s = float(np.std(ref)) if ref.size else 0.0
    if s > 0:
        return s
    pooled = np.concatenate([ref, cur])
    return float(np.std(pooled)) if pooled.size else 0.0


def bridge_draws(n_resamples: int, rng: np.random.Generator, grid: int = BRIDGE_GRID) -> np.ndarray:
    """``|B(u_k)|`` of ``n_resamples`` Brownian bridges at the block midpoints u_k = (k + 0.5) / grid:
    shape (n_resamples, grid). Shared by every column of a run (the grid is in quantile levels)."""
    u = (np.arange(grid) + 0.5) / grid
    var = np.diff(np.concatenate([[0.0], u, [1.0]]))
    steps = rng.standard_normal((n_resamples, grid + 1), dtype=np.float32)
    steps *= np.sqrt(var).astype(np.float32)
    w = np.cumsum(steps, axis=1)
    return np.abs(w[:, :grid] - u.astype(np.float32) * w[:, grid:grid + 1])


def pooled_order_statistics(a_sorted: np.ndarray, b_sorted: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """The values at 0-based ``ranks`` of the pooled sorted sample, without merging: for each
    rank a vectorised binary search for how many of its predecessors come from ``a``
    (O(len(ranks) log n) instead of an O(n + m) merge)."""
    n, m = a_sorted.size, b_sorted.size
    r = np.asarray(ranks, dtype=np.int64)
    lo = np.maximum(0, r + 1 - m)
    hi = np.minimum(r + 1, n)
    while np.any(lo < hi):
        active = lo < hi
        mid = (lo + hi) // 2
        j = r + 1 - mid                       # taken from b when mid come from a
        take_more_a = np.zeros_like(active)
        idx = np.flatnonzero(active)
        take_more_a[idx] = a_sorted[mid[idx]] < b_sorted[j[idx] - 1]
        lo = np.where(active & take_more_a, mid + 1, lo)
        hi = np.where(active & ~take_more_a, mid, hi)
    i = lo
    from_a = np.where(i > 0, a_sorted[np.maximum(i - 1, 0)], -np.inf)
    from_b = np.where(r + 1 - i > 0, b_sorted[np.clip(r - i, 0, m - 1)], -np.inf)
    return np.maximum(from_a, from_b)


def wasserstein_null(a_sorted: np.ndarray, b_sorted: np.ndarray, bridges: np.ndarray) -> np.ndarray:
    """Draws of W under "same distribution", from the large-sample limit of the permutation
    null: sqrt(1/n_a + 1/n_b) * integral |B(H(x))| dx, H the pooled ECDF, the integral summed
    over ``grid`` blocks of pooled quantiles."""
    grid = bridges.shape[1]
    n_a, n_b = a_sorted.size, b_sorted.size
    size = n_a + n_b
    edges = np.minimum((np.arange(grid + 1) * size) // grid, size - 1)
    widths = np.diff(pooled_order_statistics(a_sorted, b_sorted, edges))
    # einsum, not ``@``: a BLAS matrix-vector product spins up its thread pool, 15x slower here
    # on a busy 2-core machine
    draws = np.einsum("ij,j->i", bridges, widths.astype(bridges.dtype))
    return math.sqrt(1.0 / n_a + 1.0 / n_b) * draws.astype(np.float64)


def wasserstein_permutation(a_sorted: np.ndarray, b_sorted: np.ndarray, n_resamples: int,
                            rng: np.random.Generator, batch: int = 100) -> np.ndarray:
    """Draws of W from its exact permutation null, for when one side is small (m rows; the other n): each relabelling
    picks the m pooled positions of the small side, and W is summed in closed form over the
    m + 1 blocks between them, so a draw costs O(m), not O(n + m).

    On the pooled sorted values z_j, with c small-side values at or before j, the ECDF gap is
    g(j) = (j + 1) / n - c (1/n + 1/m): linear in j inside a block, so the sum of |g(j)| dz_j
    over a block splits at its zero and reads off two prefix sums (of dz_j and (j + 1) dz_j)."""
    z = merge_sorted(a_sorted, b_sorted)
    size = z.size
    m = min(a_sorted.size, b_sorted.size)
    n = size - m
    dz = np.diff(z)
    p0 = np.concatenate([[0.0], np.cumsum(dz)])
    p1 = np.concatenate([[0.0], np.cumsum(np.arange(1, size) * dz)])
    kappa = 1.0 / n + 1.0 / m
    c = np.arange(m + 1, dtype=float)
    cut = np.ceil(c * kappa * n - 1).astype(np.int64)

    def part(lo, hi):
        return (p1[hi] - p1[lo]) / n - c * kappa * (p0[hi] - p0[lo])

    draws = []
    done = 0
    while done < n_resamples:
        k = min(batch, n_resamples - done)
        if size <= 20_000:                   # k random permutations at once
            pos = rng.permuted(np.broadcast_to(np.arange(size), (k, size)), axis=1)[:, :m]
        else:
            pos = np.stack([rng.choice(size, m, replace=False) for _ in range(k)])
        pos = np.sort(pos, axis=1)
        lo = np.minimum(np.concatenate([np.zeros((k, 1), dtype=np.int64), pos], axis=1), size - 1)
        hi = np.concatenate([pos, np.full((k, 1), size - 1, dtype=np.int64)], axis=1)
        t = np.clip(cut, lo, hi)
        draws.append((part(t, hi) - part(lo, t)).sum(axis=1))
        done += k
    return np.concatenate(draws)


def null_p(null: np.ndarray, observed: float) -> float:
    """(1 + draws at least the observed) / (1 + draws): never 0."""
    return (1 + int(np.sum(null >= observed * (1 - 1e-12)))) / (1 + null.size)


def compare_numeric(ref: np.ndarray, cur: np.ndarray, *, small_n: int = SMALL_N,
                    bridges: np.ndarray | None = None, n_resamples: int = 1000,
                    rng: np.random.Generator | None = None, presorted: bool = False) -> Comparison:
    """Two non-empty samples of finite numbers (with more than ``few_values`` distinct values
    over both; fewer go to ``compare_categorical``). ``bridges``: ``bridge_draws`` shared
    between columns (drawn here when None). ``presorted``: both inputs are sorted already."""
    rng = rng if rng is not None else np.random.default_rng(0)
    a = np.asarray(ref, dtype=float)
    b = np.asarray(cur, dtype=float)
    if not presorted:
        a, b = np.sort(a), np.sort(b)
    w = wasserstein_sorted(a, b)
    scale = scale_of(a, b)
    effect = w / scale if scale > 0 else 0.0
    details = {"scale": scale, "wasserstein": w, "reference": _summary(a), "current": _summary(b),
               "histogram": _histogram(a, b)}
    if a.size > small_n and min(a.size, b.size) <= small_n:
        null = wasserstein_permutation(a, b, n_resamples, rng)
        details["null"] = "permutation"
    else:                                    # also the noise level of the KS route (cheap)
        if bridges is None:
            bridges = bridge_draws(n_resamples, rng)
        null = wasserstein_null(a, b, bridges)
        details["null"] = "brownian_bridge"
    details["noise_95"] = float(np.quantile(null, 0.95)) / scale if scale > 0 else 0.0
    if a.size <= small_n:
        from scipy.stats import ks_2samp  # scipy.stats costs a second of start-up: lazily

        with warnings.catch_warnings():      # ties: scipy falls back to the asymptotic p
            warnings.simplefilter("ignore", RuntimeWarning)
            res = ks_2samp(a, b)
        return Comparison("ks", float(res.statistic), float(res.pvalue), "wasserstein_norm", effect, details)
    return Comparison("wasserstein", w, null_p(null, w), "wasserstein_norm", effect, details)


def sorted_quantiles(x: np.ndarray, levels) -> np.ndarray:
    """Quantiles of a sorted sample by linear interpolation (numpy's default method)."""
    pos = np.asarray(levels, dtype=float) * (x.size - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, x.size - 1)
    return x[lo] + (x[hi] - x[lo]) * (pos - lo)


def _summary(x: np.ndarray) -> dict:
    """Mean, std and quantiles of a sorted, non-empty sample."""
    q = sorted_quantiles(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {"n": int(x.size), "mean": float(np.mean(x)), "std": float(np.std(x)),
            "p05": float(q[0]), "p25": float(q[1]), "p50": float(q[2]), "p75": float(q[3]),
            "p95": float(q[4])}


def _histogram(a: np.ndarray, b: np.ndarray, bins: int = 20) -> dict:
    """Shares per bin on common edges (both samples sorted): bounded, whatever the row count."""
    lo, hi = float(min(a[0], b[0])), float(max(a[-1], b[-1]))
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    inner = edges[1:-1]
    ha = np.diff(np.concatenate([[0], np.searchsorted(a, inner, side="left"), [a.size]])) / a.size
    hb = np.diff(np.concatenate([[0], np.searchsorted(b, inner, side="left"), [b.size]])) / b.size
    return {"edges": edges.tolist(), "reference": ha.tolist(), "current": hb.tolist()}


# ------------------------------------------------------------------ categories


def jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance, base 2 (equals ``scipy.spatial.distance.jensenshannon(p, q, 2)``)."""
    p = np.asarray(p, dtype=float) / np.sum(p)
    q = np.asarray(q, dtype=float) / np.sum(q)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(math.sqrt(max((kl_p + kl_q) / 2, 0.0)))


def jensenshannon_noise(n_ref: float, n_cur: float, k: int, level: float = 0.95) -> float:
    """The ``level`` quantile of the JS distance (base 2) between two samples of one
    distribution over k categories: for small differences JSD = chi2 * N / (8 n m ln 2), and
    chi2 follows chi2(k - 1) under "same distribution"."""
    if k < 2:
        return 0.0
    total = n_ref + n_cur
    return float(math.sqrt(_special().chdtri(k - 1, 1 - level) * total / (8 * n_ref * n_cur * math.log(2))))


def _special():
    import scipy.special

    return scipy.special


def _chi2_sf(stat: float, dof: int) -> float:
    """Upper tail of chi2(dof) (``scipy.stats.chi2.sf``)."""
    return float(_special().chdtrc(dof, stat))


def _expected(table: np.ndarray) -> np.ndarray:
    return np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()


def pearson_chi2(table: np.ndarray) -> tuple[float, float, int]:
    """Pearson's chi-square on a 2 x K table of counts: (statistic, p, dof)."""
    table = np.asarray(table, dtype=float)
    e = _expected(table)
    stat = float(np.sum((table - e) ** 2 / e))
    dof = table.shape[1] - 1
    return stat, _chi2_sf(stat, dof), dof


def g_test(table: np.ndarray) -> tuple[float, float, int]:
    """The likelihood-ratio (G) test on a 2 x K table: G = 2 sum O ln(O / E)."""
    table = np.asarray(table, dtype=float)
    e = _expected(table)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(2 * np.where(table > 0, table * np.log(table / e), 0.0).sum())
    dof = table.shape[1] - 1
    return stat, _chi2_sf(stat, dof), dof


def two_proportion_z(table: np.ndarray) -> tuple[float, float]:
    """The pooled two-proportion Z test on a 2 x 2 table (rows: samples): (z, two-sided p)."""
    table = np.asarray(table, dtype=float)
    n1, n2 = table.sum(axis=1)
    p1, p2 = table[0, 0] / n1, table[1, 0] / n2
    pooled = (table[0, 0] + table[1, 0]) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p1 - p2) / se
    return float(z), float(2 * _special().ndtr(-abs(z)))


def compare_categorical(ref_counts: np.ndarray, cur_counts: np.ndarray, names: list[str], *,
                        small_n: int = SMALL_N) -> Comparison:
    """Counts per category on each side, in the order of ``names`` (categories of both sides;
    a category with 0 rows on both sides is dropped)."""
    table = np.vstack([np.asarray(ref_counts, dtype=float), np.asarray(cur_counts, dtype=float)])
    keep = table.sum(axis=0) > 0
    table = table[:, keep]
    names = [n for n, k in zip(names, keep, strict=True) if k]
    n_ref, n_cur = table.sum(axis=1)
    effect = jensenshannon(table[0], table[1]) if table.shape[1] > 1 else 0.0
    p_ref, p_cur = table[0] / n_ref, table[1] / n_cur
    order = np.argsort(-np.abs(p_cur - p_ref), kind="stable")
    details = {
        "categories": len(names),
        "new_categories": [names[i] for i in range(len(names)) if table[0, i] == 0][:20],
        "gone_categories": [names[i] for i in range(len(names)) if table[1, i] == 0][:20],
        "shares": [{"category": names[i], "reference_share": float(p_ref[i]),
                    "current_share": float(p_cur[i]), "reference_count": int(table[0, i]),
                    "current_count": int(table[1, i])} for i in order[:20]],
    }
    details["noise_95"] = jensenshannon_noise(n_ref, n_cur, table.shape[1])
    if table.shape[1] < 2:                       # one value on both sides: nothing can differ
        test = "z" if n_ref <= small_n else "jensenshannon"
        return Comparison(test, 0.0, 1.0, "jensenshannon", 0.0, details)
    if n_ref <= small_n:
        if table.shape[1] == 2:
            z, p = two_proportion_z(table)
            return Comparison("z", z, p, "jensenshannon", effect, details)
        stat, p, dof = pearson_chi2(table)
        details["dof"] = dof
        return Comparison("chi2", stat, p, "jensenshannon", effect, details)
    stat, p, dof = g_test(table)
    details["dof"] = dof
    details["p_from"] = "g_test"
    return Comparison("jensenshannon", stat, p, "jensenshannon", effect, details)


def proportion_difference(k_ref: int, n_ref: int, k_cur: int, n_cur: int) -> tuple[float, float, float]:
    """(current share - reference share, z, two-sided p) for one binary property (missing cells)."""
    diff = k_cur / n_cur - k_ref / n_ref
    if k_ref + k_cur in (0, n_ref + n_cur):
        return diff, 0.0, 1.0
    z, p = two_proportion_z(np.array([[k_ref, n_ref - k_ref], [k_cur, n_cur - k_cur]]))
    return diff, -z, p
