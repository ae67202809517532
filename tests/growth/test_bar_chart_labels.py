"""A bar chart's label column is wide enough for its labels: "Security & compliance" on
the insights page was cut at the left edge of the drawing when the column was fixed."""

from django.template.loader import render_to_string

from apps.growth.charts import CHAR_WIDTH, LABEL_WIDTH, MAX_LABEL_WIDTH, WIDTH, bar_chart


def test_short_labels_keep_the_default_column():
    chart = bar_chart("Won", [("Price", 3, "3"), ("Fit", 1, "1")])

    assert chart.label_width == LABEL_WIDTH
    assert [bar.short_label for bar in chart.bars] == ["Price", "Fit"]


def test_the_column_grows_to_the_longest_label_and_the_bars_shrink_to_fit():
    chart = bar_chart("Won", [("Security & compliance", 4, "4"), ("Implementation speed", 2, "2")])

    assert chart.label_width >= len("Security & compliance") * CHAR_WIDTH
    assert [bar.short_label for bar in chart.bars] == [
        "Security & compliance",
        "Implementation speed",
    ]
    longest_bar = chart.bars[0]
    assert chart.label_width + longest_bar.width < WIDTH


def test_a_label_too_long_for_the_widest_column_is_cut_and_kept_whole_in_the_tooltip():
    label = "A reason somebody typed out as a whole sentence, far too long for a chart"
    chart = bar_chart("Won", [(label, 1, "1")])

    assert chart.label_width == MAX_LABEL_WIDTH
    drawn = chart.bars[0].short_label
    assert drawn.endswith("…") and len(drawn) * CHAR_WIDTH <= MAX_LABEL_WIDTH
    svg = render_to_string("growth/_bar_chart.html", {"chart": chart})
    assert f">{drawn}</text>" in svg
    assert f"<title>{label}: 1</title>" in svg
    assert f'x="{MAX_LABEL_WIDTH}"' in svg
