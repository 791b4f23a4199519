"""English perturbations: keyboard-neighbour typos, character swap / drop / repeat, case,
spacing, punctuation, contractions, numbers, names and places from built-in lists, and
negation of listed auxiliary verbs."""

from __future__ import annotations

import re

import numpy as np

from modelqa.analysis.perturb.base import Perturbation, Span, pick
from modelqa.analysis.perturb.hangul import qwerty_neighbours

_WORD = re.compile(r"[A-Za-z]+")
_NUMBER = re.compile(r"(?<![\d.,])\d+(?![\d.,]\d)")
PUNCTUATION = ".,!?;:"
ADDED_PUNCTUATION = (".", ",", "!", "?")

CONTRACTIONS = (
    ("is not", "isn't"), ("are not", "aren't"), ("was not", "wasn't"), ("were not", "weren't"),
    ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("have not", "haven't"),
    ("has not", "hasn't"), ("had not", "hadn't"), ("will not", "won't"), ("would not", "wouldn't"),
    ("cannot", "can't"), ("could not", "couldn't"), ("should not", "shouldn't"), ("must not", "mustn't"),
    ("I am", "I'm"), ("you are", "you're"), ("we are", "we're"), ("they are", "they're"),
    ("it is", "it's"), ("that is", "that's"), ("there is", "there's"), ("what is", "what's"),
    ("I have", "I've"), ("I will", "I'll"), ("we will", "we'll"), ("you will", "you'll"), ("let us", "let's"),
)
NAMES = ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Susan", "Richard", "Jessica", "Joseph", "Sarah", "Thomas", "Karen", "Daniel", "Nancy",
         "Matthew", "Lisa", "Anthony", "Emily", "Mark", "Sandra", "Steven", "Ashley", "Paul", "Laura",
         "Andrew", "Rachel", "Kevin", "Anna", "Brian", "Maria", "George", "Helen", "Peter", "Julia")
PLACES = ("London", "Paris", "Berlin", "Tokyo", "Seoul", "Beijing", "Moscow", "Madrid", "Rome", "Toronto",
          "Chicago", "Boston", "Sydney", "Mumbai", "Cairo", "Dublin", "Vienna", "Athens", "Lisbon", "Oslo",
          "New York", "Los Angeles", "San Francisco", "Hong Kong", "Mexico City", "Buenos Aires",
          "France", "Germany", "Japan", "China", "Russia", "Canada", "Brazil", "India", "Italy", "Spain",
          "Egypt", "Kenya", "Australia", "Sweden", "Norway", "Ireland", "Korea", "Mexico", "Argentina")
#: auxiliaries negated by adding "not" (can -> cannot)
NEGATABLE = ("am", "is", "are", "was", "were", "will", "would", "can", "could", "should", "does", "do", "did",
             "has", "have", "had", "must")


def _alternation(words) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b")


_EXPANDED = {a.lower(): b for a, b in CONTRACTIONS}
_CONTRACTED = {b.lower(): a for a, b in CONTRACTIONS}
_EXPANDED_RE = re.compile(_alternation(_EXPANDED).pattern, re.IGNORECASE)
_CONTRACTED_RE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(_CONTRACTED, key=len, reverse=True))
                            + r")(?![A-Za-z'])", re.IGNORECASE)
_NAMES_RE = _alternation(NAMES)
_PLACES_RE = _alternation(PLACES)
_NEGATE_RE = re.compile(r"\b(?:" + "|".join(NEGATABLE) + r")\b(?! not\b)(?=\s+[A-Za-z])", re.IGNORECASE)


def _same_case(new: str, old: str) -> str:
    if old.isupper() and len(old) > 1:
        return new.upper()
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def _letters(text: str) -> list[Span]:
    return [(i, i + 1) for m in _WORD.finditer(text) for i in range(m.start(), m.end())]


def _typo(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    new = pick(qwerty_neighbours(seg), rng)
    return new.upper() if seg.isupper() else new


def _find_pairs(text: str) -> list[Span]:
    """Adjacent distinct letters in a word, as non-overlapping pairs (0-1, 2-3, ...)."""
    out = []
    for m in _WORD.finditer(text):
        for i in range(m.start(), m.end() - 1, 2):
            if text[i] != text[i + 1]:
                out.append((i, i + 2))
    return out


def _find_droppable(text: str) -> list[Span]:
    return [(i, i + 1) for m in _WORD.finditer(text) if m.end() - m.start() >= 3 for i in range(m.start(), m.end())]


def _find_words(text: str) -> list[Span]:
    return [m.span() for m in _WORD.finditer(text)]


def _case(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    return seg.lower() if seg.isupper() else seg.upper()


def _find_spaces(text: str) -> list[Span]:
    return [(i, i + 1) for i in range(1, len(text) - 1)
            if text[i] == " " and text[i - 1].isalnum() and text[i + 1].isalnum()]


def _find_punct(text: str) -> list[Span]:
    return [(i, i + 1) for i, c in enumerate(text) if c in PUNCTUATION]


def _find_word_ends(text: str) -> list[Span]:
    return [(m.end(), m.end()) for m in _WORD.finditer(text) if m.end() == len(text) or text[m.end()] not in PUNCTUATION]


def _regex_finder(pattern: re.Pattern):
    return lambda text: [m.span() for m in pattern.finditer(text)]


def _contract(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    new = _EXPANDED[seg.lower()]
    return new if seg.startswith("I ") else _same_case(new, seg)


def _expand(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    new = _CONTRACTED[seg.lower().replace("\u2019", "'")]
    return new if seg.startswith("I'") else _same_case(new, seg)


def _number(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    value = int(seg)
    low, high = max(0, value // 2), max(value * 2, value + 10)
    new = value
    while new == value:
        new = int(rng.integers(low, high + 1))
    return str(new)


def _swap_from(pool):
    return lambda seg, rng, text, start: pick(pool, rng, not_=seg)


def _negate(seg: str, rng: np.random.Generator, text: str, start: int) -> str:
    if seg.lower() == "can":
        return seg + "not"
    return seg + (" NOT" if seg.isupper() and len(seg) > 1 else " not")


def perturbations() -> list[Perturbation]:
    P = Perturbation
    return [
        P("en-typo", "en", "typo", "a letter replaced by a QWERTY neighbour (per letter)", _letters, _typo, count=1),
        P("en-swap", "en", "typo", "two adjacent letters swapped (per letter pair)", _find_pairs,
          lambda seg, rng, text, start: seg[::-1], count=1),
        P("en-drop", "en", "typo", "a letter dropped from a word of three letters or more (per letter)",
          _find_droppable, lambda seg, rng, text, start: "", count=1),
        P("en-repeat", "en", "typo", "a letter typed twice (per letter)", _letters,
          lambda seg, rng, text, start: seg + seg, count=1),
        P("en-case", "en", "case", "a word's case flipped: upper case, or lower case if it was upper (per word)",
          _find_words, _case, count=1),
        P("en-spacing", "en", "spacing", "a space between two words removed (per space)", _find_spaces,
          lambda seg, rng, text, start: "", rate=0.5),
        P("en-punct-remove", "en", "punctuation", "a punctuation mark . , ! ? ; : removed (per mark)",
          _find_punct, lambda seg, rng, text, start: "", rate=1.0),
        P("en-punct-add", "en", "punctuation", "a punctuation mark . , ! ? added after a word (per word end)",
          _find_word_ends, lambda seg, rng, text, start: pick(ADDED_PUNCTUATION, rng), count=1),
        P("en-contract", "en", "contraction", "listed phrases contracted: is not -> isn't, I am -> I'm (per phrase)",
          _regex_finder(_EXPANDED_RE), _contract, rate=1.0),
        P("en-expand", "en", "contraction", "listed contractions expanded: isn't -> is not (per contraction)",
          _regex_finder(_CONTRACTED_RE), _expand, rate=1.0),
        P("en-number", "en", "number", "a whole number replaced by another between half and twice it (per number)",
          _regex_finder(_NUMBER), _number, rate=1.0),
        P("en-name", "en", "entity", "a listed first name replaced by another (per name)",
          _regex_finder(_NAMES_RE), _swap_from(NAMES), rate=1.0),
        P("en-place", "en", "entity", "a listed city or country replaced by another (per place)",
          _regex_finder(_PLACES_RE), _swap_from(PLACES), rate=1.0),
        P("en-negate", "en", "negation", "a listed auxiliary verb negated: is -> is not, can -> cannot (per verb)",
          _regex_finder(_NEGATE_RE), _negate, count=1),
    ]
