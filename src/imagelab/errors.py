"""Errors the user caused and can fix, shown as one paragraph instead of a traceback.

A wrong parameter, a reserved run name, missing or corrupt data, a damaged results file: the
message names the problem and the fix, and a traceback through imagelab's internals would only
bury it. Real bugs raise ordinary exceptions and keep their tracebacks.
"""

from __future__ import annotations

import errno

# Errors of a disk or folder the user can fix, in words: every writer says them the same way
# (a run's files in imagelab.results.staging, the report in imagelab.report.render, any other write
# through the imagelab command). Other OSErrors are not the user's and keep their traceback.
DISK_ERRORS = {
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


class UserError(ValueError):
    """A problem with what the user gave: a parameter, a run name, data or stored results.

    IPython prints an exception through its ``_render_traceback_`` when it has one, so in a
    notebook, and in the error papermill raises from the executed notebook, the user sees this
    paragraph alone. The ``imagelab`` command prints it the same way.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class Diverged(UserError):
    """Training's loss stopped being a finite number (too large a learning rate, usually): the
    run is not stored, and a sweep records it as failed, "diverged" (matched by this name)."""
