"""What a ``--model`` path is, what it holds, and how to load it.

``model_kind`` names the kind from the files (never by running anything):

- ``hf``: a Hugging Face folder, config.json + model.safetensors (or pickled pytorch_model.bin);
- ``hf-tf``: a Hugging Face folder whose only weights are TensorFlow's tf_model.h5 (described,
  not loadable: transformers 5 reads PyTorch weights only);
- ``tabular``: a ``modelqa train tabular`` folder (modelqa.json with ``"kind": "tabular"``);
- ``keras``, ``keras-h5``, ``savedmodel`` (adapters.keras_model), ``skops``, ``pickle``
  (adapters.skops_model), ``onnx``, ``onnx-text`` (adapters.onnx_model).

``describe_model`` is what ``modelqa inspect`` prints; ``load_feature_model`` loads the kinds
that predict from a DataFrame of columns (FEATURE_KINDS) with the ``FeatureModel`` shape.
"""

from __future__ import annotations

import json
from pathlib import Path

from modelqa.adapters.feature_model import ModelDescription, size_of
from modelqa.errors import ModelError

KERAS_KINDS = ("keras", "keras-h5", "savedmodel")
SKLEARN_KINDS = ("skops", "pickle")
#: Kinds loaded by ``load_feature_model`` (a DataFrame of input columns in, ModelOutputs out).
FEATURE_KINDS = (*KERAS_KINDS, *SKLEARN_KINDS, "onnx")
#: Kinds the Hugging Face text path runs (api._run).
TEXT_KINDS = ("hf", "hf-tf", "onnx-text")
ALL_KINDS = ("hf", "hf-tf", "tabular", *KERAS_KINDS, *SKLEARN_KINDS, "onnx", "onnx-text")
#: One phrase per kind, for messages and ``modelqa inspect``.
KIND_NAMES = {
    "hf": "Hugging Face model folder", "hf-tf": "Hugging Face folder with TensorFlow weights",
    "tabular": "modelqa tabular model folder", "keras": "Keras model (.keras)", "keras-h5": "Keras HDF5 model (.h5)",
    "savedmodel": "TensorFlow SavedModel folder", "skops": "scikit-learn model (.skops)",
    "pickle": "pickled scikit-learn model", "onnx": "ONNX model (.onnx)", "onnx-text": "ONNX text model folder",
}
READS = ("a Hugging Face folder (config.json + model.safetensors), a `modelqa train tabular` folder, a Keras .keras "
         "file (or .h5 / a SavedModel folder), a scikit-learn .skops file, an .onnx file, or an ONNX text folder "
         "(model.onnx + tokenizer); see docs/models.md")
TORCH_PICKLE = ("pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model",
                   "vocab.json")


def _adapter_kind(path: Path) -> str | None:
    from modelqa.adapters.keras_model import keras_kind
    from modelqa.adapters.onnx_model import onnx_kind
    from modelqa.adapters.skops_model import sklearn_kind

    for find in (onnx_kind, keras_kind, sklearn_kind):
        kind = find(path)
        if kind is not None:
            return kind
    return None


def guess_kind(path: str | Path) -> str | None:
    """The kind of ``path`` (see the module docstring), or None when it is none of them (or
    does not exist)."""
    from modelqa.adapters.hf import SAFE_WEIGHTS, TF_WEIGHTS
    from modelqa.adapters.tabular import is_tabular_model

    p = Path(path)
    if not p.exists():
        return None
    if p.is_dir():
        if is_tabular_model(p):
            return "tabular"
        if (p / "config.json").is_file():
            if any((p / n).is_file() for n in (*SAFE_WEIGHTS, *TORCH_PICKLE)):
                return "hf"
            if (p / TF_WEIGHTS).is_file() and not (p / "model.onnx").is_file():
                return "hf-tf"
    return _adapter_kind(p)


def feature_kind(path: str | Path | None) -> str | None:
    """The kind when ``path`` is a model file of FEATURE_KINDS, else None (never raises)."""
    if path is None:
        return None
    try:
        kind = guess_kind(path)
    except (OSError, ModelError):
        return None
    return kind if kind in FEATURE_KINDS else None


def model_kind(path: str | Path) -> str:
    """The kind of ``path``; ModelError naming it and what modelqa reads when it is none."""
    p = Path(path)
    if not p.exists():
        raise ModelError(f"model {p} does not exist", hint=f"modelqa reads {READS}")
    kind = guess_kind(p)
    if kind is None:
        what = "folder" if p.is_dir() else "file"
        extra = ""
        if p.is_dir() and (p / "config.json").is_file():
            extra = " (it has config.json but no weights: model.safetensors)"
        raise ModelError(f"{p}: this {what} is not a model modelqa reads{extra}", hint=f"modelqa reads {READS}")
    return kind


def describe_model(path: str | Path) -> ModelDescription:
    """What ``path`` holds (kind, task, labels, inputs, size, opt-ins), without running it."""
    kind = model_kind(path)
    p = Path(path)
    if kind in ("hf", "hf-tf"):
        return describe_hf(p, kind=kind)
    if kind == "tabular":
        return describe_tabular(p)
    if kind in KERAS_KINDS:
        from modelqa.adapters.keras_model import describe_keras

        return describe_keras(p)
    if kind in SKLEARN_KINDS:
        from modelqa.adapters.skops_model import describe_skops

        return describe_skops(p)
    from modelqa.adapters.onnx_model import describe_onnx

    return describe_onnx(p)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} must hold a JSON object")
    return data


def _hf_task(config: dict, n: int | None) -> str | None:
    if config.get("problem_type") == "regression":
        return "regression"
    if not n:
        return None
    return "binary" if n == 2 else "multiclass"


def describe_hf(folder: Path, *, kind: str = "hf") -> ModelDescription:
    """A Hugging Face folder from its config.json (and modelqa.json): architecture, labels,
    maximum input length, tokenizer, weights format."""
    from modelqa.adapters.hf import MODELQA_META, SAFE_WEIGHTS, TF_WEIGHTS, has_real_names, tf_folder_message

    config = _read_json(folder / "config.json")
    meta = _read_json(folder / MODELQA_META) if (folder / MODELQA_META).is_file() else {}
    id2label = config.get("id2label") or {}
    n = int(config.get("num_labels") or len(id2label) or 0) or None
    labels = [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(n)] if n else None
    if labels and not has_real_names(labels) and isinstance(meta.get("id2label"), dict):
        labels = [str(meta["id2label"].get(str(i), labels[i])) for i in range(n)]
    weights = [name for name in (*SAFE_WEIGHTS, *TORCH_PICKLE, TF_WEIGHTS) if (folder / name).is_file()]
    tokenizer = [name for name in TOKENIZER_FILES if (folder / name).is_file()]
    positions = config.get("max_position_embeddings")
    max_length = meta.get("max_length") or positions
    arch = ", ".join(map(str, config.get("architectures") or [])) or str(config.get("model_type") or "unknown")
    details = {"architecture": arch, "model_type": config.get("model_type"), "max_position_embeddings": positions,
               "max_length": max_length, "tokenizer": tokenizer or None, "weights": weights}
    if kind == "hf":
        details["fp32_cpu_runtime"] = _fp32_cpu_runtime(folder)
    unsafe, loadable = None, True
    if kind == "hf-tf":
        loadable = False
        message, hint = tf_folder_message(folder)
        details["not_loadable"] = f"{message}. {hint}"
    elif not any(name in weights for name in SAFE_WEIGHTS):
        unsafe = (f"the weights are {', '.join(w for w in weights if w in TORCH_PICKLE)} only, a pickle format that "
                  "can run code when loaded; opt in with `allow_pickle` for a model you trust")
    inputs = f"text (one column), tokenized by {'the folder' if tokenizer else 'a tokenizer it lacks'}"
    if max_length:
        inputs += f", up to {max_length} tokens"
    return ModelDescription(path=folder, kind=kind, task=_hf_task(config, n), labels=labels, inputs=inputs,
                            size_bytes=size_of(folder), unsafe=unsafe, loadable=loadable, details=details)


def _fp32_cpu_runtime(folder: Path) -> str:
    """What computes the folder in float32 on the CPU (predict / evaluate defaults), from its files."""
    from modelqa.adapters.lean_bert import lean_problem
    from modelqa.adapters.lean_tokenizer import lean_tokenizer_problem

    why = lean_problem(folder) or lean_tokenizer_problem(folder)
    return f"transformers ({why})" if why else "modelqa's BERT (adapters.lean_bert; transformers is not imported)"


def describe_tabular(folder: Path) -> ModelDescription:
    """A ``modelqa train tabular`` folder from its modelqa.json."""
    from modelqa.adapters.tabular import META_FILE

    meta = _read_json(folder / META_FILE)
    cols = [str(c) for c in meta.get("feature_columns") or []]
    shown = ", ".join(cols[:12]) + (f" and {len(cols) - 12} more" if len(cols) > 12 else "")
    inputs = f"{len(cols)} table columns ({shown}), encoded by the model's own preprocessing"
    if meta.get("n_features"):
        inputs += f" into {meta['n_features']} inputs"
    arch = meta.get("architecture") or {}
    details = {"target": meta.get("target"), "architecture": arch, "n_features": meta.get("n_features"),
               "best_epoch": meta.get("best_epoch"), "training_data": meta.get("data_files")}
    labels = meta.get("labels")
    return ModelDescription(path=folder, kind="tabular", task=meta.get("task"),
                            labels=[str(x) for x in labels] if labels else None, inputs=inputs,
                            size_bytes=size_of(folder), feature_columns=cols or None, details=details)


def load_feature_model(path: str | Path, kind: str, *, labels: list[str] | None = None, scores: str = "probs",
                       feature_cols: list[str] | None = None, allow_unsafe: bool = False, trust=(),
                       allow_pickle: bool = False):
    """A model of FEATURE_KINDS loaded by its adapter (the ``FeatureModel`` shape)."""
    p = Path(path)
    if kind in KERAS_KINDS:
        from modelqa.adapters.keras_model import load_keras_model

        return load_keras_model(p, labels=labels, scores=scores, allow_unsafe=allow_unsafe)
    if kind in SKLEARN_KINDS:
        from modelqa.adapters.skops_model import load_skops_model

        return load_skops_model(p, trust=trust or (), scores=scores, labels=labels, allow_pickle=allow_pickle)
    if kind == "onnx":
        from modelqa.adapters.onnx_model import load_onnx_model

        return load_onnx_model(p, labels=labels, scores=scores, feature_cols=feature_cols)
    raise ModelError(f"{p} is a {KIND_NAMES.get(kind, kind)}, not a model file of columns "
                     f"({', '.join(FEATURE_KINDS)})")
