"""Hugging Face sequence-classification folders (config.json + model.safetensors + tokenizer).

Framework imports stay inside this module. Weights are loaded from safetensors only unless
the caller opts in to pickle (``allow_pickle=True``); nothing is ever downloaded.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelqa.errors import ModelError, UsageError

PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "model.ckpt.index")
SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
TF_WEIGHTS = "tf_model.h5"
_DEFAULT_NAME = re.compile(r"^LABEL_(\d+)$")
MODELQA_META = "modelqa.json"
#: Set (to anything) to load every folder with transformers, also where adapters.lean_bert could.
TRANSFORMERS_ONLY = "MODELQA_TRANSFORMERS_MODEL"


@dataclass
class HFClassifier:
    """A loaded classifier: torch model in eval mode, its tokenizer and its class names."""

    path: Path
    model: Any
    tokenizer: Any
    labels: list[str]
    max_length: int
    device: str
    meta: dict = field(default_factory=dict)

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.labels)}


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise UsageError(f"`device` must be auto, cpu or cuda, not {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("`device='cuda'` was asked for, but torch sees no CUDA GPU on this machine",
                         hint="use `device='cpu'` (or auto)")
    return device


def check_model_folder(path: str | Path, *, allow_pickle: bool = False) -> Path:
    """Refuse folders that are not a Hugging Face model or that hold only pickled weights."""
    folder = Path(path)
    if not folder.exists():
        raise ModelError(f"model folder {folder} does not exist")
    if not folder.is_dir():
        raise ModelError(f"`model` {folder} is a file; it must be a folder with config.json and "
                         "model.safetensors (or use `predictions` for a file of predictions)")
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder} has no config.json: it is not a Hugging Face model folder",
                         hint="save one with model.save_pretrained(folder) and tokenizer.save_pretrained(folder)")
    has_safe = any((folder / name).is_file() for name in SAFE_WEIGHTS)
    pickled = [name for name in PICKLE_WEIGHTS if (folder / name).is_file()]
    if not has_safe and pickled == [TF_WEIGHTS]:
        message, hint = tf_folder_message(folder)
        raise ModelError(message, hint=hint)
    if not has_safe:
        if pickled and not allow_pickle:
            raise ModelError(
                f"{folder} holds only {', '.join(pickled)}, a pickle-based format that can run code "
                "when loaded; modelqa refuses it by default",
                hint="convert it once to safetensors: python -c \"from transformers import "
                "AutoModelForSequenceClassification as M; M.from_pretrained('"
                f"{folder}', use_safetensors=False).save_pretrained('{folder}-safe')\" "
                "and pass the new folder; or, for a model you trust, add `allow_pickle=True`",
            )
        if not pickled:
            raise ModelError(f"{folder} has config.json but no weights (model.safetensors)")
    return folder


def tf_folder_message(folder: Path) -> tuple[str, str]:
    """(message, hint) for a folder whose only weights are TensorFlow's ``tf_model.h5``:
    transformers 5 no longer reads them; the hint converts the folder once where TensorFlow is."""
    arch = "a Hugging Face model"
    try:
        names = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures") or []
        arch = ", ".join(str(n) for n in names) or arch
    except (OSError, ValueError, AttributeError):
        pass
    dest = f"{folder}-pt"
    return (f"{folder} holds TensorFlow weights only ({TF_WEIGHTS}; config.json: {arch}); transformers 5 "
            "reads PyTorch weights only, so modelqa cannot load this folder",
            "convert it once where TensorFlow can be installed: pip install \"transformers<5\" tensorflow tf-keras "
            "&& python -c \"from transformers import AutoModelForSequenceClassification as M, AutoTokenizer as T; "
            f"M.from_pretrained('{folder}', from_tf=True).save_pretrained('{dest}'); "
            f"T.from_pretrained('{folder}').save_pretrained('{dest}')\", then use {dest}")


def _read_meta(folder: Path) -> dict:
    meta_file = folder / MODELQA_META
    if meta_file.is_file():
        try:
            return json.loads(meta_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelError(f"{meta_file} is not valid JSON: {exc}") from exc
    return {}


def resolve_labels(id2label: dict, num_labels: int, *, labels: list[str] | None = None,
                   label_map: str | Path | dict | None = None, source: str = "the model") -> list[str]:
    """Class names in model order: explicit ``labels`` / ``label_map`` win, then real names in
    id2label; default names (LABEL_0, …) are kept only when nothing better is given."""
    if labels is not None and label_map is not None:
        raise UsageError("give `labels` or `label_map`, not both")
    if label_map is not None:
        labels = _labels_from_map(label_map, num_labels)
    if labels is not None:
        from modelqa.adapters.feature_model import checked_labels

        return checked_labels(labels, num_labels, where=source)
    names = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(num_labels)]
    return names


def has_real_names(names: list[str]) -> bool:
    return not all(_DEFAULT_NAME.match(n) and int(_DEFAULT_NAME.match(n).group(1)) == i
                   for i, n in enumerate(names))


def _labels_from_map(label_map: str | Path | dict, num_labels: int) -> list[str]:
    if isinstance(label_map, dict):
        data = label_map
    else:
        text = str(label_map)
        try:
            data = json.loads(Path(text).read_text(encoding="utf-8")) if Path(text).is_file() else json.loads(text)
        except (json.JSONDecodeError, OSError) as exc:
            raise UsageError(f"`label_map` {text!r} is neither a JSON file nor JSON text: {exc}") from exc
    if isinstance(data, list):
        return [str(x) for x in data]
    if not isinstance(data, dict):
        raise UsageError("`label_map` must be a JSON object {\"0\": \"name\", …} or {\"name\": 0, …}, or a list")
    # Accept both id -> name and name -> id.
    if all(str(k).lstrip("-").isdigit() for k in data):
        mapping = {int(k): str(v) for k, v in data.items()}
    elif all(isinstance(v, int) or str(v).isdigit() for v in data.values()):
        mapping = {int(v): str(k) for k, v in data.items()}
    else:
        raise UsageError("`label_map` must map ids to names or names to ids")
    missing = [i for i in range(num_labels) if i not in mapping]
    if missing:
        raise UsageError(f"`label_map` has no name for class id(s) {', '.join(map(str, missing))}")
    return [mapping[i] for i in range(num_labels)]


def load_hf_classifier(path: str | Path, *, device: str = "auto", labels: list[str] | None = None,
                       label_map: str | Path | dict | None = None, allow_pickle: bool = False,
                       lean: bool = False) -> HFClassifier:
    """Load a sequence-classification folder for inference, offline, in eval mode.

    ``lean=True`` (the float32 CPU inference path of ``predict`` / ``evaluate``): a BERT classifier
    with a ``tokenizer.json`` that adapters.lean_bert / lean_tokenizer compute exactly is loaded
    without importing transformers; any other folder, or a GPU, is loaded by transformers."""
    folder = check_model_folder(path, allow_pickle=allow_pickle)
    meta = _read_meta(folder)
    loaded = _load_lean(folder, device) if lean else None
    if loaded is None:
        loaded = _load_transformers(folder, device)
    model, tokenizer, dev = loaded
    id2label = model.config.id2label or {}
    if labels is None and label_map is None and meta.get("id2label") and not has_real_names(
            [str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels)]):
        label_map = meta["id2label"]
    names = resolve_labels(id2label, model.config.num_labels, labels=labels, label_map=label_map,
                           source=f"the model in {folder}")
    return HFClassifier(path=folder, model=model, tokenizer=tokenizer, labels=names,
                        max_length=model_max_length(model, tokenizer, meta), device=dev, meta=meta)


def lean_loadable(path: str | Path, device: str = "auto") -> bool:
    """Whether ``load_hf_classifier(path, device=device, lean=True)`` would load ``path`` without
    transformers (from its files alone: a folder whose weights then turn out not to be exactly BERT's
    is still loaded by transformers)."""
    from modelqa.adapters.lean_bert import lean_problem
    from modelqa.adapters.lean_tokenizer import lean_tokenizer_problem

    folder = Path(path)
    return not os.environ.get(TRANSFORMERS_ONLY) and folder.is_dir() and resolve_device(device) == "cpu" \
        and lean_problem(folder) is None and lean_tokenizer_problem(folder) is None


def _load_lean(folder: Path, device: str):
    """``(model, tokenizer, "cpu")`` from adapters.lean_bert / lean_tokenizer, or None when the folder
    (or the device) is not theirs."""
    from modelqa.adapters.lean_bert import build_model
    from modelqa.adapters.lean_tokenizer import LeanTokenizer

    if not lean_loadable(folder, device):
        return None
    model = build_model(folder)
    if model is None:
        return None
    try:
        tokenizer = LeanTokenizer(folder)
    except Exception:  # noqa: BLE001  (a file the Rust tokenizer rejects: transformers says why)
        return None
    return model, tokenizer, "cpu"


def _load_transformers(folder: Path, device: str):
    import torch  # noqa: F401  (framework import stays inside the adapter)
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {folder / 'config.json'}: {exc}") from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{folder} has no usable tokenizer ({exc.__class__.__name__}: {exc})",
                         hint="save it beside the model with tokenizer.save_pretrained(folder)") from exc
    from safetensors import SafetensorError

    use_safe = any((folder / n).is_file() for n in SAFE_WEIGHTS)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            folder, local_files_only=True, use_safetensors=use_safe)
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:  # SafetensorError: a damaged file
        raise ModelError(f"cannot load the model in {folder}: {exc}") from exc
    dev = resolve_device(device)
    model.to(dev).eval()
    return model, tokenizer, dev


def model_max_length(model, tokenizer, meta: dict | None = None) -> int:
    """The longest input the model takes: modelqa.json's trained max_length, else the
    smaller of the tokenizer's and the position embeddings' limits."""
    if meta and meta.get("max_length"):
        return int(meta["max_length"])
    limits = [getattr(model.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    limits = [int(x) for x in limits if x and x < 1_000_000]
    return min(limits) if limits else 512
