"""Number and name formatting shared by the HTML report and the console summary."""

from __future__ import annotations

import math
from datetime import datetime

from modelqa.metrics.registry import REGISTRY

MISSING = "—"

#: Display names and directions come from the one metric registry (metrics.registry).
METRIC_NAMES = {name: info.display for name, info in REGISTRY.items() if info.kind in ("label", "probability")}
LOWER_IS_BETTER = {name for name, info in REGISTRY.items() if info.direction == "lower"}


def is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def num(value: object, digits: int = 3) -> str:
    """0.87312 -> '0.873'; None / NaN -> '—'."""
    if is_missing(value):
        return MISSING
    try:
        return f"{float(value):.{digits}f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def pct(value: object, digits: int = 1) -> str:
    """0.8731 -> '87.3%'; None / NaN -> '—'."""
    if is_missing(value):
        return MISSING
    return f"{float(value) * 100:.{digits}f}%"  # type: ignore[arg-type]


def count(value: object) -> str:
    """12345 -> '12,345'; None / NaN -> '—'."""
    if is_missing(value):
        return MISSING
    try:
        return f"{int(value):,}"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)


def interval(bounds: object, digits: int = 3) -> str:
    """[0.85, 0.89] -> '0.850–0.890'; anything else -> ''."""
    if not isinstance(bounds, list | tuple) or len(bounds) != 2 or any(is_missing(b) for b in bounds):
        return ""
    return f"{num(bounds[0], digits)}–{num(bounds[1], digits)}"


def metric_name(key: str) -> str:
    if key in METRIC_NAMES:
        return METRIC_NAMES[key]
    return key.replace("_", " ").capitalize()


def when(iso: object) -> str:
    """ISO time -> '2024-05-01 12:34 UTC'; unparsable -> as given."""
    if not iso:
        return MISSING
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    zone = moment.strftime("%Z") if moment.tzinfo else ""
    return (moment.strftime("%Y-%m-%d %H:%M") + (f" {zone}" if zone else "")).strip()


def seconds(value: object) -> str:
    if is_missing(value):
        return MISSING
    try:
        total = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if total < 60:
        return f"{total:.1f} s"
    minutes, secs = divmod(int(round(total)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"
