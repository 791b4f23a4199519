"""run.json: what produced a run (command, versions, inputs and their hashes, timing)."""

from __future__ import annotations

import platform
import sys
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
    if command:
        return command
    return "modelqa " + " ".join(sys.argv[1:]) if sys.argv and "modelqa" in sys.argv[0] else "python API"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
