"""A run's files are one set: the manifest its provenance keeps, and the check of the set.

A run is its history, score, predictions (when its exercise keeps them), figures and
provenance (``records.RunFiles``). The provenance lists every other file of the set under
``files``, each with its size and sha256, relative to the results folder::

    "files": {"histories/relu_mnist.csv": {"bytes": 2740, "sha256": "9f2c..."}, ...}

``imagelab.results.staging`` seals a set when it publishes it (``record``); ``imagelab.results.store`` checks the
set against it on every read (``problem``): a file missing, one from another attempt or changed
since (its sha256 is not the recorded one) and a file of the run's names that the set does not
hold (a figure left by another attempt) are damage. ``tools/manifests.py`` recorded the
manifests of the runs stored before runs kept one, their files as they were.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from imagelab import records
from imagelab.results.exercises import REGISTRY, Exercise

# Every kind of figure a run of any exercise draws: a file of a run's names outside its set.
FIGURE_KINDS = tuple(dict.fromkeys(kind for e in REGISTRY.values() for kind in e.figures))
KEY = "files"  # where the provenance keeps the manifest


def members(files: records.RunFiles, exercise: Exercise) -> list[Path]:
    """The files of a run of ``exercise`` besides its provenance: its set."""
    paths = [files.history, files.score]
    paths += [files.predictions] if exercise.predictions else []
    return paths + [files.figure(kind) for kind in exercise.figures]


def names(files: records.RunFiles) -> list[Path]:
    """Every path a file of the run ``files`` could have, whatever its exercise."""
    return [files.history, files.score, files.predictions, *map(files.figure, FIGURE_KINDS)]


def key(files: records.RunFiles, path: Path) -> str:
    """``path`` as the manifest names it: relative to the results folder."""
    return Path(path).relative_to(files.results_dir).as_posix()


def digest(path: Path) -> dict[str, object]:
    """A file's entry in a manifest: its size in bytes and its sha256."""
    blob = Path(path).read_bytes()
    return {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}


def record(files: records.RunFiles, paths: list[Path]) -> dict[str, dict[str, object]]:
    """The manifest of ``paths`` (the set's members, each present) under ``files``."""
    return {key(files, path): digest(path) for path in paths}


def seal(files: records.RunFiles, paths: list[Path]) -> dict:
    """Record the manifest of ``paths`` into the provenance of ``files`` (rewritten atomically)
    and return it: for a set written in place, not staged (the Playground search's table),
    and for runs stored before runs kept a manifest (``tools/manifests.py``)."""
    import json

    provenance = json.loads(files.provenance.read_bytes())
    provenance[KEY] = record(files, paths)
    records.write_json(provenance, files.provenance)
    return provenance


def refresh(files: records.RunFiles, path: Path) -> None:
    """Record the new bytes of ``path``, a figure of the run ``files`` drawn again from its own
    stored results (``imagelab figures``), in the run's manifest: the same set, drawn by
    today's plot code. Written after the figure; a kill between the two leaves a mismatch the
    store names, and `imagelab figures` run again mends it."""
    import json

    provenance = json.loads(files.provenance.read_bytes())
    if KEY in provenance:
        provenance[KEY][key(files, path)] = digest(path)
        records.write_json(provenance, files.provenance)


def problem(
    files: records.RunFiles, manifest: object, paths: list[Path]
) -> tuple[Path, str] | None:
    """The first way the files on disk break the set ``paths`` that the provenance's
    ``manifest`` records: (the file to name, the problem in words that follow its name); None
    when the set is whole and is the one recorded."""
    shown = records.relative(files.provenance)
    if manifest is None:
        return files.provenance, (
            "has no manifest of the run's files (the key files), so no one can tell whether "
            "they are one run's; a run stored before runs kept one gains it with `python "
            "tools/manifests.py FOLDER`, which records its files as they are"
        )
    wanted = {key(files, path): path for path in paths}
    entries = _entries_problem(manifest)
    if entries:
        return files.provenance, entries
    unknown = sorted(set(manifest) - set(wanted))
    if unknown:
        return files.provenance, (
            f"lists {unknown[0]} among the run's files, which is not one of them (they are "
            f"{', '.join(wanted)})"
        )
    unlisted = sorted(set(wanted) - set(manifest))
    if unlisted:
        return files.provenance, f"does not list {unlisted[0]} among the run's files"
    for name, path in wanted.items():
        if not path.is_file():
            return path, f"is missing, while {shown} lists it among the run's files"
        found, recorded = digest(path), manifest[name]
        if found != recorded:
            shorter = found["bytes"] < recorded["bytes"]
            what = (
                f"{found['bytes']} bytes where it recorded {recorded['bytes']}"
                + (": cut short, or" if shorter else ":")
                if found["bytes"] != recorded["bytes"]
                else f"sha256 {found['sha256'][:12]}... where it recorded "
                f"{recorded['sha256'][:12]}...:"
            )
            return path, (
                f"is not the file {shown} recorded ({what} another attempt's file, or one "
                "changed since)"
            )
    for path in names(files):
        if path.is_file() and key(files, path) not in wanted:
            return path, (
                f"is not one of the run's files ({shown} lists {', '.join(wanted)}): another "
                f"attempt left it; delete it (`rm {records.relative(path)}`)"
            )
    return None


def _entries_problem(manifest: object) -> str | None:
    if not isinstance(manifest, dict):
        return f"holds files = {str(manifest)[:40]!r}, which must be an object of the run's files"
    for name, entry in manifest.items():
        if not (
            isinstance(entry, dict)
            and set(entry) == {"bytes", "sha256"}
            and isinstance(entry["bytes"], int)
            and not isinstance(entry["bytes"], bool)
            and entry["bytes"] >= 0
            and isinstance(entry["sha256"], str)
            and len(entry["sha256"]) == 64
            and all(c in "0123456789abcdef" for c in entry["sha256"])
        ):
            return (
                f"holds files.{name} = {str(entry)[:40]!r}, which must be an object of bytes "
                "(an integer >= 0) and sha256 (64 hex digits)"
            )
    return None
