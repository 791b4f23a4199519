"""One registry of the metrics in metrics.json (layer L1): name, display name, direction and kind.

The report, the console summary and the tests read it, so a new metric is named and oriented in
one place. ``direction``: "higher" or "lower" is better, "zero" (closer to 0 is better) or "none"
(a description, not a score). ``kind``: "label" (from predicted labels: the confusion matrix),
"probability" (needs probabilities), "regression", or "info" (how a number was computed).
"""

from __future__ import annotations

from dataclasses import dataclass

DIRECTIONS = ("higher", "lower", "zero", "none")
KINDS = ("label", "probability", "regression", "info")


@dataclass(frozen=True)
class MetricInfo:
    name: str
    display: str
    direction: str
    kind: str

    @property
    def direction_text(self) -> str:
        return {"higher": "higher is better", "lower": "lower is better", "zero": "closer to 0 is better",
                "none": ""}[self.direction]


_ROWS = (
    ("accuracy", "Accuracy", "higher", "label"),
    ("balanced_accuracy", "Balanced accuracy", "higher", "label"),
    ("precision", "Precision (positive class)", "higher", "label"),
    ("recall", "Recall (positive class)", "higher", "label"),
    ("f1", "F1 (positive class)", "higher", "label"),
    ("precision_macro", "Precision, macro", "higher", "label"),
    ("recall_macro", "Recall, macro", "higher", "label"),
    ("f1_macro", "F1, macro", "higher", "label"),
    ("precision_weighted", "Precision, weighted", "higher", "label"),
    ("recall_weighted", "Recall, weighted", "higher", "label"),
    ("f1_weighted", "F1, weighted", "higher", "label"),
    ("precision_micro", "Precision, micro", "higher", "label"),
    ("recall_micro", "Recall, micro", "higher", "label"),
    ("f1_micro", "F1, micro", "higher", "label"),
    ("mcc", "Matthews correlation (MCC)", "higher", "label"),
    ("cohen_kappa", "Cohen's kappa", "higher", "label"),
    ("log_loss", "Log loss", "lower", "probability"),
    ("brier_score", "Brier score", "lower", "probability"),
    ("roc_auc", "ROC AUC", "higher", "probability"),
    ("average_precision", "Average precision", "higher", "probability"),
    ("roc_auc_ovr_macro", "ROC AUC, one-vs-rest macro", "higher", "probability"),
    ("roc_auc_ovr_weighted", "ROC AUC, one-vs-rest weighted", "higher", "probability"),
    ("average_precision_macro", "Average precision, macro", "higher", "probability"),
    ("ece", "Expected calibration error", "lower", "probability"),
    ("top_2_accuracy", "Top-2 accuracy", "higher", "probability"),
    ("top_3_accuracy", "Top-3 accuracy", "higher", "probability"),
    ("auc_method", "AUC / AP method (exact or binned)", "none", "info"),
    ("auc_max_error", "Largest error bound of a binned ROC AUC", "lower", "info"),
    ("average_precision_max_error", "Largest error bound of a binned average precision", "lower", "info"),
    ("mse", "Mean squared error (MSE)", "lower", "regression"),
    ("rmse", "Root mean squared error (RMSE)", "lower", "regression"),
    ("mae", "Mean absolute error (MAE)", "lower", "regression"),
    ("mape", "Mean absolute percentage error (MAPE, fraction)", "lower", "regression"),
    ("median_absolute_error", "Median absolute error", "lower", "regression"),
    ("r2", "R² (coefficient of determination)", "higher", "regression"),
    ("explained_variance", "Explained variance", "higher", "regression"),
    ("residual_mean", "Residual mean (target − prediction; 0 is unbiased)", "zero", "regression"),
    ("residual_std", "Residual standard deviation", "lower", "regression"),
    ("max_error", "Largest absolute error", "lower", "regression"),
)

REGISTRY: dict[str, MetricInfo] = {name: MetricInfo(name, display, direction, kind)
                                   for name, display, direction, kind in _ROWS}


def metric_info(name: str) -> MetricInfo | None:
    return REGISTRY.get(name)


def display_name(name: str) -> str:
    info = REGISTRY.get(name)
    return info.display if info else name.replace("_", " ")


def lower_is_better(name: str) -> bool:
    info = REGISTRY.get(name)
    return info is not None and info.direction == "lower"


def names_of(kind: str) -> tuple[str, ...]:
    return tuple(name for name, info in REGISTRY.items() if info.kind == kind)
