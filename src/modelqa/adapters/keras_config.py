"""What a Keras 3 model config (a ``.keras`` archive's config.json) says, read as JSON only:
the last layer (units and activation → the task), the input shape, and what would need an
opt-in to load (a Lambda layer, classes that are not Keras built-ins).

The task from the last layer (Dropout-like layers after it are skipped; a final Activation or
Softmax layer gives the activation of the Dense before it):

=================  =====  ======================================================
activation         units  task
=================  =====  ======================================================
sigmoid            1      binary: ``[1 - p, p]``
softmax            K      multiclass (K == 2: binary)
log_softmax        K      multiclass (K == 2: binary), probabilities = exp
linear (or other)  1      regression; with ``scores="logits"`` binary (sigmoid)
linear (or other)  K      with ``scores="logits"`` multiclass (softmax); else an error
=================  =====  ======================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from modelqa.errors import ModelError, UsageError

#: Layers that pass their input through at inference; the head is read before them.
PASS_THROUGH = {"Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
                "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"}
PROBABILITY = ("sigmoid", "softmax", "log_softmax")
MODELS = ("Sequential", "Functional", "Model")


@dataclass(frozen=True)
class Head:
    """The model's last layer: its class, output units and activation (None: not known)."""

    layer: str | None
    units: int | None
    activation: str | None
    outputs: int = 1

    def with_units(self, units: int | None) -> Head:
        return replace(self, units=units)

    @property
    def n_classes(self) -> int | None:
        """Classes as the config alone tells (sigmoid: 2, softmax: units), else None."""
        if self.activation == "sigmoid" and self.units == 1:
            return 2
        if self.activation in ("softmax", "log_softmax") and self.units and self.units >= 2:
            return self.units
        return None

    @property
    def task(self) -> str | None:
        """binary / multiclass / regression as far as the config tells, else None."""
        n = self.n_classes
        if n:
            return "binary" if n == 2 else "multiclass"
        if self.activation is not None and self.activation not in PROBABILITY and self.units == 1:
            return "regression"
        return None

    def scores_for(self, scores: str) -> str:
        """What the raw outputs are for adapters.feature_model.as_probabilities."""
        if self.activation in ("sigmoid", "softmax"):
            return "probs"
        if self.activation == "log_softmax":
            return "logits"   # softmax of log-probabilities gives the probabilities back
        return scores

    def resolve(self, scores: str, *, where: str) -> tuple[str, int | None]:
        """(task, number of classes) for ``scores``; an error when they do not fit the layer."""
        act, units, layer = self.activation, self.units, self.layer or "last layer"
        if self.outputs > 1:
            raise ModelError(f"{where}: the model has {self.outputs} outputs; modelqa evaluates a model with one")
        if units is None:
            raise ModelError(f"{where}: cannot tell how many outputs the model's last layer ({layer}) gives")
        if act in ("sigmoid", "softmax") and scores == "logits":
            raise UsageError(f"`scores` is logits, but {where} ends in {layer} with a {act} activation, which "
                             "already gives probabilities", hint="leave `scores` at probs")
        if act == "sigmoid":
            if units != 1:
                raise ModelError(f"{where}: the last layer ({layer}) has {units} sigmoid units, a multi-label "
                                 "model; modelqa evaluates one label per row",
                                 hint="a single-label classifier ends in Dense(K, activation=\"softmax\") or "
                                      "Dense(1, activation=\"sigmoid\")")
            return _classes(2)
        if act in ("softmax", "log_softmax"):
            if units < 2:
                raise ModelError(f"{where}: the last layer ({layer}) is a {act} over {units} unit, which is always "
                                 "1; a binary classifier ends in Dense(1, activation=\"sigmoid\") or "
                                 "Dense(2, activation=\"softmax\")")
            return _classes(units)
        if scores == "logits":
            return _classes(2 if units == 1 else units)
        if units == 1:
            return "regression", None
        if act is None:
            return _classes(units)  # rows are checked to be probabilities when predicting
        raise ModelError(f"{where}: the last layer ({layer}) gives {units} {act} outputs: not probabilities, and "
                         "a regression model has one output",
                         hint="if they are a classifier's logits, say so with `scores=\"logits\"`")


def _classes(n: int) -> tuple[str, int]:
    return ("binary" if n == 2 else "multiclass"), n


def _activation_name(value) -> str | None:
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        cfg = value.get("config")
        return cfg if isinstance(cfg, str) else str(value.get("class_name"))
    return str(value)


def _layers(model_config: dict) -> list[dict]:
    return [layer for layer in (model_config.get("config") or {}).get("layers") or [] if isinstance(layer, dict)]


def _by_name(model_config: dict) -> dict[str, dict]:
    return {str(layer.get("name") or (layer.get("config") or {}).get("name")): layer for layer in _layers(model_config)}


def _refs(value) -> list:
    """``[name, node, index]`` references: one, or a list of them (Functional input/output_layers)."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value]
    return [v for v in value or [] if isinstance(v, list)]


def _chain(model_config: dict) -> Iterator[dict]:
    """The layers from the output back towards the input (the first inbound path)."""
    if model_config.get("class_name") == "Sequential":
        yield from reversed([lay for lay in _layers(model_config) if lay.get("class_name") != "InputLayer"])
        return
    named = _by_name(model_config)
    outputs = _refs((model_config.get("config") or {}).get("output_layers"))
    name = outputs[0][0] if outputs else None
    seen: set[str] = set()
    while name in named and name not in seen:
        seen.add(name)
        layer = named[name]
        yield layer
        name = _inbound(layer)


def _inbound(layer: dict) -> str | None:
    nodes = layer.get("inbound_nodes") or []
    if not nodes or not isinstance(nodes[0], dict):
        return None
    args = nodes[0].get("args") or []
    first = args[0] if args else None
    if isinstance(first, list) and first:
        first = first[0]
    history = ((first or {}).get("config") or {}).get("keras_history") if isinstance(first, dict) else None
    return str(history[0]) if history else None


def read_head(model_config: dict) -> Head:
    """The last layer's class, units and activation (a nested model is read inside)."""
    outputs = len(_refs((model_config.get("config") or {}).get("output_layers")))
    activation: str | None = None
    last: str | None = None
    for layer in _chain(model_config):
        cls = str(layer.get("class_name"))
        cfg = layer.get("config") or {}
        if cls in PASS_THROUGH:
            continue
        if cls in MODELS or "layers" in cfg:
            inner = read_head(layer)
            return Head(layer=inner.layer, units=inner.units, activation=activation or inner.activation,
                        outputs=max(outputs, 1))
        last = last or cls
        if cls == "Softmax" or cls == "Activation":
            activation = activation or _activation_name(cfg.get("activation", "softmax"))
            continue
        if "units" in cfg:
            own = _activation_name(cfg.get("activation"))
            return Head(layer=last, units=int(cfg["units"]), activation=activation or own, outputs=max(outputs, 1))
        return Head(layer=last, units=None, activation=activation, outputs=max(outputs, 1))
    return Head(layer=last, units=None, activation=activation, outputs=max(outputs, 1))


def read_inputs(model_config: dict) -> tuple[str, list | None, str | None]:
    """(one line for ``inputs``, the batch shape, the dtype) of the model's input."""
    cfg = model_config.get("config") or {}
    layer = None
    if model_config.get("class_name") == "Sequential":
        first = next(iter(_layers(model_config)), None)
        layer = first if first and first.get("class_name") == "InputLayer" else None
    else:
        refs = _refs(cfg.get("input_layers"))
        if len(refs) > 1:
            return f"{len(refs)} inputs (modelqa feeds one)", None, None
        layer = _by_name(model_config).get(refs[0][0]) if refs else None
    lcfg = (layer or {}).get("config") or {}
    shape = lcfg.get("batch_shape") or lcfg.get("batch_input_shape") or cfg.get("build_input_shape")
    dtype = lcfg.get("dtype")
    dtype = (dtype.get("config") or {}).get("name") if isinstance(dtype, dict) else dtype
    if not isinstance(shape, list):
        return "unknown (the config has no input shape)", None, dtype
    if dtype == "string" or shape == [None]:
        return "text (one column)", shape, dtype
    if len(shape) == 2 and shape[1] is not None:
        return f"{shape[1]} numeric inputs (table columns, in order)", shape, dtype
    return f"inputs shaped {tuple(shape[1:])}", shape, dtype


def _objects(node, *, top: bool = True) -> Iterator[dict]:
    """Every serialized object (a dict with class_name) in a config, skipping compile_config
    (modelqa loads with compile=False, so it is never deserialized)."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield node
        for key, value in node.items():
            if key == "compile_config" and top:
                continue
            yield from _objects(value, top=False)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value, top=False)


def unsafe_reason(model_config: dict) -> str | None:
    """None when every object in the config is a Keras built-in; else why loading it needs
    ``allow_unsafe`` (a Lambda layer's Python bytecode, custom classes)."""
    lambdas, custom = [], []
    for obj in _objects(model_config):
        cls = str(obj.get("class_name"))
        name = (obj.get("config") or {}).get("name") if isinstance(obj.get("config"), dict) else None
        if cls == "Lambda" or cls == "__lambda__":
            if cls == "Lambda":
                lambdas.append(str(name or cls))
            continue
        if cls.startswith("__") and cls.endswith("__"):
            continue  # Keras' own markers: __keras_tensor__, __tuple__, __numpy__, ...
        if "module" not in obj:
            continue
        module, registered = obj.get("module"), obj.get("registered_name")
        builtin = isinstance(module, str) and (module == "keras" or module.startswith("keras."))
        if not builtin or registered not in (None, cls):
            custom.append(str(registered or cls))
    reasons = []
    if lambdas:
        reasons.append(f"a Lambda layer ({', '.join(dict.fromkeys(lambdas))}) holds Python bytecode")
    if custom:
        reasons.append(f"classes that are not Keras built-ins ({', '.join(dict.fromkeys(custom))})")
    return "; ".join(reasons) if reasons else None
