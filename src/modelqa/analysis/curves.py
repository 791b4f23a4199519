"""Diagnosis of learning curves: what a person reads off loss and metric curves, as findings
with an epoch and a sentence to act on. Pure computation, no drawing.

The rules, with the defaults of :class:`CurveRules` (epochs numbered from 1; "loss" below is
validation loss, or the main validation metric turned round when there is no validation loss):

``best_epoch``
    The epoch with the lowest validation loss (the first one on a tie); without a validation
    loss, the best value of the main validation metric (accuracy, else the first ``val_`` metric).
``exploding``
    A loss that is NaN or infinite, or training loss that jumps above ``explode_factor`` (3) times
    its lowest earlier value *and* by more than ``explode_min_share`` (10%) of the first epoch's
    loss (so 0.010 → 0.040 at the end of a converged run is not an explosion). The learning rate is
    too high (or the data holds extreme values).
``oscillating``
    Training loss (validation loss when there is none) that goes up by more than
    ``oscillation_rise`` (10%) of its previous value in at least ``oscillation_min_rises`` (2)
    epochs, and whose epoch-to-epoch change flips sign in at least ``oscillation_flip_share`` (50%)
    of the possible places. Needs 5 epochs. The learning rate is too high.
``overfitting``
    Validation loss reaches its minimum at epoch *b* before the last epoch, then rises while
    training loss keeps falling: with at least 2 epochs after *b* the last validation loss is more
    than ``rise_tolerance`` (5%) above the minimum; with 1 epoch after *b* it is more than
    ``sharp_rise`` (20%) above. Training loss at the last epoch must be below its value at *b*
    (by more than 1%); when it is not, the rise is not over-fitting. The finding names epoch
    *b* + 1, where the rise starts, and suggests stopping at *b*.
``large_gap``
    At the last epoch, validation loss exceeds training loss by more than ``gap_loss_ratio``
    (100%, i.e. it is more than twice the training loss), or the training value of the main metric
    (a score between 0 and 1, higher is better) exceeds the validation value by more than
    ``gap_metric`` (0.10). The loss ratio is 100% rather than 50% because fine-tuning runs that
    generalise well routinely end with validation loss 1.5× the training loss (0.2 vs 0.3).
``still_improving``
    The last epoch is the best so far: its validation loss is lower than every earlier epoch's
    by more than ``improve_tolerance`` (1% of the earlier best). Train longer. A curve that
    has flattened (last gain under 1%) or turned up is not flagged.
    Without validation data the same rule is applied to training loss.
``no_validation`` / ``too_few_epochs``
    Said plainly when a history has no validation curve, or a single epoch.
``healthy``
    None of the warnings above: the run says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from modelqa.analysis.history import History, from_records, lower_is_better

WARNING_CODES = ("exploding", "oscillating", "overfitting", "large_gap", "still_improving")


@dataclass(frozen=True)
class CurveRules:
    """Thresholds of the diagnosis (see the module docstring)."""

    rise_tolerance: float = 0.05
    sharp_rise: float = 0.20
    train_fall_tolerance: float = 0.01
    gap_loss_ratio: float = 1.0
    gap_metric: float = 0.10
    oscillation_rise: float = 0.10
    oscillation_min_rises: int = 2
    oscillation_flip_share: float = 0.5
    oscillation_min_epochs: int = 5
    explode_factor: float = 3.0
    explode_min_share: float = 0.10
    improve_tolerance: float = 0.01


@dataclass(frozen=True)
class Finding:
    """One thing the curves say. ``severity`` is ``info`` or ``warning``; ``epoch`` (1-based)
    is where it happens, or None."""

    code: str
    severity: str
    epoch: int | None
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Diagnosis:
    findings: tuple[Finding, ...]
    best_epoch: int | None
    monitor: str | None  # "val_loss", "val_<metric>", or None without validation
    n_epochs: int
    rules: CurveRules = field(default_factory=CurveRules)

    @property
    def healthy(self) -> bool:
        return not any(f.severity == "warning" for f in self.findings)

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def messages(self, *, exclude: Sequence[str] = ()) -> list[str]:
        return [f.message for f in self.findings if f.code not in exclude]

    def to_dict(self) -> dict:
        return {"best_epoch": self.best_epoch, "monitor": self.monitor, "n_epochs": self.n_epochs,
                "healthy": self.healthy, "findings": [f.to_dict() for f in self.findings],
                "rules": asdict(self.rules)}


def diagnose_records(records: Sequence[Mapping], *, rules: CurveRules | None = None) -> Diagnosis:
    """Diagnose a list of per-epoch dicts (our trainer's ``history``)."""
    return diagnose(from_records(records, source="training history"), rules=rules)


def diagnose(history: History, *, rules: CurveRules | None = None) -> Diagnosis:
    """The findings for ``history``, in reading order: best epoch, then warnings
    (exploding, oscillating, over-fitting, gap, still improving), then ``healthy``."""
    rules = rules or CurveRules()
    epochs = list(history.epochs)
    n = len(epochs)
    findings: list[Finding] = []
    train = list(history.train_loss) if history.train_loss is not None else None
    val = list(history.val_loss) if history.val_loss is not None else None
    metric = history.main_metric
    val_metric = list(history.val_metrics[metric]) if metric in history.val_metrics else None
    train_metric = list(history.train_metrics[metric]) if metric in history.train_metrics else None

    # The monitored validation curve, as "lower is better" values.
    if val is not None and _finite(val):
        monitor, score, monitor_label = "val_loss", val, "validation loss"
    elif val_metric is not None and _finite(val_metric):
        monitor, monitor_label = f"val_{metric}", f"validation {metric}"
        score = val_metric if lower_is_better(metric) else [None if v is None else -v for v in val_metric]
    else:
        monitor, score, monitor_label = None, None, None

    best = None
    if score is not None:
        i = _argmin(score)
        best = epochs[i]
        findings.append(Finding("best_epoch", "info", best, _best_message(history, i, monitor_label)))
    else:
        findings.append(Finding("no_validation", "info", None,
                                "No validation loss or metric in this history, so over-fitting cannot be judged: "
                                "keep a validation split (Keras validation_split / validation_data, "
                                "Trainer eval_strategy=\"epoch\")."))
    if n == 1:
        findings.append(Finding("too_few_epochs", "info", epochs[0],
                                "Only one epoch: trends cannot be judged. Train for several epochs with "
                                "early stopping on the validation loss."))
        return Diagnosis(tuple(findings), best, monitor, n, rules)

    exploded = _exploding(epochs, train, val, rules)
    if exploded:
        findings.append(exploded)
    osc = _oscillating(epochs, train if train is not None and _finite(train) else val, rules,
                       "training" if train is not None and _finite(train) else "validation")
    if osc:
        findings.append(osc)
    if not exploded:
        over = _overfitting(epochs, train, val, rules)
        if over:
            findings.append(over)
        gap = _gap(epochs, train, val, metric, train_metric, val_metric, rules)
        if gap:
            findings.append(gap)
        if score is not None:
            negated = monitor != "val_loss" and not lower_is_better(metric or "")
            still = _still_improving(epochs, score, rules, monitor_label, negated=negated)
        elif train is not None and _finite(train):
            still = _still_improving(epochs, train, rules, "training loss", negated=False)
        else:
            still = None
        if still:
            findings.append(still)
    if not any(f.severity == "warning" for f in findings):
        findings.append(Finding("healthy", "info", best, _healthy_message(best, monitor_label)))
    return Diagnosis(tuple(findings), best, monitor, n, rules)


# --------------------------------------------------------------------------- rules


def _best_message(history: History, i: int, monitor_label: str) -> str:
    epoch = history.epochs[i]
    parts = []
    if history.val_loss is not None and _ok(history.val_loss[i]):
        parts.append(f"validation loss {history.val_loss[i]:.4f}")
    for name, series in history.val_metrics.items():
        if len(parts) >= 3:
            break
        if _ok(series[i]):
            parts.append(f"validation {name} {series[i]:.4f}")
    best_what = "lowest" if lower_is_better(monitor_label) else "highest"
    return f"Best epoch: {epoch} of {len(history.epochs)} ({best_what} {monitor_label}; {', '.join(parts)})."


def _exploding(epochs, train, val, rules: CurveRules) -> Finding | None:
    """The first jump of the loss (training loss, else validation loss) to many times its lowest
    earlier value, and the first NaN / infinity in either loss (a missing value is None, not NaN)."""
    series, label = (train, "training") if train is not None and _finite(train) else (val, "validation")
    jump = _first_jump(series, rules) if series is not None and _finite(series) else None
    bad = None
    for bad_label, values in (("training", train), ("validation", val)):
        hits = [i for i, v in enumerate(values or ()) if v is not None and not math.isfinite(v)]
        if hits and (bad is None or hits[0] < bad[0]):
            bad = (hits[0], bad_label, values[hits[0]])
    if jump is None and bad is None:
        return None
    advice = ("Lower the learning rate (e.g. 10× smaller), use warm-up or gradient clipping, and check the "
              "inputs for extreme values.")
    parts = []
    if jump is not None and (bad is None or jump[0] < bad[0]):
        i, v, lowest = jump
        parts.append(f"The {label} loss jumped to {v:.4g} at epoch {epochs[i]}, {v / lowest:.1f}× its lowest "
                     f"earlier value ({lowest:.4g})")
    if bad is not None:
        i, bad_label, v = bad
        parts.append(("and" if parts else f"The {bad_label} loss") + f" became {_fmt(v)} at epoch {epochs[i]}"
                     + (f" ({bad_label} loss)" if parts and bad_label != label else ""))
    first = min(x[0] for x in (jump, bad) if x is not None)
    verdict = "training diverged" if bad is not None else "the learning rate is too high"
    return Finding("exploding", "warning", epochs[first], " ".join(parts) + f": {verdict}. " + advice)


def _first_jump(series, rules: CurveRules) -> tuple[int, float, float] | None:
    first = _finite(series)[0]
    lowest = math.inf
    for i, v in enumerate(series):
        if not _ok(v):
            continue
        if (0 < lowest < math.inf and v > rules.explode_factor * lowest
                and v - lowest > rules.explode_min_share * abs(first)):
            return i, v, lowest
        lowest = min(lowest, v)
    return None


def _oscillating(epochs, series, rules: CurveRules, label: str) -> Finding | None:
    if series is None:
        return None
    points = [(e, v) for e, v in zip(epochs, series, strict=True) if _ok(v)]
    if len(points) < rules.oscillation_min_epochs:
        return None
    # (epoch of the later point, change, earlier value)
    steps = [(b[0], b[1] - a[1], a[1]) for a, b in zip(points, points[1:], strict=False)]
    rises = [(e, d, prev) for e, d, prev in steps if d > 0 and d > rules.oscillation_rise * abs(prev)]
    signs = [1 if d > 0 else -1 for _, d, _ in steps if d != 0]
    flips = sum(1 for a, b in zip(signs, signs[1:], strict=False) if a != b)
    possible = max(len(signs) - 1, 1)
    if len(rises) < rules.oscillation_min_rises or flips / possible < rules.oscillation_flip_share:
        return None
    where = ", ".join(str(e) for e, _, _ in rises[:6]) + (" …" if len(rises) > 6 else "")
    biggest = max(_rel(d, prev) for _, d, prev in rises)
    return Finding("oscillating", "warning", rises[0][0],
                   f"The {label} loss goes up and down instead of falling steadily (up at epochs {where}, "
                   f"by up to {biggest:.0%}): the learning rate is probably too high. Lower it "
                   "(e.g. 3–10× smaller), use a schedule that decays it, or a larger batch.")


def _overfitting(epochs, train, val, rules: CurveRules) -> Finding | None:
    if train is None or val is None or not _finite(val) or not _finite(train):
        return None
    b = _argmin(val)
    after = [i for i in range(b + 1, len(val)) if _ok(val[i])]
    if not after:
        return None
    last = after[-1]
    low = val[b]
    rise = _rel(val[last] - low, low)
    limit = rules.rise_tolerance if len(after) >= 2 else rules.sharp_rise
    if rise <= limit:
        return None
    t_best, t_last = _at_or_before(train, b), _at_or_before(train, last)
    if t_best is None or t_last is None or t_best - t_last <= rules.train_fall_tolerance * abs(t_best):
        return None
    start = epochs[after[0]]
    return Finding("overfitting", "warning", start,
                   f"Over-fitting from epoch {start}: validation loss rose from {low:.4f} (epoch {epochs[b]}) to "
                   f"{val[last]:.4f} (epoch {epochs[last]}, +{rise:.0%}) while training loss kept falling "
                   f"({t_best:.4f} → {t_last:.4f}). Stop at epoch {epochs[b]} (early stopping on val_loss with "
                   "patience 2 and the best weights restored), or regularise more: dropout, weight decay, "
                   "more training data or augmentation.")


_GAP_ADVICE = ("The model fits its training data much better than new data: add regularisation (dropout, "
               "weight decay), more or more varied training data, or use a smaller model.")


def _gap(epochs, train, val, metric, train_metric, val_metric, rules: CurveRules) -> Finding | None:
    if train is not None and val is not None:
        i = _last_both(train, val)
        if i is not None and train[i] > 0 and (val[i] - train[i]) / train[i] > rules.gap_loss_ratio:
            return Finding("large_gap", "warning", epochs[i],
                           f"Large train/validation gap at epoch {epochs[i]}: validation loss {val[i]:.4f} is "
                           f"{val[i] / train[i]:.1f}× the training loss {train[i]:.4f}. " + _GAP_ADVICE)
    if metric and train_metric is not None and val_metric is not None and not lower_is_better(metric):
        i = _last_both(train_metric, val_metric)
        if i is not None and 0 <= train_metric[i] <= 1 and 0 <= val_metric[i] <= 1:
            gap = train_metric[i] - val_metric[i]
            if gap > rules.gap_metric:
                return Finding("large_gap", "warning", epochs[i],
                               f"Large train/validation gap at epoch {epochs[i]}: training {metric} "
                               f"{train_metric[i]:.4f} vs validation {val_metric[i]:.4f} ({gap:.2f} apart). "
                               + _GAP_ADVICE)
    return None


def _still_improving(epochs, score, rules: CurveRules, label: str, *, negated: bool) -> Finding | None:
    """``score`` is lower-is-better; ``negated`` says it is a score turned round for display."""
    idx = [i for i, v in enumerate(score) if _ok(v)]
    if len(idx) < 2:
        return None
    b = min(idx[:-1], key=lambda i: score[i])
    best_before, last = score[b], score[idx[-1]]
    if _rel(best_before - last, best_before) <= rules.improve_tolerance:
        return None
    sign = -1 if negated else 1
    end = epochs[idx[-1]]
    return Finding("still_improving", "warning", end,
                   f"The {label} was still improving at the last epoch ({sign * best_before:.4f} at epoch "
                   f"{epochs[b]} → {sign * last:.4f} at epoch {end}, a new best): train longer (more epochs, "
                   "with early stopping to keep the best one).")


def _healthy_message(best, label) -> str:
    if best is None:
        return "No oscillation or explosion in the training loss."
    return (f"Healthy run: {label} levelled off around epoch {best} without rising again; no over-fitting, "
            "large train/validation gap, oscillation or explosion.")


# --------------------------------------------------------------------------- helpers


def _ok(v) -> bool:
    return v is not None and math.isfinite(v)


def _finite(series) -> list[float]:
    return [v for v in series if _ok(v)]


def _argmin(series) -> int:
    best_i, best_v = 0, math.inf
    for i, v in enumerate(series):
        if _ok(v) and v < best_v:
            best_i, best_v = i, v
    return best_i


def _rel(delta: float, base: float) -> float:
    return delta / abs(base) if base else (math.inf if delta > 0 else 0.0)


def _at_or_before(series, i: int) -> float | None:
    """The value at epoch index ``i``, or the nearest earlier one that is there."""
    for j in range(i, -1, -1):
        if _ok(series[j]):
            return series[j]
    return None


def _last_both(a, b) -> int | None:
    for i in range(len(a) - 1, -1, -1):
        if _ok(a[i]) and _ok(b[i]):
            return i
    return None


def _fmt(v: float) -> str:
    return "NaN" if math.isnan(v) else ("infinite" if math.isinf(v) else f"{v:.4g}")
