"""modelqa evaluate"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import model_options as mo
from modelqa.cli import options as o

Actions = Annotated[Path | None, typer.Option(
    "--actions", help="YAML rules mapping a predicted label (and optionally a confidence range) to a "
                      "business action; adds an 'action' column and counts per action (docs/actions.md).")]

CompareFp32 = Annotated[bool, typer.Option(
    "--compare-fp32", help="With --quantize int8, --backend onnx or --precision bf16/fp16: also predict the rows "
                           "with the plain fp32 torch model and report what the lever costs (agreement, paired "
                           "accuracy / macro-F1 differences with intervals, McNemar p) in metrics.json "
                           "compare_fp32 and the report.")]


def default_run_dir() -> Path:
    return Path("runs") / datetime.now().strftime("evaluate-%Y%m%d-%H%M%S")


def evaluate_cmd(
    model: Annotated[Path | None, typer.Option("--model", help=mo.MODEL_HELP)] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Labelled data to predict and score "
                                              "(.csv, .tsv, .parquet, .jsonl, .xlsx).")] = None,
    predictions: Annotated[Path | None, typer.Option(
        "--predictions", help="A file of predictions instead of a model: --label-col plus --pred-col or one "
                              "prob_<label> column per class.")] = None,
    text_col: o.TextCol = "text",
    label_col: o.LabelCol = "label",
    id_col: o.IdCol = None,
    pred_col: Annotated[str | None, typer.Option(
        "--pred-col", help="Prediction column of a --predictions file (default: predicted_label; "
                           "prediction with --task regression).")] = None,
    task: Annotated[str | None, typer.Option(
        "--task", help="classification (default), binary, multiclass or regression (a --predictions file "
                       "with numeric --label-col and --pred-col).")] = None,
    threshold: Annotated[float | None, typer.Option(
        "--threshold", help="Binary runs with probabilities: predict the positive class iff its "
                            "probability >= this.")] = None,
    min_recall: Annotated[float | None, typer.Option(
        "--min-recall", help="Binary: recall the 'min_recall' threshold must reach (default 0.8).")] = None,
    cost: Annotated[str | None, typer.Option(
        "--cost", help="Binary: cost matrix for the 'min_cost' threshold, e.g. fp=1,fn=5 (default fp=1,fn=1).")]
    = None,
    scores: Annotated[str, typer.Option("--scores", help="What the prob_<label> columns of --predictions, or the "
                                        "outputs of a Keras / skops / ONNX --model, hold: 'probs' or 'logits' "
                                        "(softmax is applied).")] = "probs",
    normalize_probs: Annotated[bool, typer.Option("--normalize-probs", help="Rescale prob_ rows that do not "
                                                  "sum to 1 instead of stopping.")] = False,
    pos_label: Annotated[str | None, typer.Option("--pos-label", help="Positive class for binary metrics "
                                                  "(default: the second label).")] = None,
    actions: Actions = None,
    labels: o.Labels = None,
    label_map: o.LabelMap = None,
    on_empty: o.OnEmpty = "error",
    encoding: o.Encoding = None,
    sheet: o.Sheet = None,
    batch_size: o.BatchSize = 64,
    max_tokens: o.MaxTokens = None,
    max_length: o.MaxLength = None,
    device: o.Device = "auto",
    allow_pickle: o.AllowPickle = False,
    out: Annotated[Path | None, o.out_option("Run folder to write (default: runs/evaluate-DATE-TIME).")] = None,
    memory_budget: Annotated[str | None, typer.Option(
        "--memory-budget", help="Memory for a --predictions file, e.g. 1GB (default) or 512MB: a larger Parquet / "
                                "CSV / TSV file is streamed in chunks (predictions.csv then holds a sample of rows, "
                                "errors.csv the 10,000 most confident errors), and exact AUC / AP are used while "
                                "rows x classes x 8 bytes fit in it (else binned, with the error bound).")] = None,
    precision: o.Precision = "fp32",
    quantize: o.Quantize = "none",
    compare_fp32: CompareFp32 = False,
    backend: o.Backend = "torch",
    engine: o.Engine = "local",
    ray_actors: o.RayActors = None,
    chunk_rows: o.ChunkRows = None,
    restart: o.Restart = False,
    output_format: o.Format = "table",
    quiet: o.Quiet = False,
    simple_baseline: o.SimpleBaseline = True,
    feature_cols: mo.FeatureCols = None,
    drop_col: mo.DropCol = None,
    history: mo.History = None,
    allow_unsafe: mo.AllowUnsafe = False,
    trust: mo.Trust = None,
) -> None:
    """Evaluate a model on labelled data, or a file of predictions.

    Writes predictions.csv, metrics.json, errors.csv, confusions.csv, distribution.csv,
    run.json and report.html into --out, and prints a summary. A regression run writes no
    confusions.csv or distribution.csv; its errors.csv holds the largest residuals.
    With --actions, predictions.csv and errors.csv get an 'action' column and metrics.json
    counts (and accuracy) per action.

    With a model, finished chunks of predictions are kept in OUT/.partial until the run
    folder is written: the same command after a crash or a kill resumes from the last
    complete chunk (a changed model, data file or setting is refused; --restart starts over).
    """
    from modelqa.api.evaluate import evaluate
    from modelqa.report.console import make_progress, print_json, print_summary

    o.check_choice(on_empty, "--on-empty", ("error", "skip"))
    o.check_choice(output_format, "--format", ("table", "json"))
    run_dir = out or default_run_dir()
    progress = make_progress(quiet or output_format == "json")
    ev = evaluate(model=model, data=data, predictions=predictions, text_col=text_col, label_col=label_col,
                  id_col=id_col, pred_col=pred_col, labels=o.split_labels(labels), label_map=label_map,
                  scores=scores, normalize_probs=normalize_probs, pos_label=pos_label, on_empty=on_empty,
                  encoding=encoding, sheet=_sheet(sheet), batch_size=batch_size, max_length=max_length,
                  device=device, allow_pickle=allow_pickle, out=run_dir, progress=progress,
                  command=o.command_line(), task=task, threshold=threshold, min_recall=min_recall, cost=cost,
                  actions=actions, memory_budget=memory_budget, chunk_rows=chunk_rows, restart=restart,
                  precision=precision, engine=engine, ray_actors=ray_actors, backend=backend,
                  max_tokens=max_tokens, simple_baseline=simple_baseline, quantize=quantize,
                  compare_fp32=compare_fp32, feature_cols=mo.split_columns(feature_cols), drop_col=drop_col,
                  history=history, allow_unsafe=allow_unsafe, trust=trust)
    if output_format == "json":
        print_json(ev.result)
        return
    print_summary(ev.result, distribution=ev.distribution, paths={k: str(v) for k, v in ev.paths.items()},
                  extra=_extra(ev.run_info, ev.result))


_sheet = o.sheet_value  # the former name; other commands use o.sheet_value


def _extra(info: dict, result: dict | None = None) -> dict[str, str]:
    extra = {}
    if result and result.get("actions"):
        from modelqa.analysis.rules import summary_line

        extra["Actions"] = summary_line(result["actions"])
    if info.get("skipped_empty_rows"):
        extra["Skipped"] = f"{info['skipped_empty_rows']} rows with empty text (--on-empty skip)"
    if info.get("truncated"):
        extra["Truncated"] = f"{info['truncated']} texts longer than {info['max_length']} tokens"
    if info.get("normalized_rows"):
        extra["Normalised"] = f"{info['normalized_rows']} probability rows rescaled to sum to 1"
    streamed = info.get("streaming")
    if streamed:
        extra["Streamed"] = (f"{streamed['rows']:,} rows in chunks (over --memory-budget); predictions.csv is "
                             f"a sample, errors.csv the most confident errors; AUC / AP {streamed['auc_method']}")
    if result and result.get("compare_fp32"):
        extra["Lever"] = result["compare_fp32"]["summary"]
    timing = info.get("timing", {})
    if timing.get("rows_per_s"):
        extra["Speed"] = f"{timing['rows_per_s']:.0f} rows/s on {info.get('device', 'cpu')}"
    return extra
