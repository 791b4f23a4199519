"""The ``modelqa`` command. Command bodies live one per module and call the API; typed
errors are turned into messages and exit codes here, once. Set MODELQA_DEBUG=1 for tracebacks."""

from __future__ import annotations

import os
import sys

import typer

from modelqa.errors import ModelQAError

app = typer.Typer(
    name="modelqa",
    help="Train, evaluate and explain text classifiers: metrics checked against scikit-learn, "
         "error cases, and a self-contained HTML report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
train_app = typer.Typer(help="Fine-tune a model (text: a BERT-style sequence classifier).", no_args_is_help=True)
app.add_typer(train_app, name="train")


def _register() -> None:
    from modelqa.cli import demo, evaluate, predict, train

    app.command("evaluate")(evaluate.evaluate_cmd)
    app.command("predict")(predict.predict_cmd)
    app.command("demo")(demo.demo_cmd)
    train_app.command("text")(train.train_text_cmd)


_register()

EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


def debug_enabled() -> bool:
    return os.environ.get("MODELQA_DEBUG", "").strip() not in ("", "0", "false", "no")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this; ``run`` exits with it)."""
    import click

    try:
        app(args=argv, prog_name="modelqa", standalone_mode=False)
        return 0
    except ModelQAError as exc:
        if debug_enabled():
            raise
        _err(f"error: {exc}")
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        _err("aborted")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        _err("interrupted: finished files are complete, nothing half-written was kept")
        return EXIT_INTERRUPTED
    except OSError as exc:
        if debug_enabled():
            raise
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        _err(f"error: {exc.strerror or exc}{where}")
        return 5
    except Exception as exc:  # a bug: say so briefly, keep the traceback for MODELQA_DEBUG=1
        if debug_enabled():
            raise
        _err(f"internal error: {exc.__class__.__name__}: {exc}\n"
             "This is a bug in modelqa. Run again with MODELQA_DEBUG=1 to see the traceback.")
        return EXIT_INTERNAL


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def run() -> None:
    sys.exit(main())
