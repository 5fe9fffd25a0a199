"""One attempt of a run writes its files into a folder of its own, then publishes them at once.

A run can have two live attempts: a sweep's orphan (its client killed, its worker still
training) and the rerun that replaced it, or two notebooks given the same ``run_name``. If both
wrote straight into ``histories/``, ``scores/`` and ``figures/`` their files could interleave:
one attempt's history beside the other's provenance. So each attempt (``Attempt``) writes into
``<results_dir>/.staging/<run>.<attempt id>/`` (the same layout, ``records.RunFiles``) and
publishes under one lock for the results folder (``fcntl.flock`` on ``.staging/.lock``):
history, score and predictions, then the provenance, marked with the attempt's id, last; a
result never exists without its provenance. The figures come later (separate notebook cells)
and are published only while the provenance is still this attempt's: an attempt that another
one has published over keeps its figures to itself, so the results folder holds one attempt's
files. A staging folder is held by an ``flock`` for the attempt's lifetime; one whose lock is
free belongs to a dead attempt and ``remove_abandoned`` deletes it.

A disk that refuses a write (read-only, full, permission denied) stops the attempt with
``ResultsNotWritten``, one paragraph naming the path and the fix; its staging folder is
removed and nothing of it is published.
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

STAGING = ".staging"
_ALIVE = ".alive"  # flocked by its attempt while it lives


class ResultsNotWritten(UserError):
    """The disk refused a run's files (read-only, full, no permission); nothing was published."""


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
    """Hold the results folder's publish lock (one publisher at a time, across processes)."""
    folder = Path(results_dir) / STAGING
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Attempt:
    """One attempt of the run ``files``: its staging folder, lock and publishing."""

    def __init__(self, files: records.RunFiles, attempt_id: str | None = None) -> None:
        self.files = files
        self.id = attempt_id or new_attempt_id()
        self.folder = files.results_dir / STAGING / f"{files.run_name}.{self.id}"
        self.staged = records.RunFiles(self.folder, files.run_name)
        self._alive = None  # the open, flocked .alive file while the folder exists

    @contextlib.contextmanager
    def writing(self) -> Iterator[records.RunFiles]:
        """Yield the staging layout to write into; a disk error removes the staging folder
        and becomes ``ResultsNotWritten``. Publish inside the block."""
        try:
            if self._alive is None:
                (self.folder / "figures").mkdir(parents=True, exist_ok=True)
                self._alive = open(self.folder / _ALIVE, "a")  # noqa: SIM115 (held open)
                fcntl.flock(self._alive, fcntl.LOCK_EX | fcntl.LOCK_NB)
            yield self.staged
        except OSError as error:
            self.discard()
            raise not_written(self.files, error) from None

    def publish(self) -> None:
        """Move the staged history, score, predictions and provenance (last) into place in
        one step under the results folder's lock; the staging folder goes.

        The old provenance goes first, so no reader ever pairs it with the new files; if a
        move fails, the files moved so far go too: the run then reads as unfinished (it
        reruns), never as a result whose files are not its provenance's."""
        moved = []
        with publishing_lock(self.files.results_dir):
            try:
                self.files.provenance.unlink(missing_ok=True)
                for kind in ("history", "score", "predictions", "provenance"):
                    staged, final = getattr(self.staged, kind), getattr(self.files, kind)
                    if staged.is_file():
                        final.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(staged, final)
                        moved.append(final)
            except OSError:
                for path in moved:
                    with contextlib.suppress(OSError):
                        path.unlink()
                raise
        self.discard()

    def publish_figure(self, kind: str) -> bool:
        """Move the staged figure ``kind`` into place if the published provenance is still
        this attempt's; else drop it (another attempt has published since) and say so."""
        staged, final = self.staged.figure(kind), self.files.figure(kind)
        with publishing_lock(self.files.results_dir):
            owner = published_attempt(self.files)
            if owner == self.id:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, final)
        if owner != self.id:
            staged.unlink()
            print(
                f"[{self.files.run_name}] another attempt ({owner}) has published this run "
                f"since; its figures stand and this attempt's {kind} figure is dropped"
            )
        self.discard()
        return owner == self.id

    def discard(self) -> None:
        """Remove the staging folder and release its lock."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._alive is not None:
            self._alive.close()
            self._alive = None


def published_attempt(files: records.RunFiles) -> str | None:
    """The attempt id in the run's published provenance (None: none, or written before ids)."""
    try:
        return json.loads(files.provenance.read_bytes()).get("attempt")
    except (OSError, ValueError, AttributeError):
        return None


def remove_abandoned(results_dir: Path) -> list[Path]:
    """Delete the staging folders of attempts that died (their lock is free); return them.
    Folders of live attempts, here or on another machine of the cluster, stay."""
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


_ELSEWHERE = "choose another results_dir (-p results_dir PATH)"
_FIXES = {  # after errors.DISK_ERRORS' words
    errno.ENOSPC: f"free some space there, or {_ELSEWHERE}",
    errno.EDQUOT: f"free some space there, or {_ELSEWHERE}",
    errno.EROFS: "choose a writable results_dir (-p results_dir PATH)",
    errno.EACCES: f"make {{folder}} writable for this user (chmod u+w), or {_ELSEWHERE}",
}
_FIXES[errno.EPERM] = _FIXES[errno.EACCES]


def not_written(files: records.RunFiles, error: OSError) -> ResultsNotWritten:
    """The one-paragraph error for a disk that refused a run's files."""
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
        f"could not write the results of run {files.run_name!r} at {path} ({error.strerror or error}): "
        f"{fix}. Nothing of this attempt was published and its staging folder is removed; "
        "rerun it once the folder can take the files."
    )
