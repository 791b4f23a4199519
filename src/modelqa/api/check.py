"""``modelqa.check``: judge a model and its data — a QA gate with pass / warn / fail.

Reads the inputs once (``api._check_inputs``), runs the suite's checks on the shared
context (``analysis.checks``: a check that needs an input that is missing is skipped with the
reason; one that crashes is an ``error`` and the rest still run), decides every verdict in
one place (``analysis.checks.verdict``) and writes ``check.json``, ``tables/``,
``report.html`` and, with ``junit``, a JUnit XML file (docs/check.md).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelqa._types import NullProgress, Progress
from modelqa.analysis.checks.context import CheckContext
from modelqa.analysis.checks.registry import REGISTRY, REQUIREMENTS, CheckSpec
from modelqa.analysis.checks.result import CheckConfig, CheckResult, skipped
from modelqa.analysis.checks.suite import Suite, load_suite
from modelqa.analysis.checks.verdict import decide, summary, worst_first
from modelqa.api._check_inputs import build_context, read_input
from modelqa.api._runinfo import command_line, now_iso, versions
from modelqa.errors import UsageError, check_choice

SCHEMA_VERSION = 1
FAIL_ON = ("fail", "warn")
CHECK_FILE = "check.json"
RESULTS_TABLE = "tables/check_results.csv"
EXIT_FAILED = 1


@dataclass(frozen=True)
class CheckRun:
    """The judged results (worst first in ``ordered``), the suite, and the inputs' description."""

    results: tuple[CheckResult, ...]
    suite: Suite
    inputs: Mapping
    fail_on: str = "fail"
    info: Mapping = field(default_factory=dict)
    out: Path | None = None

    @property
    def counts(self) -> dict[str, int]:
        return summary(self.results)

    @property
    def status(self) -> str:
        """"fail" when a check failed or errored, "warn" when one warned, else "pass"."""
        c = self.counts
        return "fail" if c["fail"] or c["error"] else "warn" if c["warn"] else "pass"

    @property
    def exit_code(self) -> int:
        """0 when nothing failed (nothing warned, with ``fail_on="warn"``), else 1."""
        bad = {"fail", "error"} | ({"warn"} if self.fail_on == "warn" else set())
        return EXIT_FAILED if any(r.status in bad for r in self.results) else 0

    @property
    def ordered(self) -> list[CheckResult]:
        return worst_first(self.results)

    def to_dict(self) -> dict:
        """check.json (docs/file-formats.md): stable keys; the same inputs and seed give the same
        document apart from ``created`` and ``timing``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status,
            "exit_code": self.exit_code,
            "fail_on": self.fail_on,
            "alpha": self.suite.alpha,
            "summary": self.counts,
            "inputs": dict(self.inputs),
            "suite": self.suite.to_dict(),
            "results": [_result_dict(r) for r in self.ordered],
            "created": self.info.get("created"),
            "command": self.info.get("command"),
            "versions": self.info.get("versions"),
            "timing": {"total_s": self.info.get("total_s"),
                       "checks_s": {r.id: round(r.seconds, 4) for r in self.results}},
        }


def _result_dict(r: CheckResult) -> dict:
    d = r.to_dict()
    d.pop("seconds", None)
    return d


def check(*, current, reference=None, label_col: str | None = None, text_col: str | None = None,
          id_col: str | None = None, model: str | Path | None = None, baseline: str | Path | None = None,
          suite: str | Path | Mapping | None = None, slice_cols: Sequence[str] = (),
          timestamp_col: str | None = None, window: str | None = None, out: str | Path | None = None,
          junit: str | Path | None = None, fail_on: str = "fail", seed: int = 0, cv: int = 5,
          n_resamples: int = 1000, encoding: str | None = None, sheet=None, batch_size: int = 64,
          device: str = "auto", progress: Progress | None = None, command: str | None = None) -> CheckRun:
    """Run the QA checks on ``current`` (and ``reference``): paths of any format ``evaluate``
    reads, or DataFrames. ``label_col`` / ``text_col`` default to ``label`` / ``text`` when such a
    column exists; the columns no role names are the features. ``model``: a Hugging Face text
    classifier or a modelqa tabular model folder (otherwise prediction columns in ``current``
    — ``prob_<label>`` or ``predicted_label`` — are used when present). ``baseline``: an earlier
    ``evaluate`` / ``check`` run folder on the same rows. ``suite``: a YAML file or mapping
    (docs/check.md); None runs the default suite. ``fail_on="warn"`` makes warnings fail the
    exit code too."""
    t0 = time.perf_counter()
    progress = progress or NullProgress()
    fail_on = check_choice(fail_on, "fail_on", FAIL_ON)
    if cv < 2:
        raise UsageError(f"cv must be at least 2 folds, not {cv}")
    if window is not None:
        from modelqa.analysis.checks.windows import parse_window

        parse_window(window)
    the_suite = load_suite(suite)
    cur = read_input(current, name="current", encoding=encoding, sheet=sheet)
    ref = read_input(reference, name="reference", encoding=encoding, sheet=sheet) if reference is not None else None
    ctx = build_context(current=cur, reference=ref, label_col=label_col, text_col=text_col, id_col=id_col,
                        timestamp_col=timestamp_col, window=window, slice_cols=slice_cols, model=model,
                        seed=seed, cv=cv, n_resamples=n_resamples, batch_size=batch_size, device=device,
                        progress=progress)
    if baseline is not None:
        from modelqa.api.compare import load_run

        ctx.baseline = load_run(baseline)
        if ctx.current.pred is not None and ctx.current.y is not None:
            from modelqa.analysis.checks.regression import align, current_run

            align(ctx.baseline, current_run(ctx))  # runs on other rows are refused before any check runs
    results = run_suite(ctx, the_suite, progress=progress)
    inputs = {
        "current": {"path": cur.path, "sha256": cur.sha256, "rows": len(cur.frame)},
        "reference": None if ref is None else {"path": ref.path, "sha256": ref.sha256, "rows": len(ref.frame)},
        "model": None if model is None else str(model),
        "baseline": None if baseline is None else str(baseline),
        "columns": {"label": ctx.label_col, "text": ctx.text_col, "id": ctx.id_col,
                    "timestamp": ctx.timestamp_col, "slices": list(ctx.slice_cols),
                    "features": {c: ctx.column_kinds.get(c) for c in ctx.feature_cols}},
        "labels": ctx.labels, "window": window, "seed": seed, "cv": cv,
    }
    info = {"created": now_iso(), "command": command_line(command), "versions": versions(),
            "total_s": round(time.perf_counter() - t0, 3)}
    run = CheckRun(results=tuple(results), suite=the_suite, inputs=inputs, fail_on=fail_on, info=info,
                   out=Path(out) if out is not None else None)
    if out is not None:
        write_run(run, ctx, Path(out))
    if junit is not None:
        from modelqa.report.junit import write_junit

        write_junit(run, Path(junit))
    return run


def run_suite(ctx: CheckContext, suite: Suite, *, progress: Progress | None = None) -> list[CheckResult]:
    """Every configured check on ``ctx``, in registry order, judged (``verdict.decide``)."""
    progress = progress or NullProgress()
    results: list[CheckResult] = []
    progress.start(len(suite.configs), "Checking")
    try:
        for name, cfg in suite.configs.items():
            spec = REGISTRY[name]
            results.extend(_run_one(spec, cfg, ctx))
            progress.advance(1)
    finally:
        progress.finish()
    return decide(results, alpha=suite.alpha)


def missing_requirements(spec: CheckSpec, ctx: CheckContext, cfg: CheckConfig | None = None) -> list[str]:
    have = {
        "reference": ctx.reference is not None,
        "labels": ctx.current.y is not None,
        "reference_labels": ctx.reference is not None and ctx.reference.y is not None,
        "predictions": ctx.current.pred is not None,
        "probs": ctx.current.probs is not None,
        "text": ctx.text_col is not None and ctx.current.texts is not None,
        "model": ctx.model is not None,
        "text_model": ctx.model is not None and ctx.model.tokenize is not None,
        "baseline": ctx.baseline is not None,
        "timestamp": ctx.timestamp_col is not None and ctx.window is not None,
        "slices": bool(ctx.slice_cols),
        "behaviour": bool(cfg is not None and cfg.params.get("tests")),
    }
    return [REQUIREMENTS[r] for r in spec.requires if not have[r]]


def _run_one(spec: CheckSpec, cfg: CheckConfig, ctx: CheckContext) -> list[CheckResult]:
    missing = missing_requirements(spec, ctx, cfg)
    if missing:
        return [skipped(spec.name, spec.category, "; ".join(missing))]
    t = time.perf_counter()
    try:
        out = list(spec.run(ctx, cfg))
    except Exception as exc:  # a crashing check is an error result, never a failed run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"{exc.__class__.__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
        return [CheckResult(check=spec.name, category=spec.category, status="error", reason=reason,
                            seconds=time.perf_counter() - t)]
    seconds = time.perf_counter() - t
    if not out:
        return [skipped(spec.name, spec.category, "nothing to check in these inputs")]
    share = seconds / len(out)
    return [r if r.seconds else r.with_(seconds=share) for r in out]


def write_run(run: CheckRun, ctx: CheckContext, out: Path) -> None:
    """check.json, tables/check_results.csv, predictions.csv (when there were predictions) and
    report.html, each written atomically."""
    import pandas as pd

    from modelqa._atomic import write_json
    from modelqa.report.qa_html import write_qa_report
    from modelqa.report.tables import write_table

    doc = run.to_dict()
    rows = [{k: r.get(k) for k in ("status", "category", "check", "target", "metric", "value", "threshold",
                                   "bad_when", "p_value", "q_value", "n", "test", "reason")}
            for r in doc["results"]]
    write_table(pd.DataFrame(rows), out / RESULTS_TABLE)
    if ctx.current.pred is not None and ctx.labels is not None:
        from modelqa.api._frames import predictions_frame

        y = ctx.current.y
        y_true = y if y is not None and (y >= 0).all() else None
        ids = (ctx.id_col, ctx.current.frame[ctx.id_col].tolist()) if ctx.id_col else None
        frame = predictions_frame(labels=ctx.labels, y_pred=ctx.current.pred, probs=ctx.current.probs,
                                  y_true=y_true, texts=ctx.current.texts, ids=ids)
        write_table(frame, out / "predictions.csv")
    write_qa_report(doc, out / "report.html")
    write_json(out / CHECK_FILE, doc)
