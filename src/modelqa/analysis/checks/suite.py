"""Which checks run, with which parameters: the default suite, or a ``--suite qa.yaml`` file.

A suite file (read by the safe loader with line numbers; every error names file and line)::

    alpha: 0.05                 # significance level of the verdict, after Benjamini-Hochberg
    only: false                 # true: run only the checks named under `checks`
    defaults:                   # global parameters, for every check that has them
      min_rows: 50
    checks:
      drift: {threshold: 0.15}              # a family: every drift.* check
      drift.column:                         # one check
        by_type: {categorical: {threshold: 0.2}}
        columns: {age: {threshold: 0.3}}
      integrity.duplicates: {enabled: false}
    behaviour:                  # behaviour tests (docs/behaviour.md)
      - ...

Without a file, the default suite runs every registered check marked ``default`` whose inputs
are there; the runner says which it skipped and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelqa._yaml import Node, from_python, read_yaml, unknown_key_message, where
from modelqa.analysis.checks.registry import CheckSpec, config_for, ensure_loaded
from modelqa.analysis.checks.result import CheckConfig
from modelqa.analysis.checks.verdict import ALPHA
from modelqa.errors import UsageError

TOP_KEYS = ("alpha", "only", "defaults", "checks", "behaviour")
CHECK_KEYS = ("enabled", "by_type", "columns")
KINDS = ("numeric", "numeric_text", "categorical", "boolean", "text", "datetime")


@dataclass(frozen=True)
class Suite:
    """The checks to run (name -> config), in registry order, plus the verdict's alpha."""

    configs: Mapping[str, CheckConfig]
    alpha: float = ALPHA
    source: str | None = None
    explicit: frozenset[str] = field(default_factory=frozenset)  # checks the file named

    def to_dict(self) -> dict:
        return {"source": self.source, "alpha": self.alpha,
                "checks": {name: {"params": {k: _plain(v) for k, v in c.params.items()}, "by_type": dict(c.by_type),
                                  "columns": dict(c.columns)} for name, c in self.configs.items()}}


def _plain(value):
    """Parameters as JSON: objects with ``to_dict`` (the parsed behaviour tests) as their dicts."""
    if isinstance(value, (list, tuple)):
        return [v.to_dict() if hasattr(v, "to_dict") else v for v in value]
    return value


def default_suite() -> Suite:
    registry = ensure_loaded()
    return Suite(configs={name: config_for(spec) for name, spec in registry.items() if spec.default})


def load_suite(suite: str | Path | Mapping | None) -> Suite:
    """The default suite (``None``), or one from a YAML file path or an already-parsed mapping."""
    if suite is None:
        return default_suite()
    if isinstance(suite, Mapping):
        return parse_suite(from_python(suite), "<mapping>")
    tree = read_yaml(suite, flag="`suite`", what="a suite file")
    return parse_suite(tree, str(Path(suite)))


def parse_suite(tree: Node | None, source: str) -> Suite:
    registry = ensure_loaded()
    if tree is None:
        return default_suite()
    top = _mapping(tree, source, "the suite")
    for key, (_, line) in top.items():
        if key not in TOP_KEYS:
            raise UsageError(where(source, line) + unknown_key_message(key, TOP_KEYS))
    alpha = _number(top.get("alpha"), source, "alpha", ALPHA, low=0.0, high=1.0)
    only = _boolean(top.get("only"), source, "only")
    every_param = sorted({k for spec in registry.values() for k in spec.defaults})
    global_params = _params(top.get("defaults"), source, "defaults", every_param)
    for key in global_params:
        if "threshold" in key:  # thresholds are in each check's own unit (a share, a distance, a gap)
            raise UsageError(where(source, top["defaults"][0].value[key][1]) + f"defaults: {key!r} is in each "
                             "check's own unit; set it per check or family under 'checks'")
    named: dict[str, tuple[dict, int | None]] = {}
    if "checks" in top:
        checks_node, _ = top["checks"]
        for key, (node, line) in _mapping(checks_node, source, "checks").items():
            specs = _specs_named(key, registry, source, line)
            body = {} if node.kind == "scalar" and node.value is None else _check_body(node, source, key, specs)
            for spec in specs:
                merged = dict(named.get(spec.name, ({}, None))[0])
                merged.update(body)
                named[spec.name] = (merged, line)
    configs: dict[str, CheckConfig] = {}
    explicit = set()
    for name, spec in registry.items():
        body, _line = named.get(name, (None, None))
        if body is None and (only or not spec.default):
            continue
        body = dict(body or {})
        if body.get("enabled") is False:
            continue
        if body:
            explicit.add(name)
        configs[name] = config_for(spec, body, global_params)
    if "behaviour" in top:
        node, line = top["behaviour"]
        tests = _behaviour(node, source)
        spec = registry.get("behaviour.tests")
        if spec is None:
            raise UsageError(where(source, line) + "behaviour tests are not available in this installation")
        base = configs.get("behaviour.tests") or config_for(spec, {}, global_params)
        configs["behaviour.tests"] = CheckConfig(name=base.name, params={**base.params, "tests": tests},
                                                 by_type=base.by_type, columns=base.columns)
        explicit.add("behaviour.tests")
    return Suite(configs=configs, alpha=alpha, source=source, explicit=frozenset(explicit))


def _behaviour(node: Node, source: str):
    try:
        from modelqa.analysis.behaviour_suite import parse_behaviour
    except ImportError:  # pragma: no cover - the module ships with modelqa
        raise UsageError(where(source, node.line) + "behaviour tests are not available in this installation") from None
    return parse_behaviour(node, source)


def _specs_named(key: str, registry: Mapping[str, CheckSpec], source: str, line: int | None) -> list[CheckSpec]:
    if key in registry:
        return [registry[key]]
    family = [spec for name, spec in registry.items() if spec.category == key]
    if family:
        return family
    known = sorted(set(registry) | {s.category for s in registry.values()})
    raise UsageError(where(source, line) + unknown_key_message(key, known).replace("unknown key", "unknown check"))


def _check_body(node: Node, source: str, name: str, specs: list[CheckSpec]) -> dict:
    known = sorted({k for spec in specs for k in spec.defaults if k != "tests"})
    body = {}
    for key, (value, line) in _mapping(node, source, name).items():
        if key not in CHECK_KEYS and key not in known:
            raise UsageError(where(source, line) + f"{name}: " + unknown_key_message(key, [*CHECK_KEYS, *known]))
        if key == "enabled":
            body[key] = _boolean((value, line), source, f"{name}.enabled")
        elif key == "by_type":
            kinds = {}
            for kind, (sub, kline) in _mapping(value, source, f"{name}.by_type").items():
                if kind not in KINDS:
                    raise UsageError(where(source, kline) + unknown_key_message(kind, KINDS)
                                     .replace("unknown key", "unknown column type"))
                kinds[kind] = _params((sub, kline), source, f"{name}.by_type.{kind}", known)
            body[key] = kinds
        elif key == "columns":
            body[key] = {col: _params((sub, cline), source, f"{name}.columns.{col}", known)
                         for col, (sub, cline) in _mapping(value, source, f"{name}.columns").items()}
        else:
            body[key] = value.plain()
    return body


def _params(entry: tuple[Node, int | None] | None, source: str, what: str, known: list[str]) -> dict[str, Any]:
    if entry is None:
        return {}
    node, _ = entry
    out = {}
    for key, (value, line) in _mapping(node, source, what).items():
        if key not in known:
            raise UsageError(where(source, line) + f"{what}: " + unknown_key_message(key, known))
        out[key] = value.plain()
    return out


def _mapping(node: Node, source: str, what: str) -> dict[str, tuple[Node, int | None]]:
    if node.kind != "map":
        raise UsageError(where(source, node.line) + f"{what} must be a mapping of names to values")
    return node.value


def _boolean(entry, source: str, what: str) -> bool:
    if entry is None:
        return False
    node, line = entry
    if not isinstance(node.value, bool):
        raise UsageError(where(source, line) + f"{what} must be true or false, not {node.raw!r}")
    return node.value


def _number(entry, source: str, what: str, default: float, *, low: float, high: float) -> float:
    if entry is None:
        return default
    node, line = entry
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value < high:
        raise UsageError(where(source, line) + f"{what} must be a number between {low:g} and {high:g}, "
                                               f"not {node.raw!r}")
    return float(value)
