"""modelqa inspect"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o

#: Detail values longer than this are cut in the table view (--format json has them whole).
DETAIL_CHARS = 160
#: The flag that opts in to loading each kind of model that needs one.
OPT_IN_FLAGS = {"keras": "--allow-unsafe", "keras-h5": "--allow-unsafe", "savedmodel": "--allow-unsafe",
                "skops": "--trust", "pickle": "--allow-pickle", "hf": "--allow-pickle"}


def inspect_cmd(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="A model: Hugging Face folder, modelqa tabular folder, .keras / .h5 "
                                               "file, .skops file, .onnx file or ONNX text folder.")],
    output_format: o.Format = "table",
) -> None:
    """Describe a model without running it: kind, task, labels, inputs, size, and whether loading
    it needs an opt-in (--allow-unsafe, --trust, --allow-pickle) and which.

    Exits 0 for every model it can describe, also one that needs an opt-in or cannot be run here
    (the output says why); a path that is no model is an error (exit code 4)."""
    from modelqa.api.inspect import inspect_model

    o.check_choice(output_format, "--format", ("table", "json"))
    desc = inspect_model(model)
    flags = _flag_names()
    if output_format == "json":
        from modelqa.report.console import print_json

        doc = desc.to_dict()
        doc["unsafe"] = flags(doc["unsafe"]) if doc["unsafe"] else None
        doc["opt_in"] = OPT_IN_FLAGS.get(desc.kind) if desc.unsafe and desc.loadable else None
        print_json(doc)
        return
    rows = description_lines(desc, flags)
    width = max(len(name) for name, _ in rows) + 2
    for name, value in rows:
        typer.echo(f"{name:<{width}}{value}")


def _flag_names():
    """Backticked parameter names (`allow_unsafe`) as the flags of evaluate / predict."""
    from modelqa.cli.flags import to_flags
    from modelqa.cli.main import app

    return lambda text: to_flags(text, app, ["evaluate"])


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def description_lines(desc, flags=lambda s: s) -> list[tuple[str, str]]:
    """(name, value) rows of the table view."""
    from modelqa.adapters.model_kind import KIND_NAMES

    labels = ", ".join(desc.labels) if desc.labels else "(not stored in the model)"
    rows = [("model", str(desc.path)), ("kind", f"{desc.kind} ({KIND_NAMES.get(desc.kind, desc.kind)})"),
            ("task", desc.task or "(not known before it runs)"), ("labels", labels), ("inputs", desc.inputs)]
    if desc.feature_columns:
        rows.append(("columns", ", ".join(desc.feature_columns)))
    rows.append(("size", _size(desc.size_bytes)))
    if not desc.loadable:
        reason = desc.details.get("not_loadable") or desc.unsafe or "see the details"
        rows.append(("loading", f"modelqa cannot run it: {flags(str(reason))}"))
    elif desc.unsafe:
        text = flags(desc.unsafe)
        flag = OPT_IN_FLAGS.get(desc.kind)
        rows.append(("loading", f"needs an opt-in: {text}" + (f" (opt in with {flag})" if flag and flag not in text
                                                               else "")))
    else:
        rows.append(("loading", "safe by default (no opt-in needed)"))
    for key, value in desc.details.items():
        if value in (None, "", [], {}) or key == "not_loadable":
            continue
        text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        rows.append((key, text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS - 1] + "…"))
    return rows
