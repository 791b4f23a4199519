"""modelqa: train, evaluate and explain deep-learning classifiers.

The public API is imported lazily so that ``import modelqa`` stays cheap:

    modelqa.evaluate(...)   -> Evaluation
    modelqa.predict(...)    -> pandas.DataFrame
    modelqa.train_text(...) -> TrainResult
    modelqa.check(...)      -> CheckRun
"""

from __future__ import annotations

__version__ = "0.2.0"

_EXPORTS = {
    "evaluate": "modelqa.api.evaluate",
    "Evaluation": "modelqa.api.evaluation",
    "predict": "modelqa.api.predict",
    "train_text": "modelqa.api.train",
    "TrainResult": "modelqa.api.train",
    "render_report": "modelqa.api.report",
    "check": "modelqa.api.check",
    "CheckRun": "modelqa.api.check",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'modelqa' has no attribute {name!r}")
