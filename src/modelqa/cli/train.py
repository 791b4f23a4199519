"""modelqa train text"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o
from modelqa.train.config import TextTrainConfig

D = TextTrainConfig()


def train_text_cmd(
    data: o.Data,
    out: Annotated[Path, o.out_option("Folder for the fine-tuned model, history and evaluation.")],
    text_col: o.TextCol = "text",
    label_col: o.LabelCol = "label",
    val_data: o.ValData = None,
    test_data: o.TestData = None,
    base_model: Annotated[Path | None, typer.Option("--base-model", help="Base encoder folder (default: chosen "
                                                    "from the training texts: multilingual-e5-small when "
                                                    "Hangul is at least 5% of the letters, else the bundled "
                                                    "MiniLM; docs/korean.md).")] = None,
    freeze_embeddings: Annotated[bool | None, typer.Option("--freeze-embeddings/--train-embeddings",
                                                           help="Keep the word embeddings fixed (default: "
                                                           "the base's own; frozen for multilingual-e5).")]
    = None,
    epochs: o.Epochs = D.epochs,
    lr: Annotated[float, o.lr_option("Peak learning rate of AdamW.")] = D.lr,
    batch_size: o.TrainBatchSize = D.batch_size,
    max_length: Annotated[str, typer.Option("--max-length", help="Token limit, or 'auto': the 99th percentile "
                                            "of training lengths rounded up to 8.")] = "auto",
    warmup_ratio: Annotated[float, typer.Option("--warmup-ratio", help="Share of steps for linear warm-up.")]
    = D.warmup_ratio,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="AdamW weight decay.")] = D.weight_decay,
    monitor: Annotated[str, o.monitor_option("Early stopping on val_loss, val_accuracy or val_f1_macro.")]
    = D.monitor,
    patience: o.Patience = D.patience,
    min_delta: o.MinDelta = D.min_delta,
    class_weight: o.ClassWeight = "none",
    seed: o.TrainSeed = D.seed,
    device: o.Device = "auto",
    encoding: o.Encoding = None,
    sheet: o.Sheet = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from --out/.checkpoint "
                                         "(same data and options; the history equals an uninterrupted run's).")]
    = False,
    quiet: o.Quiet = False,
    simple_baseline: o.SimpleBaseline = True,
) -> None:
    """Fine-tune a text classifier, keep the best epoch, and evaluate the test split.

    Saves model.safetensors, the tokenizer, modelqa.json and history.json into --out, and
    the test evaluation into --out/evaluation/.
    """
    from modelqa.api.train import train_text
    from modelqa.errors import UsageError
    from modelqa.report.console import make_progress

    o.check_choice(monitor, "--monitor", ("val_loss", "val_accuracy", "val_f1_macro"))
    o.check_choice(class_weight, "--class-weight", ("none", "balanced"))
    if max_length != "auto" and not max_length.isdigit():
        raise UsageError(f"--max-length must be 'auto' or a number of tokens, not {max_length!r}")
    progress = make_progress(quiet)
    result = train_text(data=data, out=out, text_col=text_col, label_col=label_col, val_data=val_data,
                        test_data=test_data, base_model=base_model, encoding=encoding, sheet=o.sheet_value(sheet),
                        progress=progress, epochs=epochs, lr=lr, batch_size=batch_size,
                        max_length=max_length if max_length == "auto" else int(max_length),
                        warmup_ratio=warmup_ratio, weight_decay=weight_decay, monitor=monitor, patience=patience,
                        min_delta=min_delta, class_weight=None if class_weight == "none" else class_weight,
                        seed=seed, device=device, resume=resume, freeze_embeddings=freeze_embeddings,
                        simple_baseline=simple_baseline,
                        command=o.command_line())
    print_training(result)


def print_training(result) -> None:
    from modelqa.analysis.curves import diagnose_records
    from modelqa.report.console import print_summary
    from modelqa.report.training import print_training_summary

    diagnosis = diagnose_records(result.history).messages(exclude=("best_epoch",)) if result.history else []
    print_training_summary(model_dir=str(result.model_dir), labels=result.labels, split_sizes=result.split_sizes,
                           cleaning=result.cleaning, length_stats=result.length_stats, history=result.history,
                           best_epoch=result.best_epoch, notes=result.notes, seconds=result.seconds,
                           diagnosis=diagnosis)
    ev = result.evaluation
    if ev is not None:
        print_summary(ev.result, distribution=ev.distribution, paths={k: str(v) for k, v in ev.paths.items()})
