"""Every figure of the lab, in one place, saved atomically as PNG.

Each figure is drawn at the size it is printed at in the report (``HALF_WIDTH`` for the two
that stand side by side, at most ``TEXT_WIDTH`` otherwise), so the sizes of its text are its
printed sizes: none below ``MIN_FONT_PT`` (``STYLE`` sets them; ``report.render`` shows
figures at their natural size, ``DPI`` pixels per inch, which is sharp enough for print).
The Playground's figures are in ``playground_plots``, drawn to the same rules.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from imagelab import analysis
from imagelab.records import atomic_path

SPLIT_COLOURS = {"training": "#F8766D", "validation": "#00BFC4"}  # ggplot2's two-colour palette
TEXT_WIDTH = 6.9  # inches: the report's A4 text width
HALF_WIDTH = 3.4  # inches: one of two figures side by side
# A run's history and confusion matrix stand side by side; the matrix takes more of the row,
# so CIFAR-10's three-digit counts have room in its cells.
HISTORY_WIDTH = 3.15
CONFUSION_WIDTH = TEXT_WIDTH - HISTORY_WIDTH - 0.1
MIN_FONT_PT = 7  # the smallest text legible in print; the figures' own text is 8 pt
DPI = 200  # pixels per inch of a saved figure, as printed (110 looked soft on paper)
STYLE = {
    "font.size": 8.5, "axes.titlesize": 8.5, "axes.labelsize": 8.5, "xtick.labelsize": 8,
    "ytick.labelsize": 8, "legend.fontsize": 8, "legend.title_fontsize": 8,
    "figure.titlesize": 9,
}  # fmt: skip
plt.rcParams.update(STYLE)


def save(fig: plt.Figure, path: Path) -> Path:
    """Save a figure as PNG atomically and return its path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(png(fig))
    return Path(path)


def png(fig: plt.Figure) -> bytes:
    """A figure as PNG at ``DPI``, cropped to what it draws; the PNG records its DPI, from which
    ``report.render`` takes its printed size."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


# The history lines: a local linear fit over this share of the epochs, not reweighted against
# far points (statsmodels' robust default bends away from epoch 1's high training loss).
SMOOTH_SPAN = 0.75  # ggplot2's loess span, which 2019's plots drew with


def history(frame: pd.DataFrame, title: str = "") -> plt.Figure:
    """2019's history figure: points per epoch and a smoothed line per split (``smoothed``),
    one facet per metric."""
    metrics = [m for m in ("loss", "acc") if m in set(frame["metric"])]
    fig, axes = plt.subplots(
        len(metrics), 1, figsize=(HISTORY_WIDTH, 0.4 + 1.25 * len(metrics)), sharex=True
    )
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        for split, rows in frame[frame["metric"] == metric].groupby("data"):
            rows = rows.sort_values("epoch")
            colour = SPLIT_COLOURS.get(split)
            ax.scatter(rows["epoch"], rows["value"], s=10, color=colour, label=split)
            ax.plot(*smoothed(rows["epoch"], rows["value"]), color=colour, lw=1.2)
        ax.set(ylabel=metric, xlabel="")
        ax.grid(alpha=0.3)
    axes = np.atleast_1d(axes)
    axes[0].legend(title="data", loc="best")
    epoch_axis(axes[-1], int(frame["epoch"].max()))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def smoothed(x: pd.Series, y: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The history's line through the points ``(x, y)``: lowess over ``SMOOTH_SPAN`` of them
    when there are more than 3, else the points joined."""
    if len(x) <= 3:
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    from statsmodels.nonparametric.smoothers_lowess import lowess

    fit = lowess(np.asarray(y, dtype=float), np.asarray(x, dtype=float), frac=SMOOTH_SPAN, it=0)
    return fit[:, 0], fit[:, 1]


def epoch_axis(ax: plt.Axes, epochs: int) -> None:
    """An x axis of whole epochs 1 to ``epochs``, half an epoch of margin either side: the
    default autoscale stretches a 1-epoch run's single point over 0.96-1.04, and an integer
    locator wanting two ticks falls back to 0.6, 0.8, ... when the axis holds one whole epoch."""
    ax.set_xlim(0.5, epochs + 0.5)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def histories_compared(
    histories: dict[str, pd.DataFrame], band: pd.DataFrame | None = None, title: str = ""
) -> plt.Figure:
    """Several runs' histories on shared axes: a facet per metric, a colour per data split and a
    line style per run (the first solid), so a reader sees where two runs part. ``band``
    (``seed_noise.history_range``: epoch, metric, data, low, high) is shaded behind them: the
    range of the seed runs, which a run inside it is not told apart from."""
    fig, axes = plt.subplots(2, 1, figsize=(5.2, 2.7), sharex=True)
    for ax, metric in zip(axes, ("loss", "acc"), strict=True):
        if band is not None:
            for split, rows in band[band["metric"] == metric].groupby("data"):
                rows = rows.sort_values("epoch")
                ax.fill_between(rows["epoch"], rows["low"], rows["high"], alpha=0.25, lw=0,
                                color=SPLIT_COLOURS.get(split), label=f"seed runs, {split}")  # fmt: skip
        for (run, frame), style in zip(histories.items(), ("-", "--", ":"), strict=False):
            for split, rows in frame[frame["metric"] == metric].groupby("data"):
                rows = rows.sort_values("epoch")
                ax.plot(rows["epoch"], rows["value"], style, marker="o", ms=3,
                        color=SPLIT_COLOURS.get(split), label=f"{run}, {split}")  # fmt: skip
        ax.set(ylabel=metric)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    epoch_axis(axes[-1], max(int(f["epoch"].max()) for f in histories.values()))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(predictions: pd.DataFrame, class_names: list[str], title: str = "") -> plt.Figure:
    """Confusion matrix of the test set: counts, true class by row, predicted class by column."""
    counts = pd.crosstab(predictions["true"], predictions["predicted"]).reindex(
        index=range(len(class_names)), columns=range(len(class_names)), fill_value=0
    )
    fig, ax = plt.subplots(figsize=(CONFUSION_WIDTH, 2.9))
    sns.heatmap(
        counts,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        ax=ax,
        xticklabels=class_names,
        yticklabels=class_names,
        annot_kws={"fontsize": 7.5},
    )
    ax.tick_params(length=2, pad=2)
    ax.set(xlabel="predicted", ylabel="true", title=title or "Confusion matrix (test set)")
    fig.tight_layout()
    return fig


def misclassified(
    predictions: pd.DataFrame, images: np.ndarray, class_names: list[str], count: int = 16
) -> plt.Figure:
    """A grid of the first misclassified test images, each titled with true and predicted label."""
    wrong = predictions[predictions["true"] != predictions["predicted"]].head(count)
    columns = 8
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    width = TEXT_WIDTH - 0.2  # saving crops to the titles, which reach past the figure's edge
    side = width / columns  # an image and its two lines of title above it per cell
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(width, 0.3 + rows * (side + 0.15)),
        squeeze=False,
        layout="constrained",  # room for each title above its image, which tight_layout misses
    )
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, (_, row) in zip(np.ravel(axes), wrong.iterrows(), strict=False):
        image = images[int(row["index"])]
        if image.ndim == 1:  # flattened MNIST rows (exercise one) back to 28x28
            image = image.reshape(28, 28, 1)
        ax.imshow(image.squeeze(), cmap="gray_r" if image.shape[-1] == 1 else None)
        # "automobile / → truck" fits a column where "true automobile" runs into the next.
        ax.set_title(
            f"{class_names[row['true']]}\n→ {class_names[row['predicted']]}",
            fontsize=8,
            color="#b2182b",
            pad=3,
        )
    total = int((predictions["true"] != predictions["predicted"]).sum())
    fig.suptitle(
        f"First {len(wrong)} of {total} misclassified test images: true label, → prediction"
    )
    return fig


def comparison(table: pd.DataFrame) -> plt.Figure:
    """Test accuracy per exercise against 2019's, as the difference now - 2019: a dot for the
    canonical run, a bar from the lowest to the highest seed run where known, and 2019 the
    line at 0. A dot plot of differences: the accuracies themselves (0.65 to 0.99) on one axis
    from zero would hide differences of a few thousandths. Exercises 2019 gave no accuracy
    for are left out."""
    shown = table[table["acc_2019"].notna()].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(5.2, 0.8 + 0.25 * len(shown)))
    y = np.arange(len(shown))
    ax.axvline(0.0, color="#777777", lw=1, label="2019's test accuracy")
    if {"seed_min", "seed_max"} <= set(shown.columns):
        ax.hlines(y, shown["seed_min"] - shown["acc_2019"], shown["seed_max"] - shown["acc_2019"],
                  color="#92c5de", lw=4, label="now, lowest to highest seed")  # fmt: skip
    ax.plot(shown["acc"] - shown["acc_2019"], y, "o", color="#2166ac", ms=5,
            label="now, canonical run (seed 2019)")  # fmt: skip
    ax.set_yticks(y, shown["exercise"])
    reach = np.nanmax(np.abs(ax.get_xlim()))
    ax.set_xlim(-reach, reach)  # 2019 in the middle: above and below it look alike
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, symmetric=True))
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.set_xlabel("test accuracy now minus 2019's")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False,
              columnspacing=1.0)  # fmt: skip
    fig.tight_layout()
    return fig


def sweep_summary(summary: pd.DataFrame, swept: list[str], title: str = "") -> plt.Figure:
    """Test accuracy against the first swept parameter: per setting a point at the mean over
    its seeds and a bar from the lowest to the highest seed (the report's rule: a setting is
    better only when the bars do not overlap); one colour per combination of the other
    parameters. Numeric settings are joined in axis order, settings named by text are not
    (a line between 'relu' and 'tanh' would claim an order). A dot plot: the axis is zoomed,
    and its label says where it starts."""
    complete = summary[summary["status"] == "complete"]
    x_name, others = swept[0], swept[1:]
    levels = list(dict.fromkeys(summary[x_name].tolist()))  # grid order: values may be text
    numeric = pd.api.types.is_numeric_dtype(summary[x_name])
    if numeric:
        levels = sorted(levels)  # numbers along the axis in their own order, whatever ran first
    fig, ax = plt.subplots(figsize=(HALF_WIDTH, 1.9))
    groups = complete.groupby(others, sort=False) if others else [((), complete)]
    for number, (key, rows) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{name}={value}" for name, value in zip(others, key, strict=True))
        offset = (number - (len(groups) - 1) / 2) * 0.12 if others else 0.0
        stats = rows.groupby(x_name, sort=False)["test_acc"].agg(["mean", "min", "max"])
        stats = stats.loc[[value for value in levels if value in stats.index]]  # axis order
        positions = np.array([levels.index(v) for v in stats.index], dtype=float) + offset
        ax.errorbar(
            positions,
            stats["mean"],
            yerr=[stats["mean"] - stats["min"], stats["max"] - stats["mean"]],
            fmt="o-" if numeric else "o",
            ms=4,
            lw=1,
            elinewidth=1.5,
            capsize=4,
            color=f"C{number}",
            label=label,
        )
    ax.set_xticks(range(len(levels)), [str(v) for v in levels])
    ax.set_xlim(-0.5, len(levels) - 0.5)
    ax.set_xlabel(x_name)
    ax.set_ylabel(f"test accuracy\n(axis from {ax.get_ylim()[0]:.4f})")  # a zoomed dot plot
    ax.grid(alpha=0.3, axis="y")
    if others:  # a colour per combination of the others; the caption says what a bar is
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def close(fig: plt.Figure) -> None:
    """Release a figure once shown or saved (notebooks would otherwise draw it twice)."""
    plt.close(fig)


# The benchmark's code paths (``<path>_epoch`` rows), their colours and legend labels.
BENCHMARK_PATHS = {
    "imagelab": ("#2166ac", "imagelab"),
    "bare": ("#bbbbbb", "bare Keras"),
    "imagelab_bf16": ("#92c5de", "imagelab, bfloat16"),
    "bare_bf16": ("#d9d9d9", "bare Keras, bfloat16"),
}


def benchmarks(results: pd.DataFrame) -> plt.Figure:
    """Seconds per epoch per model, imagelab against bare Keras (and in bfloat16 where the
    benchmark timed it), and the share of matmul peak."""
    value = results.set_index("name")["value"]
    names = [n.split("/")[0] for n in results["name"] if n.endswith("/ratio")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 3.0), sharey=True)
    y = np.arange(len(names))
    paths = [p for p in BENCHMARK_PATHS if any(f"{n}/{p}_epoch" in value for n in names)]
    height = 0.8 / len(paths)
    for i, path in enumerate(paths):
        colour, label = BENCHMARK_PATHS[path]
        left.barh(
            y + (i - (len(paths) - 1) / 2) * height,
            [value.get(f"{n}/{path}_epoch", np.nan) for n in names],
            height=height,
            color=colour,
            label=label,
        )
    left.set_yticks(y, names)
    left.set_xlabel("seconds per epoch")
    left.legend()
    left.invert_yaxis()
    right.barh(y, analysis.matmul_shares(value, names), color="#2166ac")
    right.set_xlabel("% of the run's best fp32 matmul GFLOP/s")
    fig.tight_layout()
    return fig
