"""Messages below the API name parameters in backticks (`cost`); the CLI shows them as flags
(--cost), once, where it prints the error (cli/flags.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Annotated

import pandas as pd
import pytest
import typer
import typer.main

import modelqa
from modelqa.cli.flags import flag_mapper, running_command, shared_params, to_flags
from modelqa.cli.main import app, main
from modelqa.errors import DataError, UsageError

SRC = Path(__file__).resolve().parents[1] / "src" / "modelqa"


def _toy_app() -> typer.Typer:
    """Two commands under a sub-group, with options that agree and options that do not."""
    toy = typer.Typer()
    sub = typer.Typer()
    toy.add_typer(sub, name="train")

    @toy.command("score")
    def score(
        data: Annotated[Path, typer.Argument(help="A file.")],
        cost: Annotated[str, typer.Option("--cost", help="Costs.")] = "fp=1",
        allow_unsafe: Annotated[bool, typer.Option("--allow-unsafe", help="Unsafe.")] = False,
        simple_baseline: Annotated[bool, typer.Option("--simple-baseline/--no-simple-baseline")] = True,
        device: Annotated[str, typer.Option("--device", "-d")] = "auto",
        window: Annotated[str, typer.Option("--window")] = "1D",
    ) -> None:
        pass

    @sub.command("fit")
    def fit(
        out: Annotated[Path, typer.Option("--out")],
        drop_col: Annotated[list[str] | None, typer.Option("--drop-col")] = None,
        window: Annotated[int, typer.Option("--steps")] = 3,
        data: Annotated[Path | None, typer.Option("--data")] = None,
    ) -> None:
        pass

    return toy


@pytest.fixture(scope="module")
def toy_root():
    return typer.main.get_command(_toy_app())


def test_running_command_follows_argv_into_groups(toy_root):
    assert running_command(toy_root, ["score", "x.csv", "--cost", "fp=2"]).name == "score"
    assert running_command(toy_root, ["train", "fit", "--out", "o"]).name == "fit"
    assert running_command(toy_root, ["train"]) is None
    assert running_command(toy_root, ["nope"]) is None


def test_names_of_the_running_command_become_its_flags(toy_root):
    to = flag_mapper(toy_root, ["score", "x.csv"])
    assert to("`cost` 'fp=x': empty part; write it like fp=1,fn=5") == "--cost 'fp=x': empty part; write it like fp=1,fn=5"
    assert to("for a model you trust, add `allow_unsafe=True`") == "for a model you trust, add --allow-unsafe"
    assert to("or pass `simple_baseline=False`") == "or pass --no-simple-baseline"
    assert to("use `device='cpu'` (or auto)") == "use --device cpu (or auto)"
    assert to('use `device="cuda"`, or `device=auto`') == "use --device cuda, or --device auto"
    assert to("`window` 7D makes 900 windows") == "--window 7D makes 900 windows"


def test_names_that_are_no_option_stay_as_they_are(toy_root):
    to = flag_mapper(toy_root, ["score", "x.csv"])
    text = "run `ray status`, call `fit_transform`, see `model.save_pretrained(folder)`"
    assert to(text) == text
    assert to("`data` is a folder") == "`data` is a folder"  # an argument of `score`, not an option
    assert to("no backticks --cost here") == "no backticks --cost here"


def test_other_commands_options_are_used_only_when_they_agree(toy_root):
    shared = shared_params(toy_root)
    assert "out" in shared and "cost" in shared and "window" not in shared  # --window vs --steps
    to = flag_mapper(toy_root, ["score", "x.csv"])
    assert to("choose another `out`") == "choose another --out"
    assert to("`window`") == "--window"  # the running command's own flag wins
    assert flag_mapper(toy_root, ["train", "fit"])("`window`") == "--steps"
    assert flag_mapper(toy_root, [])("`window` and `cost`") == "`window` and --cost"
    # `data` is an argument of one command and an option of another: no single flag
    assert flag_mapper(toy_root, [])("`data`") == "`data`"


def test_api_names_that_differ_from_the_cli_option(toy_root):
    assert flag_mapper(toy_root, ["train", "fit"])("`id_cols` names column(s)") == "--drop-col names column(s)"


def test_the_real_app_maps_per_command():
    assert to_flags("pass `on_empty='skip'`", app, ["evaluate"]) == "pass --on-empty skip"
    assert to_flags("`id_cols` names", app, ["train", "tabular", "--data", "d.csv"]) == "--drop-col names"
    assert to_flags("`engine='local'` runs without Ray", app, ["predict"]) == "--engine local runs without Ray"
    assert to_flags("`text_col` and `label_col`", app, ["check"]) == "--text-col and --label-col"
    assert to_flags("`not_a_param`", app, ["evaluate"]) == "`not_a_param`"


@pytest.fixture
def predictions(tmp_path):
    path = tmp_path / "preds.csv"
    pd.DataFrame({"label": ["a", "b", "a", "b"], "prob_a": [0.9, 0.2, 0.6, 0.3],
                  "prob_b": [0.1, 0.8, 0.4, 0.7]}).to_csv(path, index=False)
    return path


def test_api_caller_is_told_the_parameter(predictions, tmp_path):
    with pytest.raises(UsageError) as err:
        modelqa.evaluate(predictions=predictions, label_col="label", cost="fp=x", out=tmp_path / "run")
    assert str(err.value) == "`cost`: fp='x' is not a number"
    assert not (tmp_path / "run").exists()


def test_cli_user_is_told_the_flag(predictions, tmp_path, capsys):
    code = main(["evaluate", "--predictions", str(predictions), "--label-col", "label", "--cost", "fp=x",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: --cost: fp='x' is not a number"
    assert not (tmp_path / "run").exists()


def test_cli_maps_hints_too(predictions, tmp_path, capsys):
    off = tmp_path / "off.csv"
    pd.DataFrame({"label": ["a", "b"], "prob_a": [0.5, 0.2], "prob_b": [0.4, 0.2]}).to_csv(off, index=False)
    with pytest.raises(DataError) as err:
        modelqa.evaluate(predictions=off, label_col="label", out=tmp_path / "api")
    assert "`normalize_probs=True`" in str(err.value) and "`scores='logits'`" in str(err.value)
    code = main(["evaluate", "--predictions", str(off), "--label-col", "label", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 3 and "pass --normalize-probs to rescale them, or --scores logits for raw scores" in err
    assert "`" not in err


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
BELOW_API = ("adapters", "analysis", "data", "engine", "metrics", "report", "train")


def _error_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name.endswith("Error") or name == "check_choice":
                yield node


def test_no_error_below_the_api_names_a_flag():
    """Errors raised below api/ name parameters; a flag may appear only inside a whole
    `modelqa …` command line shown as an example."""
    found = []
    for folder in BELOW_API:
        for path in sorted((SRC / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call in _error_calls(tree):
                for const in ast.walk(call):
                    if isinstance(const, ast.Constant) and isinstance(const.value, str):
                        if FLAG.search(const.value) and "modelqa " not in const.value:
                            found.append(f"{path.relative_to(SRC)}:{const.lineno}: {const.value!r}")
    assert not found, "\n".join(found)
