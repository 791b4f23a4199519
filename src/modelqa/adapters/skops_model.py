"""scikit-learn estimators saved with skops (``skops.io.dump(model, "model.skops")``), and the
pickle / joblib files modelqa refuses unless ``allow_pickle`` is given.

A ``.skops`` file is a zip of a ``schema.json`` (the object tree: each node's module and class)
and ``.npy`` arrays. ``describe_skops`` reads only that schema; ``load_skops_model`` first lists
the types the file would construct (``skops.io.get_untrusted_types``), refuses any that neither
``TRUSTED`` (built here from the installed scikit-learn, numpy and scipy) nor the caller's
``trust`` names, and only then loads. skops, scikit-learn and joblib are imported inside functions.
"""

from __future__ import annotations

import functools
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from modelqa.adapters.feature_model import ModelDescription, size_of
from modelqa.adapters.sklearn_estimator import TEXT_VECTORIZERS, SklearnModel, type_name, wrap_estimator
from modelqa.errors import ModelError, UsageError

__all__ = ["SklearnModel", "describe_skops", "load_skops_model", "sklearn_kind", "trusted_types"]  # + TRUSTED

SKOPS_SUFFIX = ".skops"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
INSTALL_HINT = 'pip install "modelqa[skops]"'
PICKLE_UNSAFE = "pickle runs code when loaded; `allow_pickle`"

#: Types scikit-learn ships that store raw node indices it follows without bounds checks: a crafted
#: file loads, then crashes the process (or reads stray memory) at predict. skops 0.16 leaves the
#: first two out of its defaults for this reason; modelqa never trusts any of them by itself.
RAW_INDEX_TYPES = {
    "sklearn.tree._tree.Tree": "the node store of DecisionTree*, RandomForest*, ExtraTrees*, GradientBoosting*",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": "the trees of HistGradientBoosting*",
    "sklearn.neighbors._kd_tree.KDTree": "the search tree of KNeighbors* / RadiusNeighbors*",
    "sklearn.neighbors._ball_tree.BallTree": "the search tree of KNeighbors* / RadiusNeighbors*",
}


@functools.cache
def trusted_types() -> frozenset[str]:
    """Every type modelqa lets skops construct from a file without being asked (``TRUSTED``)."""
    import importlib

    import numpy
    import scipy.sparse
    from sklearn.utils import all_estimators

    names = {type_name(cls) for _, cls in all_estimators() if cls.__module__.startswith("sklearn.")}

    def classes(module: str, base: str | None = None, only: tuple[str, ...] = ()) -> None:
        """Classes of a scikit-learn module (private ones move between versions: absent is fine)."""
        try:
            mod = importlib.import_module(module)
        except ImportError:
            return
        root = getattr(mod, base, None) if base else None
        for name, obj in vars(mod).items():
            if isinstance(obj, type) and obj.__module__ == module and (
                    name in only if only else (root is not None and issubclass(obj, root))):
                names.add(type_name(obj))

    # What fitted estimators hold besides other estimators.
    classes("sklearn._loss.loss", "BaseLoss")
    classes("sklearn._loss.link", "BaseLink")
    classes("sklearn._loss.link", only=("Interval",))
    classes("sklearn.ensemble._hist_gradient_boosting.binning", only=("_BinMapper",))
    classes("sklearn.calibration", only=("_CalibratedClassifier", "_SigmoidCalibration"))
    classes("sklearn.utils._bunch", only=("Bunch",))
    classes("sklearn.compose._column_transformer", only=("make_column_selector",))
    classes("sklearn.neural_network._stochastic_optimizers", "BaseOptimizer")
    classes("sklearn.gaussian_process.kernels", "Kernel")
    classes("sklearn.gaussian_process._gpc", only=("_BinaryGaussianProcessClassifierLaplace",))
    # numpy: arrays, dtypes (skops rebuilds them from .npy without pickle), scalar types, ufuncs.
    names.update(type_name(t) for t in (numpy.ndarray, numpy.ma.MaskedArray, numpy.dtype,
                                         numpy.random.RandomState, numpy.random.Generator))
    names.update(type_name(t) for t in set(numpy.sctypeDict.values()))
    names.update(type_name(t) for t in (numpy.generic, numpy.number, numpy.integer, numpy.signedinteger,
                                         numpy.unsignedinteger, numpy.inexact, numpy.floating,
                                         numpy.complexfloating, numpy.flexible, numpy.character))
    names.update(f"numpy.random.{n}" for n, t in vars(numpy.random).items()
                 if isinstance(t, type) and issubclass(t, numpy.random.BitGenerator) and t is not numpy.random.BitGenerator)
    names.update(f"numpy.{n}" for n, f in vars(numpy).items() if isinstance(f, numpy.ufunc))
    # scipy sparse matrices and arrays (skops reads them with load_npz, no pickle).
    bases = tuple(b for b in (getattr(scipy.sparse, "spmatrix", None), getattr(scipy.sparse, "sparray", None)) if b)
    names.update(type_name(t) for t in vars(scipy.sparse).values() if isinstance(t, type) and issubclass(t, bases))
    # `make_column_selector(dtype_include=object)` stores the type itself.
    names.update(f"builtins.{n}" for n in ("object", "int", "float", "str", "bool", "complex", "list", "tuple",
                                           "dict", "set", "frozenset", "slice"))
    return frozenset(names - set(RAW_INDEX_TYPES))


def __getattr__(name: str):  # TRUSTED is built on first use: importing scikit-learn takes seconds
    if name == "TRUSTED":
        return trusted_types()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sklearn_kind(path: str | Path) -> str | None:
    """"skops" for a skops archive, "pickle" for a pickle / joblib file, None otherwise."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == SKOPS_SUFFIX:
        return "skops"
    if suffix in PICKLE_SUFFIXES:
        return "pickle"
    if not p.is_file():
        return None
    try:
        with p.open("rb") as fh:
            head = fh.read(2)
        if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
            return "pickle"
        if head == b"PK" and suffix != ".keras" and "schema.json" in zipfile.ZipFile(p).namelist():
            return "skops"
    except (OSError, zipfile.BadZipFile):
        return None
    return None


# ---------------------------------------------------------------- the schema, read without loading

def _read_schema(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("schema.json"))
    except FileNotFoundError:
        raise ModelError(f"model file {path} does not exist") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{path} is not a skops file (a zip archive with schema.json): {exc}",
                         hint='save the estimator with skops.io.dump(model, "model.skops")') from None


def _cls(node: dict) -> str:
    return f"{node.get('__module__')}.{node.get('__class__')}"


def _attrs(node: dict) -> dict:
    """The attribute nodes of an estimator node (an ObjectNode holds a DictNode)."""
    content = node.get("content") if isinstance(node, dict) else None
    inner = content.get("content") if isinstance(content, dict) else None
    return inner if isinstance(inner, dict) else {}


def _value(node: Any, zf: zipfile.ZipFile | None = None) -> Any:
    """A JSON value, a list / tuple of them, or an array stored in the archive (never pickled)."""
    if not isinstance(node, dict):
        return None
    loader = node.get("__loader__")
    if loader == "JsonNode":
        return json.loads(node["content"])
    if loader in ("ListNode", "TupleNode"):
        return [_value(n, zf) for n in node.get("content", [])]
    if loader == "NdArrayNode":
        if isinstance(node.get("content"), list):
            return [_value(n, zf) for n in node["content"]]
        if zf is not None and node.get("file"):
            import io
            return np.load(io.BytesIO(zf.read(node["file"])), allow_pickle=False).tolist()
    return None


def _steps(node: dict) -> list[tuple[str, dict]]:
    steps = _attrs(node).get("steps") if node.get("__class__") == "Pipeline" else None
    out = []
    for step in (steps or {}).get("content", []):
        pair = step.get("content", [])
        if len(pair) == 2 and isinstance(pair[1], dict):
            out.append((str(_value(pair[0])), pair[1]))
    return out


@functools.cache
def _estimator_kinds() -> dict[str, str]:
    """'module.Class' -> "classifier" / "regressor" for scikit-learn's own estimators."""
    from sklearn.utils import all_estimators

    kinds = {type_name(c): "classifier" for _, c in all_estimators(type_filter="classifier")}
    kinds.update({type_name(c): "regressor" for _, c in all_estimators(type_filter="regressor")})
    return kinds


def describe_skops(path: str | Path) -> ModelDescription:
    """What the file holds, from its schema.json (nothing is constructed or imported from it)."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file {path} does not exist")
    if sklearn_kind(path) == "pickle":
        return ModelDescription(path=path, kind="pickle", task=None, labels=None, size_bytes=size_of(path),
                                inputs="a pickled estimator (not opened: reading it would run it)",
                                unsafe=PICKLE_UNSAFE, details={"format": path.suffix.lstrip(".") or "pickle",
                                                               "untrusted_types": ["pickle (any code)"]})
    schema = _read_schema(path)
    steps = _steps(schema)
    final, head = (steps[-1][1], steps[0][1]) if steps else (schema, schema)
    with zipfile.ZipFile(path) as zf:
        classes = _value(_attrs(final).get("classes_"), zf)
        names = _value(_attrs(head).get("feature_names_in_"), zf)
    n_features = _value(_attrs(head).get("n_features_in_"))
    details: dict[str, Any] = {"estimator": _cls(schema), "steps": [f"{n}: {_cls(s)}" for n, s in steps],
                               "sklearn_version": _value(_attrs(schema).get("_sklearn_version")),
                               "skops_version": schema.get("_skops_version"), "protocol": schema.get("protocol")}
    unsafe, loadable = None, True
    try:
        import skops.io as sio
    except ImportError:
        loadable, details["not_loadable"] = False, f"skops is not installed: {INSTALL_HINT}"
    else:
        try:
            untrusted = sorted(set(sio.get_untrusted_types(file=path)) - trusted_types())
        except Exception as exc:  # noqa: BLE001 - a schema skops cannot read is a broken file
            raise ModelError(f"{path}: skops cannot read this file: {exc}") from None
        details["untrusted_types"] = untrusted
        if untrusted:
            unsafe = f"holds types modelqa does not trust: {', '.join(untrusted)}; `trust` must name each"
    kind = _estimator_kinds().get(_cls(final))
    text = bool(steps) and steps[0][1].get("__class__") in TEXT_VECTORIZERS
    if classes is not None:
        task = "binary" if len(classes) == 2 else "multiclass"
    else:
        task = "regression" if kind == "regressor" else None
    if text:
        inputs = f"one text column ({steps[0][1]['__class__']})"
    elif names:
        inputs = f"a table with columns {', '.join(map(str, names))}"
    else:
        inputs = f"{n_features} numeric features" if n_features else "numeric features"
    return ModelDescription(path=path, kind="skops", task=task, size_bytes=size_of(path), inputs=inputs,
                            labels=None if classes is None else [str(c) for c in classes],
                            unsafe=unsafe, loadable=loadable, details=details,
                            feature_columns=None if text or not names else [str(n) for n in names])


# ---------------------------------------------------------------- loading

def _check_trust(trust) -> list[str]:
    trust = [trust] if isinstance(trust, str) else list(trust or ())
    out = []
    for t in trust:
        t = str(t).strip()
        if "." not in t or " " in t:
            raise UsageError(f"`trust` names a type as module.Class (as modelqa lists them), not {t!r}")
        out.append(t)
    return out


def _refusal(path: Path, missing: list[str]) -> ModelError:
    why = "; ".join(f"{t} ({RAW_INDEX_TYPES[t]}) stores raw node indices scikit-learn follows without "
                    "bounds checks, so a crafted file can crash the process at predict"
                    for t in missing if t in RAW_INDEX_TYPES)
    return ModelError(
        f"{path} holds {len(missing)} type(s) modelqa does not trust: {', '.join(missing)}"
        + (f". {why}" if why else ""),
        hint="only if you made this file or trust where it came from, allow each type once: "
             + " ".join(f"`trust='{t}'`" for t in missing)
             + " (a trusted type is constructed from the file, and its own code runs)")


def _load_pickle(path: Path) -> tuple[Any, str | None]:
    import joblib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            obj = joblib.load(path)
        except Exception as exc:  # noqa: BLE001 - whatever the file does, it is a bad model file
            raise ModelError(f"{path}: cannot unpickle the estimator: {type(exc).__name__}: {exc}") from None
    saved = next((getattr(w.message, "original_sklearn_version", None) for w in caught
                  if getattr(w.message, "original_sklearn_version", None)), None)
    return obj, saved


def load_skops_model(path: str | Path, *, trust=(), scores: str = "probs", labels: list[str] | None = None,
                     allow_pickle: bool = False) -> SklearnModel:
    """A scikit-learn estimator from a ``.skops`` file (after checking every type it holds), or
    from a pickle / joblib file when ``allow_pickle`` says so."""
    path = Path(path)
    if scores not in ("probs", "logits"):
        raise UsageError(f"`scores` must be probs or logits, not {scores!r}")
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist" if not path.exists() else f"{path} is a folder, "
                         "not a scikit-learn model file (.skops)")
    kind = sklearn_kind(path)
    trust = _check_trust(trust)
    info: dict[str, Any] = {"kind": kind}
    if kind == "pickle":
        if not allow_pickle:
            raise ModelError(
                f"{path} is a pickle / joblib file: unpickling runs whatever code the file holds, so modelqa "
                "refuses it by default",
                hint="convert it once to skops where you trust it: python -c \"import joblib, skops.io; "
                f"skops.io.dump(joblib.load('{path}'), 'model.skops')\" and pass model.skops; or, for a "
                "file you trust, pass `allow_pickle`")
        estimator, info["sklearn_version_saved"] = _load_pickle(path)
    elif kind == "skops":
        try:
            import skops.io as sio
        except ImportError:
            raise UsageError(f"{path} is a skops file, but skops is not installed", hint=INSTALL_HINT) from None
        schema = _read_schema(path)
        try:
            found = sio.get_untrusted_types(file=path)
        except Exception as exc:  # noqa: BLE001 - a schema skops cannot read is a broken file
            raise ModelError(f"{path}: skops cannot read this file: {exc}") from None
        missing = sorted(set(found) - trusted_types() - set(trust))
        if missing:
            raise _refusal(path, missing)
        try:
            estimator = sio.load(path, trusted=sorted(trusted_types() | set(trust)))
        except Exception as exc:  # noqa: BLE001 - skops refuses or the estimator's state does not fit
            raise ModelError(f"{path}: skops cannot load the estimator: {type(exc).__name__}: {exc}") from None
        info.update(sklearn_version_saved=_value(_attrs(schema).get("_sklearn_version")),
                    skops_version_saved=schema.get("_skops_version"),
                    trusted_by_request=sorted(set(found) & set(trust)))
    else:
        raise ModelError(f"{path} is neither a skops file (.skops) nor a pickle / joblib file",
                         hint='save a scikit-learn estimator with skops.io.dump(model, "model.skops")')
    return wrap_estimator(path, kind, estimator, scores=scores, labels=labels, info=info)
