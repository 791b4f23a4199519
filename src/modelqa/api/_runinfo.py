"""run.json: what produced a run (command, versions, inputs and their hashes, timing)."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("modelqa", "numpy", "pandas", "torch", "transformers", "tokenizers", "scikit-learn"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def command_line(command: str | None) -> str:
    """The command that produced a run: the CLI passes what was typed; API calls say so."""
    return command or "python API"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
