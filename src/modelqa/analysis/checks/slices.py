"""Weak slices: subsets of ``--current`` where the model does worse than on the rest.

Two checks, on the labelled rows of ``--current`` with the model's predictions:

- ``slices.column``: each ``--slice-col`` column: one slice per category (missing values are
  a slice of their own), numeric columns with more than ``2 * bins`` distinct values binned at
  quantiles;
- ``slices.auto``: slices nobody named: text length bins (quantiles of characters), frequent
  tokens (whitespace words after NFKC and case folding, and the two-syllable pieces of Hangul
  words, so that "배송이" and "배송은" meet in "배송"), and the leaves of a shallow regression tree
  fitted on the per-row loss over the other feature columns and the text length
  (``analysis.slice_tree``): fitted on a random half of the rows, its leaves judged on the other
  half only, so that a leaf is not significant merely because the tree chose it.

A slice is listed when it holds between max(``min_share``, ``min_rows``) and ``max_share`` of the
rows; slices with exactly the same rows are merged (the first name is kept, the others become
``aliases``). Each slice is compared with the rest of the rows: value = the gap (rest minus slice
for accuracy; slice minus rest for log loss), with a seeded bootstrap interval of the gap and a
one-sided p-value (accuracy: two-proportion z test, or Fisher's exact test when an expected cell
count is below 5; log loss: Welch's t test), so the run-wide Benjamini-Hochberg correction applies.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from modelqa.analysis.checks.context import CheckContext
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import MAX_EXAMPLES, CheckConfig, CheckResult, skipped
from modelqa.analysis.slice_tree import tree_leaves
from modelqa.data.schema import as_text, row_numbers
from modelqa.data.tabular import infer_kind, parse_numbers
from modelqa.errors import UsageError
from modelqa.metrics.bootstrap import percentile_interval

CATEGORY = "slices"
METRICS = {"accuracy": "higher is better; tested with a two-proportion z / Fisher exact test",
           "log_loss": "per-row cross-entropy, lower is better; tested with Welch's t test (needs probabilities)"}
DEFAULTS = {"metric": "accuracy", "threshold": 0.05, "min_share": 0.05, "min_rows": 20, "max_share": 0.95,
            "bins": 5, "confidence": 0.95}
AUTO_DEFAULTS = {**DEFAULTS, "tree_depth": 3, "tree_categories": 20, "max_tokens": 30, "length_slices": True,
                 "token_slices": True, "tree_slices": True}
TREE_KINDS = ("numeric", "numeric_text", "boolean", "categorical")
_EDGE = re.compile(r"^\W+|\W+$")
_HANGUL = re.compile(r"[\uac00-\ud7a3]{2,}")


@dataclass
class Slice:
    source: str                      # "column", "length", "token", "tree"
    name: str                        # a readable condition
    rows: np.ndarray                 # bool over the evaluated rows
    universe: np.ndarray | None = None  # rows the comparison uses (tree, chosen tokens: a held-out half); None = all
    aliases: tuple[str, ...] = ()


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# ------------------------------------------------------------------ building slices

def _category_slices(cells: list[str | None], col: str, source: str = "column") -> list[Slice]:
    arr = np.array(["\0missing" if c is None else c for c in cells], dtype=object)
    out = []
    for value in sorted(set(arr.tolist()), key=str):
        name = f"{col} is missing" if value == "\0missing" else f"{col} = {value}"
        out.append(Slice(source, name, arr == value))
    return out


def _numeric_slices(values: np.ndarray, col: str, bins: int, source: str = "column", unit: str = "") -> list[Slice]:
    finite = np.isfinite(values)
    distinct = np.unique(values[finite])
    if len(distinct) <= 2 * bins:
        out = [Slice(source, f"{col} = {_fmt(v)}{unit}", values == v) for v in distinct]
    else:
        edges = np.unique(np.quantile(values[finite], np.linspace(0, 1, bins + 1)))
        out = []
        for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            last = i == len(edges) - 2
            rows = finite & (values >= lo) & ((values <= hi) if last else (values < hi))
            out.append(Slice(source, f"{col} in [{_fmt(lo)}, {_fmt(hi)}{']' if last else ')'}{unit}", rows))
    if (~finite).any():
        out.append(Slice(source, f"{col} is missing", ~finite))
    return out


def _kind(ctx: CheckContext, frame: pd.DataFrame, col: str) -> str:
    return ctx.column_kinds.get(col) or infer_kind(frame[col], name=str(col)).kind


def _column_slices(frame: pd.DataFrame, col: str, kind: str, bins: int) -> list[Slice]:
    if kind in ("numeric", "numeric_text"):
        return _numeric_slices(parse_numbers(frame[col])[0], col, bins)
    cells = [as_text(v) for v in frame[col].tolist()]
    return _category_slices([c.strip() if c is not None and c.strip() else None for c in cells], col)


def _token_sets(texts: list[str]) -> list[set[tuple[str, str]]]:
    out = []
    for text in texts:
        toks: set[tuple[str, str]] = set()
        for raw in unicodedata.normalize("NFKC", text).casefold().split():
            word = _EDGE.sub("", raw)
            if len(word) >= 2:
                toks.add(("word", word))
            for run in _HANGUL.findall(word):
                if len(run) > 2:
                    toks.update(("part", run[i:i + 2]) for i in range(len(run) - 1))
        out.append(toks)
    return out


def _token_slices(texts: list[str], col: str, loss: np.ndarray, *, max_tokens: int, lo: float, hi: float,
                  seed: int) -> list[Slice]:
    """Frequent tokens inside the size band. When there are more than ``max_tokens``, those with the
    highest loss gap on a random half of the rows are kept and judged on the other half only."""
    sets = _token_sets(texts)
    freq = Counter(t for s in sets for t in s)
    chosen = [t for t, c in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0])) if lo <= c <= hi]
    index = {t: j for j, t in enumerate(chosen)}
    member = np.zeros((len(texts), len(chosen)), dtype=bool)
    for i, s in enumerate(sets):
        for t in s:
            j = index.get(t)
            if j is not None:
                member[i, j] = True
    universe = None
    if len(chosen) > max_tokens:
        held = np.zeros(len(texts), dtype=bool)
        held[np.random.default_rng([seed, 1]).permutation(len(texts))[: len(texts) // 2]] = True
        pick, sel = loss[~held], member[~held]
        n_in = sel.sum(axis=0)
        sum_in = pick @ sel
        gap = sum_in / np.maximum(n_in, 1) - (pick.sum() - sum_in) / np.maximum(len(pick) - n_in, 1)
        order = np.argsort(-gap, kind="stable")[:max_tokens]
        chosen, member, universe = [chosen[j] for j in order], member[:, order], held
    return [Slice("token", f"{col} has the word '{tok}'" if kind == "word" else f"{col} contains '{tok}'",
                  member[:, j], universe=universe) for j, (kind, tok) in enumerate(chosen)]


def _select(slices: list[Slice], cfg: CheckConfig) -> list[Slice]:
    """Slices inside the size band, identical row sets merged into the first."""
    kept: dict[bytes, Slice] = {}
    for s in slices:
        universe = s.universe if s.universe is not None else np.ones(len(s.rows), dtype=bool)
        rows = s.rows & universe
        total, size = int(universe.sum()), int(rows.sum())
        floor = max(float(cfg.get("min_share")) * total, int(cfg.get("min_rows")))
        if size < max(floor, 2) or size > min(float(cfg.get("max_share")) * total, total - 2):
            continue
        key = np.packbits(universe).tobytes() + b"|" + np.packbits(rows).tobytes()
        if key in kept:
            kept[key].aliases += (s.name,)
        else:
            kept[key] = Slice(s.source, s.name, rows, universe, s.aliases)
    return list(kept.values())


# ------------------------------------------------------------------ comparing a slice with the rest

def proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[str, float, float]:
    """One-sided test that the slice's share of correct rows (k1 / n1) is below the rest's (k2 / n2):
    (test, statistic, p). Fisher's exact test (statistic: the sample odds ratio) when an expected
    cell count is below 5, else the pooled two-proportion z test."""
    n, k = n1 + n2, k1 + k2
    expected = np.outer([n1, n2], [k, n - k]) / n
    if expected.min() < 5:
        p = float(stats.hypergeom.cdf(k1, n, k, n1))
        num, den = k1 * (n2 - k2), (n1 - k1) * k2
        odds = num / den if den else (math.inf if num else math.nan)
        return "fisher", odds, min(1.0, p)
    pooled = k / n
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k2 / n2 - k1 / n1) / se
    return "z", z, float(stats.norm.sf(z))


def welch_test(a: np.ndarray, b: np.ndarray) -> tuple[str, float, float]:
    """One-sided Welch t test that mean(a) > mean(b): (test, t, p)."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return "welch_t", 0.0, 1.0 if a.mean() <= b.mean() else 0.0
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return "welch_t", float(t), float(stats.t.sf(t, df))


def _boot_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    out, batch = [], max(1, 4_000_000 // max(1, len(values)))
    for start in range(0, n_resamples, batch):
        idx = rng.integers(0, len(values), size=(min(batch, n_resamples - start), len(values)))
        out.append(values[idx].mean(axis=1))
    return np.concatenate(out)


def compare(values: np.ndarray, rows: np.ndarray, universe: np.ndarray, *, metric: str, n_resamples: int,
            confidence: float, rng: np.random.Generator) -> dict:
    """Slice vs rest: metric of each, the gap (positive = slice worse), its interval, the test."""
    s, r = values[rows & universe], values[universe & ~rows]
    if metric == "accuracy":
        k1, k2 = int(s.sum()), int(r.sum())
        test, statistic, p = proportion_test(k1, len(s), k2, len(r))
        boot_s = rng.binomial(len(s), k1 / len(s), n_resamples) / len(s)
        boot_r = rng.binomial(len(r), k2 / len(r), n_resamples) / len(r)
        m_s, m_r, gap, boot_gap = k1 / len(s), k2 / len(r), k2 / len(r) - k1 / len(s), boot_r - boot_s
    else:
        test, statistic, p = welch_test(s, r)
        boot_s, boot_r = _boot_means(s, n_resamples, rng), _boot_means(r, n_resamples, rng)
        m_s, m_r = float(s.mean()), float(r.mean())
        gap, boot_gap = m_s - m_r, boot_s - boot_r
    return {"slice_metric": m_s, "rest_metric": m_r, "gap": gap, "n_slice": len(s), "n_rest": len(r),
            "test": test, "statistic": statistic, "p": p, "interval": percentile_interval(boot_gap, confidence),
            "slice_interval": percentile_interval(boot_s, confidence)}


# ------------------------------------------------------------------ the checks

@dataclass
class _Eval:
    rows: np.ndarray        # frame positions of the evaluated (labelled) rows
    correct: np.ndarray
    loss: np.ndarray
    has_probs: bool
    pred: np.ndarray        # predicted class id per frame row


def _evaluated(ctx: CheckContext) -> _Eval:
    side = ctx.current
    y = np.asarray(side.y)
    rows = np.flatnonzero(y >= 0)
    y = y[rows]
    pred = side.pred if side.pred is not None else np.asarray(side.probs).argmax(axis=1)
    correct = (np.asarray(pred)[rows] == y).astype(float)
    if side.probs is not None:
        p = np.asarray(side.probs, dtype=float)[rows, y]
        return _Eval(rows, correct, -np.log(np.clip(p, 1e-15, 1.0)), True, np.asarray(pred))
    return _Eval(rows, correct, 1.0 - correct, False, np.asarray(pred))


def _judge(ctx: CheckContext, cfg: CheckConfig, ev: _Eval, slices: list[Slice], start: float) -> list[CheckResult]:
    """One result per slice (already selected by ``_select``)."""
    metric = cfg.get("metric", "accuracy")
    values = ev.correct if metric == "accuracy" else ev.loss
    rng = np.random.default_rng(ctx.seed)
    side, names = ctx.current, ctx.labels or []
    numbers = row_numbers(side.frame)
    out = []
    for s in slices:
        c = compare(values, s.rows, s.universe, metric=metric, n_resamples=int(ctx.n_resamples),
                    confidence=float(cfg.get("confidence", 0.95)), rng=rng)
        members = np.flatnonzero(s.rows & s.universe)
        wrong = members[ev.correct[members] == 0]
        wrong = wrong[np.argsort(-ev.loss[wrong], kind="stable")] if ev.has_probs else wrong
        examples = []
        for i in wrong[:MAX_EXAMPLES]:
            r = int(ev.rows[i])
            ex = {"row": int(numbers[r]), "label": _name(names, side.y[r]), "predicted": _name(names, ev.pred[r])}
            if ev.has_probs:
                ex["confidence"] = round(float(np.max(side.probs[r])), 6)
            if ctx.id_col and ctx.id_col in side.frame.columns:
                ex["id"] = side.frame[ctx.id_col].iloc[r]
            if side.texts is not None and isinstance(side.texts[r], str):
                ex["text"] = side.texts[r][:300]
            examples.append(ex)
        details = {"source": s.source, "aliases": list(s.aliases), "share": c["n_slice"] / (c["n_slice"] + c["n_rest"]),
                   **{k: c[k] for k in ("slice_metric", "rest_metric", "n_slice", "n_rest", "slice_interval")},
                   "metric": metric, "judged_on": "all labelled rows" if s.universe.all() else "held-out half"}
        out.append(CheckResult(check=cfg.name, category=CATEGORY, target=s.name, metric=f"{metric}_gap",
                               value=c["gap"], threshold=float(cfg.get("threshold")), bad_when="above",
                               p_value=c["p"], n=c["n_slice"], min_n=int(cfg.get("min_rows")),
                               interval=tuple(c["interval"]), test=c["test"], statistic=c["statistic"],
                               examples=tuple(examples), details=details))
    took = (time.perf_counter() - start) / max(1, len(out))
    return [r.with_(seconds=took) for r in out]


def _name(names: list[str], cid) -> str:
    cid = int(cid)
    return names[cid] if 0 <= cid < len(names) else str(cid)


def _bad_metric(cfg: CheckConfig, ev: _Eval) -> str | None:
    metric = cfg.get("metric", "accuracy")
    if metric not in METRICS:
        raise UsageError(f"{cfg.name}: metric {metric!r} is not one of {', '.join(METRICS)}")
    if metric == "log_loss" and not ev.has_probs:
        return "metric log_loss needs probabilities (--model, or prob_<label> columns in --current)"
    if len(ev.rows) < 2:
        return "fewer than 2 labelled rows in --current"
    return None


@register("slices.column", requires=("labels", "predictions", "slices"), defaults=DEFAULTS,
          description="per-slice metric of each --slice-col against the rest of the rows")
def column(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    start = time.perf_counter()
    ev = _evaluated(ctx)
    if (why := _bad_metric(cfg, ev)) is not None:
        return [skipped(cfg.name, CATEGORY, why)]
    frame = ctx.current.frame.iloc[ev.rows]
    out, candidates, owner = [], [], {}
    for col in ctx.slice_cols:
        if col not in frame.columns:
            out.append(skipped(cfg.name, CATEGORY, f"--current has no column {col!r}", col))
            continue
        for s in _column_slices(frame, col, _kind(ctx, ctx.current.frame, col), int(cfg.get("bins", 5))):
            owner[s.name] = col
            candidates.append(s)
    kept = _select(candidates, cfg)          # duplicates merged across columns too
    listed = {owner[n] for s in kept for n in (s.name, *s.aliases)}
    for col in ctx.slice_cols:
        if col in frame.columns and col not in listed:
            out.append(skipped(cfg.name, CATEGORY, f"no slice of {col!r} holds between "
                               f"max({cfg.get('min_share'):g} of rows, {cfg.get('min_rows')} rows) and "
                               f"{cfg.get('max_share'):g} of the rows", col))
    return _judge(ctx, cfg, ev, kept, start) + out


@register("slices.auto", requires=("labels", "predictions"), defaults=AUTO_DEFAULTS,
          description="automatic slices (text length, frequent tokens, a shallow tree on per-row loss) vs the rest")
def auto(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    start = time.perf_counter()
    ev = _evaluated(ctx)
    if (why := _bad_metric(cfg, ev)) is not None:
        return [skipped(cfg.name, CATEGORY, why)]
    frame = ctx.current.frame.iloc[ev.rows]
    n = len(ev.rows)
    slices: list[Slice] = []
    extra: dict[str, np.ndarray] = {}
    if ctx.current.texts is not None:
        texts = [t if isinstance(t, str) else "" for t in (ctx.current.texts[i] for i in ev.rows)]
        col = ctx.text_col or "text"
        lengths = np.array([len(t) for t in texts], dtype=float)
        extra[f"length({col})"] = lengths
        if cfg.get("length_slices", True):
            slices += _numeric_slices(lengths, f"length({col})", int(cfg.get("bins", 5)), "length", " chars")
        if cfg.get("token_slices", True):
            lo = max(float(cfg.get("min_share")) * n, int(cfg.get("min_rows")))
            slices += _token_slices(texts, col, ev.loss, max_tokens=int(cfg.get("max_tokens", 30)), lo=lo,
                                    hi=float(cfg.get("max_share")) * n, seed=ctx.seed)
    if cfg.get("tree_slices", True):
        skip = {ctx.text_col, ctx.id_col, ctx.label_col, ctx.timestamp_col}
        cols = [(c, k) for c in ctx.feature_cols if c not in skip and c in frame.columns
                and (k := _kind(ctx, ctx.current.frame, c)) in TREE_KINDS]
        if cols or extra:
            slices += [Slice("tree", name, rows, universe=held) for name, rows, held in tree_leaves(
                frame, cols, extra, ev.loss, depth=int(cfg.get("tree_depth", 3)), min_share=float(cfg.get("min_share")),
                min_rows=int(cfg.get("min_rows")), max_categories=int(cfg.get("tree_categories", 20)), seed=ctx.seed)]
    out = _judge(ctx, cfg, ev, _select(slices, cfg), start)
    return out or [skipped(cfg.name, CATEGORY, "no automatic slice holds between the size limits")]
