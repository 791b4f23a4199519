"""The ``modelqa`` command. Command bodies live one per module and call the API; typed
errors are turned into messages and exit codes here, once. Set MODELQA_DEBUG=1 for tracebacks."""

from __future__ import annotations

import os
import sys

import typer

from modelqa.errors import ModelQAError

app = typer.Typer(
    name="modelqa",
    help="Train, evaluate and explain classifiers and regressors (text and tables): metrics checked "
         "against scikit-learn, error cases, thresholds, learning curves and a self-contained HTML report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
train_app = typer.Typer(help="Fine-tune a model: text (a BERT-style sequence classifier) or tabular (an MLP).",
                        no_args_is_help=True)
app.add_typer(train_app, name="train")
sweep_app = typer.Typer(help="Hyper-parameter sweeps: one training run per configuration, ranked.",
                        no_args_is_help=True)
app.add_typer(sweep_app, name="sweep")


def _register() -> None:
    from modelqa.cli import (
        check,
        curves,
        demo,
        evaluate,
        predict,
        profile,
        report,
        sweep,
        thresholds,
        train,
        train_tabular,
    )

    app.command("evaluate")(evaluate.evaluate_cmd)
    app.command("check")(check.check_cmd)
    app.command("predict")(predict.predict_cmd)
    app.command("thresholds")(thresholds.thresholds_cmd)
    app.command("curves")(curves.curves_cmd)
    app.command("report")(report.report_cmd)
    app.command("profile")(profile.profile_cmd)
    app.command("demo")(demo.demo_cmd)
    app.command("perturb")(__import__("modelqa.cli.perturb", fromlist=["perturb_cmd"]).perturb_cmd)
    app.command("compare")(__import__("modelqa.cli.compare", fromlist=["compare_cmd"]).compare_cmd)
    app.command("export")(__import__("modelqa.cli.export", fromlist=["export_cmd"]).export_cmd)
    app.command("inspect")(__import__("modelqa.cli.inspect", fromlist=["inspect_cmd"]).inspect_cmd)
    train_app.command("text")(train.train_text_cmd)
    train_app.command("tabular")(train_tabular.train_tabular_cmd)
    sweep_app.command("text")(sweep.sweep_text_cmd)
    sweep_app.command("tabular")(sweep.sweep_tabular_cmd)


_register()

EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


def debug_enabled() -> bool:
    return os.environ.get("MODELQA_DEBUG", "").strip() not in ("", "0", "false", "no")


def _click_exceptions() -> tuple[tuple, tuple, tuple]:
    """(Exit, ClickException, Abort) classes of click and of typer: typer >= 0.20 vendors
    click as ``typer._click`` and raises its own classes, which click's do not catch."""
    import click

    exits, errors, aborts = [click.exceptions.Exit], [click.ClickException], [click.exceptions.Abort]
    exits.append(typer.Exit)
    aborts.append(getattr(typer, "Abort", click.exceptions.Abort))
    try:
        from typer._click import exceptions as vendored
    except ImportError:  # older typer raises click's own exceptions
        vendored = click.exceptions
    errors.append(vendored.ClickException)
    return tuple(exits), tuple(errors), tuple(aborts)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this; ``run`` exits with it)."""
    from modelqa.cli import options

    click_exit, click_error, click_abort = _click_exceptions()
    options.ARGV[:] = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    try:
        code = app(args=argv, prog_name="modelqa", standalone_mode=False)
        return code if isinstance(code, int) else 0  # click returns a command's typer.Exit code
    except ModelQAError as exc:
        if debug_enabled():
            raise
        from modelqa.cli.flags import to_flags

        _err(f"error: {to_flags(str(exc), app, options.ARGV)}")
        return exc.exit_code
    except click_exit as exc:
        return exc.exit_code
    except click_error as exc:
        exc.show()
        return exc.exit_code
    except click_abort:
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
