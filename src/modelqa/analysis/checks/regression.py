"""Regression against a baseline run: is the new model worse than the old one on the same rows?

``ctx.baseline`` is a ``RunData`` (``modelqa.api.compare.load_run(RUN_DIR)`` reads an
``evaluate`` or ``check`` run folder into one); ``ctx.current`` holds the new predictions.
The two are aligned row for row first (``align``: by id when both have one, else by
position) and refused with a ``DataError`` that says why when they are not the same rows.

* ``regression.metric_drop``: value = the drop of the primary metric (baseline − current,
  default accuracy), threshold ``max_drop`` (default 0.01 = one point); p = McNemar's exact
  test for accuracy, the paired bootstrap p for any other metric. So a drop fails only when it
  is both larger than the threshold and significant after the run-wide correction.
* ``regression.class_drop`` (not in the default suite: enable it in ``--suite``): the same
  per class on recall (or f1 / precision), paired bootstrap p, threshold ``max_drop``
  (default 0.05; per class through ``columns: {label: {max_drop: ...}}``). Off by default
  because its K extra tests enter the run-wide correction and so weaken the primary one;
  the per-class deltas are in ``metric_drop``'s details either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from modelqa.analysis import paired
from modelqa.analysis.checks.context import CheckContext
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import MAX_EXAMPLES, CheckConfig, CheckResult
from modelqa.data.schema import as_text, normalize_label
from modelqa.errors import DataError, UsageError, format_rows

#: metrics where lower is better: their "drop" is an increase
LOWER_IS_BETTER = ("log_loss", "brier_score")
TEXT_SHOWN = 200


@dataclass(frozen=True)
class RunData:
    """One run's predictions in row order: labels as class names (strings), ``probs`` ``(n, K)``
    in ``labels`` order (or None), texts and ids when the run has them."""

    name: str                              # how messages name the run (its folder)
    y_true: np.ndarray                     # object array of class names
    pred: np.ndarray
    labels: list[str]
    probs: np.ndarray | None = None
    texts: list[str] | None = None
    id_col: str | None = None
    ids: np.ndarray | None = None          # object array of ids as text
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.y_true.size)

    @property
    def correct(self) -> np.ndarray:
        return self.y_true == self.pred


@dataclass(frozen=True)
class AlignedRuns:
    """Run ``b`` reordered to ``a``'s rows; ``rows`` are 1-based row numbers of ``a``."""

    a: RunData
    b: RunData
    by: str                                # "id" or "position"
    labels: list[str]                      # a's labels, labels only b has, then true labels neither has

    @property
    def rows(self) -> np.ndarray:
        return np.arange(1, self.a.n + 1)


def _shown(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _differ(what: str, a: RunData, b: RunData, va: Sequence, vb: Sequence) -> None:
    bad = [i for i, (x, y) in enumerate(zip(va, vb, strict=True)) if x != y]
    if bad:
        first = bad[0]
        raise DataError(
            f"{a.name} and {b.name} are not predictions on the same rows: {what} differ in {len(bad)} of "
            f"{a.n} rows ({format_rows([i + 1 for i in bad], 5)}); row {first + 1} is {_shown(va[first])} "
            f"in {a.name} and {_shown(vb[first])} in {b.name}",
            hint="compare runs of the same data file, in the same row order (or with the same `id_col`)")


def _take(run: RunData, order: np.ndarray) -> RunData:
    return replace(run, y_true=run.y_true[order], pred=run.pred[order],
                   probs=None if run.probs is None else run.probs[order],
                   texts=None if run.texts is None else [run.texts[i] for i in order],
                   ids=None if run.ids is None else run.ids[order])


def _by_id(a: RunData, b: RunData) -> RunData:
    """``b`` in ``a``'s id order, or a DataError naming the ids that do not match."""
    if np.array_equal(a.ids, b.ids):
        return b
    ids_a, ids_b = a.ids.tolist(), b.ids.tolist()
    for run, ids in ((a, ids_a), (b, ids_b)):
        if len(set(ids)) != len(ids):
            seen: set = set()
            dup = next(i for i in ids if i in seen or seen.add(i))
            raise DataError(f"{a.name} and {b.name} list their ids in a different order, and {run.name} has "
                            f"the id {_shown(dup)} more than once in {run.id_col!r}, so its rows cannot be "
                            "matched by id", hint="compare runs written from the same file in the same order")
    set_a, set_b = set(ids_a), set(ids_b)
    only_a = [i for i in ids_a if i not in set_b]
    only_b = [i for i in ids_b if i not in set_a]
    if only_a or only_b:
        raise DataError(f"{a.name} and {b.name} are not predictions on the same rows: {len(only_a)} ids of "
                        f"{a.id_col!r} only in {a.name} ({', '.join(map(_shown, only_a[:3]))}), {len(only_b)} "
                        f"only in {b.name} ({', '.join(map(_shown, only_b[:3]))})",
                        hint="compare runs of the same data file")
    position = {v: i for i, v in enumerate(ids_b)}
    return _take(b, np.array([position[v] for v in ids_a], dtype=np.int64))


def align(a: RunData, b: RunData) -> AlignedRuns:
    """``a`` and ``b`` row for row, or a DataError saying why they are not the same rows:
    a different row count, different ids, or different texts / true labels at named rows."""
    if a.n != b.n:
        raise DataError(f"{a.name} has {a.n} rows and {b.name} has {b.n}: they are not predictions on the "
                        "same rows", hint="compare runs of the same data file")
    by = "position"
    if a.ids is not None and b.ids is not None:
        b = _by_id(a, b)
        by = "id"
    if a.texts is not None and b.texts is not None:
        _differ("the texts", a, b, a.texts, b.texts)
    _differ("the true labels", a, b, a.y_true.tolist(), b.y_true.tolist())
    labels = list(a.labels) + [lab for lab in b.labels if lab not in a.labels]
    labels += sorted(set(a.y_true.tolist()) - set(labels), key=str)   # true labels neither model knows
    return AlignedRuns(a=a, b=b, by=by, labels=labels)


def flips(aligned: AlignedRuns) -> dict[str, np.ndarray]:
    """0-based rows that went right -> wrong and wrong -> right from ``a`` to ``b``."""
    ca, cb = aligned.a.correct, aligned.b.correct
    return {"right_to_wrong": np.flatnonzero(ca & ~cb), "wrong_to_right": np.flatnonzero(~ca & cb)}


def flip_example(aligned: AlignedRuns, i: int, *, a_name: str = "a", b_name: str = "b") -> dict:
    a, b = aligned.a, aligned.b
    row: dict[str, Any] = {"row": int(i + 1)}
    if a.ids is not None:
        row[a.id_col or "id"] = a.ids[i]
    if a.texts is not None:
        text = a.texts[i]
        row["text"] = text if len(text) <= TEXT_SHOWN else text[:TEXT_SHOWN - 1] + "…"
    row["true_label"] = a.y_true[i]
    row[f"{a_name}_label"] = a.pred[i]
    row[f"{b_name}_label"] = b.pred[i]
    for name, run in ((a_name, a), (b_name, b)):
        if run.probs is not None:
            row[f"{name}_confidence"] = float(run.probs[i].max())
    return row


def current_run(ctx: CheckContext) -> RunData:
    """``ctx.current`` as a RunData (class names; a label outside ``ctx.labels`` as the label column has it)."""
    side, labels = ctx.current, list(ctx.labels or [])
    names = np.asarray(labels + ["?"], dtype=object)
    y = names[np.asarray(side.y)]
    outside = np.flatnonzero(np.asarray(side.y) < 0)
    if outside.size and ctx.label_col and ctx.label_col in side.frame.columns:   # keep the raw label there
        raw = side.frame[ctx.label_col].tolist()
        y[outside] = [normalize_label(raw[i]) for i in outside]
    ids = None
    if ctx.id_col and ctx.id_col in side.frame.columns:
        ids = np.asarray([as_text(v) for v in side.frame[ctx.id_col].tolist()], dtype=object)
    texts = list(side.texts) if side.texts is not None and len(side.texts) == side.n else None
    return RunData(name=str(side.path or "--current"), y_true=y, pred=names[np.asarray(side.pred)],
                   labels=labels, probs=side.probs, texts=texts, id_col=ctx.id_col if ids is not None else None,
                   ids=ids)


def _aligned(ctx: CheckContext) -> AlignedRuns:
    def compute() -> AlignedRuns:
        if not isinstance(ctx.baseline, RunData):
            raise UsageError("the baseline must be read with modelqa.api.compare.load_run(RUN_DIR), got "
                             f"{type(ctx.baseline).__name__}")
        return align(ctx.baseline, current_run(ctx))

    return ctx.memo("regression.aligned", compute)


def _deltas(ctx: CheckContext, aligned: AlignedRuns) -> paired.PairedComparison:
    return ctx.memo("regression.paired", lambda: paired.paired_deltas(
        aligned.a.y_true, aligned.a.pred, aligned.b.pred, labels=aligned.labels,
        per_class=paired.PER_CLASS_METRICS, n_resamples=ctx.n_resamples, seed=ctx.seed))


def _row_scores(run: RunData, metric: str, positive: str | None) -> np.ndarray:
    index = {lab: j for j, lab in enumerate(run.labels)}
    return paired.row_losses(np.array([index[v] for v in run.y_true.tolist()]), run.probs, metric,
                             pos=index.get(positive, 1))


def _metric_delta(ctx: CheckContext, aligned: AlignedRuns, metric: str) -> paired.PairedDelta:
    if metric in paired.CONFUSION_METRICS:
        return _deltas(ctx, aligned).metrics[metric]
    a, b = aligned.a, aligned.b
    if (a.probs is None or b.probs is None or a.labels != b.labels
            or any(lab not in a.labels for lab in a.y_true.tolist())):
        raise UsageError(f"regression.metric_drop: {metric} needs probabilities over the same labels in the "
                         "baseline and the current run")
    positive = a.info.get("positive_label")               # the baseline's positive class (two classes)
    return paired.paired_mean_delta(_row_scores(a, metric, positive), _row_scores(b, metric, positive),
                                    metric=metric, n_resamples=ctx.n_resamples, seed=ctx.seed)


def _examples(aligned: AlignedRuns, rows: np.ndarray) -> tuple[dict, ...]:
    return tuple(flip_example(aligned, int(i), a_name="baseline", b_name="current") for i in rows[:MAX_EXAMPLES])


@register("regression.metric_drop", requires=("baseline", "labels", "predictions"),
          defaults={"metric": "accuracy", "max_drop": 0.01, "min_n": 100, "test": "auto"},
          description="The primary metric dropped against the baseline run (McNemar / paired bootstrap)")
def metric_drop(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    metric = str(cfg.get("metric", "accuracy"))
    known = paired.CONFUSION_METRICS + LOWER_IS_BETTER
    if metric not in known:
        raise UsageError(f"regression.metric_drop: metric must be one of {', '.join(known)}, not {metric!r}")
    test = str(cfg.get("test", "auto"))
    if test not in ("auto", "mcnemar", "bootstrap"):
        raise UsageError(f"regression.metric_drop: test must be auto, mcnemar or bootstrap, not {test!r}")
    aligned = _aligned(ctx)
    d = _metric_delta(ctx, aligned, metric)
    mc = paired.mcnemar_exact(aligned.a.correct, aligned.b.correct)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0          # drop = how much worse the current run is
    drop = None if d.delta is None else -sign * d.delta
    interval = None if d.interval is None else tuple(sorted((-sign * d.interval[0], -sign * d.interval[1])))
    use_mcnemar = test == "mcnemar" or (test == "auto" and metric == "accuracy")
    flipped = flips(aligned)
    comparison = _deltas(ctx, aligned)
    details = {
        "baseline": aligned.a.name, "aligned_by": aligned.by, "metric": metric,
        "baseline_value": d.value_a, "current_value": d.value_b, "delta": d.delta,
        "right_to_wrong": int(flipped["right_to_wrong"].size), "wrong_to_right": int(flipped["wrong_to_right"].size),
        "mcnemar": mc.to_dict(), "bootstrap_p": d.p_value,
        "deltas": {k: v.to_dict() for k, v in comparison.metrics.items()},
        "per_class": {m: {lab: {"baseline": x.value_a, "current": x.value_b, "delta": x.delta,
                                "interval": x.interval} for lab, x in rows.items()}
                      for m, rows in comparison.per_class.items() if m in ("recall", "f1")},
    }
    return [CheckResult(
        check="regression.metric_drop", category="regression", target=metric, metric=f"{metric}_drop",
        value=drop, threshold=float(cfg.get("max_drop", 0.01)), bad_when="above",
        p_value=mc.p_value if use_mcnemar else d.p_value, n=aligned.a.n, min_n=int(cfg.get("min_n", 100)),
        interval=interval, test="mcnemar_exact" if use_mcnemar else "paired_bootstrap",
        statistic=float(mc.statistic) if use_mcnemar else d.delta,
        examples=_examples(aligned, flipped["right_to_wrong"]), details=details)]


@register("regression.class_drop", requires=("baseline", "labels", "predictions"),
          defaults={"metric": "recall", "max_drop": 0.05, "min_n": 30}, default=False,
          description="A class's recall (or F1 / precision) dropped against the baseline run")
def class_drop(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    metric = str(cfg.get("metric", "recall"))
    if metric not in paired.PER_CLASS_METRICS:
        raise UsageError(f"regression.class_drop: metric must be one of {', '.join(paired.PER_CLASS_METRICS)}, "
                         f"not {metric!r}")
    aligned = _aligned(ctx)
    per_class = _deltas(ctx, aligned).per_class[metric]
    right_to_wrong = flips(aligned)["right_to_wrong"]
    out = []
    for label, d in per_class.items():
        in_class = aligned.a.y_true == label
        support = int(in_class.sum())
        if d.delta is None:
            continue                                           # the class is in neither run's rows
        rows = right_to_wrong[in_class[right_to_wrong]]
        out.append(CheckResult(
            check="regression.class_drop", category="regression", target=label, metric=f"{metric}_drop",
            value=-d.delta, threshold=float(cfg.get("max_drop", 0.05, column=label)), bad_when="above",
            p_value=d.p_value, n=support, min_n=int(cfg.get("min_n", 30)),
            interval=None if d.interval is None else (-d.interval[1], -d.interval[0]), test="paired_bootstrap",
            statistic=d.delta, examples=_examples(aligned, rows),
            details={"baseline_value": d.value_a, "current_value": d.value_b, "delta": d.delta,
                     "right_to_wrong": int(rows.size)}))
    return out
