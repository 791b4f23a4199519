"""modelqa export"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o


def export_cmd(
    model_dir: Annotated[Path, typer.Argument(help="Model folder (modelqa train text, or any Hugging Face "
                                              "sequence-classification folder with model.safetensors).")],
    out: Annotated[Path, o.out_option("Folder to write, ready for the Hub (e.g. hub/my-model).")],
    eval_dir: Annotated[Path | None, typer.Option("--eval", help="Evaluation run folder whose metrics go into the "
                                                  "card (default: MODEL_DIR/evaluation when it exists).")] = None,
    check_dir: Annotated[Path | None, typer.Option("--check", help="modelqa check run folder (check.json) whose "
                                                   "results go into the card.")] = None,
    repo_id: Annotated[str | None, typer.Option("--repo-id", help="Hub repository for the printed upload command "
                                                "(default: YOUR_USERNAME/<out folder name>).")] = None,
    license_id: Annotated[str | None, typer.Option("--license", help="License id for the card (default: the bundled "
                                                   "base model's, else 'other').")] = None,
    language: Annotated[str | None, typer.Option("--language", help="Comma-separated language codes (default: from "
                                                 "the scripts of the evaluated texts).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a folder that already has files (replacing "
                                        "the ones export writes).")] = False,
) -> None:
    """Write a Hugging Face Hub folder: safetensors weights, tokenizer, config.json with real
    label names, and a README.md model card (metrics, per-class table, learning-curve
    diagnosis, QA checks, limitations). Nothing is uploaded: the hf upload command is printed.
    """
    from modelqa.api.export import export_model

    langs = o.split_labels(language)
    result = export_model(model_dir, out=out, eval_dir=eval_dir, check_dir=check_dir, repo_id=repo_id,
                          license=license_id, language=langs, force=force)
    typer.echo(f"wrote {result.out}: {', '.join(result.files)}")
    if result.skipped:
        typer.echo(f"left out: {', '.join(result.skipped)}")
    for note in result.notes:
        typer.echo(f"note: {note}")
    typer.echo("publish it with (needs `hf auth login`; nothing was uploaded):")
    typer.echo(f"  {result.upload_command}")
