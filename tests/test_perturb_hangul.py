"""Hangul syllable arithmetic against Unicode's own decomposition (unicodedata), and the
두벌식 key map against the QWERTY geometry."""

from __future__ import annotations

import math
import unicodedata

import pytest

from modelqa.analysis.perturb import hangul as h


def _compat(conjoining: str) -> str:
    """The compatibility letter of a conjoining jamo, by Unicode name (independent of hangul.py)."""
    name = unicodedata.name(conjoining)
    for role in ("CHOSEONG ", "JUNGSEONG ", "JONGSEONG "):
        if role in name:
            return unicodedata.lookup("HANGUL LETTER " + name.split(role)[1])
    raise AssertionError(name)


def test_every_syllable_decomposes_as_unicode_nfd_and_recomposes():
    for code in range(0xAC00, 0xD7A4):
        ch = chr(code)
        ini, med, fin = h.decompose(ch)
        nfd = unicodedata.normalize("NFD", ch)
        assert (ini, med) == (_compat(nfd[0]), _compat(nfd[1]))
        assert fin == (_compat(nfd[2]) if len(nfd) == 3 else "")
        assert h.compose(ini, med, fin) == ch


def test_tables_have_the_unicode_sizes_and_compose_rejects_impossible_places():
    assert (len(h.INITIALS), len(h.MEDIALS), len(h.FINALS)) == (19, 21, 28)
    assert h.compose("ㄱ", "ㅏ") == "가" and h.compose("ㅎ", "ㅣ", "ㅎ") == "힣"
    with pytest.raises(ValueError):
        h.compose("ㄱ", "ㅏ", "ㄸ")   # ㄸ is never a final
    with pytest.raises(ValueError):
        h.decompose("a")


def test_split_initials_and_keys_on_hand_written_words():
    assert h.split_jamo("배송 ok") == "ㅂㅐㅅㅗㅇ ok"
    assert h.initials_of("감사합니다!") == "ㄱㅅㅎㄴㄷ!"
    # 두벌식: 한글 is typed g k s r m f ; 왜 is d h o (ㅙ = ㅗ + ㅐ); 닭 is e k f r (ㄺ = ㄹ + ㄱ)
    assert h.to_keys("한글") == "gksrmf"
    assert h.to_keys("왜") == "dho"
    assert h.to_keys("닭") == "ekfr"
    assert h.hangul_share("배송 ok") == pytest.approx(2 / 4)


def _xy(key: str) -> tuple[float, float]:
    for r, row in enumerate(("qwertyuiop", "asdfghjkl", "zxcvbnm")):
        if key in row:
            return row.index(key) + 0.5 * r, float(r)
    raise AssertionError(key)


def test_qwerty_neighbours_are_the_touching_keys():
    for key in "qwertyuiopasdfghjklzxcvbnm":
        x, y = _xy(key)
        touching = {k for k in "qwertyuiopasdfghjklzxcvbnm" if k != key
                    and math.dist((x, y), _xy(k)) <= 1.2}
        assert set(h.qwerty_neighbours(key)) == touching, key
    assert set(h.qwerty_neighbours("s")) == set("awedzx")


def test_neighbour_jamo_keep_their_place():
    assert set(h.neighbour_jamo("ㅇ", "initial")) == {"ㄴ", "ㄹ", "ㄷ", "ㄱ", "ㅌ", "ㅊ"}
    assert set(h.neighbour_jamo("ㅏ", "medial")) == {"ㅓ", "ㅣ", "ㅑ", "ㅐ", "ㅡ"}
    assert h.neighbour_jamo("ㅘ", "medial") == ()          # a compound has no key of its own
    for jamo in h.DUBEOLSIK:
        for role, table in (("initial", h.INITIALS), ("medial", h.MEDIALS), ("final", h.FINALS)):
            assert set(h.neighbour_jamo(jamo, role)) <= set(table)
