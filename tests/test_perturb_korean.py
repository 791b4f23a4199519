"""Korean perturbations on real sentences (the shared chatbot set, skipped without it) and on
hand-written cases: valid NFC text of the intended kind, only the intended jamo changed (checked
against unicodedata, not against hangul.py), the change rate within 4 standard errors of the
requested rate on 1,000 sentences, and the same seed giving the same output."""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pytest
from conftest import shared_file

from modelqa.analysis import perturb
from modelqa.analysis.perturb import korean
from modelqa.analysis.perturb.hangul import DUBEOLSIK, qwerty_neighbours

SYL = re.compile("[가-힣]")
HAND = ["배송이 정말 빨라요 감사합니다.", "어제 친구랑 놀러 갔었어 ㅋㅋ", "학생이에요. 친구예요!",
        "회원 가입은 어떻게 해요?", "왜 이렇게 외로운지 모르겠어", "환불 규정이 궁금합니다", "좋은 하루 보내세요~"]


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    import pandas as pd

    q = pd.read_csv(shared_file("korean_chatbot.csv"), encoding="utf-8")["Q"].dropna().astype(str)
    q = q[q.str.contains("[가-힣]") & ~q.str.contains("[ㄱ-ㅣ]")]      # no jamo already in the text
    return q.sample(n=1000, random_state=11).tolist() + HAND


def _jamo(ch: str) -> tuple[str, str, str]:
    """(initial, medial, final) by NFD and Unicode names: an oracle independent of hangul.py."""
    out = []
    for role, cj in zip(("CHOSEONG ", "JUNGSEONG ", "JONGSEONG "), unicodedata.normalize("NFD", ch) + "\0",
                        strict=False):
        out.append("" if cj == "\0" else unicodedata.lookup("HANGUL LETTER " + unicodedata.name(cj).split(role)[1]))
    return tuple(out + [""] * (3 - len(out)))[:3]


def _recompose(jamo_run: str) -> str:
    """Compatibility jamo (ㅂㅐㅅㅗㅇ) back to syllables through conjoining jamo and NFC."""
    vowels = set("ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ")
    names = [unicodedata.name(c).split("LETTER ")[1] for c in jamo_run]
    out, i = [], 0
    while i < len(jamo_run):
        lead, vowel = names[i], names[i + 1]
        s = unicodedata.lookup("HANGUL CHOSEONG " + lead) + unicodedata.lookup("HANGUL JUNGSEONG " + vowel)
        i += 2
        if i < len(jamo_run) and jamo_run[i] not in vowels and (i + 1 == len(jamo_run) or jamo_run[i + 1] not in vowels):
            s += unicodedata.lookup("HANGUL JONGSEONG " + names[i])
            i += 1
        out.append(unicodedata.normalize("NFC", s))
    return "".join(out)


def _key_neighbours(a: str, b: str) -> bool:
    return DUBEOLSIK[b] in qwerty_neighbours(DUBEOLSIK[a])


def _syllable_diffs(orig: str, out: str) -> list[tuple[tuple, tuple]]:
    assert len(orig) == len(out)
    diffs = []
    for a, b in zip(orig, out, strict=True):
        if a != b:
            assert SYL.match(a) and SYL.match(b), (orig, out)
            diffs.append((_jamo(a), _jamo(b)))
    return diffs


def _check_typo(orig, out):
    diffs = _syllable_diffs(orig, out)
    for ja, jb in diffs:
        changed = [i for i in range(3) if ja[i] != jb[i]]
        assert len(changed) == 1 and _key_neighbours(ja[changed[0]], jb[changed[0]]), (ja, jb)
    return len(diffs)


def _check_vowel(orig, out):
    diffs = _syllable_diffs(orig, out)
    for ja, jb in diffs:
        assert (ja[0], ja[2]) == (jb[0], jb[2])
        assert any({ja[1], jb[1]} <= set(group) for group in korean.VOWEL_CONFUSIONS)
    return len(diffs)


def _check_final_drop(orig, out):
    diffs = _syllable_diffs(orig, out)
    assert all(ja[:2] == jb[:2] and ja[2] and not jb[2] for ja, jb in diffs)
    return len(diffs)


def _check_final_add(orig, out):
    diffs = _syllable_diffs(orig, out)
    assert all(ja[:2] == jb[:2] and not ja[2] and jb[2] in korean.ADDED_FINALS for ja, jb in diffs)
    return len(diffs)


def _extra_spaces(short: str, long: str) -> list[int]:
    """Positions in ``long`` of the spaces that ``short`` lacks (``long`` = ``short`` plus spaces)."""
    extra, j = [], 0
    for i, c in enumerate(long):
        if j < len(short) and short[j] == c:
            j += 1
        else:
            assert c == " ", (short, long)
            extra.append(i)
    assert j == len(short)
    return extra


def _check_spacing(orig, out):
    removed = _extra_spaces(out, orig)
    assert all(SYL.match(orig[i - 1]) and SYL.match(orig[i + 1]) for i in removed), (orig, out)
    return len(removed)


def _check_spacing_add(orig, out):
    added = _extra_spaces(orig, out)
    assert all(SYL.match(out[i - 1]) and SYL.match(out[i + 1]) for i in added), (orig, out)
    return len(added)


def _pieces(text: str) -> list[str]:
    return re.findall("[가-힣]+|[ㄱ-ㅣ]+|[^가-힣ㄱ-ㅣ]+", text)


def _check_jamo_split(orig, out):
    a, b = _pieces(orig), _pieces(out)
    assert len(a) == len(b)
    changed = 0
    for x, y in zip(a, b, strict=True):
        if x != y:
            assert SYL.match(x) and re.fullmatch("[ㄱ-ㅣ]+", y) and _recompose(y) == x, (x, y)
            changed += 1
    return changed


def _check_initials(orig, out):
    a, b = _pieces(orig), _pieces(out)
    assert len(a) == len(b)
    changed = 0
    for x, y in zip(a, b, strict=True):
        if x != y:
            assert len(x) >= 2 and y == "".join(_jamo(c)[0] for c in x), (x, y)
            changed += 1
    return changed


def _check_laughter(orig, out):
    a, b = orig.split(), out.split()
    extra = list(b)
    for token in a:   # the original tokens appear in order; whatever is left was inserted
        extra.remove(token)
    assert all(t in korean.LAUGHTER for t in extra), extra
    return len(extra)


def _check_speech(orig, out):
    a, b = orig.split(), out.split()
    assert len(a) == len(b)
    changed = 0
    for x, y in zip(a, b, strict=True):
        if x != y:
            changed += 1
            rows = [r for r in korean.SPEECH_LEVELS if any(x.rstrip(".,!?~").endswith(f) for f in r)]
            copula = any(x.rstrip(".,!?~").endswith(f) for f in ("입니다", "이에요", "예요", "이야"))
            assert rows or copula, (x, y)
    return changed


CHECKS = {"ko-typo": _check_typo, "ko-vowel": _check_vowel, "ko-final-drop": _check_final_drop,
          "ko-final-add": _check_final_add, "ko-spacing": _check_spacing, "ko-spacing-add": _check_spacing_add,
          "ko-jamo-split": _check_jamo_split, "ko-initials": _check_initials, "ko-laughter": _check_laughter,
          "ko-speech-level": _check_speech}


def test_every_korean_perturbation_has_a_check():
    assert set(CHECKS) == set(perturb.names("ko"))


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_korean_perturbation_kind_rate_and_seed(name, sentences):
    """rate 0.3: each place edited with probability 0.3; the places edited, counted from the
    output by the kind's own oracle, are within 4 standard errors of 0.3."""
    rate = 0.3
    p = perturb.get(name, rate=rate)
    batch = perturb.apply_all(p, sentences, seed=7)
    sites = edited = 0
    for orig, out in zip(sentences, batch.texts, strict=True):
        assert unicodedata.is_normalized("NFC", out)
        n = CHECKS[name](orig, out)
        edited += n
        sites += len(p.sites(orig))
    assert sites >= 150, f"{name}: only {sites} places in 1,000 sentences"
    assert edited == batch.edited
    tolerance = 4 * math.sqrt(rate * (1 - rate) / sites)
    assert abs(edited / sites - rate) <= tolerance, (name, edited / sites, tolerance)
    # never claims a change it did not make; same seed, same output; another seed, another output
    assert np.array_equal(batch.changed, np.array([a != b for a, b in zip(sentences, batch.texts, strict=True)]))
    assert perturb.apply_all(p, sentences, seed=7).texts == batch.texts
    assert perturb.apply_all(p, sentences, seed=8).texts != batch.texts


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_korean_perturbation_count_one_edits_one_place(name):
    p = perturb.get(name, count=1)
    rng = np.random.default_rng(0)
    for text in HAND:
        e = p.apply(text, rng)
        assert e.edited == min(1, e.sites) and e.changed == (e.sites > 0)
        assert CHECKS[name](text, e.text) == e.edited


def test_hand_written_outputs():
    rng = np.random.default_rng(0)
    assert perturb.get("ko-spacing", rate=1.0)("배송이 정말 빨라요", rng) == "배송이정말빨라요"
    assert perturb.get("ko-jamo-split", rate=1.0)("배송 ok", rng) == "ㅂㅐㅅㅗㅇ ok"
    assert perturb.get("ko-initials", rate=1.0)("감사 합니다", rng) == "ㄱㅅ ㅎㄴㄷ"
    assert perturb.get("ko-vowel", rate=1.0)("개", rng) == "게"
    assert perturb.get("ko-final-drop", rate=1.0)("빨라요 감사", rng) == "빠라요 가사"
    # speech level: 합니다 -> 해요 or 해; the copula follows the final consonant of the noun
    outs = {perturb.get("ko-speech-level")("학생이에요", np.random.default_rng(s)) for s in range(20)}
    assert outs == {"학생입니다", "학생이야"}
    outs = {perturb.get("ko-speech-level")("친구예요", np.random.default_rng(s)) for s in range(20)}
    assert outs == {"친구입니다", "친구야"}
    outs = {perturb.get("ko-speech-level")("확인했습니다.", np.random.default_rng(s)) for s in range(20)}
    assert outs == {"확인했어요.", "확인했어."}
    # nothing to edit: unchanged and says so
    e = perturb.get("ko-typo").apply("hello 123", rng)
    assert (e.text, e.changed, e.sites) == ("hello 123", False, 0)


def test_unknown_name_and_bad_amount_are_usage_errors():
    from modelqa.errors import UsageError

    with pytest.raises(UsageError, match="did you mean 'ko-spacing'"):
        perturb.get("ko-spaceing")
    with pytest.raises(UsageError, match="rate"):
        perturb.get("ko-typo", rate=1.5)
    with pytest.raises(UsageError, match="not both"):
        perturb.get("ko-typo", rate=0.5, count=1)
