"""Bad input through the CLI: a clear message on stderr that names the file / column / row /
value, a non-zero exit code, no traceback, and no run files written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from modelqa.cli.main import main

SRC = Path(__file__).resolve().parents[1] / "src"
GOOD = pd.DataFrame({"ID": ["r1", "r2", "r3", "r4"], "text": ["good", "bad", "fine", "awful"],
                     "label": ["pos", "neg", "neu", "neg"]})


@pytest.fixture
def files(tmp_path, tiny_model, tiny_model_unnamed):
    """Named inputs for the cases; each case refers to them as {name}."""
    f = {"model": str(tiny_model), "unnamed": str(tiny_model_unnamed), "out": str(tmp_path / "run")}

    def csv(name, df):
        df.to_csv(tmp_path / name, index=False)
        f[name.split(".")[0]] = str(tmp_path / name)

    csv("good.csv", GOOD)
    csv("empty_text.csv", GOOD.assign(text=["good", None, "fine", "  "]))
    csv("unknown.csv", GOOD.assign(label=["pos", "happy", "happy", "sad"]))
    csv("ids.csv", GOOD.assign(label=["a", "b", "a", "b"]))
    csv("probs_off.csv", pd.DataFrame({"label": ["a", "b", "a"], "prob_a": [0.5, 0.2, 0.9],
                                       "prob_b": [0.5, 0.2, 0.3]}))
    (tmp_path / "empty.csv").write_bytes(b"")
    f["empty"] = str(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("ID,text,label\n", encoding="utf-8")
    f["header"] = str(tmp_path / "header.csv")
    (tmp_path / "unterminated.csv").write_text('text,label\nfine,pos\n"never closed,neg\n', encoding="utf-8")
    f["unterminated"] = str(tmp_path / "unterminated.csv")
    GOOD.to_parquet(tmp_path / "whole.parquet")
    raw = (tmp_path / "whole.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(raw[: len(raw) // 2])
    f["cut"] = str(tmp_path / "cut.parquet")
    f["missing"] = str(tmp_path / "no_such_file.csv")
    f["nomodel"] = str(tmp_path / "no_such_model")
    return f


EVAL = ["evaluate", "--quiet", "--out", "{out}"]
CASES = {
    "missing column": (EVAL + ["--model", "{model}", "--data", "{good}", "--text-col", "sentence"], 3,
                       ["{good}", "'sentence'", "--text-col", "'ID', 'text', 'label'"]),
    "missing label column": (EVAL + ["--model", "{model}", "--data", "{good}", "--label-col", "emotion"], 3,
                             ["'emotion'", "--label-col", "'text'"]),
    "missing id column": (EVAL + ["--model", "{model}", "--data", "{good}", "--id-col", "doc"], 3,
                          ["'doc'", "--id-col"]),
    "empty text": (EVAL + ["--model", "{model}", "--data", "{empty_text}"], 3,
                   ["{empty_text}", "'text'", "rows 2, 4", "--on-empty skip"]),
    "unknown labels": (EVAL + ["--model", "{model}", "--data", "{unknown}"], 3,
                       ["{unknown}", "'label'", "'happy' (2 rows, first row 2)", "'sad' (1 row, first row 4)"]),
    "empty file": (EVAL + ["--model", "{model}", "--data", "{empty}"], 3, ["{empty}", "empty"]),
    "header only": (EVAL + ["--model", "{model}", "--data", "{header}"], 3, ["{header}", "no data rows"]),
    "unterminated quote": (EVAL + ["--model", "{model}", "--data", "{unterminated}"], 3,
                           ["{unterminated}", "line 3", "never closed"]),
    "truncated parquet": (EVAL + ["--model", "{model}", "--data", "{cut}"], 3,
                          ["{cut}", "Parquet", "corrupt or truncated"]),
    "missing data file": (EVAL + ["--model", "{model}", "--data", "{missing}"], 3, ["{missing}", "not found"]),
    "missing model": (EVAL + ["--model", "{nomodel}", "--data", "{good}"], 4, ["{nomodel}", "does not exist"]),
    "model and predictions": (EVAL + ["--model", "{model}", "--predictions", "{good}"], 2,
                              ["--model", "--predictions"]),
    "model without data": (EVAL + ["--model", "{model}"], 2, ["--data"]),
    "bogus format": (EVAL + ["--model", "{model}", "--data", "{good}", "--format", "bogus"], 2,
                     ["--format", "'bogus'", "table, json"]),
    "bogus on-empty": (EVAL + ["--model", "{model}", "--data", "{good}", "--on-empty", "bogus"], 2,
                       ["--on-empty", "'bogus'", "error, skip"]),
    "bogus scores": (EVAL + ["--predictions", "{probs_off}", "--scores", "bogus"], 2, ["--scores", "'bogus'"]),
    "bogus device": (EVAL + ["--model", "{model}", "--data", "{good}", "--device", "tpu"], 2,
                     ["--device", "'tpu'"]),
    "probs not summing to 1": (EVAL + ["--predictions", "{probs_off}"], 3,
                               ["{probs_off}", "row(s) 2, 3", "--normalize-probs"]),
    "wrong --labels count": (EVAL + ["--model", "{unnamed}", "--data", "{ids}", "--labels", "a,b,c"], 2,
                             ["--labels", "3 classes", "2 outputs"]),
    "bad --label-map": (EVAL + ["--model", "{unnamed}", "--data", "{ids}", "--label-map", "{{nope"], 2,
                        ["--label-map", "JSON"]),
    "unknown option": (EVAL + ["--model", "{model}", "--data", "{good}", "--bogus"], 2, ["--bogus"]),
    "batch size 0": (EVAL + ["--model", "{model}", "--data", "{good}", "--batch-size", "0"], 2,
                     ["--batch-size"]),
    "predict txt suffix": (["predict", "--quiet", "--model", "{model}", "--data", "{good}", "--out", "{out}.txt"], 2,
                           ["{out}.txt", ".csv, .parquet, .xlsx"]),
    "predict missing model option": (["predict", "--data", "{good}", "--out", "{out}.csv"], 2, ["--model"]),
    "predict empty text": (["predict", "--quiet", "--model", "{model}", "--data", "{empty_text}",
                            "--out", "{out}.csv"], 3, ["{empty_text}", "rows 2, 4"]),
    "predict bogus on-empty": (["predict", "--quiet", "--model", "{model}", "--data", "{good}",
                                "--on-empty", "bogus", "--out", "{out}.csv"], 2, ["--on-empty"]),
    "bogus engine": (EVAL + ["--model", "{model}", "--data", "{good}", "--engine", "rey"], 2,
                     ["--engine", "'rey'", "local, ray"]),
    "predict bogus backend": (["predict", "--quiet", "--model", "{model}", "--data", "{good}",
                               "--backend", "tensorrt", "--out", "{out}.csv"], 2, ["--backend", "'tensorrt'"]),
    "bf16 with int8": (["predict", "--quiet", "--model", "{model}", "--data", "{good}", "--precision", "bf16",
                        "--quantize", "int8", "--out", "{out}.csv"], 2, ["do not go together"]),
    "fp16 on the cpu": (EVAL + ["--model", "{model}", "--data", "{good}", "--precision", "fp16", "--device", "cpu"],
                        2, ["fp16 runs on a CUDA GPU only"]),
    "onnx on cuda": (EVAL + ["--model", "{model}", "--data", "{good}", "--backend", "onnx", "--device", "cuda"],
                     2, ["--backend onnx runs on the CPU"]),
    "precision with predictions file": (EVAL + ["--predictions", "{probs_off}", "--precision", "bf16"], 2,
                                        ["--precision", "--predictions"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case, files, capsys):
    argv, code, fragments = CASES[case]
    rc = main([a.format(**files) for a in argv])
    captured = capsys.readouterr()
    assert rc == code, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert "internal error" not in captured.err
    for fragment in fragments:
        assert fragment.format(**files) in captured.err, (fragment, captured.err)
    out = Path(files["out"])
    assert not out.exists() or not any(out.iterdir()), "nothing may be written for bad input"
    for suffix in (".csv", ".txt"):
        assert not Path(files["out"] + suffix).exists()
    assert captured.out == "" or "Usage" in captured.err


def test_pickle_only_model_through_cli(files, tmp_path, capsys):
    folder = tmp_path / "bin_only"
    shutil.copytree(files["model"], folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")  # the bytes do not matter: never read
    rc = main(["evaluate", "--quiet", "--model", str(folder), "--data", files["good"], "--out", files["out"]])
    err = capsys.readouterr().err
    assert rc == 4
    assert "pytorch_model.bin" in err and "safetensors" in err and "--allow-pickle" in err
    assert "Traceback" not in err
    assert not Path(files["out"]).exists()


def test_python_m_modelqa_errors_without_traceback(tmp_path):
    """The real entry point: a short message and a non-zero exit; MODELQA_DEBUG=1 shows the traceback."""
    missing = tmp_path / "nope.csv"
    argv = [sys.executable, "-m", "modelqa", "evaluate", "--predictions", str(missing),
            "--out", str(tmp_path / "run")]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("MODELQA_DEBUG", None)
    plain = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert plain.returncode == 3
    assert "Traceback" not in plain.stderr
    assert f"{missing}: file not found" in plain.stderr
    debug = subprocess.run(argv, capture_output=True, text=True, env={**env, "MODELQA_DEBUG": "1"}, timeout=120)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and "DataError" in debug.stderr
    assert not (tmp_path / "run").exists()
    helped = subprocess.run([sys.executable, "-m", "modelqa", "--help"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert helped.returncode == 0
    for word in ("evaluate", "predict", "train", "demo"):
        assert word in helped.stdout
