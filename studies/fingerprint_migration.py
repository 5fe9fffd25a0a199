"""Migrate committed results from fingerprint version 2 (``ast.dump``) to version 3 (``render``).

Version 2 hashed ``ast.dump`` of the training code and the notebook, whose text differs between
Python 3.11, 3.12 and 3.13 for the same code: on 3.12 or 3.13 every committed run looked stale.
Version 3 hashes ``imagelab.results.fingerprint.render``, the same text on every Python from 3.11 (the
matrix, ``make matrix``, checks it). (Version 1, the files' text, was migrated to version 2 by
this script's first form, at commit 4f4e068 and before: ``git log -- studies/fingerprint_migration.py``.)

A result keeps "up to date" only if it honestly is. For every committed provenance (the
canonical scores/*.json and sweeps/*/scores/*.json) this script reads the files of the commit
that trained it (``git show COMMIT:PATH``) and checks, in order:

1. that commit was clean (``git.dirty`` false) and its files give the run's stored version-2
   fingerprint, computed here as it was then (``ast.dump`` on Python 3.11, the Python every
   committed run recorded), so they are the code that trained it;
2. the version-3 fingerprint of those files means what today's does (``differences``, with
   ``SAME_NUMBERS`` in version-3 hashes).

A run passing both gets the version-3 fingerprint *of its own commit's files* written into its
provenance (atomically; the version-2 one kept under ``fingerprint_v2``), so a run trained before
a ``SAME_NUMBERS`` change stays recorded as trained by the older code. Any other run stays stale
until retrained. Also prints, for each ``SAME_NUMBERS`` entry, the version-2 hashes of the code at
its two ends, so the version-3 entry can be checked against the version-2 one it replaces.

    PYTHONPATH=src .venv/bin/python studies/fingerprint_migration.py [--write]
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from imagelab import records
from imagelab.results import fingerprint
from imagelab.results.exercises import get_exercise
from imagelab.running.playground_search import SEARCH_CODE

ROOT = records.PROJECT_ROOT
OLD_VERSION = 2
# The version-2 SAME_NUMBERS entry (commit 4f4e068): hash before -> hash after, and the
# commits whose code they hash (the change, 594ab0d, and its parent).
V2_SAME_NUMBERS = {
    "aaf75d426c5c9f5c17360b655cfbdaa4f2514319c5e28c12f8a8d29a7293238f": (
        "49704f4dd5a2b870ff31e798f7290b0d7463bf9fa2ca07f4b460e435ab50e535",
        ("594ab0d~1", "594ab0d"),
    ),
}
NOTEBOOK, CODE = "notebooks/02_relu_mnist.ipynb", get_exercise("relu_mnist").training_code


@cache
def show(commit: str, path: str) -> str:
    """A file's text at ``commit``."""
    return subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


@contextmanager
def version_2() -> Iterator[None]:
    """Within this block, ``fingerprint`` computes version 2: ``ast.dump`` as the normal form."""
    render, version = fingerprint.render, fingerprint.VERSION
    fingerprint.render = lambda node: ast.dump(node, include_attributes=False)
    fingerprint.VERSION = OLD_VERSION
    try:
        yield
    finally:
        fingerprint.render, fingerprint.VERSION = render, version


def fingerprint_at(commit: str, notebook: str, code: tuple[str, ...]) -> dict:
    return fingerprint.fingerprint(notebook, code, read=lambda p: show(commit, p))


def check(path: Path) -> tuple[dict, str, str, dict | None]:
    """(provenance, commit, verdict, new fingerprint or None) for one committed provenance."""
    provenance = json.loads(path.read_text())
    commit = str(provenance.get("git", {}).get("commit"))
    stored = provenance.get("fingerprint") or {}
    if stored.get("version") == fingerprint.VERSION:
        return provenance, commit, f"already version {fingerprint.VERSION}", None
    if provenance["git"].get("dirty") is not False:
        return provenance, commit, "stale: trained from uncommitted changes", None
    kind = get_exercise(provenance["exercise"])
    notebook, code = f"notebooks/{kind.notebook}", kind.training_code
    if path.name == "playground_search.json":  # the search hashes its own loop too
        code += SEARCH_CODE
    with version_2():
        then = fingerprint_at(commit, notebook, code)
    if then != stored:
        return provenance, commit, "stale: the commit's files are not what trained it", None
    new = fingerprint_at(commit, notebook, code)
    changed = fingerprint.differences(new, fingerprint.fingerprint(notebook, code))
    if changed:
        return provenance, commit, f"stale: {'; '.join(changed)}", None
    return provenance, commit, "match", new


def main(write: bool) -> int:
    if sys.version_info[:2] != (3, 11):
        print("run this with Python 3.11: version 2 is ast.dump as Python 3.11 wrote it")
        return 2
    paths = sorted((ROOT / "scores").glob("*.json"))
    paths += sorted((ROOT / "sweeps").glob("*/scores/*.json"))
    print(f"{'run':<52} {'commit':<10} {'code (v3)':<12} result")
    counts: dict[str, int] = {}
    for path in paths:
        provenance, commit, verdict, new = check(path)
        counts[verdict.split(":")[0]] = counts.get(verdict.split(":")[0], 0) + 1
        code = (new or {}).get("code_sha256", "")[:10]
        print(f"{str(path.relative_to(ROOT)):<52} {commit[:10]:<10} {code:<12} {verdict}")
        if new is not None and write:
            provenance["fingerprint_v2"] = provenance["fingerprint"]
            provenance["fingerprint"] = new
            records.write_json(provenance, path)
    print(", ".join(f"{count} {verdict}" for verdict, count in counts.items()))
    for v2_before, (v2_after, commits) in V2_SAME_NUMBERS.items():
        hashes = []
        for v2_hash, commit in zip((v2_before, v2_after), commits, strict=True):
            with version_2():
                assert fingerprint_at(commit, NOTEBOOK, CODE)["code_sha256"] == v2_hash, commit
            hashes.append(fingerprint_at(commit, NOTEBOOK, CODE)["code_sha256"])
        entry = fingerprint.SAME_NUMBERS.get(hashes[0], {})
        verdict = "matches" if entry.get("now") == hashes[1] else "MISSING in"
        print(f"SAME_NUMBERS v2 {v2_before[:12]} -> {v2_after[:12]} is v3 {hashes[0][:12]} ->")
        print(f"  {hashes[1][:12]} ({' and '.join(commits)}): {verdict} fingerprint.SAME_NUMBERS")
    print("written" if write else "nothing written (pass --write)")
    return 0


if __name__ == "__main__":
    sys.exit(main("--write" in sys.argv[1:]))
