"""Label issues by confident learning (``analysis.confident_learning``), on both inputs.

- ``label_issues.current``: the model's probabilities on ``--current``, which are out of sample
  there (the model did not train on the test set);
- ``label_issues.reference``: out-of-fold probabilities of a cheap model fitted by modelqa on
  ``--reference`` (``analysis.oof``, ``ctx.cv`` folds), since a model's probabilities on its own
  training rows are not out of sample.

The result's value is the share of labelled rows flagged, compared with ``threshold``; it is an
exact count (no p-value). Examples are the flagged rows worst first (lowest probability of the
given label) with the given label, the suggested one and the margin. Nothing is removed.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import MAX_EXAMPLES, CheckConfig, CheckResult, skipped
from modelqa.analysis.confident_learning import find_label_issues
from modelqa.analysis.oof import out_of_fold_probs
from modelqa.data.schema import row_numbers

DEFAULTS = {
    "threshold": 0.05,              # share of labelled rows flagged above which the check fails
    "min_n": 50,                    # fewer labelled rows: warn at most
    "min_examples_per_class": 1,    # a class with at most this many rows is not pruned
    "max_text_chars": 300,          # texts in examples are cut to this length
}
#: the reference is judged with a cheap model, whose own mistakes add flags: a looser default
REFERENCE_DEFAULTS = {**DEFAULTS, "threshold": 0.10}
CATEGORY = "label_issues"
MAX_JOINT_CLASSES = 20              # the confident joint goes into details up to this many classes


def _examples(side: Side, ctx: CheckContext, cfg: CheckConfig, rows: np.ndarray, labels: np.ndarray,
              probs: np.ndarray, found) -> list[dict]:
    names = ctx.labels or [str(i) for i in range(probs.shape[1])]
    numbers = row_numbers(side.frame)
    cut = int(cfg.get("max_text_chars", DEFAULTS["max_text_chars"]))
    out = []
    for i in found.ranked[:MAX_EXAMPLES]:
        r = int(rows[i])
        ex = {"row": int(numbers[r]), "given_label": names[int(labels[i])],
              "suggested_label": names[int(found.suggested[i])],
              "p_given": round(float(found.self_confidence[i]), 6),
              "p_suggested": round(float(probs[i, found.suggested[i]]), 6),
              "margin": round(float(found.margin[i]), 6)}
        if ctx.id_col and ctx.id_col in side.frame.columns:
            ex["id"] = side.frame[ctx.id_col].iloc[r]
        if side.texts is not None:
            text = side.texts[r] if isinstance(side.texts[r], str) else ""
            ex["text"] = text if len(text) <= cut else text[:cut] + "…"
        out.append(ex)
    return out


def _judge(check: str, side: Side, ctx: CheckContext, cfg: CheckConfig, probs: np.ndarray,
           source: str, extra: dict) -> CheckResult:
    """Run confident learning on the labelled rows of ``side`` with ``probs`` (one row per frame row)."""
    start = time.perf_counter()
    y = np.asarray(side.y)
    rows = np.flatnonzero(y >= 0)
    labels, p = y[rows].astype(np.int64), np.asarray(probs)[rows]
    if len(np.unique(labels)) < 2:
        return skipped(check, CATEGORY, f"{side.name}: fewer than 2 classes among the labelled rows", side.name)
    found = find_label_issues(labels, p, min_examples_per_class=int(cfg.get("min_examples_per_class", 1)))
    names = ctx.labels or [str(i) for i in range(p.shape[1])]
    n, k = len(labels), found.n_issues
    pairs = Counter((names[int(labels[i])], names[int(found.suggested[i])]) for i in found.ranked)
    details = {
        "source": source, "n_flagged": k, "n_labelled": n,
        "n_unlabelled": int(len(y) - n),
        "flagged_per_class": {names[c]: int(found.mask[labels == c].sum()) for c in range(p.shape[1])},
        "flagged_pairs": [{"given_label": g, "suggested_label": s, "count": c} for (g, s), c in pairs.most_common(20)],
        "small_classes": [names[c] for c in found.small_classes],
        "method": "confident learning, pruned by noise rate (equals cleanlab.filter.find_label_issues defaults)",
        **extra,
    }
    if p.shape[1] <= MAX_JOINT_CLASSES:
        details["confident_joint"] = found.joint.tolist()
    return CheckResult(check=check, category=CATEGORY, target=side.name, metric="label_issue_share",
                       value=k / n, threshold=float(cfg.get("threshold")),
                       bad_when="above", p_value=None, n=n, min_n=int(cfg.get("min_n", DEFAULTS["min_n"])),
                       examples=tuple(_examples(side, ctx, cfg, rows, labels, p, found)), details=details,
                       seconds=time.perf_counter() - start)


@register("label_issues.current", requires=("labels", "probs"), defaults=DEFAULTS,
          description="rows of --current whose label the model's probabilities contradict (confident learning)")
def current(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    side = ctx.current
    return [_judge(cfg.name, side, ctx, cfg, side.probs, "the model's probabilities (out of sample on --current)", {})]


@register("label_issues.reference", requires=("reference", "reference_labels"), defaults=REFERENCE_DEFAULTS,
          description="rows of --reference whose label a cross-validated cheap model contradicts")
def reference(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    side = ctx.reference
    start = time.perf_counter()
    y = np.asarray(side.y)
    rows = np.flatnonzero(y >= 0)
    k = len(ctx.labels) if ctx.labels else int(y.max()) + 1
    if len(np.unique(y[rows])) < 2:
        return [skipped(cfg.name, CATEGORY, "reference: fewer than 2 classes among the labelled rows", side.name)]
    texts = side.texts if ctx.text_col and side.texts is not None else None
    features = [c for c in ctx.feature_cols if c in side.frame.columns and c != ctx.text_col]
    if texts is None and not features:
        return [skipped(cfg.name, CATEGORY, "reference: no text column and no feature columns to fit a model on",
                        side.name)]

    def fit():
        return out_of_fold_probs(y[rows], n_classes=k,
                                 texts=[texts[i] for i in rows] if texts is not None else None,
                                 frame=side.frame.iloc[rows], feature_cols=features, cv=ctx.cv, seed=ctx.seed,
                                 path=side.path or side.name)

    oof = ctx.memo(f"oof:reference:{ctx.cv}:{ctx.seed}", fit)
    probs = np.zeros((side.n, k))
    probs[rows] = oof.probs
    agree = float(np.mean(oof.probs.argmax(axis=1) == y[rows]))
    majority = float(np.bincount(y[rows]).max() / len(rows))
    if agree <= majority:
        return [skipped(cfg.name, CATEGORY, f"reference: the cross-validated cheap model ({oof.model}) is no better "
                        f"than always predicting the most frequent class (accuracy {agree:.3f} vs {majority:.3f}); "
                        "its disagreements with the labels are no evidence of label errors", side.name)]
    result = _judge(cfg.name, side, ctx, cfg, probs, oof.model,
                    {"model": oof.model, "folds": oof.folds, "features": list(oof.features),
                     "model_accuracy": agree})      # out-of-fold accuracy on the given labels
    return [result.with_(seconds=time.perf_counter() - start)]
