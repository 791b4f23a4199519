"""Parameter names in messages -> command-line flags, once, where the CLI prints an error.

Messages raised below the API name parameters in backticks ("`cost` must look like fp=1,fn=5",
"use `device='cpu'`"), so that a Python caller is told about the argument it passed. The CLI
turns each backticked name that is an option of the command being run into that option's flag
("--cost must look like …", "use --device cpu"). A name the command does not have falls back to
the flag every command agrees on, when there is exactly one; any other backticked text is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

#: API parameters whose CLI option has another name (the CLI takes one column per flag).
API_NAMES = {"id_cols": "drop_col", "slice_cols": "slice_col", "license": "license_id"}

#: `name`, `name=value`, `name='value'` or `name="value"`.
_NAMED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)(?:=(?:'([^'`]*)'|\"([^\"`]*)\"|([^`'\"]+)))?`")


def _is_option(param) -> bool:
    return getattr(param, "param_type_name", "") == "option"


def _long(opts: Iterable[str]) -> str | None:
    opts = list(opts)
    return next((o for o in opts if o.startswith("--")), opts[0] if opts else None)


def _spell(param, value: str | None) -> str:
    """``param`` as typed on the command line, with ``value`` when the message gives one."""
    flag = _long(param.opts)
    if value is None:
        return flag
    if getattr(param, "is_flag", False) and value.lower() in ("true", "false"):
        if value.lower() == "false":
            return _long(getattr(param, "secondary_opts", ())) or f"without {flag}"
        return flag
    return f"{flag} {value}"


def _commands(command, path: tuple[str, ...] = ()):
    """(path, command) for every leaf command under ``command``."""
    subs = getattr(command, "commands", None)
    if subs is None:
        yield path, command
        return
    for name, sub in subs.items():
        yield from _commands(sub, (*path, name))


def running_command(root, argv: list[str]):
    """The leaf command ``argv`` runs (``train text`` -> its command), or None."""
    command = root
    for token in argv:
        subs = getattr(command, "commands", None)
        if subs is None:
            return command
        if token.startswith("-"):
            continue
        if token not in subs:
            return None
        command = subs[token]
    return command if getattr(command, "commands", None) is None else None


def shared_params(root) -> dict[str, object]:
    """Option name -> a parameter, for the names that mean one flag in every command."""
    seen: dict[str, dict[tuple, object]] = {}
    for _, command in _commands(root):
        for param in command.params:
            key = (tuple(param.opts), tuple(getattr(param, "secondary_opts", ())), _is_option(param))
            seen.setdefault(param.name, {})[key] = param
    return {name: next(iter(by.values())) for name, by in seen.items()
            if len(by) == 1 and _is_option(next(iter(by.values())))}


def flag_mapper(root, argv: list[str]) -> Callable[[str], str]:
    """A function that rewrites backticked parameter names in a message to the flags of the
    command ``argv`` runs under the click group ``root``."""
    command = running_command(root, argv)
    own = {p.name: p for p in command.params} if command is not None else {}
    shared = shared_params(root)

    def replace(match: re.Match) -> str:
        name = match.group(1)
        value = next((v for v in match.group(2, 3, 4) if v is not None), None)
        param = own.get(name) or own.get(API_NAMES.get(name, ""))
        if param is None:
            param = shared.get(name) or shared.get(API_NAMES.get(name, ""))
        if param is None or not _is_option(param):
            return match.group(0)
        return _spell(param, value)

    return lambda text: _NAMED.sub(replace, text)


def to_flags(text: str, app, argv: list[str]) -> str:
    """``text`` with the parameters of the command ``argv`` runs in the typer ``app`` named as
    flags. Any failure to resolve the command leaves the text as it is."""
    if "`" not in text:
        return text
    import typer.main

    try:
        root = typer.main.get_command(app)
    except Exception:  # a message must be printed even if the app cannot be built
        return text
    return flag_mapper(root, argv)(text)
