"""The report's extras: the Playground spiral (exercise three), the sweeps and the benchmark."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imagelab import analysis, figures, records
from imagelab.report.display import _figure, _figures_side_by_side, _show, _table
from imagelab.report.results import load_run
from imagelab.results import tables
from imagelab.running.sweeps import summary_schema

PROFILE_STUDY = "epoch_profile.csv"  # studies/epoch_profile.py


def show_playground(results_dir: str | Path | None = None) -> None:
    """Exercise three (the Playground spiral), when its results exist."""
    from imagelab.running import playground_search

    result = load_run("playground_spiral", results_dir)
    search_file = records.run_files("playground_search", results_dir).score
    if result is None or not search_file.is_file():
        return
    search = playground_search.read_search(results_dir)
    p, score = result.provenance["parameters"], result.provenance["score"]
    _show(
        "# Exercise three: play time (the TensorFlow Playground spiral)\n\n"
        "2019 clicked through the Playground in a browser; here the same spiral, features, "
        "tanh output and loss (the mean of 0.5 (output - label)^2) are rebuilt in Keras. "
        f"Our run of 2019's network ({figures.hidden_layers(p['hidden'])}, all {len(p['features'])} "
        f"features, learning rate {p['learning_rate']} then {p['later_learning_rate']} from "
        f"epoch {p['switch_epoch']}, {p['epochs']} epochs, seed {p['seed']}) ended with "
        f"training loss {score['train_loss']:.4f} and test loss {score['test_loss']:.4f}."
    )
    _figures_side_by_side(
        [result.files.figure("surface"), result.files.figure("loss")],
        "The Playground spiral, 2019's network (our run). Left: the network's output over the "
        "plane (orange -1, blue +1) with every point in its label's colour, training points "
        "edged white, test points black; a good fit puts each arm's points on its own colour. "
        "Right: training and test loss per epoch (log scale); dashed line: learning rate "
        f"lowered to {p['later_learning_rate']:g} at epoch {p['switch_epoch']}.",
    )
    seeds = sorted(int(seed) for seed in search["seed"].unique())
    _show(
        f"### The smallest network\n\nEach network was trained with {len(seeds)} seeds "
        f"({seeds[0]} to {seeds[-1]}), {search['epochs'].iloc[0]} epochs each, {len(search)} runs "
        "in all; the figure below gives how many of a network's seeds ended with a test loss "
        "below 0.1 (a column is a shape of hidden layers, 3-3 two layers of 3 neurons). With "
        "the 95 % Wilson interval of each share:\n\n" + analysis.playground_claim(search)
    )
    _figure(
        records.run_files("playground_search", results_dir).figure("success"),
        "The Playground search: for each hidden-layer shape (columns) and feature set (rows), "
        "how many of its seeds ended with a test loss below 0.1, darker for more; the smallest "
        "network reaching half of them answers question 23.",
    )
    _show(
        "### The 2019 settings glossary, checked against the runs\n\n"
        + _table(analysis.playground_glossary(result.history, p, search))
    )


# The digest's columns as the report prints them, with their precision: accuracies to four
# decimals, wall times (per run) to the second.
SWEEP_COLUMNS = {"test_acc_mean": "test acc mean", "test_acc_sd": "sd", "test_acc_min": "min",
                 "test_acc_max": "max", "gap_mean": "train-val gap", "wall_s": "s per run"}  # fmt: skip


def _sweep_histories(summary: pd.DataFrame, folder: Path) -> dict[str, pd.DataFrame]:
    """The histories of a sweep's complete runs, by run id."""
    complete = summary.loc[summary["status"] == "complete", "run_id"]
    runs = {run: load_run(run, folder) for run in complete}
    return {run: stored.history for run, stored in runs.items() if stored is not None}


def _sweep_table(table: pd.DataFrame) -> str:
    shown = table.rename(columns=SWEEP_COLUMNS)
    # Settings as written in the sweep file (0.25, not 0.2500), accuracies to four decimals.
    measured = set(SWEEP_COLUMNS.values())
    digits = tuple(
        ".0f" if c == "s per run" else ".4f" if c in measured else "g" for c in shown.columns
    )
    return _table(shown, floatfmt=digits)


def show_sweeps(sweeps_dir: str | Path | None = None) -> None:
    """The sweeps' summaries, when any sweep has run: a section for each sweep over settings,
    one table for the sweeps that only add seeds to an exercise's canonical settings."""
    import yaml

    folder = Path(sweeps_dir) if sweeps_dir else records.PROJECT_ROOT / "sweeps"
    found = sorted(p for p in folder.glob("*/summary.csv"))
    if not found:
        return
    _show(
        "# Sweeps\n\nBatch runs of the exercise notebooks over a grid of settings and "
        "seeds (`imagelab sweep`), each summarised from its runs' score and history files. "
        "A table's *s per run* is the mean wall time of one run (papermill, kernel start "
        "included) on the machine that ran the sweep, slow spells included: a cost, not a speed."
    )
    seeds_only = []
    for path in found:
        spec_file = path.parent.with_suffix(".yaml")
        spec = yaml.safe_load(spec_file.read_text()) if spec_file.is_file() else {}
        swept = list(spec.get("grid", {})) or ["seed"]
        summary = tables.read(path, summary_schema(spec_file)).reset_index(drop=True)
        table, text = analysis.sweep_digest(summary, swept, _sweep_histories(summary, path.parent))
        if len(table) == 1:  # one setting: a seed spread, told in one table below
            row = table.iloc[0]
            seeds_only.append({
                "sweep": path.parent.name, "notebook": Path(spec.get("notebook", "?")).name,
                "seeds": ", ".join(map(str, spec.get("seeds", []))), "runs": int(row["runs"]),
                "test acc": f"{row['test_acc_mean']:.4f} ({row['test_acc_min']:.4f}-"
                f"{row['test_acc_max']:.4f})",
            })  # fmt: skip
            continue
        _show(
            f"## Sweep {path.parent.name}\n\n{spec.get('description', '')}; notebook "
            f"`{spec.get('notebook', '?')}`, seeds {spec.get('seeds', '?')}.\n\n"
            + (_sweep_table(table) if not table.empty else "")
            + f"\n\n{text}"
        )
        if len(table) > 2:  # one or two grid points: the table says it all
            _figure(
                path.parent / "summary.png",
                f"Sweep {path.parent.name}: test accuracy per setting, a point at the mean over "
                "its seeds and a bar from its lowest to its highest seed; the axis is zoomed, "
                "its label says where it starts. As everywhere in this report, a setting is "
                "better than another only when every one of its seeds lies beyond every seed of "
                "the other: when their bars do not overlap.",
            )
    if seeds_only:
        _show(
            "## Seed sweeps\n\nSweeps that train an exercise's canonical settings again with "
            "other seeds: with the canonical run and the other sweeps' runs of those settings, "
            "the seeds of `scores/seeds.csv` that the answers and `make verify` rest on. Test "
            "accuracy: mean (lowest-highest) over the sweep's complete runs.\n\n"
            + _table(pd.DataFrame(seeds_only))
        )


def _lab_floor(value: pd.Series, names: list[str]) -> str:
    """How long the lab's trainings take at the measured speed, and at best on this machine.

    An epoch's training FLOPs (measured GFLOP/s x seconds) times the 2019 epochs, over the
    machine's fp32 matmul rate: the time the lab's arithmetic needs at 100 % of that peak.
    """
    from imagelab.results.exercises import notebook_defaults

    epochs = {n: notebook_defaults(n)["epochs"] for n in names}
    measured = sum(value[f"{n}/imagelab_epoch"] * epochs[n] for n in names)
    flops = sum(value[f"{n}/gflops"] * value[f"{n}/imagelab_epoch"] * epochs[n] for n in names)
    floor = flops / value["matmul_fp32"]
    verdict = " (a 15-minute lab is out of reach on this machine)" if floor > 15 * 60 else ""
    last = value.get("make_lab/wall_seconds_sum")  # the canonical runs' own wall time
    ran = (
        f" (the last `make lab` took {last / 60:.0f} min on the machine that trained the canonical"
        " runs, in the Run environment section; its epochs include slow spells)"
        if pd.notna(last)
        else ""
    )
    return (
        f"At these speeds the five trainings of `make lab` take {measured / 60:.0f} min{ran}. Their "
        f"arithmetic ({flops / 1000:.0f} TFLOP) would take {floor / 60:.0f} min at 100 % of this "
        f"machine's fp32 matmul rate{verdict}; over the whole lab they run at "
        f"{100 * floor / measured:.0f} % of it. "
    )


def _steps_per_call(studies_dir: str | Path | None = None) -> str:
    """Where a small network's epoch goes, and what running many steps per call saves
    (studies/epoch_profile.py), when that study has run."""
    path = Path(studies_dir or records.PROJECT_ROOT / "studies") / PROFILE_STUDY
    if not path.is_file():
        return ""
    study = tables.read_study(path)
    profile = study[study["part"] == "profile"].set_index("setting")["seconds"]
    dense = study[study["part"] == "steps per call"].set_index("setting")["seconds"]
    dense.index = dense.index.astype(int)
    every = study[study["part"] == "every exercise"].copy()
    every["steps"] = every["setting"].astype(int)
    seconds = every.pivot(index="exercise", columns="steps", values="seconds")
    one, many = seconds.columns.min(), seconds.columns.max()
    table = pd.DataFrame(
        {
            "exercise": seconds.index,
            "1 step per call": [f"{v:.2f} s" for v in seconds[one]],
            f"{many} steps per call": [f"{v:.2f} s" for v in seconds[many]],
            "ratio": [f"{v:.2f}x" for v in seconds[many] / seconds[one]],
        }
    )
    same = study.groupby(["part", "exercise"])["weights_sha256"].nunique().le(1).all()
    weights = "the same weights to the last bit" if same else "**other weights**"
    calls, whole = int(profile["calls into TensorFlow"]), dense.index.max()
    dispatch = dense[1] - dense[whole]
    return (
        "\n\n## Where the time went\n\n"
        f"{_measured_when(path)} In its profiling part, a dense MNIST epoch at one training "
        f"step per call into TensorFlow (Keras's default, "
        f"and imagelab's before `training.STEPS_PER_EXECUTION`) took {dense[1]:.2f} s; with all "
        f"{whole} steps in one call, {dense[whole]:.2f} s. The difference, {dispatch:.2f} s or "
        f"{1000 * dispatch / whole:.1f} ms per training step, is the cost of one call per step: "
        f"profiled (cProfile), the epoch spent "
        f"{profile['inside TFE_Py_Execute']:.2f} s of {profile['epoch under cProfile']:.2f} s "
        f"inside TensorFlow, over {calls} calls (training and validation steps). The input "
        f"pipeline alone reads an epoch in {_part(study, 'pipeline'):.2f} s and the validation "
        f"takes {_part(study, 'validation'):.2f} s (`studies/epoch_profile.py`). imagelab now "
        f"runs {many} steps per call (`training.STEPS_PER_EXECUTION`), with {weights} in every "
        f"exercise. Its second part timed every exercise both ways, seconds per full epoch (a "
        "slice timed and scaled, minimum of repeats), so its dense row is another measurement "
        "of the same epoch:"
        f"\n\n{_table(table)}"
    )


def _measured_when(path: Path) -> str:
    """Where and when a study was measured, as far as git knows (the study file records no
    CPU): its last commit's date. Its seconds are that machine's, not the benchmark's."""
    import subprocess

    try:
        date = subprocess.run(
            ["git", "log", "-1", "--format=%ad", "--date=short", "--", str(path)],
            cwd=records.PROJECT_ROOT, capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        date = ""
    when = f"committed on {date}" if date else "of unknown date"
    return (
        f"`studies/{path.name}` ({when}) was measured on the project's machine of that time, "
        "which its file does not name, not on the benchmark's: its seconds compare with each "
        "other, not with the benchmark's above."
    )


def _part(study: pd.DataFrame, setting: str) -> float:
    return float(
        study.loc[(study["part"] == "parts") & (study["setting"] == setting), "seconds"].iloc[0]
    )


def show_benchmarks(path: str | Path | None = None, studies_dir: str | Path | None = None) -> None:
    """How fast: seconds per epoch and the ratio to bare Keras, when benchmarks have run."""
    results = tables.read_benchmark(path, complete=True)
    if results is None:
        return
    value = results.set_index("name")["value"]
    names = [n.split("/")[0] for n in results["name"] if n.endswith("/ratio")]
    table = pd.DataFrame(
        {
            "exercise": names,
            "imagelab": [f"{value[f'{n}/imagelab_epoch']:.1f} s" for n in names],
            "bare Keras": [f"{value[f'{n}/bare_epoch']:.1f} s" for n in names],
            "ratio": [f"{value[f'{n}/ratio']:.2f}x" for n in names],
            "share of matmul": [f"{share:.0f} %" for share in analysis.matmul_shares(value, names)],
        }
    )
    peaks = [f"{n}/{path}_peak_rss" for n in names for path in ("imagelab", "bare")]
    memory = ""
    if all(peak in value for peak in peaks):  # older benchmark files may lack them
        table["peak memory"] = [f"{value[a]:.0f} / {value[b]:.0f} MiB" for a, b in zip(peaks[::2], peaks[1::2], strict=True)]  # fmt: skip
        how = results.set_index("name")["unit"].get(peaks[0], "MiB peak RSS")
        memory = f" Peak memory is imagelab's / bare Keras's, in {how}."
    cifar = (
        f"A CIFAR-10 epoch now takes {value['cifar10_cnn/imagelab_epoch']:.0f} s; in 2019 "
        "each took more than 120 s. "
        if "cifar10_cnn/imagelab_epoch" in value
        else ""
    )
    row = results.iloc[0]
    _show(
        f"# How fast\n\n{cifar}{_lab_floor(value, names)}Seconds per epoch through imagelab and through a bare Keras "
        "script, measured side by side (a slice of each epoch timed and scaled to a full one; "
        "the fastest of the timed epochs, see `benchmarks/README.md`); the ratio is imagelab over bare, "
        "the share of matmul is the achieved training GFLOP/s over the measured fp32 matmul "
        f"({value['matmul_fp32']:.0f} GFLOP/s).{memory} {row['machine']}, {row['date'][:10]}, "
        f"commit {row['commit']}.\n\n{_table(table)}{_steps_per_call(studies_dir)}"
    )
