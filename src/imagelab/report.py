"""The report's content, computed from the results folders at render time.

Every number and every judgement in the report comes from a function here reading
``histories/``, ``scores/`` (with provenance) and ``figures/``; the report notebook only
calls them. Nothing is trained: models are built (not fitted) to list their layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from imagelab import analysis, records
from imagelab.data import ARRAYS, KNOWN_CHECKSUMS
from imagelab.exercises import EXERCISES, get_exercise, trained_by_current_code

# What the 2019 report answered, per exercise: (question, 2019's answer in its own words).
QUESTIONS_2019 = {
    "dense_mnist": [
        ("Q2: how long does an epoch take?", "'See output at Xs Yus/sample' (no number given)."),
        (
            "Q4-5: does the model generalise?",
            "'The model performs similar on training and out of "
            "training data. It generalises well.'",
        ),
        (
            "Q6: is the accuracy high enough?",
            "'Not high enough for applications that can have big "
            "consequences ... for less precise tasks the accuracy may suffice.'",
        ),
    ],
    "relu_mnist": [
        (
            "Q9: does it generalise?",
            "'The performance on the validation set is a lot lower than "
            "the performance on the training set. Probably this model does not generalise as well "
            "as the previous model.'",
        ),
        (
            "Q10: will it do worse on the test set than the previous model?",
            "'Probably this will perform worse on the test set than the previous model.'",
        ),
    ],
    "cnn_mnist": [
        (
            "Q12-13: does it generalise?",
            "'The performance on the training set and the validation "
            "set are very similar ... It generalises better than the previous model.'",
        ),
        (
            "Q14: is the accuracy sufficient?",
            "'Sufficient ... for applications for which 1 mistake in 100 digits is acceptable.'",
        ),
    ],
    "cnn_dropout_mnist": [
        (
            "Q16: how do the histories compare?",
            "'History of the training and validation sets are "
            "even closer than in the previous models. Training time was about 10 seconds longer on "
            "average.'",
        ),
        (
            "Q17: which model generalises better?",
            "'The models should generalise well, the 2nd one slightly better than the first.'",
        ),
    ],
    "cifar10_cnn": [
        (
            "Q20: how do the curves behave?",
            "'The accuracy and loss function seem to take more epochs before they plateau.'",
        ),
        ("Q21: how long does an epoch take?", "'Each epoch took more than 2 minutes.'"),
    ],
}

QUESTION_22 = (
    "**Question 22: Yamins et al. (2014), summarised as in 2019.** *Goal:* build models that "
    "predict the responses of neurons in inferior temporal (IT) cortex. *Approach:* optimise a "
    "hierarchical neural network for top-level performance on an object-recognition task, "
    "without fitting it to neural data. *Result:* the better a model performed on the task, the "
    "better it predicted IT (and V4) responses, although the neural data were never used to "
    "optimise it."
)


@dataclass
class Result:
    """One stored run, read back: history, score, provenance and where its figures are."""

    name: str
    history: pd.DataFrame
    score: dict[str, float]
    provenance: dict
    files: records.RunFiles

    @property
    def epoch_seconds(self) -> list[float]:
        return self.provenance["epoch_seconds"]


def load_result(name: str, results_dir: str | Path | None = None) -> Result | None:
    """A stored run's results, or None when it has not been run."""
    files = records.run_files(name, results_dir)
    if not (files.provenance.is_file() and files.history.is_file() and files.score.is_file()):
        return None
    return Result(
        name,
        records.read_history(files.history),
        records.read_score(files.score),
        records.read_provenance(files.provenance),
        files,
    )


def seed_spread(name: str, results_dir: str | Path | None = None) -> dict[str, float] | None:
    """Mean, min and max test accuracy over the seeds in scores/seeds.csv (with the canonical)."""
    path = records.run_files("seeds", results_dir).score
    if not path.is_file():
        return None
    rows = pd.read_csv(path).query("run == @name")
    if len(rows) < 2:  # one run is no spread
        return None
    return {
        "n": len(rows),
        "mean": rows["acc"].mean(),
        "min": rows["acc"].min(),
        "max": rows["acc"].max(),
        "std": rows["acc"].std(ddof=1),
    }


def _exact(accuracy: float | pd.Series) -> float | pd.Series:
    """An accuracy as the count over 10,000 test images it is: float32 stores 0.9801 as
    0.98009998, which must still reach 2019's 0.9801."""
    return np.round(accuracy, 4)


def _table(frame: pd.DataFrame, floatfmt: str | tuple[str, ...] = ".4f") -> str:
    shown = frame.astype(object).where(frame.notna(), None)  # missing values print as "-"
    return shown.to_markdown(index=False, floatfmt=floatfmt, missingval="-")


def architecture_table(result: Result) -> str:
    """The model's layers (output shape, parameters), built from the run's parameters."""
    from imagelab import quiet_tensorflow

    quiet_tensorflow()
    from imagelab import models
    from imagelab.exercises import _build

    table = pd.DataFrame(
        models.layer_table(_build(result.provenance["exercise"], result.provenance["parameters"]))
    )
    total = int(table["params"].sum())
    return _table(table) + f"\n\nTotal parameters: {total:,}."


def hyperparameter_table(result: Result) -> str:
    """The run's settings as a two-column table."""
    params = result.provenance["parameters"]
    shown = {
        k: ("Keras 2 default" if v is None and k == "learning_rate" else v)
        for k, v in params.items()
        if k != "data_limit" or v is not None
    }
    return _table(pd.DataFrame({"setting": list(shown), "value": [str(v) for v in shown.values()]}))


def score_table(result: Result, results_dir: str | Path | None = None) -> str:
    """Test loss and accuracy now against 2019, with the spread over seeds when known."""
    reference = get_exercise(result.provenance["exercise"]).result_2019
    rows = [
        {
            "": "test loss",
            "now": f"{result.score['loss']:.4f}",
            "2019": f"{reference['loss']:.4f}" if reference else "not reported",
        },
        {
            "": "test accuracy",
            "now": f"{result.score['acc']:.4f}",
            "2019": f"{reference['acc']:.4f}" if reference else "not reported",
        },
    ]
    spread = seed_spread(result.name, results_dir)
    if spread:
        rows.append(
            {
                "": f"test accuracy over {spread['n']} seeds",
                "now": f"mean {spread['mean']:.4f}, {spread['min']:.4f}-{spread['max']:.4f}",
                "2019": "one run",
            }
        )
    return _table(pd.DataFrame(rows))


def comparison_note(result: Result, results_dir: str | Path | None = None) -> str:
    """Where 2019's test accuracy falls against our runs (and the data caveat for CIFAR-10)."""
    exercise = get_exercise(result.provenance["exercise"])
    notes = []
    if exercise.result_2019:
        ours, theirs = result.score["acc"], exercise.result_2019["acc"]
        spread = seed_spread(result.name, results_dir)
        if spread:
            inside = _exact(spread["min"]) <= theirs <= _exact(spread["max"])
            notes.append(
                f"2019's test accuracy {theirs:.4f} lies {'inside' if inside else 'outside'} the "
                f"range of our {spread['n']} seeds ({spread['min']:.4f}-{spread['max']:.4f}); "
                f"our canonical run differs from it by {ours - theirs:+.4f}."
            )
        else:
            notes.append(f"Our canonical run differs from 2019 by {ours - theirs:+.4f}.")
    if is_jpeg_cifar(result.provenance):
        notes.append(CIFAR_JPEG_NOTE)
    return " ".join(notes)


CIFAR_JPEG_NOTE = (
    "Our CIFAR-10 is not the data 2019 used: no lossless copy could be reached from these "
    "machines, so it is decoded from JPEG files (quality 75), with slightly different pixels and "
    "a reshuffled order (shared/datasets/SOURCES.md). Accuracy on it is close to, not identical "
    "with, accuracy on the original."
)


def is_jpeg_cifar(provenance: dict) -> bool:
    """Whether a run trained on the JPEG-derived CIFAR-10 copy (by its array checksums)."""
    known = KNOWN_CHECKSUMS["cifar10"]
    checksums = provenance["data"]["checksums"]
    return provenance["data"]["dataset"] == "cifar10" and all(
        checksums.get(key) == known[key] for key in ARRAYS
    )


def answers(result: Result, results_dir: str | Path | None = None) -> list[tuple[str, str, str]]:
    """Each 2019 question of this exercise: (question, 2019's answer, ours from the data)."""
    name = result.provenance["exercise"]
    ours: dict[str, str] = {}
    gen = analysis.generalisation(result.history)
    speed = analysis.epoch_time_sentence(result.epoch_seconds)
    if name == "dense_mnist":
        ours = {"Q2": speed, "Q4-5": gen, "Q6": analysis.score_sentence(result.score, None)}
    elif name == "relu_mnist":
        ours = {
            "Q9": gen + " " + _gap_versus(result, "dense_mnist", results_dir),
            "Q10": _test_versus(result, "dense_mnist", results_dir, expected="worse"),
        }
    elif name == "cnn_mnist":
        ours = {
            "Q12-13": gen + " " + _gap_versus(result, "relu_mnist", results_dir),
            "Q14": analysis.score_sentence(result.score, None),
        }
    elif name == "cnn_dropout_mnist":
        ours = {
            "Q16": _gap_versus(result, "cnn_mnist", results_dir)
            + " "
            + _time_versus(result, "cnn_mnist", results_dir),
            "Q17": _test_versus(result, "cnn_mnist", results_dir, expected="better"),
        }
    elif name == "cifar10_cnn":
        ours = {
            "Q20": plateau_sentence(result.history),
            "Q21": analysis.epoch_time_sentence(result.epoch_seconds, seconds_2019=120),
        }
    return [(q, said, ours.get(q.split(":")[0], "")) for q, said in QUESTIONS_2019[name]]


def _gap_versus(result: Result, other: str, results_dir: str | Path | None) -> str:
    theirs = load_result(other, results_dir)
    if theirs is None:
        return f"({other} has no results to compare with.)"
    ours_gap = analysis.final_accuracy(result.history)["gap"]
    their_gap = analysis.final_accuracy(theirs.history)["gap"]
    closer = "smaller" if abs(ours_gap) < abs(their_gap) else "larger"
    return (
        f"Its train-validation gap ({ours_gap:+.4f}) is {closer} than that of {other} "
        f"({their_gap:+.4f})."
    )


def _test_versus(result: Result, other: str, results_dir: str | Path | None, expected: str) -> str:
    theirs = load_result(other, results_dir)
    if theirs is None:
        return f"({other} has no results to compare with.)"
    diff = result.score["acc"] - theirs.score["acc"]
    actual = analysis.direction(diff)
    verdict = "as 2019 expected" if actual == expected else f"not {expected}, as 2019 expected"
    return (
        f"Test accuracy {result.score['acc']:.4f} against {theirs.score['acc']:.4f} for "
        f"{other}: {actual} ({diff:+.4f}), {verdict}."
    )


def _time_versus(result: Result, other: str, results_dir: str | Path | None) -> str:
    theirs = load_result(other, results_dir)
    if theirs is None:
        return ""
    ours_s, their_s = np.median(result.epoch_seconds[1:]), np.median(theirs.epoch_seconds[1:])
    return (
        f"A training epoch took {ours_s:.1f} s against {their_s:.1f} s without dropout "
        f"({ours_s - their_s:+.1f} s; medians of epochs 2 onwards)."
    )


def plateau_sentence(history: pd.DataFrame) -> str:
    """Whether validation accuracy is still rising at the end of training."""
    val = history.query("metric == 'acc' and data == 'validation'").sort_values("epoch")
    values, epochs = val["value"].to_numpy(), val["epoch"].to_numpy()
    best_epoch = int(epochs[values.argmax()])
    tail = min(5, len(values))
    slope = np.polyfit(epochs[-tail:], values[-tail:], 1)[0] if tail > 1 else 0.0
    state = "still rising" if slope > 0.002 else "flat"
    return (
        f"Validation accuracy went from {values[0]:.4f} after epoch 1 to {values[-1]:.4f} "
        f"after epoch {epochs[-1]} (best {values.max():.4f} at epoch {best_epoch}); over the "
        f"last {tail} epochs it was {state} ({slope:+.4f} per epoch), so "
        f"{'it had not plateaued yet: more epochs would help' if slope > 0.002 else 'it had plateaued'}."
    )


def summary_table(names: list[str], results_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per exercise: 2019 and our test accuracy and loss, seeds, seconds per epoch."""
    rows = []
    for name in names:
        result = load_result(name, results_dir)
        if result is None:
            continue
        reference = get_exercise(name).result_2019
        spread = seed_spread(name, results_dir) or {}
        load = result.provenance.get("load_average")
        rows.append(
            {
                "exercise": name,
                "acc_2019": reference.get("acc", np.nan),
                "acc": result.score["acc"],
                "seed_mean": spread.get("mean", np.nan),
                "seed_min": spread.get("min", np.nan),
                "seed_max": spread.get("max", np.nan),
                "loss_2019": reference.get("loss", np.nan),
                "loss": result.score["loss"],
                "s_per_epoch": float(np.median(result.epoch_seconds[1:] or result.epoch_seconds)),
                "load": float(np.mean([*load["start"], *load["end"]][::3])) if load else np.nan,
            }
        )
    return pd.DataFrame(rows)


def environment_table(names: list[str], results_dir: str | Path | None = None) -> str:
    """The runs' commits and times, then versions, CPU and the data checksums they verified."""
    results = [r for r in (load_result(n, results_dir) for n in names) if r is not None]
    if not results:
        return "No runs."
    runs = pd.DataFrame(
        [
            {
                "run": r.name,
                "commit": str(r.provenance["git"]["commit"])[:10],
                "finished (UTC)": r.provenance["finished"][:16].replace("T", " "),
                "training (s)": round(r.provenance["train_seconds"]),
            }
            for r in results
        ]
    )
    first = results[0].provenance
    versions = ", ".join(f"{k} {v}" for k, v in sorted(first["versions"].items()))
    checksums = {
        (r.provenance["data"]["dataset"], key): value
        for r in results
        for key, value in r.provenance["data"]["checksums"].items()
    }
    data = pd.DataFrame(
        [
            {"data set": d, "array": a, "sha256 (first 24 hex digits)": v[:24]}
            for (d, a), v in sorted(checksums.items())
        ]
    )
    verified = sorted({r.provenance["data"]["verified_against"] for r in results})
    return (
        f"{_table(runs)}\n\nVersions: {versions}.\n\nMachine: {first['machine']['cpu']}, "
        f"{first['machine']['cores']} cores, {first['machine']['platform']}.\n\n"
        f"Data, verified against {'; '.join(verified)}:\n\n{_table(data)}"
    )


def exercise_names() -> list[str]:
    """The canonical exercises, in the 2019 report's order."""
    return list(EXERCISES)


# --- display: what the report notebook calls, one call per section --------------------


def _show(markdown: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(markdown))


def _figure(path: Path) -> None:
    from IPython.display import Image, display

    if path.is_file():
        display(Image(filename=str(path)))


def show_exercise(name: str, results_dir: str | Path | None = None) -> None:
    """An exercise's section: architecture, settings, history, score against 2019, errors, Q&A."""
    result = load_result(name, results_dir)
    if result is None:
        _show(f"*{name}: no results yet (run `make lab`).*")
        return
    exercise = get_exercise(name)
    stale = (
        f"*These results were trained at commit {str(result.provenance['git']['commit'])[:7]} "
        "by training code or a notebook that has changed since: `make lab` retrains them.*\n\n"
        if not trained_by_current_code(result.provenance)
        else ""
    )
    _show(
        f"## {exercise.title}\n\n{stale}### Architecture\n\n{architecture_table(result)}\n\n"
        f"### Hyperparameters\n\n{hyperparameter_table(result)}\n\n### Training history"
    )
    _figure(result.files.figure("history"))
    _show(
        f"{analysis.generalisation(result.history)}\n\n### Test score\n\n"
        f"{score_table(result, results_dir)}\n\n{comparison_note(result, results_dir)}\n\n"
        "### Where it goes wrong"
    )
    _figure(result.files.figure("confusion"))
    _figure(result.files.figure("misclassified"))
    qa = "\n".join(
        f"- **{q}**\n  - *2019:* {said}\n  - *Now:* {ours}"
        for q, said, ours in answers(result, results_dir)
    )
    _show(f"### The 2019 questions\n\n{qa}")


def show_summary(names: list[str], results_dir: str | Path | None = None) -> None:
    """All exercises in one table and one chart, 2019 against now."""
    from imagelab import plots

    table = summary_table(names, results_dir)
    if table.empty:
        _show("*No results yet.*")
        return
    # Times and loads are coarse measurements: one decimal, where scores keep four.
    digits = tuple(".1f" if c in ("s_per_epoch", "load") else ".4f" for c in table.columns)
    _show(
        "## Summary: 2019 against now\n\n"
        + _table(
            table.rename(
                columns={
                    "acc_2019": "2019 acc",
                    "acc": "acc",
                    "seed_mean": "seeds mean",
                    "seed_min": "seeds min",
                    "seed_max": "seeds max",
                    "loss_2019": "2019 loss",
                    "s_per_epoch": "s/epoch",
                }
            ),
            floatfmt=digits,
        )
    )
    cores = load_result(table["exercise"].iloc[0], results_dir).provenance["machine"]["cores"]
    _show(
        f"s/epoch is the median time of a run's epochs after the first, as measured during the "
        f"run; load is the machine's 1-minute load average at the run's start and end (where "
        f"recorded; {cores} cores): a load above {cores} means other jobs shared the cores and "
        "slowed the epochs down."
    )
    figure = plots.comparison(table)
    from IPython.display import display

    display(figure)
    plots.close(figure)
    if any(is_jpeg_cifar(load_result(n, results_dir).provenance) for n in table["exercise"]):
        _show(CIFAR_JPEG_NOTE)


# Studies that retrain the ReLU network with one Keras 2 behaviour restored (studies/*.py):
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
HISTORY_2019 = records.PROJECT_ROOT / "histories" / "lab2019" / "history.csv"  # 2019's dense net


def _study(studies_dir: Path, file: str) -> pd.DataFrame:
    """A study's rows for the ReLU network (studies of exercise one's two nets say which)."""
    path = studies_dir / file
    if not path.is_file():
        return pd.DataFrame()
    study = pd.read_csv(path)
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
        ours = pd.read_csv(seeds_path).query("run == 'relu_mnist'").set_index("seed")["acc"]
        columns["Our runs now (scores/seeds.csv)"] = ours
    if not columns:
        return pd.DataFrame()
    return pd.concat(columns, axis=1).sort_index().rename_axis("seed").reset_index()


def validation_movement(studies_dir: str | Path | None = None) -> str:
    """How far the dense (linear) net's validation loss moves per epoch: 2019 against both orders.

    A net that ends every epoch on the same batches settles into a smooth validation curve; 2019's
    jumped from epoch to epoch, as a fresh order per epoch makes it do.
    """
    path = Path(studies_dir or records.PROJECT_ROOT / "studies") / "keras3_shuffle.csv"
    if not path.is_file() or not HISTORY_2019.is_file():
        return ""
    linear = pd.read_csv(path).query("activation == 'linear'")
    moved = linear.groupby("order")["val_loss_mean_abs_change"].agg(["mean", "count"])
    history = records.read_history(HISTORY_2019)
    val_loss = history.query("metric == 'loss' and data == 'validation'").sort_values("epoch")
    theirs = val_loss["value"].diff().abs().mean()
    return (
        "The dense network without activation shows the mechanism: 2019's validation loss moved "
        f"{theirs:.4f} per epoch on average (its history, `histories/lab2019/history.csv`); ours "
        f"moved {moved.loc['keras3_repeated', 'mean']:.4f} with one order repeated and "
        f"{moved.loc['reshuffled', 'mean']:.4f} reshuffled every epoch (means over "
        f"{moved['count'].min()} seeds)."
    )


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
            f"{values.min():.4f}-{values.max():.4f}); {(_exact(values) >= theirs).sum()} of {len(values)} "
            f"reach 2019's {theirs:.4f}."
        )
    _show(
        "## Reproduction checks: the ReLU network against 2019\n\n"
        "Keras 3 changed behaviours the 2019 lab relied on. Each study retrains the ReLU network "
        "on the same seeds with one Keras 2 behaviour restored (`studies/`). Keras 2 shuffled "
        "the training set afresh before every epoch; Keras 3's own `fit`, once a seed is set, "
        "repeats one order in every epoch, as imagelab's training did before commit a9183bb. "
        "The RMSprop and loss studies ran on that repeated order.\n\n"
        + "\n".join(lines)
        + f"\n\n{validation_movement(studies_dir)}\n\n"
        + _table(table)
    )
    ours = load_result("dense_mnist", results_dir)
    if ours is not None and HISTORY_2019.is_file():
        from IPython.display import display

        from imagelab import plots

        figure = plots.histories_compared(
            {"now": ours.history, "2019": records.read_history(HISTORY_2019)},
            title="Dense network without activation: our canonical run against 2019's history",
        )
        display(figure)
        plots.close(figure)


def show_environment(names: list[str], results_dir: str | Path | None = None) -> None:
    """The run environment: commits, versions, CPU and data checksums."""
    _show("## Run environment\n\n" + environment_table(names, results_dir))


def check_runs(names: list[str]) -> None:
    """Validate the report's `runs` parameter (known exercise names) before rendering."""
    if not isinstance(names, list) or not names:
        raise ValueError(f"runs must be a non-empty list of exercise names; got {names!r}")
    for name in names:
        get_exercise(name)


def show_question_22() -> None:
    """The 2019 summary of Yamins et al. (2014)."""
    _show(QUESTION_22)


def playground_glossary(history: pd.DataFrame, params: dict, search: pd.DataFrame) -> pd.DataFrame:
    """2019's settings glossary, each setting beside what our spiral runs show of it."""
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
    summary = analysis.playground_success(search)
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
            f"smallest network with test loss < 0.1 for any seed: {smallest}",
        ),
    ]
    return pd.DataFrame(rows, columns=["setting", "2019's description", "what our runs show"])


def show_playground(results_dir: str | Path | None = None) -> None:
    """Exercise three (the Playground spiral), when its results exist."""
    from imagelab import playground_search

    result = load_result("playground_spiral", results_dir)
    search_file = records.run_files("playground_search", results_dir).score
    if result is None or not search_file.is_file():
        return
    search = playground_search.read_search(results_dir)
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
    seeds = sorted(int(seed) for seed in search["seed"].unique())
    _show(
        f"### The smallest network\n\nSeeds ({len(seeds)}: {seeds[0]}-{seeds[-1]}) whose final "
        f"test loss was below 0.1, with the 95 % Wilson interval of the share, over "
        f"{len(search)} networks of {search['epochs'].iloc[0]} epochs:\n\n"
        + _table(analysis.playground_rate_table(search))
        + "\n\n"
        + analysis.playground_claim(search)
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
