"""Retrain committed runs in a scratch folder and say how closely this machine reproduces them.

``imagelab verify`` (``make verify``) reruns canonical runs the way ``imagelab lab`` does (the
exercise's notebook under papermill, canonical settings), but with ``results_dir`` set to a
scratch folder, ``build/verify/<run>``, so the project's ``histories/``, ``scores/`` and
``figures/`` are only read. Each rerun gets one verdict against the committed run:

``identical``
    the score CSV and the predictions CSV are byte-identical, and so is the history CSV but for
    its ``seconds`` column (wall-clock time, different on every run);
``within seed noise``
    no further from the committed run than most pairs of float32 seed runs of that exercise
    are from each other, on test accuracy, test loss and the history's root mean square
    difference of the training-loss curve (``imagelab.judging.seed_noise``: on each, at most 1.3 times
    the farthest pair of seed runs);
``outside``
    anything else, and every run with fewer than two seed runs to judge by that is not
    identical.

The seed spread is the yardstick because it is the noise the lab's conclusions already live
with. Each rerun gets a second verdict, on the *conclusions*: the 23 answers
(``imagelab.judging.conclusions``) computed again with the rerun in the committed run's place, and
``same`` when every answer that holds on every seed run still holds, else the questions that
differ (``differ: Q10, Q17``).

``record`` appends one row per run to ``reproductions/verify.csv`` (the machine's CPU model and
the ISA features oneDNN dispatches on, the versions, the verdict and the differences), so the
report can say which machines have reproduced which runs, and by how much; the record itself
(its columns, checks, reading and merging) lives in ``imagelab.judging.reproductions``.
"""

from __future__ import annotations

import datetime as dt
import platform
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

from imagelab import machine, records
from imagelab.errors import UserError
from imagelab.judging import conclusions, reproductions, seed_noise
from imagelab.params import check_choice
from imagelab.precision import FLOAT32
from imagelab.results import store
from imagelab.results.exercises import CANONICAL_NAMES, REGISTRY
from imagelab.results.freshness import stale_reasons

DEFAULT_RUNS = ("dense_mnist", "relu_mnist")
ALL_RUNS = tuple(REGISTRY)  # the five exercises, then the Playground spiral (--all)
# Runs verify retrains when named: those, and the exercises' bfloat16 runs (<exercise>_bf16).
KNOWN_RUNS = reproductions.RUNS
PLAYGROUND = "playground_spiral"
SCRATCH = records.PROJECT_ROOT / "build" / "verify"


@dataclass(frozen=True)
class Comparison:
    """One rerun beside its committed run: the numbers verdict and the conclusions verdict."""

    run: str
    verdict: str  # on the numbers: identical, within seed noise or outside
    d_acc: float  # rerun - committed test accuracy
    d_loss: float  # rerun - committed test loss
    max_d_history: float  # largest |difference| at any (epoch, metric, data) of the history
    standing: seed_noise.Standing | None  # against the seed pairs; None without two seed runs
    conclusions: str  # 'same', 'differ: Q10, Q17', or why it was not judged
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


def seed_runs(run: str, committed_dir: Path = records.PROJECT_ROOT) -> dict[object, object]:
    """The seed runs ``run`` is judged by: the exercise's float32 runs of ``scores/seeds.csv``
    (a bfloat16 run is judged by its exercise's float32 seeds); for the Playground spiral, the
    runs of the stored search with the canonical network, test scores only (no histories)."""
    if run == PLAYGROUND:
        return _playground_runs(committed_dir)
    return seed_noise.seed_runs(CANONICAL_NAMES[run][0], committed_dir)


def _playground_runs(committed_dir: Path) -> dict[object, object]:
    from imagelab.running import playground_search

    search = playground_search.load(committed_dir)
    committed = store.load_run(PLAYGROUND, committed_dir)
    if search is None or committed is None:
        return {}
    table, settings = search[0], committed.provenance["parameters"]
    same = (
        (table["features"] == " ".join(settings["features"]))
        & (table["hidden"] == "-".join(map(str, settings["hidden"])))
        & (table["learning_rate"] == settings["learning_rate"])
        & (table["epochs"] == settings["epochs"])
    )
    runs = {
        f"search seed {row.seed}": SimpleNamespace(
            history=None, score={"acc": row.test_acc, "loss": row.test_loss}
        )
        for row in table[same].itertuples()
    }
    return runs | {"committed": SimpleNamespace(history=None, score=committed.score)}


# --- comparing ---------------------------------------------------------------------------------


def compare(
    run: str,
    committed: store.StoredRun,
    rerun: store.StoredRun,
    seeds: dict[object, object],
    seconds: float = float("nan"),
    conclusions: str = "not judged",
) -> Comparison:
    """The numbers verdict on ``rerun`` against ``committed`` (see the module docstring), with
    ``seeds`` (``seed_runs``) as the reference, and ``conclusions`` as given."""
    notes = []
    same_bytes = all(records.identical_parts(committed.files, rerun.files).values())
    keys = seed_noise.HISTORY_KEYS
    paired = committed.history[[*keys, "value"]].merge(
        rerun.history[[*keys, "value"]], on=keys, how="outer", indicator=True
    )
    unpaired = int((paired["_merge"] != "both").sum())
    difference = (paired["value_y"] - paired["value_x"]).abs()
    if unpaired:
        notes.append(f"{unpaired} history rows have no counterpart (epochs or metrics differ)")
    standing = None
    if len(seeds) >= 2:
        reference = {k: _scores_only(v) if run == PLAYGROUND else v for k, v in seeds.items()}
        pair = (
            (_scores_only(rerun), _scores_only(committed))
            if run == PLAYGROUND
            else (rerun, committed)
        )
        standing = seed_noise.judge(*pair, reference)
    if same_bytes:
        verdict = "identical"
    elif standing is not None and standing.within and not unpaired:
        verdict = "within seed noise"
    else:
        verdict = "outside"
        if standing is None:
            notes.append("fewer than two seed runs to judge by: only 'identical' can pass")
    return Comparison(
        run=run,
        verdict=verdict,
        d_acc=rerun.score["acc"] - committed.score["acc"],
        d_loss=rerun.score["loss"] - committed.score["loss"],
        max_d_history=float(difference.max()) if len(difference) else 0.0,
        standing=standing,
        conclusions=conclusions,
        seconds=seconds,
        notes=tuple(notes),
    )


def _scores_only(run: object) -> SimpleNamespace:
    """The Playground's search keeps no histories: its runs are judged on test scores only."""
    return SimpleNamespace(history=None, score=run.score)


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
    from imagelab.results.exercises import get_exercise
    from imagelab.running import runs

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
    run_names: dict[str, str] | None = None,
    parameters: dict[str, object] | None = None,
    record: Path | None = None,
    reuse: bool = False,
) -> list[Comparison]:
    """Rerun each of ``names`` into ``scratch/<run>`` and compare it with ``committed_dir``.

    ``run_names`` maps a run to the name its committed results have (default: the run's own),
    ``parameters`` go to every notebook; both are for tests on fixture data. With ``record``,
    one row per run is appended to that CSV, atomically, as each run finishes. With ``reuse``,
    a retrain already in ``scratch/<run>`` that today's training code made is judged again
    instead of retrained (after more seed runs, say).
    """
    for name in names:
        check_choice("run", name, KNOWN_RUNS)
    if record:
        reproductions.read(record)  # a damaged record stops here, not after an hour of training
    evidence = conclusions.gather(committed_dir, committed_dir / "sweeps")
    comparisons = []
    for number, name in enumerate(names, start=1):
        run_name = (run_names or {}).get(name, name)
        committed = _load(run_name, committed_dir)  # before training: a missing run stops here
        retrained = _reusable(run_name, scratch / name) if reuse else None
        if retrained is not None:
            seconds = float(retrained.provenance.get("wall_seconds") or float("nan"))
            print(
                f"== verify [{number}/{len(names)}] {name}: judging the retrain in {scratch / name}"
            )
        else:
            print(f"== verify [{number}/{len(names)}] {name}: retraining into {scratch / name}")
            seconds = rerun(name, scratch / name, committed_dir, run_name, parameters)
            retrained = _load(run_name, scratch / name)
        comparison = compare(
            name,
            committed,
            retrained,
            seed_runs(name, committed_dir),
            seconds,
            "not judged: no answer rests on it alone"
            if name == PLAYGROUND
            else conclusions.rerun_verdict(CANONICAL_NAMES[name][0], retrained, evidence),
        )
        versions = retrained.provenance["versions"]
        comparison = replace(
            comparison,
            versions={k: versions.get(k, "") for k in ("tensorflow", "keras", "numpy")},
            notes=comparison.notes + _freshness_note(name, committed),
        )
        comparisons.append(comparison)
        print(f"== verify {name}: {comparison.verdict}; conclusions {comparison.conclusions}")
        if record:
            append_record(comparison, record)
    return comparisons


def _reusable(run_name: str, folder: Path) -> store.StoredRun | None:
    """The retrain in ``folder`` when today's training code and notebook made it, else None."""
    try:
        stored = store.load_run(run_name, folder)
    except store.DamagedResult:
        return None
    if stored is None or "fingerprint" not in stored.provenance:
        return None  # the Playground keeps no fingerprint: it is always retrained
    return None if stale_reasons(stored.provenance) else stored


def _freshness_note(run: str, committed: store.StoredRun) -> tuple[str, ...]:
    """A note when the committed run would come out differently with today's code, notebook,
    libraries or data: then a difference may come from those, not from the machine."""
    if run == PLAYGROUND:  # the Playground keeps no fingerprint
        return ()
    reasons = stale_reasons(committed.provenance, exercise=CANONICAL_NAMES[run][0])
    return (f"the committed run is stale ({'; '.join(reasons)})",) if reasons else ()


# --- showing and recording -----------------------------------------------------------------------


def table(comparisons: list[Comparison]) -> str:
    """The comparisons as a plain-text table, the rule and the machine underneath."""
    header = (
        f"{'run':<23} {'numbers':<18} {'d acc':>8} {'d loss':>10} {'d train loss':>12} "
        f"{'x farthest':>10} {'conclusions':<14} {'seconds':>8}"
    )
    lines = [header, "-" * len(header)]
    for c in comparisons:
        history = c.standing.distances.get("history") if c.standing else None
        lines.append(
            f"{c.run:<23} {c.verdict:<18} {c.d_acc:>+8.4f} {c.d_loss:>+10.6f} "
            f"{'-' if history is None else f'{history:.2g}':>12} "
            f"{f'{c.standing.ratio:.2f}' if c.standing else '-':>10} {c.conclusions:<14} "
            f"{c.seconds:>8.0f}"
        )
        lines += [f"    {c.run}: {note}" for note in c.notes]
    facts = cpu_facts()
    lines.append(
        "identical: score, predictions and history (but its seconds) byte for byte; within seed "
        "noise: on test accuracy, test loss and the training-loss curve's rms difference, no farther "
        f"apart than {seed_noise.MARGIN} x the farthest pair of seed runs ('x farthest', on the worst "
        "of the three); "
        "conclusions: the answers that hold on every seed, again with the rerun."
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
    ratios = c.standing.ratios if c.standing else {}
    distances = c.standing.distances if c.standing else {}
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
        "rule": seed_noise.RULE,
        "d_history": distances.get("history", ""),
        **{f"ratio_{name}": ratios.get(name, "") for name in seed_noise.DISTANCES},
        "closer": c.standing.worst if c.standing else "",
        "conclusions": c.conclusions,
    }
    return reproductions.append(row, path)


def exit_status(comparisons: list[Comparison]) -> int:
    """0 when every run is identical or within seed noise, 1 when any is outside."""
    return 1 if any(c.verdict == "outside" for c in comparisons) else 0


def main(
    names: list[str] | tuple[str, ...] = DEFAULT_RUNS, record: Path | None = None, **options: object
) -> int:
    """Verify ``names``, print the table, return the exit status (``options``: see ``verify``)."""
    from imagelab.running import runs

    runs.show_progress()
    started = time.perf_counter()
    comparisons = verify(names, record=record, **options)
    print(table(comparisons))
    where = f"; appended to {record}" if record else ""
    print(f"== verify done in {time.perf_counter() - started:.0f}s{where}")
    return exit_status(comparisons)
