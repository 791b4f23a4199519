"""The ``behaviour:`` list of a suite file, parsed from ``modelqa._yaml.Node`` trees into
``BehaviourTest``s. Every problem is a ``UsageError`` that names the file and the line; an
unknown key names its closest known key.

    behaviour:
      - name: delivery questions go to 배송
        type: MFT
        template: "{product} 배송이 {adverb} 빨라요"
        fill: {product: [책, 신발], adverb: [정말, 너무]}
        expect: 배송                    # or {not: 환불}
      - name: spacing does not change the answer
        type: INV
        perturbation: ko-spacing
        rate: 0.5
        column: Q                       # or texts: [...], or a template; default: the text column
      - name: 정말 makes a positive review more positive
        type: DIR
        perturbation: ...
        texts: [...]
        expect: {label: pos, change: not_decrease}   # or {to: pos} / {away_from: neg}
"""

from __future__ import annotations

import itertools
import string
from pathlib import Path

import numpy as np

from modelqa._yaml import Node, read_yaml, unknown_key_message, where
from modelqa.analysis.behaviour import DIRECTIONS, TYPES, BehaviourTest, Case, Direction
from modelqa.errors import UsageError

COMMON_KEYS = ("name", "type", "capability", "threshold", "min_n", "seed", "description")
SOURCE_KEYS = ("texts", "template", "fill", "max_cases")
KEYS = {
    "MFT": COMMON_KEYS + ("cases", "csv", "text_col", "expect_col", "expect") + SOURCE_KEYS,
    "INV": COMMON_KEYS + ("perturbation", "rate", "count", "column", "sample", "tolerance") + SOURCE_KEYS,
    "DIR": COMMON_KEYS + ("perturbation", "rate", "count", "column", "sample", "expect") + SOURCE_KEYS,
}
DEFAULT_CAPABILITY = {"MFT": "vocabulary", "INV": "robustness", "DIR": "directional"}
DEFAULT_THRESHOLD = {"MFT": 0.05, "INV": 0.1, "DIR": 0.1}
MAX_CASES = 1000


class _Map:
    """A mapping node with its source, for typed look-ups whose errors name the line."""

    def __init__(self, node: Node, source: str) -> None:
        self.node, self.source, self.items = node, source, node.value

    def line(self, key: str) -> int | None:
        return self.items[key][1] if key in self.items else self.node.line

    def err(self, key: str | None, message: str) -> UsageError:
        return UsageError(where(self.source, self.line(key) if key else self.node.line) + message)

    def has(self, key: str) -> bool:
        return key in self.items

    def raw(self, key: str) -> Node | None:
        return self.items[key][0] if key in self.items else None

    def scalar(self, key: str, default=None):
        node = self.raw(key)
        if node is None or node.value is None and node.kind == "scalar":
            return default
        if node.kind != "scalar":
            raise self.err(key, f"{key!r} must be a single value, not a {'list' if node.kind == 'seq' else 'mapping'}")
        return node.value

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.err(key, f"{key!r} must be text, not {value!r}")
        return str(value)

    def number(self, key: str, default, *, low: float, high: float, integer: bool = False, low_open: bool = False):
        value = self.scalar(key, default)
        if value is None:
            return None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (not integer or float(value).is_integer())
        if ok:
            ok = (low < value if low_open else low <= value) and value <= high
        if not ok:
            kind = "a whole number" if integer else "a number"
            lo = f"above {low:g}" if low_open else f"at least {low:g}"
            hi = "" if high == float("inf") else f" and at most {high:g}"
            raise self.err(key, f"{key!r} must be {kind} {lo}{hi}, not {value!r}")
        return int(value) if integer else float(value)

    def strings(self, key: str) -> list[str]:
        node = self.raw(key)
        if node is None:
            return []
        items = node.value if node.kind == "seq" else [node]
        out = []
        for item in items:
            if item.kind != "scalar" or item.value is None or isinstance(item.value, bool):
                raise UsageError(where(self.source, item.line or self.line(key))
                                 + f"{key!r} must list texts, not {item.plain()!r}")
            out.append(str(item.value))
        return out


def load_behaviour(path: str | Path, *, flag: str = "`suite`") -> list[BehaviourTest]:
    """The behaviour tests of a YAML file: its ``behaviour:`` key, or a top-level list."""
    node = read_yaml(path, flag=flag, what="a YAML suite of checks and behaviour tests")
    if node is None:
        return []
    if node.kind == "map":
        if "behaviour" not in node.value:
            raise UsageError(where(str(path), node.line) + "no 'behaviour:' list in the file")
        node = node.value["behaviour"][0]
    return parse_behaviour(node, str(path))


def parse_behaviour(node: Node, source: str) -> list[BehaviourTest]:
    """The tests of a ``behaviour:`` node (a list of mappings)."""
    if node is None or (node.kind == "scalar" and node.value is None):
        return []
    if node.kind != "seq":
        raise UsageError(where(source, node.line) + "'behaviour' must be a list of tests (each starting with '- name:')")
    tests, seen = [], {}
    for item in node.value:
        if item.kind != "map":
            raise UsageError(where(source, item.line) + f"a behaviour test must be a mapping with name and type, "
                             f"not {item.plain()!r}")
        test = _parse_test(_Map(item, source))
        if test.name in seen:
            raise UsageError(where(source, item.line) + f"the test name {test.name!r} is used twice "
                             f"(first on line {seen[test.name]})")
        seen[test.name] = item.line
        tests.append(test)
    return tests


def _parse_test(m: _Map) -> BehaviourTest:
    name = m.text("name")
    if not name:
        raise m.err(None, "a behaviour test needs a 'name'")
    kind = m.text("type")
    if kind is None or kind.upper() not in TYPES:
        raise m.err("type", f"test {name!r}: 'type' must be one of {', '.join(TYPES)}, not {kind!r}")
    kind = kind.upper()
    for key in m.items:
        if key not in KEYS[kind]:
            raise m.err(key, f"test {name!r} ({kind}): " + unknown_key_message(key, KEYS[kind]))
    common = {
        "name": name, "type": kind, "source": m.source, "line": m.node.line,
        "capability": m.text("capability", DEFAULT_CAPABILITY[kind]),
        "threshold": m.number("threshold", DEFAULT_THRESHOLD[kind], low=0.0, high=1.0),
        "min_n": m.number("min_n", 5, low=0, high=float("inf"), integer=True),
        "seed": m.number("seed", None, low=0, high=2**32 - 1, integer=True),
    }
    if kind == "MFT":
        return BehaviourTest(**common, cases=tuple(_mft_cases(m, name, common["seed"] or 0)))
    perturbation = m.text("perturbation")
    if perturbation is None:
        raise m.err(None, f"test {name!r} ({kind}) needs a 'perturbation' (e.g. ko-spacing, en-typo)")
    if m.has("rate") and m.has("count"):
        raise m.err("count", f"test {name!r}: give 'rate' or 'count', not both")
    rate = m.number("rate", None, low=0.0, high=1.0, low_open=True)
    count = m.number("count", None, low=1, high=float("inf"), integer=True)
    from modelqa.analysis import perturb

    try:
        perturb.get(perturbation, rate=rate, count=count)
    except UsageError as exc:
        raise m.err("perturbation", f"test {name!r}: {exc}") from None
    texts = _listed_texts(m, name, common["seed"] or 0)
    column = m.text("column")
    if column is not None and texts:
        raise m.err("column", f"test {name!r}: give 'column' or listed texts / a template, not both")
    sample_node = m.raw("sample")
    sample = None if sample_node is not None and sample_node.value in ("all", None) else \
        m.number("sample", 500, low=1, high=float("inf"), integer=True)
    out = dict(common, perturbation=perturbation, rate=rate, count=count, column=column, texts=tuple(texts),
               sample=sample)
    if kind == "INV":
        out["tolerance"] = m.number("tolerance", 0.1, low=0.0, high=1.0)
    else:
        out["direction"] = _direction(m, name)
    return BehaviourTest(**out)


def _listed_texts(m: _Map, name: str, seed: int) -> list[str]:
    texts = m.strings("texts")
    if m.has("template"):
        texts += _expand_templates(m, name, seed)
    elif m.has("fill"):
        raise m.err("fill", f"test {name!r}: 'fill' needs a 'template'")
    return texts


def _expand_templates(m: _Map, name: str, seed: int) -> list[str]:
    templates = m.strings("template")
    fill_node = m.raw("fill")
    fill: dict[str, list[str]] = {}
    if fill_node is not None:
        if fill_node.kind != "map":
            raise m.err("fill", f"test {name!r}: 'fill' must map each slot to a list of words")
        slots = _Map(fill_node, m.source)
        for slot in fill_node.value:
            fill[slot] = slots.strings(slot)
            if not fill[slot]:
                raise slots.err(slot, f"test {name!r}: slot {slot!r} has no words")
    used: set[str] = set()
    out: list[str] = []
    for template in templates:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as exc:
            raise m.err("template", f"test {name!r}: the template {template!r} is not valid ({exc}); "
                        "write a literal brace as {{ or }}") from None
        for f in fields:
            if f not in fill:
                raise m.err("template", f"test {name!r}: the template uses slot {{{f}}} but 'fill' has no {f!r}"
                            + (f" (slots: {', '.join(fill)})" if fill else ""))
        slots = sorted(set(fields))
        used |= set(slots)
        for combo in itertools.product(*(fill[s] for s in slots)):
            out.append(template.format(**dict(zip(slots, combo, strict=True))))
    unused = sorted(set(fill) - used)
    if unused:
        raise m.err("fill", f"test {name!r}: slot(s) {', '.join(unused)} in 'fill' appear in no template")
    cap = m.number("max_cases", MAX_CASES, low=1, high=float("inf"), integer=True)
    if len(out) > cap:
        keep = np.sort(np.random.default_rng(seed).choice(len(out), size=cap, replace=False))
        out = [out[i] for i in keep]
    return out


def _expectation(m: _Map, node: Node | None, name: str, line: int | None) -> tuple[str, bool] | None:
    """(label, negate) from ``expect: label`` or ``expect: {not: label}``."""
    if node is None:
        return None
    if node.kind == "scalar" and node.value is not None and not isinstance(node.value, bool):
        return str(node.value), False
    if node.kind == "map" and list(node.value) == ["not"] and node.value["not"][0].kind == "scalar":
        return str(node.value["not"][0].value), True
    raise UsageError(where(m.source, line) + f"test {name!r}: 'expect' must be a label or {{not: label}}, "
                     f"not {node.plain()!r}")


def _mft_cases(m: _Map, name: str, seed: int) -> list[Case]:
    default = _expectation(m, m.raw("expect"), name, m.line("expect"))
    cases: list[Case] = []
    node = m.raw("cases")
    if node is not None:
        if node.kind != "seq":
            raise m.err("cases", f"test {name!r}: 'cases' must be a list of texts or of {{text, expect}}")
        for item in node.value:
            if item.kind == "map":
                sub = _Map(item, m.source)
                for key in item.value:
                    if key not in ("text", "expect"):
                        raise sub.err(key, f"test {name!r}: " + unknown_key_message(key, ("text", "expect")))
                text = sub.text("text")
                exp = _expectation(m, sub.raw("expect"), name, sub.line("expect")) or default
            else:
                text, exp = (None if item.value is None else str(item.value)), default
            if not text:
                raise UsageError(where(m.source, item.line) + f"test {name!r}: a case needs a text")
            if exp is None:
                raise UsageError(where(m.source, item.line) + f"test {name!r}: case {text!r} has no expected label; "
                                 "give 'expect' for the test or for the case")
            cases.append(Case(text, *exp))
    listed = _listed_texts(m, name, seed)
    if listed and default is None:
        raise m.err(None, f"test {name!r}: listed texts and templates need 'expect'")
    cases += [Case(t, *default) for t in listed]
    if m.has("csv"):
        cases += _csv_cases(m, name, default)
    elif m.has("text_col") or m.has("expect_col"):
        raise m.err("text_col" if m.has("text_col") else "expect_col", f"test {name!r}: 'text_col' and "
                    "'expect_col' name columns of the 'csv' file, which is not given")
    if not cases:
        raise m.err(None, f"test {name!r} (MFT) has no cases: give 'cases', 'texts', a 'template' or a 'csv'")
    return cases


def _csv_cases(m: _Map, name: str, default: tuple[str, bool] | None) -> list[Case]:
    from modelqa.data.load import read_table
    from modelqa.errors import DataError

    path = Path(m.text("csv"))
    if not path.is_absolute() and m.source and not m.source.startswith("<"):
        path = Path(m.source).parent / path
    text_col, expect_col = m.text("text_col", "text"), m.text("expect_col", "expect")
    try:
        df = read_table(path)
    except (UsageError, DataError) as exc:
        raise m.err("csv", f"test {name!r}: {exc}") from None
    if text_col not in df.columns:
        raise m.err("csv", f"test {name!r}: {path} has no column {text_col!r} (columns: {', '.join(map(str, df.columns))})")
    has_expect = expect_col in df.columns
    if not has_expect and (m.has("expect_col") or default is None):
        raise m.err("csv", f"test {name!r}: {path} has no column {expect_col!r} and the test gives no 'expect'")
    cases = []
    for row, (text, exp) in enumerate(zip(df[text_col], df[expect_col] if has_expect else [None] * len(df),
                                          strict=True), start=2):
        if text is None or (isinstance(text, float) and text != text) or not str(text).strip():
            raise m.err("csv", f"test {name!r}: {path}, row {row}: column {text_col!r} is empty")
        if exp is None or (isinstance(exp, float) and exp != exp):
            if default is None:
                raise m.err("csv", f"test {name!r}: {path}, row {row}: column {expect_col!r} is empty")
            cases.append(Case(str(text), *default))
        else:
            cases.append(Case(str(text), str(exp).strip()))
    return cases


def _direction(m: _Map, name: str) -> Direction:
    node = m.raw("expect")
    if node is None or node.kind != "map":
        raise m.err("expect" if node is not None else None,
                    f"test {name!r} (DIR) needs 'expect': {{label: X, change: not_decrease}} (changes: "
                    f"{', '.join(d for d in DIRECTIONS if d not in ('to', 'away_from'))}; delta: the least change), "
                    "{to: X} or {away_from: X}")
    sub = _Map(node, m.source)
    keys = list(node.value)
    if keys in (["to"], ["away_from"]):
        return Direction(label=sub.text(keys[0]), change=keys[0])
    for key in keys:
        if key not in ("label", "change", "delta"):
            raise sub.err(key, f"test {name!r}: " + unknown_key_message(key, ("label", "change", "delta", "to", "away_from")))
    label, change = sub.text("label"), sub.text("change", "not_decrease")
    if label is None:
        raise sub.err(None, f"test {name!r}: 'expect' needs the 'label' whose probability is tested")
    allowed = [d for d in DIRECTIONS if d not in ("to", "away_from")]
    if change not in allowed:
        raise sub.err("change", f"test {name!r}: 'change' must be one of {', '.join(allowed)}, not {change!r}")
    return Direction(label=label, change=change, delta=sub.number("delta", 0.0, low=0.0, high=1.0))
