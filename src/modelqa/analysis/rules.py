"""Business actions (layer L2): rules that map a prediction to what to do about it.

An actions file (YAML, see docs/actions.md) holds a ``default`` action and an ordered list of
``rules``; each rule has an ``action`` and optional conditions: ``label`` (a class name or a
list of them), ``min_confidence`` and ``max_confidence`` (both inclusive). For each row the
**first** rule whose conditions all hold gives the action; a row no rule matches gets the
default. A row without a confidence (predictions without probabilities) fails every
confidence bound, so it can match only rules without one.

Parsing keeps YAML line numbers (``yaml.compose`` with the safe loader; nothing is ever
constructed with the unsafe loader), so every problem names the file and the line. All of
them are ``UsageError`` (exit code 2).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelqa._yaml import MAPPING_SOURCE, Node, from_python, read_yaml
from modelqa.errors import UsageError

TOP_KEYS = ("default", "rules")
RULE_KEYS = ("label", "min_confidence", "max_confidence", "action")
DEFAULT_ACTION = "no action"
DEFAULT_DESCRIPTION = "no rule matched (default)"


# ------------------------------------------------------------------ result types


@dataclass(frozen=True)
class Rule:
    """One rule: conditions (None = no condition) and the action. ``line``: where it starts."""

    action: str
    labels: tuple[str, ...] | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    line: int | None = None
    label_lines: tuple[int | None, ...] = ()

    @property
    def unconditional(self) -> bool:
        return self.labels is None and self.min_confidence is None and self.max_confidence is None

    @property
    def has_bounds(self) -> bool:
        return self.min_confidence is not None or self.max_confidence is not None


@dataclass(frozen=True)
class ActionRules:
    """An ordered rule set; ``source`` is the file it came from (or ``"<mapping>"``)."""

    rules: tuple[Rule, ...]
    default: str = DEFAULT_ACTION
    source: str = MAPPING_SOURCE

    @property
    def actions(self) -> list[str]:
        """Distinct actions in rule order, then the default (the order of ``per_action``)."""
        seen: dict[str, None] = {}
        for rule in self.rules:
            seen.setdefault(rule.action, None)
        seen.setdefault(self.default, None)
        return list(seen)

    def check_labels(self, labels: Sequence[str]) -> ActionRules:
        """Raise UsageError (file, line, the known labels) for a rule label the model does not know."""
        known = [str(x) for x in labels]
        known_set = set(known)
        for i, rule in enumerate(self.rules, start=1):
            for j, name in enumerate(rule.labels or ()):
                if name in known_set:
                    continue
                line = rule.label_lines[j] if j < len(rule.label_lines) else rule.line
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                raise UsageError(
                    _where(self.source, line, i) + f"label {name!r} is not a label the model knows; "
                    f"the labels are: {_listing(known)}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                    hint="a rule's label is a predicted class name, exactly as the model (or the "
                         "predictions file) names it")
        return self

    def match(self, predicted_labels, confidence=None) -> np.ndarray:
        """For each row the index of the first matching rule; ``len(rules)`` for the default."""
        pred = np.asarray(predicted_labels, dtype=object).astype(str)
        n = pred.shape[0]
        conf = (np.full(n, np.nan) if confidence is None
                else np.asarray(confidence, dtype=np.float64).reshape(-1))
        if conf.shape[0] != n:
            raise UsageError(f"{n} predicted labels but {conf.shape[0]} confidences")
        out = np.full(n, len(self.rules), dtype=np.int64)
        free = np.ones(n, dtype=bool)
        with np.errstate(invalid="ignore"):
            for i, rule in enumerate(self.rules):
                hit = free.copy()
                if rule.labels is not None:
                    hit &= np.isin(pred, np.asarray(rule.labels, dtype=str))
                if rule.min_confidence is not None:
                    hit &= conf >= rule.min_confidence  # NaN (no confidence) is False
                if rule.max_confidence is not None:
                    hit &= conf <= rule.max_confidence
                out[hit] = i
                free &= ~hit
        return out

    def apply(self, predicted_labels, confidence=None) -> np.ndarray:
        """The action of every row (an object array of str), vectorised."""
        choices = np.asarray([r.action for r in self.rules] + [self.default], dtype=object)
        return choices[self.match(predicted_labels, confidence)]

    @staticmethod
    def describe(rule: Rule | None) -> str:
        """'label = a and confidence ≥ 0.80'; ``None`` (the default) is 'no rule matched (default)'."""
        if rule is None:
            return DEFAULT_DESCRIPTION
        parts = []
        if rule.labels is not None:
            parts.append(f"label = {rule.labels[0]}" if len(rule.labels) == 1
                         else "label in {" + ", ".join(rule.labels) + "}")
        lo, hi = rule.min_confidence, rule.max_confidence
        if lo is not None and hi is not None:
            parts.append(f"{_num(lo)} ≤ confidence ≤ {_num(hi)}")
        elif lo is not None:
            parts.append(f"confidence ≥ {_num(lo)}")
        elif hi is not None:
            parts.append(f"confidence ≤ {_num(hi)}")
        return " and ".join(parts) if parts else "any prediction"

    def to_dict(self) -> dict:
        return {"file": self.source, "default": self.default,
                "rules": [{"label": list(r.labels) if r.labels is not None else None,
                           "min_confidence": r.min_confidence, "max_confidence": r.max_confidence,
                           "action": r.action, "line": r.line} for r in self.rules]}


def _num(x: float) -> str:
    return f"{x:.2f}" if round(x, 2) == x else f"{x:g}"


# ------------------------------------------------------------------ summary


def action_summary(actions, correct, rules: ActionRules) -> dict:
    """The ``actions`` section of metrics.json.

    ``{"file", "default", "per_action": [{"action", "count", "share", "accuracy", "rule"}]}``,
    one entry per distinct action in rule order, then the default (actions named by several
    rules, or equal to the default, are one entry whose ``rule`` joins the descriptions with
    " or "). ``accuracy`` is the share of ``correct`` rows among the action's rows; None
    without ``correct`` or when the count is 0. ``share`` is count / rows (None for no rows).
    """
    acts = np.asarray(actions, dtype=object)
    n = int(acts.shape[0])
    ok = None if correct is None else np.asarray(correct, dtype=bool)
    if ok is not None and ok.shape[0] != n:
        raise UsageError(f"{n} actions but {ok.shape[0]} correct flags")
    descriptions: dict[str, list[str]] = {a: [] for a in rules.actions}
    for rule in rules.rules:
        descriptions[rule.action].append(rules.describe(rule))
    descriptions[rules.default].append(rules.describe(None))
    per_action = []
    for action, described in descriptions.items():
        mask = acts == action
        count = int(mask.sum())
        accuracy = None
        if ok is not None and count:
            accuracy = float(ok[mask].mean())
        per_action.append({"action": action, "count": count, "share": (count / n) if n else None,
                           "accuracy": accuracy, "rule": " or ".join(described)})
    return {"file": rules.source, "default": rules.default, "per_action": per_action}


def summary_line(summary: Mapping) -> str:
    """'offer premium plan 12 (30%, accuracy 92%); no action 28 (70%)' for consoles."""
    parts = []
    for row in summary.get("per_action", []):
        share = "" if row.get("share") is None else f"{row['share']:.0%}"
        acc = "" if row.get("accuracy") is None else f"accuracy {row['accuracy']:.0%}"
        detail = ", ".join(x for x in (share, acc) if x)
        parts.append(f"{row['action']} {row['count']}" + (f" ({detail})" if detail else ""))
    return "; ".join(parts)


def add_action_column(frame: pd.DataFrame, actions) -> pd.DataFrame:
    """A copy of ``frame`` with ``action`` right after ``confidence`` (or ``predicted_label``)."""
    out = frame.copy()
    cols = list(out.columns)
    if "action" in cols:
        raise UsageError("the predictions already have an 'action' column")
    anchor = "confidence" if "confidence" in cols else "predicted_label"
    at = cols.index(anchor) + 1 if anchor in cols else len(cols)
    out.insert(at, "action", np.asarray(actions, dtype=object))
    return out


# ------------------------------------------------------------------ parsing


def load_rules(path: str | Path, *, labels: Sequence[str] | None = None) -> ActionRules:
    """Read and check an actions file; with ``labels`` also check every rule label is one of them."""
    tree = read_yaml(path, flag="`actions`", what="a YAML file of rules")
    rules = _build(tree, str(Path(path)))
    return rules if labels is None else rules.check_labels(labels)


def parse_rules(spec, *, labels: Sequence[str] | None = None, source: str = MAPPING_SOURCE) -> ActionRules:
    """An ``ActionRules`` from an already-parsed mapping (``{"default": …, "rules": […]}``)."""
    rules = _build(from_python(spec), source)
    return rules if labels is None else rules.check_labels(labels)


def resolve_rules(actions, *, labels: Sequence[str] | None = None) -> ActionRules:
    """``actions`` as a path, a mapping or an ``ActionRules``, checked against ``labels``."""
    if isinstance(actions, ActionRules):
        return actions if labels is None else actions.check_labels(labels)
    if isinstance(actions, Mapping):
        return parse_rules(actions, labels=labels)
    if isinstance(actions, str | Path):
        return load_rules(actions, labels=labels)
    raise UsageError(f"actions must be a file path, a mapping or ActionRules, not {type(actions).__name__}")


def _where(source: str, line: int | None, rule: int | None = None) -> str:
    where = source + (f", line {line}" if line is not None else "") + ": "
    return where + (f"rule {rule}: " if rule is not None else "")


def _listing(items: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _kind(node: Node | None) -> str:
    if node is None or (node.kind == "scalar" and node.value is None):
        return "nothing"
    if node.kind == "map":
        return "a mapping"
    if node.kind == "seq":
        return "a list"
    v = node.value
    if isinstance(v, bool):
        return f"a true/false value ({node.raw})"
    if isinstance(v, int | float):
        return f"a number ({node.raw})"
    if isinstance(v, str):
        return f"text ({v!r})"
    return f"a {type(v).__name__} ({node.raw})"


def _unknown_keys(m: dict, allowed: tuple[str, ...], source: str, what: str, rule: int | None) -> None:
    for key, (_, key_line) in m.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            raise UsageError(_where(source, key_line, rule) + f"unknown key {key!r} in {what}; the allowed keys "
                             f"are {', '.join(allowed)}" + (f" (did you mean {close[0]!r}?)" if close else ""))


def _text(node: Node, source: str, rule: int | None, name: str) -> str:
    if node.kind != "scalar" or not isinstance(node.value, str):
        raise UsageError(_where(source, node.line, rule) + f"{name} must be text, not {_kind(node)}",
                         hint="put the text in quotes, e.g. \"offer premium plan\"")
    text = node.value.strip()
    if not text:
        raise UsageError(_where(source, node.line, rule) + f"{name} is empty text")
    return text


def _bound(node: Node, source: str, rule: int, name: str) -> float:
    v = node.value if node.kind == "scalar" else None
    if node.kind != "scalar" or isinstance(v, bool) or not isinstance(v, int | float):
        raise UsageError(_where(source, node.line, rule) + f"{name} must be a number between 0 and 1, "
                         f"not {_kind(node)}")
    x = float(v)
    if not math.isfinite(x) or not 0.0 <= x <= 1.0:
        raise UsageError(_where(source, node.line, rule) + f"{name} {node.raw} is outside [0, 1]",
                         hint="confidence is the largest class probability, between 0 and 1")
    return x


def _label_name(node: Node, source: str, rule: int) -> str:
    if node.kind != "scalar" or node.value is None:
        raise UsageError(_where(source, node.line, rule) + f"label must be a class name or a list of class "
                         f"names, not {_kind(node)}")
    # a YAML 1 / yes / 1.5 is the class named by its text, as written
    name = node.value if isinstance(node.value, str) else str(node.raw)
    name = name.strip()
    if not name:
        raise UsageError(_where(source, node.line, rule) + "label is empty text")
    return name


def _build(tree: Node | None, source: str) -> ActionRules:
    if tree is None or (tree.kind == "scalar" and tree.value is None):
        raise UsageError(f"{source}: the actions file is empty; it needs 'rules' (and optionally 'default')",
                         hint="see docs/actions.md for an example")
    if tree.kind != "map":
        raise UsageError(_where(source, tree.line) + f"the actions file must be a mapping with the keys "
                         f"{', '.join(TOP_KEYS)}, not {_kind(tree)}", hint="see docs/actions.md for an example")
    top = tree.value
    _unknown_keys(top, TOP_KEYS, source, "the actions file", None)
    default = DEFAULT_ACTION
    if "default" in top:
        default = _text(top["default"][0], source, None, "default")
    if "rules" not in top:
        raise UsageError(_where(source, tree.line) + "the actions file has no 'rules' (a list of rules)",
                         hint="see docs/actions.md for an example")
    rules_node, rules_line = top["rules"]
    if rules_node.kind == "scalar" and rules_node.value is None:
        raise UsageError(_where(source, rules_line) + "rules is empty; give at least one rule")
    if rules_node.kind != "seq":
        raise UsageError(_where(source, rules_node.line or rules_line) + f"rules must be a list of rules "
                         f"(each starting with '- '), not {_kind(rules_node)}")
    if not rules_node.value:
        raise UsageError(_where(source, rules_node.line or rules_line) + "rules is empty; give at least one rule")
    rules: list[Rule] = []
    for i, node in enumerate(rules_node.value, start=1):
        rules.append(_build_rule(node, i, source))
    for i, rule in enumerate(rules[:-1], start=1):
        if rule.unconditional:
            later = rules[i]
            raise UsageError(_where(source, later.line, i + 1) + f"can never match: rule {i} above it has no "
                             "label and no confidence bounds, so it matches every prediction first",
                             hint="rules are tried in order and the first match wins; move the catch-all "
                                  "rule last, or use 'default'")
    return ActionRules(rules=tuple(rules), default=default, source=source)


def _build_rule(node: Node, i: int, source: str) -> Rule:
    if node.kind != "map":
        raise UsageError(_where(source, node.line, i) + f"a rule must be a mapping with the keys "
                         f"{', '.join(RULE_KEYS)}, not {_kind(node)}")
    m = node.value
    _unknown_keys(m, RULE_KEYS, source, f"rule {i}", i)
    if "action" not in m:
        raise UsageError(_where(source, node.line, i) + "the rule has no 'action' (every rule needs one)")
    action = _text(m["action"][0], source, i, "action")
    labels = None
    label_lines: tuple[int | None, ...] = ()
    if "label" in m:
        lab = m["label"][0]
        if lab.kind == "seq":
            if not lab.value:
                raise UsageError(_where(source, lab.line or m["label"][1], i) + "label is an empty list")
            names = [_label_name(item, source, i) for item in lab.value]
            lines = [item.line for item in lab.value]
        else:
            names, lines = [_label_name(lab, source, i)], [lab.line]
        keep = {}
        for name, line in zip(names, lines, strict=True):
            keep.setdefault(name, line)
        labels, label_lines = tuple(keep), tuple(keep.values())
    lo = _bound(m["min_confidence"][0], source, i, "min_confidence") if "min_confidence" in m else None
    hi = _bound(m["max_confidence"][0], source, i, "max_confidence") if "max_confidence" in m else None
    if lo is not None and hi is not None and lo > hi:
        raise UsageError(_where(source, m["min_confidence"][0].line, i) + f"min_confidence {_num(lo)} is greater "
                         f"than max_confidence {_num(hi)}, so the rule can never match")
    return Rule(action=action, labels=labels, min_confidence=lo, max_confidence=hi, line=node.line,
                label_lines=label_lines)
