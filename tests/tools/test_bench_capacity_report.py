"""The printed rows and the plot of `omnirt bench capacity` (tools/bench/capacity_report.py)."""

from omnirt.tools.bench.capacity_report import curve_svg, table_row


def _point(sessions, p50, p95, host=None):
    return {"sessions": sessions, "voice_to_voice_ms": {"p50": p50, "p95": p95}, "predicted_host": host or {},
            "answered": 6 * sessions, "asked": 6 * sessions}


def test_a_row_gives_each_prediction_s_p95_error_against_the_measured_p95():
    row = table_row(_point(2, 400.0, 600.0, {"p50": 420.0, "p95": 630.0}), nodes=1)
    assert row.split()[:4] == ["1", "2", "400", "600"]
    assert "+5 %" in row and row.rstrip().endswith("12/12")
    assert table_row(_point(1, 400.0, 600.0), nodes=2).count("    -") == 3  # nothing predicted: no error shown


def test_the_plot_draws_measured_and_predicted_lines_and_nothing_without_figures():
    runs = [{"nodes": 1, "points": [_point(1, 400.0, 600.0, {"p50": 410.0, "p95": 590.0}),
                                    _point(2, 500.0, 800.0, {"p50": 520.0, "p95": 850.0})]}]
    svg = curve_svg(runs)
    assert svg.startswith("<svg") and svg.count("<polyline") == 4 and "1 node(s) p95" in svg and "sessions" in svg
    assert curve_svg([{"nodes": 1, "points": []}]) == ""
