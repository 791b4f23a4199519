"""Options of model files that predict from table columns (Keras, skops / scikit-learn, ONNX),
shared by ``evaluate`` and ``predict`` (one definition, one help text)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MODEL_HELP = ("The model: a Hugging Face folder (config.json + model.safetensors + tokenizer), a `modelqa train "
              "tabular` folder, a .keras file (or .h5 / a SavedModel folder), a .skops file (or a pickled "
              "scikit-learn model, with --allow-pickle), an .onnx file or an ONNX text folder (model.onnx + "
              "tokenizer). See what it holds with `modelqa inspect MODEL`; docs/models.md.")
FeatureCols = Annotated[str | None, typer.Option(
    "--feature-cols", metavar="A,B,C", help="Keras / skops / ONNX model: the table columns it takes, in order, comma-separated "
                           "(default: the names the model stores, else every column but --label-col, --id-col and "
                           "--drop-col).")]
History = Annotated[Path | None, typer.Option(
    "--history", metavar="FILE", help="A training history for the report's learning curves: a Keras History.history dict saved as "
                      "JSON, a modelqa history.json or a trainer_state.json (default: history.json beside a Keras "
                      "model, or in a model folder).")]
AllowUnsafe = Annotated[bool, typer.Option(
    "--allow-unsafe", help="Keras model: load Lambda layers and custom objects (code runs when loaded; the .h5 "
                           "format). Only for models you trust.")]
Trust = Annotated[list[str] | None, typer.Option(
    "--trust", metavar="TYPE", help="skops model: a type to trust beyond scikit-learn's own, as `modelqa inspect` lists it, e.g. "
                    "xgboost.sklearn.XGBClassifier (repeatable). Only for models you trust.")]
DropCol = Annotated[list[str] | None, typer.Option(
    "--drop-col", help="Keras / skops / ONNX model: a table column to leave out of its inputs (repeatable), when "
                       "the inputs are every column but --label-col and --id-col.")]
Scores = Annotated[str, typer.Option(
    "--scores", metavar="probs|logits", help="Keras / skops / ONNX model: what its outputs are, 'probs' (checked: rows sum to 1) or "
                     "'logits' (softmax / sigmoid applied).")]


def split_columns(value: str | None) -> list[str] | None:
    """``--feature-cols a,b,c`` as a list (None when not given)."""
    if value is None:
        return None
    cols = [c.strip() for c in value.split(",") if c.strip()]
    if not cols:
        from modelqa.errors import UsageError

        raise UsageError("--feature-cols names no columns; give them comma-separated, e.g. --feature-cols age,tenure")
    return cols
