"""The result of ``modelqa.evaluate``: metrics, tables and the files they are saved as."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from modelqa import _atomic
from modelqa.errors import UsageError

# File names inside a run folder (a documented contract: docs/file-formats.md).
# A regression run has no confusions.csv or distribution.csv.
RUN_FILES = {
    "predictions": "predictions.csv",
    "metrics": "metrics.json",
    "errors": "errors.csv",
    "confusions": "confusions.csv",
    "distribution": "distribution.csv",
    "run": "run.json",
    "report": "report.html",
}


@dataclass
class Evaluation:
    """Everything one evaluation produced.

    ``result`` is the metrics.json document; ``predictions`` has one row per input row;
    ``errors`` the misclassified rows (most confident first); ``confusions`` the most
    confused (true, predicted) pairs; ``distribution`` predicted vs true counts per class.
    For a regression run (``task == "regression"``) ``errors`` holds the rows with the
    largest absolute residuals, ``confusions`` and ``distribution`` are empty, and
    ``per_class`` / ``confusion`` raise UsageError.
    """

    result: dict
    predictions: pd.DataFrame
    errors: pd.DataFrame
    confusions: pd.DataFrame
    distribution: pd.DataFrame
    run_info: dict = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def metrics(self) -> dict:
        """The headline metrics (accuracy, f1_macro, …) as a flat dict."""
        return self.result["metrics"]

    @property
    def task(self) -> str:
        """``"binary"``, ``"multiclass"`` or ``"regression"``."""
        return str(self.result["task"])

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"

    @property
    def labels(self) -> list[str]:
        """Class names in model order (empty for a regression run)."""
        return list(self.result.get("labels") or [])

    def _classification_only(self, what: str) -> None:
        if self.is_regression:
            raise UsageError(f"a regression run has no {what}; see .metrics, .predictions (residual) "
                             "and .errors (largest residuals)")

    @property
    def per_class(self) -> pd.DataFrame:
        """One row per class (model order): precision, recall, f1, support, predicted_count, AUC, AP."""
        self._classification_only("per-class metrics")
        return pd.DataFrame.from_dict(self.result["per_class"], orient="index")

    @property
    def confusion(self) -> pd.DataFrame:
        """Confusion-matrix counts: rows are true labels, columns predicted labels."""
        self._classification_only("confusion matrix")
        cm = self.result["confusion_matrix"]
        return pd.DataFrame(cm["counts"], index=pd.Index(cm["labels"], name="true"),
                            columns=pd.Index(cm["labels"], name="predicted"))

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the run folder (every file atomically); returns the paths written."""
        from modelqa.report.html import render_html
        from modelqa.report.tables import write_table

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        skip = {"confusions", "distribution"} if self.is_regression else set()
        paths = {key: out / name for key, name in RUN_FILES.items() if key not in skip}
        html = render_html(self.result, self.predictions, self.errors, self.confusions, self.distribution,
                           self.run_info)
        write_table(self.predictions, paths["predictions"])
        write_table(self.errors, paths["errors"])
        if not self.is_regression:
            write_table(self.confusions, paths["confusions"])
            write_table(self.distribution, paths["distribution"])
        _atomic.write_json(paths["metrics"], self.result)
        _atomic.write_json(paths["run"], self.run_info)
        _atomic.write_text(paths["report"], html)
        self.paths = paths
        return paths

    def __repr__(self) -> str:
        m = self.metrics
        if self.is_regression:
            return (f"Evaluation(n={self.result['n_samples']}, task='regression', r2={_fmt(m.get('r2'))}, "
                    f"rmse={_fmt(m.get('rmse'))}, mae={_fmt(m.get('mae'))})")
        return (f"Evaluation(n={self.result['n_samples']}, task={self.result['task']!r}, "
                f"accuracy={m.get('accuracy'):.4f}, f1_macro={m.get('f1_macro'):.4f}, "
                f"errors={len(self.errors)})")


def _fmt(value) -> str:
    return "None" if value is None else f"{value:.4g}"
