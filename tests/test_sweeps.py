"""Sweeps: validation before anything runs, dry run, resume after a kill, failure isolation,
and --jobs 2 giving the serial results. Runs the dense MNIST notebook on the test fixtures."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from imagelab import cli, params, records
from imagelab.running import sweeps
from imagelab.running.sweeps import executors

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parents[1]
NOTEBOOK = "notebooks/01_dense_mnist.ipynb"
TINY = {"data_limit": 200, "epochs": 1}


def write_sweep(folder: Path, name: str = "tiny", **spec) -> Path:
    spec = {
        "notebook": NOTEBOOK,
        "parameters": TINY,
        "grid": {"units": [16]},
        "seeds": [1, 2],
    } | spec
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"grid": {"activaton": ["relu"]}},
            r"grid.activaton: .*no parameter 'activaton' \(did you mean 'activation'\?\)",
        ),
        (
            {"parameters": {"units": "many"}},
            r"parameters.units: units must be an integer >= 1; got 'many'",
        ),
        ({"grid": {"units": [16, 0]}}, r"grid.units\[1\]: units must be an integer >= 1; got 0"),
        ({"grid": {}}, r"grid: must be a mapping of at least one parameter"),
        ({"grid": {"units": []}}, r"grid.units: must be a non-empty list"),
        ({"grid": {"units": [16, 16]}}, r"grid.units: value 16 appears more than once"),
        ({"parameters": {"run_name": "mine"}}, r"parameters.run_name: set by the sweep"),
        ({"seeds": []}, r"seeds: must be a non-empty list"),
        ({"seeds": [1, -1]}, r"seeds\[1\]: seed must be an integer in \[0, 4294967295\]"),
        ({"grdi": {}}, r"grdi: unknown key"),
        (
            {"notebook": "notebooks/99_missing.ipynb"},
            r"notebook: notebooks/99_missing.ipynb does not exist",
        ),
    ],
)
def test_bad_sweep_file_is_refused_naming_the_key(tmp_path, spec, message):
    with pytest.raises(ValueError, match=message):
        sweeps.load(write_sweep(tmp_path, **spec))


def test_misspelt_parameter_fails_in_seconds_without_tensorflow(tmp_path):
    path = write_sweep(tmp_path, grid={"dropuot": [0.5]}, notebook="notebooks/03_cnn_mnist.ipynb")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "imagelab", "sweep", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.perf_counter() - started < 5
    assert done.returncode == 2
    assert "grid.dropuot" in done.stderr and "did you mean 'dropout'" in done.stderr
    assert not (tmp_path / "tiny").exists()
    probe = (
        "import sys; from imagelab.running import sweeps; sweeps.load(sys.argv[1]); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'papermill') if m in sys.modules))"
    )
    path = write_sweep(tmp_path, name="ok")
    loaded = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True
    )
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_dry_run_lists_every_run_with_a_stable_slug_id_and_writes_nothing(tmp_path, capsys):
    path = write_sweep(tmp_path, grid={"units": [16, 32], "activation": ["relu"]}, seeds=[1, 2])
    assert cli.main(["sweep", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    ids = [run.run_id for run in sweeps.plan(sweeps.load(path))]
    elsewhere = write_sweep(
        tmp_path / "elsewhere", grid={"units": [16, 32], "activation": ["relu"]}
    )
    assert ids == [run.run_id for run in sweeps.plan(sweeps.load(elsewhere))]  # not the folder's
    assert len(set(ids)) == 4 and all(params.RUN_NAME.match(i) for i in ids)
    assert ids[0].startswith("units-16_activation-relu_seed1-")
    assert all(f"{i}" in out for i in ids) and "4 of 4 runs to run" in out
    assert not (tmp_path / "tiny").exists()


@pytest.mark.parametrize("path", sorted((ROOT / "sweeps").glob("*.yaml")), ids=lambda p: p.stem)
def test_committed_sweeps_plan_the_ids_of_their_finished_runs(path):
    # Run ids must not change between processes or versions: resuming finds runs by their id.
    finished = sorted(state.stem for state in (path.parent / path.stem).glob("state/*.json"))
    if finished:
        assert sorted(run.run_id for run in sweeps.plan(sweeps.load(path))) == finished


# --- real runs (a few seconds of training each, on the fixture data) --------------------------


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """A two-run sweep (seeds 1 and 2), run serially once for the tests below."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMAGELAB_DATA", str(FIXTURES))
        path = write_sweep(tmp_path_factory.mktemp("serial"))
        outcome = sweeps.run(path)
    return path, outcome


@pytest.fixture
def fixture_env(monkeypatch):
    monkeypatch.setenv("IMAGELAB_DATA", str(FIXTURES))


def copy_sweep(source: Path, folder: Path, **spec) -> Path:
    """The sweep's finished folder beside a new sweep file (same name, so the same run ids)."""
    shutil.copytree(source.parent / source.stem, folder / source.stem)
    return write_sweep(folder, name=source.stem, **spec)


def scores(path: Path) -> dict[str, str]:
    folder = path.parent / path.stem
    return {p.name: p.read_text() for p in sorted((folder / "scores").glob("*seed?-*.csv"))}


def test_serial_sweep_writes_results_summary_and_figure(serial):
    path, outcome = serial
    folder = path.parent / path.stem
    assert len(outcome.ran) == 2 and not outcome.failed and not outcome.skipped
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary["status"]) == ["complete", "complete"]
    assert list(summary["seed"]) == [1, 2] and list(summary["units"]) == [16, 16]
    assert (
        summary[["train_acc", "val_acc", "test_acc", "test_loss", "wall_seconds"]]
        .notna()
        .all()
        .all()
    )
    assert list(summary["best_epoch"]) == [1, 1]
    assert (folder / "summary.png").is_file()
    for run_id in outcome.ran:
        assert (folder / "notebooks" / f"{run_id}.ipynb").is_file()
        assert json.loads((folder / "state" / f"{run_id}.json").read_text())["status"] == "complete"
        assert not records.run_files(run_id).provenance.exists()  # canonical results untouched
    assert not list(folder.rglob("*.tmp"))


def test_jobs_2_gives_the_same_scores_as_serial(serial, tmp_path, fixture_env):
    path = write_sweep(tmp_path)
    outcome = sweeps.run(path, jobs=2)
    assert not outcome.failed, outcome.failed  # two kernels at once keep to their own sockets
    assert sorted(outcome.ran) == sorted(serial[1].ran)
    assert scores(path) == scores(serial[0])  # byte for byte: both sweeps ran on this machine
    assert not list(records.PROJECT_ROOT.glob("kernel-ipc*"))  # no sockets left in the project
    for run_id in outcome.ran:
        ours = pd.read_csv(tmp_path / "tiny" / "histories" / f"{run_id}.csv")
        theirs = pd.read_csv(serial[0].parent / "tiny" / "histories" / f"{run_id}.csv")
        pd.testing.assert_frame_equal(ours.drop(columns="seconds"), theirs.drop(columns="seconds"))


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm-in-background"])
def test_sweep_interrupted_midway_resumes_running_each_run_exactly_once(
    serial, tmp_path, fixture_env, stop
):
    path = copy_sweep(serial[0], tmp_path)
    folder = tmp_path / "tiny"
    first, second = serial[1].ran
    kept, before = records.run_files(first, folder).provenance.read_text(), scores(path)
    records.run_files(second, folder).provenance.unlink()  # as if it never finished
    # Ctrl-C while the second run is executing; or SIGTERM to a sweep started in the background
    # by a script, which inherits SIGINT ignored.
    in_background = stop == "sigterm-in-background"
    sweep = subprocess.Popen(
        [sys.executable, "-m", "imagelab", "sweep", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if in_background
        else None,
    )
    partials = folder / "notebooks" / ".partial"
    deadline = time.time() + 120
    while (
        not list(partials.glob(f"{second}.*.ipynb"))
        and time.time() < deadline
        and sweep.poll() is None
    ):
        time.sleep(0.2)
    sweep.send_signal(signal.SIGTERM if in_background else signal.SIGINT)
    assert sweep.wait(timeout=120) == 130
    assert not records.run_files(second, folder).provenance.exists()
    summary = pd.read_csv(folder / "summary.csv").set_index("run_id")
    assert summary.loc[second, "status"] == "interrupted"
    # What a kill -9 would leave on top: a half-written temp file of an atomic write.
    (folder / "scores" / f".{second}.csv.123.tmp").write_text("half")
    assert "[skip, complete]" in sweeps.describe(sweeps.load(path))

    outcome = sweeps.run(path)
    assert (outcome.ran, outcome.skipped) == ([second], [first])
    assert records.run_files(first, folder).provenance.read_text() == kept
    # The rerun second run's score, byte for byte: it and `serial` ran on this machine.
    assert {k: v for k, v in scores(path).items() if ".json" not in k} == before
    assert not list(folder.rglob("*.tmp")) and not list(folder.glob("notebooks/.partial/*"))
    assert sweeps.run(path).ran == []


def test_failing_run_is_recorded_kept_and_the_others_go_on(
    serial, tmp_path, fixture_env, monkeypatch, capsys
):
    # units=0 passes the sweep's check (patched here) but the notebook's own check refuses it.
    monkeypatch.setitem(params.RULES, "units", ((int,), lambda v: True, "anything"))
    path = copy_sweep(serial[0], tmp_path, grid={"units": [0, 16]}, seeds=[1])
    folder = tmp_path / "tiny"
    outcome = sweeps.run(path)
    (bad,) = outcome.ran
    assert list(outcome.failed) == [bad] and "units must be an integer >= 1" in outcome.failed[bad]
    assert outcome.skipped == [serial[1].ran[0]]  # the good run, already complete
    assert (folder / "notebooks" / f"{bad}.ipynb").is_file()  # kept for debugging
    assert not list((folder / "notebooks").glob(".partial/*"))
    summary = pd.read_csv(folder / "summary.csv").set_index("run_id")
    assert summary.loc[bad, "status"] == "failed" and "units" in summary.loc[bad, "error"]

    assert cli.main(["sweep", str(path)]) == 1  # failures are not rerun, but still reported
    assert bad in capsys.readouterr().err
    plan = sweeps.describe(sweeps.load(path), retry_failed=True)
    assert f"{bad}" in plan and "1 of 2 runs to run" in plan
    assert os.environ.get(executors.THREADS_ENV) is None


def test_dask_local_cluster_runs_isolates_failures_resumes_and_matches_serial(
    serial, tmp_path, fixture_env, monkeypatch
):
    # Two worker processes of a dask LocalCluster; units=0 fails in the notebook (as above).
    monkeypatch.setitem(params.RULES, "units", ((int,), lambda v: True, "anything"))
    path = write_sweep(tmp_path, grid={"units": [0, 16]}, seeds=[1])
    outcome = sweeps.run(path, jobs=2, executor="dask")
    good = serial[1].ran[0]  # same notebook, parameters and seed as serial's first run
    (bad,) = outcome.failed
    assert sorted(outcome.ran) == sorted([bad, good])
    assert "units must be an integer >= 1" in outcome.failed[bad]
    assert (tmp_path / "tiny" / "notebooks" / f"{bad}.ipynb").is_file()
    ours = tmp_path / "tiny" / "scores" / f"{good}.csv"
    # Byte for byte: the dask workers and `serial` ran on this machine.
    assert ours.read_text() == (serial[0].parent / "tiny" / "scores" / f"{good}.csv").read_text()
    summary = pd.read_csv(tmp_path / "tiny" / "summary.csv").set_index("run_id")
    assert summary.loc[good, "status"] == "complete" and summary.loc[bad, "status"] == "failed"
    again = sweeps.run(path, jobs=2, executor="dask")
    assert again.ran == [] and sorted(again.skipped) == sorted([bad, good])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"executor": "slurm"}, "unknown executor 'slurm'; choose one of local, dask"),
        ({"scheduler": "tcp://127.0.0.1:8786"}, "a scheduler address needs executor 'dask'"),
        (
            {"executor": "dask", "scheduler": "tcp://127.0.0.1:8786", "jobs": 2},
            "the cluster's workers set the parallelism",
        ),
        ({"jobs": 0}, "jobs must be an integer >= 1; got 0"),
        ({"jobs": "2"}, "jobs must be an integer >= 1; got '2'"),
    ],
)
def test_bad_executor_options_are_refused_before_anything_runs(tmp_path, options, message):
    path = write_sweep(tmp_path)
    with pytest.raises(ValueError, match=re.escape(message)):
        sweeps.run(path, **options)
    assert not (tmp_path / "tiny").exists()


def test_summary_figure_shows_every_swept_value_with_failed_runs_left_out():
    table = pd.DataFrame(
        {
            "dropout": [0.0, 0.0, 0.5, 0.5, 0.0, 0.5],
            "units": [16, 16, 16, 16, 32, 32],
            "seed": [1, 2, 1, 2, 1, 1],
            "status": ["complete", "complete", "complete", "failed", "complete", "complete"],
            "test_acc": [0.9, 0.92, 0.95, None, 0.93, 0.96],
        }
    )
    from imagelab import plots

    fig = plots.sweep_summary(table, ["dropout", "units"], title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.0", "0.5"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["units=16", "units=32"]


def test_runs_of_older_training_code_are_stale_left_out_and_rerun(serial, tmp_path, fixture_env):
    from imagelab import analysis

    path = copy_sweep(serial[0], tmp_path)
    sweep, (old, current) = sweeps.load(path), serial[1].ran
    provenance = records.run_files(old, sweep.folder).provenance
    stored = json.loads(provenance.read_text())
    stored["fingerprint"]["code_sha256"] = "0" * 64  # as trained before a training-code change
    provenance.write_text(json.dumps(stored))

    summary = sweeps.summary_table(sweep).set_index("run_id")
    assert (summary.loc[old, "status"], summary.loc[current, "status"]) == ("stale", "complete")
    table, text = analysis.sweep_digest(summary.reset_index(), list(sweep.grid))
    assert list(table["runs"]) == [1] and "1 run(s) were trained by older code" in text
    assert "seed=1  [run, stale]" in sweeps.describe(sweep)

    outcome = sweeps.run(path)
    assert (outcome.ran, outcome.skipped) == ([old], [current])
    assert set(sweeps.summary_table(sweep)["status"]) == {"complete"}


# --- the machinery's failures are interruptions, not failures (no kernels: faked notebooks) ----


def fake_notebook(monkeypatch, ename: str | None = None):
    """Replace papermill's run of a notebook: succeed, or raise as a cell raising ``ename``."""
    from papermill.exceptions import PapermillExecutionError

    from imagelab.running import runs

    ran = []

    def execute(notebook, output, parameters, log_output=True):
        ran.append(parameters["run_name"])
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("{}")
        if ename:
            raise PapermillExecutionError(
                0, 1, "run.fit(model)", ename, f"{parameters['run_name']} diverged", []
            )

    monkeypatch.setattr(runs, "execute", execute)
    return ran


def test_a_diverged_run_is_failed_with_its_reason_and_only_retry_failed_reruns_it(
    tmp_path, monkeypatch, capsys
):
    ran = fake_notebook(monkeypatch, ename="Diverged")
    path = write_sweep(tmp_path, seeds=[1])
    sweep = sweeps.load(path)
    (run,) = sweeps.plan(sweep)
    assert cli.main(["sweep", str(path)]) == 1
    recorded = json.loads((sweep.folder / "state" / f"{run.run_id}.json").read_text())
    assert (recorded["status"], recorded["reason"]) == ("failed", "diverged")
    assert recorded["error"].startswith(f"Diverged: {run.run_id} diverged")
    assert "failed 1" in capsys.readouterr().out
    assert sweeps.run(path).ran == [] and ran == [run.run_id]  # a plain rerun does not loop
    assert sweeps.run(path, retry_failed=True).ran == [run.run_id]


def test_a_lost_scheduler_leaves_runs_interrupted_or_pending_and_a_rerun_runs_them(
    tmp_path, monkeypatch
):
    ran = fake_notebook(monkeypatch)
    path = write_sweep(tmp_path, seeds=[1, 2, 3])
    sweep = sweeps.load(path)
    first, second, third = sweeps.plan(sweep)

    def losing(todo, jobs, scheduler, progress, connect_timeout):  # the first one started
        records.write_json(todo[0].record | {"status": "running"}, Path(todo[0].state))
        raise executors.ClusterLost("CancelledError: scheduler-connection-lost", todo)
        yield

    monkeypatch.setattr(executors, "on_dask", losing)
    with pytest.raises(sweeps.SweepInterrupted) as lost:
        sweeps.run(path, executor="dask", scheduler="tcp://127.0.0.1:8786")
    message = str(lost.value)
    assert "went away" in message and "1 were running (interrupted" in message
    assert "2 never started (pending)" in message and "rerun the same command" in message
    states = [sweeps.status(sweep, run) for run in (first, second, third)]
    assert states == ["interrupted", "pending", "pending"]  # none is failed
    monkeypatch.undo()
    ran = fake_notebook(monkeypatch)
    outcome = sweeps.run(path)  # a plain rerun: no --retry-failed needed
    assert sorted(outcome.ran) == sorted(ran) == sorted(r.run_id for r in (first, second, third))
    assert not outcome.failed


def test_a_worker_lost_for_good_interrupts_its_run_without_failing_it(
    tmp_path, monkeypatch, capsys
):
    fake_notebook(monkeypatch)
    path = write_sweep(tmp_path, seeds=[1])
    sweep = sweeps.load(path)

    def killed(todo, jobs, scheduler, progress, connect_timeout):
        yield executors.Result(todo[0], "interrupted", "KilledWorker: the worker died 3 times")

    monkeypatch.setattr(executors, "on_dask", killed)
    assert cli.main(["sweep", str(path), "--executor", "dask"]) == 1
    out, err = capsys.readouterr()
    assert "failed 0, interrupted 1 (rerun to finish them)" in out
    assert "interrupted (their workers went away)" in err and "rerun the same command" in err
    assert [sweeps.status(sweep, run) for run in sweeps.plan(sweep)] == ["interrupted"]
    monkeypatch.undo()
    fake_notebook(monkeypatch)
    assert sweeps.run(path).ran == [sweeps.plan(sweep)[0].run_id]  # a plain rerun runs it


@pytest.mark.parametrize("damage", [b"garbage", b'{"status": ', b"[1, 2]", b'{"status": 3}'])
def test_a_damaged_state_file_is_one_paragraph_naming_it(tmp_path, capsys, damage):
    path = write_sweep(tmp_path, seeds=[1])
    sweep = sweeps.load(path)
    [run] = sweeps.plan(sweep)
    state = sweep.folder / "state" / f"{run.run_id}.json"
    state.parent.mkdir(parents=True)
    state.write_bytes(damage)
    assert cli.main(["sweep", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"state/{run.run_id}.json is damaged" in err and "Delete it" in err
    assert len(err.strip().splitlines()) == 1 and state.read_bytes() == damage


def test_an_unreachable_scheduler_is_one_paragraph_within_the_timeout(tmp_path, capsys):
    import socket

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    path = write_sweep(tmp_path)
    started = time.perf_counter()
    status = cli.main(["sweep", str(path), "--executor", "dask", "--scheduler", address,
                       "--connect-timeout", "1"])  # fmt: skip
    seconds = time.perf_counter() - started
    err = capsys.readouterr().err
    assert status == 2 and seconds < 15
    assert f"no Dask scheduler answered at {address} within 1 s" in err
    assert "`dask scheduler --port" in err and "the 2 run(s) stay pending" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    sweep = sweeps.load(path)
    assert {sweeps.status(sweep, run) for run in sweeps.plan(sweep)} == {"pending"}


def test_a_run_an_orphan_published_meanwhile_is_adopted_not_trained_again(
    tmp_path, monkeypatch, capsys
):
    ran = fake_notebook(monkeypatch)
    path = write_sweep(tmp_path)
    sweep = sweeps.load(path)
    first, second = sweeps.plan(sweep)
    # Queued while an orphaned attempt of it still ran; that attempt has published since.
    monkeypatch.setattr(sweeps, "_published", lambda sweep, item: item == second)
    outcome = sweeps.run(path)
    assert ran == [first.run_id] and sorted(outcome.ran) == sorted([first.run_id, second.run_id])
    recorded = json.loads((sweep.folder / "state" / f"{second.run_id}.json").read_text())
    assert recorded["status"] == "complete" and recorded["adopted"] is True
    assert f"{second.run_id} complete (adopted" in capsys.readouterr().out
