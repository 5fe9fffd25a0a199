"""Every figure of the lab, in one place, saved atomically as PNG.

Each figure is drawn at the size it is printed at in the report (``HALF_WIDTH`` for the two
that stand side by side, at most ``TEXT_WIDTH`` otherwise), so the sizes of its text are its
printed sizes: none below ``MIN_FONT_PT`` (``STYLE`` sets them; ``report.render`` shows
figures at their natural size).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.ticker import MaxNLocator

from imagelab import analysis
from imagelab.records import atomic_path

SPLIT_COLOURS = {"training": "#F8766D", "validation": "#00BFC4"}  # ggplot2's two-colour palette
TEXT_WIDTH = 6.9  # inches: the report's A4 text width
HALF_WIDTH = 3.4  # inches: one of two figures side by side
MIN_FONT_PT = 7  # the smallest text legible in print
STYLE = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5, "legend.fontsize": 7.5, "legend.title_fontsize": 7.5,
    "figure.titlesize": 8.5,
}  # fmt: skip
plt.rcParams.update(STYLE)


def save(fig: plt.Figure, path: Path) -> Path:
    """Save a figure as PNG atomically and return its path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return Path(path)


def history(frame: pd.DataFrame, title: str = "") -> plt.Figure:
    """2019's history figure: points per epoch and a loess line per split, one facet per metric."""
    metrics = [m for m in ("loss", "acc") if m in set(frame["metric"])]
    fig, axes = plt.subplots(
        len(metrics), 1, figsize=(HALF_WIDTH, 0.4 + 1.35 * len(metrics)), sharex=True
    )
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        for split, rows in frame[frame["metric"] == metric].groupby("data"):
            sns.regplot(
                data=rows,
                x="epoch",
                y="value",
                ax=ax,
                lowess=len(rows) > 3,
                ci=None,
                color=SPLIT_COLOURS.get(split),
                label=split,
                truncate=True,
                scatter_kws={"s": 10},
                line_kws={"linewidth": 1.2},
            )
        ax.set(ylabel=metric, xlabel="")
        ax.grid(alpha=0.3)
    axes = np.atleast_1d(axes)
    axes[0].legend(title="data", loc="best")
    _epoch_axis(axes[-1], int(frame["epoch"].max()))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _epoch_axis(ax: plt.Axes, epochs: int) -> None:
    """An x axis of whole epochs 1 to ``epochs``, half an epoch of margin either side: the
    default autoscale stretches a 1-epoch run's single point over 0.96-1.04, and an integer
    locator wanting two ticks falls back to 0.6, 0.8, ... when the axis holds one whole epoch."""
    ax.set_xlim(0.5, epochs + 0.5)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def histories_compared(histories: dict[str, pd.DataFrame], title: str = "") -> plt.Figure:
    """Several runs' histories on shared axes: a facet per metric, a colour per data split and a
    line style per run (the first solid), so a reader sees where two runs part."""
    fig, axes = plt.subplots(2, 1, figsize=(4.2, 3.2), sharex=True)
    for ax, metric in zip(axes, ("loss", "acc"), strict=True):
        for (run, frame), style in zip(histories.items(), ("-", "--", ":"), strict=False):
            for split, rows in frame[frame["metric"] == metric].groupby("data"):
                rows = rows.sort_values("epoch")
                ax.plot(rows["epoch"], rows["value"], style, marker="o", ms=3,
                        color=SPLIT_COLOURS.get(split), label=f"{run}, {split}")  # fmt: skip
        ax.set(ylabel=metric)
        ax.grid(alpha=0.3)
    axes[0].legend()
    _epoch_axis(axes[-1], max(int(f["epoch"].max()) for f in histories.values()))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(predictions: pd.DataFrame, class_names: list[str], title: str = "") -> plt.Figure:
    """Confusion matrix of the test set: counts, true class by row, predicted class by column."""
    counts = pd.crosstab(predictions["true"], predictions["predicted"]).reindex(
        index=range(len(class_names)), columns=range(len(class_names)), fill_value=0
    )
    fig, ax = plt.subplots(figsize=(HALF_WIDTH, 2.9))
    sns.heatmap(
        counts,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        ax=ax,
        xticklabels=class_names,
        yticklabels=class_names,
        annot_kws={"fontsize": 7},
    )
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
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.75, 0.3 + rows * 0.95))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, (_, row) in zip(np.ravel(axes), wrong.iterrows(), strict=False):
        image = images[int(row["index"])]
        if image.ndim == 1:  # flattened MNIST rows (exercise one) back to 28x28
            image = image.reshape(28, 28, 1)
        ax.imshow(image.squeeze(), cmap="gray_r" if image.shape[-1] == 1 else None)
        ax.set_title(
            f"true {class_names[row['true']]}\npred {class_names[row['predicted']]}",
            fontsize=7,
            color="#b2182b",
        )
    total = int((predictions["true"] != predictions["predicted"]).sum())
    fig.suptitle(f"First {len(wrong)} of {total} misclassified test images")
    fig.tight_layout()
    return fig


def comparison(table: pd.DataFrame) -> plt.Figure:
    """Test accuracy per exercise, 2019 against now (with the seed range where known)."""
    fig, ax = plt.subplots(figsize=(5.6, 2.6))
    y = np.arange(len(table))
    ax.barh(y + 0.2, table["acc_2019"], height=0.4, color="#bbbbbb", label="2019")
    ax.barh(y - 0.2, table["acc"], height=0.4, color="#2166ac", label="now (canonical seed)")
    if {"seed_min", "seed_max"} <= set(table.columns):
        ax.hlines(
            y - 0.2,
            table["seed_min"],
            table["seed_max"],
            color="black",
            lw=2,
            label="now, range over seeds",
        )
    ax.set_yticks(y, table["exercise"])
    ax.set_xlim(0.0, 1.0)  # bars start at zero, so their lengths compare
    ax.set_xlabel("test accuracy")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def sweep_summary(summary: pd.DataFrame, swept: list[str], title: str = "") -> plt.Figure:
    """Test accuracy against the first swept parameter: every seed as a dot, the mean over seeds
    with a bar of +-1 standard deviation; one colour per combination of the other parameters."""
    complete = summary[summary["status"] == "complete"]
    x_name, others = swept[0], swept[1:]
    levels = list(dict.fromkeys(summary[x_name].tolist()))  # grid order: values may be text
    if pd.api.types.is_numeric_dtype(summary[x_name]):
        levels = sorted(levels)  # numbers along the axis in their own order, whatever ran first
    fig, ax = plt.subplots(figsize=(HALF_WIDTH, 2.4))
    groups = complete.groupby(others, sort=False) if others else [((), complete)]
    for number, (key, rows) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{name}={value}" for name, value in zip(others, key, strict=True))
        offset = (number - (len(groups) - 1) / 2) * 0.12 if others else 0.0
        x = rows[x_name].map(levels.index).to_numpy(dtype=float) + offset
        colour = f"C{number}"
        ax.scatter(x, rows["test_acc"], s=14, color=colour, alpha=0.45)
        stats = rows.groupby(x_name, sort=False)["test_acc"].agg(["mean", "std"])
        stats = stats.loc[[value for value in levels if value in stats.index]]  # axis order
        positions = np.array([levels.index(v) for v in stats.index], dtype=float) + offset
        ax.errorbar(
            positions,
            stats["mean"],
            yerr=stats["std"].fillna(0),
            fmt="o-",
            ms=6,
            capsize=4,
            color=colour,
            label=label or "mean +- sd over seeds",
        )
    ax.set_xticks(range(len(levels)), [str(v) for v in levels])
    ax.set_xlabel(x_name)
    ax.set_ylabel("test accuracy")
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def close(fig: plt.Figure) -> None:
    """Release a figure once shown or saved (notebooks would otherwise draw it twice)."""
    plt.close(fig)


# The Playground's colours: orange for label -1, blue for +1, white where the output is 0.
PLAYGROUND_CMAP = LinearSegmentedColormap.from_list("playground", ["#f59322", "#e8eaeb", "#0877bd"])


def decision_surface(
    grid: tuple[np.ndarray, np.ndarray, np.ndarray],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    title: str = "",
) -> plt.Figure:
    """The Playground's picture: the network's output (-1 to 1) as a heat map over the input
    plane, training points with a white edge and test points with a black edge on top."""
    grid_x1, grid_x2, output = grid
    fig, ax = plt.subplots(figsize=(HALF_WIDTH, 2.7))
    mesh = ax.pcolormesh(
        grid_x1, grid_x2, output, cmap=PLAYGROUND_CMAP, vmin=-1, vmax=1, shading="auto"
    )
    for (points, labels), edge, name in [(train, "white", "training"), (test, "black", "test")]:
        ax.scatter(
            points[:, 0],
            points[:, 1],
            c=labels,
            cmap=PLAYGROUND_CMAP,
            vmin=-1.4,
            vmax=1.4,
            s=8,
            edgecolors=edge,
            linewidths=0.7,
            label=name,
        )
    fig.colorbar(mesh, ax=ax, label="network output")
    ax.set(xlabel="x1", ylabel="x2", aspect="equal", title=title)
    ax.legend(loc="lower left", fontsize=MIN_FONT_PT, framealpha=0.8)
    fig.tight_layout()
    return fig


# Loss curves mark each epoch's point up to this many epochs; beyond, the line alone reads.
POINTS_UP_TO = 50


def loss_curves(
    frame: pd.DataFrame, switch_epoch: int | None = None, title: str = ""
) -> plt.Figure:
    """Training and test loss per epoch (log scale), as the Playground's loss chart, with the
    epoch where the learning rate changed and the 0.1 goal marked."""
    fig, ax = plt.subplots(figsize=(HALF_WIDTH, 2.7))
    colours = {"training": SPLIT_COLOURS["training"], "test": SPLIT_COLOURS["validation"]}
    epochs = int(frame["epoch"].max())
    marker = "o" if epochs <= POINTS_UP_TO else None  # a line alone hides a run of 1 epoch
    for split, rows in frame[frame["metric"] == "loss"].groupby("data"):
        ax.plot(rows["epoch"], rows["value"], color=colours.get(split), label=split, lw=1.3,
                marker=marker, ms=3)  # fmt: skip
    ax.axhline(0.1, color="grey", ls=":", lw=1, label="goal: 0.1")
    if switch_epoch:
        ax.axvline(switch_epoch, color="black", ls="--", lw=0.8, label="learning rate lowered")
    ax.set(yscale="log", ylabel="loss (0.5 (output - label)²)", title=title)
    _epoch_axis(ax, epochs)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def search_success(summary: pd.DataFrame) -> plt.Figure:
    """Share of seeds reaching test loss < 0.1 per hidden-layer shape and feature set, each cell
    labelled with its count ('6/10'), from ``analysis.playground_success``."""
    rates = summary.pivot(index="feature_set", columns="hidden", values="success_rate")
    labels = summary.assign(
        label=summary["successes"].astype(str) + "/" + summary["seeds"].astype(str)
    )
    labels = labels.pivot(index="feature_set", columns="hidden", values="label")
    order = list(dict.fromkeys(summary["hidden"]))  # the table's order: by layers, size
    rates, labels = rates[order], labels[order]
    width = min(TEXT_WIDTH, 1.0 + 0.42 * rates.shape[1])
    fig, ax = plt.subplots(figsize=(width, 1.2 + 0.4 * rates.shape[0]))
    sns.heatmap(
        rates,
        annot=labels,
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=1,
        cbar=False,
        ax=ax,
        linewidths=0.5,
        annot_kws={"fontsize": 7},
    )
    ax.set(
        xlabel="hidden neurons per layer",
        ylabel="input features",
        title="Seeds reaching test loss < 0.1",
    )
    fig.tight_layout()
    return fig


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
