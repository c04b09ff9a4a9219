"""Geometry of the server-rendered SVG: progress bars and yearly trend charts (no script)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def progress_bar(row: dict[str, Any]) -> dict[str, float] | None:
    """Percent positions (0..100) of the value, the target and the expected marker."""
    value = _num(row.get("value"))
    target = _num((row.get("target") or {}).get("value"))
    if value is None or target is None:
        return None
    expected = _num(row.get("expected"))
    top = max(value, target, expected or 0.0) or 1.0
    pct = lambda x: round(100.0 * x / top, 2)  # noqa: E731
    return {"value": pct(value), "target": pct(target),
            "expected": pct(expected) if expected is not None else None}


def nice_ceiling(value: float) -> float:
    """1, 2 or 5 times a power of ten, at or above the value."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


WIDTH, HEIGHT = 560, 230
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 30


def trend_chart(entry: dict[str, Any], start: dt.date, end: dt.date) -> dict[str, Any] | None:
    """Coordinates of one indicator's chart: values at year ends, the linear path from the
    baseline to the target, and the target line."""
    every = entry.get("points") or []
    if not every:
        return None
    points = [p for p in every if _num(p.get("value")) is not None]  # unknown: left empty
    target = _num((entry.get("target") or {}).get("value"))
    baseline = _num((entry.get("baseline") or {}).get("value"))
    highest = max([_num(p["value"]) for p in points] + [target or 0, baseline or 0] +
                  [_num(p.get("expected")) or 0 for p in points])
    top = nice_ceiling(highest * 1.05)
    span = max((end - start).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return round(LEFT + plot_w * min(max((day - start).days / span, 0), 1), 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / top), 1)

    dots = [{"x": x(p["date"]), "y": y(_num(p["value"])), "date": p["date"],
             "value": p["value"], "expected": p.get("expected")} for p in points]
    chart: dict[str, Any] = {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
        "bottom": HEIGHT - BOTTOM, "dots": dots,
        "line": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "y_ticks": [{"y": y(top * f), "label": _tick(top * f)} for f in (0, 0.25, 0.5, 0.75, 1)],
        "x_ticks": [{"x": x(dt.date(year, 1, 1)), "label": str(year)}
                    for year in range(start.year, end.year + 1)] +
                   [{"x": x(end), "label": ""}],
        "path": None, "target_y": None, "target": target,
        "table": [{"date": p["date"], "value": p.get("value"), "expected": p.get("expected"),
                   "reason": p.get("reason")} for p in every],
    }
    if target is not None:
        chart["target_y"] = y(target)
        if baseline is not None:
            chart["path"] = {"x1": x(start), "y1": y(baseline), "x2": x(end), "y2": y(target)}
    return chart


def _tick(value: float) -> str:
    return f"{value:g}" if value < 10000 else f"{value / 10000:g}万"
