"""Behaviour tests through ``modelqa check`` with a real (tiny) Hugging Face model: the suite's
tests and the default suite reach check.json, and the same seed gives the same check.json."""

from __future__ import annotations

import json

from conftest import keyword_frame

from modelqa.cli.main import main

SUITE = """\
only: true
checks:
  behaviour.tests: {}
behaviour:
  - name: typos
    type: INV
    perturbation: en-typo
    count: 2
    threshold: 0.5
  - name: keywords
    type: MFT
    texts: [good great wonderful, happy love excellent]
    expect: pos
"""


def _doc(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.pop("created", None)
    doc.pop("timing", None)
    return doc


def _behaviour(doc):
    return [r for r in doc["results"] if r["check"] == "behaviour.tests"]


def test_suite_tests_reach_check_json_and_the_same_seed_gives_the_same_file(tiny_model, tmp_path):
    data = tmp_path / "current.csv"
    keyword_frame(20, seed=1).rename(columns={"sentence": "text", "emotion": "label"}).to_csv(data, index=False)
    suite = tmp_path / "qa.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    args = ["check", "--current", str(data), "--model", str(tiny_model), "--suite", str(suite), "--seed", "3"]
    codes = [main(args + ["--out", str(tmp_path / name)]) for name in ("a", "b")]
    assert codes[0] == codes[1] and codes[0] in (0, 1)
    a, b = _doc(tmp_path / "a" / "check.json"), _doc(tmp_path / "b" / "check.json")
    results = {r["target"]: r for r in _behaviour(a)}
    assert set(results) == {"typos", "keywords"}
    typos = results["typos"]
    assert typos["n"] == 60 and typos["details"]["changed_share"] == 1.0 and typos["details"]["amount"] == "count 2"
    assert results["keywords"]["n"] == 2 and results["keywords"]["status"] in ("pass", "warn", "fail")
    a_rows = [{k: v for k, v in r.items() if k != "seconds"} for r in a["results"]]
    b_rows = [{k: v for k, v in r.items() if k != "seconds"} for r in b["results"]]
    assert a_rows == b_rows


def test_default_suite_uses_the_models_test_split(tiny_model, tmp_path):
    """A model folder whose modelqa.json names its data (as ``train text`` writes it) and that has
    evaluation/test_split.csv gets the default typo and spacing INV tests on that split."""
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "modelqa.json").write_text(json.dumps({"labels": ["neg", "neu", "pos"], "text_col": "sentence",
                                                    "label_col": "emotion", "data_files": {"data": "d.csv"}}))
    (model / "evaluation").mkdir()
    keyword_frame(10, seed=2).to_csv(model / "evaluation" / "test_split.csv", index=False)
    data = tmp_path / "current.csv"
    keyword_frame(3, seed=4).to_csv(data, index=False)
    suite = tmp_path / "only.yaml"
    suite.write_text("only: true\nchecks:\n  behaviour.tests: {default_min_n: 5}\n", encoding="utf-8")
    assert main(["check", "--current", str(data), "--text-col", "sentence", "--label-col", "emotion",
                 "--model", str(model), "--suite", str(suite), "--out", str(tmp_path / "run")]) in (0, 1)
    doc = _doc(tmp_path / "run" / "check.json")
    results = _behaviour(doc)
    assert {r["check"] for r in doc["results"]} == {"behaviour.tests"}
    assert sorted(r["target"] for r in results) == ["spacing invariance (en-spacing)", "typo invariance (en-typo)"]
    assert all("test_split.csv" in r["details"]["data"] and r["details"]["cases"] == 30 for r in results)
