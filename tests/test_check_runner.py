"""The runner of ``modelqa check``: requirements, error isolation, outputs, JUnit, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from modelqa.analysis.checks.registry import REGISTRY, ensure_loaded, register
from modelqa.analysis.checks.result import CheckResult
from modelqa.api.check import check
from modelqa.cli.main import main

XSD = Path(__file__).parent / "data" / "junit" / "JUnit.xsd"
SUITE = {"only": True, "checks": {"zz.mean_shift": {}, "zz.crash": {}, "zz.needs_model": {}}}


@pytest.fixture
def fake_checks():
    ensure_loaded()

    @register("zz.mean_shift", requires=("reference",), defaults={"threshold": 0.5}, default=False)
    def mean_shift(ctx, cfg):
        """|difference of means| / pooled sd of each numeric column, with Welch's p."""
        from scipy import stats

        out = []
        for col in ctx.feature_cols:
            if ctx.column_kinds[col] != "numeric":
                continue
            a = ctx.reference.frame[col].astype(float).to_numpy()
            b = ctx.current.frame[col].astype(float).to_numpy()
            d = abs(b.mean() - a.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
            p = stats.ttest_ind(a, b, equal_var=False).pvalue
            out.append(CheckResult(check="zz.mean_shift", category="zz", target=col, metric="cohen_d", value=d,
                                   threshold=cfg.get("threshold", column=col), p_value=p, n=min(len(a), len(b)),
                                   examples=({"column": col, "mean_ref": a.mean(), "mean_cur": b.mean()},)))
        return out

    @register("zz.crash", default=False)
    def crash(ctx, cfg):
        raise ZeroDivisionError("a bug in a check")

    @register("zz.needs_model", requires=("model",), default=False)
    def needs_model(ctx, cfg):
        raise AssertionError("never runs without a model")

    yield
    for name in ("zz.mean_shift", "zz.crash", "zz.needs_model"):
        REGISTRY.pop(name, None)


@pytest.fixture
def frames():
    rng = np.random.default_rng(1)
    n = 400
    ref = pd.DataFrame({"x": rng.normal(0, 1, n), "y": rng.normal(0, 1, n), "label": rng.choice(["a", "b"], n)})
    cur = pd.DataFrame({"x": rng.normal(1.0, 1, n), "y": rng.normal(0, 1, n), "label": rng.choice(["a", "b"], n)})
    return ref, cur


def test_runner_judges_skips_and_isolates_errors(fake_checks, frames, tmp_path):
    ref, cur = frames
    run = check(current=cur, reference=ref, suite=SUITE, out=tmp_path / "run")
    by_id = {r.id: r for r in run.results}
    assert by_id["zz.mean_shift[x]"].status == "fail"           # shifted by 1 sd
    assert by_id["zz.mean_shift[y]"].status == "pass"
    assert by_id["zz.crash"].status == "error" and "ZeroDivisionError: a bug in a check" in by_id["zz.crash"].reason
    assert by_id["zz.needs_model"].status == "skipped" and by_id["zz.needs_model"].reason == "needs --model"
    assert run.status == "fail" and run.exit_code == 1
    doc = json.loads((tmp_path / "run" / "check.json").read_text(encoding="utf-8"))
    assert doc["summary"] == {"fail": 1, "error": 1, "warn": 0, "pass": 1, "skipped": 1}
    assert [r["status"] for r in doc["results"]] == ["fail", "error", "pass", "skipped"]
    assert doc["inputs"]["columns"]["label"] == "label" and doc["inputs"]["columns"]["features"] == {
        "x": "numeric", "y": "numeric"}
    table = pd.read_csv(tmp_path / "run" / "tables" / "check_results.csv")
    assert list(table["status"]) == ["fail", "error", "pass", "skipped"]
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "zz.mean_shift" in html and "ZeroDivisionError" in html


def test_same_seed_same_check_json(fake_checks, frames, tmp_path):
    ref, cur = frames
    docs = []
    for i in range(2):
        check(current=cur, reference=ref, suite=SUITE, out=tmp_path / f"r{i}", seed=3)
        doc = json.loads((tmp_path / f"r{i}" / "check.json").read_text(encoding="utf-8"))
        doc.pop("created")
        doc.pop("timing")
        docs.append(doc)
    assert docs[0] == docs[1]


def test_junit_validates_against_the_xsd_and_marks_each_case(fake_checks, frames, tmp_path):
    ref, cur = frames
    junit = tmp_path / "junit.xml"
    check(current=cur, reference=ref, suite=SUITE, junit=junit)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.parse(str(junit))
    schema.assertValid(doc)
    cases = {c.get("name"): c for c in doc.iter("testcase")}
    assert cases["x"].get("classname") == "modelqa.zz.mean_shift" and cases["x"].find("failure") is not None
    assert cases["y"].find("failure") is None and float(cases["y"].get("time")) >= 0
    assert cases["zz.crash"].find("error") is not None and cases["zz.needs_model"].find("skipped") is not None
    suite = next(doc.iter("testsuite"))
    assert suite.get("name") == "modelqa.zz" and suite.get("tests") == "4" and suite.get("failures") == "1"
    props = {p.get("name"): p.get("value") for p in doc.iter("property")}
    assert float(props["zz.mean_shift[x].value"]) > 0.5 and props["zz.mean_shift[x].status"] == "fail"


def test_cli_exit_codes_and_fail_on_warn(fake_checks, frames, tmp_path):
    ref, cur = frames
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    suite = tmp_path / "qa.yaml"
    suite.write_text("only: true\nchecks:\n  zz.mean_shift: {}\n", encoding="utf-8")
    args = ["check", "--reference", str(tmp_path / "ref.csv"), "--current", str(tmp_path / "cur.csv"),
            "--suite", str(suite), "-q"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 1
    suite.write_text("only: true\nchecks:\n  zz.mean_shift: {threshold: 5}\n", encoding="utf-8")
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    # d = 2 / sd 3.67 = 0.54 is over the 0.5 threshold, but at n = 8 far from significant: warn, exit 0
    base = np.arange(8) * 1.5 + 0.25  # not consecutive integers (those read as an id column)
    pd.DataFrame({"x": base, "label": ["a", "b"] * 4}).to_csv(tmp_path / "ref8.csv", index=False)
    pd.DataFrame({"x": base + 2, "label": ["a", "b"] * 4}).to_csv(tmp_path / "cur8.csv", index=False)
    small = ["check", "--reference", str(tmp_path / "ref8.csv"), "--current", str(tmp_path / "cur8.csv"),
             "--suite", str(suite), "-q", "--format", "json"]
    suite.write_text("only: true\nchecks:\n  zz.mean_shift: {threshold: 0.5}\n", encoding="utf-8")
    assert main([*small, "--out", str(tmp_path / "c")]) == 0
    doc = json.loads((tmp_path / "c" / "check.json").read_text(encoding="utf-8"))
    (x,) = doc["results"]
    assert x["status"] == "warn" and x["value"] == pytest.approx(2 / np.std(base, ddof=1))
    assert main([*small, "--out", str(tmp_path / "d"), "--fail-on", "warn"]) == 1


def test_bad_input_is_a_clear_error_and_writes_nothing(fake_checks, frames, tmp_path, capsys):
    ref, cur = frames
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    out = tmp_path / "run"
    code = main(["check", "--reference", str(tmp_path / "ref.csv"), "--current", str(tmp_path / "cur.csv"),
                 "--text-col", "review", "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 3 and "missing column 'review' (--text-col)" in err and "Traceback" not in err
    assert not out.exists()
    code = main(["check", "--current", str(tmp_path / "nope.csv"), "--out", str(out), "-q"])
    assert code in (2, 3) and not out.exists()
    code = main(["check", "--current", str(tmp_path / "cur.csv"), "--fail-on", "sometimes", "-q"])
    assert code == 2 and "--fail-on must be one of fail, warn" in capsys.readouterr().err


def test_a_baseline_on_other_rows_is_refused_before_any_check(frames, tmp_path, capsys):
    ref, cur = frames
    cur = cur.assign(predicted_label=cur["label"])
    cur.to_csv(tmp_path / "cur.csv", index=False)
    cur.head(300).to_csv(tmp_path / "cur300.csv", index=False)
    suite = {"only": True, "checks": {"regression.metric_drop": {}}}
    base = check(current=tmp_path / "cur.csv", suite=suite, out=tmp_path / "base")
    assert (tmp_path / "base" / "predictions.csv").is_file() and base.exit_code == 0
    again = check(current=tmp_path / "cur.csv", baseline=tmp_path / "base", suite=suite)
    assert [r.status for r in again.results] == ["pass"]      # the same predictions: no drop
    code = main(["check", "--current", str(tmp_path / "cur300.csv"), "--baseline", str(tmp_path / "base"),
                 "--out", str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err
    assert code == 3 and "has 400 rows" in err and "300" in err and not (tmp_path / "run").exists()


def test_modelqa_report_redraws_a_check_run(fake_checks, frames, tmp_path):
    ref, cur = frames
    check(current=cur, reference=ref, suite=SUITE, out=tmp_path / "run")
    page = tmp_path / "run" / "report.html"
    first = page.read_text(encoding="utf-8")
    page.unlink()
    assert main(["report", str(tmp_path / "run")]) == 0
    assert page.read_text(encoding="utf-8") == first
    (tmp_path / "run" / "check.json").write_text("{broken", encoding="utf-8")
    assert main(["report", str(tmp_path / "run")]) == 3
