"""The result of ``modelqa.evaluate``: metrics, tables and the files they are saved as."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from modelqa import _atomic
from modelqa.errors import DataError, UsageError

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


#: Sub-folders of a run folder: every figure of report.html as PNG, every table as CSV.
FIGURES_DIR = "figures"
TABLES_DIR = "tables"
#: The training history looked for in the model folder (its learning curves go into the report).
HISTORY_FILE = "history.json"


def learning_curves(model_dir: str | Path | None, history: str | Path | None = None) -> dict | None:
    """The learning curves of ``history`` (a training-history file: modelqa history.json, Keras
    History.history JSON, trainer_state.json), else of ``<model_dir>/history.json``, as plain data
    for the report (epochs, losses, main metric, best epoch, diagnosis findings), ``{"error": ...}``
    when the file cannot be read, or None when there is no such file."""
    if history:
        path = Path(history)
    elif model_dir:
        path = Path(model_dir) / HISTORY_FILE
    else:
        return None
    if not path.is_file():
        return None
    from modelqa.analysis.curves import diagnose
    from modelqa.analysis.history import read_history
    from modelqa.errors import DataError

    try:
        history = read_history(path)
    except DataError as exc:
        return {"error": str(exc)}
    diagnosis = diagnose(history)
    metric = history.main_metric

    def plain(series) -> list | None:
        return None if series is None else list(series)

    return {
        "source": str(path),
        "epochs": list(history.epochs),
        "train_loss": plain(history.train_loss),
        "val_loss": plain(history.val_loss),
        "metric": metric,
        "train_metric": plain(history.train_metrics.get(metric)) if metric else None,
        "val_metric": plain(history.val_metrics.get(metric)) if metric else None,
        "best_epoch": diagnosis.best_epoch,
        "loss_best_epoch": diagnosis.best_epoch if diagnosis.monitor == "val_loss" else None,
        "findings": [f.to_dict() for f in diagnosis.findings],
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
    #: What the report draws, computed from the full data (api._report_data): curve points,
    #: reliability table, confidence histogram. Saved under tables/; None for regression.
    report_data: dict[str, pd.DataFrame] | None = None

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
        from modelqa.report.tables import write_table

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        skip = {"confusions", "distribution"} if self.is_regression else set()
        paths = {key: out / name for key, name in RUN_FILES.items() if key not in skip}
        html, report_paths = self._render(out)
        write_table(self.predictions, paths["predictions"])
        write_table(self.errors, paths["errors"])
        if not self.is_regression:
            write_table(self.confusions, paths["confusions"])
            write_table(self.distribution, paths["distribution"])
        _atomic.write_json(paths["metrics"], self.result)
        _atomic.write_json(paths["run"], self.run_info)
        _atomic.write_text(paths["report"], html)
        self.paths = {**paths, **report_paths}
        return self.paths

    def write_report(self, out_dir: str | Path) -> dict[str, Path]:
        """Render report.html, figures/ and tables/ again (``modelqa report RUN_DIR``),
        leaving the data files of the run as they are."""
        out = Path(out_dir)
        html, paths = self._render(out)
        paths["report"] = out / RUN_FILES["report"]
        _atomic.write_text(paths["report"], html)
        return paths

    def _render(self, out: Path) -> tuple[str, dict[str, Path]]:
        """The page, with every figure written to figures/*.png and every table to tables/*.csv."""
        from modelqa.report.html import render_report
        from modelqa.report.tables import write_table

        curves = learning_curves(self.run_info.get("model"), self.run_info.get("history"))
        rendered = render_report(self.result, self.predictions, self.errors, self.confusions, self.distribution,
                                 self.run_info, curves=curves, report_data=self.report_data)
        paths: dict[str, Path] = {}
        for folder, items in ((FIGURES_DIR, rendered.figures), (TABLES_DIR, rendered.tables)):
            if items:
                (out / folder).mkdir(parents=True, exist_ok=True)
                paths[folder] = out / folder
        for name, png in rendered.figures.items():
            with _atomic.atomic_path(out / FIGURES_DIR / f"{name}.png") as tmp:
                tmp.write_bytes(png)
        tables = {**(self.report_data or {}), **rendered.tables}  # report data: what the page is drawn from
        if tables:
            (out / TABLES_DIR).mkdir(parents=True, exist_ok=True)
            paths[TABLES_DIR] = out / TABLES_DIR
        for name, table in tables.items():
            write_table(table, out / TABLES_DIR / f"{name}.csv")
        return rendered.html, paths

    @classmethod
    def load(cls, run_dir: str | Path) -> Evaluation:
        """An Evaluation read back from a run folder written by ``save``."""
        import json

        from modelqa.report.tables import read_csv_back

        run = Path(run_dir)
        missing = [RUN_FILES[k] for k in ("metrics", "predictions", "errors") if not (run / RUN_FILES[k]).is_file()]
        if not run.is_dir() or missing:
            raise DataError(f"{run} is not a modelqa run folder"
                            + (f" (missing {', '.join(missing)})" if run.is_dir() else " (no such folder)"),
                            hint="give the --out folder of modelqa evaluate")
        try:
            result = json.loads((run / RUN_FILES["metrics"]).read_text(encoding="utf-8"))
            run_info = json.loads((run / RUN_FILES["run"]).read_text(encoding="utf-8")) \
                if (run / RUN_FILES["run"]).is_file() else {}
        except json.JSONDecodeError as exc:
            raise DataError(f"{run}: metrics.json or run.json is not valid JSON ({exc})") from exc

        def table(key: str) -> pd.DataFrame:
            path = run / RUN_FILES[key]
            return read_csv_back(path) if path.is_file() else pd.DataFrame()

        from modelqa.api._report_data import REPORT_TABLES

        data = {name: read_csv_back(run / TABLES_DIR / f"{name}.csv") for name in REPORT_TABLES
                if (run / TABLES_DIR / f"{name}.csv").is_file()}
        data = data if "curve_summary" in data or "calibration" in data else None  # else: from predictions.csv
        return cls(result=result, predictions=table("predictions"), errors=table("errors"),
                   confusions=table("confusions"), distribution=table("distribution"), run_info=run_info,
                   report_data=data)

    def _repr_html_(self) -> str:
        """A compact summary for Jupyter: headline numbers and the per-class table."""
        from modelqa.report.html import render_compact_html

        n_errors = None
        if not self.is_regression:
            if "correct" in self.predictions.columns:
                n_errors = int((~self.predictions["correct"].fillna(False).astype(bool)).sum())
            else:
                n_errors = len(self.errors)
        subject = str(self.run_info.get("model") or self.run_info.get("data") or "")
        return render_compact_html(self.result, n_errors=n_errors, subject=subject)

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
