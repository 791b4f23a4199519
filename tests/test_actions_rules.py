"""Business-action rules (modelqa.analysis.rules): every parse error names the file and the
line, matching semantics (first match wins, inclusive bounds, label lists, default, rows
without confidence), and the per-action summary against a hand computation."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from modelqa.analysis.rules import (
    ActionRules,
    Rule,
    action_summary,
    add_action_column,
    load_rules,
    parse_rules,
    resolve_rules,
    summary_line,
)
from modelqa.errors import UsageError

LABELS = ["premium_candidate", "churn", "likely_churn", "stay"]
EXAMPLE = """\
default: "no action"
rules:
  - label: premium_candidate          # predicted label
    min_confidence: 0.8               # optional, inclusive
    action: "offer premium plan"
  - max_confidence: 0.5               # a rule without label matches any label
    action: "send to human review"
  - label: [churn, likely_churn]
    action: "call within 24h"
"""


def write(tmp_path, text, name="actions.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_example_parses(tmp_path):
    rules = load_rules(write(tmp_path, EXAMPLE), labels=LABELS)
    assert rules.default == "no action"
    assert [r.action for r in rules.rules] == ["offer premium plan", "send to human review", "call within 24h"]
    assert rules.rules[0] == Rule(action="offer premium plan", labels=("premium_candidate",), min_confidence=0.8,
                                  line=3, label_lines=(3,))
    assert rules.rules[1].labels is None and rules.rules[1].max_confidence == 0.5
    assert rules.rules[2].labels == ("churn", "likely_churn") and rules.rules[2].line == 8
    assert [rules.describe(r) for r in rules.rules] == [
        "label = premium_candidate and confidence ≥ 0.80", "confidence ≤ 0.50", "label in {churn, likely_churn}"]
    assert rules.describe(None) == "no rule matched (default)"


# (yaml, labels checked?, fragments the message must hold besides the file name)
BAD = {
    "syntax error": ("rules:\n  - label: a\n    action: [unclosed\n", ["line 4", "not valid YAML"]),
    "tab indentation": ("rules:\n\t- action: x\n", ["line 2", "column 1", "not valid YAML"]),
    "two documents": ("rules: []\n---\nrules: []\n", ["line 2", "not valid YAML"]),
    "empty file": ("", ["empty"]),
    "comment only": ("# nothing here\n", ["empty"]),
    "not a mapping": ("- label: churn\n  action: x\n", ["line 1", "must be a mapping", "a list"]),
    "scalar document": ("just text\n", ["line 1", "must be a mapping", "text ('just text')"]),
    "unknown top key": ("default: x\nrule:\n  - action: y\n", ["line 2", "unknown key 'rule'", "default, rules",
                                                               "did you mean 'rules'?"]),
    "no rules": ("default: x\n", ["line 1", "no 'rules'"]),
    "empty rules list": ("default: x\nrules: []\n", ["line 2", "rules is empty"]),
    "null rules": ("default: x\nrules:\n", ["line 2", "rules is empty"]),
    "rules not a list": ("rules:\n  label: churn\n  action: x\n", ["line 2", "must be a list", "a mapping"]),
    "rule not a mapping": ("rules:\n  - call them\n", ["line 2", "rule 1", "must be a mapping"]),
    "unknown rule key": ("rules:\n  - label: churn\n    min_conf: 0.5\n    action: x\n",
                         ["line 3", "rule 1", "unknown key 'min_conf'", "label, min_confidence, max_confidence, "
                          "action", "did you mean 'min_confidence'?"]),
    "labels instead of label": ("rules:\n  - action: a\n    label: churn\n  - labels: [churn]\n    action: x\n",
                                ["line 4", "rule 2", "unknown key 'labels'", "did you mean 'label'?"]),
    "rule without action": ("default: x\nrules:\n  - label: churn\n  - label: stay\n    min_confidence: 0.9\n",
                            ["line 3", "rule 1", "no 'action'"]),
    "action not text": ("rules:\n  - label: churn\n    action: yes\n", ["line 3", "action must be text",
                                                                        "true/false"]),
    "action empty": ("rules:\n  - label: churn\n    action: \"  \"\n", ["line 3", "action is empty"]),
    "default a list": ("default: [a, b]\nrules:\n  - action: x\n", ["line 1", "default must be text", "a list"]),
    "confidence above 1": ("rules:\n  - min_confidence: 1.5\n    action: x\n",
                           ["line 2", "rule 1", "min_confidence 1.5 is outside [0, 1]"]),
    "confidence below 0": ("rules:\n  - label: churn\n    action: a\n  - max_confidence: -0.1\n    action: x\n",
                           ["line 4", "rule 2", "max_confidence -0.1 is outside [0, 1]"]),
    "confidence as percent text": ("rules:\n  - min_confidence: 80%\n    action: x\n",
                                   ["line 2", "min_confidence must be a number", "text ('80%')"]),
    "confidence bool": ("rules:\n  - min_confidence: true\n    action: x\n", ["line 2", "must be a number"]),
    "confidence nan": ("rules:\n  - min_confidence: .nan\n    action: x\n", ["line 2", "outside [0, 1]"]),
    "min above max": ("rules:\n  - label: churn\n    min_confidence: 0.9\n    max_confidence: 0.5\n    action: x\n",
                      ["line 3", "rule 1", "min_confidence 0.90 is greater than max_confidence 0.50"]),
    "label empty list": ("rules:\n  - label: []\n    action: x\n", ["line 2", "label is an empty list"]),
    "label null": ("rules:\n  - label:\n    action: x\n", ["line 2", "label must be a class name", "nothing"]),
    "label nested": ("rules:\n  - label: [[churn]]\n    action: x\n", ["line 2", "label must be a class name"]),
    "unknown label": ("rules:\n  - label: premium_candidate\n    action: a\n  - label:\n      - churn\n      - churned\n"
                      "    action: x\n", ["line 6", "rule 2", "'churned' is not a label the model knows",
                                          "premium_candidate, churn, likely_churn, stay", "did you mean 'churn'?"]),
    "duplicate key": ("rules:\n  - label: churn\n    action: a\n    action: b\n", ["line 4", "'action' is given twice",
                                                                                   "line 3"]),
    "unsafe tag": ("rules:\n  - action: !!python/object/apply:os.system [echo hi]\n",
                   ["line 2", "column 13", "tag:yaml.org,2002:python/object/apply:os.system is not allowed"]),
    "custom tag": ("rules:\n  - action: !shout hi\n", ["line 2", "tag !shout is not allowed"]),
    "unreachable after catch-all": ("rules:\n  - action: everyone\n  - label: churn\n    action: x\n",
                                    ["line 3", "rule 2", "can never match", "rule 1"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_rules_name_file_and_line(case, tmp_path):
    text, fragments = BAD[case]
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        load_rules(path, labels=LABELS)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_unknown_label_first_name_is_checked_too(tmp_path):
    path = write(tmp_path, "rules:\n  - label: premium\n    action: a\n")
    with pytest.raises(UsageError, match=r"line 2: rule 1: label 'premium' is not a label the model knows"):
        load_rules(path, labels=LABELS)
    assert load_rules(path).rules[0].labels == ("premium",)  # without labels only the structure is checked


def test_missing_file_and_folder(tmp_path):
    (tmp_path / "actions.yaml").write_text(EXAMPLE, encoding="utf-8")
    with pytest.raises(UsageError, match="no such file; similar: actions.yaml"):
        load_rules(tmp_path / "action.yaml")
    with pytest.raises(UsageError, match="is a folder"):
        load_rules(tmp_path)


def test_not_utf8(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_bytes(b"rules:\n  - action: x\n  - action: " + "고객".encode("cp949") + b"\n")
    with pytest.raises(UsageError, match=r"line 3: not UTF-8"):
        load_rules(path)


def test_numeric_and_hangul_labels_are_their_text(tmp_path):
    path = write(tmp_path, "rules:\n  - label: [1, 5, 긍정]\n    action: 전화하기\n")
    rules = load_rules(path, labels=["1", "2", "5", "긍정"])
    assert rules.rules[0].labels == ("1", "5", "긍정")
    assert rules.apply(["5", "2", "긍정"]).tolist() == ["전화하기", "no action", "전화하기"]


def test_default_is_optional(tmp_path):
    rules = load_rules(write(tmp_path, "rules:\n  - label: churn\n    action: call\n"), labels=LABELS)
    assert rules.default == "no action"


def test_parsed_mapping_and_resolve(tmp_path):
    spec = {"default": "none", "rules": [{"label": "churn", "max_confidence": 1, "action": "call"}]}
    rules = parse_rules(spec, labels=LABELS)
    assert rules.source == "<mapping>" and rules.rules[0].max_confidence == 1.0
    assert resolve_rules(rules) is rules
    assert resolve_rules(spec).rules == rules.rules
    assert resolve_rules(str(write(tmp_path, EXAMPLE))).rules[2].action == "call within 24h"
    with pytest.raises(UsageError, match=r"<mapping>: rule 1: no 'action'|<mapping>: rule 1: the rule has no"):
        parse_rules({"rules": [{"label": "churn"}]})
    with pytest.raises(UsageError, match=r"<mapping>: rule 1: label 'nope'"):
        parse_rules({"rules": [{"label": "nope", "action": "x"}]}, labels=LABELS)
    with pytest.raises(UsageError, match="file path, a mapping or ActionRules"):
        resolve_rules(42)


# ------------------------------------------------------------------ matching


def rules_of(*rules: Rule, default="default") -> ActionRules:
    return ActionRules(rules=tuple(rules), default=default)


def test_first_match_wins():
    rules = rules_of(Rule("A", labels=("churn",)), Rule("B", max_confidence=0.5), Rule("C", labels=("churn",)))
    got = rules.apply(["churn", "churn", "stay", "stay"], [0.3, 0.9, 0.3, 0.9])
    assert got.tolist() == ["A", "A", "B", "default"]
    assert rules.match(["churn", "stay", "stay"], [0.3, 0.3, 0.9]).tolist() == [0, 1, 3]


def test_confidence_bounds_are_inclusive():
    rules = rules_of(Rule("in", min_confidence=0.5, max_confidence=0.8))
    conf = np.array([0.4999, 0.5, 0.65, 0.8, 0.8001])
    assert rules.apply(["x"] * 5, conf).tolist() == ["default", "in", "in", "in", "default"]


def test_label_lists():
    rules = rules_of(Rule("call", labels=("churn", "likely_churn")))
    assert rules.apply(["churn", "likely_churn", "stay"], [0.9, 0.9, 0.9]).tolist() == ["call", "call", "default"]


def test_rows_without_confidence_match_only_unbounded_rules():
    rules = rules_of(Rule("review", max_confidence=0.5), Rule("offer", labels=("premium",), min_confidence=0.0),
                     Rule("call", labels=("churn",)))
    # no confidence at all, or a missing one in some rows
    assert rules.apply(["premium", "churn", "stay"]).tolist() == ["default", "call", "default"]
    assert rules.apply(["premium", "premium"], [np.nan, 0.9]).tolist() == ["default", "offer"]


def test_apply_is_vectorised_over_many_rows():
    rng = np.random.default_rng(0)
    n = 200_000
    labels = rng.choice(LABELS, size=n)
    conf = rng.random(n)
    rules = rules_of(Rule("offer", labels=("premium_candidate",), min_confidence=0.8),
                     Rule("review", max_confidence=0.5), Rule("call", labels=("churn", "likely_churn")))
    got = rules.apply(labels, conf)
    expected = np.where((labels == "premium_candidate") & (conf >= 0.8), "offer",
                        np.where(conf <= 0.5, "review",
                                 np.where(np.isin(labels, ["churn", "likely_churn"]), "call", "default")))
    assert (got.astype(str) == expected).all()


# ------------------------------------------------------------------ summary


def test_summary_against_hand_computation(tmp_path):
    rules = load_rules(write(tmp_path, EXAMPLE), labels=LABELS)
    pred = ["premium_candidate", "premium_candidate", "churn", "stay", "likely_churn", "stay", "churn", "stay"]
    conf = [0.85, 0.80, 0.90, 0.40, 0.70, 0.95, 0.30, 0.60]
    correct = [True, False, True, True, False, True, False, False]
    acts = rules.apply(pred, conf)
    assert acts.tolist() == ["offer premium plan", "offer premium plan", "call within 24h", "send to human review",
                             "call within 24h", "no action", "send to human review", "no action"]
    summary = action_summary(acts, correct, rules)
    assert summary == {
        "file": str(tmp_path / "actions.yaml"), "default": "no action",
        "per_action": [
            {"action": "offer premium plan", "count": 2, "share": 0.25, "accuracy": 0.5,
             "rule": "label = premium_candidate and confidence ≥ 0.80"},
            {"action": "send to human review", "count": 2, "share": 0.25, "accuracy": 0.5,
             "rule": "confidence ≤ 0.50"},
            {"action": "call within 24h", "count": 2, "share": 0.25, "accuracy": 0.5,
             "rule": "label in {churn, likely_churn}"},
            {"action": "no action", "count": 2, "share": 0.25, "accuracy": 0.5, "rule": "no rule matched (default)"},
        ]}
    no_labels = action_summary(acts, None, rules)
    assert [r["accuracy"] for r in no_labels["per_action"]] == [None] * 4
    assert summary_line(summary).startswith("offer premium plan 2 (25%, accuracy 50%); send to human review 2")


def test_summary_shared_actions_and_zero_counts():
    rules = rules_of(Rule("call", labels=("churn",)), Rule("review", max_confidence=0.3),
                     Rule("call", labels=("stay",), min_confidence=0.95), default="review")
    acts = rules.apply(["churn", "x"], [0.5, 0.5])
    summary = action_summary(acts, [True, True], rules)
    assert [(r["action"], r["count"], r["accuracy"]) for r in summary["per_action"]] == [
        ("call", 1, 1.0), ("review", 1, 1.0)]
    assert summary["per_action"][0]["rule"] == "label = churn or label = stay and confidence ≥ 0.95"
    assert summary["per_action"][1]["rule"] == "confidence ≤ 0.30 or no rule matched (default)"
    zero = action_summary(rules.apply(["churn"], [0.5]), [False], rules)
    assert zero["per_action"][1] == {"action": "review", "count": 0, "share": 0.0, "accuracy": None,
                                     "rule": "confidence ≤ 0.30 or no rule matched (default)"}


def test_action_column_position():
    import pandas as pd

    frame = pd.DataFrame({"id": [1], "predicted_label": ["a"], "confidence": [0.9], "correct": [True],
                          "prob_a": [0.9], "prob_b": [0.1]})
    assert list(add_action_column(frame, ["x"]).columns) == ["id", "predicted_label", "confidence", "action",
                                                              "correct", "prob_a", "prob_b"]
    no_conf = pd.DataFrame({"true_label": ["a"], "predicted_label": ["a"], "correct": [True]})
    assert list(add_action_column(no_conf, ["x"]).columns) == ["true_label", "predicted_label", "action", "correct"]
