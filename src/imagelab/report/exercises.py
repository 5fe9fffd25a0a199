"""Per-exercise sections: architecture, settings, score against 2019, the 2019 questions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imagelab import analysis
from imagelab.exercises import EXERCISES, get_exercise, trained_by_current_code
from imagelab.report.display import _figure, _show, _table
from imagelab.report.reference import CIFAR_JPEG_NOTE, QUESTIONS_2019, is_jpeg_cifar
from imagelab.report.results import Result, load_result, seed_spread


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
            inside = (
                analysis.exact_accuracy(spread["min"])
                <= theirs
                <= analysis.exact_accuracy(spread["max"])
            )
            notes.append(
                f"2019's test accuracy {theirs:.4f} lies {'inside' if inside else 'outside'} the "
                f"range of our {spread['n']} seeds ({spread['min']:.4f}-{spread['max']:.4f}); "
                f"our canonical run differs from it by "
                f"{analysis.accuracy_difference(ours, theirs):+.4f}."
            )
        else:
            diff = analysis.accuracy_difference(ours, theirs)
            notes.append(f"Our canonical run differs from 2019 by {diff:+.4f}.")
    if is_jpeg_cifar(result.provenance):
        notes.append(CIFAR_JPEG_NOTE)
    return " ".join(notes)


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
            "Q20": analysis.plateau_sentence(result.history),
            "Q21": analysis.epoch_time_sentence(result.epoch_seconds, seconds_2019=120),
        }
    return [(q, said, ours.get(q.split(":")[0], "")) for q, said in QUESTIONS_2019[name]]


def _gap_versus(result: Result, other: str, results_dir: str | Path | None) -> str:
    theirs = load_result(other, results_dir)
    if theirs is None:
        return f"({other} has no results to compare with.)"
    return analysis.gap_versus(result.history, theirs.history, other)


def _test_versus(result: Result, other: str, results_dir: str | Path | None, expected: str) -> str:
    theirs = load_result(other, results_dir)
    if theirs is None:
        return f"({other} has no results to compare with.)"
    return analysis.accuracy_versus(result.score["acc"], theirs.score["acc"], other, expected)


def _time_versus(result: Result, other: str, results_dir: str | Path | None) -> str:
    theirs = load_result(other, results_dir)
    if theirs is None:
        return ""
    ours_s = analysis.steady_epoch_seconds(result.epoch_seconds)
    their_s = analysis.steady_epoch_seconds(theirs.epoch_seconds)
    return (
        f"A training epoch took {ours_s:.1f} s against {their_s:.1f} s without dropout "
        f"({ours_s - their_s:+.1f} s; medians of epochs 2 onwards)."
    )


def exercise_names() -> list[str]:
    """The canonical exercises, in the 2019 report's order."""
    return list(EXERCISES)


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


def check_runs(names: list[str]) -> None:
    """Validate the report's `runs` parameter (known exercise names) before rendering."""
    if not isinstance(names, list) or not names:
        raise ValueError(f"runs must be a non-empty list of exercise names; got {names!r}")
    for name in names:
        get_exercise(name)
