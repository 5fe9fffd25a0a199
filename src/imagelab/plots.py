"""Every figure of the lab, in one place, saved atomically as PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imagelab.records import atomic_path

SPLIT_COLOURS = {"training": "#F8766D", "validation": "#00BFC4"}  # ggplot2's two-colour palette


def save(fig: plt.Figure, path: Path) -> Path:
    """Save a figure as PNG atomically and return its path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return Path(path)


def history(frame: pd.DataFrame, title: str = "") -> plt.Figure:
    """2019's history figure: points per epoch and a loess line per split, one facet per metric."""
    metrics = [m for m in ("loss", "acc") if m in set(frame["metric"])]
    fig, axes = plt.subplots(len(metrics), 1, figsize=(6.5, 2.6 * len(metrics)), sharex=True)
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        for split, rows in frame[frame["metric"] == metric].groupby("data"):
            sns.regplot(
                data=rows, x="epoch", y="value", ax=ax, lowess=len(rows) > 3, ci=None,
                color=SPLIT_COLOURS.get(split), label=split, truncate=True,
                scatter_kws={"s": 18}, line_kws={"linewidth": 1.5},
            )  # fmt: skip
        ax.set(ylabel=metric, xlabel="")
        ax.grid(alpha=0.3)
    axes = np.atleast_1d(axes)
    axes[0].legend(title="data", loc="best")
    axes[-1].set_xlabel("epoch")
    axes[-1].xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(predictions: pd.DataFrame, class_names: list[str], title: str = "") -> plt.Figure:
    """Confusion matrix of the test set: counts, true class by row, predicted class by column."""
    counts = pd.crosstab(predictions["true"], predictions["predicted"]).reindex(
        index=range(len(class_names)), columns=range(len(class_names)), fill_value=0
    )
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    sns.heatmap(
        counts, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax,
        xticklabels=class_names, yticklabels=class_names, annot_kws={"fontsize": 7},
    )  # fmt: skip
    ax.set(xlabel="predicted", ylabel="true", title=title or "Confusion matrix (test set)")
    fig.tight_layout()
    return fig


def misclassified(
    predictions: pd.DataFrame, images: np.ndarray, class_names: list[str], count: int = 24
) -> plt.Figure:
    """A grid of the first misclassified test images, each titled with true and predicted label."""
    wrong = predictions[predictions["true"] != predictions["predicted"]].head(count)
    columns = 8
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.25, rows * 1.45))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, (_, row) in zip(np.ravel(axes), wrong.iterrows(), strict=False):
        image = images[int(row["index"])]
        if image.ndim == 1:  # flattened MNIST rows (exercise one) back to 28x28
            image = image.reshape(28, 28, 1)
        ax.imshow(image.squeeze(), cmap="gray_r" if image.shape[-1] == 1 else None)
        ax.set_title(
            f"true {class_names[row['true']]}\npred {class_names[row['predicted']]}",
            fontsize=7, color="#b2182b",
        )  # fmt: skip
    total = int((predictions["true"] != predictions["predicted"]).sum())
    fig.suptitle(f"First {len(wrong)} of {total} misclassified test images", fontsize=9)
    fig.tight_layout()
    return fig


def comparison(table: pd.DataFrame) -> plt.Figure:
    """Test accuracy per exercise, 2019 against now (with the seed range where known)."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    y = np.arange(len(table))
    ax.barh(y + 0.2, table["acc_2019"], height=0.4, color="#bbbbbb", label="2019")
    ax.barh(y - 0.2, table["acc"], height=0.4, color="#2166ac", label="now (canonical seed)")
    if {"seed_min", "seed_max"} <= set(table.columns):
        ax.hlines(y - 0.2, table["seed_min"], table["seed_max"], color="black", lw=2,
                  label="now, range over seeds")  # fmt: skip
    ax.set_yticks(y, table["exercise"])
    ax.set_xlim(max(0.0, float(np.nanmin(table[["acc", "acc_2019"]].to_numpy())) - 0.1), 1.0)
    ax.set_xlabel("test accuracy")
    ax.legend(loc="lower left", fontsize=8)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig
