"""Migrate committed results from the text fingerprint (version 1) to the fingerprint by meaning.

Version 1 hashed the text of data.py, models.py and training.py, so a docstring edit or `ruff
format` marked every result stale. Version 2 (imagelab.fingerprint) hashes a normal form of the
code that decides a run's numbers, the notebook's code up to `run.fit`, and the pinned versions
of tensorflow, keras and numpy.

A result keeps "up to date" only if it honestly is. For every committed provenance (the
canonical scores/*.json and sweeps/*/scores/*.json) this script reads the files of the commit
that trained it (`git show COMMIT:PATH`) and checks, in order:

1. that commit was clean (`git.dirty` false) and its files give the run's stored version-1
   fingerprint, so they are the code that trained it;
2. the pinned tensorflow/keras/numpy of that commit's requirements.lock are the versions the
   run recorded;
3. the version-2 fingerprint of those files equals today's.

A run passing all three gets today's fingerprint written into its provenance (atomically; the
old one kept under `fingerprint_v1`); any other stays stale until retrained. Prints the table.

    PYTHONPATH=src .venv/bin/python studies/fingerprint_migration.py [--write]
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

from imagelab import fingerprint, records
from imagelab.exercises import EXERCISES

ROOT = records.PROJECT_ROOT
V1_CODE = ("data.py", "models.py", "training.py")


@cache
def show(commit: str, path: str) -> str:
    """A file's text at ``commit``."""
    return subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def v1_fingerprint(commit: str, notebook: str) -> dict[str, str]:
    """The version-1 fingerprint (text hashes) of the files at ``commit``."""
    cells = []
    for cell in json.loads(show(commit, notebook))["cells"]:
        if cell["cell_type"] == "code" and "parameters" not in cell["metadata"].get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cells.append(source)
            if "run.fit(" in source:
                break
    return {
        "notebook_sha256": records.sha256_text(*cells),
        "code_sha256": records.sha256_text(*(show(commit, f"src/imagelab/{f}") for f in V1_CODE)),
    }


def check(path: Path) -> tuple[dict, str, str, dict | None]:
    """(provenance, commit, verdict, new fingerprint or None) for one committed provenance."""
    provenance = json.loads(path.read_text())
    commit = str(provenance.get("git", {}).get("commit"))
    exercise = EXERCISES.get(provenance.get("exercise"))
    if exercise is None:
        return provenance, commit, "not an exercise run (no fingerprint)", None
    stored = provenance.get("fingerprint") or {}
    if stored.get("version") == fingerprint.VERSION:
        return provenance, commit, "already version 2", None
    notebook = f"notebooks/{exercise.notebook}"
    if provenance["git"].get("dirty") is not False:
        return provenance, commit, "stale: trained from uncommitted changes", None
    if v1_fingerprint(commit, notebook) != stored:
        return provenance, commit, "stale: the commit's files are not what trained it", None
    at_commit = fingerprint.fingerprint(notebook, read=lambda p: show(commit, p))
    recorded = {k: provenance["versions"].get(k) for k in at_commit["libraries"]}
    if recorded != at_commit["libraries"]:
        return provenance, commit, f"stale: ran {recorded}, pinned {at_commit['libraries']}", None
    today = fingerprint.fingerprint(notebook)
    if at_commit != today:
        changed = fingerprint.differences(at_commit, today)
        return provenance, commit, f"stale: {'; '.join(changed)}", None
    return provenance, commit, "match", today


def main(write: bool) -> int:
    paths = [p for p in sorted((ROOT / "scores").glob("*.json"))]
    paths += sorted((ROOT / "sweeps").glob("*/scores/*.json"))
    print(f"{'run':<52} {'commit':<10} result")
    counts: dict[str, int] = {}
    for path in paths:
        provenance, commit, verdict, new = check(path)
        counts[verdict.split(":")[0]] = counts.get(verdict.split(":")[0], 0) + 1
        print(f"{str(path.relative_to(ROOT)):<52} {commit[:10]:<10} {verdict}")
        if new is not None and write:
            provenance["fingerprint_v1"] = provenance["fingerprint"]
            provenance["fingerprint"] = new
            records.write_json(provenance, path)
    print(", ".join(f"{count} {verdict}" for verdict, count in counts.items()))
    print("written" if write else "nothing written (pass --write)")
    return 0


if __name__ == "__main__":
    sys.exit(main("--write" in sys.argv[1:]))
