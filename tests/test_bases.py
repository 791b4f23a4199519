"""The base-encoder choice (adapters/bases.py): the Hangul share of letters, hand-counted; the rule on
Korean, English and mixed texts; and `train text` saying which base it chose and why (the bases'
folders replaced by the tiny test classifier, so no conversion runs here)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import shared_file

from modelqa.adapters import bases
from modelqa.adapters.bases import (
    HANGUL_SHARE_THRESHOLD,
    MINILM,
    MULTILINGUAL_E5,
    choose_base,
    letter_counts,
    resolve_base,
)
from modelqa.train.config import TextTrainConfig


def test_letter_counts_hand_counted():
    # letters: 안 녕 h i ㅋ ㅋ (digits, spaces, punctuation and emoji are not letters)
    assert letter_counts(["안녕 hi!! 123 😂", "ㅋㅋ"]) == (4, 6)
    assert letter_counts(["café 日本"]) == (0, 6)
    assert letter_counts(["", "123 !?"]) == (0, 0)
    # conjoining jamo (NFD Hangul) count as Hangul too
    assert letter_counts(["\u1112\u1161\u11ab"]) == (3, 3)


@pytest.mark.parametrize(("hangul", "latin", "expected"), [
    (100, 0, MULTILINGUAL_E5), (0, 100, MINILM), (50, 50, MULTILINGUAL_E5),
    (int(HANGUL_SHARE_THRESHOLD * 1000), 1000 - int(HANGUL_SHARE_THRESHOLD * 1000), MULTILINGUAL_E5),
    (int(HANGUL_SHARE_THRESHOLD * 1000) - 1, 1001 - int(HANGUL_SHARE_THRESHOLD * 1000), MINILM),
])
def test_rule_at_and_around_the_threshold(hangul, latin, expected):
    texts = ["가" * hangul + " " + "a" * latin]
    choice = choose_base(texts)
    assert choice.base is expected
    assert choice.hangul_share == pytest.approx(hangul / (hangul + latin))
    assert "Hangul" in choice.reason and expected.title in choice.reason


def test_mixed_rows_english_with_a_few_korean_names_stays_minilm():
    # 3 Hangul letters in 70: 4.3 %, under the 5 % rule
    texts = ["The quarterly planning meeting with Kim (김민수) is on Monday morning at the Seoul office."] * 50
    assert choose_base(texts).hangul_share == pytest.approx(3 / 70)
    assert choose_base(texts).base is MINILM
    texts += ["회의는 월요일 서울 사무실에서 열립니다"] * 50
    assert choose_base(texts).base is MULTILINGUAL_E5


def test_no_letters_at_all_means_minilm():
    choice = choose_base(["123", "!!", "😂😂"])
    assert choice.base is MINILM and choice.hangul_share == 0.0


def test_many_texts_are_sampled_evenly():
    texts = ["한국어 문장"] * 30_000 + ["English sentence"] * 30_000
    choice = choose_base(texts)
    full = letter_counts(texts)
    assert choice.n_letters < full[1]
    assert choice.hangul_share == pytest.approx(full[0] / full[1], abs=0.01)


def test_real_sets_korean_gets_e5_english_gets_minilm():
    ko = pd.read_csv(shared_file("korean_chatbot.csv"))["Q"].astype(str).tolist()
    ag = pd.read_csv(shared_file("ag_news_test.csv"), header=None)[2].astype(str).tolist()
    assert choose_base(ko).base is MULTILINGUAL_E5 and choose_base(ko).hangul_share > 0.99
    assert choose_base(ag).base is MINILM and choose_base(ag).hangul_share == 0.0


def test_resolve_base_named_and_chosen(monkeypatch, tmp_path):
    monkeypatch.setattr(bases.BaseModel, "path", lambda self: tmp_path / self.key)
    config = TextTrainConfig()
    named = resolve_base(tmp_path / "mine", ["한국어"], config=config)
    assert named.choice is None and named.path == tmp_path / "mine" and config.freeze_embeddings is False
    assert "(--base-model)" in named.reason
    config = TextTrainConfig()
    chosen = resolve_base(None, ["한국어 문장"], config=config)
    assert chosen.path == tmp_path / "multilingual-e5-small" and config.freeze_embeddings is True
    config = TextTrainConfig(freeze_embeddings=False)  # the user's own setting wins over the base's default
    resolve_base(None, ["한국어 문장"], config=config)
    assert config.freeze_embeddings is False
    config = TextTrainConfig()
    assert resolve_base(None, ["an English text"], config=config).path == tmp_path / "minilm"
    assert config.freeze_embeddings is False


def _keyword_file(path, korean: bool):
    words = ({"pos": ["좋아요", "행복해", "최고야"], "neg": ["슬퍼요", "최악이야", "우울해"]} if korean
             else {"pos": ["good", "great", "happy"], "neg": ["bad", "awful", "sad"]})
    rows = [(f"{w} {i}", y) for y, ws in words.items() for i in range(8) for w in ws]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("korean", [True, False])
def test_cli_train_text_says_which_base_and_why(korean, tiny_model, tmp_path, monkeypatch, capsys):
    from modelqa.cli.main import main

    monkeypatch.setattr(bases.BaseModel, "path", lambda self: tiny_model)
    data = _keyword_file(tmp_path / "d.csv", korean)
    out = tmp_path / "m"
    code = main(["train", "text", "--data", str(data), "--epochs", "1", "--out", str(out), "--device", "cpu",
                 "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    meta = json.loads((out / "modelqa.json").read_text(encoding="utf-8"))
    expected = MULTILINGUAL_E5 if korean else MINILM
    assert meta["base_choice"]["base"] == expected.key and meta["base_model"] == expected.title
    assert meta["training_args"]["freeze_embeddings"] is korean
    assert "Hangul" in " ".join(printed.split()) and expected.key.split("-")[0] in printed.lower()


def test_cli_base_model_overrides_the_choice(tiny_model, tmp_path, capsys):
    from modelqa.cli.main import main

    data = _keyword_file(tmp_path / "d.csv", korean=True)
    code = main(["train", "text", "--data", str(data), "--epochs", "1", "--out", str(tmp_path / "m"),
                 "--device", "cpu", "--quiet", "--base-model", str(tiny_model), "--freeze-embeddings"])
    assert code == 0
    meta = json.loads((tmp_path / "m" / "modelqa.json").read_text(encoding="utf-8"))
    assert meta["base_choice"] is None and meta["base_model"] == str(tiny_model)
    assert meta["training_args"]["freeze_embeddings"] is True
    assert "--base-model" in capsys.readouterr().out

