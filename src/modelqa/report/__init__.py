"""Rendering (layer L2): the only place matplotlib, jinja2 and rich live.

Modules, imported on their own so that ``import modelqa.report`` stays cheap:

- ``tables``: ``write_table`` (CSV with BOM / Parquet / Excel, formula neutralisation)
- ``figures``: confusion heatmaps, distribution bars, PNG / data-URI helpers
- ``html``: ``render_html`` / ``write_html``, the self-contained report page
- ``console``: ``print_summary``, ``print_json``, ``RichProgress``, ``make_progress``
"""

from __future__ import annotations

_EXPORTS = {
    "write_table": "modelqa.report.tables",
    "neutralise_cell": "modelqa.report.tables",
    "confusion_heatmap": "modelqa.report.figures",
    "distribution_bars": "modelqa.report.figures",
    "save_png": "modelqa.report.figures",
    "render_html": "modelqa.report.html",
    "write_html": "modelqa.report.html",
    "print_summary": "modelqa.report.console",
    "print_json": "modelqa.report.console",
    "RichProgress": "modelqa.report.console",
    "make_progress": "modelqa.report.console",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'modelqa.report' has no attribute {name!r}")
