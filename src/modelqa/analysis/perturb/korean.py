"""Korean perturbations, all by syllable arithmetic (``hangul``): 두벌식 keyboard typos, vowel
confusions, final consonants dropped or added, spacing removed or added, jamo split, initial
consonants only, laughter / emoticon noise and speech-level changes of listed verb endings.
"""

from __future__ import annotations

import re

import numpy as np

from modelqa.analysis.perturb import hangul as h
from modelqa.analysis.perturb.base import Perturbation, Span, pick

SYLLABLE = "가-힣"
_RUN = re.compile(f"[{SYLLABLE}]+")

VOWEL_CONFUSIONS = (("ㅐ", "ㅔ"), ("ㅒ", "ㅖ"), ("ㅚ", "ㅙ", "ㅞ"))
_CONFUSED = {v: group for group in VOWEL_CONFUSIONS for v in group}
#: finals a typist adds by mistake (the common single consonants)
ADDED_FINALS = ("ㄱ", "ㄴ", "ㄹ", "ㅁ", "ㅂ", "ㅅ", "ㅇ")
LAUGHTER = ("ㅋㅋ", "ㅋㅋㅋ", "ㅎㅎ", "ㅎㅎㅎ", "^^", "ㅋㅋㅋㅋ", ";;", "~~")

#: (합니다체, 해요체, 해체) of common verb endings; the first two columns, and the casual forms of
#: two syllables or more, are recognised at the end of a word (one-syllable casual forms such as
#: 해 / 가 are too ambiguous to recognise and are only produced)
SPEECH_LEVELS = (
    ("합니다", "해요", "해"), ("했습니다", "했어요", "했어"), ("합니까", "해요", "해"),
    ("있습니다", "있어요", "있어"), ("없습니다", "없어요", "없어"), ("됩니다", "돼요", "돼"),
    ("갑니다", "가요", "가"), ("옵니다", "와요", "와"), ("봅니다", "봐요", "봐"), ("줍니다", "줘요", "줘"),
    ("좋습니다", "좋아요", "좋아"), ("싶습니다", "싶어요", "싶어"), ("같습니다", "같아요", "같아"),
    ("겠습니다", "겠어요", "겠어"), ("드립니다", "드려요", "드려"), ("압니다", "알아요", "알아"),
    ("었습니다", "었어요", "었어"), ("았습니다", "았어요", "았어"), ("였습니다", "였어요", "였어"),
    ("주십시오", "주세요", "줘"),
)
_LEVEL_OF: dict[str, tuple[str, str, str]] = {}
for _row in SPEECH_LEVELS:
    for _col, _form in enumerate(_row):
        if _col < 2 or len(_form) >= 2:
            _LEVEL_OF.setdefault(_form, _row)
#: the copula after a noun: 입니다 / 이에요 (after a final consonant) or 예요 / 이야 or 야
_COPULA = ("입니다", "이에요", "예요", "이야")
_WORD_END = r"(?=[\s.,!?~…^;:)\]\"']|$)"
_ENDING = re.compile(f"(?:{'|'.join(sorted(set(_LEVEL_OF) | set(_COPULA), key=lambda s: (-len(s), s)))}){_WORD_END}")


def _syllables(text: str) -> list[Span]:
    return [(i, i + 1) for i, c in enumerate(text) if h.is_syllable(c)]


# -- keyboard typos ------------------------------------------------------------------------------

def _typo_options(ch: str) -> list[str]:
    ini, med, fin = h.decompose(ch)
    out = [h.compose(j, med, fin) for j in h.neighbour_jamo(ini, "initial")]
    out += [h.compose(ini, j, fin) for j in h.neighbour_jamo(med, "medial")]
    if fin:
        out += [h.compose(ini, med, j) for j in h.neighbour_jamo(fin, "final")]
    return [o for o in out if o != ch]


def _find_typo(text: str) -> list[Span]:
    return [s for s in _syllables(text) if _typo_options(text[s[0]])]


def _typo(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    return pick(_typo_options(seg), rng)


# -- vowel confusions, finals ---------------------------------------------------------------------

def _find_vowel(text: str) -> list[Span]:
    return [s for s in _syllables(text) if h.decompose(text[s[0]])[1] in _CONFUSED]


def _vowel(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    ini, med, fin = h.decompose(seg)
    return h.compose(ini, pick(_CONFUSED[med], rng, not_=med), fin)


def _find_final(text: str) -> list[Span]:
    return [s for s in _syllables(text) if h.decompose(text[s[0]])[2]]


def _drop_final(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    ini, med, _ = h.decompose(seg)
    return h.compose(ini, med, "")


def _find_open(text: str) -> list[Span]:
    return [s for s in _syllables(text) if not h.decompose(text[s[0]])[2]]


def _add_final(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    ini, med, _ = h.decompose(seg)
    return h.compose(ini, med, pick(ADDED_FINALS, rng))


# -- spacing ---------------------------------------------------------------------------------------

def _find_spaces(text: str) -> list[Span]:
    """Single spaces with a Hangul syllable on both sides."""
    return [(i, i + 1) for i in range(1, len(text) - 1)
            if text[i] == " " and h.is_syllable(text[i - 1]) and h.is_syllable(text[i + 1])]


def _find_joins(text: str) -> list[Span]:
    """Places between two syllables of one word."""
    return [(i, i) for i in range(1, len(text)) if h.is_syllable(text[i - 1]) and h.is_syllable(text[i])]


def _to(value: str):
    return lambda seg, rng, text, start: value


# -- jamo split, initials, laughter --------------------------------------------------------------

def _find_runs(text: str) -> list[Span]:
    return [m.span() for m in _RUN.finditer(text)]


def _find_runs2(text: str) -> list[Span]:
    """Hangul words of two syllables or more (one syllable alone is not an abbreviation)."""
    return [m.span() for m in _RUN.finditer(text) if m.end() - m.start() >= 2]


def _find_word_ends(text: str) -> list[Span]:
    return [(i + 1, i + 1) for i, c in enumerate(text) if not c.isspace() and (i + 1 == len(text) or text[i + 1].isspace())]


def _laugh(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    return " " + pick(LAUGHTER, rng)


# -- speech level -----------------------------------------------------------------------------------

def _find_endings(text: str) -> list[Span]:
    spans = []
    for m in _ENDING.finditer(text):
        if m.group() in _COPULA and (m.start() == 0 or not h.is_syllable(text[m.start() - 1])):
            continue  # the copula needs a noun before it
        if m.group() in _COPULA and m.group() == "예요" and h.decompose(text[m.start() - 1])[2]:
            continue
        spans.append(m.span())
    return spans


def _copula_forms(before: str) -> tuple[str, str, str]:
    has_final = bool(h.decompose(before)[2]) if h.is_syllable(before) else True
    return ("입니다", "이에요", "이야") if has_final else ("입니다", "예요", "야")


def _speech(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    if seg in _COPULA:
        forms = _copula_forms(text[start - 1])
    else:
        forms = _LEVEL_OF[seg]
    return pick(forms, rng, not_=seg)


def perturbations() -> list[Perturbation]:
    P = Perturbation
    return [
        P("ko-typo", "ko", "typo", "두벌식 keyboard typo: one jamo of a syllable replaced by the jamo of a "
          "neighbouring key that fits its place (per syllable)", _find_typo, _typo, count=1),
        P("ko-vowel", "ko", "typo", "vowel confusion ㅐ/ㅔ, ㅒ/ㅖ, ㅚ/ㅙ/ㅞ (per syllable with such a vowel)",
          _find_vowel, _vowel, count=1),
        P("ko-final-drop", "ko", "typo", "a final consonant dropped (per syllable with a final)",
          _find_final, _drop_final, count=1),
        P("ko-final-add", "ko", "typo", "a final consonant (ㄱㄴㄹㅁㅂㅅㅇ) added (per syllable without one)",
          _find_open, _add_final, count=1),
        P("ko-spacing", "ko", "spacing", "띄어쓰기 error: a space between two Hangul words removed (per space)",
          _find_spaces, _to(""), rate=0.5),
        P("ko-spacing-add", "ko", "spacing", "띄어쓰기 error: a space added inside a Hangul word (per place "
          "between two syllables)", _find_joins, _to(" "), count=1),
        P("ko-jamo-split", "ko", "jamo", "a Hangul word written as separate jamo: 배송 -> ㅂㅐㅅㅗㅇ (per word)",
          _find_runs, lambda seg, rng, text, start: h.split_jamo(seg), count=1),
        P("ko-initials", "ko", "jamo", "a word of two syllables or more written as its initial consonants: "
          "감사 -> ㄱㅅ (per word)", _find_runs2, lambda seg, rng, text, start: h.initials_of(seg), count=1),
        P("ko-laughter", "ko", "noise", "laughter / emoticon noise (ㅋㅋ, ㅎㅎ, ^^, ;;, ~~) after a word "
          "(per word end)", _find_word_ends, _laugh, count=1),
        P("ko-speech-level", "ko", "style", "speech level changed between 합니다 / 해요 / 해 for the listed "
          "verb endings and the copula (per ending)", _find_endings, _speech, rate=1.0),
    ]
