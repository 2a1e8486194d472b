"""The inline SVG charts (app/dashboards/charts.py): plain functions over plain values."""

from __future__ import annotations

from app.dashboards import charts


def test_nice_max_rounds_the_axis_up():
    assert charts.nice_max(0) == 1.0
    assert charts.nice_max(7) == 10
    assert charts.nice_max(12) == 20
    assert charts.nice_max(230) == 250


def test_bar_chart_draws_one_rect_per_value_and_escapes_labels():
    svg = charts.bar_chart(
        "Visites <test>",
        ["janv.", "févr."],
        [charts.Series("Périodique", [3, 5]), charts.Series("Reprise & co", [1, 0])],
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg and "<title>Visites &lt;test&gt;</title>" in svg
    assert svg.count("<rect") == 4 + 2  # 4 bars + 2 legend swatches
    assert "Reprise &amp; co" in svg and "<test>" not in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_threshold_line_is_drawn():
    svg = charts.bar_chart("Absentéisme", ["A"], [charts.Series("Taux", [2.0])], unit=" %",
                           threshold=5.0)  # fmt: skip
    assert 'class="threshold"' in svg and "Seuil 5 %" in svg


def test_line_chart_has_a_polyline_and_dots():
    svg = charts.line_chart("Effectifs", ["2024", "2025"], [charts.Series("Effectif", [10, 12])])
    assert "<polyline" in svg and svg.count("<circle") == 2


def test_empty_chart_still_renders():
    assert "<svg" in charts.bar_chart("Vide", [], [])
    assert "<svg" in charts.line_chart("Vide", [], [])


def test_side_by_side_bars_in_euros():
    """The billing figure: three series side by side per month, the axis in euros."""
    svg = charts.bar_chart(
        "Montants",
        ["janv. 2026"],
        [charts.Series("Net facturé", [1200]), charts.Series("Encaissé", [300.5])],
        stacked=False,
        unit=" €",
        decimals=2,
    )
    bars = [part for part in svg.split("<rect")[1:] if "<title>" in part]
    xs = {part.split('x="')[1].split('"')[0] for part in bars}
    assert len(bars) == 2 and len(xs) == 2  # next to each other, not stacked
    assert "1\u202f500 €" in svg and "2\u202f000 €" in svg  # the axis, up to 2 000 €
    assert "Net facturé : 1\u202f200,00 €" in svg and "Encaissé : 300,50 €" in svg
