"""Leakage checks: hand-built cases (rows, reference rows, labels, statuses), a table whose
files disagree on a column's type, and a naive dictionary oracle on generated text."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file

from modelqa.analysis.checks import leakage  # noqa: F401  (registers the checks)
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for
from modelqa.analysis.checks.verdict import decide


def run(name, ctx, **overrides):
    spec = REGISTRY[name]
    return decide(spec.run(ctx, config_for(spec, overrides)))


def ctx_of(ref: pd.DataFrame, cur: pd.DataFrame, **kw) -> CheckContext:
    return CheckContext(current=Side(name="current", path=None, frame=cur),
                        reference=Side(name="reference", path=None, frame=ref), **kw)


def test_exact_and_normalized_leakage_hand_built():
    ref = pd.DataFrame({"text": ["the cat sat", "Dogs bark", "안녕하세요", None], "label": ["a", "b", "a", "b"]})
    cur = pd.DataFrame({"text": ["new text", "the cat sat", "ＤＯＧＳ   bark", None, "안녕하세요", "the cat sat"],
                        "label": ["a", "b", "b", "a", "a", "a"]})
    ctx = ctx_of(ref, cur, text_col="text", label_col="label", feature_cols=("text",))
    [exact] = run("leakage.exact", ctx)
    assert exact.status == "fail" and exact.value == pytest.approx(3 / 6) and exact.p_value is None
    assert [(e["current_row"], e["reference_row"]) for e in exact.examples] == [(2, 1), (5, 3), (6, 1)]
    assert exact.examples[0]["text"] == "the cat sat"
    assert exact.examples[0]["current_label"] == "b" and exact.examples[0]["reference_label"] == "a"
    assert exact.details["same_label"] == 2 and exact.details["different_label"] == 1
    assert exact.details["distinct_reference_rows"] == 2
    [norm] = run("leakage.normalized", ctx)
    assert norm.value == pytest.approx(4 / 6) and norm.status == "fail" and norm.details["exact_rows"] == 3
    first = norm.examples[0]       # the match only normalisation finds comes first
    assert first == {"current_row": 3, "reference_row": 2, "text": "ＤＯＧＳ   bark", "exact": False,
                     "reference_text": "Dogs bark", "current_label": "b", "reference_label": "b"}
    assert run("leakage.normalized", ctx, threshold=0.7)[0].status == "pass"


def test_no_leakage_passes_with_zero():
    ref = pd.DataFrame({"text": ["a b", "c d"]})
    cur = pd.DataFrame({"text": ["e f", "g h", None]})
    ctx = ctx_of(ref, cur, text_col="text", feature_cols=("text",))
    for name in ("leakage.exact", "leakage.normalized"):
        [r] = run(name, ctx)
        assert r.status == "pass" and r.value == 0.0 and r.examples == () and r.n == 3


def test_table_rows_match_over_shared_feature_columns_even_across_types():
    ref = pd.DataFrame({"age": [30, 41, 52], "city": ["Seoul", "Busan", "Jeju"], "y": [0, 1, 0]})
    cur = pd.DataFrame({"age": ["30", "41", "60"], "city": ["Seoul", "busan", "Jeju"], "y": [1, 1, 0],
                        "prob_0": [0.1, 0.2, 0.3]})        # a prediction column only current has
    ctx = ctx_of(ref, cur, label_col="y")
    [exact] = run("leakage.exact", ctx)
    assert exact.details["columns"] == ["age", "city"] and exact.details["compared_as_text"] == ["age"]
    assert exact.details["leaked_rows"] == 1 and exact.examples[0]["values"] == {"age": "30", "city": "Seoul"}
    [norm] = run("leakage.normalized", ctx)
    assert norm.details["leaked_rows"] == 2 and norm.examples[0]["current_row"] == 2


def test_leak_counts_equal_a_naive_dictionary_oracle():
    rng = np.random.default_rng(7)
    words = ["배송", "빨라요", "fast", "Delivery", "ok", "환불", "please"]

    def texts(n):
        out = [" ".join(rng.choice(words, 3)) for _ in range(n)]
        return [t.upper() if rng.random() < 0.2 else (f" {t}  " if rng.random() < 0.2 else t) for t in out]

    ref, cur = texts(2000), texts(1500)
    cur[::50] = [unicodedata.normalize("NFD", t) for t in cur[::50]]
    ctx = ctx_of(pd.DataFrame({"text": ref}), pd.DataFrame({"text": cur}), text_col="text", feature_cols=("text",))
    [exact] = run("leakage.exact", ctx)
    [norm] = run("leakage.normalized", ctx)

    def first_rows(values):
        seen = {}
        for i, v in enumerate(values):
            seen.setdefault(v, i + 1)
        return seen

    exact_ref = first_rows(ref)
    assert exact.details["leaked_rows"] == sum(t in exact_ref for t in cur)
    for e in exact.examples:
        assert exact_ref[cur[e["current_row"] - 1]] == e["reference_row"]
    key = [" ".join(unicodedata.normalize("NFKC", t).casefold().split()) for t in ref]
    norm_ref = first_rows(key)
    cur_key = [" ".join(unicodedata.normalize("NFKC", t).casefold().split()) for t in cur]
    assert norm.details["leaked_rows"] == sum(k in norm_ref for k in cur_key) > exact.details["leaked_rows"]
    for e in norm.examples:
        assert norm_ref[cur_key[e["current_row"] - 1]] == e["reference_row"]


def test_ag_news_halves_share_no_description_but_a_copied_row_is_found():
    df = pd.read_csv(shared_file("ag_news_test.csv"), header=None, names=["label", "title", "description"], dtype=str)
    ref, cur = df.iloc[:4000].reset_index(drop=True), df.iloc[4000:].reset_index(drop=True)
    ctx = ctx_of(ref, cur, text_col="description", label_col="label", feature_cols=("title", "description"))
    naive = set(ref["description"])
    [r] = run("leakage.exact", ctx)
    assert r.details["leaked_rows"] == sum(t in naive for t in cur["description"])
    planted = pd.concat([cur, ref.iloc[[17]]], ignore_index=True)
    [r2] = run("leakage.exact", ctx_of(ref, planted, text_col="description", feature_cols=("description",)))
    assert r.details["leaked_rows"] == 0 and r.status == "pass"
    assert r2.details["leaked_rows"] == 1 and r2.status == "fail"
    assert (r2.examples[0]["current_row"], r2.examples[0]["reference_row"]) == (len(planted), 18)
