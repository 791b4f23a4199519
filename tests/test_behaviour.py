"""Behaviour tests (MFT / INV / DIR) and the behaviour.tests check, on small scikit-learn
models whose behaviour is known by construction; statistics checked against scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from modelqa.analysis.behaviour import (
    BehaviourTest,
    Case,
    Direction,
    _dir_failures,
    binomial_excess_p,
    run_test,
    wilson_interval,
)
from modelqa.analysis.checks import verdict
from modelqa.analysis.checks.behaviour import behaviour_tests
from modelqa.analysis.checks.context import CheckContext, ModelHandle, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for

LABELS = ["배송", "환불", "회원"]
WORDS = {
    "배송": ["택배", "배송", "도착", "운송장", "출고", "배달"],
    "환불": ["환불", "반품", "취소", "결제", "카드", "돈"],
    "회원": ["회원", "가입", "탈퇴", "비밀번호", "로그인", "아이디"],
}
FILLER = ["언제", "어떻게", "문의", "해주세요", "알려주세요", "궁금해요", "빨리", "오늘"]


def korean_frame(n_per_class: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for label, words in WORDS.items():
        for _ in range(n_per_class):
            picked = list(rng.choice(words, size=2, replace=False)) + list(rng.choice(FILLER, size=2, replace=False))
            rng.shuffle(picked)
            rows.append({"text": " ".join(picked), "label": label})
    return pd.DataFrame(rows)


def fitted(kind: str):
    """predict_proba of a model trained on spaced text: 'char' reads character n-grams of the
    text with spaces removed (spacing cannot matter); 'token' reads whitespace tokens
    (a removed space makes unseen tokens)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = korean_frame(60, seed=0)
    if kind == "char":
        vec = CountVectorizer(analyzer="char", ngram_range=(1, 2), preprocessor=lambda t: t.replace(" ", ""))
    else:
        vec = CountVectorizer(token_pattern=r"\S+")
    model = make_pipeline(vec, LogisticRegression(max_iter=1000)).fit(train["text"], train["label"])
    order = [list(model.classes_).index(c) for c in LABELS]
    return lambda texts: model.predict_proba(list(texts))[:, order]


def ctx_for(predict_proba, frame: pd.DataFrame, *, info=None, path=None, seed=0) -> CheckContext:
    model = ModelHandle(labels=LABELS, predict_proba=predict_proba, tokenize=lambda t: [[0]] * len(t),
                        info=info, path=path)
    side = Side(name="current", path="test.csv", frame=frame, texts=frame["text"].tolist())
    return CheckContext(current=side, text_col="text", label_col="label", labels=LABELS, model=model, seed=seed)


def run_check(ctx, tests=None, **params):
    cfg = config_for(REGISTRY["behaviour.tests"], {"tests": tests, **params})
    return verdict.decide(behaviour_tests(ctx, cfg))


SPACING = BehaviourTest(name="spacing", type="INV", capability="robustness", threshold=0.1, perturbation="ko-spacing",
                        rate=1.0, sample=300)


def test_wilson_interval_matches_hand_computation_and_scipy():
    lo, hi = wilson_interval(2, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.0567, 0.5098)   # the textbook 2/10 case
    for k, n in [(0, 12), (3, 40), (40, 40), (17, 250)]:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_binomial_excess_p_matches_scipy_one_sided():
    for k, n, p in [(0, 30, 0.1), (5, 30, 0.1), (12, 50, 0.1), (3, 3, 0.05), (40, 200, 0.2)]:
        assert binomial_excess_p(k, n, p) == pytest.approx(binomtest(k, n, p, alternative="greater").pvalue, rel=1e-9)


def test_spacing_inv_passes_for_char_model_and_fails_for_token_model():
    data = korean_frame(100, seed=1)
    char, token = (run_check(ctx_for(fitted(k), data), [SPACING])[0] for k in ("char", "token"))
    for r in (char, token):
        assert r.check == "behaviour.tests" and r.target == "spacing" and r.n == 300
        assert r.details["changed_share"] == 1.0 and r.test == "binomial"
        assert r.p_value == pytest.approx(binomtest(int(r.statistic), r.n, 0.1, alternative="greater").pvalue)
    assert char.status == "pass" and char.value == 0.0
    assert token.status == "fail" and token.value > 0.3
    ex = token.examples[0]
    assert ex["original"].replace(" ", "") == ex["perturbed"] and ex["predicted_original"] != ex["predicted_perturbed"]
    assert len(token.examples) == 20
    assert token.interval[0] < token.value < token.interval[1]


def test_inv_counts_only_changed_texts_and_reports_the_share():
    data = korean_frame(30, seed=2)
    one_word = pd.DataFrame({"text": ["택배"] * 50 + list(data["text"][:50]), "label": "배송"})
    r = run_check(ctx_for(fitted("token"), one_word), [SPACING])[0]
    assert r.n == 50 and r.details["cases"] == 100 and r.details["changed_share"] == 0.5
    nothing = pd.DataFrame({"text": ["택배"] * 10, "label": "배송"})
    r = run_check(ctx_for(fitted("token"), nothing), [SPACING])[0]
    assert r.status == "skipped" and "changed none of the 10" in r.reason


def test_inv_tolerance_rule_on_hand_made_probabilities():
    """A label change with |Δp| <= tolerance passes; beyond it fails (CheckList's rule)."""
    table = {"가나": [0.52, 0.48, 0.0], "가 나": [0.46, 0.54, 0.0],      # label flips, Δp = 0.06
             "다라": [0.9, 0.1, 0.0], "다 라": [0.3, 0.7, 0.0]}           # label flips, Δp = 0.6
    proba = lambda texts: np.array([table[t] for t in texts])  # noqa: E731
    test = BehaviourTest(name="t", type="INV", capability="robustness", threshold=0.1, perturbation="ko-spacing-add",
                         texts=("가나", "다라"), tolerance=0.1)
    out = run_test(test, proba, LABELS)
    assert (out.n, out.failures) == (2, 1) and out.examples[0]["original"] == "다라"


def test_dir_rules_by_hand():
    p0 = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    p1 = np.array([[0.6, 0.4, 0.0], [0.5, 0.5, 0.0], [0.45, 0.55, 0.0]])
    y1 = p1.argmax(axis=1)
    fails = lambda change, delta=0.0: _dir_failures(Direction("배송", change, delta), LABELS, p0, p1, y1).tolist()  # noqa: E731
    assert fails("not_decrease") == [False, False, True]
    assert fails("not_decrease", 0.1) == [False, False, False]
    assert fails("increase", 0.05) == [False, True, True]
    assert fails("decrease") == [True, False, False]
    assert fails("not_increase") == [True, False, False]
    assert fails("to") == [False, False, True]
    assert fails("away_from") == [True, True, False]


def laugh_model(texts):
    """P(배송) grows with the number of 'ㅋ' in the text: adding ㅋㅋ can only raise it."""
    k = np.array([t.count("ㅋ") for t in texts], dtype=float)
    p = 1 / (1 + np.exp(-(0.5 * k - 1)))
    return np.stack([p, (1 - p) / 2, (1 - p) / 2], axis=1)


def test_dir_holds_by_construction_and_fails_when_it_cannot_hold():
    data = korean_frame(40, seed=3)
    ok = BehaviourTest(name="laughter raises 배송", type="DIR", capability="directional", threshold=0.0,
                       perturbation="ko-laughter", direction=Direction("배송", "not_decrease"))
    strict = BehaviourTest(name="laughter raises 배송 by 0.05", type="DIR", capability="directional", threshold=0.1,
                           perturbation="ko-laughter", direction=Direction("배송", "increase", 0.05))
    r_ok, r_strict = run_check(ctx_for(laugh_model, data), [ok, strict])
    assert r_ok.status == "pass" and r_ok.value == 0.0 and r_ok.n == 120
    # ㅎㅎ, ^^, ;; and ~~ add no ㅋ: those cases cannot increase, so about 5 in 8 fail
    assert r_strict.status == "fail" and 0.4 < r_strict.value < 0.85
    ex = r_strict.examples[0]
    assert ex["p_배송_original"] == ex["p_배송_perturbed"] and "ㅋ" not in ex["perturbed"]


def test_mft_expected_and_not_labels():
    token = fitted("token")
    cases = tuple(Case(t, "배송") for t in ["택배 언제 와요", "배송 도착 문의", "운송장 알려주세요"])
    good = BehaviourTest(name="delivery", type="MFT", capability="vocabulary", threshold=0.05, min_n=1, cases=cases)
    wrong = BehaviourTest(name="wrong", type="MFT", capability="vocabulary", threshold=0.05, min_n=1,
                          cases=tuple(Case(c.text, "환불") for c in cases))
    never = BehaviourTest(name="not refund", type="MFT", capability="vocabulary", threshold=0.05, min_n=1,
                          cases=tuple(Case(c.text, "환불", negate=True) for c in cases))
    r = {x.target: x for x in run_check(ctx_for(token, korean_frame(5, 4)), [good, wrong, never])}
    assert r["delivery"].status == "pass" and r["delivery"].value == 0.0 and r["delivery"].n == 3
    assert r["not refund"].status == "pass"
    assert r["wrong"].value == 1.0 and r["wrong"].status == "fail"
    assert r["wrong"].p_value == pytest.approx(binomtest(3, 3, 0.05, alternative="greater").pvalue)
    assert r["wrong"].examples[0] == {"text": "택배 언제 와요", "expected": "환불", "predicted": "배송",
                                      "confidence": r["wrong"].examples[0]["confidence"]}


def test_a_small_excess_is_warned_not_failed():
    """11 % failures on 100 cases against 10 %: over the threshold, not significant -> warn."""
    table = {f"문장{i}": [0.9, 0.1, 0.0] for i in range(100)}
    cases = tuple(Case(f"문장{i}", "환불" if i < 11 else "배송") for i in range(100))
    test = BehaviourTest(name="m", type="MFT", capability="vocabulary", threshold=0.1, cases=cases)
    r = run_check(ctx_for(lambda t: np.array([table[x] for x in t]), korean_frame(2, 0)), [test])[0]
    assert r.value == pytest.approx(0.11) and r.status == "warn"


def test_unknown_label_is_a_usage_error():
    from modelqa.errors import UsageError

    test = BehaviourTest(name="m", type="MFT", capability="vocabulary", threshold=0.1, cases=(Case("택배", "배달"),),
                         source="qa.yaml", line=7)
    with pytest.raises(UsageError, match=r"qa.yaml, line 7: .*'배달'"):
        run_test(test, laugh_model, LABELS)


def test_same_seed_same_results_and_another_seed_other_sample():
    data = korean_frame(100, seed=5)
    test = BehaviourTest(name="spacing", type="INV", capability="robustness", threshold=0.1,
                         perturbation="ko-spacing", sample=100)
    a = [r.to_dict() for r in run_check(ctx_for(fitted("token"), data, seed=1), [test])]
    b = [r.to_dict() for r in run_check(ctx_for(fitted("token"), data, seed=1), [test])]
    c = [r.to_dict() for r in run_check(ctx_for(fitted("token"), data, seed=2), [test])]
    assert a == b and a[0]["examples"] != c[0]["examples"]


def test_default_suite_on_the_models_test_split(tmp_path):
    (tmp_path / "evaluation").mkdir()
    korean_frame(100, seed=6).to_csv(tmp_path / "evaluation" / "test_split.csv", index=False)
    info = {"text_col": "text", "label_col": "label", "data_files": {"data": "train.csv"}}
    other = pd.DataFrame({"text": ["unrelated"] * 3, "label": "배송"})
    rs = run_check(ctx_for(fitted("token"), other, info=info, path=str(tmp_path)), default_sample=200)
    assert [r.target for r in rs] == ["typo invariance (ko-typo)", "spacing invariance (ko-spacing)"]
    assert all("test_split.csv" in r.details["data"] for r in rs)
    assert rs[0].details["cases"] == 200
    # English texts get the English suite; no modelqa.json: skipped with the reason
    en = pd.DataFrame({"text": ["the parcel has not arrived yet", "refund my card payment"] * 20, "label": "배송"})
    en.to_csv(tmp_path / "evaluation" / "test_split.csv", index=False)
    rs = run_check(ctx_for(fitted("token"), other, info=info, path=str(tmp_path)))
    assert [r.target for r in rs] == ["typo invariance (en-typo)", "spacing invariance (en-spacing)"]
    r = run_check(ctx_for(fitted("token"), other))[0]
    assert r.status == "skipped" and "modelqa.json" in r.reason


def test_column_tests_read_the_named_column_and_name_a_missing_one():
    data = korean_frame(20, seed=7).rename(columns={"text": "Q"}).assign(text="x")
    test = BehaviourTest(name="col", type="INV", capability="robustness", threshold=0.1, perturbation="ko-spacing",
                         rate=1.0, column="Q")
    r = run_check(ctx_for(fitted("char"), data), [test])[0]
    assert r.n == 60 and r.status == "pass"
    from modelqa.errors import UsageError

    bad = BehaviourTest(name="col", type="INV", capability="robustness", threshold=0.1, perturbation="ko-spacing",
                        column="QQ")
    with pytest.raises(UsageError, match="no column 'QQ'; did you mean 'Q'"):
        run_check(ctx_for(fitted("char"), data), [bad])
