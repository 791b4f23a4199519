"""Metrics (layer L1): pure numpy, checked against scikit-learn in the tests."""

from modelqa.metrics.calibration import ReliabilityTable, expected_calibration_error, reliability_table
from modelqa.metrics.classification import SCHEMA_VERSION, classification_metrics

__all__ = [
    "SCHEMA_VERSION",
    "ReliabilityTable",
    "classification_metrics",
    "expected_calibration_error",
    "reliability_table",
]
