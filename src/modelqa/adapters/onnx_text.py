"""ONNX text classifiers: a folder with ``model.onnx`` (or ``onnx/model.onnx``), config.json and
a tokenizer, as Optimum (``optimum-cli export onnx --task text-classification``) or
``torch.onnx.export`` beside ``tokenizer.save_pretrained`` / ``config.save_pretrained`` write it.

The loaded object stands in for adapters.hf.HFClassifier on the text path (same attributes;
``model`` is None): the API wraps its ``session`` in engine.onnx_backend.OnnxForward, which
feeds ``input_ids`` / ``attention_mask`` / ``token_type_ids`` and reads a ``logits`` output;
``session`` here maps that name onto the graph's own scores output and casts the ids to the
integer type the graph declares. Runs on the CPU with onnxruntime.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from modelqa.adapters.feature_model import ModelDescription, size_of
from modelqa.adapters.hf import _read_meta, has_real_names, model_max_length, resolve_labels
from modelqa.adapters.onnx_graph import (
    FLOAT_TYPES,
    graph_inputs,
    graph_outputs,
    metadata,
    opsets,
    producer,
    text_model_file,
)
from modelqa.adapters.onnx_safety import external_data_problems, load_checked, open_session, read_proto
from modelqa.errors import ModelError, UsageError

#: The inputs a sequence classifier's graph may declare (what the tokenizer gives).
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_INTS = {"int64": np.int64, "int32": np.int32}


class ScoresSession:
    """An onnxruntime session seen as one with a ``logits`` output and int64 inputs: what
    engine.onnx_backend.OnnxForward calls."""

    def __init__(self, session, output: str, input_types: dict[str, Any]) -> None:
        self.session, self.output, self.input_types = session, output, input_types

    def get_inputs(self):
        return self.session.get_inputs()

    def run(self, names, feeds):
        names = [self.output if n == "logits" else n for n in names]
        feeds = {k: np.ascontiguousarray(v, dtype=self.input_types.get(k, np.int64)) for k, v in feeds.items()}
        return self.session.run(names, feeds)


@dataclass
class OnnxTextClassifier:
    """A loaded ONNX text classifier: the attributes of adapters.hf.HFClassifier (``model`` None)
    plus the session and the file it runs."""

    path: Path
    tokenizer: Any
    labels: list[str]
    max_length: int
    onnx_path: Path
    session: ScoresSession = field(repr=False)
    model: None = None
    device: str = "cpu"
    meta: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    kind: str = "onnx-text"

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.labels)}


def _config(folder: Path) -> dict:
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {folder / 'config.json'}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{folder / 'config.json'} must hold a JSON object")
    return data


def _scores_output(proto, where: str):
    outputs = [o for o in graph_outputs(proto) if o.form == "tensor" and o.dtype in FLOAT_TYPES]
    named = [o for o in outputs if o.name == "logits"]
    wide = [o for o in outputs if o.shape is not None and len(o.shape) == 2]
    out = (named or wide or outputs or [None])[0]
    if out is None:
        raise ModelError(f"{where} has no float output (the class logits)")
    return out


def _num_labels(config: dict, width: int | None, where: str) -> int:
    id2label = config.get("id2label") or {}
    n = int(config.get("num_labels") or len(id2label) or width or 0)
    if width is not None and n != width:
        raise ModelError(f"{where}: config.json says {n} classes but the ONNX output has {width} columns")
    if n < 2:
        raise ModelError(f"{where}: a text classifier needs at least 2 classes; config.json gives {n}",
                         hint="set id2label in config.json")
    return n


def load_onnx_text_classifier(folder: str | os.PathLike, *, labels: list[str] | None = None,
                              label_map: str | Path | dict | None = None, device: str = "cpu",
                              threads: int | None = None) -> OnnxTextClassifier:
    """Load an ONNX text-classifier folder for CPU inference (nothing is downloaded)."""
    if device not in ("cpu", "auto"):
        raise UsageError(f"an ONNX text model runs on the CPU with onnxruntime; `device` {device!r} does not apply",
                         hint="leave `device` auto (or cpu)")
    folder = Path(folder)
    onnx_file = text_model_file(folder)
    if onnx_file is None or not (folder / "config.json").is_file():
        raise ModelError(f"{folder} is not an ONNX text-model folder: it needs model.onnx (or onnx/model.onnx) "
                         "beside config.json and a tokenizer")
    proto = load_checked(onnx_file)
    where = str(onnx_file)
    inputs = graph_inputs(proto)
    unknown = [p.show() for p in inputs if p.name not in TEXT_INPUTS]
    if unknown or "input_ids" not in {p.name for p in inputs}:
        raise ModelError(f"{where} takes inputs {', '.join(p.show() for p in inputs)}; modelqa feeds "
                         f"{', '.join(TEXT_INPUTS)} only (unexpected: {', '.join(unknown) or 'none'})",
                         hint="export the classifier with input_names=['input_ids', 'attention_mask'"
                              "(, 'token_type_ids')] and output_names=['logits']")
    bad_types = [p.show() for p in inputs if p.dtype not in _INTS]
    if bad_types:
        raise ModelError(f"{where}: token inputs must be int64 or int32, not {', '.join(bad_types)}")
    out = _scores_output(proto, where)
    config = _config(folder)
    n = _num_labels(config, out.width if out.width and out.width > 1 else None, where)
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{folder} has no usable tokenizer ({exc.__class__.__name__}: {exc})",
                         hint="save it beside model.onnx with tokenizer.save_pretrained(folder)") from exc
    meta = _read_meta(folder)
    id2label = config.get("id2label") or {}
    if labels is None and label_map is None and meta.get("id2label") and not has_real_names(
            [str(id2label.get(str(i), f"LABEL_{i}")) for i in range(n)]):
        label_map = meta["id2label"]
    names = resolve_labels(id2label, n, labels=labels, label_map=label_map, source=f"the model in {folder}")
    shell = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=config.get("max_position_embeddings")))
    session = open_session(onnx_file, threads=threads)
    import onnxruntime

    info = {"kind": "onnx-text", "onnx_file": str(onnx_file), "output": out.show(),
            "inputs": [p.show() for p in inputs], "onnxruntime": onnxruntime.__version__,
            "producer": producer(proto)}
    return OnnxTextClassifier(path=folder, tokenizer=tokenizer, labels=names,
                              max_length=model_max_length(shell, tokenizer, meta), onnx_path=onnx_file,
                              session=ScoresSession(session, out.name, {p.name: _INTS[p.dtype] for p in inputs}),
                              meta=meta, info=info)


def describe_onnx_text(folder: str | os.PathLike) -> ModelDescription:
    """What an ONNX text folder holds, read without running it."""
    folder = Path(folder)
    onnx_file = text_model_file(folder)
    proto = read_proto(onnx_file)
    where = str(onnx_file)
    config = _config(folder)
    problems = external_data_problems(proto, onnx_file.parent)
    unsafe = None
    if problems:
        ref, why = problems[0]
        unsafe = (f"tensor {ref.tensor!r} keeps its data in {ref.location!r}, which {why}; modelqa will not load it")
    inputs, outputs = graph_inputs(proto), graph_outputs(proto)
    details = {"onnx_file": str(onnx_file.relative_to(folder)), "inputs": [p.show() for p in inputs],
               "outputs": [p.show() for p in outputs], "metadata_props": metadata(proto),
               "opset": opsets(proto), "producer": producer(proto)}
    labels, task, loadable = None, None, unsafe is None
    try:
        out = _scores_output(proto, where)
        n = _num_labels(config, out.width if out.width and out.width > 1 else None, where)
        labels = resolve_labels(config.get("id2label") or {}, n)
        task = "binary" if n == 2 else "multiclass"
    except ModelError as exc:
        details["not_loadable"] = exc.message
        loadable = False
    return ModelDescription(path=folder, kind="onnx-text", task=task, labels=labels,
                            inputs="text (" + ", ".join(p.show() for p in inputs) + ")", size_bytes=size_of(folder),
                            unsafe=unsafe, loadable=loadable, details=details)
