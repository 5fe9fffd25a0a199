"""One attempt of a run writes its files into a folder of its own, then publishes them as one
set: a reader finds the old complete set or the new one, never a mix, whatever stops it.

A run can have two live attempts: a sweep's orphan (its client killed, its worker still
training) and the rerun that replaced it, or two notebooks given the same ``run_name``. So each
attempt (``Attempt``) writes its whole set (history, score, predictions, figures) into
``<results_dir>/.staging/<run>.<attempt id>/`` (the same layout, ``records.RunFiles``), held by
an ``flock`` on its ``.alive`` file while the attempt lives, and ``publish`` moves it into
place under one lock for the results folder (``fcntl.flock`` on ``.staging/.lock``):

1. the provenance is sealed: written into the staging folder with the attempt's id and the
   manifest of the staged files (``imagelab.results.manifest``);
2. the overwrite rule, checked here, under the lock, and not only when the run started: a run
   another attempt published meanwhile with other settings is replaced only with ``force``
   (``NotPublished`` otherwise: nothing moves);
3. a journal (``.publishing``: what to move aside, what to move in) is written into the
   staging folder: from here the publish is decided;
4. the published files of the run's names are moved aside into the staging folder's
   ``previous/`` (the provenance first), then the staged files into place (the provenance last);
5. the journal goes, then the staging folder.

A kill anywhere in 4-5 leaves the journal, and the next process to take the lock (a reader,
through ``settled``; a publisher; ``remove_abandoned``) finishes the moves: the new set is
whole. A disk that refuses a write stops the attempt with ``ResultsNotWritten``; in 4 the moves
are undone first, so the old set is whole. Either way the message says what is left.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

from imagelab import records
from imagelab.errors import DISK_ERRORS, UserError
from imagelab.results import manifest
from imagelab.results.exercises import EXERCISES, PARAMETERS_ADDED, REGISTRY, normal

STAGING = ".staging"
_ALIVE = ".alive"  # flocked by its attempt while it lives
JOURNAL = ".publishing"  # in a staging folder: its publish is decided, the moves to finish
PREVIOUS = "previous"  # in a staging folder: the published files it moved aside


class ResultsNotWritten(UserError):
    """The disk refused a run's files (read-only, full, no permission); the message says what
    the results folder holds now."""


class NotPublished(UserError):
    """Another attempt published a run of other settings under this name meanwhile; without
    ``force`` this attempt publishes nothing."""


def new_attempt_id() -> str:
    """An id no other attempt has: host, process and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def attempt_alive(attempt_id: str) -> bool:
    """Whether the attempt may still run: its process lives, or it ran on another machine
    (which this one cannot tell)."""
    host, _, rest = attempt_id.rpartition("-")[0].rpartition("-")
    if host != socket.gethostname() or not rest.isdigit():
        return host != socket.gethostname() and bool(host)
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


@contextlib.contextmanager
def publishing_lock(results_dir: Path) -> Iterator[None]:
    """Hold the results folder's publish lock (one publisher at a time, across processes),
    after finishing any publish a kill interrupted."""
    folder = Path(results_dir) / STAGING
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            finish_interrupted(Path(results_dir))
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def settled(results_dir: Path) -> Iterator[None]:
    """Hold the results folder's lock shared while reading a run's files, so no publish moves
    them meanwhile; a publish a kill interrupted is finished first. A folder no publisher ever
    used (no lock file) is read as it is."""
    lock = Path(results_dir) / STAGING / ".lock"
    try:
        handle = open(lock)  # noqa: SIM115 (closed below; a read needs no write access)
    except OSError:
        handle = None
    if handle is None:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            if _journals(Path(results_dir)):
                fcntl.flock(handle, fcntl.LOCK_EX)  # no reader or publisher meanwhile
                with contextlib.suppress(OSError):  # unwritable: the store says what is left
                    finish_interrupted(Path(results_dir))
                fcntl.flock(handle, fcntl.LOCK_SH)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Attempt:
    """One attempt of the run ``files``: its staging folder, lock and publishing. ``force``:
    it may replace a run of other settings (the notebook's ``force=True``)."""

    def __init__(
        self, files: records.RunFiles, attempt_id: str | None = None, force: bool = False
    ) -> None:
        self.files = files
        self.id = attempt_id or new_attempt_id()
        self.force = force
        self.folder = files.results_dir / STAGING / f"{files.run_name}.{self.id}"
        self.staged = records.RunFiles(self.folder, files.run_name)
        self._alive = None  # the open, flocked .alive file while the folder exists

    @contextlib.contextmanager
    def writing(self) -> Iterator[records.RunFiles]:
        """Yield the staging layout to write the set into, then publish inside the block; a
        disk error discards the attempt and becomes ``ResultsNotWritten``, saying what the
        results folder holds now."""
        try:
            if self._alive is None:
                # Every folder a publish moves into is made now: a full disk refuses it here,
                # before anything moved, not halfway through the moves.
                for folder in ("histories", "scores", "figures"):
                    (self.folder / folder).mkdir(parents=True, exist_ok=True)
                    (self.folder / PREVIOUS / folder).mkdir(parents=True, exist_ok=True)
                self._alive = open(self.folder / _ALIVE, "a")  # noqa: SIM115 (held open)
                fcntl.flock(self._alive, fcntl.LOCK_EX | fcntl.LOCK_NB)
            yield self.staged
        except OSError as error:
            self.discard()
            raise not_written(self.files, error) from None
        except BaseException:
            self.discard()
            raise

    def publish(self, provenance: dict) -> dict:
        """Seal the staged set with ``provenance`` (its manifest and this attempt's id added;
        written last) and move it into place as one set (see the module's steps); return the
        sealed provenance. The staging folder goes."""
        exercise = REGISTRY[provenance["exercise"]]
        members = manifest.members(self.staged, exercise)
        # The staging folder has the results folder's layout: the manifest's names are final.
        sealed = provenance | {
            "attempt": self.id,
            manifest.KEY: manifest.record(self.staged, members),
        }
        _step("seal")
        records.write_json(sealed, self.staged.provenance)
        with publishing_lock(self.files.results_dir):
            self._may_replace(sealed)
            journal = self._journal(members)
            for folder in {path.parent for path in map(self._final, journal["moves"])}:
                folder.mkdir(parents=True, exist_ok=True)
            _step("journal")
            records.write_json(journal, self.folder / JOURNAL)
            try:
                _roll_forward(self.files.results_dir, self.folder)
            except OSError:
                _roll_back(self.files.results_dir, self.folder)
                raise
        self.discard()
        return sealed

    def _final(self, staged_key: str) -> Path:
        return self.files.results_dir / staged_key

    def _journal(self, members: list[Path]) -> dict:
        """The moves of this publish: the published files of the run's names aside (the
        provenance first), the staged set in (the provenance last)."""
        published = [self.files.provenance, *manifest.names(self.files)]
        aside = [manifest.key(self.files, path) for path in published if path.is_file()]
        moves = [manifest.key(self.staged, path) for path in members]
        return {"run": self.files.run_name, "aside": aside,
                "moves": [*moves, manifest.key(self.staged, self.staged.provenance)]}  # fmt: skip

    def _may_replace(self, sealed: dict) -> None:
        """The overwrite rule, at publish: without ``force``, a run another attempt published
        with other settings (or one whose provenance cannot be read) stays, and this attempt
        publishes nothing."""
        published = _published(self.files)
        theirs, ours = _settings(published), _settings(sealed)
        if self.force or published is None or theirs == ours:
            return
        owner = published.get("attempt") if isinstance(published, dict) else None
        self.discard()
        raise NotPublished(
            f"run {self.files.run_name!r} was published meanwhile by another attempt "
            f"({owner or 'one before attempts had ids'}) with other settings "
            f"({_differences(theirs, ours)}); without force=True this attempt does not replace "
            "it: nothing of it was published and the other run's files stand as they were in "
            f"{records.relative(self.files.results_dir)}. Give this run another run_name, or "
            "pass force=True to replace that one"
        )

    def discard(self) -> None:
        """Remove the staging folder, unless it holds a decided publish (its journal: the next
        lock holder finishes it), and release its lock."""
        if not (self.folder / JOURNAL).exists():
            shutil.rmtree(self.folder, ignore_errors=True)
        if self._alive is not None:
            self._alive.close()
            self._alive = None


def _settings(provenance: object) -> dict | None:
    """What decides whether two runs are the same run: exercise and parameters (with those
    added since, as the store fills them in); None for a provenance that cannot be read."""
    if not isinstance(provenance, dict) or not isinstance(provenance.get("parameters"), dict):
        return None
    parameters = provenance["parameters"]
    if provenance.get("exercise") in EXERCISES:
        parameters = PARAMETERS_ADDED | parameters
    return normal(parameters | {"exercise": provenance.get("exercise")})


def _differences(theirs: dict | None, ours: dict) -> str:
    if theirs is None:
        return "its provenance cannot be read"
    keys = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
    return ", ".join(f"{k}: there {theirs.get(k)!r}, here {ours.get(k)!r}" for k in keys)


def _published(files: records.RunFiles) -> object:
    """The run's published provenance, parsed (None: none; the raw text when unreadable)."""
    try:
        raw = files.provenance.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def published_attempt(files: records.RunFiles) -> str | None:
    """The attempt id in the run's published provenance (None: none, or written before ids)."""
    published = _published(files)
    return published.get("attempt") if isinstance(published, dict) else None


# --- the moves, and finishing or undoing them ------------------------------------------------


def _step(label: str) -> None:
    """A point of the publish between two of its steps (tests kill the process here)."""


def _roll_forward(results_dir: Path, folder: Path) -> None:
    """Do (or finish) the journal's moves: every published file aside that is not yet, then
    every staged file in that is not yet; then drop the journal and the staging folder.
    Each move is found done or not by where its file is, so this finishes any partial run of
    itself. The asides all come before the first move in, so a published file found in place
    whose aside is not in ``previous/`` is always the old one."""
    journal = json.loads((folder / JOURNAL).read_bytes())
    for name in journal["aside"]:
        final, aside = results_dir / name, folder / PREVIOUS / name
        if final.is_file() and not aside.exists():
            aside.parent.mkdir(parents=True, exist_ok=True)
            _step(f"aside {name}")
            os.replace(final, aside)
    for name in journal["moves"]:
        staged = folder / name
        if staged.is_file():
            _step(f"move {name}")
            os.replace(staged, results_dir / name)
    _step("drop journal")
    (folder / JOURNAL).unlink()
    _step("drop staging folder")
    shutil.rmtree(folder, ignore_errors=True)


def _roll_back(results_dir: Path, folder: Path) -> None:
    """Undo the journal's moves after a disk error: the moved-in files back into the staging
    folder, the moved-aside ones back into place, then drop the journal. If that fails too,
    the journal stays and the next lock holder finishes the publish instead."""
    journal = json.loads((folder / JOURNAL).read_bytes())
    with contextlib.suppress(OSError):
        for name in journal["moves"]:
            staged, final = folder / name, results_dir / name
            if not staged.exists() and final.is_file():
                os.replace(final, staged)
        for name in journal["aside"]:
            aside = folder / PREVIOUS / name
            if aside.is_file():
                os.replace(aside, results_dir / name)
        (folder / JOURNAL).unlink()


def _journals(results_dir: Path) -> list[Path]:
    return sorted((Path(results_dir) / STAGING).glob(f"*/{JOURNAL}"))


def finish_interrupted(results_dir: Path) -> list[Path]:
    """Finish every publish under ``results_dir`` that a kill interrupted (its journal left);
    call with the publish lock held. Returns their staging folders."""
    finished = []
    for journal in _journals(results_dir):
        _roll_forward(Path(results_dir), journal.parent)
        finished.append(journal.parent)
    return finished


def remove_abandoned(results_dir: Path) -> list[Path]:
    """Finish the publishes a kill interrupted, then delete the staging folders of attempts
    that died (their lock is free); return those. Folders of live attempts, here or on
    another machine of the cluster, stay."""
    if (Path(results_dir) / STAGING).is_dir():
        with publishing_lock(Path(results_dir)):
            pass  # taking the lock finishes interrupted publishes
    removed = []
    for folder in sorted((Path(results_dir) / STAGING).glob("*.*")):
        if not folder.is_dir():
            continue
        try:
            with open(folder / _ALIVE, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its attempt is still running
        except OSError:
            pass  # no lock file to take: the attempt died while creating the folder
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


# --- what a refused write says --------------------------------------------------------------

_ELSEWHERE = "choose another results_dir (-p results_dir PATH)"
_FIXES = {  # after errors.DISK_ERRORS' words
    errno.ENOSPC: f"free some space there, or {_ELSEWHERE}",
    errno.EDQUOT: f"free some space there, or {_ELSEWHERE}",
    errno.EROFS: "choose a writable results_dir (-p results_dir PATH)",
    errno.EACCES: f"make {{folder}} writable for this user (chmod u+w), or {_ELSEWHERE}",
}
_FIXES[errno.EPERM] = _FIXES[errno.EACCES]


def left(files: records.RunFiles) -> str:
    """What the results folder holds of the run ``files`` now, in words, for a message after a
    write that failed: a decided publish still to finish, the earlier set, or nothing."""
    pending = [
        j for j in _journals(files.results_dir) if j.parent.name.startswith(f"{files.run_name}.")
    ]
    if pending:
        return (
            "This attempt's files are all staged and their publish is decided but not finished: "
            "the next command that reads the run finishes it once the folder takes the moves "
            "(imagelab lab --dry-run reads it)"
        )
    earlier = (
        "the run's earlier files stand as they were"
        if files.provenance.is_file()
        else "the run has no files there"
    )
    return (
        f"Nothing of this attempt was published and its staging folder is removed; {earlier}. "
        "Rerun it once the folder can take the files"
    )


def not_written(files: records.RunFiles, error: OSError) -> ResultsNotWritten:
    """The one-paragraph error for a disk that refused a run's files: where, the fix, and what
    is left."""
    # The staging folder is ours, not the user's: name the results folder it sits in.
    refused = Path(error.filename) if error.filename else files.results_dir
    staged = refused.is_relative_to(files.results_dir / STAGING)
    path = records.relative(files.results_dir if staged else refused)
    folder = records.relative(files.results_dir)
    fix = (
        f"{DISK_ERRORS[error.errno]}: {_FIXES[error.errno].format(folder=folder)}"
        if error.errno in _FIXES
        else f"check the disk and the folder's permissions, or {_ELSEWHERE}"
    )
    return ResultsNotWritten(
        f"could not write the results of run {files.run_name!r} at {path} "
        f"({error.strerror or error}): {fix}. {left(files)}."
    )
