"""Keras 3 models: a ``.keras`` archive (``model.save("best_model.keras")``,
``ModelCheckpoint("best_model.keras")``), run on the torch backend.

``describe_keras`` reads the archive's config.json and metadata.json without building the model:
the layers, the input shape, the last layer (its units and activation give the task) and what
would need an opt-in. ``load_keras_model`` loads it with ``safe_mode=True, compile=False`` after
that check, and predicts with ``Model.predict``.

Refused unless ``allow_unsafe``: a Lambda layer (Python bytecode), classes that are not Keras
built-ins (custom objects), legacy ``.h5`` / ``.hdf5`` files and TensorFlow SavedModel folders
(CVE-2025-9905: ``safe_mode`` does not protect those formats). A SavedModel folder needs
TensorFlow even then. A model whose first layer is a TextVectorization runs without TensorFlow
(adapters.keras_text). keras and torch are imported inside functions only.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelqa.adapters.feature_model import (
    ModelDescription,
    ModelOutputs,
    as_probabilities,
    default_labels,
    float_matrix,
    size_of,
)
from modelqa.adapters.keras_config import Head, read_head, read_inputs, unsafe_reason
from modelqa.adapters.keras_files import (
    KIND,
    Archive,
    h5_config,
    is_keras_file,
    keras_history,
    keras_kind,
    read_archive,
    refusal,
    vocabulary_text,
)
from modelqa.adapters.keras_text import (
    TextVectorizer,
    find_text_vectorization,
    strip_text_vectorization,
    vectorizer_from_config,
)
from modelqa.errors import DataError, ModelError, UsageError, format_rows

__all__ = ["KerasModel", "describe_keras", "import_keras", "is_keras_file", "keras_history", "keras_kind",
           "load_keras_model"]

WEIGHTS_H5 = "model.weights.h5"
BATCH_SIZE = 256
#: ``model.predict``'s default batch: a text model without output_sequence_length is padded per batch.
TEXT_BATCH = 32
INSTALL_HINT = 'pip install "modelqa[keras]"'


def describe_keras(path: str | Path) -> ModelDescription:
    """What a Keras model file holds, from its config only (nothing is built or run)."""
    p = Path(path)
    kind = keras_kind(p)
    if kind is None:
        raise ModelError(f"{p}: not a Keras model (.keras archive, .h5 file or SavedModel folder)")
    if kind != KIND:
        return _describe_legacy(p, kind)
    archive = read_archive(p)
    head = read_head(archive.config)
    inputs, shape, dtype = read_inputs(archive.config)
    details: dict[str, Any] = {"keras_version": archive.metadata.get("keras_version"),
                               "date_saved": archive.metadata.get("date_saved"),
                               "model_class": archive.config.get("class_name"),
                               "layers": _layer_summary(archive.config), "input_shape": shape,
                               "input_dtype": dtype, "last_layer": head.layer, "units": head.units,
                               "activation": head.activation}
    loadable = True
    try:
        tv = _vectorizer(p, archive)
    except ModelError as exc:
        tv, loadable = None, False
        details["not_loadable"] = exc.message
    if tv is not None:
        details["text_vectorization"] = tv.describe()
        inputs = (f"text (one column), vectorized like Keras' TextVectorization ({tv.output_mode}, "
                  f"{len(tv.vocabulary)} tokens)")
    n = head.n_classes
    labels = [str(i) for i in range(n)] if n else None
    return ModelDescription(path=p, kind=KIND, task=head.task, labels=labels, inputs=inputs, size_bytes=size_of(p),
                            unsafe=unsafe_reason(archive.config), loadable=loadable, details=details)


def _describe_legacy(path: Path, kind: str) -> ModelDescription:
    """A .h5 file from its ``model_config`` attribute (JSON; nothing is deserialized), or a
    SavedModel folder (not read: it needs TensorFlow)."""
    why, hint = refusal(path, kind)
    config, version = h5_config(path) if kind == "keras-h5" else (None, None)
    if config is None:
        note = "the file holds weights only (no model_config): load them into the built model and save it as .keras" \
            if kind == "keras-h5" else hint
        return ModelDescription(path=path, kind=kind, task=None, labels=None, inputs="unknown (not read)",
                                size_bytes=size_of(path), unsafe=why if kind == "keras-h5" else None,
                                loadable=False, details={"note": note})
    head = read_head(config)
    inputs, shape, dtype = read_inputs(config)
    extra = unsafe_reason(config)
    n = head.n_classes
    details = {"keras_version": version, "model_class": config.get("class_name"), "layers": _layer_summary(config),
               "input_shape": shape, "input_dtype": dtype, "last_layer": head.layer, "units": head.units,
               "activation": head.activation, "note": hint}
    return ModelDescription(path=path, kind=kind, task=head.task, labels=[str(i) for i in range(n)] if n else None,
                            inputs=inputs, size_bytes=size_of(path), unsafe=why + (f"; {extra}" if extra else ""),
                            details=details)


def _layer_summary(config: dict) -> list[str]:
    layers = (config.get("config") or {}).get("layers") or []
    return [f"{layer.get('class_name')}" + (f"({layer['config']['units']})" if isinstance(layer.get("config"), dict)
                                            and "units" in layer["config"] else "") for layer in layers]


def _vectorizer(path: Path, archive: Archive) -> TextVectorizer | None:
    found = find_text_vectorization(archive.config)
    if found is None:
        return None
    return vectorizer_from_config(found[1].get("config") or {}, vocabulary_text(path, archive), where=str(path))


# --------------------------------------------------------------------------- loading


def import_keras():
    """keras on the torch backend; UsageError when it is missing, ModelError when it was
    imported earlier with another backend."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"
    try:
        import keras
    except ImportError:
        raise UsageError("reading a Keras model needs keras (and h5py), which are not installed",
                         hint=INSTALL_HINT) from None
    backend = keras.backend.backend()
    if backend != "torch":
        raise ModelError(f"keras is already imported with the {backend} backend; modelqa runs Keras models on "
                         "the torch backend",
                         hint="set KERAS_BACKEND=torch before anything imports keras")
    return keras


@dataclass
class KerasModel:
    """A loaded Keras model with the FeatureModel shape (adapters.feature_model)."""

    path: Path
    kind: str
    task: str                           # "classification" or "regression"
    labels: list[str] | None
    input_kind: str                     # "features" or "text"
    feature_columns: list[str] | None
    n_features: int | None
    info: dict
    model: Any
    head: Head
    scores: str
    vectorizer: TextVectorizer | None = None

    def predict(self, frame) -> ModelOutputs:
        source = (getattr(frame, "attrs", None) or {}).get("source")
        where = str(source.get("path", "data")) if isinstance(source, dict) else "data"
        raw = self._text_outputs(frame, where) if self.vectorizer is not None else self._feature_outputs(frame, where)
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim != 2:
            raw = raw.reshape(raw.shape[0], int(np.prod(raw.shape[1:])))
        if self.task == "regression":
            return ModelOutputs(values=raw[:, 0])
        return ModelOutputs(probs=as_probabilities(raw, scores=self.head.scores_for(self.scores),
                                                   where=str(self.path)))

    def _feature_outputs(self, frame, where: str) -> np.ndarray:
        if self.n_features is not None and frame.shape[1] != self.n_features:
            cols = [str(c) for c in frame.columns]
            raise ModelError(f"{self.path}: the model takes {self.n_features} inputs, the frame has {len(cols)} "
                             f"columns: {', '.join(cols[:20])}{' …' if len(cols) > 20 else ''}",
                             hint="name the model's inputs in order with `feature_cols`")
        x = float_matrix(frame, path=where)
        if len(x) == 0:
            return np.zeros((0, self.head.units or 1))
        return self.model.predict(x, batch_size=BATCH_SIZE, verbose=0)

    def _text_outputs(self, frame, where: str) -> np.ndarray:
        texts = _texts(frame, where)
        vec = self.vectorizer
        assert vec is not None
        if not texts:
            return np.zeros((0, self.head.units or 1))
        if vec.output_width is not None:
            return self.model.predict(vec.transform(texts), batch_size=BATCH_SIZE, verbose=0)
        outs = [self.model.predict(vec.transform(texts[s:s + TEXT_BATCH]), batch_size=TEXT_BATCH, verbose=0)
                for s in range(0, len(texts), TEXT_BATCH)]
        return np.concatenate(outs)


def _texts(frame, where: str) -> list[str]:
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        if frame.shape[1] != 1:
            raise ModelError(f"a Keras text model reads one text column; {where} gives {frame.shape[1]}: "
                             f"{', '.join(map(str, frame.columns))}", hint="name the text column with `text_col`")
        frame = frame.iloc[:, 0]
    values = list(frame)
    missing = [i for i, v in enumerate(values) if v is None or (isinstance(v, float) and np.isnan(v))]
    if missing:
        raise DataError(f"{where}: the text column has {len(missing)} missing value(s), rows "
                        f"{format_rows(np.asarray(missing) + 1)}", hint="fill or drop those rows")
    return [v if isinstance(v, str) else str(v) for v in values]


def load_keras_model(path: str | Path, *, labels: list[str] | None = None, scores: str = "probs",
                     allow_unsafe: bool = False) -> KerasModel:
    """Load a Keras model file (see the module docstring for what is refused and why)."""
    if scores not in ("probs", "logits"):
        raise UsageError(f"`scores` must be probs or logits, not {scores!r}")
    p = Path(path)
    if not p.exists():
        raise ModelError(f"Keras model {p} does not exist")
    kind = keras_kind(p)
    if kind is None:
        raise ModelError(f"{p}: not a Keras model (.keras archive, .h5 file or SavedModel folder)",
                         hint="save the model with model.save(\"model.keras\")")
    if kind == "savedmodel" or (kind == "keras-h5" and not allow_unsafe):
        why, hint = refusal(p, kind)
        raise ModelError(why, hint=hint)
    if kind == "keras-h5":
        return _load_h5(p, labels=labels, scores=scores)
    archive = read_archive(p)
    unsafe = unsafe_reason(archive.config)
    if unsafe and not allow_unsafe:
        raise ModelError(f"{p}: {unsafe}; loading it can run code from the file, so modelqa refuses it by default",
                         hint="for a model you trust, opt in with `allow_unsafe`" + (
                             " (its custom classes must be importable and registered with "
                             "keras.saving.register_keras_serializable)" if "classes" in unsafe else ""))
    keras = import_keras()
    vectorizer = _vectorizer(p, archive)
    if vectorizer is not None:
        model = _load_without_vectorization(p, archive, vectorizer, keras, safe_mode=not allow_unsafe)
    else:
        model = _keras_call(lambda: keras.saving.load_model(p, safe_mode=not allow_unsafe, compile=False), p)
    return _wrap(p, KIND, model, read_head(archive.config), labels=labels, scores=scores, vectorizer=vectorizer,
                 saved_version=archive.metadata.get("keras_version"), safe_mode=not allow_unsafe)


def _keras_call(fn, path: Path):
    try:
        return fn()
    except (ValueError, TypeError, KeyError, AttributeError, ImportError, OSError, RuntimeError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = None
        if "safe_mode" in text or "unsafe_deserialization" in text:
            hint = "for a model you trust, opt in with `allow_unsafe`"
        elif "Could not locate" in text or "Unknown" in text:
            hint = ("import the module that defines the custom class (registered with "
                    "keras.saving.register_keras_serializable) before loading")
        raise ModelError(f"{path}: Keras cannot load the model: {text}", hint=hint) from None


def _load_without_vectorization(path: Path, archive: Archive, vectorizer: TextVectorizer, keras, *,
                                safe_mode: bool):
    """The model after its TextVectorization layer, built from the rewritten config, with the
    archive's weights (Keras names them by layer position, which the rewrite keeps)."""
    config = strip_text_vectorization(archive.config, vectorizer)
    if WEIGHTS_H5 not in archive.names:
        raise ModelError(f"{path}: the archive has no {WEIGHTS_H5}; modelqa reads the weights of a model with a "
                         "TextVectorization layer from that file", hint="save it with model.save(\"model.keras\")")

    def build():
        model = keras.saving.deserialize_keras_object(config, safe_mode=safe_mode)
        with tempfile.TemporaryDirectory(prefix="modelqa-keras-") as tmp:
            with zipfile.ZipFile(path) as zf:
                target = Path(tmp) / "model.weights.h5"
                target.write_bytes(zf.read(WEIGHTS_H5))
            model.load_weights(target)
        return model

    return _keras_call(build, path)


def _load_h5(path: Path, *, labels, scores: str) -> KerasModel:
    keras = import_keras()
    model = _keras_call(lambda: keras.saving.load_model(path, safe_mode=False, compile=False), path)
    config = {"class_name": type(model).__name__, "config": model.get_config()}
    return _wrap(path, "keras-h5", model, read_head(config), labels=labels, scores=scores, vectorizer=None,
                 saved_version=None, safe_mode=False)


def _wrap(path: Path, kind: str, model, head: Head, *, labels, scores: str, vectorizer: TextVectorizer | None,
          saved_version, safe_mode: bool) -> KerasModel:
    import keras

    outputs = getattr(model, "outputs", None) or []
    if len(outputs) > 1:
        raise ModelError(f"{path}: the model has {len(outputs)} outputs; modelqa evaluates a model with one")
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) > 1:
        raise ModelError(f"{path}: the model has {len(inputs)} inputs; modelqa feeds one table of columns")
    shape = tuple(inputs[0].shape) if inputs else None
    units = int(outputs[0].shape[-1]) if outputs and outputs[0].shape[-1] is not None else head.units
    head = head.with_units(units)
    if vectorizer is None and shape is not None and len(shape) != 2:
        raise ModelError(f"{path}: the model takes inputs shaped {shape[1:]}; modelqa feeds one row of numeric "
                         "columns per example (inputs shaped (n_features,))")
    task, n_classes = head.resolve(scores, where=str(path))
    if task == "regression":
        if labels:
            raise UsageError(f"`labels` names classes, but {path} is a regression model (last layer "
                             f"{head.layer}, {head.activation or 'linear'})")
        model_labels = None
    else:
        model_labels = default_labels(n_classes, labels, where=str(path))
    n_features = None if vectorizer is not None or shape is None or shape[-1] is None else int(shape[-1])
    info = {"kind": kind, "keras_version_saved": saved_version, "keras_version": keras.__version__,
            "backend": "torch", "safe_mode": safe_mode,
            "prediction": f"keras Model.predict(batch_size={BATCH_SIZE})", "last_layer": head.layer,
            "activation": head.activation, "units": units, "scores": head.scores_for(scores),
            "text_vectorization": vectorizer.describe() if vectorizer is not None else None}
    return KerasModel(path=path, kind=kind, task="regression" if task == "regression" else "classification",
                      labels=model_labels, input_kind="text" if vectorizer is not None else "features",
                      feature_columns=None, n_features=n_features, info=info, model=model, head=head, scores=scores,
                      vectorizer=vectorizer)
