"""A sweep's Dask cluster: a quiet LocalCluster here, or a scheduler at an address.

A LocalCluster's workers would otherwise print every cell's output of every notebook, the
dashboard's port warning and their own log lines into the terminal the sweep shares with them;
the sweep prints one line per run, as the local executor does. A scheduler address where
nothing answers stops the sweep within ``connect_timeout`` seconds with one paragraph, before
any run is touched (they stay pending).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator

from imagelab.errors import UserError

# The loggers of Dask and of the kernels' machinery the workers and the client write through.
_NOISY = ("distributed", "tornado", "asyncio", "bokeh", "traitlets", "papermill")


class Unreachable(UserError):
    """No Dask scheduler answered at the sweep's address."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence Dask's own log lines here: its failures reach the user as one paragraph."""
    known = list(logging.root.manager.loggerDict)  # Dask sets levels on its child loggers
    loggers = [logging.getLogger(n) for n in known if n.split(".")[0] in _NOISY[:2]]
    loggers += [logging.getLogger(name) for name in _NOISY[:2]]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def connect(address: str, connect_timeout: float, runs: int) -> Iterator[object]:
    """A client of the scheduler at ``address``; ``Unreachable`` if none answers in time."""
    from distributed import Client

    with _quiet():
        try:
            _wait_until_listening(address, connect_timeout)
            client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise Unreachable(
                f"no Dask scheduler answered at {address} within {connect_timeout:g} s "
                f"(--connect-timeout; {type(error).__name__}). Start one on that machine with "
                f"`dask scheduler --port {_port(address)}` and at least one worker with "
                f"`dask worker {address}` (same project path and IMAGELAB_DATA on every "
                f"machine), or check the address. Nothing ran: the {runs} run(s) stay pending."
            ) from None
        try:
            yield client
        finally:
            close_quietly(client)


@contextlib.contextmanager
def local_client(jobs: int) -> Iterator[object]:
    """A client of a LocalCluster of ``jobs`` single-threaded worker processes, without a
    dashboard and without the workers' log lines."""
    from distributed import Client, LocalCluster

    with _quiet():
        cluster = LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            dashboard_address=None,
            worker_dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
        client = Client(cluster, set_as_default=False)
        client.run(_quiet_worker)
        try:
            yield client
        finally:
            close_quietly(client)
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)


def _wait_until_listening(address: str, timeout: float) -> None:
    """Wait until something accepts TCP connections at a ``tcp://`` address (OSError after
    ``timeout`` seconds). Dask's client, stopped by Ctrl-C while it retries, would hang the
    exit for 20 s closing itself; a plain socket leaves nothing to close."""
    scheme, _, rest = address.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("", "tcp") or not port.isdigit():
        return  # tls://, ucx://, ...: Dask's client checks those itself
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
            return
        except OSError:
            if time.monotonic() + 0.2 > deadline:
                raise
            time.sleep(0.2)  # a scheduler just starting may not listen yet


def close_quietly(client: object) -> None:
    """Close a client, also one whose scheduler has gone (no reconnect attempts, no noise)."""
    with _quiet(), contextlib.suppress(Exception):
        client.close(timeout=2)


def _quiet_worker() -> None:
    for name in [*logging.root.manager.loggerDict, *_NOISY]:
        if name.split(".")[0] in _NOISY:
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _port(address: str) -> str:
    return address.rsplit(":", 1)[-1] if ":" in address.split("//")[-1] else "8786"
