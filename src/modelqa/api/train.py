"""``modelqa.train_text``: read, clean and split labelled texts, fine-tune, save the best
checkpoint, and evaluate the test split into ``<out>/evaluation/``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from modelqa._types import NullProgress, Progress
from modelqa.analysis.simple_baseline import rows_fingerprint
from modelqa.api._runinfo import command_line, now_iso, versions
from modelqa.api.evaluation import Evaluation
from modelqa.data.clean import drop_unusable
from modelqa.data.schema import encode_labels, infer_classes, require_columns
from modelqa.data.source import read_source, source_name, source_sha256
from modelqa.data.split import stratified_split
from modelqa.errors import DataError, UsageError
from modelqa.train.checkpoint import EpochCheckpointer
from modelqa.train.config import TextTrainConfig

CHECKPOINT_DIR = ".checkpoint"  # <out>/.checkpoint: per-epoch checkpoints while training runs


@dataclass
class TrainResult:
    model_dir: Path
    labels: list[str]
    history: list[dict]
    best_epoch: int
    stopped_early: bool
    max_length: int
    split_sizes: dict[str, int]
    cleaning: dict[str, int]
    length_stats: dict
    seconds: float
    evaluation: Evaluation | None = None
    notes: list[str] = field(default_factory=list)


def _read_labelled(path, *, text_col, label_col, encoding, sheet, role: str) -> tuple[pd.DataFrame, dict]:
    src = read_source(path, encoding=encoding, sheet=sheet, what=f"the {role} data")  # a file or a DataFrame
    df, path = src.frame, src.name
    require_columns(df, {"text": text_col, "label": label_col}, path=path)
    cleaned = drop_unusable(df, text_col, label_col)
    if len(cleaned.df) == 0:
        raise DataError(f"{path}: no usable rows left in the {role} data after dropping rows with missing "
                        f"text or label ({cleaned.n_missing}) and duplicate texts ({cleaned.n_duplicates})")
    return cleaned.df, {"missing": cleaned.n_missing, "duplicates": cleaned.n_duplicates}


def train_text(*, data: str | Path | pd.DataFrame, out: str | Path, text_col: str = "text", label_col: str = "label",
               val_data: str | Path | pd.DataFrame | None = None, test_data: str | Path | pd.DataFrame | None = None,
               base_model: str | Path | None = None, encoding: str | None = None, sheet: str | int | None = None,
               config: TextTrainConfig | None = None, evaluate_test: bool = True, simple_baseline: bool = True,
               progress: Progress | None = None, command: str | None = None, **options) -> TrainResult:
    """Fine-tune a text classifier. ``options`` are TextTrainConfig fields (epochs, lr, batch_size,
    max_length, warmup_ratio, weight_decay, monitor, patience, min_delta, class_weight, seed, device,
    resume). Every epoch is checkpointed into ``<out>/.checkpoint``; ``resume=True`` continues from
    it; the folder is removed when the run completes."""
    from modelqa.api.evaluate import evaluate
    from modelqa.train.text import fit_text_classifier, save_text_classifier

    t0 = time.perf_counter()
    progress = progress or NullProgress()
    config = config or TextTrainConfig()
    for key, value in options.items():
        if not hasattr(config, key):
            raise UsageError(f"train_text() got an unknown option {key!r}")
        setattr(config, key, value)
    if val_data is not None and test_data is None:
        raise UsageError("--val-data needs --test-data too (otherwise --data is split 60/20/20)")
    if config.epochs < 1 or config.batch_size < 1 or config.lr <= 0:
        raise UsageError("--epochs and --batch-size must be at least 1 and --lr above 0")

    main_df, cleaning = _read_labelled(data, text_col=text_col, label_col=label_col, encoding=encoding,
                                       sheet=sheet, role="training")
    progress.log(f"{source_name(data)}: {len(main_df)} usable rows (dropped {cleaning['missing']} with missing text or "
                 f"label, {cleaning['duplicates']} duplicate texts)")
    frames = {"data": main_df}
    for role, path in (("validation", val_data), ("test", test_data)):
        if path is not None:
            frames[role], _ = _read_labelled(path, text_col=text_col, label_col=label_col, encoding=encoding,
                                             sheet=sheet, role=role)
    where = source_name(data)
    classes = infer_classes(main_df[label_col], path=where, column=label_col)
    if len(classes) < 2:
        raise DataError(f"{where}: column {label_col!r} has a single class ({classes[0]!r}); "
                        "a classifier needs at least two")
    label2id = {c: i for i, c in enumerate(classes)}
    y_all = encode_labels(main_df[label_col], label2id=label2id, path=where, column=label_col)
    if test_data is None:
        parts = stratified_split(y_all, (0.6, 0.2, 0.2), seed=config.seed)
        train_df, val_df, test_df = (main_df.iloc[p] for p in parts)
        split_rule = "60/20/20 stratified split of --data"
    elif val_data is None:
        parts = stratified_split(y_all, (0.8, 0.2), seed=config.seed)
        train_df, val_df = (main_df.iloc[p] for p in parts)
        test_df = frames["test"]
        split_rule = "80/20 stratified split of --data; --test-data for the test"
    else:
        train_df, val_df, test_df = main_df, frames["validation"], frames["test"]
        split_rule = "all of --data trains; --val-data validates; --test-data tests"
    val_path = source_name(val_data) if val_data is not None else where
    y_train = encode_labels(train_df[label_col], label2id=label2id, path=where, column=label_col)
    y_val = encode_labels(val_df[label_col], label2id=label2id, path=val_path, column=label_col)
    sizes = {"train": len(train_df), "validation": len(val_df), "test": len(test_df)}
    progress.log(f"{len(classes)} classes; {split_rule}: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))

    out = Path(out)
    from modelqa.adapters.bases import resolve_base  # the base: --base-model, or chosen from the texts

    base = resolve_base(base_model, [str(t) for t in train_df[text_col]], config=config)
    progress.log(base.reason)
    fit = fit_text_classifier(base_model=str(base.path),
                              train_texts=[str(t) for t in train_df[text_col]], train_y=y_train,
                              val_texts=[str(t) for t in val_df[text_col]], val_y=y_val, labels=classes,
                              config=config, progress=progress, checkpoint_dir=out / CHECKPOINT_DIR)
    hashes = {"data": source_sha256(data)}
    if val_data is not None:
        hashes["val_data"] = source_sha256(val_data)
    if test_data is not None:
        hashes["test_data"] = source_sha256(test_data)
    train_rows_sha256 = rows_fingerprint([str(t) for t in train_df[text_col]], y_train)  # simple baseline
    meta = {
        "schema_version": 1, "task": "binary" if len(classes) == 2 else "multiclass",
        "labels": classes, "id2label": {str(i): c for i, c in enumerate(classes)}, "label2id": label2id,
        "max_length": fit.max_length, "text_col": text_col, "label_col": label_col,
        "base_model": base.title, "base_choice": base.choice.to_dict() if base.choice else None,
        "training_args": config.to_dict(), "data_files": {k: source_name(v) for k, v in
                                                           (("data", data), ("val_data", val_data),
                                                            ("test_data", test_data)) if v is not None},
        "data_sha256": hashes, "split": {"rule": split_rule, "seed": config.seed, **sizes,
                                         "train_sha256": train_rows_sha256},
        "read_options": {"encoding": encoding, "sheet": sheet},
        "cleaning": cleaning, "token_lengths": fit.length_stats, "best_epoch": fit.best_epoch,
        "stopped_early": fit.stopped_early, "train_seconds": round(fit.seconds, 2),
        "device": fit.device, "created": now_iso(), "command": command_line(command), "versions": versions(),
    }
    save_text_classifier(out, fit, meta)
    result = TrainResult(model_dir=out, labels=classes, history=fit.history, best_epoch=fit.best_epoch,
                         stopped_early=fit.stopped_early, max_length=fit.max_length, split_sizes=sizes,
                         cleaning=cleaning, length_stats=fit.length_stats, seconds=fit.seconds,
                         notes=[base.reason, *fit.notes])
    if evaluate_test and len(test_df):
        from modelqa.adapters.hf import HFClassifier

        test_file = out / "evaluation" / "test_split.csv"
        test_file.parent.mkdir(parents=True, exist_ok=True)
        test_df[[text_col, label_col]].to_csv(test_file, index=False, encoding="utf-8")
        fit.model.eval()
        loaded = HFClassifier(path=out, model=fit.model, tokenizer=fit.tokenizer, labels=classes,
                              max_length=fit.max_length, device=fit.device, meta=meta)
        result.evaluation = evaluate(loaded_model=loaded, data=test_file, text_col=text_col, label_col=label_col,
                                     out=out / "evaluation", progress=progress, command=command,
                                     simple_baseline=simple_baseline)
    # the run is complete (model saved, test evaluated): the per-epoch checkpoint is not needed
    EpochCheckpointer(out / CHECKPOINT_DIR).clear()
    result.seconds = time.perf_counter() - t0
    return result

