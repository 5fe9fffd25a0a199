"""The Playground's figures (exercise three): the decision surface, the loss curves and the
search's success rates, drawn to ``plots``' rules (printed size, ``plots.STYLE``, ``plots.save``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from imagelab.plots import HALF_WIDTH, SPLIT_COLOURS, TEXT_WIDTH, epoch_axis

# The Playground's colours: orange for label -1, blue for +1, white where the output is 0.
PLAYGROUND_CMAP = LinearSegmentedColormap.from_list("playground", ["#f59322", "#e8eaeb", "#0877bd"])


def decision_surface(
    grid: tuple[np.ndarray, np.ndarray, np.ndarray],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    title: str = "",
) -> plt.Figure:
    """The Playground's picture: the network's output (-1 to 1) as a heat map over the input
    plane, and on top every point in its label's colour, training points edged white and test
    points edged black; the legend stands below the plane, where it hides no point."""
    grid_x1, grid_x2, output = grid
    fig, ax = plt.subplots(figsize=(HALF_WIDTH, 3.0))
    mesh = ax.pcolormesh(
        grid_x1, grid_x2, output, cmap=PLAYGROUND_CMAP, vmin=-1, vmax=1, shading="auto"
    )
    for (points, labels), edge in [(train, "white"), (test, "black")]:
        ax.scatter(points[:, 0], points[:, 1], c=labels, cmap=PLAYGROUND_CMAP, vmin=-1, vmax=1,
                   s=14, edgecolors=edge, linewidths=0.6)  # fmt: skip
    fig.colorbar(mesh, ax=ax, label="network output")
    ax.set(xlabel="x1", ylabel="x2", aspect="equal", title=title)
    key = [
        _point("label -1", PLAYGROUND_CMAP(0.0), "none"),
        _point("label +1", PLAYGROUND_CMAP(1.0), "none"),
        _point("training (white edge)", "#999999", "white"),
        _point("test (black edge)", "#999999", "black"),
    ]
    ax.legend(handles=key, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
              frameon=False, columnspacing=1.0, handletextpad=0.2)  # fmt: skip
    fig.tight_layout()
    return fig


def _point(label: str, colour: object, edge: str) -> Line2D:
    """A legend entry for a point of ``decision_surface``: its fill and its edge."""
    return Line2D([], [], ls="", marker="o", ms=5, mfc=colour, mec=edge, mew=0.8, label=label)


# Loss curves mark each epoch's point up to this many epochs; beyond, the line alone reads.
POINTS_UP_TO = 50


def loss_curves(
    frame: pd.DataFrame, switch: tuple[int, float] | None = None, title: str = ""
) -> plt.Figure:
    """Training and test loss per epoch (log scale), as the Playground's loss chart, with the
    0.1 goal and ``switch``, (the epoch, the rate) where the learning rate was lowered, marked."""
    fig, ax = plt.subplots(figsize=(HALF_WIDTH, 3.0))
    colours = {"training": SPLIT_COLOURS["training"], "test": SPLIT_COLOURS["validation"]}
    epochs = int(frame["epoch"].max())
    marker = "o" if epochs <= POINTS_UP_TO else None  # a line alone hides a run of 1 epoch
    for split, rows in frame[frame["metric"] == "loss"].groupby("data"):
        ax.plot(rows["epoch"], rows["value"], color=colours.get(split), label=split, lw=1.3,
                marker=marker, ms=3)  # fmt: skip
    ax.axhline(0.1, color="grey", ls=":", lw=1, label="goal: 0.1")
    if switch:
        ax.axvline(switch[0], color="black", ls="--", lw=0.8,
                   label=f"learning rate lowered to {switch[1]:g}")  # fmt: skip
    ax.set(yscale="log", ylabel="loss (0.5 (output - label)²)", title=title)
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # 0.1, 0.2, 0.5: few, legible
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # not 2×10⁻¹
    ax.yaxis.set_minor_formatter(NullFormatter())
    epoch_axis(ax, epochs)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=1))
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
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
