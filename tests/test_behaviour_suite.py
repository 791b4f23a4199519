"""The ``behaviour:`` list of a suite file: every kind of test parsed, templates and CSV cases
expanded, and every mistake reported with the file and the line."""

from __future__ import annotations

import textwrap

import pytest

from modelqa.analysis.behaviour_suite import load_behaviour
from modelqa.errors import UsageError

SUITE = """\
behaviour:
  - name: delivery questions go to 배송
    type: MFT
    template: "{product} 배송이 {adverb} 빨라요"
    fill:
      product: [책, 신발, 가방]
      adverb: [정말, 너무]
    expect: 배송
  - name: listed cases
    type: mft
    cases:
      - 환불 해주세요
      - {text: 회원 탈퇴, expect: 회원}
      - {text: 택배 언제, expect: {not: 환불}}
    expect: 환불
    threshold: 0.2
  - name: csv cases
    type: MFT
    csv: cases.csv
  - name: spacing
    type: INV
    perturbation: ko-spacing
    rate: 0.5
    column: Q
    sample: all
  - name: laughter
    type: DIR
    capability: noise
    perturbation: ko-laughter
    texts: [좋아요, 최고예요]
    expect: {label: pos, change: not_decrease, delta: 0.02}
    seed: 3
"""


def write(tmp_path, text: str, name: str = "qa.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_every_kind_of_test_is_parsed(tmp_path):
    (tmp_path / "cases.csv").write_text("text,expect\n배송 문의,배송\n환불 문의,환불\n", encoding="utf-8")
    tests = load_behaviour(write(tmp_path, SUITE))
    mft, listed, csv, inv, dir_ = tests
    assert len(mft.cases) == 6 and {c.label for c in mft.cases} == {"배송"}
    assert "책 배송이 정말 빨라요" in [c.text for c in mft.cases] and mft.threshold == 0.05
    assert [(c.text, c.label, c.negate) for c in listed.cases] == [
        ("환불 해주세요", "환불", False), ("회원 탈퇴", "회원", False), ("택배 언제", "환불", True)]
    assert listed.type == "MFT" and listed.threshold == 0.2 and listed.line == 9
    assert [(c.text, c.label) for c in csv.cases] == [("배송 문의", "배송"), ("환불 문의", "환불")]
    assert (inv.perturbation, inv.rate, inv.column, inv.sample, inv.tolerance) == ("ko-spacing", 0.5, "Q", None, 0.1)
    assert dir_.direction.change == "not_decrease" and dir_.direction.delta == 0.02 and dir_.seed == 3
    assert dir_.texts == ("좋아요", "최고예요") and dir_.capability == "noise"


def test_templates_are_capped_by_a_seeded_sample(tmp_path):
    text = """\
    - name: big
      type: INV
      perturbation: ko-typo
      template: "{a}{b}"
      fill: {a: [가, 나, 다, 라, 마], b: [바, 사, 아, 자]}
      max_cases: 7
    """
    a = load_behaviour(write(tmp_path, text))[0]
    assert len(a.texts) == 7 and len(set(a.texts)) == 7
    assert load_behaviour(write(tmp_path, text))[0].texts == a.texts


@pytest.mark.parametrize("body, line, message", [
    ("- name: x\n  type: INV\n  perturbation: ko-typo\n  treshold: 0.1\n", 4, "did you mean 'threshold'"),
    ("- name: x\n  type: INV\n  perturbation: ko-spaceing\n", 3, "did you mean 'ko-spacing'"),
    ("- name: x\n  type: XYZ\n", 2, "'type' must be one of MFT, INV, DIR"),
    ("- name: x\n  type: INV\n", 1, "needs a 'perturbation'"),
    ("- name: x\n  type: MFT\n  template: '{a} b'\n  fill: {c: [1]}\n  expect: y\n", 3, "slot {a}"),
    ("- name: x\n  type: MFT\n  texts: [a]\n", 1, "need 'expect'"),
    ("- name: x\n  type: MFT\n  cases: [a, {text: b, expct: c}]\n  expect: y\n", 3, "did you mean 'expect'"),
    ("- name: x\n  type: INV\n  perturbation: ko-typo\n  rate: 2\n", 4, "'rate' must be a number above 0"),
    ("- name: x\n  type: INV\n  perturbation: ko-typo\n  rate: 0.5\n  count: 1\n", 5, "not both"),
    ("- name: x\n  type: DIR\n  perturbation: ko-typo\n  expect: {label: a, change: up}\n", 4, "'change' must be"),
    ("- name: x\n  type: DIR\n  perturbation: ko-typo\n", 1, "needs 'expect'"),
    ("- name: x\n  type: MFT\n  csv: missing.csv\n  expect: a\n", 3, "missing.csv"),
    ("- name: x\n  type: INV\n  perturbation: ko-typo\n- name: x\n  type: INV\n  perturbation: ko-typo\n", 4,
     "used twice (first on line 2)"),
    ("- name: x\n  type: INV\n  perturbation: ko-typo\n  column: Q\n  texts: [a]\n", 4, "not both"),
    ("name: x\n", 1, "'behaviour' must be a list"),
])
def test_mistakes_name_file_and_line(tmp_path, body, line, message):
    path = write(tmp_path, "behaviour:\n" + "".join("  " + ln + "\n" for ln in body.splitlines()))
    with pytest.raises(UsageError) as info:
        load_behaviour(path)
    text = str(info.value)
    assert text.startswith(f"{path}, line {line + 1}: "), text
    assert message in text


def test_csv_rows_are_named_in_errors(tmp_path):
    (tmp_path / "c.csv").write_text("text,expect\n배송 문의,배송\n,환불\n", encoding="utf-8")
    path = write(tmp_path, "behaviour:\n  - name: x\n    type: MFT\n    csv: c.csv\n")
    with pytest.raises(UsageError, match=r"line 4: .*c\.csv, row 3: column 'text' is empty"):
        load_behaviour(path)


def test_the_check_suite_loader_hands_the_tests_to_the_check(tmp_path):
    from modelqa.analysis.checks.suite import load_suite

    path = write(tmp_path, "behaviour:\n  - name: spacing\n    type: INV\n    perturbation: ko-spacing\n")
    suite = load_suite(path)
    tests = suite.configs["behaviour.tests"].params["tests"]
    assert [t.name for t in tests] == ["spacing"]
