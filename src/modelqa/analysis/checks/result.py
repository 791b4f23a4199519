"""Frozen configs and results of QA checks (see the package docstring)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

STATUSES = ("fail", "error", "warn", "pass", "skipped")
#: worst first: the order of the console table and of check.json's summary
STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}
MAX_EXAMPLES = 20


@dataclass(frozen=True)
class CheckConfig:
    """One check's configuration: its registered ``name`` ("drift.column") and parameters.

    ``params`` holds the check's parameters after the suite's overrides; ``by_type`` and
    ``columns`` hold per column-type ("numeric", "categorical", "text", ...) and per column
    overrides. ``get`` resolves a parameter: column, then column type, then the check, then
    the default given.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    by_type: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    columns: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def get(self, key: str, default: Any = None, *, column: str | None = None, kind: str | None = None) -> Any:
        if column is not None and key in self.columns.get(column, {}):
            return self.columns[column][key]
        if kind is not None and key in self.by_type.get(kind, {}):
            return self.by_type[kind][key]
        return self.params.get(key, default)

    def fingerprint(self) -> str:
        blob = json.dumps({"name": self.name, "params": self.params, "by_type": self.by_type,
                           "columns": self.columns}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CheckResult:
    """One judged quantity: a check on one column / slice / window / test (``target``).

    ``value`` is the effect the ``threshold`` is compared with; ``bad_when`` says which side
    is bad ("above": value > threshold is bad; "below": value < threshold is bad).
    ``p_value`` is the test's p (None for an exact count, which has no sampling error);
    ``q_value`` and ``status`` are filled by ``verdict.decide``. A check that cannot run sets
    ``status`` to "skipped" (or the runner sets "error") with a ``reason``; otherwise it
    leaves ``status`` None.
    """

    check: str                       # registered name, e.g. "drift.column"
    category: str                    # "drift", "integrity", ...
    target: str | None = None        # column, slice, window or behaviour test name
    metric: str | None = None        # what ``value`` is, e.g. "wasserstein_norm"
    value: float | None = None
    threshold: float | None = None
    bad_when: str = "above"
    p_value: float | None = None
    q_value: float | None = None
    n: int | None = None             # rows behind the result (the smaller side for two samples)
    min_n: int = 0                   # fewer rows than this: never fail, warn at most
    interval: tuple[float, float] | None = None
    test: str | None = None          # the statistical test, e.g. "ks", "chi2", "z"
    statistic: float | None = None   # the test statistic
    examples: tuple[Mapping[str, Any], ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    status: str | None = None
    reason: str | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.bad_when not in ("above", "below"):
            raise ValueError(f"bad_when must be 'above' or 'below', not {self.bad_when!r}")
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")
        if len(self.examples) > MAX_EXAMPLES:
            object.__setattr__(self, "examples", tuple(self.examples[:MAX_EXAMPLES]))

    @property
    def exceeded(self) -> bool:
        """Whether ``value`` is on the bad side of ``threshold`` (False when either is missing)."""
        if self.value is None or self.threshold is None or not math.isfinite(self.value):
            return False
        return self.value > self.threshold if self.bad_when == "above" else self.value < self.threshold

    @property
    def id(self) -> str:
        return self.check if self.target is None else f"{self.check}[{self.target}]"

    def with_(self, **changes) -> CheckResult:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["id"] = self.id
        d["interval"] = list(self.interval) if self.interval is not None else None
        d["examples"] = [dict(e) for e in self.examples]
        d["details"] = dict(self.details)
        return _jsonable(d)


def skipped(check: str, category: str, reason: str, target: str | None = None) -> CheckResult:
    return CheckResult(check=check, category=category, target=target, status="skipped", reason=reason)


def _jsonable(obj):
    """Plain JSON types: numpy scalars to Python, NaN / inf to None, tuples to lists."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    return str(obj)
