"""What a run writes, where, and what it says it wrote: shared by ``imagelab.running.run`` (the
Keras exercises) and ``imagelab.running.playground_run`` (the Playground spiral).

Where: a canonical run (the 2019 settings under an exercise's own name, ``CANONICAL_NAMES``)
keeps its files in the project's ``histories/``, ``scores/`` and ``figures/``, which git
tracks: they are the project's results. Any other ``run_name`` without a ``results_dir`` goes
to ``runs/`` (``OWN_RUNS``, the same layout), which git ignores: a student's quick run or a
try with other settings never shows in ``git status`` nor rides along in a ``git add -A``.
Keeping one is a decision (``git add -f runs/...``, or a ``results_dir`` of one's own).

What: a run's whole set (history, score, predictions, figures, provenance last) is staged and
published as one (``stage_figures``, ``run_provenance``, ``imagelab.results.staging``).

What it says: every file a run publishes is noted in its ``written`` list, and the notebook's
last cell prints ``wrote`` (each file by name), so a run's last lines name all it wrote, or
that stored results were shown and nothing was written.
"""

from __future__ import annotations

from pathlib import Path

from imagelab import plots, records
from imagelab.results import store
from imagelab.results.exercises import CANONICAL_NAMES

OWN_RUNS = records.PROJECT_ROOT / "runs"

# How to retrain when a notebook shows stored results; each notebook's first cell says the same
# (tests/test_interactive.py checks), so what Run All prints matches what the student read.
RETRAIN = "to retrain, set force = True in the parameters cell (papermill: -p force True)"


def stored_results_message(run_name: str, provenance: dict) -> str:
    """What a run prints when it shows up-to-date stored results instead of training."""
    return (
        f"[{run_name}] showing the stored results, which are up to date (trained "
        f"{provenance.get('finished')}, commit {records.shown_commit(provenance['git'].get('commit'))}); "
        f"not training. {RETRAIN[0].upper()}{RETRAIN[1:]}."
    )


def results_dir_for(run_name: str, results_dir: str | None) -> str | None:
    """Where the run ``run_name`` keeps its files: ``results_dir`` when given; else the
    project's own folders (None) for a canonical run, and ``runs/`` for any other."""
    if results_dir is not None or run_name in CANONICAL_NAMES:
        return results_dir
    return str(OWN_RUNS)


def beside(run_name: str, results_dir: str | Path | None) -> str | Path | None:
    """Where to look for the stored run ``run_name`` beside a run keeping its files in
    ``results_dir``: that folder, except ``runs/``, from which a student's run finds the
    project's canonical runs (and the Playground search) in the project's own folders."""
    if results_dir is None or Path(results_dir).resolve() != OWN_RUNS.resolve():
        return results_dir
    return None if run_name in CANONICAL_NAMES or run_name == "playground_search" else results_dir


def wrote(run: object) -> str:
    """What ``run`` wrote, every file named (one a line), and where git stands on them."""
    folder = run.files.results_dir
    if not run.written:
        shown = "showed the stored results" if run.stored is not None else "stored nothing"
        return f"[{run.name}] {shown}; wrote no file"
    if folder.resolve() == OWN_RUNS.resolve():
        where = "under runs/, which git ignores (`git add -f` keeps a run on purpose)"
    elif folder.resolve() == records.PROJECT_ROOT.resolve():
        where = (
            "in the project's own folders, which git tracks: `git status` shows them; commit "
            "them with the code that trained them, or `git checkout -- FILE` restores one"
        )
    else:
        where = f"under {records.relative(folder)}"
    names = "".join(f"\n    {records.relative(path)}" for path in run.written)
    return f"[{run.name}] wrote {len(run.written)} files {where}:{names}"


def stage_figures(run: object, staged: records.RunFiles, **drawn: object) -> None:
    """Draw each figure of the run's exercise (``run.figure(kind)``, or the one in ``drawn``)
    and save it into the attempt's staging folder, closed: the notebook's plot cells draw
    their own to show. Shared by ``Run`` and the Playground's run."""
    import matplotlib.pyplot as plt

    for kind in run.exercise.figures:
        fig = drawn[kind] if kind in drawn else run.figure(kind)
        plots.save(fig, staged.figure(kind))
        plt.close(fig)


def published_files(run: object) -> list[Path]:
    """The files of a run's published set, as ``wrote`` lists them."""
    files, kind = run.files, run.exercise
    shown = [files.history, files.score] + ([files.predictions] if kind.predictions else [])
    return shown + [files.figure(k) for k in kind.figures] + [files.provenance]


def published_message(run: object) -> str:
    """What a run says once its set is published: where its files are."""
    files, kind = run.files, run.exercise
    shown = [files.history, files.score] + ([files.predictions] if kind.predictions else [])
    figures = ", ".join(files.figure(k).name for k in kind.figures)
    return (
        f"published its files as one set: {', '.join(records.relative(p) for p in shown)}, "
        f"{figures} and {files.provenance.name}"
    )


def run_provenance(run: object, model: object, **measured: object) -> dict:
    """A finished run's provenance, which its attempt seals and publishes last (its presence
    marks the run done): what the run knows of itself (name, exercise, notebook, fingerprint,
    git, load at start, epoch and training seconds) and what it ``measured`` (parameters,
    data, score, started, cpu_seconds and any extra keys), through the one builder,
    ``store.build_provenance``. Shared by ``Run`` and the Playground's run."""
    return store.build_provenance(
        run_name=run.name,
        exercise=run.exercise.name,
        notebook=f"notebooks/{run.exercise.notebook}",
        epoch_seconds=run.result.epoch_seconds,
        train_seconds=run.result.train_seconds,
        model={"name": model.name, "params": int(model.count_params())},
        fingerprint=run.fingerprint,
        git=run.git,
        load_at_start=run.load_at_start,
        **measured,
    )
