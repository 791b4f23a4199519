"""``modelqa.inspect_model``: what a model path holds (kind, task, labels, inputs, size, whether
loading needs an opt-in), read from its files without running it (adapters.model_kind)."""

from __future__ import annotations

from pathlib import Path

from modelqa.adapters.feature_model import ModelDescription


def inspect_model(path: str | Path) -> ModelDescription:
    """The ``ModelDescription`` of ``path``: a Hugging Face folder (PyTorch or TensorFlow weights), a
    ``modelqa train tabular`` folder, a Keras, skops / pickled scikit-learn or ONNX model file, or an
    ONNX text folder. A path that is none of them is a ModelError listing what modelqa reads; a
    model that needs an opt-in is described (``unsafe`` says which), not refused."""
    from modelqa.adapters.model_kind import describe_model

    return describe_model(path)
