"""Give stored runs the manifest of their files (issue 35), without retraining them.

Runs stored before a run's provenance listed its files (``files``: each with its size and
sha256, ``imagelab.results.manifest``) cannot be checked as one set, so the store refuses them. Their
files are what they are: this records them. For every run under each results folder (its
``scores/*.json``; the Playground search's table too), a run that already has its manifest is
checked and left alone; one without it gains it, and is then read back through the store, every
check included: a run whose files are damaged, incomplete (a figure missing) or not one run's
keeps its provenance unchanged and is named, to be retrained or restored from git first.

Re-runnable and idempotent: run it again after new runs arrive (a sweep trained by code older
than the manifest); runs recorded before are only checked, and nothing is rewritten.

    .venv/bin/python tools/manifests.py [FOLDER ...]

Without folders: the project's own results and every sweep's (``sweeps/*/``). Prints one line
per run and a summary; exits 1 when a run could not be recorded or is damaged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from imagelab import records
from imagelab.errors import UserError
from imagelab.results import manifest, store
from imagelab.results.exercises import REGISTRY
from imagelab.running import playground_search

SIDE_TABLES = ("seeds",)  # scores/<name>.csv files that are no run's


def folders(named: list[str]) -> list[Path]:
    """The results folders to visit: those named, or the project's and every sweep's."""
    if named:
        return [Path(folder) for folder in named]
    root = records.PROJECT_ROOT
    return [root, *sorted(p for p in (root / "sweeps").iterdir() if (p / "scores").is_dir())]


def runs_in(folder: Path) -> list[str]:
    """The run names with a provenance under ``folder``."""
    return sorted(path.stem for path in (folder / "scores").glob("*.json"))


def _members(files: records.RunFiles, provenance: dict) -> list[Path]:
    if files.run_name == playground_search.RUN_NAME:
        return [files.score]
    return manifest.members(files, REGISTRY[provenance["exercise"]])


def _load(name: str, folder: Path) -> object:
    if name == playground_search.RUN_NAME:
        return playground_search.load(folder)
    return store.load_run(name, folder)


def record(name: str, folder: Path) -> tuple[str, str]:
    """Record (or check) the manifest of the run ``name`` under ``folder``: ('recorded' |
    'had one' | 'refused', why)."""
    files = records.run_files(name, folder)
    raw = files.provenance.read_bytes()
    try:
        provenance = json.loads(raw)
        had = isinstance(provenance, dict) and manifest.KEY in provenance
        if not had:
            members = _members(files, provenance)
            missing = [records.relative(p) for p in members if not p.is_file()]
            if missing:
                return "refused", f"{', '.join(missing)} missing: its set is not whole"
            manifest.seal(files, members)
        _load(name, folder)  # every check of the store, the new manifest's included
    except (UserError, ValueError, KeyError, TypeError) as error:
        if not had:
            with records.atomic_path(files.provenance) as tmp:  # as it was: nothing recorded
                tmp.write_bytes(raw)
        return "refused", str(error)
    return ("had one" if had else "recorded"), ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", help="results folders (default: project, sweeps)")
    args = parser.parse_args(argv)
    counts = {"recorded": 0, "had one": 0, "refused": 0}
    for folder in folders(args.folders):
        for name in runs_in(folder):
            if name in SIDE_TABLES:
                continue
            outcome, why = record(name, folder)
            counts[outcome] += 1
            shown = records.relative(records.run_files(name, folder).provenance)
            print(f"{outcome:9} {shown}" + (f": {why}" if why else ""))
    print(
        f"{counts['recorded']} manifests recorded, {counts['had one']} runs had theirs (checked), "
        f"{counts['refused']} refused"
    )
    return 1 if counts["refused"] else 0


if __name__ == "__main__":
    sys.exit(main())
