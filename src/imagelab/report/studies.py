"""Reproduction checks: why our ReLU MNIST accuracy differed from 2019's (studies/)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imagelab import analysis, records
from imagelab.judging.reference import HISTORY_2019
from imagelab.report.display import _plot, _show, _table
from imagelab.report.results import load_run
from imagelab.results import tables
from imagelab.results.exercises import get_exercise

# label -> (file, column naming the variant, the variant). The first is the baseline: Keras 3's
# own fit, which repeats one shuffled order every epoch once a seed is set (imagelab's training
# before commit a9183bb); the two that follow restored their behaviour on top of that order.
REPRODUCTION_STUDIES = {
    "Keras 3 fit (one order, repeated)": ("keras3_shuffle.csv", "order", "keras3_repeated"),
    "Keras 2 RMSprop update (order repeated)": ("keras2_rmsprop.csv", "rule", "keras2"),
    "Keras 2 clipped cross-entropy (order repeated)": (
        "keras2_loss.csv",
        "loss_rule",
        "keras2_clipped",
    ),
    "Reshuffled every epoch (Keras 2)": ("keras3_shuffle.csv", "order", "reshuffled"),
}


def _study(studies_dir: Path, file: str) -> pd.DataFrame:
    """A study's rows for the ReLU network (studies of exercise one's two nets say which)."""
    path = studies_dir / file
    if not path.is_file():
        return pd.DataFrame()
    study = tables.read_study(path)
    return study[study["activation"] == "relu"] if "activation" in study else study


def reproduction_table(
    studies_dir: str | Path | None = None, results_dir: str | Path | None = None
) -> pd.DataFrame:
    """ReLU MNIST test accuracy per seed: each study's variant, and our runs (scores/seeds.csv)."""
    studies_dir = Path(studies_dir or records.PROJECT_ROOT / "studies")
    columns = {}
    for label, (file, column, variant) in REPRODUCTION_STUDIES.items():
        study = _study(studies_dir, file)
        if not study.empty:
            columns[label] = study[study[column] == variant].set_index("seed")["test_acc"]
    seeds_path = records.run_files("seeds", results_dir).score
    if seeds_path.is_file() and columns:
        ours = (
            tables.read(seeds_path, tables.SEEDS)
            .query("run == 'relu_mnist'")
            .set_index("seed")["acc"]
        )
        columns["Our runs now (scores/seeds.csv)"] = ours
    if not columns:
        return pd.DataFrame()
    return pd.concat(columns, axis=1).sort_index().rename_axis("seed").reset_index()


def _history_2019() -> pd.DataFrame:
    """2019's history of the dense network, checked (``tables.HISTORY_2019``)."""
    return tables.read(HISTORY_2019, tables.HISTORY_2019).reset_index(drop=True)


def validation_movement(studies_dir: str | Path | None = None) -> str:
    """How far the dense (linear) net's validation loss moves per epoch: 2019 against both orders.

    A net that ends every epoch on the same batches settles into a smooth validation curve; 2019's
    jumped from epoch to epoch, as a fresh order per epoch makes it do.
    """
    path = Path(studies_dir or records.PROJECT_ROOT / "studies") / "keras3_shuffle.csv"
    if not path.is_file() or not HISTORY_2019.is_file():
        return ""
    linear = tables.read_study(path).query("activation == 'linear'")
    moved = linear.groupby("order")["val_loss_mean_abs_change"].agg(["mean", "count"])
    history = _history_2019()
    val_loss = history.query("metric == 'loss' and data == 'validation'").sort_values("epoch")
    theirs = val_loss["value"].diff().abs().mean()
    return (
        "The dense network without activation shows the mechanism: 2019's validation loss moved "
        f"{theirs:.4f} per epoch on average (the mean absolute change from one epoch to the "
        "next, in its history, `histories/lab2019/history.csv`); ours "
        f"moved {moved.loc['keras3_repeated', 'mean']:.4f} with one order repeated and "
        f"{moved.loc['reshuffled', 'mean']:.4f} reshuffled every epoch (means over "
        f"{moved['count'].min()} seeds)."
    )


def _study_against_runs(table: pd.DataFrame, studies_dir: str | Path | None = None) -> str:
    """Where the reshuffled study's runs (imagelab's training at the study's commit) and our
    runs of the same seed agree, and where not."""
    study, ours = "Reshuffled every epoch (Keras 2)", "Our runs now (scores/seeds.csv)"
    if study not in table or ours not in table:
        return ""
    both = table.dropna(subset=[study, ours])
    same = both.loc[both[study] == both[ours], "seed"].tolist()
    differ = both[both[study] != both[ours]]
    text = f"The reshuffled study is imagelab's training as it was then: the same test accuracy as our runs at seeds {', '.join(map(str, same)) or 'none'}"
    if not differ.empty:
        path = (
            Path(studies_dir or records.PROJECT_ROOT / "studies") / REPRODUCTION_STUDIES[study][0]
        )
        commit = str(tables.read_study(path)["commit"].iloc[0])[:7]
        text += (
            ", not at "
            + ", ".join(
                f"seed {int(r['seed'])} ({r[study]:.4f} against {r[ours]:.4f})"
                for _, r in differ.iterrows()
            )
            + f"; the study ran at commit {commit}, and those runs were trained again since"
        )
    return text + "."


def show_reproduction_checks(
    studies_dir: str | Path | None = None, results_dir: str | Path | None = None
) -> None:
    """Why our ReLU MNIST accuracy differed from 2019's: Keras 2 behaviours restored on the same
    seeds, and the one that explains it."""
    table = reproduction_table(studies_dir, results_dir)
    if table.shape[1] < 3:  # no study has run
        return
    theirs = get_exercise("relu_mnist").result_2019["acc"]
    lines = []
    for label in table.columns[1:]:
        values = table[label].dropna()
        lines.append(
            f"- {label}: mean {values.mean():.4f} over {len(values)} seeds (range "
            f"{values.min():.4f}-{values.max():.4f}); {(analysis.exact_accuracy(values) >= theirs).sum()} of {len(values)} "
            f"reach 2019's {theirs:.4f}."
        )
    _show(
        "# Reproduction checks: the ReLU network against 2019\n\n"
        "Keras 3 changed behaviours the 2019 lab relied on. Each study retrains the ReLU network "
        "on the same seeds with one Keras 2 behaviour restored (`studies/`). Keras 2 shuffled "
        "the training set afresh before every epoch; Keras 3's own `fit`, once a seed is set, "
        "repeats one order in every epoch, as imagelab's training did before commit a9183bb. "
        "The RMSprop and loss studies ran on that repeated order.\n\n"
        + "\n".join(lines)
        + f"\n\n{validation_movement(studies_dir)} {_study_against_runs(table, studies_dir)}\n\n"
        # Seed 2019 is the canonical run's seed, not the 2019 report: its label says so.
        + _table(
            table.assign(
                seed=[f"seed {s}" + (" (canonical)" if s == 2019 else "") for s in table["seed"]]
            ).rename(columns={"seed": "run"})
        )
    )
    ours = load_run("dense_mnist", results_dir)
    if ours is not None and HISTORY_2019.is_file():
        from imagelab import plots
        from imagelab.judging import seed_noise

        runs = seed_noise.seed_runs("dense_mnist", results_dir)
        figure = plots.histories_compared(
            {"now": ours.history, "2019": _history_2019()},
            band=seed_noise.history_range(runs) if runs else None,
            title="Dense network without activation: our canonical run against 2019's history",
        )
        _plot(
            figure,
            "The dense network without activation: our canonical run's history against 2019's "
            f"(printed in its report), loss and accuracy per epoch; shaded: the lowest to the "
            f"highest of our {len(runs)} seed runs at each epoch. Question 3's answer counts how "
            "many of 2019's points lie inside the shading.",
        )
