"""Reading an ONNX graph without running it: its inputs and outputs (``Port``), the output
that holds the scores, a ZipMap's class labels, metadata_props and the JSON name lists kept
there (adapters.onnx_model documents the keys)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from modelqa.errors import ModelError

#: Output names taken first, in this order (exact names, lower-cased).
PREFERRED_OUTPUTS = ("probabilities", "probability", "probs", "prob", "output_probability", "logits", "scores")
FLOAT_TYPES = ("float", "double", "float16")
#: Where an ONNX text folder (Optimum, torch.onnx) keeps its graph.
TEXT_MODEL_FILES = ("model.onnx", "onnx/model.onnx")


def text_model_file(folder: Path) -> Path | None:
    """The graph of an ONNX text folder, or None."""
    for name in TEXT_MODEL_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


@dataclass(frozen=True)
class Port:
    """One graph input or output: ``form`` "tensor", "zipmap" (sequence of maps) or "other"."""

    name: str
    form: str
    dtype: str | None
    shape: tuple | None       # ints for fixed axes, strings for named ones, None for unknown

    def show(self) -> str:
        if self.form == "zipmap":
            return f"{self.name} seq(map({self.dtype}, float))"
        dims = "?" if self.shape is None else ", ".join(str(d) for d in self.shape)
        return f"{self.name} {self.dtype or self.form}[{dims}]"

    @property
    def width(self) -> int | None:
        """Columns of a (n,) / (n, K) tensor output (1 for (n,)), None when not fixed."""
        if self.form != "tensor" or self.shape is None:
            return None
        if len(self.shape) == 1:
            return 1
        return self.shape[1] if len(self.shape) == 2 and isinstance(self.shape[1], int) else None


def _dtype_name(elem: int) -> str:
    from onnx import TensorProto

    return TensorProto.DataType.Name(elem).lower()


def _port(value_info) -> Port:
    t = value_info.type
    which = t.WhichOneof("value")
    if which == "tensor_type":
        shape = None
        if t.tensor_type.HasField("shape"):
            shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                          for d in t.tensor_type.shape.dim)
        return Port(value_info.name, "tensor", _dtype_name(t.tensor_type.elem_type), shape)
    if which == "sequence_type" and t.sequence_type.elem_type.WhichOneof("value") == "map_type":
        return Port(value_info.name, "zipmap", _dtype_name(t.sequence_type.elem_type.map_type.key_type), None)
    return Port(value_info.name, "other", which, None)


def graph_inputs(proto) -> list[Port]:
    """The inputs a caller feeds (older exports also list initializers as inputs)."""
    inits = {t.name for t in proto.graph.initializer}
    return [_port(v) for v in proto.graph.input if v.name not in inits]


def graph_outputs(proto) -> list[Port]:
    return [_port(v) for v in proto.graph.output]


def choose_output(outputs: list[Port]) -> Port | None:
    """The scores output: a preferred name first, then the only float tensor or ZipMap, then
    the first (n, K) float tensor."""
    usable = [o for o in outputs if (o.form == "tensor" and o.dtype in FLOAT_TYPES) or o.form == "zipmap"]
    for name in PREFERRED_OUTPUTS:
        for o in usable:
            if o.name.lower() == name:
                return o
    if len(usable) == 1:
        return usable[0]
    tensors = [o for o in usable if o.form == "tensor"]
    wide = [o for o in tensors if o.shape is not None and len(o.shape) == 2]
    return (wide or tensors or usable or [None])[0]


def zipmap_labels(proto, output: str) -> list[str] | None:
    """The class labels of the ZipMap node that writes ``output``."""
    for node in proto.graph.node:
        if node.op_type == "ZipMap" and output in node.output:
            for attr in node.attribute:
                if attr.name == "classlabels_strings":
                    return [s.decode("utf-8") for s in attr.strings]
                if attr.name == "classlabels_int64s":
                    return [str(i) for i in attr.ints]
    return None


def fixed_width(proto, out: Port | None) -> int | None:
    """Columns of the scores output when the graph fixes them (a ZipMap: its class labels)."""
    if out is None:
        return None
    if out.form == "zipmap":
        return len(zipmap_labels(proto, out.name) or []) or None
    return out.width


def metadata(proto) -> dict[str, str]:
    return {p.key: p.value for p in proto.metadata_props}


def json_names(meta: dict, keys: tuple[str, ...], *, where: str) -> list[str] | None:
    for key in keys:
        if key in meta:
            try:
                value = json.loads(meta[key])
            except ValueError as exc:
                raise ModelError(f"{where}: metadata {key!r} is not JSON ({exc}): {meta[key][:80]!r}",
                                 hint="set it to a JSON list of names, e.g. json.dumps([...])") from exc
            if not isinstance(value, list) or not value or not all(isinstance(v, (str, int)) for v in value):
                raise ModelError(f"{where}: metadata {key!r} must be a non-empty JSON list of names, "
                                 f"not {meta[key][:80]!r}")
            names = [str(v) for v in value]
            if len(set(names)) != len(names):
                raise ModelError(f"{where}: metadata {key!r} repeats a name: {', '.join(names)}")
            return names
    return None


def producer(proto) -> str:
    return " ".join(x for x in (proto.producer_name, proto.producer_version) if x) or "unknown"


def opsets(proto) -> dict[str, int]:
    return {(o.domain or "ai.onnx"): int(o.version) for o in proto.opset_import}
