"""``modelqa export``: a model folder into a folder ready for the Hugging Face Hub.

Written: the safetensors weights (checked to be safetensors), the tokenizer files,
``config.json`` with the real ``id2label`` / ``label2id``, ``history.json``, a
``modelqa.json`` without local paths or the command line, and ``README.md``, the model card
(report/model_card.py) built from the model's modelqa.json, an evaluation run folder
(``--eval``, default ``MODEL_DIR/evaluation``), the learning-curve diagnosis and a
``modelqa check`` run folder (``--check``). Only files on an allow-list are copied, so no
pickle file (``*.bin``, ``*.pt``, ``*.pkl``, …) is ever written. Nothing is uploaded: the
``hf upload`` command that would publish the folder is returned (and printed by the CLI).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from modelqa.errors import DataError, ModelError, UsageError

#: tokenizer files copied when present (all JSON, text or SentencePiece protobuf: none is a pickle)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "spiece.model",
                   "tokenizer.model")
#: other files of a model folder kept as they are
EXTRA_FILES = ("history.json", "generation_config.json")
#: suffixes of pickle-based formats: never copied, and refused in the output folder
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".h5", ".joblib", ".npy", ".npz")
#: known bundled bases: what modelqa.json says -> (Hub id, license)
KNOWN_BASES = (("multilingual-e5", "intfloat/multilingual-e5-small", "mit"),
               ("minilm", "sentence-transformers/all-MiniLM-L6-v2", "apache-2.0"))
#: a script is named in ``language`` when at least this share of the letters is in it
LANGUAGE_SHARE = 0.1


@dataclass
class ExportResult:
    out: Path
    files: list[str]
    card: Path
    upload_command: str
    language: list[str]
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc})") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path}: the {what} must be a JSON object")
    return data


def check_safetensors(path: Path) -> None:
    """ModelError unless ``path`` starts like a safetensors file (8-byte header size, JSON header)."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
            size = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
            ok = 0 < size <= min(path.stat().st_size - 8, 100_000_000)
            header = json.loads(f.read(size)) if ok else None
    except (OSError, ValueError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict):
        raise ModelError(f"{path} is not a safetensors file (its header does not read as one)")


def detect_languages(texts) -> list[str]:
    """ISO 639-1 codes from the scripts of the texts: ``ko`` for Hangul, ``en`` for Latin letters, each
    when it is at least LANGUAGE_SHARE of the letters (Hangul first). Latin letters are reported as
    English; pass ``language=`` for another Latin-script language."""
    hangul = latin = letters = 0
    for text in texts:
        for ch in str(text):
            if not ch.isalpha():
                continue
            letters += 1
            name = unicodedata.name(ch, "")
            hangul += name.startswith("HANGUL")
            latin += name.startswith("LATIN")
    if not letters:
        return []
    return [code for code, count in (("ko", hangul), ("en", latin)) if count / letters >= LANGUAGE_SHARE]


def _base_and_license(meta: dict) -> tuple[str | None, str | None]:
    title = str(meta.get("base_model") or "").lower()
    for key, hub_id, licence in KNOWN_BASES:
        if key in title:
            return hub_id, licence
    return None, None


def _weights(folder: Path) -> list[str]:
    index = folder / "model.safetensors.index.json"
    if (folder / "model.safetensors").is_file():
        return ["model.safetensors"]
    if index.is_file():
        shards = sorted(set((_read_json(index, "weights index").get("weight_map") or {}).values()))
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing or not shards:
            raise ModelError(f"{index} names weight shards that are missing: {', '.join(missing) or '(none)'}")
        return ["model.safetensors.index.json", *shards]
    raise ModelError(f"{folder} has no model.safetensors", hint="modelqa export writes safetensors only; "
                     "convert pickled weights first (see modelqa evaluate --allow-pickle)")


def _labels(config: dict, meta: dict, folder: Path) -> list[str]:
    from modelqa.adapters.hf import has_real_names, resolve_labels

    id2label = {int(k): v for k, v in (config.get("id2label") or {}).items()}
    k = int(config.get("num_labels") or len(id2label) or 0)
    if k < 1:  # transformers >= 5 leaves out default names: ask it for the number of labels
        from transformers import AutoConfig

        try:
            k = int(AutoConfig.from_pretrained(folder, local_files_only=True).num_labels)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read {folder / 'config.json'}: {exc}") from exc
    names = resolve_labels(id2label, k)
    if not has_real_names(names) and meta.get("id2label"):
        names = resolve_labels(id2label, k, label_map=meta["id2label"], source=f"the model in {folder}")
    return names


def _read_eval(run_dir: Path, labels: list[str]) -> tuple[dict, dict]:
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.is_file():
        raise DataError(f"{run_dir} is not a modelqa run folder (no metrics.json)",
                        hint="give --eval the --out folder of modelqa evaluate")
    metrics = _read_json(metrics_file, "metrics")
    if metrics.get("task") == "regression" or [str(x) for x in metrics.get("labels") or []] != labels:
        raise DataError(f"{metrics_file} evaluates the classes {metrics.get('labels')}, not this model's "
                        f"{labels}")
    run_file = run_dir / "run.json"
    return metrics, (_read_json(run_file, "run information") if run_file.is_file() else {})


def _read_checks(check_dir: Path) -> list[dict]:
    path = check_dir / "check.json" if check_dir.is_dir() else check_dir
    if not path.is_file():
        raise DataError(f"{check_dir}: no check.json (give the --out folder of modelqa check)")
    results = _read_json(path, "check results").get("results")
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise DataError(f"{path}: 'results' must be a list of objects (check, target, status, metric, value, "
                        "threshold)")
    return results


def _eval_texts(run_dir: Path | None) -> list[str]:
    path = run_dir / "predictions.csv" if run_dir is not None else None
    if path is None or not path.is_file():
        return []
    import pandas as pd

    try:
        frame = pd.read_csv(path, usecols=["text"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, OSError):
        return []
    return frame["text"].tolist()


def _dataset_name(run: dict, meta: dict) -> str | None:
    data = run.get("data")
    if not data:
        return None
    name = Path(str(data)).name
    files = meta.get("data_files") or {}
    if name == "test_split.csv" and files:  # the test split of modelqa train text
        source = files.get("test_data") or files.get("data")
        return f"{Path(source).name} (test split)" if not files.get("test_data") else Path(source).name
    return name


def _shareable_meta(meta: dict) -> dict:
    """modelqa.json without local paths or the command line (file names only)."""
    out = {k: v for k, v in meta.items() if k not in ("command",)}
    base = str(out.get("base_model") or "")
    if "/" in base or "\\" in base:  # a local folder (the bundled bases are named by a title)
        out["base_model"] = f"a local base model ({Path(base).name})"
    if isinstance(out.get("data_files"), dict):
        out["data_files"] = {k: Path(str(v)).name for k, v in out["data_files"].items()}
    return out


def export_model(model_dir: str | Path, *, out: str | Path, eval_dir: str | Path | None = None,
                 check_dir: str | Path | None = None, repo_id: str | None = None, license: str | None = None,
                 language: list[str] | None = None, force: bool = False) -> ExportResult:
    """Write the Hub-ready folder ``out`` from ``model_dir`` (see the module docstring)."""
    from modelqa import _atomic
    from modelqa.adapters.hf import check_model_folder
    from modelqa.report.model_card import CardInputs, render_model_card

    folder = check_model_folder(model_dir)
    out = Path(out)
    if out.resolve() == folder.resolve():
        raise UsageError(f"--out {out} is the model folder itself; give a new folder")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"--out {out} already has files", hint="give an empty or new folder, or --force to "
                                                                 "replace the files export writes")
    if out.is_dir():
        pickled = sorted(p.name for p in out.rglob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
        if pickled:
            raise UsageError(f"--out {out} holds pickle-format files ({', '.join(pickled[:5])}); they would be "
                             "uploaded with the folder", hint="remove them or give a new folder")
    config = _read_json(folder / "config.json", "model config")
    meta_file = folder / "modelqa.json"
    meta = _read_json(meta_file, "modelqa metadata") if meta_file.is_file() else {}
    labels = _labels(config, meta, folder)
    weights = _weights(folder)
    for name in weights:
        if name.endswith(".safetensors"):
            check_safetensors(folder / name)
    notes: list[str] = []
    if eval_dir is None and (folder / "evaluation" / "metrics.json").is_file():
        eval_dir = folder / "evaluation"
    metrics, run = _read_eval(Path(eval_dir), labels) if eval_dir is not None else (None, {})
    if eval_dir is None:
        notes.append("no evaluation run: the card has no metrics (give --eval RUN_DIR)")
    checks = _read_checks(Path(check_dir)) if check_dir is not None else None
    diagnosis = None
    if (folder / "history.json").is_file():
        from modelqa.analysis.curves import diagnose
        from modelqa.analysis.history import read_history

        try:
            diagnosis = [f.to_dict() for f in diagnose(read_history(folder / "history.json")).findings]
        except DataError as exc:
            notes.append(f"learning curves left out: {exc}")
    hub_base, base_licence = _base_and_license(meta)
    if language is None:
        texts = _eval_texts(Path(eval_dir) if eval_dir is not None else None)
        language = detect_languages(texts)
    licence = license or base_licence or "other"
    if license is None:
        notes.append(f"license: {licence} ({'the base model’s' if base_licence else 'unknown base'}); "
                     "set it with --license")
    repo = repo_id or f"YOUR_USERNAME/{out.resolve().name}"
    upload = f"hf upload {shlex.quote(repo)} {shlex.quote(str(out))} ."

    new_config = {**config, "id2label": {str(i): n for i, n in enumerate(labels)},
                  "label2id": {n: i for i, n in enumerate(labels)}}
    inputs = CardInputs(model_name=out.resolve().name, labels=labels, license=licence, language=list(language),
                        base_model=hub_base, base_model_title=_shareable_meta(meta).get("base_model"),
                        training=_shareable_meta(meta) if meta else None, metrics=metrics, run=run,
                        dataset_name=_dataset_name(run, meta), diagnosis=diagnosis, checks=checks,
                        check_source=Path(check_dir).name if check_dir is not None else None,
                        upload_command=f"hf upload {shlex.quote(repo)} {shlex.quote(out.resolve().name)} .")
    copies = [*weights, *(n for n in TOKENIZER_FILES + EXTRA_FILES if (folder / n).is_file())]
    skipped = sorted(p.name for p in folder.iterdir()
                     if p.name not in copies and p.name not in ("config.json", "modelqa.json", "README.md"))
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name in copies:
            shutil.copyfile(folder / name, stage / name)
        _atomic.write_json(stage / "config.json", new_config)
        if meta:
            _atomic.write_json(stage / "modelqa.json", _shareable_meta(meta))
        _atomic.write_text(stage / "README.md", render_model_card(inputs))
        written = sorted(p.name for p in stage.iterdir())
        out.mkdir(parents=True, exist_ok=True)
        for name in written:
            os.replace(stage / name, out / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return ExportResult(out=out, files=written, card=out / "README.md", upload_command=upload,
                        language=list(language), skipped=skipped, notes=notes)
