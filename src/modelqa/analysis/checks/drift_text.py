"""Drift of text columns: a domain classifier, text properties, and the model's embeddings.

- ``drift.text``: can a classifier tell current texts from reference texts? Logistic regression
  on TF-IDF character n-grams (``char_wb``, 1 to 3: no word list, so Korean works as well as
  English), trained on a stratified half of the pooled rows, scored on the other half. Effect:
  the held-out ROC-AUC (0.5 = indistinguishable; threshold 0.55, Evidently's). p: under "same
  distribution" the held-out labels are exchangeable with the held-out scores, so the AUC's null
  is the Mann-Whitney U null: a permutation null (``n_resamples`` relabellings) below
  ``small_n`` held-out rows, its normal limit above.
- ``drift.text_property``: per property, compared like a numeric column (``drift.column``'s
  tests and thresholds): length in characters; length in tokens (the model's tokenizer, else
  words split on white space); the share of Hangul, Latin letters and digits; with a model
  tokenizer the truncation rate under ``max_length`` (a yes / no category) and the share of
  unknown tokens.
- ``drift.embedding``: the domain classifier on the model's pooled embeddings.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from modelqa.analysis import drift_stats as ds
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.drift import CATEGORY, COMMON, compare_series, with_noise_floor
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import CheckConfig, CheckResult, skipped

HANGUL = r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]"
LATIN = r"[A-Za-z\u00c0-\u024f]"
DIGIT = r"[0-9]"
NO_TEXT = "no text column (--text-col, or a feature column of kind text)"
DOMAIN_DEFAULTS = {"threshold": 0.55, "max_rows": 5000, "small_n": ds.SMALL_N, "min_n": 30, "noise_floor": True}


def text_columns(ctx: CheckContext) -> list[str]:
    """The text column and every feature column of kind "text" present in both inputs."""
    cols = [ctx.text_col] if ctx.text_col else []
    cols += [c for c in ctx.feature_cols if ctx.column_kinds.get(c) == "text" and c not in cols]
    return [c for c in cols if c in ctx.current.frame.columns]


def texts_of(side: Side, col: str, ctx: CheckContext) -> list[str]:
    if col == ctx.text_col and side.texts is not None:
        return list(side.texts)
    return side.frame[col].astype("string").fillna("").tolist()


def _sample(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= cap else np.sort(rng.choice(n, cap, replace=False))


def domain_classifier(ref_x, cur_x, *, seed: int, n_resamples: int, small_n: int,
                      featurize: str = "char") -> dict:
    """Held-out ROC-AUC of a reference-vs-current classifier and its one-sided p.

    ``ref_x`` / ``cur_x``: lists of texts (``featurize="char"``) or embedding arrays
    (``featurize="dense"``). Returns auc, p, u, the held-out sizes, the held-out rows (indices
    into the pooled rows) with their scores, and the n-grams most typical of each side."""
    from scipy import stats
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    n_ref, n_cur = len(ref_x), len(cur_x)
    y = np.r_[np.zeros(n_ref, dtype=int), np.ones(n_cur, dtype=int)]
    idx = np.arange(n_ref + n_cur)
    train, test = train_test_split(idx, test_size=0.5, stratify=y, random_state=seed)
    if featurize == "char":
        pooled = list(ref_x) + list(cur_x)
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, max_features=100_000,
                              sublinear_tf=True, dtype=np.float32)
        x_train = vec.fit_transform([pooled[i] for i in train])
        x_test = vec.transform([pooled[i] for i in test])
    else:
        pooled_arr = np.vstack([np.asarray(ref_x, dtype=np.float32), np.asarray(cur_x, dtype=np.float32)])
        scaler = StandardScaler().fit(pooled_arr[train])
        x_train, x_test = scaler.transform(pooled_arr[train]), scaler.transform(pooled_arr[test])
    clf = LogisticRegression(max_iter=1000, class_weight="balanced")
    clf.fit(x_train, y[train])
    scores = clf.decision_function(x_test)
    s_cur, s_ref = scores[y[test] == 1], scores[y[test] == 0]
    n_test = len(test)
    if n_test < small_n:
        method = stats.PermutationMethod(n_resamples=n_resamples, rng=np.random.default_rng(seed))
    else:
        method = "asymptotic"
    res = stats.mannwhitneyu(s_cur, s_ref, alternative="greater", method=method)
    out = {"auc": float(res.statistic) / (len(s_cur) * len(s_ref)), "p": float(res.pvalue),
           "u": float(res.statistic), "n_test_reference": len(s_ref), "n_test_current": len(s_cur),
           "test_rows": test, "scores": scores, "null": "permutation" if n_test < small_n else "normal"}
    if featurize == "char":
        names = vec.get_feature_names_out()
        order = np.argsort(clf.coef_[0])
        out["typical_current"] = [str(names[i]) for i in order[::-1][:10]]
        out["typical_reference"] = [str(names[i]) for i in order[:10]]
    return out


def _domain_result(check: str, target: str, ref_x, cur_x, texts: list[str], *, ctx: CheckContext,
                   cfg: CheckConfig, featurize: str) -> CheckResult:
    t0 = time.perf_counter()
    if min(len(ref_x), len(cur_x)) < 2:
        return skipped(check, CATEGORY, "fewer than 2 rows on a side", target=target)
    try:
        dc = domain_classifier(ref_x, cur_x, seed=ctx.seed, n_resamples=int(ctx.n_resamples),
                               small_n=int(cfg.get("small_n", ds.SMALL_N, column=target)), featurize=featurize)
    except ValueError as exc:                # e.g. every text empty: no n-gram to learn from
        if "empty vocabulary" not in str(exc):
            raise
        return skipped(check, CATEGORY, "the texts have no character n-gram seen twice", target=target)
    n_ref = len(ref_x)
    order = np.argsort(-dc["scores"])
    rows = dc["test_rows"]
    examples = []
    for side, picks in (("current", order[:10]), ("reference", order[::-1][:10])):
        for j in picks:
            i = int(rows[j])
            if (i >= n_ref) == (side == "current"):
                examples.append({"side": side, "text": texts[i][:300], "score": float(dc["scores"][j])})
    details = {k: dc[k] for k in ("u", "n_test_reference", "n_test_current", "null",
                                  "typical_current", "typical_reference") if k in dc}
    n1, n0 = dc["n_test_current"], dc["n_test_reference"]
    noise = 0.5 + 1.6448536269514722 * np.sqrt((n1 + n0 + 1) / (12 * n1 * n0))   # the AUC's null
    base = float(cfg.get("threshold", 0.55, column=target))
    details.update(n_reference=n_ref, n_current=len(cur_x), noise_95=float(noise), threshold_set=base)
    return CheckResult(check=check, category=CATEGORY, target=target, metric="roc_auc", value=dc["auc"],
                       threshold=with_noise_floor(base, noise, cfg, column=target), bad_when="above",
                       p_value=dc["p"], n=int(min(n_ref, len(cur_x))),
                       min_n=int(cfg.get("min_n", 30, column=target)), test="mannwhitney",
                       statistic=dc["u"], examples=tuple(examples[:20]), details=details,
                       seconds=time.perf_counter() - t0)


@register("drift.text", requires=("reference",), defaults=dict(DOMAIN_DEFAULTS),
          description="text drift: a domain classifier on character n-grams (held-out ROC-AUC)")
def text_drift(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    if not text_columns(ctx):
        return [skipped("drift.text", CATEGORY, NO_TEXT)]
    out = []
    rng = np.random.default_rng([ctx.seed, 5])
    for col in text_columns(ctx):
        if col not in ctx.reference.frame.columns:
            out.append(skipped("drift.text", CATEGORY, "the column is not in --reference", target=col))
            continue
        cap = int(cfg.get("max_rows", 5000, column=col))
        ref_all, cur_all = texts_of(ctx.reference, col, ctx), texts_of(ctx.current, col, ctx)
        ref = [ref_all[i] for i in _sample(len(ref_all), cap, rng)]
        cur = [cur_all[i] for i in _sample(len(cur_all), cap, rng)]
        out.append(_domain_result("drift.text", col, ref, cur, ref + cur, ctx=ctx, cfg=cfg, featurize="char"))
    return out


def char_properties(texts: list[str]) -> dict[str, np.ndarray]:
    """Length in characters and words, share of Hangul / Latin / digit characters per text."""
    s = pd.Series(texts, dtype="string").fillna("")
    chars = s.str.len().to_numpy(dtype=float)
    denom = np.maximum(chars, 1)
    return {
        "chars": chars,
        "words": s.str.split().str.len().fillna(0).to_numpy(dtype=float),
        "hangul_share": s.str.count(HANGUL).to_numpy(dtype=float) / denom,
        "latin_share": s.str.count(LATIN).to_numpy(dtype=float) / denom,
        "digit_share": s.str.count(DIGIT).to_numpy(dtype=float) / denom,
    }


def token_properties(texts: list[str], ctx: CheckContext) -> dict[str, np.ndarray]:
    """With a model tokenizer: tokens per text, truncated or not, share of unknown tokens."""
    model = ctx.model
    ids = model.tokenize(texts)
    lengths = np.fromiter((len(t) for t in ids), dtype=float, count=len(ids))
    out = {"tokens": lengths}
    if model.max_length:
        out["truncated"] = np.where(lengths > model.max_length, "yes", "no")
    if model.unk_id is not None:
        unk = np.fromiter((sum(1 for t in row if t == model.unk_id) for row in ids), dtype=float, count=len(ids))
        out["unk_share"] = unk / np.maximum(lengths, 1)
    return out


@register("drift.text_property", requires=("reference",),
          defaults={"numeric_threshold": 0.1, "categorical_threshold": 0.1, "max_rows": 20000, **COMMON},
          description="text property drift: length, tokens, Hangul / Latin / digit share, truncation, "
                      "unknown tokens")
def text_property_drift(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    if not text_columns(ctx):
        return [skipped("drift.text_property", CATEGORY, NO_TEXT)]
    out = []
    rng = np.random.default_rng([ctx.seed, 7])
    tokenizer = ctx.model is not None and ctx.model.tokenize is not None
    for col in text_columns(ctx):
        if col not in ctx.reference.frame.columns:
            out.append(skipped("drift.text_property", CATEGORY, "the column is not in --reference", target=col))
            continue
        cap = int(cfg.get("max_rows", 20000, column=col))
        props = {}
        for side in (ctx.reference, ctx.current):
            texts = texts_of(side, col, ctx)
            texts = [texts[i] for i in _sample(len(texts), cap, rng)]
            p = char_properties(texts)
            if tokenizer:
                p.update(ctx.memo(f"drift:tokens:{side.name}:{col}:{cap}", lambda t=texts: token_properties(t, ctx)))
            props[side.name] = p
        for name in props["current"]:
            kind = "categorical" if name == "truncated" else "numeric"
            res = compare_series(pd.Series(props["reference"][name]), pd.Series(props["current"][name]), kind,
                                 ctx=ctx, cfg=cfg, column=f"{col}:{name}", check="drift.text_property")
            out.append(res.with_(details={**res.details, "property": name, "column": col}))
    return out


@register("drift.embedding", requires=("reference", "text_model"), defaults={**DOMAIN_DEFAULTS, "max_rows": 2000},
          description="embedding drift: a domain classifier on the model's pooled embeddings")
def embedding_drift(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    if ctx.model is None or ctx.model.embed is None or not ctx.text_col:
        return [skipped("drift.embedding", CATEGORY, "the model gives no embeddings", target=ctx.text_col)]
    col = ctx.text_col
    cap = int(cfg.get("max_rows", 2000, column=col))
    rng = np.random.default_rng([ctx.seed, 11])
    texts, emb = [], []
    for side in (ctx.reference, ctx.current):
        all_texts = texts_of(side, col, ctx)
        pick = _sample(len(all_texts), cap, rng)
        t = [all_texts[i] for i in pick]
        texts.append(t)
        emb.append(ctx.memo(f"drift:embed:{side.name}:{cap}", lambda t=t: np.asarray(ctx.model.embed(t))))
    return [_domain_result("drift.embedding", col, emb[0], emb[1], texts[0] + texts[1], ctx=ctx, cfg=cfg,
                           featurize="dense")]
