"""Bad-input cases: a run's files as one set, and the facts of its provenance (issue 35).

A run's files that are not the set its manifest records (a figure missing, one from another
run, one too many, no manifest), provenance facts that cannot be true (durations beyond the
run's wall time, times before Keras 3, in the future, before the start or not times at all, a
commit that is no hash, a second seed, another exercise's name, unknown keys), seeds.csv rows
their runs contradict, results_dir at the root or a system folder or empty, and the publish
itself killed at every point or on a disk filling at several sizes (``publish_faults.py``).

A ``CASES`` list of ``bad_input_kit.Case``; ``studies/bad_inputs.py`` runs them with the others.
The report and dry-run cases run ``imagelab`` in a copy of the project (``needs="store"``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable

from bad_input_kit import Case, Layout
from bad_runs import DELETE, DRY_RUN, PM, REPORT, SAFE, _provenance
from bad_side_tables import _cell

NO_ROOT_FOLDERS = ("/histories", "/scores", "/figures", "/.staging")


def _damaged(run: str, path: str, text: str) -> str:
    """The line the report and ``lab --dry-run`` print for the damaged run ``run``: the file
    (a path in the project) and what is wrong (a regular expression)."""
    return rf"{run}: results damaged \({re.escape(path)} {text}"


def _gone(relative: str) -> Callable[[Layout], None]:
    return lambda layout: (layout.project / relative).unlink()


def _copied(source: str, target: str) -> Callable[[Layout], None]:
    return lambda layout: shutil.copy(layout.project / source, layout.project / target)


FIGURE = "figures/relu_mnist_confusion.png"
RELU = "scores/relu_mnist.json"
SEED1 = "sweeps/cifar10_seeds/scores/epochs-20_seed1-d289a508.json"  # seeds.csv's line 2

CASES: list[Case] = [
    # --- 35.1 and 35.5: the set its manifest records -----------------------------------------
    Case(
        "a-figure-missing-report",
        "35.5",
        REPORT,
        _damaged("relu_mnist", FIGURE, rf"is missing, while {RELU} lists it among the run's"),
        setup=_gone(FIGURE),
        needs="store",
    ),
    Case(
        "a-figure-missing-dry-run",
        "35.5",
        DRY_RUN,
        _damaged("relu_mnist", FIGURE, "is missing, while"),
        setup=_gone(FIGURE),
        needs="store",
    ),
    Case(
        "another-runs-figure-in-the-set",
        "35.1",
        REPORT,
        _damaged(
            "relu_mnist",
            FIGURE,
            rf"is not the file {RELU} recorded \((\d+ bytes|sha256 \w+\.\.\.) where it "
            r"recorded \w+(\.\.\.)?: another attempt's file",
        ),  # fmt: skip
        setup=_copied("figures/relu_mnist_bf16_confusion.png", FIGURE),
        needs="store",
    ),
    Case(
        "a-figure-too-many",
        "35.1",
        REPORT,
        _damaged("relu_mnist", "figures/relu_mnist_loss.png", "is not one of the run's files"),
        setup=_copied("figures/playground_spiral_loss.png", "figures/relu_mnist_loss.png"),
        needs="store",
    ),
    Case(
        "no-manifest",
        "35.1",
        REPORT,
        _damaged("relu_mnist", RELU, r"has no manifest of the run's files .*tools/manifests\.py"),
        setup=_provenance("relu_mnist", "files", DELETE),
        needs="store",
    ),
    Case(
        "killed-at-every-point-of-a-publish",
        "35.1",
        "python studies/publish_faults.py kill",
        r"^kill: a SIGKILL at each of \d+ points of a publish left the old set whole \d+ times "
        r"and the new set whole \d+ times, a mix 0 times$",
        status=0,
        needs="store",
    ),
    Case(
        "a-disk-full-at-several-sizes",
        "35.2",
        "python studies/publish_faults.py disk",
        r"^disk \((tmpfs|byte budget)\): .*refused.*published; 0 left a mix or said otherwise$",
        status=0,
        needs="store",
    ),
    # --- 35.4: results_dir -----------------------------------------------------------------
    Case(
        "results-dir-the-root",
        "35.4",
        f"{PM} {SAFE} -p results_dir /",
        r"^UserError: results_dir must be a folder this user can write in \(or create\); got "
        r"'/': it is the root of the file system\. Name another folder",
        status=1,
        kernel=True,
        absent=NO_ROOT_FOLDERS,
    ),
    Case(
        "results-dir-empty",
        "35.4",
        f"{PM} {SAFE} -p results_dir ''",
        r"^UserError: results_dir must name a folder; got '', empty text\. Pass None",
        status=1,
        kernel=True,
    ),
    Case(
        "results-dir-a-system-folder",
        "35.4",
        f"{PM} {SAFE} -p results_dir /etc",
        r"^UserError: results_dir must be a folder .*got '/etc': /etc is a system folder",
        status=1,
        kernel=True,
    ),
    # --- 35.6: facts that must agree -------------------------------------------------------
    *[
        Case(
            name,
            "35.6",
            command,
            _damaged(run, f"scores/{run}.json", text),
            setup=_provenance(run, key, value),
            needs="store",
        )
        for name, command, run, key, value, text in [
            (
                "train-seconds-1e12",
                REPORT,
                "cnn_mnist",
                "train_seconds",
                1e12,
                r"says train_seconds is 1e\+12 s, more than the run's own wall time",
            ),
            (
                "finished-in-1900",
                REPORT,
                "relu_mnist",
                "finished",
                "1900-01-01T00:00:00+00:00",
                r"says it finished at 1900-01-01T00:00:00\+00:00, before Keras 3 existed",
            ),
            (
                "finished-before-started",
                DRY_RUN,
                "dense_mnist",
                "started",
                "2026-12-01T00:00:00+00:00",
                r"says it finished at .*, before it started",
            ),
            (
                "finished-in-the-future",
                REPORT,
                "relu_mnist",
                "finished",
                "2999-01-01T00:00:00+00:00",
                r"says it finished at 2999-.*, in the future",
            ),
            (
                "finished-yesterday-report",
                REPORT,
                "relu_mnist",
                "finished",
                "yesterday",
                r"holds finished = 'yesterday', which must be a date and time with its offset",
            ),
            (
                "finished-yesterday-dry-run",
                DRY_RUN,
                "relu_mnist",
                "finished",
                "yesterday",
                r"holds finished = 'yesterday'",
            ),
            (
                "git-commit-zzz",
                REPORT,
                "dense_mnist",
                "git.commit",
                "zzz",
                r"holds git\.commit = 'zzz', which must be null or a full commit hash",
            ),
            (
                "seed-not-the-parameters-seed",
                REPORT,
                "cnn_mnist",
                "seed",
                7,
                r"says seed 7 where its parameters say seed 2019; a run has one seed",
            ),
            (
                "exercise-naming-another-report",
                REPORT,
                "relu_mnist",
                "exercise",
                "cnn_mnist",
                r"says the canonical run 'relu_mnist' ran the cnn_mnist exercise",
            ),
            (
                "exercise-naming-another-dry-run",
                DRY_RUN,
                "relu_mnist",
                "exercise",
                "cnn_mnist",
                r"says the canonical run 'relu_mnist' ran the cnn_mnist exercise",
            ),
            (
                "unknown-key-under-score",
                REPORT,
                "relu_mnist",
                "score.accuracy",
                0.5,
                r"holds the key score\.accuracy, which no run's provenance has",
            ),
            (
                "unknown-key-under-data",
                REPORT,
                "relu_mnist",
                "data.licence",
                "CC",
                r"holds the key data\.licence, which no run's provenance has",
            ),
            (
                "unknown-key-under-machine",
                REPORT,
                "relu_mnist",
                "machine.gpu",
                "A100",
                r"holds the key machine\.gpu, which no run's provenance has",
            ),
            (
                "unknown-key-under-git",
                REPORT,
                "relu_mnist",
                "git.branch",
                "main",
                r"holds the key git\.branch, which no run's provenance has",
            ),
            (
                "unknown-key-under-versions",
                REPORT,
                "relu_mnist",
                "versions.torch",
                "2.5",
                r"holds the key versions\.torch, which no run's provenance has",
            ),
        ]
    ],  # fmt: skip
    # --- 35.7: side tables against what they point to ---------------------------------------
    Case(
        "seeds-row-whose-run-is-gone-report",
        "35.7",
        REPORT,
        r"scores/seeds\.csv has on line 2 the source sweeps/cifar10_seeds/scores/epochs-20_"
        r"seed1-00000000\.json, which is no stored run's provenance \(no such file\)",
        setup=_cell("scores/seeds.csv", "source", SEED1.replace("d289a508", "00000000")),
        needs="store",
    ),
    Case(
        "seeds-row-whose-run-is-gone-dry-run",
        "35.7",
        DRY_RUN,
        r"the report would refuse to render: scores/seeds\.csv has on line 2 the source",
        setup=_cell("scores/seeds.csv", "source", SEED1.replace("d289a508", "00000000")),
        needs="store",
    ),
    Case(
        "seeds-row-another-accuracy",
        "35.7",
        REPORT,
        rf"scores/seeds\.csv says acc 0\.99 on line 2, where its source {SEED1} holds 0\.63",
        setup=_cell("scores/seeds.csv", "acc", "0.99"),
        needs="store",
    ),
]
