"""The geometry of the overview's server-rendered SVG charts: the templates (the page and the PDF)
draw exactly what these say. Every chart has labelled ticks on its value axis (0, the middle and
the top), a title on each axis, and its figures in a table beside it."""

from __future__ import annotations

from dataclasses import dataclass, field

# Room for the value axis' numbers and title (left) and the months and their title (bottom).
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 14, 58


@dataclass(frozen=True)
class Counts:
    """A table of counts: a row per month, a column per kind (request type, channel)."""

    columns: list[str]
    colours: list[str]
    rows: list[tuple[str, list[int]]]

    @property
    def totals(self) -> list[int]:
        return [sum(counts) for _, counts in self.rows]

    @property
    def rows_with_totals(self) -> list[tuple[str, list[int], int]]:
        return [(label, counts, sum(counts)) for label, counts in self.rows]

    @property
    def column_totals(self) -> list[int]:
        return [sum(counts[i] for _, counts in self.rows) for i in range(len(self.columns))]

    @property
    def legend(self) -> list[tuple[str, str]]:
        return list(zip(self.columns, self.colours, strict=True))

    def used(self) -> Counts:
        """Only the kinds that have a request in the period (for the page and the PDF; the CSV
        keeps every column)."""
        keep = [i for i, total in enumerate(self.column_totals) if total]
        return Counts(
            columns=[self.columns[i] for i in keep],
            colours=[self.colours[i] for i in keep],
            rows=[(label, [row[i] for i in keep]) for label, row in self.rows],
        )


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


@dataclass(frozen=True)
class Tick:
    at: float  # x for the category axis, y for the value axis (or x on a horizontal chart)
    text: str
    sub: str = ""  # a second line (the year under a month)


@dataclass
class Chart:
    """``category_ticks`` name the bars (months along x, or a horizontal chart's rows down y);
    ``value_ticks`` are the labelled values (up y, or along x on a horizontal chart)."""

    width: int
    height: int
    x_title: str
    y_title: str
    bars: list[Bar] = field(default_factory=list)
    category_ticks: list[Tick] = field(default_factory=list)
    value_ticks: list[Tick] = field(default_factory=list)
    left: float = LEFT
    bottom: float = 0.0  # y of the category axis
    right: float = 0.0

    @property
    def y_title_y(self) -> float:
        return (TOP + self.bottom) / 2

    @property
    def x_middle(self) -> float:
        return (self.left + self.right) / 2

    @property
    def x_title_y(self) -> float:
        return self.height - 6.0

    @property
    def label_y(self) -> float:
        return self.bottom + 16

    @property
    def sub_label_y(self) -> float:
        return self.bottom + 29


def scale_top(maximum: int) -> int:
    """The top of a count axis: at least 2 and even, so that its middle tick is a whole number."""
    return max(2, maximum + maximum % 2)


def stacked(
    counts: Counts, *, x_title: str, y_title: str, width: int = 640, height: int = 280
) -> Chart:
    """Bars per month, stacked by kind (in the columns' order, bottom up)."""
    bottom, right = height - BOTTOM, width - RIGHT
    chart = Chart(width, height, x_title, y_title, bottom=bottom, right=right)
    top = scale_top(max(counts.totals, default=0))
    plot_h = bottom - TOP
    for value in (0, top // 2, top):
        chart.value_ticks.append(Tick(bottom - plot_h * value / top, str(value)))
    step = (right - LEFT) / max(len(counts.rows), 1)
    every = 1 if len(counts.rows) <= 13 else 2  # a label per month while there is room
    for i, (label, row) in enumerate(counts.rows):
        y = float(bottom)
        for kind, colour, n in zip(counts.columns, counts.colours, row, strict=True):
            if n:
                h = plot_h * n / top
                y -= h
                chart.bars.append(
                    Bar(
                        LEFT + i * step + step * 0.15,
                        y,
                        step * 0.7,
                        h,
                        colour,
                        f"{label}: {n} {kind}",
                    )
                )
        if i % every == 0:
            month, _, year = label.partition(" ")
            sub = year if i == 0 or month == "Jan" else ""
            chart.category_ticks.append(Tick(LEFT + i * step + step / 2, month, sub))
    return chart


def horizontal(
    rows: list[tuple[str, float, str]],
    *,
    top: float,
    ticks: list[tuple[float, str]],
    x_title: str,
    y_title: str,
    width: int = 640,
    label_width: int = 240,
) -> Chart:
    """One bar per row (label, value, the value in words), its label on the left under the
    ``y_title`` (written across, above the labels); ``ticks`` are (value, text) on the value
    axis."""
    first = 28  # the row labels' title goes above the first row
    bottom = first + 28 * len(rows)
    chart = Chart(width, bottom + 44, x_title, y_title, left=label_width, bottom=bottom)
    chart.right = width - 24
    plot_w = chart.right - label_width
    for value, text in ticks:
        chart.value_ticks.append(Tick(label_width + plot_w * value / (top or 1), text))
    for i, (label, value, text) in enumerate(rows):
        width_ = plot_w * value / (top or 1)
        y = first + i * 28 + 5
        chart.bars.append(Bar(label_width, y, width_, 18, "#1f4fd1", f"{label}: {text}"))
        chart.category_ticks.append(Tick(y + 13, label))
    return chart
