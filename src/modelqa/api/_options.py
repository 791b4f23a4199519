"""The one place ``evaluate`` refuses options that do not apply to the input it was given.

DESIGN.md lists a silently ignored argument as a thing we do not want: ``--chunk-rows`` with a
predictions file, ``--memory-budget`` with a model, ``--ray-actors`` with a tabular model... each
is a UsageError that names the options. An option counts as given when it differs from its
default (the CLI's defaults are the API's).
"""

from __future__ import annotations

from modelqa.errors import UsageError

#: Options of a Hugging Face text model run: (flag, default).
TEXT_MODEL = {
    "labels": ("--labels", None), "label_map": ("--label-map", None), "on_empty": ("--on-empty", "error"),
    "batch_size": ("--batch-size", 64), "max_length": ("--max-length", None), "device": ("--device", "auto"),
    "allow_pickle": ("--allow-pickle", False), "chunk_rows": ("--chunk-rows", None),
    "restart": ("--restart", False), "precision": ("--precision", "fp32"), "engine": ("--engine", "local"),
    "ray_actors": ("--ray-actors", None), "backend": ("--backend", "torch"), "max_tokens": ("--max-tokens", None),
    "quantize": ("--quantize", "none"), "compare_fp32": ("--compare-fp32", False),
}
#: Options of a predictions file.
PREDICTIONS = {
    "pred_col": ("--pred-col", None), "scores": ("--scores", "probs"), "normalize_probs": ("--normalize-probs", False),
    "memory_budget": ("--memory-budget", None), "stream": ("--stream", None),
}
#: Options that need every row in memory (a streamed file keeps states and samples only).
IN_MEMORY = {"threshold": ("--threshold", None), "min_recall": ("--min-recall", None), "cost": ("--cost", None),
             "actions": ("--actions", None)}
#: Options of classification only.
CLASSIFICATION = {"pos_label": ("--pos-label", None), "threshold": ("--threshold", None),
                  "min_recall": ("--min-recall", None), "cost": ("--cost", None), "scores": ("--scores", "probs"),
                  "normalize_probs": ("--normalize-probs", False), "actions": ("--actions", None)}
#: Options of a model file of table columns (adapters.model_kind.FEATURE_KINDS: Keras, skops, ONNX).
FEATURE_MODEL = {"feature_cols": ("--feature-cols", None), "drop_col": ("--drop-col", None),
                 "allow_unsafe": ("--allow-unsafe", False), "trust": ("--trust", None)}
#: Options of every --model run (a training history for the learning-curve section).
MODEL_RUN = {"history": ("--history", None)}
#: Of TEXT_MODEL and PREDICTIONS, the options a model file of table columns takes.
FEATURE_MODEL_TAKES = ("--labels", "--allow-pickle", "--scores")
#: Each opt-in and the model kinds it applies to.
OPT_INS = {"--allow-unsafe": ("keras", "keras-h5", "savedmodel"), "--trust": ("skops",),
           "--allow-pickle": ("hf", "pickle")}
OPT_IN_HINT = ("--allow-unsafe is for Keras models (Lambda layers, custom objects), --trust for types a .skops file "
               "names, --allow-pickle for pickled scikit-learn models and Hugging Face pytorch_model.bin")


def given(table: dict, options: dict) -> list[str]:
    """The flags of ``table`` whose value in ``options`` differs from the default."""
    out = []
    for name, (flag, default) in table.items():
        value = options.get(name, default)
        if value is not None and value != default and not (default is None and value in ((), [])):
            out.append(flag)
    return out


def _refuse(flags: list[str], what: str, hint: str | None = None) -> None:
    if flags:
        verb = "does" if len(flags) == 1 else "do"
        raise UsageError(f"{', '.join(flags)} {verb} not apply to {what}", hint=hint)


def refuse_for_regression(options: dict) -> None:
    """UsageError naming the classification options given to a regression run."""
    bad = given(CLASSIFICATION, options)
    if bad:
        hint = ("--actions rules match predicted labels and confidence; a regression run has neither "
                "(see docs/actions.md)") if "--actions" in bad else None
        raise UsageError(f"{', '.join(bad)} apply to classification; this is a regression run", hint=hint)


def refuse_inapplicable(kind: str, *, subject=None, data=None, task=None, **options) -> None:
    """UsageError naming every option that ``kind`` of input ("text-model", "tabular-model",
    "predictions", "streamed", "regression") would ignore. A model file of table columns
    ("feature-model") is checked by ``refuse_for_feature_model`` (``model_kind`` in ``options``)."""
    if kind == "feature-model":
        refuse_for_feature_model(options.pop("model_kind", None), subject=subject, data=data, options=options)
        return
    options.pop("model_kind", None)
    if kind in ("text-model", "tabular-model"):
        if data is None:
            raise UsageError("--model needs --data (a labelled file to evaluate on)")
        if kind == "text-model" and task == "regression":
            raise UsageError("--task regression needs a regression model; a text classifier's outputs are "
                             "classes", hint="evaluate a file of numeric predictions with --predictions FILE "
                                             "--task regression --label-col y --pred-col prediction")
        if kind == "text-model" and options.get("pred_col") is not None:
            raise UsageError("--pred-col names a column of a --predictions file; with --model the model predicts")
        if kind == "text-model":
            _refuse(given(PREDICTIONS, options), "a --model run (for a --predictions file only)")
        _refuse(given(FEATURE_MODEL, options), f"a {'tabular' if kind == 'tabular-model' else 'text'} "
                "model (for a Keras, skops or ONNX model file of table columns)")
    if kind != "text-model":
        engine_flags = [f for f in given(TEXT_MODEL, options) if f in ("--precision", "--engine", "--backend")]
        if engine_flags:
            raise UsageError("--precision, --engine and --backend apply to a text model; they do not apply to a "
                             "--predictions file or a tabular model")
    if kind == "tabular-model":
        for flag in given(TEXT_MODEL, options) + given(PREDICTIONS, options):
            raise UsageError(f"{flag} does not apply to a tabular model ({subject})")
        return
    if kind == "text-model":
        return
    if data is not None:
        raise UsageError("--data is for --model; a --predictions file already holds the labels")
    if options.get("labels") is not None or options.get("label_map") is not None:
        raise UsageError("--labels / --label-map name a model's outputs; a --predictions file names its "
                         "classes in its prob_<label> columns or its label columns")
    _refuse(given(TEXT_MODEL, options), "a --predictions file (for a text --model run only)")
    _refuse(given(FEATURE_MODEL, options) + given(MODEL_RUN, options), "a --predictions file (for a --model run only)")
    if kind == "regression":
        refuse_for_regression(options)
        _refuse([f for f in given(PREDICTIONS, options) if f in ("--memory-budget", "--stream")],
                "a regression run (a regression file is read whole)")
    if kind == "streamed":
        bad = given(IN_MEMORY, options)
        if bad:
            raise UsageError(f"{', '.join(bad)} need every row in memory, and {subject} is streamed "
                             "(larger than --memory-budget)", hint="raise --memory-budget to read it whole")


def refuse_for_feature_model(model_kind: str | None, *, subject, data, options: dict) -> None:
    """UsageError naming the options a Keras, skops or ONNX model file (``model_kind``) would
    ignore: the text-model and predictions-file options but ``--labels`` / ``--scores``, and an
    opt-in of another kind of model."""
    from modelqa.adapters.model_kind import KIND_NAMES

    if data is None:
        raise UsageError("--model needs --data (a labelled file to evaluate on)")
    if options.get("pred_col") is not None:
        raise UsageError("--pred-col names a column of a --predictions file; with --model the model predicts")
    what = f"{subject}, a {KIND_NAMES.get(model_kind, 'model file')}"
    bad = [f for f in given(TEXT_MODEL, options) + given(PREDICTIONS, options) if f not in FEATURE_MODEL_TAKES]
    _refuse(bad, what, hint="--labels names the classes in output order" if "--label-map" in bad else None)
    opt_ins = given({**TEXT_MODEL, **FEATURE_MODEL}, options)
    _refuse([f for f, kinds in OPT_INS.items() if f in opt_ins and model_kind not in kinds], what, hint=OPT_IN_HINT)


def refuse_model_file_options(what: str, options: dict) -> None:
    """``predict`` with a Hugging Face or tabular model: the options of a model file of table
    columns (and ``--scores``) do not apply."""
    bad = given(FEATURE_MODEL, options) + [f for f in given(PREDICTIONS, options) if f == "--scores"]
    _refuse(bad, what, hint="they apply to a Keras, skops or ONNX model file")
