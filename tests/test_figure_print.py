"""Figures are legible in print: each is drawn at the size the report prints it (side-by-side
figures share the text width), so no text in it is under 7 pt and none runs into other text;
the comparison is a dot plot around 2019's accuracy; a sweep's line follows its axis, and only
when its settings are numbers."""

import io

import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from imagelab import playground_plots, plots
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


# CIFAR-10's class names, the longest any figure labels ("automobile").
CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# A sweep run in the order 0.0, 0.5, 0.25 (seeds 1, 2) and one over settings named by text.
SWEEP = pd.DataFrame({"dropout": [0.0, 0.5, 0.25] * 2, "seed": [1] * 3 + [2] * 3,
                      "test_acc": [0.989, 0.99, 0.991, 0.988, 0.991, 0.990], "status": "complete"})  # fmt: skip
ACTIVATIONS = SWEEP.assign(activation=["relu", "tanh", "linear"] * 2).drop(columns="dropout")
BAND = _history().assign(low=lambda f: f["value"] * 0.9, high=lambda f: f["value"] * 1.1)


def _epochs(epochs):
    """A Playground run's loss history over ``epochs`` epochs."""
    rows = [
        (e, 0.5 / e**0.3, "loss", d) for e in range(1, epochs + 1) for d in ("training", "test")
    ]
    return pd.DataFrame(rows, columns=["epoch", "value", "metric", "data"])


def _figures():
    summary = pd.DataFrame({"feature_set": ["all", "all", "raw", "raw"], "hidden": ["3", "3-3"] * 2,
                            "success_rate": [0.1, 0.5, 0.0, 0.2], "successes": [1, 5, 0, 2],
                            "seeds": 10})  # fmt: skip
    table = pd.DataFrame({"exercise": ["dense", "cifar", "relu"], "acc": [0.92, 0.65, 0.98],
                          "acc_2019": [np.nan, 0.64, 0.981], "seed_min": [0.91, 0.63, 0.978],
                          "seed_max": [0.93, 0.66, 0.982]})  # fmt: skip
    grid = np.meshgrid(np.linspace(-6, 6, 20), np.linspace(-6, 6, 20))
    points = (np.zeros((4, 2)), np.array([-1, 1, -1, 1]))
    return {
        "history": (plots.history(_history(), "dense_mnist: training history"), plots.HISTORY_WIDTH),
        "confusion": (plots.confusion(_predictions(), CIFAR, "confusion"), plots.CONFUSION_WIDTH),
        "misclassified": (plots.misclassified(_predictions(), np.zeros((300, 28, 28, 1)), CIFAR),
                          plots.TEXT_WIDTH),  # fmt: skip
        "comparison": (plots.comparison(table), plots.TEXT_WIDTH),
        "sweep": (plots.sweep_summary(SWEEP, ["dropout"], "cnn_dropout"), plots.TEXT_WIDTH),
        "categories": (plots.sweep_summary(ACTIVATIONS, ["activation"], "dense_activation"),
                       plots.TEXT_WIDTH),  # fmt: skip
        "surface": (playground_plots.decision_surface((*grid, grid[0] / 6), points, points), plots.HALF_WIDTH),
        "loss": (playground_plots.loss_curves(_epochs(2000), (1500, 0.01)), plots.HALF_WIDTH),
        "search": (playground_plots.search_success(summary), plots.TEXT_WIDTH),
        "compared": (plots.histories_compared({"now": _history(), "2019": _history()}, BAND),
                     plots.TEXT_WIDTH),  # fmt: skip
    }  # fmt: skip


@pytest.fixture(scope="module")
def figures():
    drawn = _figures()
    yield drawn
    for figure, _ in drawn.values():
        plots.close(figure)


def test_every_figure_fits_where_the_report_prints_it_at_its_own_size(figures):
    assert FIGURE_SCALE == 1.0  # shown at natural size: drawn sizes are printed sizes
    assert plots.HISTORY_WIDTH + plots.CONFUSION_WIDTH <= plots.TEXT_WIDTH  # they share a row
    for name, (figure, room) in figures.items():
        with Image.open(io.BytesIO(plots.png(figure))) as image:  # cropped as it is saved
            assert image.info["dpi"][0] == pytest.approx(plots.DPI, rel=1e-3), name
            assert image.width / plots.DPI <= room + 0.01, (name, image.width / plots.DPI, room)


def test_no_text_in_any_figure_is_under_7_pt_in_print(figures):
    for name, (figure, _) in figures.items():
        figure.canvas.draw()
        texts = figure.findobj(matplotlib.text.Text)
        sizes = [text.get_fontsize() for text in texts if text.get_text().strip()]
        assert sizes and min(sizes) >= plots.MIN_FONT_PT, (name, min(sizes))


def _overlap(a, b):
    return a.x0 < b.x1 - 1 and b.x0 < a.x1 - 1 and a.y0 < b.y1 - 1 and b.y0 < a.y1 - 1


def test_no_two_tick_labels_of_an_axis_run_into_each_other(figures):
    """The Playground's 2000 epochs once printed as '1000120014001600180020000'."""
    for name, (figure, _) in figures.items():
        renderer = figure.canvas.get_renderer()
        for ax in figure.axes:
            for axis in (ax.xaxis, ax.yaxis):
                labels = [t for t in axis.get_ticklabels(which="both")
                          if t.get_visible() and t.get_text().strip()]  # fmt: skip
                boxes = [t.get_window_extent(renderer) for t in labels]
                for i, a in enumerate(boxes):
                    for j in range(i + 1, len(boxes)):
                        assert not _overlap(a, boxes[j]), (name, labels[i], labels[j])


def test_the_loss_axis_prints_plain_numbers(figures):
    axis = figures["loss"][0].axes[0]
    labels = [t.get_text() for t in axis.get_yticklabels(which="both") if t.get_text()]
    assert labels and not any("times" in label or "^" in label for label in labels), labels


def test_misclassified_titles_stay_clear_of_other_images_and_titles(figures):
    figure = figures["misclassified"][0]
    renderer = figure.canvas.get_renderer()
    axes = [ax for ax in figure.axes if ax.get_title()]
    for ax in axes:
        title = ax.title.get_window_extent(renderer)
        for other in axes:
            if other is not ax:
                assert not _overlap(title, other.title.get_window_extent(renderer))
                assert not _overlap(title, other.get_window_extent(renderer)), ax.get_title()


def test_the_comparison_is_a_dot_plot_of_differences_around_2019(figures):
    """Accuracies from 0.65 to 0.99 on one axis hide differences of a few thousandths: the
    figure shows now minus 2019, 2019 the line at 0 in the middle, exercises without a 2019
    accuracy left out."""
    axis = figures["comparison"][0].axes[0]
    low, high = axis.get_xlim()
    assert low == pytest.approx(-high) and high < 0.1
    assert [t.get_text() for t in axis.get_yticklabels()] == ["cifar", "relu"]
    (dots,) = [line for line in axis.get_lines() if line.get_marker() == "o"]
    assert list(dots.get_xdata()) == pytest.approx([0.01, -0.001])


def test_a_sweeps_line_follows_the_axis_order(figures):
    """Run in the order 0.0, 0.5, 0.25, the means are joined 0.0, 0.25, 0.5 along the axis."""
    axis = figures["sweep"][0].axes[0]
    lines = [line for line in axis.get_lines() if line.get_linestyle() not in ("None", "")]
    assert lines and all(np.all(np.diff(line.get_xdata()) > 0) for line in lines)


def test_a_sweep_over_named_settings_draws_no_line_between_them(figures):
    axis = figures["categories"][0].axes[0]
    joined = [line for line in axis.get_lines()
              if line.get_linestyle() not in ("None", "") and len(line.get_xdata()) > 1]  # fmt: skip
    assert not joined


def test_a_sweeps_bars_run_from_the_lowest_to_the_highest_seed(figures):
    """The report's rule (every seed beyond every seed of the other) reads off these bars."""
    axis = figures["sweep"][0].axes[0]
    (bars,) = [c for c in axis.collections if len(c.get_segments()) == 3]
    along = sorted(bars.get_segments(), key=lambda segment: segment[0, 0])  # by setting
    spans = [(segment[:, 1].min(), segment[:, 1].max()) for segment in along]
    expected = SWEEP.groupby("dropout")["test_acc"].agg(["min", "max"])  # sorted: 0.0, 0.25, 0.5
    assert np.ravel(spans) == pytest.approx(expected.to_numpy().ravel())
    assert "axis from" in axis.get_ylabel()  # a zoomed axis says where it starts
