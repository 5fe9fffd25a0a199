"""Sweeps on a real Dask cluster that lose part of it: a `dask scheduler` and `dask worker`
processes on 127.0.0.1, started, killed and restarted here. A worker or scheduler that goes
away interrupts runs, it does not fail them; a rerun finishes every run exactly once, adopts
what orphaned attempts published, and gives the numbers of a serial run. Tiny data, 1 epoch.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from imagelab import records
from imagelab.results import staging, store
from imagelab.running import sweeps

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
DASK = Path(sys.executable).parent / "dask"
SPEC = {
    "notebook": "notebooks/01_dense_mnist.ipynb",
    "parameters": {"data_limit": 200, "epochs": 1},
    "grid": {"units": [16]},
    "seeds": [1, 2],
}


def environment() -> dict[str, str]:
    return os.environ | {
        "PYTHONPATH": str(ROOT / "src"),
        "IMAGELAB_DATA": str(FIXTURES),
        "IMAGELAB_THREADS": "1",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.2)


class Cluster:
    """A scheduler and workers on loopback; every process started here is stopped here."""

    def __init__(self, folder: Path) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.log = open(folder / "cluster.log", "ab")  # noqa: SIM115 (closed in stop_all)
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def _start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(DASK), *args],
            env=environment(),
            cwd=ROOT,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,  # its own group: a kill reaches its kernels too
        )

    def start_scheduler(self) -> None:
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", port,
                                     "--no-dashboard")  # fmt: skip

        def answers() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", int(port))) == 0

        wait_for(answers, "the scheduler", 60)

    def start_workers(self, count: int) -> None:
        for _ in range(count):
            self.workers.append(
                self._start(
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--death-timeout",
                    "600",
                )  # fmt: skip
            )
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(count, timeout=60)

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL a process we started and its process group (its kernels)."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=30)
        self.workers, self.scheduler = [], None
        self.log.close()


@pytest.fixture
def cluster(tmp_path):
    running = Cluster(tmp_path)
    yield running
    running.stop_all()


@pytest.fixture(scope="module")
def serial_scores(tmp_path_factory) -> dict[str, str]:
    """The scores of a fault-free serial sweep (the local executor), file by file."""
    folder = tmp_path_factory.mktemp("serial")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMAGELAB_DATA", str(FIXTURES))
        sweeps.run(write_sweep(folder))
    return scores(folder / "tiny")


def write_sweep(folder: Path, **spec) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(SPEC | spec, sort_keys=False))
    return path


def scores(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((folder / "scores").glob("*seed?-*.csv"))}


def sweep_command(path: Path, cluster: Cluster) -> list[str]:
    return [sys.executable, "-m", "imagelab", "sweep", str(path), "--executor", "dask",
            "--scheduler", cluster.address]  # fmt: skip


def run_sweep(path: Path, cluster: Cluster) -> subprocess.CompletedProcess:
    return subprocess.run(
        sweep_command(path, cluster), env=environment(), capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def state(folder: Path, run_id: str) -> dict:
    path = folder / "state" / f"{run_id}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def intact(folder: Path, run_id: str, figures: bool = True) -> dict:
    """The run's published files, validated by the store, with no attempt's leftovers."""
    stored = store.load_run(run_id, folder)
    assert stored is not None, f"{run_id} has no published result"
    for kind in ("history", "confusion", "misclassified") if figures else ():
        assert records.run_files(run_id, folder).figure(kind).is_file()
    assert not list(folder.rglob("*.tmp"))
    return stored.provenance


def settled(folder: Path, cluster: Cluster) -> bool:
    """Every attempt has finished or died: none alive is still writing its notebook."""
    for process in cluster.workers:
        process.poll()  # reap a worker that stopped itself, so that its pid counts as dead
    partials = folder.glob("notebooks/.partial/*.ipynb")
    return not [p for p in partials if staging.attempt_alive(p.stem.rsplit(".", 1)[-1])]


def run_ids(path: Path) -> list[str]:
    return [run.run_id for run in sweeps.plan(sweeps.load(path))]


def test_a_worker_killed_mid_run_is_rerun_by_dask(cluster, tmp_path, serial_scores):
    cluster.start_scheduler()
    cluster.start_workers(2)
    path, folder = write_sweep(tmp_path), tmp_path / "tiny"
    client = subprocess.Popen(sweep_command(path, cluster), env=environment(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    ids = run_ids(path)
    wait_for(lambda: all(state(folder, i).get("status") == "running" for i in ids), "two runs")
    cluster.kill(cluster.workers[0])
    out, _ = client.communicate(timeout=300)
    assert client.returncode == 0, out
    assert "ran 2, skipped 0, failed 0" in out
    assert scores(folder) == serial_scores
    for run_id in ids:
        intact(folder, run_id)
        assert state(folder, run_id)["status"] == "complete"


def test_scheduler_killed_then_restarted_a_plain_rerun_finishes_each_run_once(
    cluster, tmp_path, serial_scores
):
    cluster.start_scheduler()
    cluster.start_workers(1)  # one run in flight, the other never starts
    path, folder = write_sweep(tmp_path), tmp_path / "tiny"
    client = subprocess.Popen(sweep_command(path, cluster), env=environment(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    ids = run_ids(path)
    wait_for(lambda: any(state(folder, i).get("status") == "running" for i in ids), "a run")
    (flying,) = [i for i in ids if state(folder, i).get("status") == "running"]
    (waiting,) = [i for i in ids if i != flying]
    started = time.time()
    cluster.kill(cluster.scheduler)
    _, err = client.communicate(timeout=120)
    assert client.returncode == 2 and time.time() - started < 60
    assert "went away" in err and "1 were running (interrupted" in err and "Traceback" not in err
    assert "1 never started (pending)" in err and "none is recorded as failed" in err
    sweep = sweeps.load(path)
    status = {run.run_id: sweeps.status(sweep, run) for run in sweeps.plan(sweep)}
    assert status[waiting] == "pending"
    assert status[flying] in ("interrupted", "complete")  # complete if it finished meanwhile
    # The orphan outlives its scheduler and client: a worker left without its scheduler
    # stops itself, but gives its task 30 s, time enough for this tiny run to publish.
    wait_for(lambda: settled(folder, cluster), "the orphan to finish or die")
    published = records.run_files(flying, folder).provenance.is_file()
    orphan = intact(folder, flying, figures=False) if published else None
    for worker in cluster.workers:
        cluster.kill(worker)
    cluster.workers = []
    cluster.start_scheduler()
    cluster.start_workers(1)

    done = run_sweep(path, cluster)
    assert done.returncode == 0, done.stdout + done.stderr
    if orphan:  # its result adopted, not trained again
        assert "ran 1, skipped 1, failed 0" in done.stdout
        assert intact(folder, flying, figures=False)["attempt"] == orphan["attempt"]
    else:  # the worker stopped before the orphan finished: trained once, now
        assert "ran 2, skipped 0, failed 0" in done.stdout
        intact(folder, flying)
    intact(folder, waiting)
    assert scores(folder) == serial_scores
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary["status"]) == ["complete", "complete"]


def test_client_killed_and_rerun_while_its_orphan_runs_leaves_one_intact_set(
    cluster, tmp_path, serial_scores
):
    cluster.start_scheduler()
    cluster.start_workers(2)  # an idle worker: the orphan and the rerun can both be live
    path, folder = write_sweep(tmp_path, seeds=[1]), tmp_path / "tiny"
    (run_id,) = run_ids(path)
    client = subprocess.Popen(sweep_command(path, cluster), env=environment(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_for(lambda: state(folder, run_id).get("status") == "running", "the run")
    client.kill()
    client.wait(timeout=30)

    done = run_sweep(path, cluster)
    assert done.returncode == 0, done.stdout + done.stderr

    wait_for(lambda: settled(folder, cluster), "the orphan to finish")
    provenance = intact(folder, run_id)
    assert sweeps.run(path).ran == []  # complete: nothing trains again
    assert scores(folder) == {k: v for k, v in serial_scores.items() if run_id in k}
    assert provenance["run_name"] == run_id
