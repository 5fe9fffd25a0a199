"""Retrain committed runs in a scratch folder and say how closely this machine reproduces them.

``imagelab verify`` (``make verify``) reruns canonical runs the way ``imagelab lab`` does (the
exercise's notebook under papermill, canonical settings), but with ``results_dir`` set to a
scratch folder, ``build/verify/<run>``, so the project's ``histories/``, ``scores/`` and
``figures/`` are only read. Each rerun gets one verdict against the committed run:

``identical``
    the score CSV and the predictions CSV are byte-identical, and so is the history CSV but for
    its ``seconds`` column (wall-clock time, different on every run);
``within seed noise``
    |Δ test accuracy| <= 2 x the seed-to-seed standard deviation of that exercise's test
    accuracy (``scores/seeds.csv``), and every point of the history within 2 x the seed standard
    deviation of that metric at that epoch (the seed runs' own histories);
``outside``
    anything else, and every run with no seed spread to judge by that is not identical.

The seed spread is the yardstick because it is the noise the lab's conclusions already live
with: a difference smaller than changing the seed changes no conclusion drawn from one seed.

``record`` appends one row per run to ``reproductions/verify.csv`` (the machine's CPU model and
the ISA features oneDNN dispatches on, the versions, the verdict and the differences), so the
report can say which machines have reproduced which runs, and by how much; the record itself
(its columns, checks, reading and merging) lives in ``imagelab.reproductions``.
"""

from __future__ import annotations

import datetime as dt
import platform
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from imagelab import machine, records, reproductions, store, tables
from imagelab.errors import UserError
from imagelab.exercises import CANONICAL_NAMES, REGISTRY
from imagelab.params import check_choice
from imagelab.precision import FLOAT32

DEFAULT_RUNS = ("dense_mnist", "relu_mnist")
ALL_RUNS = tuple(REGISTRY)  # the five exercises, then the Playground spiral (--all)
# Runs verify retrains when named: those, and the exercises' bfloat16 runs (<exercise>_bf16).
KNOWN_RUNS = reproductions.RUNS
PLAYGROUND = "playground_spiral"
SEED_SDS = 2  # a difference up to 2 seed standard deviations is seed noise
SCRATCH = records.PROJECT_ROOT / "build" / "verify"
SEEDS = records.PROJECT_ROOT / "scores" / "seeds.csv"


@dataclass(frozen=True)
class Spread:
    """The seed-to-seed spread of one exercise: test accuracies and the seed runs' histories."""

    acc: pd.Series  # test accuracy per seed
    histories: list[pd.DataFrame]  # the seed runs' histories, where stored

    @property
    def acc_sd(self) -> float | None:
        return float(self.acc.std()) if len(self.acc) >= 2 else None

    def history_sd(self) -> pd.Series | None:
        """Standard deviation across seeds per (metric, data, epoch), or None under 2 histories."""
        if len(self.histories) < 2:
            return None
        rows = pd.concat(self.histories)
        return rows.groupby(["metric", "data", "epoch"])["value"].std()


@dataclass(frozen=True)
class Comparison:
    """One rerun beside its committed run."""

    run: str
    verdict: str
    d_acc: float  # rerun - committed test accuracy
    d_loss: float  # rerun - committed test loss
    max_d_history: float  # largest |difference| at any (epoch, metric, data) of the history
    history_ratio: float | None  # largest |difference| / tolerance there (<= 1: within noise)
    acc_tolerance: float | None  # 2 x the seed sd of test accuracy, None without a spread
    seconds: float  # wall time of the rerun (papermill, kernel start included)
    notes: tuple[str, ...] = ()
    versions: dict | None = None  # tensorflow, keras, numpy of the rerun


# --- the machine ---------------------------------------------------------------------------


def cpu_facts(facts: dict | None = None) -> dict[str, str]:
    """The record's view of ``machine.describe()`` (this machine's, or ``facts``, a stored
    run's): CPU model with its family and model numbers (virtual machines may mask the name as
    "AMD EPYC", not these), the ISA features oneDNN dispatches on, oneDNN on or off (and a cap
    on its ISA), and imagelab's thread cap."""
    facts = facts or machine.describe()
    cap = facts["onednn_max_cpu_isa"]
    return {
        "cpu": machine.cpu_name(facts),
        "isa": " ".join(facts["isa_flags"]) or "none",
        "onednn": ("on" if facts["onednn"] else "off") + (f", max ISA {cap}" if cap else ""),
        "threads": facts["imagelab_threads"] or "all",
    }


# --- reading runs ----------------------------------------------------------------------------


def _load(run_name: str, results_dir: Path) -> store.StoredRun:
    stored = store.load_run(run_name, results_dir)
    if stored is None:
        raise UserError(
            f"{run_name}: no stored run under {results_dir} to compare with; run `make lab` first"
        )
    return stored


def seed_spread(
    run: str, seeds: Path = SEEDS, committed_dir: Path = records.PROJECT_ROOT
) -> Spread:
    """The seed spread of ``run``: the rows of ``seeds`` (``scores/seeds.csv``) for an exercise,
    with each seed run's history found beside its provenance; for the Playground spiral, the
    rows of the stored search with the canonical network (no histories stored there)."""
    if run == PLAYGROUND:
        return _playground_spread(committed_dir)
    if not Path(seeds).is_file():
        return Spread(pd.Series(dtype=float), [])
    table = tables.read(seeds, tables.SEEDS)
    table = table[table["run"] == run]
    histories = []
    for source in table["source"]:
        provenance = records.PROJECT_ROOT / source  # absolute sources stay as they are
        history = provenance.parent.parent / "histories" / f"{provenance.stem}.csv"
        if history.is_file():
            histories.append(_load(provenance.stem, provenance.parent.parent).history)
    return Spread(table["acc"].reset_index(drop=True), histories)


def _playground_spread(committed_dir: Path) -> Spread:
    from imagelab import playground_search

    search = playground_search.load(committed_dir)
    committed = store.load_run(PLAYGROUND, committed_dir)
    if search is None or committed is None:
        return Spread(pd.Series(dtype=float), [])
    table, settings = search[0], committed.provenance["parameters"]
    committed_acc = committed.score["acc"]
    same = (
        (table["features"] == " ".join(settings["features"]))
        & (table["hidden"] == "-".join(map(str, settings["hidden"])))
        & (table["learning_rate"] == settings["learning_rate"])
        & (table["epochs"] == settings["epochs"])
    )
    acc = pd.concat([table.loc[same, "test_acc"], pd.Series([committed_acc])], ignore_index=True)
    return Spread(acc, [])  # the search keeps no histories


# --- comparing ---------------------------------------------------------------------------------


def compare(
    run: str,
    committed: store.StoredRun,
    rerun: store.StoredRun,
    spread: Spread,
    seconds: float = float("nan"),
) -> Comparison:
    """The verdict on ``rerun`` against ``committed`` (see the module docstring for the rules)."""
    history_c, score_c = committed.history, committed.score
    history_r, score_r = rerun.history, rerun.score
    notes = []
    same_bytes = all(records.identical_parts(committed.files, rerun.files).values())

    keys = ["epoch", "metric", "data"]
    paired = history_c[[*keys, "value"]].merge(
        history_r[[*keys, "value"]], on=keys, how="outer", suffixes=("_c", "_r"), indicator=True
    )
    unpaired = int((paired["_merge"] != "both").sum())
    difference = (paired["value_r"] - paired["value_c"]).abs()
    max_d_history = float(difference.max()) if len(difference) else 0.0
    if unpaired:
        notes.append(f"{unpaired} history rows have no counterpart (epochs or metrics differ)")

    history_sd, ratio = spread.history_sd(), None
    if history_sd is not None:
        judged = paired.merge(history_sd.rename("sd").reset_index(), on=keys, how="left")
        ratios = (difference / (SEED_SDS * judged["sd"])).mask(difference == 0, 0.0)
        ratio = float(ratios.fillna(float("inf")).max()) if len(ratios) else 0.0
    elif not same_bytes:
        notes.append("no seed histories: the history is not judged, only the test accuracy")

    d_acc = score_r["acc"] - score_c["acc"]
    acc_tolerance = SEED_SDS * spread.acc_sd if spread.acc_sd is not None else None
    if same_bytes:
        verdict = "identical"
    elif (
        acc_tolerance is not None
        and abs(d_acc) <= acc_tolerance
        and not unpaired
        and (ratio is None or ratio <= 1)
    ):
        verdict = "within seed noise"
    else:
        verdict = "outside"
        if acc_tolerance is None:
            notes.append("no seed spread for this run: only 'identical' can pass")
    return Comparison(
        run=run,
        verdict=verdict,
        d_acc=d_acc,
        d_loss=score_r["loss"] - score_c["loss"],
        max_d_history=max_d_history,
        history_ratio=ratio,
        acc_tolerance=acc_tolerance,
        seconds=seconds,
        notes=tuple(notes),
    )


# --- rerunning -----------------------------------------------------------------------------------


def rerun(
    run: str,
    scratch: Path,
    committed_dir: Path = records.PROJECT_ROOT,
    run_name: str | None = None,
    parameters: dict[str, object] | None = None,
) -> float:
    """Retrain ``run`` with its notebook into ``scratch`` (emptied first); return the seconds.

    The notebook gets ``run_name`` (default: ``run``) and ``results_dir=scratch``, plus
    ``parameters`` (tests shrink the data and epochs; the command line passes none, so the
    notebook's canonical settings apply). The executed notebook is kept as
    ``scratch/<run>.ipynb``, also when the run fails.
    """
    from imagelab import runs
    from imagelab.exercises import get_exercise

    scratch = Path(scratch)
    if scratch.exists():
        shutil.rmtree(scratch)  # a leftover result would be shown, not retrained
    parameters = {"run_name": run_name or run, "results_dir": str(scratch)} | (parameters or {})
    if run == PLAYGROUND:
        # Notebook 06 shows the stored search after its run; the scratch folder gets a copy.
        search = records.run_files("playground_search", committed_dir)
        for source in (search.score, search.provenance):
            if source.is_file():
                target = scratch / source.relative_to(search.results_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        parameters["search"] = False
    exercise, number_format = CANONICAL_NAMES[run]  # cnn_mnist_bf16: cnn_mnist in bfloat16
    if number_format != FLOAT32:
        parameters["precision"] = number_format
    notebook = get_exercise(exercise).notebook_path
    started = time.perf_counter()
    runs.execute(notebook, scratch / f"{run}.ipynb", parameters)
    return time.perf_counter() - started


def verify(
    names: list[str] | tuple[str, ...] = DEFAULT_RUNS,
    *,
    committed_dir: Path = records.PROJECT_ROOT,
    scratch: Path = SCRATCH,
    seeds: Path = SEEDS,
    run_names: dict[str, str] | None = None,
    parameters: dict[str, object] | None = None,
    record: Path | None = None,
) -> list[Comparison]:
    """Rerun each of ``names`` into ``scratch/<run>`` and compare it with ``committed_dir``.

    ``run_names`` maps a run to the name its committed results have (default: the run's own),
    ``parameters`` go to every notebook; both are for tests on fixture data. With ``record``,
    one row per run is appended to that CSV, atomically, as each run finishes.
    """
    for name in names:
        check_choice("run", name, KNOWN_RUNS)
    if record:
        reproductions.read(record)  # a damaged record stops here, not after an hour of training
    comparisons = []
    for number, name in enumerate(names, start=1):
        run_name = (run_names or {}).get(name, name)
        committed = _load(run_name, committed_dir)  # before training: a missing run stops here
        print(f"== verify [{number}/{len(names)}] {name}: retraining into {scratch / name}")
        seconds = rerun(name, scratch / name, committed_dir, run_name, parameters)
        retrained = _load(run_name, scratch / name)
        comparison = compare(
            name, committed, retrained, seed_spread(name, seeds, committed_dir), seconds
        )
        versions = retrained.provenance["versions"]
        comparison = replace(
            comparison,
            versions={k: versions.get(k, "") for k in ("tensorflow", "keras", "numpy")},
            notes=comparison.notes + _freshness_note(name, committed),
        )
        comparisons.append(comparison)
        print(f"== verify {name}: {comparison.verdict} ({seconds:.0f}s)")
        if record:
            append_record(comparison, record)
    return comparisons


def _freshness_note(run: str, committed: store.StoredRun) -> tuple[str, ...]:
    """A note when the committed run would come out differently with today's code, notebook,
    libraries or data: then a difference may come from those, not from the machine."""
    if run == PLAYGROUND:  # the Playground keeps no fingerprint
        return ()
    reasons = store.stale_reasons(CANONICAL_NAMES[run][0], committed)
    return (f"the committed run is stale ({'; '.join(reasons)})",) if reasons else ()


# --- showing and recording -----------------------------------------------------------------------


def table(comparisons: list[Comparison]) -> str:
    """The comparisons as a plain-text table, the rule and the machine underneath."""
    header = (
        f"{'run':<18} {'verdict':<18} {'d acc':>8} {'2 sd acc':>8} {'d loss':>10} "
        f"{'max |d hist|':>12} {'/ tol':>6} {'seconds':>8}"
    )
    lines = [header, "-" * len(header)]
    for c in comparisons:
        tolerance = f"{c.acc_tolerance:.4f}" if c.acc_tolerance is not None else "-"
        ratio = f"{c.history_ratio:.2f}" if c.history_ratio is not None else "-"
        lines.append(
            f"{c.run:<18} {c.verdict:<18} {c.d_acc:>+8.4f} {tolerance:>8} {c.d_loss:>+10.6f} "
            f"{c.max_d_history:>12.2g} {ratio:>6} {c.seconds:>8.0f}"
        )
        lines += [f"    {c.run}: {note}" for note in c.notes]
    facts = cpu_facts()
    lines.append(
        f"identical: score, predictions and history (but its seconds) byte for byte; within seed "
        f"noise: |d acc| <= {SEED_SDS} sd of the seeds' test accuracy and every history point "
        f"within {SEED_SDS} sd of the seeds at that epoch ('/ tol' <= 1)."
    )
    lines.append(f"cpu: {facts['cpu']}; isa: {facts['isa']}")
    return "\n".join(lines)


def append_record(
    comparison: Comparison,
    path: Path = reproductions.RECORD,
    where: tuple[dict[str, str], str, str] | None = None,
) -> Path:
    """Append one row for ``comparison`` to the record at ``path`` (``reproductions.append``:
    checked, rewritten atomically). The CPU, commit and Python are this process's, or ``where``
    (``cpu_facts``, commit, Python) of the run judged when it was trained elsewhere."""
    c = comparison
    cpu, commit, python = where or (cpu_facts(), reproductions.commit_now(), None)
    row = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        **cpu,
        **(c.versions or dict.fromkeys(("tensorflow", "keras", "numpy"))),
        "python": python or platform.python_version(),
        "run": c.run,
        "verdict": c.verdict,
        "d_acc": c.d_acc,
        "d_loss": c.d_loss,
        "max_d_history": c.max_d_history,
        "seconds": round(c.seconds, 1),
    }
    return reproductions.append(row, path)


def exit_status(comparisons: list[Comparison]) -> int:
    """0 when every run is identical or within seed noise, 1 when any is outside."""
    return 1 if any(c.verdict == "outside" for c in comparisons) else 0


def main(
    names: list[str] | tuple[str, ...] = DEFAULT_RUNS, record: Path | None = None, **options: object
) -> int:
    """Verify ``names``, print the table, return the exit status (``options``: see ``verify``)."""
    from imagelab import runs

    runs.show_progress()
    started = time.perf_counter()
    comparisons = verify(names, record=record, **options)
    print(table(comparisons))
    where = f"; appended to {record}" if record else ""
    print(f"== verify done in {time.perf_counter() - started:.0f}s{where}")
    return exit_status(comparisons)
