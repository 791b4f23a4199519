"""Typed errors. Every error a user can cause is a ModelQAError; the CLI formats
them once (cli/main.py) and turns them into exit codes. Messages name the file,
column, row and value wherever there is one, and name parameters in backticks ("`cost` must …"):
the CLI shows each as its flag (cli/flags.py)."""

from __future__ import annotations


class ModelQAError(Exception):
    """Base class for errors that are the user's input, not a bug."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class UsageError(ModelQAError):
    """Options that do not fit together or a value that is out of range."""

    exit_code = 2


class DataError(ModelQAError):
    """A data file that cannot be read or does not have what is needed."""

    exit_code = 3


class ModelError(ModelQAError):
    """A model folder that cannot be loaded safely or does not fit the data."""

    exit_code = 4


class RunError(ModelQAError):
    """An output location that cannot be written, or a run that cannot continue."""

    exit_code = 5


def check_choice(value: str | None, name: str, choices: tuple[str, ...]) -> str:
    """``value`` (lower-cased; None gives ``choices[0]``, the default) if it is one of ``choices``,
    else a UsageError naming the parameter ``name`` (in backticks: the CLI shows its flag) and
    the choices."""
    value = choices[0] if value is None else str(value).strip().lower()
    if value not in choices:
        raise UsageError(f"`{name}` must be one of {', '.join(choices)}, not {value!r}")
    return value


def format_rows(rows, limit: int = 10) -> str:
    """'2, 5, 9 and 3 more' for messages that list row numbers."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    if len(rows) > limit:
        shown += f" and {len(rows) - limit} more"
    return shown
