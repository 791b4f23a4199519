"""The shape every perturbation shares: find the places (spans) a text could be edited,
choose some of them with the seeded generator (each with probability ``rate``, or exactly
``count`` of them), and replace each chosen span by a different string.

A span's replacement always differs from the span (the finders only offer places where a
change exists), and ``Edit.changed`` compares the output with the input, so a perturbation
never claims a change it did not make.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

#: (start, end) of a span in the text; start == end inserts
Span = tuple[int, int]
Finder = Callable[[str], list[Span]]
Replacer = Callable[[str, np.random.Generator, str, int], str]   # (segment, rng, text, start) -> new


@dataclass(frozen=True)
class Edit:
    """One perturbed text: ``sites`` places it could edit, ``edited`` the ones it did."""

    text: str
    original: str
    sites: int
    edited: int

    @property
    def changed(self) -> bool:
        return self.text != self.original


@dataclass(frozen=True)
class Perturbation:
    """A named, seeded text edit: ``(text, rng) -> text`` through ``__call__``.

    ``kind`` says what it changes (typo, spacing, jamo, noise, style, case, punctuation,
    contraction, number, entity, negation); ``language`` is "ko", "en" or "any". With
    ``count`` set, exactly ``min(count, sites)`` places are edited per text; otherwise each
    place is edited with probability ``rate``.
    """

    name: str
    language: str
    kind: str
    description: str
    find: Finder
    replace: Replacer
    rate: float | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if (self.rate is None) == (self.count is None):
            raise ValueError(f"{self.name}: give exactly one of rate and count")
        if self.rate is not None and not (0.0 < self.rate <= 1.0 and math.isfinite(self.rate)):
            raise ValueError(f"{self.name}: rate must be in (0, 1], not {self.rate!r}")
        if self.count is not None and self.count < 1:
            raise ValueError(f"{self.name}: count must be at least 1, not {self.count!r}")

    def configured(self, *, rate: float | None = None, count: int | None = None) -> Perturbation:
        """A copy with another rate or count (giving one clears the other); None keeps both."""
        if rate is None and count is None:
            return self
        if rate is not None and count is not None:
            raise ValueError(f"{self.name}: give a rate or a count, not both")
        return replace(self, rate=None if rate is None else float(rate), count=None if count is None else int(count))

    @property
    def amount(self) -> str:
        return f"count {self.count}" if self.count is not None else f"rate {self.rate:g}"

    def sites(self, text: str) -> list[Span]:
        return self.find(text)

    def apply(self, text: str, rng: np.random.Generator) -> Edit:
        spans = self.find(text)
        n = len(spans)
        if n == 0:
            return Edit(text=text, original=text, sites=0, edited=0)
        if self.count is not None:
            k = min(self.count, n)
            chosen = sorted(rng.choice(n, size=k, replace=False).tolist()) if k < n else list(range(n))
        else:
            chosen = np.flatnonzero(rng.random(n) < self.rate).tolist()
        out, pos = [], 0
        for i in chosen:
            start, end = spans[i]
            out.append(text[pos:start])
            out.append(self.replace(text[start:end], rng, text, start))
            pos = end
        out.append(text[pos:])
        return Edit(text="".join(out), original=text, sites=n, edited=len(chosen))

    def __call__(self, text: str, rng: np.random.Generator) -> str:
        return self.apply(text, rng).text


@dataclass(frozen=True)
class Batch:
    """A perturbation applied to many texts: outputs, which changed, which could change."""

    perturbation: str
    amount: str
    seed: int
    texts: list[str]
    changed: np.ndarray          # bool per text: output != input
    applicable: np.ndarray       # bool per text: the perturbation found a place to edit
    sites: int
    edited: int

    @property
    def changed_share(self) -> float:
        return float(self.changed.mean()) if len(self.changed) else 0.0

    @property
    def applicable_share(self) -> float:
        return float(self.applicable.mean()) if len(self.applicable) else 0.0


def apply_all(perturbation: Perturbation, texts: Sequence[str], *, seed: int) -> Batch:
    """Apply ``perturbation`` to each text in order with one generator seeded by ``seed``
    (so the same seed, texts and settings give the same output)."""
    rng = np.random.default_rng(seed)
    edits = [perturbation.apply(str(t), rng) for t in texts]
    return Batch(perturbation=perturbation.name, amount=perturbation.amount, seed=seed,
                 texts=[e.text for e in edits], changed=np.array([e.changed for e in edits], dtype=bool),
                 applicable=np.array([e.sites > 0 for e in edits], dtype=bool),
                 sites=sum(e.sites for e in edits), edited=sum(e.edited for e in edits))


def pick(options: Sequence[str], rng: np.random.Generator, *, not_: str | None = None) -> str:
    """One of ``options`` other than ``not_``, chosen by ``rng``."""
    pool = [o for o in options if o != not_]
    return pool[int(rng.integers(len(pool)))]
