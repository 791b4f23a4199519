"""The page's shared parts: constants, the jinja2 template, the figure / table collector, the run
and details blocks, and cell formatting."""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

import jinja2
import pandas as pd
from markupsafe import Markup

from modelqa.report import figures
from modelqa.report import formatting as fmt

MAX_TEXT_CHARS = 280
MAX_CONFUSED_PAIRS = 20
SHOWN_PX_PER_INCH = 100
FIGURE_DPI = 130  # drawn with more pixels than shown, so figures stay sharp on HiDPI screens
ID_COLUMN_NAMES = ("id", "row_id", "sample_id", "example_id", "uid", "guid", "doc_id", "index")
KNOWN_COLUMNS = {"text", "true_label", "predicted_label", "confidence", "correct"}
#: Up to this many classes every class gets its own ROC / PR curve; beyond it the best and the
#: worst SHOWN_EXTREMES classes by ROC AUC do, and the others are listed in a table.
MAX_CURVE_CLASSES = 10
SHOWN_EXTREMES = 3

# Sorts tables with class "sortable" on header click and shows the search box of a table
# (rows whose text contains the query stay); without JavaScript the tables show unchanged.
# The Content-Security-Policy lets exactly this script run (by its SHA-256).
PAGE_SCRIPT = """
document.documentElement.classList.add("js");
function mqSort(table, th, col) {
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var asc = th.getAttribute("aria-sort") !== "ascending";
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
  rows.sort(function (a, b) {
    var x = a.cells[col].getAttribute("data-value"), y = b.cells[col].getAttribute("data-value");
    if (x === "" || y === "") { return (x === "") - (y === ""); }
    var nx = Number(x), ny = Number(y);
    var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
    return asc ? r : -r;
  });
  rows.forEach(function (r) { body.appendChild(r); });
  th.setAttribute("aria-sort", asc ? "ascending" : "descending");
}
document.querySelectorAll("table.sortable").forEach(function (table) {
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.tabIndex = 0;
    th.addEventListener("click", function () { mqSort(table, th, col); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { mqSort(table, th, col); } });
  });
});
document.querySelectorAll("[data-filter-for]").forEach(function (box) {
  var table = document.getElementById(box.getAttribute("data-filter-for"));
  var input = box.querySelector("input");
  var count = box.querySelector(".filter-count");
  if (!table || !input) { return; }
  box.hidden = false;
  input.addEventListener("input", function () {
    var query = input.value.toLowerCase().trim();
    var rows = table.tBodies[0].rows, shown = 0;
    Array.prototype.forEach.call(rows, function (row) {
      var hit = !query || row.textContent.toLowerCase().indexOf(query) !== -1;
      row.hidden = !hit;
      if (hit) { shown += 1; }
    });
    if (count) { count.textContent = query ? shown + " of " + rows.length + " rows match" : ""; }
  });
});
"""
SORT_SCRIPT = PAGE_SCRIPT  # the former name


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt.num, pct=fmt.pct, count=fmt.count)
    return env


def _template() -> jinja2.Template:
    source = resources.files("modelqa.report").joinpath("templates/report.html").read_text(encoding="utf-8")
    return _environment().from_string(source)


def _sort_value(value: object) -> str:
    if fmt.is_missing(value):
        return ""
    if isinstance(value, int | float) or hasattr(value, "dtype"):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        return repr(number) if math.isfinite(number) else ""
    return str(value)


def _cell(value: object, shown: str) -> dict:
    return {"value": _sort_value(value), "shown": shown}


def _pct_interval(bounds: object) -> str:
    if not isinstance(bounds, list | tuple) or len(bounds) != 2 or any(fmt.is_missing(b) for b in bounds):
        return ""
    return f"{float(bounds[0]) * 100:.1f}–{float(bounds[1]) * 100:.1f}%"


def find_id_column(df: pd.DataFrame, run_info: Mapping | None = None) -> str | None:
    """The predictions' id column: ``run_info['id_column']`` if given, else a column with a usual id name."""
    wanted = (run_info or {}).get("id_column")
    if wanted is not None and wanted in df.columns:
        return wanted
    for column in df.columns:
        name = str(column)
        if name in KNOWN_COLUMNS or name.startswith("prob_"):
            continue
        if name.lower() in ID_COLUMN_NAMES or name.lower().endswith("_id"):
            return column
    return None


def _shorten(text: object, limit: int = MAX_TEXT_CHARS) -> str:
    if fmt.is_missing(text):
        return fmt.MISSING
    value = " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _run_rows(result: Mapping, run_info: Mapping) -> list[tuple[str, str]]:
    labels = result.get("labels") or []
    task = str(result.get("task") or fmt.MISSING)
    return [
        ("Model", str(run_info.get("model") or "— (predictions file)")),
        ("Data", str(run_info.get("data") or fmt.MISSING)),
        ("Rows", fmt.count(result.get("n_samples"))),
        ("Task", f"{task}, {len(labels)} classes" if labels else task),
        ("Created", fmt.when(run_info.get("created"))),
    ]


_TIMING_NAMES = {"load_s": "loading", "predict_s": "predicting", "load_predict_s": "loading and predicting",
                 "metrics_s": "metrics", "total_s": "total", "rows_per_s": "speed"}


def _timing_row(key: object, value: object) -> tuple[str, str]:
    """('predicting', '7.1 s'); rates (``*_per_s``) are shown as rates, not durations."""
    name = _TIMING_NAMES.get(str(key), str(key).replace("_", " "))
    if str(key).endswith("_per_s"):
        return name, "—" if fmt.is_missing(value) else f"{float(value):,.0f} rows/s"
    return name, fmt.seconds(value)


def _details(run_info: Mapping) -> dict:
    versions = run_info.get("versions") or {}
    timing = run_info.get("timing") or {}
    truncated = run_info.get("truncated")
    return {
        "sha256": str(run_info.get("data_sha256") or ""),
        "versions": [(str(k), str(v)) for k, v in versions.items()] if isinstance(versions, Mapping) else [],
        "timing": [_timing_row(k, v) for k, v in timing.items()] if isinstance(timing, Mapping) else [],
        "truncated": int(truncated) if isinstance(truncated, int | float) and not fmt.is_missing(truncated) else 0,
    }


# --------------------------------------------------------------------------- figures and tables


class _Collector:
    """Figures rendered once (PNG bytes, reused for the page and figures/*.png) and the tables
    behind the page (written as tables/*.csv)."""

    def __init__(self) -> None:
        self.pngs: dict[str, bytes] = {}
        self.tables: dict[str, pd.DataFrame] = {}

    def figure(self, name: str, fig) -> dict:
        """Render ``fig`` as ``name``.png and return what the template needs to show it inline."""
        data = figures.figure_to_png_bytes(fig, dpi=FIGURE_DPI)
        self.pngs[name] = data
        width_in, height_in = fig.get_size_inches()
        return {
            "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
            "width": int(round(width_in * SHOWN_PX_PER_INCH)),
            "height": int(round(height_in * SHOWN_PX_PER_INCH)),
            "file": f"figures/{name}.png",
        }

    def table(self, name: str, df: pd.DataFrame) -> None:
        self.tables[name] = df


@dataclass
class RenderedReport:
    """The page plus what it was built from: ``figures`` maps a file stem (``roc``) to PNG bytes,
    ``tables`` a file stem (``per_class``) to the table shown (before any cap on the page)."""

    html: str
    figures: dict[str, bytes] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _csp(script: str) -> Markup:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return Markup("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                  f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")




