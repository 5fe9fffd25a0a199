"""Figures are legible in print: each is drawn at the size the report prints it (side-by-side
figures at half the text width), so no text in it is under 7 pt; bars start at zero; a sweep's
line follows its axis."""

import matplotlib.text
import numpy as np
import pandas as pd
import pytest

from imagelab import plots
from imagelab.report.render import FIGURE_SCALE


def _history(epochs=6):
    rows = [(e, v, m, d) for e in range(1, epochs + 1)
            for m, d, v in (("loss", "training", 1 / e), ("loss", "validation", 1.1 / e),
                            ("acc", "training", 1 - 0.1 / e), ("acc", "validation", 1 - 0.12 / e))]  # fmt: skip
    return pd.DataFrame(rows, columns=["epoch", "value", "metric", "data"])


def _predictions(n=300):
    true = np.arange(n) % 10
    return pd.DataFrame(
        {"index": np.arange(n), "true": true, "predicted": (true + (np.arange(n) % 7 == 0)) % 10}
    )


def _figures():
    names = [str(d) for d in range(10)]
    summary = pd.DataFrame({"feature_set": ["all", "all", "raw", "raw"], "hidden": ["3", "3-3"] * 2,
                            "success_rate": [0.1, 0.5, 0.0, 0.2], "successes": [1, 5, 0, 2],
                            "seeds": 10})  # fmt: skip
    sweep = pd.DataFrame({"dropout": [0.0, 0.5, 0.25] * 2, "seed": [1] * 3 + [2] * 3,
                          "test_acc": [0.989, 0.99, 0.991, 0.988, 0.991, 0.990],
                          "status": "complete"})  # fmt: skip
    table = pd.DataFrame({"exercise": ["dense", "cifar"], "acc": [0.92, 0.65],
                          "acc_2019": [np.nan, 0.64], "seed_min": [0.91, 0.63], "seed_max": [0.93, 0.66]})  # fmt: skip
    grid = np.meshgrid(np.linspace(-6, 6, 20), np.linspace(-6, 6, 20))
    points = (np.zeros((4, 2)), np.array([-1, 1, -1, 1]))
    return {
        "history": (plots.history(_history(), "dense_mnist: training history"), plots.HALF_WIDTH),
        "confusion": (plots.confusion(_predictions(), names, "confusion"), plots.HALF_WIDTH),
        "misclassified": (plots.misclassified(_predictions(), np.zeros((300, 28, 28, 1)), names),
                          plots.TEXT_WIDTH),  # fmt: skip
        "comparison": (plots.comparison(table), plots.TEXT_WIDTH),
        "sweep": (plots.sweep_summary(sweep, ["dropout"], "cnn_dropout"), plots.TEXT_WIDTH),
        "surface": (plots.decision_surface((*grid, grid[0] / 6), points, points), plots.HALF_WIDTH),
        "loss": (plots.loss_curves(_history().assign(data="training"), 3), plots.HALF_WIDTH),
        "search": (plots.search_success(summary), plots.TEXT_WIDTH),
        "compared": (plots.histories_compared({"now": _history(), "2019": _history()}), plots.TEXT_WIDTH),
    }  # fmt: skip


@pytest.fixture(scope="module")
def figures():
    drawn = _figures()
    yield drawn
    for figure, _ in drawn.values():
        plots.close(figure)


def test_every_figure_fits_where_the_report_prints_it_at_its_own_size(figures):
    assert FIGURE_SCALE == 1.0  # shown at natural size: drawn sizes are printed sizes
    for name, (figure, room) in figures.items():
        assert figure.get_size_inches()[0] <= room, name


def test_no_text_in_any_figure_is_under_7_pt_in_print(figures):
    for name, (figure, _) in figures.items():
        figure.canvas.draw()
        texts = figure.findobj(matplotlib.text.Text)
        sizes = [text.get_fontsize() for text in texts if text.get_text().strip()]
        assert sizes and min(sizes) >= plots.MIN_FONT_PT, (name, min(sizes))


def test_the_comparison_bars_start_at_zero(figures):
    assert figures["comparison"][0].axes[0].get_xlim()[0] == 0.0


def test_a_sweeps_mean_line_follows_the_axis_order(figures):
    """Run in the order 0.0, 0.5, 0.25, the means are joined 0.0, 0.25, 0.5 along the axis."""
    axis = figures["sweep"][0].axes[0]
    lines = [line for line in axis.get_lines() if len(line.get_xdata()) == 3]
    assert lines and all(np.all(np.diff(line.get_xdata()) > 0) for line in lines)
