"""Hyper-parameter sweeps, independent of what is trained: expand a grid into configurations,
run each through a ``train_fn`` callback into ``<out>/runs/<name>/`` with its error captured,
keep ``<out>/summary.json`` + ``summary.csv`` current after every configuration, and skip
configurations that finished in an earlier invocation.

``train_fn(params, run_dir, resume) -> TrialOutcome`` trains one configuration. ``resume`` is
True when ``run_dir`` exists from an earlier, unfinished attempt; the callback should then
continue from its checkpoint, and start afresh when there is none (``train_text`` does).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelqa._atomic import write_json
from modelqa._types import NullProgress, Progress
from modelqa.errors import ModelQAError, RunError, UsageError

RESULT_FILE = "sweep_result.json"  # in each run folder: the configuration's outcome (the "done" marker)
SWEEP_FILE = "sweep.json"  # in --out: the fixed arguments and data hashes of the sweep
SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"
RUNS_DIR = "runs"

# short names for configuration folders; other keys are used as they are
ABBREVIATIONS = {"lr": "lr", "batch_size": "bs", "epochs": "ep", "max_length": "len", "warmup_ratio": "wu",
                 "weight_decay": "wd", "class_weight": "cw", "dropout": "do", "hidden": "h"}


@dataclass(frozen=True)
class TrialOutcome:
    """What ``train_fn`` reports for one configuration. ``best_epoch`` is 1-based."""

    best_value: float | None
    best_epoch: int | None
    test_accuracy: float | None = None
    extra: dict = field(default_factory=dict)


TrainFn = Callable[[dict, Path, bool], TrialOutcome]


@dataclass
class SweepResult:
    out: Path
    monitor: str
    mode: str
    rows: list[dict]  # every configuration, best first (see sort_rows)
    best: str | None  # the name of the best configuration, None when every one failed
    ran: list[str]  # configurations trained by this invocation
    skipped: list[str]  # configurations that had finished before and were not run again
    summary_json: Path
    summary_csv: Path

    @property
    def n_failed(self) -> int:
        return sum(r["status"] == "failed" for r in self.rows)

    def to_dict(self) -> dict:
        return summary_document(self.rows, monitor=self.monitor, mode=self.mode, complete=True)


def parse_values(value: str | Sequence | Any, cast: Callable[[str], Any], flag: str) -> list:
    """``"5e-5,2e-5"`` → ``[5e-05, 2e-05]`` with ``cast`` applied to each part; a list is cast
    item by item. Empty items and repeated values are UsageErrors naming ``flag``."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, Sequence):
        parts = list(value)
    else:
        parts = [value]
    if not parts or any(p == "" for p in parts):
        raise UsageError(f"{flag} needs comma-separated values, got {value!r}")
    out = []
    for p in parts:
        try:
            out.append(cast(p) if isinstance(p, str) else p)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{flag}: {p!r} is not a valid value ({exc})") from exc
    seen = set()
    for v in out:
        key = json.dumps(v, sort_keys=True, default=str)
        if key in seen:
            raise UsageError(f"{flag} lists {format_value(v)} more than once")
        seen.add(key)
    return out


def expand_grid(grid: Mapping[str, Sequence]) -> list[dict]:
    """The Cartesian product of the grid's value lists, in the order given (last key varies fastest)."""
    keys = list(grid)
    for key in keys:
        if not len(grid[key]):
            raise UsageError(f"the sweep grid has no values for {key!r}")
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def format_value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "x".join(format_value(v) for v in value)
    return str(value)


def config_name(params: Mapping) -> str:
    """A folder name that identifies the configuration, e.g. ``lr5e-05_bs16_ep10``."""
    parts = []
    for key, value in params.items():
        text = format_value(value)
        text = "".join(c if c.isalnum() or c in ".-+" else "-" for c in text)
        parts.append(f"{ABBREVIATIONS.get(key, key)}{text}")
    return "_".join(parts) or "default"


def sort_rows(rows: Sequence[Mapping], mode: str) -> list[dict]:
    """Finished configurations by their best value (``mode`` "min" or "max"; ties keep grid order),
    then finished ones without a value, then failed, then pending."""
    def key(item):
        i, row = item
        value = row.get("best_value")
        if row["status"] == "ok" and value is not None and not math.isnan(value):
            return (0, value if mode == "min" else -value, i)
        return ({"ok": 1, "failed": 2}.get(row["status"], 3), 0.0, i)

    return [dict(r) for _, r in sorted(enumerate(rows), key=key)]


def summary_document(rows: Sequence[Mapping], *, monitor: str, mode: str, complete: bool) -> dict:
    ranked = sort_rows(rows, mode)
    best = next((r for r in ranked if r["status"] == "ok" and r.get("best_value") is not None), None)
    return {
        "schema_version": 1, "monitor": monitor, "mode": mode, "complete": complete,
        "best": None if best is None else {"name": best["name"], "params": best["params"],
                                           "best_value": best["best_value"], "best_epoch": best["best_epoch"],
                                           "run_dir": best["run_dir"]},
        "counts": {s: sum(r["status"] == s for r in rows) for s in ("ok", "failed", "pending")},
        "configs": ranked,
    }


def _clean_number(value):
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def write_summary(out: Path, rows: Sequence[Mapping], *, monitor: str, mode: str, complete: bool) -> None:
    """``summary.json`` and ``summary.csv`` (best first), both written atomically."""
    import pandas as pd

    from modelqa.report.tables import write_table

    doc = summary_document(rows, monitor=monitor, mode=mode, complete=complete)
    write_json(out / SUMMARY_JSON, doc)
    records = []
    for rank, row in enumerate(doc["configs"], start=1):
        rec = {"rank": rank if row["status"] == "ok" else None, "name": row["name"]}
        rec.update({k: format_value(v) if isinstance(v, (list, tuple)) or v is None else v
                    for k, v in row["params"].items()})
        rec.update({f"best_{monitor}": row.get("best_value"), "best_epoch": row.get("best_epoch"),
                    "test_accuracy": row.get("test_accuracy"), "seconds": row.get("seconds"),
                    "status": row["status"], "error": row.get("error") or "", "run_dir": row["run_dir"]})
        records.append(rec)
    write_table(pd.DataFrame.from_records(records), out / SUMMARY_CSV)


def _check_fingerprint(out: Path, fingerprint: Mapping) -> None:
    from modelqa.train.checkpoint import describe_differences

    current = json.loads(json.dumps(dict(fingerprint), default=str))
    path = out / SWEEP_FILE
    if path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8")).get("fingerprint", {})
        except ValueError as exc:
            raise RunError(f"{path} cannot be read ({exc})", hint="use a new `out`") from exc
        diffs = describe_differences(saved, current, then="earlier sweep")
        if diffs:
            raise RunError(f"{out} holds a sweep with different data or fixed arguments: " + "; ".join(diffs),
                           hint="run it with the original arguments to resume it, or choose a new `out`")
    else:
        write_json(path, {"schema_version": 1, "fingerprint": current})


def _load_result(run_dir: Path, params: Mapping) -> dict | None:
    path = run_dir / RESULT_FILE
    if not path.is_file():
        return None
    try:
        row = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    same = json.dumps(row.get("params"), sort_keys=True, default=str) == json.dumps(dict(params), sort_keys=True,
                                                                                    default=str)
    return row if same else None


def run_sweep(*, grid: Mapping[str, Sequence], out: str | Path, train_fn: TrainFn, monitor: str, mode: str,
              fingerprint: Mapping | None = None, progress: Progress | None = None,
              retry_failed: bool = True) -> SweepResult:
    """Train every configuration of ``grid`` with ``train_fn`` (see the module docstring).

    A configuration whose ``train_fn`` raises an Exception is recorded as failed (with the
    message) and the sweep goes on; KeyboardInterrupt stops it. Configurations finished by an
    earlier invocation into the same ``out`` are not run again (failed ones are, unless
    ``retry_failed`` is False). ``fingerprint`` (fixed arguments, data hashes) must match the
    one stored in ``out`` by an earlier invocation, else RunError.
    """
    if mode not in ("min", "max"):
        raise UsageError(f"mode must be 'min' or 'max', not {mode!r}")
    progress = progress or NullProgress()
    out = Path(out)
    configs = expand_grid(grid)
    names = [config_name(p) for p in configs]
    if len(set(names)) != len(names):
        raise UsageError("two sweep configurations have the same name; give distinct values")
    out.mkdir(parents=True, exist_ok=True)
    _check_fingerprint(out, fingerprint or {})
    rows = [{"name": n, "params": p, "status": "pending", "best_value": None, "best_epoch": None,
             "test_accuracy": None, "seconds": None, "error": None, "run_dir": str(out / RUNS_DIR / n)}
            for n, p in zip(names, configs, strict=True)]
    ran, skipped = [], []
    for i, (name, params) in enumerate(zip(names, configs, strict=True)):
        run_dir = out / RUNS_DIR / name
        previous = _load_result(run_dir, params)
        if previous is not None and (previous["status"] == "ok" or not retry_failed):
            rows[i] = {**previous, "run_dir": str(run_dir)}
            skipped.append(name)
            progress.log(f"[{i + 1}/{len(configs)}] {name}: finished before ({previous['status']}), not run again")
            continue
    write_summary(out, rows, monitor=monitor, mode=mode, complete=False)

    for i, (name, params) in enumerate(zip(names, configs, strict=True)):
        if name in skipped:
            continue
        run_dir = out / RUNS_DIR / name
        resume = run_dir.exists()
        progress.log(f"[{i + 1}/{len(configs)}] {name}" + (" (resuming)" if resume else ""))
        t0 = time.perf_counter()
        row = dict(rows[i])
        try:
            outcome = train_fn(dict(params), run_dir, resume)
        except Exception as exc:  # noqa: BLE001 - a failing configuration must not stop the sweep
            message = exc.message if isinstance(exc, ModelQAError) else f"{exc.__class__.__name__}: {exc}"
            row.update(status="failed", error=" ".join(message.split()) or exc.__class__.__name__)
            progress.log(f"    failed: {row['error']}")
        else:
            row.update(status="ok", best_value=_clean_number(outcome.best_value),
                       best_epoch=int(outcome.best_epoch) if outcome.best_epoch else None,
                       test_accuracy=_clean_number(outcome.test_accuracy), error=None,
                       **{k: v for k, v in outcome.extra.items() if k not in row})
            shown = "—" if row["best_value"] is None else f"{row['best_value']:.4f}"
            progress.log(f"    best {monitor} {shown} at epoch {row['best_epoch']}")
        row["seconds"] = round(time.perf_counter() - t0, 2)
        rows[i] = row
        write_json(run_dir / RESULT_FILE, row)
        ran.append(name)
        write_summary(out, rows, monitor=monitor, mode=mode, complete=False)

    write_summary(out, rows, monitor=monitor, mode=mode, complete=True)
    doc = summary_document(rows, monitor=monitor, mode=mode, complete=True)
    return SweepResult(out=out, monitor=monitor, mode=mode, rows=doc["configs"],
                       best=doc["best"]["name"] if doc["best"] else None, ran=ran, skipped=skipped,
                       summary_json=out / SUMMARY_JSON, summary_csv=out / SUMMARY_CSV)
