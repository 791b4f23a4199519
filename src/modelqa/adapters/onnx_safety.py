"""Opening an ONNX file safely: external data that stays inside the model's folder.

An ONNX tensor may keep its bytes in another file (``data_location == EXTERNAL``, with a
``location`` entry naming it relative to the model file). onnx and onnxruntime have both
followed such names out of the model's folder (path traversal: CVE-2024-27318, CVE-2024-5187),
so a downloaded model could read, or make the loader write, any file the user can reach.
modelqa therefore reads the graph with ``onnx.load(path, load_external_data=False)``, checks
every external location here, and only then opens an onnxruntime session on the file.

A location is accepted when it is a non-empty relative path without ``..`` components that
resolves inside the folder of the model file, names an existing regular file, and neither
that file nor any folder between it and the model's folder is a symbolic link (a link could
point anywhere, and could be swapped between the check and the load). Every breach is a
``ModelError`` that names the tensor and the location.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from modelqa.errors import ModelError, UsageError

_INSTALL_HINT = 'pip install "modelqa[onnx]"'
_SAFE_HINT = ("keep every external-data file beside the .onnx file (or in a sub-folder of it) and name it by "
              "a relative path, e.g. onnx.save_model(model, 'model.onnx', save_as_external_data=True, "
              "location='model.onnx.data')")


@dataclass(frozen=True)
class ExternalRef:
    """One tensor whose data lives in another file."""

    tensor: str
    location: str
    offset: int
    length: int | None


def require_onnx():
    """Import onnx and onnxruntime, or say how to install them (an optional extra)."""
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise UsageError(f"ONNX models need onnx and onnxruntime, which cannot be imported ({exc})",
                         hint=_INSTALL_HINT) from exc
    return onnx, onnxruntime


def read_proto(path: str | os.PathLike):
    """The ModelProto of ``path`` without loading any external data."""
    onnx, _ = require_onnx()
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"ONNX model {path} does not exist or is not a file")
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, ValueError, OSError ...
        raise ModelError(f"{path} is not a readable ONNX model ({exc.__class__.__name__}: {exc})",
                         hint="export it again with torch.onnx.export or onnx.save_model") from exc


def _graph_tensors(graph):
    yield from graph.initializer
    for s in graph.sparse_initializer:
        yield s.values
        yield s.indices
    for node in graph.node:
        yield from _node_tensors(node)


def _node_tensors(node):
    for attr in node.attribute:
        if attr.HasField("t"):
            yield attr.t
        yield from attr.tensors
        if attr.HasField("sparse_tensor"):
            yield attr.sparse_tensor.values
            yield attr.sparse_tensor.indices
        if attr.HasField("g"):
            yield from _graph_tensors(attr.g)
        for g in attr.graphs:
            yield from _graph_tensors(g)


def all_tensors(model_proto):
    """Every tensor of the model: initializers, sparse initializers, constant attributes, and
    those of sub-graphs (If / Loop / Scan bodies) and local functions."""
    yield from _graph_tensors(model_proto.graph)
    for fn in model_proto.functions:
        for node in fn.node:
            yield from _node_tensors(node)


def external_refs(model_proto) -> list[ExternalRef]:
    """The tensors whose data lives outside the file, with their ``location`` entries."""
    from onnx import TensorProto

    out = []
    for t in all_tensors(model_proto):
        if t.data_location != TensorProto.EXTERNAL:
            continue
        entries = {e.key: e.value for e in t.external_data}
        try:
            offset = int(entries.get("offset") or 0)
            length = int(entries["length"]) if entries.get("length") else None
        except ValueError:
            offset, length = -1, None
        out.append(ExternalRef(tensor=t.name or "(unnamed)", location=entries.get("location", ""),
                               offset=offset, length=length))
    return out


def location_problem(location: str, folder: Path) -> str | None:
    """Why ``location`` may not be read for a model in ``folder`` (None: it may)."""
    if not location:
        return "has no `location` entry"
    if "\0" in location:
        return "holds a NUL character"
    posix, windows = PurePosixPath(location), PureWindowsPath(location)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or location.startswith(("/", "\\")):
        return "is an absolute path"
    parts = [p for p in location.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        return "climbs out with '..'"
    if not parts:
        return "names no file"
    base = folder.resolve()
    step = base
    for part in parts:
        step = step / part
        if step.is_symlink():
            return f"goes through the symbolic link {step}"
    target = (base / Path(*parts)).resolve()
    if target != base and base not in target.parents:
        return f"resolves to {target}, outside {base}"
    if not target.exists():
        return f"names {target}, which does not exist"
    if not target.is_file():
        return f"names {target}, which is not a regular file"
    return None


def external_data_problems(model_proto, folder: str | os.PathLike) -> list[tuple[ExternalRef, str]]:
    """Every external reference that ``check_external_data`` would refuse, with the reason."""
    folder = Path(folder)
    problems = []
    for ref in external_refs(model_proto):
        why = location_problem(ref.location, folder)
        if why is None and ref.offset < 0:
            why = "has an offset or length that is not a whole number"
        if why is None and ref.length is not None:
            size = (folder.resolve() / ref.location).stat().st_size
            if ref.offset + ref.length > size:
                why = f"asks for bytes {ref.offset}..{ref.offset + ref.length} of a {size}-byte file"
        if why is not None:
            problems.append((ref, why))
    return problems


def check_external_data(model_proto, folder: str | os.PathLike, *, where: str | None = None) -> None:
    """Refuse a model whose external data is not a file inside ``folder`` (the model file's
    folder): ModelError naming the tensor and the path."""
    problems = external_data_problems(model_proto, folder)
    if not problems:
        return
    ref, why = problems[0]
    more = f" ({len(problems) - 1} more tensor(s) refused too)" if len(problems) > 1 else ""
    raise ModelError(f"{where or folder}: tensor {ref.tensor!r} keeps its data in {ref.location!r}, which {why}; "
                     f"modelqa reads external data only from files inside {Path(folder)}{more}",
                     hint=_SAFE_HINT)


def external_size(model_proto, folder: str | os.PathLike) -> int:
    """Bytes of the (accepted) external-data files the model names, each file counted once."""
    folder = Path(folder)
    total = 0
    for name in sorted({r.location for r in external_refs(model_proto)}):
        if location_problem(name, folder) is None:
            total += (folder.resolve() / name).stat().st_size
    return total


def load_checked(path: str | os.PathLike):
    """The graph of ``path`` read without external data, after its external data is checked."""
    path = Path(path)
    proto = read_proto(path)
    check_external_data(proto, path.parent, where=str(path))
    return proto


def open_session(path: str | os.PathLike, *, threads: int | None = None):
    """An onnxruntime CPU session on ``path`` (call ``load_checked`` first); log severity 3."""
    _, ort = require_onnx()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = int(threads)
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph / NotImplemented types
        raise ModelError(f"onnxruntime cannot load {path}: {exc.__class__.__name__}: {exc}",
                         hint="check the file with onnx.checker.check_model; an operator may need a newer "
                              "onnxruntime") from exc
