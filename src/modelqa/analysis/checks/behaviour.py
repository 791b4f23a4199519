"""The behaviour check family: ``behaviour.tests`` runs a suite's MFT / INV / DIR tests
(``analysis.behaviour``) with the model's ``predict_proba``, one result per test.

value = the failure rate (INV / DIR: among the texts the perturbation changed), threshold =
the test's, n = the cases judged, p = one-sided binomial test of "the failure rate exceeds the
threshold", so the central verdict fails a test only for a significant excess.

Without tests in the suite, a model whose ``modelqa.json`` names its training data gets the
default suite: typo and spacing invariance on a seeded sample of its test split, in the
language of the texts (Korean when most letters are Hangul).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from modelqa.analysis.behaviour import BehaviourTest, Outcome, run_test
from modelqa.analysis.checks.context import CheckContext
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import CheckConfig, CheckResult, skipped
from modelqa.errors import UsageError

NAME, CATEGORY = "behaviour.tests", "behaviour"
DEFAULT_TESTS = {
    "ko": (("typo invariance", "ko-typo"), ("spacing invariance", "ko-spacing")),
    "en": (("typo invariance", "en-typo"), ("spacing invariance", "en-spacing")),
}


@register(NAME, requires=("text_model",), defaults={
    "tests": None,            # the parsed ``behaviour:`` list (None: the default suite)
    "default_threshold": 0.1,  # default suite: the failure rate an INV test may reach
    "default_tolerance": 0.1,  # default suite: how far P(original label) may move when the label changes
    "default_sample": 500,     # default suite: test-split rows sampled (seeded)
    "default_min_n": 20,       # default suite: changed texts needed before a test may fail
}, description="behaviour tests (MFT / INV / DIR) of a text model; default: typo and spacing invariance")
def behaviour_tests(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    """Behaviour tests of a text model: one result per test."""
    tests = cfg.get("tests")
    source_note = None
    if not tests:
        tests, texts, source_note = default_suite(ctx, cfg)
        if not tests:
            return [skipped(NAME, CATEGORY, source_note)]
        return [result_of(run_test(t, ctx.model.predict_proba, ctx.model.labels, texts=texts, seed=ctx.seed),
                          note=source_note) for t in tests]
    results = []
    for test in tests:
        if not isinstance(test, BehaviourTest):
            raise TypeError(f"{NAME}: tests must be BehaviourTest objects from parse_behaviour, not {type(test)}")
        texts = None
        if test.type != "MFT" and not test.texts:
            texts = _column_texts(ctx, test)
            if texts is None:
                results.append(skipped(NAME, CATEGORY, f"test {test.name!r} names no column and lists no texts, "
                                       "and the run has no text column (--text-col)", target=test.name))
                continue
        results.append(result_of(run_test(test, ctx.model.predict_proba, ctx.model.labels, texts=texts,
                                          seed=ctx.seed)))
    return results


def _column_texts(ctx: CheckContext, test: BehaviourTest) -> list[str] | None:
    frame = ctx.current.frame
    column = test.column or ctx.text_col
    if column is None:
        return None
    if column not in frame.columns:
        near = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=1, cutoff=0.6)
        at = f"{test.source}, line {test.line}: " if test.source and test.line else ""
        raise UsageError(f"{at}behaviour test {test.name!r}: {ctx.current.path or 'the data'} has no column "
                         f"{column!r}" + (f"; did you mean {near[0]!r}?" if near else "")
                         + f" (columns: {', '.join(map(str, frame.columns))})")
    if test.column is None and ctx.current.texts is not None:
        return list(ctx.current.texts)
    return [str(v) for v in frame[column].tolist() if v is not None and v == v]


def result_of(outcome: Outcome, *, note: str | None = None) -> CheckResult:
    test = outcome.test
    details = {"type": test.type, "capability": test.capability, "failures": outcome.failures,
               "cases": outcome.cases, "seed": outcome.seed}
    if test.type != "MFT":
        details.update(perturbation=test.perturbation, amount=outcome.amount, changed=outcome.changed,
                       changed_share=outcome.changed_share,
                       applicable_share=outcome.applicable / outcome.cases if outcome.cases else None)
        if test.type == "INV":
            details["tolerance"] = test.tolerance
        else:
            details["expectation"] = test.direction.describe()
    if note:
        details["data"] = note
    if outcome.n == 0:
        what = "has no cases" if test.type == "MFT" else f"changed none of the {outcome.cases} texts it was given"
        return CheckResult(check=NAME, category=CATEGORY, target=test.name, metric="failure_rate",
                           threshold=test.threshold, n=0, min_n=test.min_n, details=details, status="skipped",
                           reason=f"{test.perturbation or 'the test'} {what}")
    return CheckResult(check=NAME, category=CATEGORY, target=test.name, metric="failure_rate",
                       value=outcome.failure_rate, threshold=test.threshold, bad_when="above",
                       p_value=outcome.p_value, n=outcome.n, min_n=test.min_n, interval=outcome.interval,
                       test="binomial", statistic=float(outcome.failures), examples=outcome.examples,
                       details=details)


def default_suite(ctx: CheckContext, cfg: CheckConfig) -> tuple[list[BehaviourTest], list[str] | None, str]:
    """(tests, texts, note): typo and spacing INV tests on the model's test split (else
    ``--current``'s text column) in the texts' language; no tests and the reason when there is
    no data to test on."""
    from modelqa.analysis.perturb.hangul import hangul_share

    info = getattr(ctx.model, "info", None)
    if not info:
        return [], None, ("no behaviour tests in the suite, and the model folder has no modelqa.json naming "
                          "its training data for the default suite")
    texts, note = _test_split_texts(ctx, info)
    if texts is None and ctx.current is not None and ctx.current.texts:
        texts, note = list(ctx.current.texts), f"the model's test split was not found; used {ctx.current.path or '--current'}"
    if not texts:
        return [], None, (f"no behaviour tests in the suite, and neither the model's test split ({note}) nor "
                          "a text column in --current was found for the default suite")
    probe = texts[: 2000]
    language = "ko" if sum(hangul_share(t) for t in probe) / len(probe) > 0.5 else "en"
    tests = [BehaviourTest(name=f"{what} ({pert})", type="INV", capability="robustness",
                           threshold=float(cfg.get("default_threshold", 0.1)), min_n=int(cfg.get("default_min_n", 20)),
                           perturbation=pert, sample=int(cfg.get("default_sample", 500)),
                           tolerance=float(cfg.get("default_tolerance", 0.1)))
             for what, pert in DEFAULT_TESTS[language]]
    return tests, texts, note


def _test_split_texts(ctx: CheckContext, info: dict) -> tuple[list[str] | None, str]:
    """The test split's texts: ``MODEL/evaluation/test_split.csv`` (written by ``modelqa train
    text``) or the ``test_data`` file modelqa.json names."""
    from modelqa.data.load import read_table

    text_col = info.get("text_col") or "text"
    candidates = []
    if ctx.model.path:
        candidates.append(Path(ctx.model.path) / "evaluation" / "test_split.csv")
    test_data = (info.get("data_files") or {}).get("test_data")
    if test_data:
        candidates.append(Path(test_data))
    for path in candidates:
        if path.is_file():
            frame = read_table(path)
            if text_col in frame.columns:
                texts = [str(v) for v in frame[text_col].tolist() if v is not None and v == v and str(v).strip()]
                return texts, f"test split {path} (column {text_col})"
    looked = ", ".join(str(p) for p in candidates) or "no path"
    return None, f"looked for {looked}"
