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
