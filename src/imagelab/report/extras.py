"""The report's extras: the Playground spiral (exercise three), the sweeps and the benchmark."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imagelab import records
from imagelab.report.display import _figure, _show, _table
from imagelab.report.results import load_result


def playground_glossary(history: pd.DataFrame, params: dict, search: pd.DataFrame) -> pd.DataFrame:
    """2019's settings glossary, each setting beside what our spiral runs show of it."""
    from imagelab import playground

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
    summary = playground.success_table(search)
    best = summary.groupby("feature_set")["success_rate"].max()
    solved = summary[summary["success_rate"] > 0].sort_values("neurons")
    smallest = (
        f"{solved.iloc[0]['hidden']} ({solved.iloc[0]['feature_set']} features)"
        if not solved.empty
        else "none"
    )
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
            f"{params['train_ratio']:.0%} training (not varied)",
        ),
        ("Noise", "the irreducible error of the data", f"{params['noise']} (not varied)"),
        ("Batch size", "points per weight update", f"{params['batch_size']} (not varied)"),
        (
            "Input features",
            "what the network sees of x1, x2",
            "best success rate " + ", ".join(f"{k}: {v:.0%}" for k, v in best.items()),
        ),
        (
            "Hidden layers, neurons",
            "the network's size",
            f"smallest network with test loss < 0.1 for any seed: {smallest}",
        ),
    ]
    return pd.DataFrame(rows, columns=["setting", "2019's description", "what our runs show"])


def show_playground(results_dir: str | Path | None = None) -> None:
    """Exercise three (the Playground spiral), when its results exist."""
    from imagelab import playground

    result = load_result("playground_spiral", results_dir)
    search_file = records.run_files("playground_search", results_dir).score
    if result is None or not search_file.is_file():
        return
    search = playground.read_search(results_dir)
    p, score = result.provenance["parameters"], result.provenance["score"]
    _show(
        "# Exercise three: play time (the TensorFlow Playground spiral)\n\n"
        "2019 clicked through the Playground in a browser; here the same spiral, features, "
        "tanh output and loss (the mean of 0.5 (output - label)^2) are rebuilt in Keras. "
        f"Our run of 2019's network (hidden layers {p['hidden']}, all {len(p['features'])} "
        f"features, learning rate {p['learning_rate']} then {p['later_learning_rate']} from "
        f"epoch {p['switch_epoch']}, {p['epochs']} epochs, seed {p['seed']}) ended with "
        f"training loss {score['train_loss']:.4f} and test loss {score['test_loss']:.4f}."
    )
    _figure(result.files.figure("surface"))
    _figure(result.files.figure("loss"))
    summary = playground.success_table(search)
    rates = summary.pivot(index="feature_set", columns="hidden", values="success_rate")
    rates = rates[list(dict.fromkeys(summary["hidden"]))]  # by size: 1, 2, ..., 2-2, 3-3
    seeds = sorted(int(seed) for seed in search["seed"].unique())
    _show(
        f"### The smallest network\n\nShare of seeds ({len(seeds)}: {seeds}) whose final test "
        f"loss was below 0.1, over {len(search)} runs of {search['epochs'].iloc[0]} epochs:\n\n"
        + _table(rates.reset_index())
        + "\n\n"
        + playground.claim_2019(search)
    )
    _figure(records.run_files("playground_search", results_dir).figure("success"))
    _show(
        "### The 2019 settings glossary, checked against the runs\n\n"
        + _table(playground_glossary(result.history, p, search))
    )


# The digest's columns as the report prints them (spaces let LaTeX wrap the header).
SWEEP_COLUMNS = {"test_acc_mean": "test acc mean", "test_acc_sd": "sd", "test_acc_min": "min",
                 "test_acc_max": "max", "gap_mean": "train-val gap", "wall_s": "wall s"}  # fmt: skip


def sweep_digest(summary: pd.DataFrame, swept: list[str]) -> tuple[pd.DataFrame, str]:
    """Per grid point: runs, test accuracy (mean, sd, range) and train-validation gap; and one
    sentence naming the best setting by test accuracy and by gap."""
    count, notes = summary["status"].value_counts(), []
    if count.get("failed"):
        failed = summary.loc[summary["status"] == "failed", "run_id"]
        notes.append(f"{len(failed)} run(s) failed: {', '.join(failed)}.")
    if count.get("stale"):
        notes.append(
            f"{count['stale']} run(s) were trained by older code and are left out until the "
            "sweep reruns them."
        )
    unfinished = len(summary) - sum(count.get(s, 0) for s in ("complete", "failed", "stale"))
    if unfinished:
        notes.append(f"{unfinished} of {len(summary)} runs have not finished.")
    notes = " ".join(notes)
    done = summary[summary["status"] == "complete"].assign(
        gap=lambda t: t["train_acc"] - t["val_acc"]
    )
    if done.empty:
        return pd.DataFrame(), f"No run of this sweep has finished with the current code. {notes}"
    table = (
        done.groupby(swept)  # in value order, whatever order the sweep ran them
        .agg(
            runs=("seed", "count"),
            test_acc_mean=("test_acc", "mean"),
            test_acc_sd=("test_acc", "std"),
            test_acc_min=("test_acc", "min"),
            test_acc_max=("test_acc", "max"),
            gap_mean=("gap", "mean"),
            wall_s=("wall_seconds", "mean"),
        )
        .reset_index()
    )
    best = table.loc[table["test_acc_mean"].idxmax()]
    tightest = table.loc[table["gap_mean"].abs().idxmin()]
    label = lambda row: ", ".join(f"{k}={row[k]}" for k in swept)  # noqa: E731
    text = (
        f"Highest mean test accuracy: {label(best)} ({best['test_acc_mean']:.4f} over "
        f"{int(best['runs'])} seeds). Smallest train-validation gap: {label(tightest)} "
        f"({tightest['gap_mean']:+.4f}). {notes}"
    )
    return table, text.strip()


def show_sweeps(sweeps_dir: str | Path | None = None) -> None:
    """The sweeps' summaries, when any sweep has run."""
    import yaml

    folder = Path(sweeps_dir) if sweeps_dir else records.PROJECT_ROOT / "sweeps"
    found = sorted(p for p in folder.glob("*/summary.csv"))
    if not found:
        return
    _show(
        "# Sweeps\n\nBatch runs of the exercise notebooks over a grid of settings and "
        "seeds (`imagelab sweep`), each summarised from its runs' score and history files."
    )
    for path in found:
        spec_file = path.parent.with_suffix(".yaml")
        spec = yaml.safe_load(spec_file.read_text()) if spec_file.is_file() else {}
        swept = list(spec.get("grid", {})) or ["seed"]
        table, text = sweep_digest(pd.read_csv(path), swept)
        _show(
            f"## Sweep {path.parent.name}\n\n{spec.get('description', '')}; notebook "
            f"`{spec.get('notebook', '?')}`, seeds {spec.get('seeds', '?')}.\n\n"
            + (_table(table.rename(columns=SWEEP_COLUMNS)) if not table.empty else "")
            + f"\n\n{text}"
        )
        _figure(path.parent / "summary.png")


def _lab_floor(value: pd.Series, names: list[str]) -> str:
    """How long the lab's trainings take at the measured speed, and at best on this machine.

    An epoch's training FLOPs (measured GFLOP/s x seconds) times the 2019 epochs, over the
    machine's fp32 matmul rate: the time the lab's arithmetic needs at 100 % of that peak.
    """
    from imagelab.exercises import notebook_defaults

    epochs = {n: notebook_defaults(n)["epochs"] for n in names}
    measured = sum(value[f"{n}/imagelab_epoch"] * epochs[n] for n in names)
    flops = sum(value[f"{n}/gflops"] * value[f"{n}/imagelab_epoch"] * epochs[n] for n in names)
    floor = flops / value["matmul_fp32"]
    verdict = " (a 15-minute lab is out of reach on this machine)" if floor > 15 * 60 else ""
    return (
        f"At these speeds the five trainings of `make lab` take {measured / 60:.0f} min. Their "
        f"arithmetic ({flops / 1000:.0f} TFLOP) would take {floor / 60:.0f} min at 100 % of this "
        f"machine's fp32 matmul rate{verdict}; over the whole lab they run at "
        f"{100 * floor / measured:.0f} % of it. "
    )


def show_benchmarks(path: str | Path | None = None) -> None:
    """How fast: seconds per epoch and the ratio to bare Keras, when benchmarks have run."""
    path = Path(path or records.PROJECT_ROOT / "benchmarks" / "results.csv")
    if not path.is_file():
        return
    results = pd.read_csv(path)
    value = results.set_index("name")["value"]
    names = [n.split("/")[0] for n in results["name"] if n.endswith("/ratio")]
    table = pd.DataFrame(
        {
            "exercise": names,
            "imagelab": [f"{value[f'{n}/imagelab_epoch']:.1f} s" for n in names],
            "bare Keras": [f"{value[f'{n}/bare_epoch']:.1f} s" for n in names],
            "ratio": [f"{value[f'{n}/ratio']:.2f}x" for n in names],
            "share of matmul": [f"{value[f'{n}/matmul_pct']:.0f} %" for n in names],
        }
    )
    cifar = (
        f"A CIFAR-10 epoch now takes {value['cifar10_cnn/imagelab_epoch']:.0f} s; in 2019 "
        "each took more than 120 s. "
        if "cifar10_cnn/imagelab_epoch" in value
        else ""
    )
    row = results.iloc[0]
    _show(
        f"## How fast\n\n{cifar}{_lab_floor(value, names)}Seconds per epoch through imagelab and through a bare Keras "
        "script, measured side by side (a slice of each epoch timed and scaled to a full one; "
        "the minimum of repeats, see `benchmarks/README.md`); the ratio is imagelab over bare, "
        "the last column the achieved training GFLOP/s as a share of the measured fp32 matmul "
        f"({value['matmul_fp32']:.0f} GFLOP/s). {row['machine']}, {row['date'][:10]}, "
        f"commit {row['commit']}.\n\n{_table(table)}"
    )
