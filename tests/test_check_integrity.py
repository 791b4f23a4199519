"""Integrity checks and the shared normaliser: hand-built cases with known counts, row numbers
and statuses, a naive pure-Python oracle on generated data, and the Korean chatbot set."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file

from modelqa.analysis.checks import integrity  # noqa: F401  (registers the checks)
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for
from modelqa.analysis.checks.verdict import decide
from modelqa.analysis.normalize import (
    missing_mask,
    normalize_many,
    normalize_series,
    normalize_text,
    row_keys,
)


def run(name, ctx, **overrides):
    spec = REGISTRY[name]
    return decide(spec.run(ctx, config_for(spec, overrides)))


def text_ctx(texts, labels=None, *, reference=None, ref_labels=None, classes=None):
    def side(name, values, labs):
        frame = pd.DataFrame({"text": values})
        y = None
        if labs is not None:
            frame["label"] = labs
            y = np.array([classes.index(v) if v in classes else -1 for v in labs])
        return Side(name=name, path=None, frame=frame, y=y)

    classes = classes or sorted({v for v in (labels or []) + (ref_labels or []) if v is not None})
    return CheckContext(current=side("current", texts, labels),
                        reference=None if reference is None else side("reference", reference, ref_labels),
                        text_col="text", label_col="label" if labels is not None else None,
                        feature_cols=("text",), labels=classes)


# ---- normaliser -------------------------------------------------------------------------------

def test_normalize_text_cases():
    assert normalize_text("ＡＢＣ　１２３") == "abc 123"                 # full-width letters, digits, space
    assert normalize_text("Straße") == normalize_text("STRASSE") == "strasse"
    assert normalize_text("  a \t\n b  ") == "a b"
    assert normalize_text("zero\u200bwidth\ufeff") == "zerowidth"
    decomposed = unicodedata.normalize("NFD", "한국어")
    assert decomposed != "한국어" and normalize_text(decomposed) == "한국어"
    assert normalize_text("\u200b \u00ad") == ""


def test_normalize_many_equals_one_by_one_and_series_maps_missing():
    rng = np.random.default_rng(0)
    pieces = ["Hello", "WORLD", "감사", "합니다", "ｆｕｌｌ", "a\u200bb", "STRAßE", " ", "\t", "\u3000", "ﬁ"]
    texts = ["".join(rng.choice(pieces, 4)) for _ in range(500)]
    assert normalize_many(texts) == [normalize_text(t) for t in texts]
    s = pd.Series(["  Hi ", None, 3, float("nan"), "\u200b", "HI"], dtype=object)
    assert normalize_series(s).tolist() == ["hi", None, "3", None, None, "hi"]
    assert missing_mask(s).tolist() == [False, True, False, True, True, False]


@pytest.mark.parametrize("dtype", [object, "str"])
def test_missing_mask_and_keys_agree_with_normalize_text_for_both_string_dtypes(dtype):
    """The Arrow-string fast paths and the object paths give the same masks and keys."""
    rng = np.random.default_rng(2)
    pieces = ["", " ", "\t", "\u3000", "\u200b", "\ufeff", "\xa0", "\x1f", "A", "a", "가", "ｆ"]
    values = ["".join(rng.choice(pieces, rng.integers(0, 4))) for _ in range(400)] + [None]
    series = pd.Series(values, dtype=dtype)
    want = np.array([v is None or not normalize_text(v) for v in values])
    assert (missing_mask(series) == want).all()
    for normalized in (False, True):
        mine = row_keys(series.to_frame("t"), ["t"], normalized=normalized)
        other = row_keys(pd.Series(values, dtype=object if dtype == "str" else "str").to_frame("t"), ["t"],
                         normalized=normalized)
        assert (mine == other).all()
        oracle = [(None if v is None else (normalize_text(v) or None) if normalized else v) for v in values]
        same = np.equal.outer(mine, mine)
        assert (same == np.array([[a == b for b in oracle] for a in oracle])).all()


def test_row_keys_agree_on_equal_rows_and_numbers_of_either_type():
    a = pd.DataFrame({"x": [1, 2, 1], "c": ["a", "b", "a"]})
    b = pd.DataFrame({"x": [1.0, 2.5, 2.0], "c": ["a", "b", "b"]})
    ka, kb = row_keys(a, ["x", "c"]), row_keys(b, ["x", "c"])
    assert ka[0] == ka[2] == kb[0] and ka[1] == kb[2] and kb[1] != ka[1]


# ---- duplicates -------------------------------------------------------------------------------

def test_exact_and_normalized_duplicates_hand_built():
    texts = ["Hello world", "hello  WORLD", "Hello world", None, "  ", "other", "Hello world"]
    ctx = text_ctx(texts)
    [exact] = run("integrity.duplicates", ctx)
    assert exact.value == pytest.approx(2 / 7) and exact.status == "fail" and exact.p_value is None
    assert exact.examples[0]["rows"] == [1, 3, 7] and exact.examples[0]["count"] == 3
    assert exact.details["empty_rows"] == 2                       # None and "  " are never duplicates
    [norm] = run("integrity.normalized_duplicates", ctx)
    assert norm.value == pytest.approx(3 / 7) and norm.examples[0]["rows"] == [1, 2, 3, 7]
    assert run("integrity.duplicates", ctx, threshold=0.5)[0].status == "pass"


def test_duplicates_over_feature_columns_of_a_table():
    frame = pd.DataFrame({"age": [30, 30, 30.0, 41], "city": ["Seoul", "seoul ", "Seoul", "Busan"], "y": list("abab")})
    ctx = CheckContext(current=Side(name="current", path=None, frame=frame), label_col="y",
                       feature_cols=("age", "city"))
    [exact] = run("integrity.duplicates", ctx)
    [norm] = run("integrity.normalized_duplicates", ctx)
    assert exact.details["duplicate_rows"] == 1 and exact.examples[0]["rows"] == [1, 3]
    assert exact.examples[0]["values"] == {"age": 30, "city": "Seoul"}
    assert norm.details["duplicate_rows"] == 2


def _naive_repeats(values):
    seen, repeats = set(), 0
    for v in values:
        if v is None or not v.strip():
            continue
        repeats += v in seen
        seen.add(v)
    return repeats


def test_duplicate_counts_equal_a_naive_oracle_on_generated_text():
    rng = np.random.default_rng(1)
    base = ["좋아요", "Great movie", "bad", "그저 그래요", "OK", "fine thanks", "별로"]
    variants = [lambda t: t, str.upper, lambda t: f"  {t} ", lambda t: t.replace(" ", "   "),
                lambda t: unicodedata.normalize("NFD", t)]
    texts = [variants[rng.integers(5)](f"{rng.choice(base)} {rng.integers(40)}") for _ in range(3000)]
    texts[::97] = [None] * len(texts[::97])
    ctx = text_ctx(texts)
    exact = run("integrity.duplicates", ctx)[0]
    norm = run("integrity.normalized_duplicates", ctx)[0]
    assert exact.details["duplicate_rows"] == _naive_repeats(texts)
    oracle = [None if t is None else " ".join(unicodedata.normalize("NFKC", t).casefold().split()) for t in texts]
    assert norm.details["duplicate_rows"] == _naive_repeats(oracle)


# ---- conflicting labels -----------------------------------------------------------------------

def test_conflicting_labels_counted_and_listed_with_rows():
    texts = ["Good film", "good film ", "Good film", "bad", "bad", "meh", None]
    labels = ["pos", "neg", "pos", "neg", "neg", "zzz", "pos"]
    ctx = text_ctx(texts, labels, classes=["neg", "pos"])
    [r] = run("integrity.conflicting_labels", ctx)
    assert r.details["conflicting_rows"] == 3 and r.details["groups"] == 1
    assert r.n == 6 and r.value == pytest.approx(3 / 6) and r.status == "fail"
    ex = r.examples[0]
    assert ex["rows"] == [1, 2, 3] and ex["labels"] == ["pos", "neg", "pos"]
    assert ex["label_counts"] == {"pos": 2, "neg": 1} and ex["text"] == "Good film"
    no_labels = text_ctx(texts)
    assert run("integrity.conflicting_labels", no_labels)[0].status == "skipped"


def test_conflicts_on_the_korean_chatbot_set_equal_a_pandas_oracle():
    df = pd.read_csv(shared_file("korean_chatbot.csv"), dtype=str)
    labels = df["label"].str.strip()
    ctx = text_ctx(df["Q"].tolist(), labels.tolist(), classes=sorted(labels.unique()))
    [r] = run("integrity.conflicting_labels", ctx)
    key = df["Q"].map(lambda t: " ".join(unicodedata.normalize("NFKC", t).casefold().split()))
    n_labels = labels.groupby(key).transform("nunique")
    assert r.details["conflicting_rows"] == int((n_labels > 1).sum()) > 0
    first = r.examples[0]
    assert set(labels.iloc[np.array(first["rows"]) - 1]) == set(first["label_counts"])


# ---- columns, texts, label sets ---------------------------------------------------------------

def test_empty_and_constant_columns():
    frame = pd.DataFrame({"all_none": [None] * 4, "blank": ["", " ", "\u200b", None], "const": ["x"] * 4,
                          "const_gap": [7, None, 7, 7], "ok": [1, 2, 3, 4]})
    ctx = CheckContext(current=Side(name="current", path=None, frame=frame), feature_cols=tuple(frame.columns))
    [empty] = run("integrity.empty_columns", ctx)
    assert empty.details["columns"] == ["all_none", "blank"] and empty.value == 2 and empty.status == "fail"
    [const] = run("integrity.constant_columns", ctx)
    assert const.details["columns"] == ["const", "const_gap"] and const.status == "fail"
    assert const.examples[1] == {"column": "const_gap", "value": 7.0, "missing": 1}
    assert run("integrity.constant_columns", ctx, threshold=2)[0].status == "pass"


def test_empty_texts_counts_blank_and_invisible():
    ctx = text_ctx(["fine", None, "", "   ", "\u200b\ufeff", "ok"])
    [r] = run("integrity.empty_texts", ctx)
    assert r.details["empty_rows"] == 4 and r.value == pytest.approx(4 / 6) and r.status == "fail"
    assert [e["row"] for e in r.examples] == [2, 3, 4, 5]
    assert run("integrity.empty_texts", text_ctx(["a", "b"]))[0].status == "pass"


def test_label_set_differences_both_ways():
    ctx = text_ctx(["a", "b", "c", "d"], ["x", "y", "new", "new"], reference=["e", "f", "g"],
                   ref_labels=["x", "y", "gone"], classes=["gone", "x", "y"])
    res = {r.target: r for r in run("integrity.label_set", ctx)}
    new, missing = res["new_in_current"], res["missing_from_current"]
    assert new.details["labels"] == ["new"] and new.examples[0]["rows"] == [3, 4] and new.status == "fail"
    assert missing.details["labels"] == ["gone"] and missing.status == "fail"
    same = text_ctx(["a"], ["x"], reference=["b"], ref_labels=["x"], classes=["x"])
    assert [r.status for r in run("integrity.label_set", same)] == ["pass", "pass"]
