"""Judgements the 2019 report made by eye, computed from a run's numbers instead.

The only home of every judgement the notebooks and the report print: the train-validation gap,
the steady epoch time, accuracy comparisons at stored precision, the plateau, the sweep digest
and the Playground glossary. Each is a pure function over loaded runs (histories, scores,
provenance) or tables, so the notebook and the report print the same sentence for the same
question because they call the same function. Accuracy, gap, plateau and the Playground live
here; accuracies against 2019 and against other runs in ``analysis.compare``; seconds per epoch
and contention in ``analysis.timing``; sweeps in ``analysis.sweeps``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imagelab.analysis.compare import (
    ACCURACY_DECIMALS,
    GAP_EPOCHS,
    accuracy_difference,
    accuracy_versus,
    compare_with,
    direction,
    dropout_effect,
    exact_accuracy,
    final_accuracy,
    gap_versus,
    score_sentence,
    unlike,
)
from imagelab.analysis.sweeps import sweep_digest
from imagelab.analysis.timing import (
    BENCHMARK_SOURCE,
    CONTENDED_LOAD,
    CONTENDED_SHARE,
    RUN_OWN,
    contention,
    contention_note,
    epoch_time_sentence,
    epoch_timing,
    matmul_shares,
    own_epochs,
    steady_epoch_seconds,
    time_versus,
    timing_sentence,
)

# A train-validation accuracy gap above this is called overfitting (0.01 = one digit in 100).
OVERFIT_GAP = 0.01


def last_epochs(epochs: int, last: int = GAP_EPOCHS) -> str:
    """Which epochs a mean over the last ``last`` covers, in words, for a run of ``epochs``:
    'over the last 3 epochs', 'over both epochs', 'in its only epoch'."""
    if epochs <= 1:
        return "in its only epoch"
    if epochs <= last:
        return "over both epochs" if epochs == 2 else f"over all {epochs} epochs"
    return f"over the last {last} epochs"


def generalisation(history: pd.DataFrame, last: int = GAP_EPOCHS) -> str:
    """One sentence on whether the model generalises, from the train/validation gap."""
    final = final_accuracy(history, last)
    epochs = int(history["epoch"].max())
    verb = "was" if epochs == 1 else "averaged"
    numbers = (
        f"{last_epochs(epochs, last)}, training accuracy {verb} {final['train_acc']:.4f} and "
        f"validation accuracy {final['val_acc']:.4f} (gap {final['gap']:+.4f})"
    )
    if final["gap"] > OVERFIT_GAP:
        return (
            f"The model overfits: {numbers}, more than the {OVERFIT_GAP} we allow, so it "
            "does better on data it was trained on than on data it has not seen."
        )
    if final["gap"] < -OVERFIT_GAP:
        return (
            f"No sign of overfitting: {numbers}; validation accuracy is the higher, as "
            "happens while a model is still learning or when dropout is active only in "
            "training."
        )
    return (
        f"The model generalises well: {numbers}, within {OVERFIT_GAP}, so it does as well on "
        "data it has not seen as on its training data."
    )


# Validation accuracy rising faster than this per epoch over the last epochs: not plateaued.
PLATEAU_SLOPE = 0.002


def plateau(history: pd.DataFrame, last: int = 5) -> dict[str, float]:
    """Validation accuracy's start, end, best (and its epoch) and its slope per epoch over the
    last ``last`` epochs (a least-squares line); ``rising`` when the slope exceeds
    ``PLATEAU_SLOPE``."""
    val = history.query("metric == 'acc' and data == 'validation'").sort_values("epoch")
    values, epochs = val["value"].to_numpy(), val["epoch"].to_numpy()
    tail = min(last, len(values))
    slope = float(np.polyfit(epochs[-tail:], values[-tail:], 1)[0]) if tail > 1 else 0.0
    return {
        "first": float(values[0]),
        "last": float(values[-1]),
        "last_epoch": int(epochs[-1]),
        "best": float(values.max()),
        "best_epoch": int(epochs[values.argmax()]),
        "tail": tail,
        "slope": slope,
        "rising": slope > PLATEAU_SLOPE,
    }


def plateau_sentence(history: pd.DataFrame, last: int = 5) -> str:
    """Whether validation accuracy is still rising at the end of training."""
    p = plateau(history, last)
    if p["last_epoch"] == 1:
        return (
            f"Validation accuracy was {p['first']:.4f} after the only epoch: one epoch shows "
            "no trend, so whether it plateaus needs more epochs."
        )
    return (
        f"Validation accuracy went from {p['first']:.4f} after epoch 1 to {p['last']:.4f} "
        f"after epoch {p['last_epoch']} (best {p['best']:.4f} at epoch {p['best_epoch']}); "
        f"{last_epochs(p['last_epoch'], last)} it was "
        f"{'still rising' if p['rising'] else 'flat'} ({p['slope']:+.4f} per epoch), so "
        f"{'it had not plateaued yet: more epochs would help' if p['rising'] else 'it had plateaued'}."
    )


def playground_glossary(history: pd.DataFrame, params: dict, search: pd.DataFrame) -> pd.DataFrame:
    """2019's Playground settings glossary, each setting beside what our spiral runs show of it.

    ``history`` and ``params`` are the 2019 network's run (history, parameters), ``search``
    the table of the smallest-network search (``playground_search.read_search``).
    """
    train = history.query("metric == 'loss' and data == 'training'").sort_values("epoch")
    switch = params.get("switch_epoch")
    change = train["value"].diff().abs()
    if switch and switch <= train["epoch"].max():
        before = change[(train["epoch"] < switch) & (train["epoch"] >= switch - 200)].mean()
        after = change[train["epoch"] >= switch].mean()
        lr = (
            f"{params['learning_rate']} until epoch {switch - 1}, then "
            f"{params['later_learning_rate']}: the training loss moved {before:.2e} per epoch "
            f"on average over the 200 epochs before the switch and {after:.2e} after it "
            f"({'calmer' if after < before else 'not calmer'} after, as 2019 intended)."
        )
    else:
        lr = f"{params['learning_rate']} throughout (no switch in this run)."
    summary = playground_success(search)
    best = summary.groupby("feature_set")["success_rate"].max()
    by_size = summary.sort_values("neurons", kind="stable")
    # The criterion of question 23's answer (at least half the seeds), and the weaker one beside it.
    most, any_seed = by_size[by_size["success_rate"] >= 0.5], by_size[by_size["successes"] > 0]

    def network(rows: pd.DataFrame) -> str:
        return f"{rows.iloc[0]['feature_set']} features, {_network(rows.iloc[0])}"

    smallest = (
        f"on at least half its seeds, {network(most)}"
        if not most.empty
        else "none on half its seeds"
    ) + (f"; on any one seed, {network(any_seed)}" if not any_seed.empty else "")
    rows = [
        ("Learning rate", "how strongly each error changes the weights", lr),
        (
            "Activation",
            "relation of a neuron's input to its output",
            f"{params['activation']} (not varied)",
        ),
        (
            "Regularisation, rate",
            "smooths the model, prevents overfitting",
            f"{params['regularization'] or 'none'}, rate {params['regularization_rate']} (not varied)",
        ),
        (
            "Ratio training:test",
            "how much data trains, how much tests",
            f"{100 * params['train_ratio']:.0f} % training (not varied)",
        ),
        ("Noise", "the irreducible error of the data", f"{params['noise']} (not varied)"),
        ("Batch size", "points per weight update", f"{params['batch_size']} (not varied)"),
        (
            "Input features",
            "what the network sees of x1, x2",
            "best success rate " + ", ".join(f"{k}: {100 * v:.0f} %" for k, v in best.items()),
        ),
        (
            "Hidden layers, neurons",
            "the network's size",
            f"the smallest network with test loss < 0.1: {smallest}",
        ),
    ]
    return pd.DataFrame(rows, columns=["setting", "2019's description", "what our runs show"])


# --- Exercise three: how often a Playground network learns the spiral ---------------------


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a success rate, ``successes`` of ``n`` trials: (low, high).

    Unlike the textbook interval p +- z sqrt(p (1 - p) / n), it stays inside 0-1 and does not
    shrink to a point at 0 of n or n of n, which small seed counts hit often (0 of 10 seeds:
    0-28 %). Wilson (1927), the interval Agresti and Coull (1998) recommend for small n.
    """
    from statistics import NormalDist

    if not (isinstance(n, (int, np.integer)) and n >= 1 and 0 <= successes <= n):
        raise ValueError(f"need 0 <= successes <= n and n >= 1; got {successes!r} of {n!r}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p, z2 = successes / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def success_text(successes: int, n: int) -> str:
    """'8 of 10 seeds (95 % interval 49-94 %)': a success count with its Wilson interval."""
    low, high = wilson_interval(successes, n)
    return f"{successes} of {n} seeds (95 % interval {100 * low:.0f}-{100 * high:.0f} %)"


def playground_success(table: pd.DataFrame) -> pd.DataFrame:
    """Per feature set and hidden-layer shape of a Playground search (one row per seed, as
    ``playground_search.search`` writes it): seeds, successes (test loss < 0.1), the success
    rate with its 95 % Wilson interval, and the median and best test loss. Ordered by feature
    set, then number of layers, then neurons."""
    grouped = table.groupby(["feature_set", "hidden"], sort=False)
    summary = grouped.agg(
        neurons=("neurons", "first"),
        seeds=("seed", "count"),
        successes=("success", "sum"),
        median_test_loss=("test_loss", "median"),
        best_test_loss=("test_loss", "min"),
    ).reset_index()
    summary["successes"] = summary["successes"].astype(int)
    summary["success_rate"] = summary["successes"] / summary["seeds"]
    bounds = [
        wilson_interval(k, n) for k, n in zip(summary["successes"], summary["seeds"], strict=True)
    ]
    summary["rate_low"], summary["rate_high"] = zip(*bounds, strict=True) if bounds else ((), ())
    layers = summary["hidden"].str.count("-") + 1
    return (
        summary.assign(layers=layers)
        .sort_values(["feature_set", "layers", "neurons"], kind="stable")
        .drop(columns="layers")
        .reset_index(drop=True)
    )


def playground_rate_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per hidden-layer shape, one column per feature set: seeds reaching test loss
    < 0.1, as '6/10 (31-83 %)' (count and 95 % Wilson interval)."""
    summary = playground_success(table)
    summary["cell"] = [
        f"{k}/{n} ({100 * lo:.0f}-{100 * hi:.0f} %)"
        for k, n, lo, hi in summary[["successes", "seeds", "rate_low", "rate_high"]].itertuples(
            index=False
        )
    ]
    rates = summary.pivot(index="hidden", columns="feature_set", values="cell")
    # playground_success's order: shapes by layers, then size; feature sets alphabetically
    rates = rates.loc[
        list(dict.fromkeys(summary["hidden"])), list(dict.fromkeys(summary["feature_set"]))
    ]
    return rates.rename_axis(columns=None).reset_index().rename(columns={"hidden": "hidden layers"})


def playground_claim(table: pd.DataFrame, goal: float = 0.1) -> str:
    """Whether a Playground search backs 2019's claim that all features and one hidden layer of
    3 neurons is the smallest spiral network with test loss < ``goal``: one line per feature set
    (the smallest network that reached it for any seed, and for at least half the seeds) and one
    on 2019's network, every rate with its 95 % interval."""
    summary = playground_success(table)
    lines = []
    for feature_set, rows in summary.groupby("feature_set", sort=False):
        by_size = rows.sort_values("neurons", kind="stable")
        any_seed = by_size[by_size["successes"] > 0]
        most = by_size[by_size["success_rate"] >= 0.5]
        if any_seed.empty:
            lines.append(f"- {feature_set} features: no network reached test loss < {goal}.")
            continue
        text = (
            f"- {feature_set} features: the smallest network reaching test loss < {goal} on any "
            f"seed has {_network(any_seed.iloc[0])}"
        )
        if most.empty:
            text += "; none did on at least half its seeds."
        elif most.index[0] != any_seed.index[0]:
            text += f"; on at least half its seeds, {_network(most.iloc[0])}."
        else:
            text += "."
        lines.append(text)
    claim = summary.query("feature_set == 'all' and hidden == '3'")
    if claim.empty:
        verdict = "The search did not include all features with one hidden layer of 3 neurons."
    else:
        row = claim.iloc[0]
        verdict = (
            f"2019's network (all features, one hidden layer of 3 neurons) reached test loss < "
            f"{goal} for {success_text(row['successes'], row['seeds'])}; median test loss "
            f"{row['median_test_loss']:.3f}, best {row['best_test_loss']:.3f}."
        )
    return "\n".join(lines) + "\n\n" + verdict


def _network(row: pd.Series) -> str:
    return (
        f"hidden layers {row['hidden']} ({row['neurons']} neurons), "
        f"{success_text(row['successes'], row['seeds'])}"
    )
