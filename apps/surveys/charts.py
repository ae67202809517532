"""The NPS trend as an inline SVG, drawn on the server: no chart library, no CDN."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 220, 40, 28, 12
PAD_RIGHT = 24


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: float
    short: str = ""


@dataclass(frozen=True)
class TrendChart:
    points: list[Point]
    zero_y: float
    gridlines: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def nps_trend(rows: list[dict[str, Any]]) -> TrendChart | None:
    """Monthly NPS (-100 … 100) as points on a fixed canvas; None without NPS answers."""
    months = [(row["group"], row["nps"]) for row in rows if row.get("nps") is not None]
    if not months:
        return None
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP

    def y_of(value: float) -> float:
        return PAD_TOP + (100 - value) / 200 * plot_h

    step = plot_w / max(1, len(months) - 1)
    points = [
        Point(
            x=PAD_LEFT + i * step,
            y=y_of(value),
            label=str(month),
            value=value,
            short=_month_name(str(month)),
        )
        for i, (month, value) in enumerate(months)
    ]
    grid = [(y_of(v), f"{v:+d}" if v else "0") for v in (100, 50, 0, -50, -100)]
    return TrendChart(points=points, zero_y=y_of(0), gridlines=grid)


def _month_name(month: str) -> str:
    """ "2026-01" -> "Jan 26" (a January also shows its year)."""
    try:
        moment = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        return month
    return moment.strftime("%b %y") if moment.month == 1 else moment.strftime("%b")
