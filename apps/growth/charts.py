"""Horizontal bar charts as inline SVG, drawn on the server: no chart library, no CDN.
The referral funnel and revenue by month both use them."""

from dataclasses import dataclass

WIDTH, BAR_HEIGHT, GAP, LABEL_WIDTH, VALUE_WIDTH = 640, 26, 10, 150, 110
# Labels are 13 px text drawn right-aligned before the bars: the label column grows with
# the longest label (about CHAR_WIDTH per character) up to MAX_LABEL_WIDTH, and a label
# longer than that is cut with an ellipsis (the full label stays in the bar's tooltip).
CHAR_WIDTH, LABEL_PADDING, MAX_LABEL_WIDTH = 8, 12, 280


@dataclass(frozen=True)
class Bar:
    label: str
    short_label: str  # the label as drawn, cut to fit the label column
    value: float
    text: str  # the value as shown
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def height(self) -> int:
        return len(self.bars) * (BAR_HEIGHT + GAP) + GAP

    @property
    def description(self) -> str:
        return "; ".join(f"{bar.label}: {bar.text}" for bar in self.bars)


def bar_chart(title: str, rows: list[tuple[str, float, str]]) -> BarChart | None:
    """``rows`` are (label, value, value as text); None when every value is 0."""
    top = max((value for _, value, _ in rows), default=0)
    if top <= 0:
        return None
    longest = max(len(label) for label, _, _ in rows)
    label_width = min(MAX_LABEL_WIDTH, max(LABEL_WIDTH, longest * CHAR_WIDTH + LABEL_PADDING))
    fits = (label_width - LABEL_PADDING) // CHAR_WIDTH
    room = WIDTH - label_width - VALUE_WIDTH
    bars = [
        Bar(
            label=label,
            short_label=label if len(label) <= fits else label[: fits - 1].rstrip() + "…",
            value=value,
            text=text,
            y=GAP + i * (BAR_HEIGHT + GAP),
            width=max(2.0, room * value / top) if value else 0.0,
        )
        for i, (label, value, text) in enumerate(rows)
    ]
    return BarChart(title=title, bars=bars, label_width=label_width)
