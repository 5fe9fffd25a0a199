"""A run's files are one set or none: kill a publish at every point, and fill the disk at
several sizes, and look at what is left (issue 35).

``kill``: a stored run (the committed relu_mnist, as run "mine") is published over by a run of
other settings (relu_seeds' seed 4, with force) in a forked process that SIGKILLs itself at
the n-th point of the publish (``imagelab.results.staging._step``), for every n; then the store reads
the run (finishing a publish the kill interrupted) and the files on disk are compared with the
old set and the new one. ``disk``: the same publish on a tmpfs of each size (as root; elsewhere
a byte budget on every atomic write stands in for it), where the message must say what is left.
Each prints one line: how many points or sizes, and what each left; exit 1 if any left a mix.

    .venv/bin/python studies/publish_faults.py kill|disk

``studies/bad_input_kit`` runs both as cases of the bad-input study; ``tests/test_publish.py``
uses the same helpers.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from imagelab import records
from imagelab.results import exercises, manifest, staging, store

RUN = "mine"
# Two stored runs of relu_mnist: the canonical one (seed 2019) and a sweep's (seed 4).
CANONICAL = records.run_files("relu_mnist")
SEED4 = records.run_files(
    "epochs-12_seed4-80f0bcb5", records.PROJECT_ROOT / "sweeps" / "relu_seeds"
)
DISK_SIZES_KIB = (280, 320, 360, 420, 460, 480, 500, 540, 640)
BUDGETS_KIB = (0, 3, 95, 120, 200, 400)  # the simulated disk's


def source_set(source: records.RunFiles, slower: float = 0.0) -> dict[str, bytes]:
    """The files of a stored run as RUN's set would hold them (name -> bytes), its history's
    seconds ``slower``, and its provenance (without manifest and attempt) under "provenance"."""
    target = records.run_files(RUN, Path("/"))
    kind = exercises.get_exercise("relu_mnist")
    files = {}
    for path, into in zip(manifest.members(source, kind), manifest.members(target, kind),
                          strict=True):  # fmt: skip
        files[manifest.key(target, into)] = path.read_bytes()
    provenance = json.loads(source.provenance.read_bytes())
    for key in (manifest.KEY, "attempt"):
        provenance.pop(key, None)
    if slower:  # a rerun: the same numbers, other seconds
        history = pd.read_csv(source.history)
        history["seconds"] += slower
        files["histories/mine.csv"] = history.to_csv(index=False).encode()
        provenance["epoch_seconds"] = [s + slower for s in provenance["epoch_seconds"]]
        provenance["train_seconds"] += 12 * slower
        provenance["wall_seconds"] += 12 * slower
        finished = dt.datetime.fromisoformat(provenance["finished"])
        provenance["finished"] = (finished + dt.timedelta(seconds=12 * slower)).isoformat()
    return files | {"provenance": json.dumps(provenance | {"run_name": RUN}).encode()}


def publish(attempt: staging.Attempt, files: dict[str, bytes]) -> None:
    """What Run.fit does: stage the set, then publish it with its provenance."""
    with attempt.writing() as staged:
        for name, blob in files.items():
            if name != "provenance":
                with records.atomic_path(staged.results_dir / name) as tmp:
                    tmp.write_bytes(blob)
        attempt.publish(json.loads(files["provenance"]))


def on_disk(results_dir: Path) -> dict[str, str]:
    """sha256 of every published file (the staging folder aside)."""
    return {
        str(path.relative_to(results_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(results_dir.rglob("*"))
        if path.is_file() and staging.STAGING not in path.parts
    }


def expected(files: dict[str, bytes]) -> dict[str, str]:
    """What ``published_set`` shows once ``files`` are published whole."""
    return {name: hashlib.sha256(blob).hexdigest() for name, blob in files.items()
            if name != "provenance"}  # fmt: skip


def published_set(results_dir: Path) -> dict[str, str]:
    """The files on disk but the provenance, after the store has read (and checked) the run."""
    if store.load_run(RUN, results_dir) is None:
        return {}
    return {k: v for k, v in on_disk(results_dir).items() if k != f"scores/{RUN}.json"}


def steps(folder: Path, old: dict, new: dict) -> list[str]:
    """The labels of the points of a publish of ``new`` over ``old`` (a dry run in ``folder``)."""
    labels: list[str] = []
    publish(staging.Attempt(records.run_files(RUN, folder)), old)
    real, staging._step = staging._step, labels.append
    try:
        publish(staging.Attempt(records.run_files(RUN, folder), force=True), new)
    finally:
        staging._step = real
    return labels


def killed_at(results_dir: Path, new: dict, point: int) -> int:
    """Publish ``new`` over RUN in a forked process that SIGKILLs itself at the ``point``-th
    point of the publish; return the signal that ended it (0: it finished)."""
    pid = os.fork()
    if pid == 0:  # the child: publish, and die at the point as kill -9 would end it
        try:
            count = itertools.count()

            def die(label: str) -> None:
                if next(count) == point:
                    os.kill(os.getpid(), signal.SIGKILL)

            staging._step = die
            publish(staging.Attempt(records.run_files(RUN, results_dir), force=True), new)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


def kill_every_point(base: Path) -> list[tuple[str, str]]:
    """(point, what it left: 'old', 'new' or 'a mix') for a kill at each point of a publish."""
    old, new = source_set(CANONICAL), source_set(SEED4)
    labels = steps(base / "count", old, new)
    left = []
    for point, label in enumerate([*labels, "none (it finished)"]):
        results = base / f"killed_at_{point}"
        publish(staging.Attempt(records.run_files(RUN, results)), old)
        killed_at(results, new, point)
        found = published_set(results)
        whole = [name for name, files in (("old", old), ("new", new)) if found == expected(files)]
        left.append((label, whole[0] if whole else "a mix"))
    return left


def full_disk(results: Path, old: dict, new: dict) -> str:
    """Publish ``new`` over ``old`` on a disk that may fill: 'published', 'refused' (the message
    saying the earlier files stand, and they do), or what went wrong."""
    try:
        publish(staging.Attempt(records.run_files(RUN, results), force=True), new)
    except staging.ResultsNotWritten as refused:
        said = "the run's earlier files stand as they were" in str(refused)
        whole = published_set(results) == expected(old)
        return "refused" if said and whole else f"refused, but said {said} and left old {whole}"
    return "published" if published_set(results) == expected(new) else "published a mix"


@contextlib.contextmanager
def tmpfs(folder: Path, size_kib: int):
    """A tmpfs of ``size_kib`` mounted at ``folder`` (root only), unmounted afterwards."""
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@contextlib.contextmanager
def byte_budget(budget_kib: int):
    """Every atomic write counts its bytes; past the budget it fails as a full disk would."""
    written, real = [0], records.atomic_path

    @contextlib.contextmanager
    def counting(path):
        with real(path) as tmp:
            yield tmp
            written[0] += tmp.stat().st_size
            if written[0] > budget_kib * 1024:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    records.atomic_path = counting
    try:
        yield
    finally:
        records.atomic_path = real


def fill_disks(base: Path) -> tuple[str, list[tuple[int, str]]]:
    """How the disk was filled (tmpfs or a byte budget) and each size's outcome."""
    old, new = source_set(CANONICAL), source_set(SEED4)
    outcomes = []
    if os.geteuid() == 0:
        for size in DISK_SIZES_KIB:
            with tmpfs(base / f"disk{size}", size) as results:
                publish(staging.Attempt(records.run_files(RUN, results)), old)
                outcomes.append((size, full_disk(results, old, new)))
        return "tmpfs", outcomes
    for budget in BUDGETS_KIB:
        results = base / f"budget{budget}"
        publish(staging.Attempt(records.run_files(RUN, results)), old)
        with byte_budget(budget):
            outcomes.append((budget, full_disk(results, old, new)))
    return "byte budget", outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fault", choices=("kill", "disk"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="publish_faults-") as base:
        if args.fault == "kill":
            left = kill_every_point(Path(base))
            counts = {what: sum(1 for _, w in left if w == what) for what in ("old", "new")}
            bad = [label for label, what in left if what == "a mix"]
            summary = (f"kill: a SIGKILL at each of {len(left)} points of a publish left the old "
                       f"set whole {counts['old']} times and the new set whole {counts['new']} "
                       f"times, a mix {len(bad)} times")  # fmt: skip
        else:
            how, outcomes = fill_disks(Path(base))
            bad = [f"{size} KiB: {what}" for size, what in outcomes
                   if what not in ("refused", "published")]  # fmt: skip
            shown = ", ".join(f"{size} KiB {what}" for size, what in outcomes)
            summary = f"disk ({how}): {shown}; {len(bad)} left a mix or said otherwise"
    print(summary)
    for problem in bad:
        print(f"publish_faults: {problem}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
