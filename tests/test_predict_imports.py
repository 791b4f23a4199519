"""`modelqa predict` imports only what it needs, and `modelqa --help` does not import torch.

Each check runs a fresh interpreter (the test process has imported everything already) and lists
``sys.modules`` after the command; a module-level import of a report, plotting, metrics or Ray
library anywhere on the predict path makes it fail."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd

#: Not needed to predict: plotting and HTML (report), scikit-learn / scipy (metrics, tabular), Ray
#: (--engine ray only). scipy and jinja2 are what transformers itself imports when installed;
#: engine.lean_imports keeps them out of a predict process.
NOT_ON_THE_PREDICT_PATH = ("matplotlib", "jinja2", "ray", "sklearn", "scipy")

_RUN = """
import json, sys
from modelqa.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules if sys.modules[m] is not None})}))
"""


def _run(args: list[str], env: dict | None = None) -> dict:
    proc = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_predict_imports_only_what_it_needs(tiny_model, tmp_path):
    texts = ["a good film", "bad plot", "ok", "the best thing this year", "meh", "fine", "awful", "great fun",
             "not for me", "so so"]
    data = tmp_path / "ten.csv"
    pd.DataFrame({"text": texts}).to_csv(data, index=False)
    out = tmp_path / "p.parquet"
    args = ["predict", "--model", str(tiny_model), "--data", str(data), "--out", str(out), "--quiet", "--device", "cpu"]
    got = _run(args)
    assert got["code"] == 0
    imported = set(got["modules"])
    assert {"torch", "tokenizers", "pandas"} <= imported  # it really predicted
    # a BERT folder runs on adapters.lean_bert: not even transformers is imported
    banned = {*NOT_ON_THE_PREDICT_PATH, "transformers"}
    assert imported.isdisjoint(banned), sorted(imported & banned)
    frame = pd.read_parquet(out)
    assert len(frame) == 10 and np.allclose(frame.filter(like="prob_").sum(axis=1), 1.0, atol=1e-5)
    # the oracle: transformers' own model on the same texts
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model).eval()
    enc = AutoTokenizer.from_pretrained(tiny_model)(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        want = torch.softmax(model(**enc).logits, dim=-1).numpy()
    assert np.allclose(frame[["prob_neg", "prob_neu", "prob_pos"]].to_numpy(), want, atol=1e-5)

    # the transformers path (MODELQA_TRANSFORMERS_MODEL=1, or a folder lean_bert does not compute) still
    # keeps scipy and jinja2 out, and gives the same table
    import os

    out2 = tmp_path / "p2.parquet"
    got = _run([*args[:5], "--out", str(out2), "--quiet", "--device", "cpu"],
               env={**os.environ, "MODELQA_TRANSFORMERS_MODEL": "1"})
    imported = set(got["modules"])
    assert got["code"] == 0 and "transformers" in imported
    assert imported.isdisjoint(NOT_ON_THE_PREDICT_PATH), sorted(imported & set(NOT_ON_THE_PREDICT_PATH))
    assert np.allclose(pd.read_parquet(out2).filter(like="prob_").to_numpy(), frame.filter(like="prob_").to_numpy(),
                       atol=1e-5)

    # the hidden packages are importable again after the model is loaded (only hidden from transformers)
    probe = subprocess.run([sys.executable, "-c", "from modelqa.engine import lean_imports as li; li.enable(); "
                            "li.import_transformers(); import jinja2, scipy; print('ok')"],
                           capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0 and probe.stdout.strip() == "ok", probe.stderr[-2000:]


def test_help_does_not_import_torch():
    got = _run(["--help"])
    assert got["code"] == 0
    imported = set(got["modules"])
    assert "typer" in imported
    assert imported.isdisjoint({"torch", "transformers", "matplotlib", "sklearn", "scipy", "ray"}), \
        sorted(imported & {"torch", "transformers", "matplotlib", "sklearn", "scipy", "ray"})
