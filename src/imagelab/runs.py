"""Run exercise notebooks headlessly with papermill, skipping the ones already up to date."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from imagelab.exercises import EXERCISES, get_exercise, notebook_defaults, run_state
from imagelab.records import PROJECT_ROOT

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


def show_progress() -> None:
    """Stream what notebooks print (epoch lines) to the terminal while papermill runs them."""
    handler = logging.StreamHandler()
    handler.addFilter(_CellOutputOnly())
    handler.setFormatter(logging.Formatter("%(message)s"))
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
    """
    import papermill
    from traitlets.config import Config

    output.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters=parameters,
        kernel_name=KERNEL,
        log_output=log_output,
        progress_bar=False,
        cwd=str(PROJECT_ROOT),
        config=Config({"KernelManager": {"transport": "ipc"}}),
    )


def lab(
    names: list[str] | None = None, force: bool = False, missing_only: bool = False
) -> list[str]:
    """Run the canonical exercises whose results are missing or stale; return those run.

    Without ``names`` this is the whole lab: the five exercises, then the Playground spiral
    (exercise three) when its results are missing.

    ``force`` reruns every one; ``missing_only`` runs only those with no results at all (what
    ``make report`` needs), leaving stale ones alone.
    """
    names_given, names = bool(names), names or list(EXERCISES)
    for name in names:
        get_exercise(name)
    show_progress()
    ran, started = [], time.perf_counter()
    for number, name in enumerate(names, start=1):
        params = notebook_defaults(name) | {"force": force}
        state, _ = run_state(name, params)
        skip = state == "up-to-date" or (missing_only and state != "missing")
        elapsed = f"{time.perf_counter() - started:.0f}s"
        if skip and not force:
            print(f"== [{number}/{len(names)}] {name}: results {state}, skipped ({elapsed})")
            continue
        print(
            f"== [{number}/{len(names)}] {name}: results {state}, running "
            f"notebooks/{get_exercise(name).notebook} ({elapsed} elapsed)",
            flush=True,
        )
        execute(get_exercise(name).notebook_path, BUILD / f"{name}.ipynb", {"force": force})
        ran.append(name)
    if not names_given and (force or not _playground_done()):
        print(
            "== playground_spiral: results missing, running notebooks/06_playground_spiral.ipynb "
            "with its search (a few minutes)",
            flush=True,
        )
        execute(PLAYGROUND, BUILD / "playground_spiral.ipynb", {"search": True})
        ran.append("playground_spiral")
    print(f"== lab done in {time.perf_counter() - started:.0f}s: ran {ran or 'nothing'}")
    return ran


PLAYGROUND = PROJECT_ROOT / "notebooks" / "06_playground_spiral.ipynb"


def _playground_done() -> bool:
    """Exercise three is run when its results are missing (it has no fingerprint check)."""
    from imagelab.records import run_files

    return all(
        run_files(name).provenance.is_file() for name in ("playground_spiral", "playground_search")
    )


def collect_seeds(
    sweeps_dir: Path = PROJECT_ROOT / "sweeps", results_dir: Path | None = None
) -> Path:
    """Write scores/seeds.csv: every finished run whose settings are an exercise's canonical
    ones but for the seed (from the sweeps and the canonical runs), with its test score.

    Only runs trained by the current training code and notebook count (their provenance
    fingerprint matches): a spread mixing two training procedures would compare nothing.
    """
    import pandas as pd

    from imagelab.exercises import settings_of, trained_by_current_code
    from imagelab.records import read_provenance, run_files, write_csv

    canonical = {
        name: {k: v for k, v in settings_of(notebook_defaults(name)).items() if k != "seed"}
        for name in EXERCISES
    }
    candidates = [run_files(name, results_dir).provenance for name in EXERCISES]
    candidates += sorted(sweeps_dir.glob("*/scores/*.json"))
    rows, stale = [], []
    for path in filter(Path.is_file, candidates):
        provenance = read_provenance(path)
        settings = {k: v for k, v in provenance["parameters"].items() if k != "seed"}
        for name, wanted in canonical.items():
            # Judged by the notebook that ran it: exercise 1's sweeps give ReLU seeds too.
            if settings == wanted and not trained_by_current_code(provenance):
                stale.append(_relative(path))
            elif settings == wanted:
                rows.append(
                    {
                        "run": name,
                        "seed": provenance["seed"],
                        "loss": provenance["score"]["loss"],
                        "acc": provenance["score"]["acc"],
                        "source": _relative(path),
                    }
                )
    table = pd.DataFrame(rows, columns=["run", "seed", "loss", "acc", "source"])
    table = table.drop_duplicates(["run", "seed"]).sort_values(["run", "seed"])
    if stale:
        print(f"seeds: left out {len(stale)} run(s) trained by older code: {', '.join(stale)}")
    return write_csv(table, run_files("seeds", results_dir).score)


def _relative(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)
