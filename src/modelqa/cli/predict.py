"""modelqa predict"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import model_options as mo
from modelqa.cli import options as o
from modelqa.cli.evaluate import Actions, _sheet


def predict_cmd(
    model: Annotated[Path, typer.Option("--model", help=mo.MODEL_HELP)],
    data: Annotated[Path, typer.Option("--data", help="Texts to classify (.csv, .tsv, .parquet, .jsonl, .xlsx).")],
    out: Annotated[Path, o.out_option("Predictions file to write: .csv, .parquet or .xlsx.")],
    text_col: o.TextCol = "text",
    id_col: o.IdCol = None,
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
    actions: Actions = None,
    quantize: o.Quantize = "none",
    precision: o.Precision = "fp32",
    backend: o.Backend = "torch",
    engine: o.Engine = "local",
    ray_actors: o.RayActors = None,
    chunk_rows: o.ChunkRows = None,
    restart: o.Restart = False,
    quiet: o.Quiet = False,
    feature_cols: mo.FeatureCols = None,
    drop_col: mo.DropCol = None,
    scores: mo.Scores = "probs",
    allow_unsafe: mo.AllowUnsafe = False,
    trust: mo.Trust = None,
) -> None:
    """Predict labels for unlabelled texts (or table rows, with a tabular, Keras, skops or ONNX model).

    Writes the id column, text, predicted_label, confidence and prob_<label> per class
    (a regression model: prediction; with --actions, an 'action' column after confidence).

    Finished chunks are kept in .OUT.partial next to --out until the file is written: the
    same command after a crash or a kill resumes from the last complete chunk (a changed
    model, data file or setting is refused; --restart starts over).
    """
    from modelqa.api.predict import predict
    from modelqa.engine import lean_imports
    from modelqa.report.console import make_progress

    lean_imports.enable()  # a predict process never needs transformers' scipy / jinja2 imports
    o.check_choice(on_empty, "--on-empty", ("error", "skip"))
    o.check_choice(quantize, "--quantize", ("none", "int8"))
    progress = make_progress(quiet)
    frame = predict(model=model, data=data, out=out, text_col=text_col, id_col=id_col,
                    labels=o.split_labels(labels), label_map=label_map, on_empty=on_empty, encoding=encoding,
                    sheet=_sheet(sheet), batch_size=batch_size, max_length=max_length, device=device,
                    allow_pickle=allow_pickle, progress=progress, actions=actions, quantize=quantize,
                    chunk_rows=chunk_rows, restart=restart, precision=precision, engine=engine,
                    ray_actors=ray_actors, backend=backend,
                    max_tokens=max_tokens, feature_cols=mo.split_columns(feature_cols), drop_col=drop_col,
                    scores=scores, allow_unsafe=allow_unsafe, trust=trust)
    if not quiet:
        if "predicted_label" in frame.columns:
            counts = frame["predicted_label"].value_counts()
            shown = ", ".join(f"{k} {v} ({v / len(frame):.0%})" for k, v in counts.items())
        else:
            shown = f"mean prediction {frame['prediction'].mean():.4g}"
        progress.log(f"{len(frame)} rows predicted in {frame.attrs['seconds']:.1f}s: {shown}")
        if frame.attrs.get("actions"):
            from modelqa.analysis.rules import summary_line

            progress.log(f"actions: {summary_line(frame.attrs['actions'])}")
        if frame.attrs["skipped_rows"]:
            progress.log(f"skipped {len(frame.attrs['skipped_rows'])} rows with empty text")
        progress.log(f"wrote {out}")
