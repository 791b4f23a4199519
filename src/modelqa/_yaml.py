"""YAML files read with their line numbers, by the safe loader only.

``load_yaml(path, what=...)`` composes the document with ``yaml.SafeLoader`` (nothing is
ever constructed with the unsafe loader; tags other than plain ones are refused) into
``Node`` trees that keep each value's line, so every problem a caller finds can name the
file and the line. Every error is a ``UsageError`` (exit code 2).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path

from modelqa.errors import UsageError

#: ``source`` of a tree built from a Python mapping instead of a file
MAPPING_SOURCE = "<mapping>"

_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq",
                                                            "timestamp"))


class Node:
    """A parsed value with its line: kind 'map' (dict of key -> (Node, key line)), 'seq'
    (list of Node), or 'scalar' (value, plus the raw YAML text)."""

    __slots__ = ("kind", "value", "raw", "line")

    def __init__(self, kind: str, value, line: int | None, raw: str | None = None) -> None:
        self.kind, self.value, self.line, self.raw = kind, value, line, raw

    def plain(self):
        """The value as plain Python (dicts, lists, scalars), lines dropped."""
        if self.kind == "map":
            return {k: v.plain() for k, (v, _) in self.value.items()}
        if self.kind == "seq":
            return [v.plain() for v in self.value]
        return self.value


def read_yaml(path: str | Path, *, flag: str, what: str) -> Node | None:
    """Parse ``path`` (``flag`` names the option it came from in messages; ``what`` says what the
    file holds, e.g. "a YAML file of rules"). None for an empty document."""
    import yaml

    path = Path(path)
    source = str(path)
    if not path.exists():
        near = []
        if path.parent.is_dir():
            near = difflib.get_close_matches(path.name, [p.name for p in path.parent.iterdir()], n=3, cutoff=0.6)
        raise UsageError(f"{flag} {source}: no such file" + (f"; similar: {', '.join(near)}" if near else ""))
    if path.is_dir():
        raise UsageError(f"{flag} {source} is a folder; it must be {what}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UsageError(f"{source}, line {line}: not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r})",
                         hint="save the file as UTF-8") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _from_yaml(node, loader, source, what)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        detail = " ".join(x for x in (exc.context, exc.problem) if x) or str(exc)
        raise UsageError(f"{where}: not valid YAML: {detail}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def from_python(value) -> Node:
    """A ``Node`` tree (without lines) from an already-parsed mapping / list / scalar."""
    if isinstance(value, Mapping):
        return Node("map", {str(k): (from_python(v), None) for k, v in value.items()}, None)
    if isinstance(value, list | tuple):
        return Node("seq", [from_python(v) for v in value], None)
    return Node("scalar", value, None, raw=None if value is None else str(value))


def where(source: str, line: int | None) -> str:
    """'file, line 7: ' (or 'file: ' without a line) to start a message."""
    return source + (f", line {line}" if line is not None else "") + ": "


def unknown_key_message(key: str, allowed: Iterable[str]) -> str:
    """'unknown key 'treshold'; did you mean 'threshold'? (known: ...)'."""
    allowed = list(allowed)
    near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"unknown key {key!r}{hint} (known: {', '.join(allowed)})"


def _from_yaml(node, loader, source: str, what: str) -> Node:
    import yaml

    line = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS:
        raise UsageError(f"{source}, line {line}, column {node.start_mark.column + 1}: the YAML tag {node.tag} is "
                         f"not allowed; {what} holds plain text, numbers, lists and mappings")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, tuple[Node, int]] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise UsageError(f"{source}, line {key_line}: a key must be a plain name")
            key = key_node.value
            if key in out:
                raise UsageError(f"{source}, line {key_line}: {key!r} is given twice (first on line {out[key][1]})")
            out[key] = (_from_yaml(value_node, loader, source, what), key_line)
        return Node("map", out, line)
    if isinstance(node, yaml.SequenceNode):
        return Node("seq", [_from_yaml(item, loader, source, what) for item in node.value], line)
    value = loader.construct_object(node)  # safe constructor: plain scalars only
    return Node("scalar", value, line, raw=node.value)
