"""Charts drawn on the server as inline SVG (SPEC H1: no request to any third-party server).

Plain functions over plain values: ``bar_chart(labels, series)`` and ``line_chart(labels,
series, threshold=...)`` return the markup of an ``<svg>`` element (a ``Markup``, safe to put in
a template). Every text is escaped; the chart has a ``<title>`` and ``role="img"`` with an
``aria-label``, and each page shows the same figures as a table (the text alternative).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# A colour-blind safe palette (Okabe-Ito), dark enough on white for the marks.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
WIDTH = 640
HEIGHT = 280
MARGIN_LEFT = 48
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 56


@dataclass(frozen=True)
class Series:
    """One series of a chart: its name (the legend) and one value per label."""

    name: str
    values: Sequence[float]


def _number(value: float, decimals: int | None = None) -> str:
    """A value as a French figure: « 12 », « 4,5 » (``decimals``: « 1 234,50 »)."""
    if decimals is not None:
        whole, _, fraction = f"{float(value):,.{decimals}f}".partition(".")
        return whole.replace(",", "\u202f") + ("," + fraction if fraction else "")
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:.1f}".replace(".", ",")


def nice_max(value: float) -> float:
    """The top of the axis: the smallest 1, 2, 2.5 or 5 x 10^n at least ``value`` (1 if 0)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def _frame(title: str, body: list[str], legend: Sequence[str], unit: str, top: float) -> Markup:
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="medprev-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    # Horizontal grid: 4 steps from 0 to the top of the axis.
    for step in range(5):
        value = top * step / 4
        y = MARGIN_TOP + plot_height - plot_height * step / 4
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{MARGIN_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#333">{escape(_number(value) + unit)}</text>'
        )
    parts.extend(body)
    x = MARGIN_LEFT
    for index, name in enumerate(legend):
        colour = PALETTE[index % len(PALETTE)]
        y = HEIGHT - 12
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" font-size="11" fill="#333">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))


def _label(x: float, text: str) -> str:
    """An axis label; « déc. 2025 » on two lines (month, then year), so that thirteen months
    side by side do not run into each other."""
    y = HEIGHT - MARGIN_BOTTOM + 14
    head, _, year = text[:14].rpartition(" ")
    if head and year.isdigit() and len(year) == 4:
        inner = (
            f'<tspan x="{x:.1f}">{escape(head)}</tspan>'
            f'<tspan x="{x:.1f}" dy="11">{escape(year)}</tspan>'
        )
    else:
        inner = escape(text[:14])
    return (
        f'<text x="{x:.1f}" y="{y}" text-anchor="middle" font-size="10" fill="#333">{inner}</text>'
    )


def _top(series: Sequence[Series], stacked: bool, threshold: float | None = None) -> float:
    if stacked and series:
        peak = max(
            (sum(values) for values in zip(*(s.values for s in series), strict=False)), default=0.0
        )
    else:
        peak = max((max(s.values, default=0.0) for s in series), default=0.0)
    if threshold is not None:
        peak = max(peak, threshold)
    return nice_max(float(peak))


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = True,
    unit: str = "",
    threshold: float | None = None,
    decimals: int | None = None,
) -> Markup:
    """Bars per label (stacked or side by side), one colour per series; ``threshold`` draws a
    dashed horizontal line (the 5 % absenteeism line); ``decimals`` fixes the decimals of the
    values in the bars' tooltips (2 for amounts: « 300,50 € »)."""
    top = _top(series, stacked, threshold)
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    base = MARGIN_TOP + plot_height
    body: list[str] = []
    slot = plot_width / max(len(labels), 1)
    bar = slot * 0.7 / (1 if stacked else max(len(series), 1))
    for index, label in enumerate(labels):
        x0 = MARGIN_LEFT + slot * index + slot * 0.15
        offset = 0.0
        for number, item in enumerate(series):
            value = float(item.values[index]) if index < len(item.values) else 0.0
            height = plot_height * value / top
            x = x0 if stacked else x0 + bar * number
            y = base - offset - height
            colour = PALETTE[number % len(PALETTE)]
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{colour}"><title>{escape(f"{label} – {item.name} : ")}'
                f"{escape(_number(value, decimals) + unit)}</title></rect>"
            )
            if stacked:
                offset += height
        body.append(_label(x0 + slot * 0.35, label))
    if threshold is not None:
        body.append(_threshold(threshold, top, unit))
    legend = [s.name for s in series]
    return _frame(title, body, legend, unit, top)


def _threshold(value: float, top: float, unit: str) -> str:
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    y = MARGIN_TOP + plot_height - plot_height * value / top
    return (
        f'<line class="threshold" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" '
        f'y2="{y:.1f}" stroke="#B00020" stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text x="{WIDTH - MARGIN_RIGHT}" y="{y - 4:.1f}" text-anchor="end" font-size="11" '
        f'fill="#B00020">Seuil {escape(_number(value) + unit)}</text>'
    )


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    threshold: float | None = None,
) -> Markup:
    """One line (with a dot per value) per series over the labels."""
    top = _top(series, False, threshold)
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    base = MARGIN_TOP + plot_height
    slot = plot_width / max(len(labels), 1)
    body: list[str] = [_label(MARGIN_LEFT + slot * (i + 0.5), lab) for i, lab in enumerate(labels)]
    for number, item in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        points = []
        for index, raw in enumerate(item.values[: len(labels)]):
            value = float(raw)
            x = MARGIN_LEFT + slot * (index + 0.5)
            y = base - plot_height * value / top
            points.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(f'{labels[index]} – {item.name} : ')}"
                f"{escape(_number(value) + unit)}</title></circle>"
            )
        if len(points) > 1:
            body.insert(
                0,
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(points)}"/>',
            )
    if threshold is not None:
        body.append(_threshold(threshold, top, unit))
    return _frame(title, body, [s.name for s in series], unit, top)
