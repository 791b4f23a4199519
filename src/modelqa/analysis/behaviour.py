"""Behaviour tests of a text classifier (after CheckList, Ribeiro et al. 2020), evaluated with
any ``predict_proba(texts) -> (n, K)`` callable and the label names.

* **MFT** (minimum functionality): listed cases, each with an expected label or a label it
  must not get; a case fails when the prediction breaks its expectation.
* **INV** (invariance): a perturbation applied to texts; a case fails when the predicted
  label changes **and** the probability of the originally predicted label moves by more than
  ``tolerance`` (CheckList's rule, default 0.1). Only the texts the perturbation changed count.
* **DIR** (directional): a perturbation with an expected change of one label's probability
  (must not decrease / not increase, or increase / decrease by at least ``delta``) or of the
  prediction (must become / must leave the label). Only changed texts count.

``run_test`` returns an ``Outcome``: failures out of n, the failure rate with its Wilson 95 %
interval, the one-sided binomial p-value of "the failure rate exceeds the threshold", and up to
20 failing examples with both texts, both predictions and their confidences.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelqa.errors import ModelError, UsageError

TYPES = ("MFT", "INV", "DIR")
DIRECTIONS = ("not_decrease", "not_increase", "increase", "decrease", "to", "away_from")
MAX_EXAMPLES = 20
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Case:
    """One MFT case: ``text`` must be predicted ``label`` (or must not, with ``negate``)."""

    text: str
    label: str
    negate: bool = False

    def holds(self, predicted: str) -> bool:
        return (predicted != self.label) if self.negate else (predicted == self.label)

    def describe(self) -> str:
        return f"not {self.label}" if self.negate else self.label


@dataclass(frozen=True)
class Direction:
    """A DIR expectation on ``label``: ``change`` is one of DIRECTIONS; ``delta`` the least
    increase / decrease (for "increase" / "decrease") or the allowed slack (for "not_*")."""

    label: str
    change: str
    delta: float = 0.0

    def describe(self) -> str:
        if self.change in ("to", "away_from"):
            return f"prediction {self.change.replace('_', ' ')} {self.label}"
        by = f" by at least {self.delta:g}" if self.change in ("increase", "decrease") else (
            f" (slack {self.delta:g})" if self.delta else "")
        return f"P({self.label}) must {self.change.replace('_', ' ')}{by}"


@dataclass(frozen=True)
class BehaviourTest:
    """One test of a suite. MFT uses ``cases``; INV and DIR use ``perturbation`` on ``texts``
    (listed or from templates) or on the data column ``column`` (None: the run's text column)."""

    name: str
    type: str
    capability: str
    threshold: float
    min_n: int = 5
    cases: tuple[Case, ...] = ()
    texts: tuple[str, ...] = ()
    column: str | None = None
    perturbation: str | None = None
    rate: float | None = None
    count: int | None = None
    sample: int | None = 500
    tolerance: float = 0.1
    direction: Direction | None = None
    seed: int | None = None
    source: str | None = None
    line: int | None = None

    def labels_used(self) -> set[str]:
        used = {c.label for c in self.cases}
        if self.direction is not None:
            used.add(self.direction.label)
        return used

    def to_dict(self) -> dict:
        d = {"name": self.name, "type": self.type, "capability": self.capability, "threshold": self.threshold}
        if self.perturbation:
            d.update(perturbation=self.perturbation, rate=self.rate, count=self.count)
        if self.direction is not None:
            d["expect"] = self.direction.describe()
        return d


@dataclass(frozen=True)
class Outcome:
    test: BehaviourTest
    n: int                          # cases judged (INV / DIR: texts the perturbation changed)
    failures: int
    cases: int                      # cases before the change filter (texts tried)
    changed: int                    # INV / DIR: texts the perturbation changed
    applicable: int                 # INV / DIR: texts with a place the perturbation could edit
    amount: str | None = None       # "count 1" / "rate 0.5"
    seed: int = 0
    examples: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def failure_rate(self) -> float:
        return self.failures / self.n if self.n else float("nan")

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.failures, self.n) if self.n else None

    @property
    def p_value(self) -> float | None:
        return None if not self.n else binomial_excess_p(self.failures, self.n, self.test.threshold)

    @property
    def changed_share(self) -> float | None:
        return self.changed / self.cases if self.test.type != "MFT" and self.cases else None


def wilson_interval(k: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of k successes in n: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    if n <= 0:
        raise ValueError("the Wilson interval needs n >= 1")
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_excess_p(k: int, n: int, threshold: float) -> float:
    """One-sided p-value of k failures in n when the true failure rate is ``threshold``:
    P(X >= k), X ~ Binomial(n, threshold) (scipy.stats.binomtest(k, n, threshold, "greater"))."""
    from scipy.stats import binom

    if k <= 0:
        return 1.0
    if threshold <= 0.0:
        return 0.0
    return float(min(1.0, binom.sf(k - 1, n, threshold)))


def seed_for(test: BehaviourTest, seed: int) -> int:
    """The seed a test runs with: its own, else the run's mixed with the test's name (stable)."""
    if test.seed is not None:
        return int(test.seed)
    return (int(seed) * 1_000_003 + zlib.crc32(test.name.encode("utf-8"))) % (2**32)


def sample_texts(texts: Sequence[str], size: int | None, seed: int) -> list[str]:
    """At most ``size`` of ``texts`` (a seeded sample, in their original order)."""
    texts = list(texts)
    if size is None or len(texts) <= size:
        return texts
    keep = np.sort(np.random.default_rng(seed).choice(len(texts), size=size, replace=False))
    return [texts[i] for i in keep]


def _probs(predict_proba: Callable, texts: list[str], k: int, name: str) -> np.ndarray:
    if not texts:
        return np.zeros((0, k))
    probs = np.asarray(predict_proba(texts), dtype=float)
    if probs.ndim != 2 or probs.shape != (len(texts), k):
        raise ModelError(f"behaviour test {name!r}: the model returned probabilities of shape {probs.shape} "
                         f"for {len(texts)} texts and {k} labels")
    return probs


def run_test(test: BehaviourTest, predict_proba: Callable[[Sequence[str]], np.ndarray], labels: Sequence[str], *,
             texts: Sequence[str] | None = None, seed: int = 0) -> Outcome:
    """Evaluate ``test``. ``texts`` are the data column's texts for a test that names a column
    (or uses the run's text column); listed texts and cases come from the test itself."""
    labels = [str(x) for x in labels]
    missing = sorted(test.labels_used() - set(labels))
    if missing:
        at = f"{test.source}, line {test.line}: " if test.source and test.line else ""
        raise UsageError(f"{at}behaviour test {test.name!r} names label(s) {', '.join(map(repr, missing))} that "
                         f"the model does not have (its labels: {', '.join(labels)})")
    s = seed_for(test, seed)
    if test.type == "MFT":
        return _run_mft(test, predict_proba, labels, s)
    return _run_perturbed(test, predict_proba, labels, list(texts if texts is not None else test.texts), s)


def _run_mft(test: BehaviourTest, predict_proba, labels: list[str], seed: int) -> Outcome:
    cases = list(test.cases)
    probs = _probs(predict_proba, [c.text for c in cases], len(labels), test.name)
    pred = probs.argmax(axis=1) if len(cases) else np.zeros(0, dtype=int)
    failed, examples = 0, []
    for i, case in enumerate(cases):
        got = labels[int(pred[i])]
        if not case.holds(got):
            failed += 1
            if len(examples) < MAX_EXAMPLES:
                examples.append({"text": case.text, "expected": case.describe(), "predicted": got,
                                 "confidence": round(float(probs[i, pred[i]]), 6)})
    return Outcome(test=test, n=len(cases), failures=failed, cases=len(cases), changed=0, applicable=0,
                   seed=seed, examples=tuple(examples))


def _run_perturbed(test: BehaviourTest, predict_proba, labels: list[str], texts: list[str], seed: int) -> Outcome:
    from modelqa.analysis import perturb

    pert = perturb.get(test.perturbation, rate=test.rate, count=test.count)
    texts = [str(t) for t in texts if t is not None and str(t).strip() and str(t) != "nan"]
    texts = sample_texts(texts, test.sample, seed)
    batch = perturb.apply_all(pert, texts, seed=seed)
    idx = np.flatnonzero(batch.changed)
    originals = [texts[i] for i in idx]
    perturbed = [batch.texts[i] for i in idx]
    probs = _probs(predict_proba, originals + perturbed, len(labels), test.name)
    p0, p1 = probs[: len(idx)], probs[len(idx):]
    y0, y1 = p0.argmax(axis=1), p1.argmax(axis=1)
    rows = np.arange(len(idx))
    if test.type == "INV":
        moved = np.abs(p1[rows, y0] - p0[rows, y0])
        fail = (y1 != y0) & (moved > test.tolerance + 1e-12)
    else:
        fail = _dir_failures(test.direction, labels, p0, p1, y1)
    examples = []
    for j in np.flatnonzero(fail)[:MAX_EXAMPLES]:
        ex = {"original": originals[j], "perturbed": perturbed[j],
              "predicted_original": labels[int(y0[j])], "confidence_original": round(float(p0[j, y0[j]]), 6),
              "predicted_perturbed": labels[int(y1[j])], "confidence_perturbed": round(float(p1[j, y1[j]]), 6)}
        if test.direction is not None:
            c = labels.index(test.direction.label)
            ex.update({f"p_{test.direction.label}_original": round(float(p0[j, c]), 6),
                       f"p_{test.direction.label}_perturbed": round(float(p1[j, c]), 6)})
        examples.append(ex)
    return Outcome(test=test, n=len(idx), failures=int(fail.sum()), cases=len(texts), changed=len(idx),
                   applicable=int(batch.applicable.sum()), amount=pert.amount, seed=seed, examples=tuple(examples))


def _dir_failures(direction: Direction, labels: list[str], p0: np.ndarray, p1: np.ndarray,
                  y1: np.ndarray) -> np.ndarray:
    c = labels.index(direction.label)
    d = p1[:, c] - p0[:, c]
    eps = 1e-12
    rules: dict[str, Any] = {
        "not_decrease": d < -direction.delta - eps,
        "not_increase": d > direction.delta + eps,
        "increase": d < direction.delta - eps,
        "decrease": d > -direction.delta + eps,
        "to": y1 != c,
        "away_from": y1 == c,
    }
    return np.asarray(rules[direction.change], dtype=bool)
