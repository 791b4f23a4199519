"""Analysis (layer L2): error cases and the prediction distribution, as pandas tables."""

from modelqa.analysis.distribution import distribution_flag, prediction_distribution
from modelqa.analysis.errors import confused_pairs, error_rows

__all__ = ["confused_pairs", "distribution_flag", "error_rows", "prediction_distribution"]
