"""English perturbations: the intended kind of edit (checked from the output), exact outputs on
hand-written cases, the change rate on 1,000 AG News descriptions (skipped without the shared
data), the same seed giving the same output."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import shared_file

from modelqa.analysis import perturb
from modelqa.analysis.perturb.hangul import qwerty_neighbours


def _one_char_diff(orig: str, out: str) -> list[int]:
    assert len(orig) == len(out)
    return [i for i, (a, b) in enumerate(zip(orig, out, strict=True)) if a != b]


def _deleted(short: str, long: str) -> list[int]:
    """Indices of ``long`` that ``short`` lacks (``short`` is ``long`` with characters deleted)."""
    out, j = [], 0
    for i, c in enumerate(long):
        if j < len(short) and short[j] == c:
            j += 1
        else:
            out.append(i)
    assert j == len(short), (short, long)
    return out


def _typo(orig, out):
    diffs = _one_char_diff(orig, out)
    for i in diffs:
        assert out[i].lower() in qwerty_neighbours(orig[i].lower()) and out[i].isupper() == orig[i].isupper()
    return len(diffs)


def _swap(orig, out):
    diffs = _one_char_diff(orig, out)
    assert len(diffs) % 2 == 0
    for i, j in zip(diffs[::2], diffs[1::2], strict=True):
        assert j == i + 1 and orig[i] == out[j] and orig[j] == out[i]
    return len(diffs) // 2


def _drop(orig, out):
    gone = _deleted(out, orig)
    assert all(orig[i].isalpha() for i in gone)
    return len(gone)


def _repeat(orig, out):
    extra = _deleted(orig, out)
    assert all(out[i].isalpha() for i in extra)
    return len(extra)


def _spacing(orig, out):
    gone = _deleted(out, orig)
    assert all(orig[i] == " " and orig[i - 1].isalnum() and orig[i + 1].isalnum() for i in gone)
    return len(gone)


def _punct_remove(orig, out):
    gone = _deleted(out, orig)
    assert all(orig[i] in ".,!?;:" for i in gone)
    return len(gone)


def _case(orig, out):
    assert orig.lower() == out.lower() and len(orig.split()) == len(out.split())
    return sum(a != b for a, b in zip(orig.split(), out.split(), strict=True))


RATE_CHECKS = {"en-typo": _typo, "en-swap": _swap, "en-drop": _drop, "en-repeat": _repeat,
               "en-spacing": _spacing, "en-punct-remove": _punct_remove}


@pytest.fixture(scope="module")
def descriptions() -> list[str]:
    import pandas as pd

    df = pd.read_csv(shared_file("ag_news_test.csv"), header=None, names=["label", "title", "description"])
    return df["description"].astype(str).sample(n=1000, random_state=3).tolist()


@pytest.mark.parametrize("name", sorted(RATE_CHECKS))
def test_english_rate_kind_and_seed(name, descriptions):
    rate = 0.05 if name != "en-punct-remove" else 0.3
    p = perturb.get(name, rate=rate)
    batch = perturb.apply_all(p, descriptions, seed=5)
    edited = sum(RATE_CHECKS[name](a, b) for a, b in zip(descriptions, batch.texts, strict=True))
    sites = sum(len(p.sites(t)) for t in descriptions)
    assert edited == batch.edited
    assert abs(edited / sites - rate) <= 4 * math.sqrt(rate * (1 - rate) / sites)
    assert perturb.apply_all(p, descriptions, seed=5).texts == batch.texts


@pytest.mark.parametrize("name", sorted(RATE_CHECKS) + ["en-case"])
def test_english_count_one(name):
    check = RATE_CHECKS.get(name, _case)
    rng = np.random.default_rng(1)
    for text in ("The quick brown fox jumps over the lazy dog.", "Oil prices rise, again!", "NASA: launch at 9"):
        e = perturb.get(name, count=1).apply(text, rng)
        assert e.changed and e.edited == 1 and check(text, e.text) == 1


def test_hand_written_english():
    rng = np.random.default_rng(0)
    assert perturb.get("en-contract")("It is not what I am used to", rng) == "It's not what I'm used to"
    assert perturb.get("en-expand")("I'm sure it isn't", rng) == "I am sure it is not"
    assert perturb.get("en-negate", rate=1.0)("It is good and we can go", rng) == "It is not good and we cannot go"
    assert perturb.get("en-negate", rate=1.0)("It is not good", rng) == "It is not good"   # already negated
    out = perturb.get("en-name")("John met Mary", rng)
    a, _, b = out.split()
    assert a != "John" and b != "Mary" and {a, b} <= set(perturb.english.NAMES)
    out = perturb.get("en-place")("Flights from New York to Paris", rng)
    assert "New York" not in out and "Paris" not in out and out.startswith("Flights from ")
    out = perturb.get("en-number")("Sales rose 40 percent to 1200 units, 3.5 more", rng)
    words = out.split()
    assert words[2] != "40" and 20 <= int(words[2]) <= 80 and words[5] != "1200" and words[7] == "3.5"
    possible = {f"hello{m} world" for m in ".,!?"} | {f"hello world{m}" for m in ".,!?"}
    assert {perturb.get("en-punct-add")("hello world", rng) for _ in range(40)} == possible
    e = perturb.get("en-name").apply("no names here", rng)
    assert not e.changed and e.sites == 0
