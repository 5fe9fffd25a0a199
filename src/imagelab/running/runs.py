"""Run exercise notebooks headlessly with papermill, skipping the ones already up to date."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from imagelab import precision, records
from imagelab.errors import UserError
from imagelab.records import PROJECT_ROOT, relative, run_files
from imagelab.results import store, tables
from imagelab.results.exercises import EXERCISES, PLAYGROUND, get_exercise, notebook_defaults
from imagelab.results.freshness import freshness, stale_reasons

BUILD = PROJECT_ROOT / "build" / "notebooks"
KERNEL = "imagelab"


class _CellOutputOnly(logging.Filter):
    """Keep the kernel's own output in papermill's log, drop its cell start/end banners."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(
            (
                "Executing Cell",
                "Ending Cell",
                "Executing notebook",
                "Input Notebook",
                "Output Notebook",
                "Working directory",
            )
        )


class _PlainText(logging.Formatter):
    """A cell's output as plain text: the colour codes Keras's model summary prints are for
    a notebook's screen, not for a terminal log or a log file (make matrix's verify.log)."""

    CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

    def format(self, record: logging.LogRecord) -> str:
        return self.CODES.sub("", super().format(record))


def show_progress() -> None:
    """Stream what notebooks print (epoch lines) to the terminal while papermill runs them."""
    handler = logging.StreamHandler()
    handler.addFilter(_CellOutputOnly())
    handler.setFormatter(_PlainText("%(message)s"))
    logger = logging.getLogger("papermill")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def execute(
    notebook: Path, output: Path, parameters: dict[str, object], log_output: bool = True
) -> None:
    """Execute one notebook with papermill; the executed copy is written even when it fails.

    ``log_output`` streams what the cells print to papermill's log (see ``show_progress``).
    The kernel talks over local IPC sockets, not TCP (ipykernel warns about unencrypted TCP).
    Each execution gets sockets in a folder of its own: jupyter_client's default names them
    ``kernel-ipc-N`` in the working directory, where two notebooks run at once (``sweep
    --jobs 2``) would take each other's sockets.
    """
    import papermill
    from traitlets.config import Config

    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="imagelab-kernel-") as sockets:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL,
            log_output=log_output,
            progress_bar=False,
            cwd=str(PROJECT_ROOT),
            config=Config(
                {"KernelManager": {"transport": "ipc", "ip": str(Path(sockets) / "kernel")}}
            ),
        )


def lab(
    names: list[str] | None = None,
    force: bool = False,
    dry_run: bool = False,
    number_format: str = precision.FLOAT32,
    left_out: Callable[[str, str], bool] | None = None,
) -> list[str]:
    """Run the canonical exercises whose results are missing, stale or damaged; return the
    run names run (with ``dry_run``, those that would run, and nothing runs; then a damaged
    result raises a UserError once every state is printed, so the check exits non-zero).

    Without ``names`` this is the whole lab: the five exercises, then the Playground spiral
    (exercise three) with its search when that is not up to date. ``force`` reruns every one.
    In bfloat16 (``number_format``) it is the five Keras exercises under their ``_bf16`` names.
    """
    bf16 = number_format != precision.FLOAT32
    chosen = bool(names)
    names = names or [*EXERCISES] + ([] if bf16 else [PLAYGROUND.name])
    for name in names:
        get_exercise(name)
        if bf16 and name not in EXERCISES:
            raise UserError(f"{name} trains in float32 only; the bfloat16 lab is {list(EXERCISES)}")
    if bf16 and not chosen and left_out is not None:  # the judges' word (the CLI passes it)
        names = [name for name in names if not left_out(name, number_format)]
    if not dry_run:
        precision.check(number_format)
        show_progress()
    print(data_line())
    ran, damaged, started = [], [], time.perf_counter()
    for number, name in enumerate(names, start=1):
        run_name = precision.canonical_name(name, number_format)
        if name == PLAYGROUND.name:  # its state weighs its search too, which it may rerun
            from imagelab.running import playground_run

            state, why, parameters = playground_run.lab_state()
        else:
            (state, why), parameters = describe_state(name, number_format), {}
            parameters |= {"precision": number_format, "run_name": run_name} if bf16 else {}
        elapsed = f"{time.perf_counter() - started:.0f}s"
        damaged += [name] if state == "damaged" else []
        if state == "up-to-date" and not force:
            print(f"== [{number}/{len(names)}] {run_name}: results {state}, skipped ({elapsed})")
            continue
        print(
            f"== [{number}/{len(names)}] {run_name}: results {state}{why}, "
            f"{'would run' if dry_run else 'running'} notebooks/{get_exercise(name).notebook} "
            f"({elapsed} elapsed)",
            flush=True,
        )
        if not dry_run:
            # A damaged result is replaced, as its message promised; so is any with --force.
            parameters = parameters | {"force": force or state == "damaged"}
            parameters |= {"search": True} if force and "search" in parameters else {}
            execute(get_exercise(name).notebook_path, BUILD / f"{run_name}.ipynb", parameters)
        ran.append(run_name)
    done = "would run" if dry_run else f"lab done in {time.perf_counter() - started:.0f}s: ran"
    print(f"== {done} {ran or 'nothing'}")
    if dry_run and damaged:  # a check that passes over damage would call the lab fine
        raise UserError(
            f"damaged results: {', '.join(damaged)} (each named above with its fix); `imagelab "
            f"lab {' '.join(damaged)}{' --precision bf16' if bf16 else ''}` retrains them"
        )
    return ran


def data_line() -> str:
    """Where the data of the runs about to train comes from, in one line."""
    import os

    from imagelab import data

    folder = data.data_dir()
    if folder is None:
        return (
            "== data: keras.datasets, downloaded once into ~/.keras/datasets (needs internet): "
            f"{data.DATA_ENV} is unset and the project's default folder ([tool.imagelab] data "
            "in pyproject.toml) is absent; `imagelab data info` shows what is found"
        )
    given = os.environ.get(data.DATA_ENV)
    why = f"{data.DATA_ENV}={given}" if given else "the project's default, [tool.imagelab] data"
    return f"== data: {folder} ({why})"


def describe_state(name: str, number_format: str = precision.FLOAT32) -> tuple[str, str]:
    """A canonical run's state ('missing', 'up-to-date', 'stale', 'different' or 'damaged')
    and why, in words (': the training code has changed since'; empty when there is no why)."""
    params = notebook_defaults(name) | {
        "precision": number_format,
        "run_name": precision.canonical_name(name, number_format),
    }
    try:
        fresh = freshness(name, params)
        if fresh.stored is not None:
            tables.check_run_figures(fresh.stored)  # a figure that does not decode is damage too
    except store.DamagedResult as error:
        return "damaged", f" ({error})"
    return fresh.state, fresh.because()


def collect_seeds(
    sweeps_dir: Path = PROJECT_ROOT / "sweeps", results_dir: Path | None = None
) -> Path:
    """Write scores/seeds.csv: every finished run whose settings are an exercise's canonical
    ones but for the seed (from the sweeps and the canonical runs), with its test score.

    Only runs on the verified data (by content: ``data.canonical_differences``) and up to
    date with today's training code, notebook and pinned libraries count (the notebook that ran
    each, so exercise 1's sweeps give ReLU seeds too): a spread mixing two data sets or training
    procedures would compare nothing. Damaged runs are left out and named.
    """
    import pandas as pd

    from imagelab.data import canonical_differences
    from imagelab.records import write_csv
    from imagelab.results.exercises import settings_of

    canonical = {
        name: {k: v for k, v in settings_of(notebook_defaults(name)).items() if k != "seed"}
        for name in EXERCISES
    }
    candidates = [(name, results_dir) for name in EXERCISES]
    candidates += [(p.stem, p.parent.parent) for p in sorted(sweeps_dir.glob("*/scores/*.json"))]
    rows, stale, damaged, other_data = [], [], [], []
    for run_name, folder in candidates:
        try:
            stored = store.load_run(run_name, folder)
        except store.DamagedResult as error:
            damaged.append(str(error))
            continue
        if stored is None:
            continue
        provenance = stored.provenance
        settings = {k: v for k, v in provenance["parameters"].items() if k != "seed"}
        source = relative(stored.files.provenance)
        for name, wanted in canonical.items():
            if settings != wanted:
                continue
            data = provenance["data"]
            if canonical_differences(data["dataset"], data.get("checksums"), data):
                other_data.append(source)  # a spread of the canonical run is on its data
            elif stale_reasons(provenance):
                stale.append(source)
            else:
                rows.append(
                    {
                        "run": name,
                        "seed": provenance["seed"],
                        "loss": stored.score["loss"],
                        "acc": stored.score["acc"],
                        "source": source,
                    }
                )
    table = pd.DataFrame(rows, columns=["run", "seed", "loss", "acc", "source"])
    table = table.drop_duplicates(["run", "seed"]).sort_values(["run", "seed"])
    if stale:
        print(f"seeds: left out {len(stale)} run(s) that are not up to date: {', '.join(stale)}")
    if other_data:
        print(
            f"seeds: left out {len(other_data)} run(s) not on the verified data: "
            f"{', '.join(other_data)}"
        )
    for message in damaged:
        print(f"seeds: left out a damaged run: {message}")
    return write_csv(table, run_files("seeds", results_dir).score)


def check_results(allow_missing: bool = False) -> list[str]:
    """Before the report: every canonical result present and readable, else a UserError naming
    each missing or damaged run, its expected training time and ``make lab``.

    The report never trains. With ``allow_missing`` the problems are printed and returned and
    the report goes on without those runs. Stale results do not stop it (it marks them).
    """
    problems = []
    for name in EXERCISES:
        state, why = describe_state(name)
        if state in ("missing", "damaged"):
            expected = expected_seconds(name)
            took = (
                f"; training it takes about {_minutes(expected[0])} (from {expected[1]})"
                if expected
                else ""
            )
            problems.append(f"{name}: results {state}{why}{took}")
    if problems and not allow_missing:
        raise UserError(
            "the report needs every canonical result, and "
            + "; ".join(problems)
            + ". Run `make lab` (or `imagelab lab NAME`) to train them, or pass --allow-missing "
            "to render the report without them."
        )
    for problem in problems:
        print(f"== report: going on without {problem}")
    return problems


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


BENCHMARK = tables.BENCHMARK_FILE


def expected_seconds(exercise: str) -> tuple[float, str] | None:
    """How long training ``exercise`` is expected to take here, and where that comes from:
    the wall time of its last committed run, else the benchmark's seconds per epoch times
    its epochs. None when neither knows."""
    path = relative(run_files(exercise).provenance)
    try:
        shown = subprocess.run(
            ["git", "show", f"HEAD:{path}"],
            cwd=records.PROJECT_ROOT,  # the root `relative` named the path from
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return float(json.loads(shown)["wall_seconds"]), f"its committed run, {path}"
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError, TypeError):
        pass
    try:
        bench = tables.read_benchmark(BENCHMARK).set_index("name")["value"]
        per_epoch = float(bench[f"{exercise}/imagelab_epoch"])
    except (OSError, ValueError, KeyError, AttributeError):  # damaged or absent: no estimate
        return None
    epochs = notebook_defaults(exercise)["epochs"]
    return per_epoch * epochs, f"{epochs} epochs of {per_epoch:.1f} s in {relative(BENCHMARK)}"
