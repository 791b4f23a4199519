"""Hangul by syllable arithmetic: a precomposed syllable is
U+AC00 + (initial x 21 + medial) x 28 + final (Unicode 3.12, "Hangul Syllable Decomposition").

Jamo are named here by their *compatibility* letters (U+3131..U+3163: ㄱ, ㅏ, ...), the letters a
Korean keyboard types and a person writes when splitting a word (ㅂㅐㅅㅗㅇ). They are NFC-stable,
so text built from them stays valid NFC. ``DUBEOLSIK`` maps each jamo to its key on the
standard 두벌식 (two-set) layout, over a QWERTY keyboard; ``neighbour_jamo`` gives the jamo of
the keys next to a jamo's key. Pure Python, no dependencies.
"""

from __future__ import annotations

BASE = 0xAC00
LAST = 0xD7A3
N_MEDIAL, N_FINAL = 21, 28

INITIALS = tuple("ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ")                      # 19
MEDIALS = tuple("ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ")                 # 21
FINALS = ("",) + tuple("ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")  # 28, "" = none

INITIAL_INDEX = {j: i for i, j in enumerate(INITIALS)}
MEDIAL_INDEX = {j: i for i, j in enumerate(MEDIALS)}
FINAL_INDEX = {j: i for i, j in enumerate(FINALS)}

#: compound letters and the simple jamo typed for them
COMPOUND_MEDIALS = {"ㅘ": "ㅗㅏ", "ㅙ": "ㅗㅐ", "ㅚ": "ㅗㅣ", "ㅝ": "ㅜㅓ", "ㅞ": "ㅜㅔ", "ㅟ": "ㅜㅣ", "ㅢ": "ㅡㅣ"}
COMPOUND_FINALS = {"ㄳ": "ㄱㅅ", "ㄵ": "ㄴㅈ", "ㄶ": "ㄴㅎ", "ㄺ": "ㄹㄱ", "ㄻ": "ㄹㅁ", "ㄼ": "ㄹㅂ", "ㄽ": "ㄹㅅ",
                   "ㄾ": "ㄹㅌ", "ㄿ": "ㄹㅍ", "ㅀ": "ㄹㅎ", "ㅄ": "ㅂㅅ"}

#: 두벌식: jamo -> QWERTY key (upper case = with Shift)
DUBEOLSIK = {
    "ㅂ": "q", "ㅈ": "w", "ㄷ": "e", "ㄱ": "r", "ㅅ": "t", "ㅛ": "y", "ㅕ": "u", "ㅑ": "i", "ㅐ": "o", "ㅔ": "p",
    "ㅁ": "a", "ㄴ": "s", "ㅇ": "d", "ㄹ": "f", "ㅎ": "g", "ㅗ": "h", "ㅓ": "j", "ㅏ": "k", "ㅣ": "l",
    "ㅋ": "z", "ㅌ": "x", "ㅊ": "c", "ㅍ": "v", "ㅠ": "b", "ㅜ": "n", "ㅡ": "m",
    "ㅃ": "Q", "ㅉ": "W", "ㄸ": "E", "ㄲ": "R", "ㅆ": "T", "ㅒ": "O", "ㅖ": "P",
}
KEY_TO_JAMO = {k: j for j, k in DUBEOLSIK.items()}

QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def qwerty_neighbours(key: str) -> tuple[str, ...]:
    """Keys next to ``key`` (lower case) on a QWERTY keyboard: same row left / right, and the
    two touching keys of the rows above and below (rows are staggered right as they go down)."""
    key = key.lower()
    for r, row in enumerate(QWERTY_ROWS):
        i = row.find(key)
        if i < 0:
            continue
        out = []
        for rr, cols in ((r, (i - 1, i + 1)), (r - 1, (i, i + 1)), (r + 1, (i - 1, i))):
            if 0 <= rr < len(QWERTY_ROWS):
                out += [QWERTY_ROWS[rr][c] for c in cols if 0 <= c < len(QWERTY_ROWS[rr])]
        return tuple(out)
    return ()


def is_syllable(ch: str) -> bool:
    """A precomposed Hangul syllable (가..힣)."""
    return len(ch) == 1 and BASE <= ord(ch) <= LAST


def is_jamo(ch: str) -> bool:
    """A compatibility jamo letter (ㄱ..ㅣ)."""
    return len(ch) == 1 and 0x3131 <= ord(ch) <= 0x3163


def decompose(ch: str) -> tuple[str, str, str]:
    """(initial, medial, final) compatibility jamo of a syllable; final is "" when there is none."""
    if not is_syllable(ch):
        raise ValueError(f"{ch!r} is not a Hangul syllable")
    code = ord(ch) - BASE
    return INITIALS[code // (N_MEDIAL * N_FINAL)], MEDIALS[(code // N_FINAL) % N_MEDIAL], FINALS[code % N_FINAL]


def compose(initial: str, medial: str, final: str = "") -> str:
    """The syllable of (initial, medial, final); ValueError when a jamo cannot take that place
    (e.g. ㄸ as a final)."""
    try:
        i, m, f = INITIAL_INDEX[initial], MEDIAL_INDEX[medial], FINAL_INDEX[final]
    except KeyError as exc:
        raise ValueError(f"cannot compose a syllable from {initial!r}, {medial!r}, {final!r}") from exc
    return chr(BASE + (i * N_MEDIAL + m) * N_FINAL + f)


def split_jamo(text: str) -> str:
    """Every syllable written as its compatibility jamo (배송 -> ㅂㅐㅅㅗㅇ); the rest unchanged."""
    return "".join("".join(decompose(c)) if is_syllable(c) else c for c in text)


def initials_of(text: str) -> str:
    """Every syllable replaced by its initial consonant (감사 -> ㄱㅅ)."""
    return "".join(decompose(c)[0] if is_syllable(c) else c for c in text)


def to_keys(text: str) -> str:
    """The 두벌식 keystrokes that type ``text`` (compound letters as their two keys);
    characters that are not Hangul are kept as they are."""
    out = []
    for c in text:
        jamo = decompose(c) if is_syllable(c) else (c,)
        for j in jamo:
            for simple in COMPOUND_MEDIALS.get(j) or COMPOUND_FINALS.get(j) or j:
                out.append(DUBEOLSIK.get(simple, simple))
    return "".join(out)


def hangul_share(text: str) -> float:
    """Share of the letters in ``text`` that are Hangul (syllables or jamo); 0 without letters."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(is_syllable(c) or is_jamo(c) for c in letters) / len(letters)


def neighbour_jamo(jamo: str, role: str) -> tuple[str, ...]:
    """Jamo on the keys next to ``jamo``'s key (unshifted) that can take ``role`` ("initial",
    "medial", "final") in a syllable; () for a jamo without a key of its own (compounds, doubles)."""
    key = DUBEOLSIK.get(jamo)
    if key is None or not key.islower():
        return ()
    allowed = {"initial": INITIAL_INDEX, "medial": MEDIAL_INDEX, "final": FINAL_INDEX}[role]
    out = []
    for k in qwerty_neighbours(key):
        j = KEY_TO_JAMO.get(k)
        if j is not None and j in allowed and j != "":
            out.append(j)
    return tuple(out)
