"""One registry of checks, read by the default suite and by ``--suite qa.yaml`` alike.

A check family module registers each check with ``@register``; ``ensure_loaded`` imports
every family so the registry is complete.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modelqa.analysis.checks.result import CheckConfig, CheckResult

#: the inputs a check may need; the runner skips a check whose inputs are missing, saying which
REQUIREMENTS = {
    "reference": "needs --reference",
    "labels": "needs a label column in --current (--label-col)",
    "reference_labels": "needs a label column in --reference",
    "predictions": "needs --model or prediction columns in --current",
    "probs": "needs probabilities (--model, or prob_<label> columns in --current)",
    "text": "needs a text column (--text-col)",
    "model": "needs --model",
    "text_model": "needs a text --model",
    "baseline": "needs --baseline RUN_DIR",
    "timestamp": "needs --timestamp-col and --window",
    "slices": "needs --slice-col",
    "behaviour": "needs behaviour tests in --suite",
}

FAMILIES = ("integrity", "leakage", "drift", "label_issues", "slices", "performance", "regression",
            "windows", "behaviour")
#: the modules that register checks, in registry order (a family may span two modules)
MODULES = ("integrity", "leakage", "drift", "drift_text", "label_issues", "slices", "performance", "regression",
           "windows", "behaviour")


@dataclass(frozen=True)
class CheckSpec:
    name: str                                   # "drift.column"
    category: str                               # "drift"
    run: Callable[..., list[CheckResult]]       # (ctx, cfg) -> results
    requires: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    default: bool = True                        # part of the default suite
    description: str = ""


REGISTRY: dict[str, CheckSpec] = {}


def register(name: str, *, requires: tuple[str, ...] = (), defaults: Mapping[str, Any] | None = None,
             default: bool = True, description: str = ""):
    """Decorator: register ``fn(ctx, cfg) -> list[CheckResult]`` as check ``name``
    ("category.check"). ``defaults`` are its parameters (thresholds) before suite overrides."""
    category = name.split(".", 1)[0]
    unknown = set(requires) - set(REQUIREMENTS)
    if unknown:
        raise ValueError(f"{name}: unknown requirement(s) {sorted(unknown)}")

    def wrap(fn):
        REGISTRY[name] = CheckSpec(name=name, category=category, run=fn, requires=tuple(requires),
                                   defaults=dict(defaults or {}), default=default,
                                   description=description or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return wrap


def ensure_loaded() -> dict[str, CheckSpec]:
    for module in MODULES:
        importlib.import_module(f"modelqa.analysis.checks.{module}")
    return REGISTRY


def config_for(spec: CheckSpec, overrides: Mapping[str, Any] | None = None,
               global_params: Mapping[str, Any] | None = None) -> CheckConfig:
    """A spec's defaults, then the suite's global parameters that the check knows, then its own."""
    overrides = dict(overrides or {})
    params = dict(spec.defaults)
    for key, value in (global_params or {}).items():
        if key in params:
            params[key] = value
    by_type = overrides.pop("by_type", {}) or {}
    columns = overrides.pop("columns", {}) or {}
    overrides.pop("enabled", None)
    params.update(overrides)
    return CheckConfig(name=spec.name, params=params, by_type=by_type, columns=columns)
