"""Seeded text perturbations for behaviour tests and ``modelqa perturb``: pure functions
``(text, rng) -> text`` with a name, a rate or a count and a declared kind, registered by name
(``ko-spacing``, ``ko-typo``, ``en-typo``, ...). No dependencies beyond numpy.

``get("ko-typo", count=2)`` returns a configured ``Perturbation``; ``apply_all`` runs one on
many texts with one seed and reports which texts changed and which could.
"""

from __future__ import annotations

import difflib

from modelqa.analysis.perturb import english, korean
from modelqa.analysis.perturb.base import Batch, Edit, Perturbation, apply_all
from modelqa.errors import UsageError

PERTURBATIONS: dict[str, Perturbation] = {p.name: p for p in (*korean.perturbations(), *english.perturbations())}


def names(language: str | None = None) -> list[str]:
    return [n for n, p in PERTURBATIONS.items() if language is None or p.language == language]


def get(name: str, *, rate: float | None = None, count: int | None = None, flag: str = "perturbation") -> Perturbation:
    """The perturbation called ``name`` with ``rate`` or ``count`` (at most one; neither keeps
    its default). UsageError for an unknown name (with the closest names) or a bad amount."""
    base = PERTURBATIONS.get(name)
    if base is None:
        near = difflib.get_close_matches(str(name), list(PERTURBATIONS), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        raise UsageError(f"unknown {flag} {name!r}{hint} (known: {', '.join(PERTURBATIONS)})")
    if rate is not None and count is not None:
        raise UsageError(f"{flag} {name}: give a rate or a count, not both")
    if rate is not None and not (0.0 < float(rate) <= 1.0):
        raise UsageError(f"{flag} {name}: the rate must be above 0 and at most 1, not {rate!r}")
    if count is not None and (int(count) != count or int(count) < 1):
        raise UsageError(f"{flag} {name}: the count must be a whole number of at least 1, not {count!r}")
    return base.configured(rate=rate, count=count)


__all__ = ["PERTURBATIONS", "Batch", "Edit", "Perturbation", "apply_all", "get", "names"]
