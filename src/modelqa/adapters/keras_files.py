"""Which paths are Keras models, read without building anything: the kind of a path, a
``.keras`` archive's config.json / metadata.json / vocabulary assets, a legacy ``.h5`` file's
``model_config`` attribute, why the legacy formats are refused, and the training history
saved next to a model (``json.dump(history.history, f)``).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from modelqa.errors import DataError, ModelError

KIND = "keras"
CVE = "CVE-2025-9905"
H5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
H5_SUFFIXES = (".h5", ".hdf5")
HISTORY_NAMES = ("history.json",)


def keras_kind(path: str | Path) -> str | None:
    """``keras`` (a .keras file: a zip with config.json), ``keras-h5`` (an HDF5 file holding a Keras
    model or its weights), ``savedmodel`` (a folder with saved_model.pb and variables/), or None."""
    p = Path(path)
    try:
        if p.is_dir():
            return "savedmodel" if (p / "saved_model.pb").is_file() and (p / "variables").is_dir() else None
        if not p.is_file():
            return None
        if p.suffix.lower() == ".keras":
            return KIND  # read_archive says what is wrong with a damaged one
        if p.suffix.lower() in H5_SUFFIXES:
            with open(p, "rb") as f:
                if f.read(8) != H5_SIGNATURE:
                    return None
            return "keras-h5" if _h5_holds_keras(p) is not False else None
    except (OSError, zipfile.BadZipFile):
        return None
    return None


def is_keras_file(path: str | Path) -> bool:
    """True for a ``.keras`` archive, a Keras ``.h5`` / ``.hdf5`` file or a SavedModel folder
    (the last two are refused by ``load_keras_model`` with a reason)."""
    return keras_kind(path) is not None


def _h5_holds_keras(path: Path) -> bool | None:
    """True when the HDF5 file has Keras' attributes, False when it has none, None without h5py."""
    try:
        import h5py
    except ImportError:
        return None
    try:
        with h5py.File(path, "r") as f:
            return any(k in f.attrs for k in ("model_config", "keras_version", "layer_names")) or "model_weights" in f
    except OSError:
        return False


@dataclass(frozen=True)
class Archive:
    config: dict
    metadata: dict
    names: tuple[str, ...]


def read_archive(path: Path) -> Archive:
    try:
        with zipfile.ZipFile(path) as zf:
            names = tuple(zf.namelist())
            config = json.loads(zf.read("config.json").decode("utf-8"))
            metadata = json.loads(zf.read("metadata.json").decode("utf-8")) if "metadata.json" in names else {}
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelError(f"{path}: not a readable .keras archive ({exc})",
                         hint="save the model with model.save(\"model.keras\")") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelError(f"{path}: config.json is not a Keras model config (no class_name)")
    return Archive(config=config, metadata=metadata if isinstance(metadata, dict) else {}, names=names)


def vocabulary_text(path: Path, archive: Archive) -> str | None:
    name = "assets/layers/text_vectorization/vocabulary.txt"
    if name not in archive.names:
        return None
    with zipfile.ZipFile(path) as zf:
        return zf.read(name).decode("utf-8")


def refusal(path: Path, kind: str) -> tuple[str, str]:
    """(why, what to do) for a format that safe_mode does not protect."""
    if kind == "keras-h5":
        return (f"{path} is a legacy HDF5 Keras file; Keras' safe_mode does not protect this format ({CVE}: a "
                "Lambda layer in it runs code when loaded), so modelqa refuses it by default",
                "re-save it as .keras where it was made (model.save(\"model.keras\")); or, for a file you trust, "
                "opt in with `allow_unsafe`")
    return (f"{path} is a TensorFlow SavedModel folder; Keras 3 cannot load it without TensorFlow and safe_mode "
            f"does not protect it ({CVE}), so modelqa cannot read it even with `allow_unsafe`",
            "convert it once where TensorFlow is installed: python -c \"import tf_keras; "
            f"tf_keras.models.load_model('{path}').save('{path.name}.keras')\" (or keras.models.load_model "
            "with Keras 2 / TensorFlow <= 2.15), then pass the .keras file")


def h5_config(path: Path) -> tuple[dict | None, str | None]:
    try:
        import h5py
    except ImportError:
        return None, None
    try:
        with h5py.File(path, "r") as f:
            raw, version = f.attrs.get("model_config"), f.attrs.get("keras_version")
    except OSError:
        return None, None
    raw = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    version = version.decode("utf-8") if isinstance(version, bytes) else version
    try:
        config = json.loads(raw) if raw else None
    except ValueError:
        return None, None
    return (config if isinstance(config, dict) else None), (str(version) if version else None)


# --------------------------------------------------------------------------- history


def keras_history(model_path: str | Path, history: str | Path | None = None) -> Path | None:
    """The Keras ``History.history`` JSON for the learning-curve section: ``history`` when given
    (it must exist and be JSON; a DataError otherwise), else ``history.json`` or
    ``<stem>.history.json`` next to the model file, else None. Reading it as a history
    (analysis.history.read_history) is the caller's."""
    if history is not None:
        h = Path(history)
        if not h.is_file():
            raise DataError(f"{h}: no such history file" if not h.exists() else f"{h} is a folder, not a history file",
                            hint="give the JSON written with json.dump(history.history, f)")
        _check_json(h)
        return h
    model = Path(model_path)
    folder = model if model.is_dir() else model.parent
    stem = model.name if model.is_dir() else model.stem
    for candidate in (folder / f"{stem}.history.json", *(folder / n for n in HISTORY_NAMES)):
        if candidate.is_file():
            return candidate
    return None


def _check_json(path: Path) -> None:
    try:
        json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text, so not a JSON training history") from None
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); expected a Keras History.history dict",
                        hint="write it with json.dump(history.history, open(path, \"w\"))") from None
