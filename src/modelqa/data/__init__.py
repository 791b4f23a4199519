"""Layer L1: read data files, check their columns and labels, clean and split them.

No model, no drawing: stdlib, numpy, pandas, pyarrow, openpyxl and charset_normalizer only.
"""

from modelqa.data.clean import CleanResult, drop_unusable
from modelqa.data.load import FORMATS, file_sha256, read_table
from modelqa.data.schema import (
    TextColumn,
    as_text,
    check_same_length,
    encode_labels,
    infer_classes,
    normalize_label,
    param_for,
    require_columns,
    row_numbers,
    text_values,
)
from modelqa.data.split import stratified_split

__all__ = [
    "FORMATS",
    "CleanResult",
    "TextColumn",
    "as_text",
    "check_same_length",
    "drop_unusable",
    "encode_labels",
    "file_sha256",
    "infer_classes",
    "normalize_label",
    "param_for",
    "read_table",
    "require_columns",
    "row_numbers",
    "stratified_split",
    "text_values",
]
