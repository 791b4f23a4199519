"""``modelqa.curves``: learning curves and their diagnosis from any training history."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modelqa.analysis.curves import CurveRules, Diagnosis, diagnose
from modelqa.analysis.history import History, read_history

LOSS_PNG = "loss.png"
METRIC_PNG = "metric.png"


@dataclass(frozen=True)
class CurvesResult:
    history: History
    diagnosis: Diagnosis
    paths: dict[str, Path] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"history": self.history.to_dict(), "diagnosis": self.diagnosis.to_dict(),
                "paths": {k: str(v) for k, v in self.paths.items()}, "notes": list(self.notes)}


def curves(history_path: str | Path, *, out: str | Path | None = None, rules: CurveRules | None = None,
           plots: bool = True) -> CurvesResult:
    """Read ``history_path`` (our history.json, a Keras ``History.history`` JSON, or a Hugging Face
    trainer_state.json; a folder holding history.json or trainer_state.json works too), diagnose it,
    and write ``loss.png`` and ``metric.png`` into ``out`` (default: the history file's folder).

    ``metric.png`` shows accuracy when there is a validation accuracy, else the first metric
    with a validation series; it is not written when the history has no metric (a note says so).
    Nothing is written when the history cannot be read (DataError)."""
    history = read_history(history_path)
    diagnosis = diagnose(history, rules=rules)
    paths: dict[str, Path] = {}
    notes: list[str] = []
    if plots:
        from modelqa.report.curves import loss_figure, metric_figure
        from modelqa.report.figures import save_png

        folder = Path(out) if out is not None else Path(history.source).parent
        if history.train_loss is not None or history.val_loss is not None:
            fig = loss_figure(history.epochs, history.train_loss, history.val_loss,
                              best_epoch=diagnosis.best_epoch if diagnosis.monitor == "val_loss" else None)
            paths["loss"] = save_png(fig, folder / LOSS_PNG)
        else:
            notes.append(f"no loss in the history, so {LOSS_PNG} was not written")
        metric = history.main_metric
        if metric is not None:
            fig = metric_figure(history.epochs, history.train_metrics.get(metric), history.val_metrics.get(metric),
                                name=metric, best_epoch=diagnosis.best_epoch)
            paths["metric"] = save_png(fig, folder / METRIC_PNG)
        else:
            notes.append(f"no metric besides the loss in the history, so {METRIC_PNG} was not written")
    return CurvesResult(history=history, diagnosis=diagnosis, paths=paths, notes=tuple(notes))
