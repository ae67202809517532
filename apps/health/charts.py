"""The health history as an inline SVG, drawn on the server: no chart library, no CDN.
The score (0–100) by day, over bands shaded at the configured thresholds."""

import datetime as dt
from dataclasses import dataclass

from apps.health.models import HealthSettings, HealthSnapshot

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 640, 200, 36, 16, 10, 26


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    date: dt.date
    score: int
    band: str


@dataclass(frozen=True)
class Area:
    y: float
    height: float
    band: str


@dataclass(frozen=True)
class HistoryChart:
    points: list[Point]
    areas: list[Area]
    gridlines: list[tuple[float, str]]
    ticks: list[tuple[float, str, str]]  # x, label, text-anchor
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_LEFT
    right: int = WIDTH - PAD_RIGHT

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def description(self) -> str:
        first, last = self.points[0], self.points[-1]
        return (
            f"Health score from {first.date:%d %b %Y} ({first.score}, {first.band}) to "
            f"{last.date:%d %b %Y} ({last.score}, {last.band}), {len(self.points)} days."
        )


def history_chart(
    snapshots: list[HealthSnapshot], *, thresholds: HealthSettings
) -> HistoryChart | None:
    """The snapshots that have a score, as points on a fixed canvas; None without any."""
    scored = [s for s in snapshots if s.score is not None]
    if not scored:
        return None
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def y_of(score: float) -> float:
        return PAD_TOP + (100 - score) / 100 * plot_h

    first, last = scored[0].date, scored[-1].date
    span = max(1, (last - first).days)

    def x_of(day: dt.date) -> float:
        if len(scored) == 1:
            return PAD_LEFT + plot_w / 2
        return PAD_LEFT + (day - first).days / span * plot_w

    points = [
        Point(x=x_of(s.date), y=y_of(s.score), date=s.date, score=s.score, band=s.band)
        for s in scored
    ]
    green, yellow = thresholds.green_at, thresholds.yellow_at
    areas = [
        Area(y=y_of(100), height=y_of(green) - y_of(100), band="green"),
        Area(y=y_of(green), height=y_of(yellow) - y_of(green), band="yellow"),
        Area(y=y_of(yellow), height=y_of(0) - y_of(yellow), band="red"),
    ]
    grid = [(y_of(v), str(v)) for v in (100, green, yellow, 0)]
    # The first date starts at its point and the last ends at its own, inside the canvas.
    ticks = [(x_of(first), f"{first:%d %b}", "start" if last != first else "middle")]
    if last != first:
        ticks.append((x_of(last), f"{last:%d %b}", "end"))
    return HistoryChart(points=points, areas=areas, gridlines=grid, ticks=ticks)
