"""ONNX models given as ``--model``: a tabular ``.onnx`` file (one float tensor input of shape
(batch, d)) and a text-classifier folder (``model.onnx`` beside a tokenizer and config.json,
adapters.onnx_text).

Nothing is run before the graph is read with ``load_external_data=False`` and its external
data is checked to stay inside the model's folder (adapters.onnx_safety).

Metadata (``model.metadata_props``, set with ``onnx.helper.set_model_props``) that modelqa reads:

- ``feature_columns``: a JSON list of the input columns, in the order of the input tensor's
  second axis (``feature_names`` is accepted too);
- ``labels``: a JSON list of class names, in the order of the output's columns.

Output: a float tensor output named like ``probabilities`` / ``probs`` / ``output_probability``
/ ``logits`` is preferred over others (a scikit-learn model converted by skl2onnx has a label
output and a probabilities output); skl2onnx's ZipMap form (a sequence of maps class -> score)
is read too, its keys giving the class names. K >= 2 columns is a classifier, one column a
regressor unless two class names are given (one unit scoring the positive class).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelqa.adapters.feature_model import (
    ModelDescription,
    ModelOutputs,
    as_probabilities,
    default_labels,
    float_matrix,
)
from modelqa.adapters.onnx_graph import (
    Port,
    choose_output,
    fixed_width,
    graph_inputs,
    graph_outputs,
    json_names,
    metadata,
    opsets,
    producer,
    text_model_file,
    zipmap_labels,
)
from modelqa.adapters.onnx_safety import (
    external_data_problems,
    external_refs,
    external_size,
    load_checked,
    open_session,
    read_proto,
)
from modelqa.errors import DataError, ModelError, UsageError

META_FEATURES = "feature_columns"
META_FEATURES_ALIASES = ("feature_names",)
META_LABELS = "labels"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json")
TORCH_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
#: Rows per onnxruntime call.
BATCH_ROWS = 4096
_FLOATS = {"float": np.float32, "double": np.float64, "float16": np.float16}


def onnx_kind(path) -> str | None:
    """"onnx" for a ``.onnx`` file, "onnx-text" for a folder holding ``model.onnx`` (or
    ``onnx/model.onnx``), config.json and a tokenizer, and no torch weights (a folder with
    model.safetensors is a Hugging Face folder, run by torch), else None."""
    if not isinstance(path, (str, os.PathLike)):
        return None
    p = Path(path)
    if p.is_file():
        return "onnx" if p.suffix.lower() == ".onnx" else None
    if not p.is_dir() or text_model_file(p) is None or not (p / "config.json").is_file():
        return None
    if not any((p / n).is_file() for n in TOKENIZER_FILES) or any((p / n).is_file() for n in TORCH_WEIGHTS):
        return None
    return "onnx-text"


def _feature_input(inputs: list[Port], *, where: str) -> tuple[Port | None, str | None]:
    """The one float (batch, d) input, or why the model does not take one."""
    if len(inputs) != 1:
        return None, (f"it takes {len(inputs)} inputs ({', '.join(p.show() for p in inputs) or 'none'}); "
                      "modelqa feeds one float tensor of shape (batch, d)")
    port = inputs[0]
    if port.form != "tensor" or port.dtype not in _FLOATS or port.shape is None or len(port.shape) != 2:
        return None, (f"its input {port.show()} is not a float tensor of shape (batch, d); modelqa feeds one "
                      "float32 / float64 tensor of the feature columns")
    return port, None


def describe_onnx(path: str | os.PathLike) -> ModelDescription:
    """What an ONNX file (or ONNX text folder) holds, read without running it."""
    path = Path(path)
    if onnx_kind(path) == "onnx-text":
        from modelqa.adapters.onnx_text import describe_onnx_text

        return describe_onnx_text(path)
    proto = read_proto(path)
    where = str(path)
    meta = metadata(proto)
    inputs, outputs = graph_inputs(proto), graph_outputs(proto)
    problems = external_data_problems(proto, path.parent)
    unsafe = None
    if problems:
        ref, why = problems[0]
        unsafe = (f"tensor {ref.tensor!r} keeps its data in {ref.location!r}, which {why} "
                  f"({len(problems)} external reference(s) refused); modelqa will not load it")
    port, not_loadable = _feature_input(inputs, where=where)
    out = choose_output(outputs)
    if out is None and not_loadable is None:
        not_loadable = "it has no float output"
    labels = json_names(meta, (META_LABELS,), where=where) or (zipmap_labels(proto, out.name) if out else None)
    k = fixed_width(proto, out)
    if k is not None and k >= 2:
        task = "binary" if k == 2 else "multiclass"
        labels = labels or [str(i) for i in range(k)]
    elif k == 1:
        task = "binary" if labels is not None and len(labels) == 2 else "regression"
    else:
        task = None
    features = json_names(meta, (META_FEATURES, *META_FEATURES_ALIASES), where=where)
    details = {"inputs": [p.show() for p in inputs], "outputs": [p.show() for p in outputs],
               "output": out.name if out else None, "opset": opsets(proto), "producer": producer(proto),
               "ir_version": int(proto.ir_version), "metadata_props": meta,
               "external_data": sorted({r.location for r in external_refs(proto)}) or None}
    if not_loadable:
        details["not_loadable"] = not_loadable
    line = ", ".join(p.show() for p in inputs) + " -> " + (out.show() if out else "no float output")
    return ModelDescription(path=path, kind="onnx", task=task, labels=labels, inputs=line,
                            size_bytes=path.stat().st_size + external_size(proto, path.parent), unsafe=unsafe,
                            loadable=not_loadable is None and unsafe is None, feature_columns=features,
                            details=details)


@dataclass
class OnnxTabularModel:
    """A loaded tabular ONNX model (the FeatureModel shape, kind "onnx")."""

    path: Path
    task: str
    labels: list[str] | None
    feature_columns: list[str] | None
    n_features: int | None
    info: dict
    session: object = field(repr=False)
    input: Port = field(repr=False)
    output: Port = field(repr=False)
    scores: str = "probs"
    kind: str = "onnx"
    input_kind: str = "features"

    def _columns(self, frame):
        if self.feature_columns is not None:
            missing = [c for c in self.feature_columns if c not in frame.columns]
            if not missing:
                return frame[self.feature_columns]
            if frame.shape[1] != len(self.feature_columns):
                raise DataError(f"the data has no column(s) {', '.join(map(repr, missing))}, which {self.path} "
                                f"takes as input (its feature columns: {', '.join(self.feature_columns)})",
                                hint="add the columns, or name the model's inputs with `feature_cols`")
        if self.n_features is not None and frame.shape[1] != self.n_features:
            raise DataError(f"{self.path} takes {self.n_features} input columns, but the data gives "
                            f"{frame.shape[1]} ({', '.join(map(str, frame.columns[:10]))})",
                            hint="name the model's inputs, in order, with `feature_cols`")
        return frame

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The chosen output for the matrix ``x`` (n, d), run in batches: (n, K) or (n,)."""
        fixed = self.input.shape[0] if isinstance(self.input.shape[0], int) and self.input.shape[0] > 0 else None
        step = fixed or BATCH_ROWS
        parts = []
        for s in range(0, len(x), step):
            chunk = x[s:s + step]
            n = len(chunk)
            if fixed and n < fixed:  # a graph exported with a fixed batch: pad the last batch
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], fixed - n, axis=0)])
            got = self.session.run([self.output.name], {self.input.name: chunk})[0]
            parts.append(_as_array(got, self.output, where=str(self.path))[:n])
        if not parts:
            k = self.output.width or (len(self.labels) if self.labels else 1)
            return np.empty((0, k) if k > 1 else (0,), dtype=np.float64)
        return np.concatenate(parts)

    def predict(self, frame) -> ModelOutputs:
        cols = self._columns(frame)
        x = float_matrix(cols, path=str(frame.attrs.get("path", "the data")), dtype=_FLOATS[self.input.dtype])
        raw = self.raw(x)
        if self.task == "regression":
            values = np.asarray(raw, dtype=np.float64).reshape(len(x), -1)
            if values.shape[1] != 1:
                raise ModelError(f"{self.path}: a regressor must give one value per row, not {values.shape[1]}")
            values = values[:, 0]
            if not np.isfinite(values).all():
                bad = np.flatnonzero(~np.isfinite(values))
                raise ModelError(f"{self.path}: the model gave non-finite outputs for {bad.size} row(s), "
                                 f"first row {bad[0] + 1}")
            return ModelOutputs(values=values)
        probs = as_probabilities(raw, scores=self.scores, where=str(self.path))
        if probs.shape[1] != len(self.labels):
            raise ModelError(f"{self.path}: the model gave {probs.shape[1]} scores per row, but has "
                             f"{len(self.labels)} classes ({', '.join(self.labels)})")
        return ModelOutputs(probs=probs)


def _as_array(got, output: Port, *, where: str) -> np.ndarray:
    if output.form == "zipmap":
        if not got:
            return np.empty((0, 0))
        keys = list(got[0].keys())
        return np.array([[row[k] for k in keys] for row in got], dtype=np.float64)
    arr = np.asarray(got)
    if arr.ndim > 2 or (arr.ndim == 2 and arr.shape[1] == 0):
        raise ModelError(f"{where}: output {output.name!r} has shape {arr.shape}; modelqa reads (n,) or (n, K)")
    return arr


def load_onnx_model(path: str | os.PathLike, *, labels: list[str] | None = None, scores: str = "probs",
                    feature_cols: list[str] | None = None) -> OnnxTabularModel:
    """Load a tabular ONNX file for prediction (see the module docstring for what it must hold)."""
    if scores not in ("probs", "logits"):
        raise UsageError(f"`scores` must be probs or logits, not {scores!r}")
    path = Path(path)
    where = str(path)
    proto = load_checked(path)
    port, why = _feature_input(graph_inputs(proto), where=where)
    if port is None:
        raise ModelError(f"{where} cannot be run on a table: {why}",
                         hint="export it with a single input, e.g. torch.onnx.export(model, (x,), path, "
                              "input_names=['features'], dynamic_axes={'features': {0: 'batch'}})")
    out = choose_output(graph_outputs(proto))
    if out is None:
        raise ModelError(f"{where} has no float output ({', '.join(p.show() for p in graph_outputs(proto))})")
    meta = metadata(proto)
    d = port.shape[1] if isinstance(port.shape[1], int) and port.shape[1] > 0 else None
    features = _check_features(feature_cols, json_names(meta, (META_FEATURES, *META_FEATURES_ALIASES), where=where),
                               d, where=where)
    session = open_session(path)
    meta_labels = json_names(meta, (META_LABELS,), where=where)
    k = fixed_width(proto, out)
    if k is None:
        if d is None:
            raise ModelError(f"{where}: neither the input's feature axis nor the output's class axis has a fixed "
                             f"size ({port.show()} -> {out.show()})",
                             hint="export with only the batch axis dynamic")
        probe = session.run([out.name], {port.name: np.zeros((1, d), dtype=_FLOATS[port.dtype])})[0]
        arr = _as_array(probe, out, where=where)
        k = 1 if arr.ndim == 1 else int(arr.shape[1])
    if meta_labels is not None and len(meta_labels) != k and not (k == 1 and len(meta_labels) == 2):
        raise ModelError(f"{where}: metadata {META_LABELS!r} names {len(meta_labels)} classes but the output "
                         f"{out.show()} has {k} columns")
    names = labels if labels is not None else (meta_labels or (zipmap_labels(proto, out.name)
                                                                if out.form == "zipmap" else None))
    if k >= 2:
        task, names = "classification", default_labels(k, names, where=where)
    elif names is not None and len(names) == 2:
        task, names = "classification", default_labels(2, names, where=where)
    elif labels is not None:
        raise UsageError(f"`labels` names {len(labels)} classes but {where} has one output: a regressor, or, "
                         "with two names, one unit scoring the second class")
    else:
        task, names = "regression", None
        if scores != "probs":
            raise UsageError(f"`scores` applies to a classifier; {where} is a regressor (one output column)")
    import onnxruntime

    info = {"kind": "onnx", "input": port.show(), "output": out.show(), "output_form": out.form,
            "scores": scores, "prediction_method": f"onnxruntime, output {out.name!r}",
            "opset": opsets(proto), "producer": producer(proto), "onnxruntime": onnxruntime.__version__}
    return OnnxTabularModel(path=path, task=task, labels=names, feature_columns=features, n_features=d, info=info,
                            session=session, input=port, output=out, scores=scores)


def _check_features(given: list[str] | None, from_meta: list[str] | None, d: int | None, *,
                    where: str) -> list[str] | None:
    if given is not None:
        names = [str(c) for c in given]
        if len(set(names)) != len(names):
            raise UsageError(f"`feature_cols` repeats a column: {', '.join(names)}")
        if d is not None and len(names) != d:
            raise UsageError(f"`feature_cols` names {len(names)} columns but {where} takes {d} inputs")
        return names
    if from_meta is not None and d is not None and len(from_meta) != d:
        raise ModelError(f"{where}: metadata {META_FEATURES!r} names {len(from_meta)} columns but the input takes {d}")
    return from_meta
