"""Interactive use, as a student meets it: JupyterLab from `make notebook`, the notebooks'
parameters cells under papermill, and the data folder found without make."""

import asyncio
import copy
import json
import os
import runpy
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import typing
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import papermill
import pytest
import websocket
from ipykernel.ipkernel import IPythonKernel
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from traitlets.config import Config

from imagelab import data, data_import
from imagelab.results import exercises, store
from imagelab.running.run import start_run

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_imagelab_kernel_is_registered_in_the_venv():
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter", "kernelspec", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # In the venv that runs the tests: .venv, or one `make matrix` made for another Python.
    assert "imagelab" in listing and str(Path(sys.prefix).resolve()) in listing


@pytest.mark.slow
def test_run_all_with_an_edited_parameters_cell(fixture_data, tmp_path):
    notebook = nbformat.read(ROOT / "notebooks" / "02_relu_mnist.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    # What a user does in JupyterLab: edit the values, then Run All.
    cell.source = (
        cell.source.replace('run_name: str = "relu_mnist"', 'run_name: str = "my_relu"')
        .replace("epochs: int = 12", "epochs: int = 1")
        .replace(
            "results_dir: Optional[str] = None", f"results_dir: Optional[str] = {str(tmp_path)!r}"
        )
    )
    assert (
        "my_relu" in cell.source
        and "epochs: int = 1 " in cell.source  # then its comment, as every parameter has
        and str(tmp_path) in cell.source
    )
    NotebookClient(
        notebook,
        kernel_name=notebook.metadata.kernelspec.name,
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    ).execute()
    assert store.load_run("my_relu", tmp_path).score["acc"] > 0


def test_changing_epochs_under_the_canonical_name_is_refused(fixture_data, tmp_path):
    params = exercises.notebook_defaults("cnn_mnist") | {"epochs": 2, "results_dir": str(tmp_path)}
    with pytest.raises(
        ValueError,
        match=r"reserved for the canonical 2019 settings.*epochs=2.*run_name='cnn_mnist_epochs2'",
    ):
        start_run("cnn_mnist", params)


def test_canonical_name_on_fixture_data_is_refused(fixture_data, tmp_path):
    params = exercises.notebook_defaults("dense_mnist") | {"results_dir": str(tmp_path)}
    with pytest.raises(ValueError, match="reserved for runs on the full, verified data set"):
        start_run("dense_mnist", params)
    assert not (tmp_path / "histories").exists()


# --- parameters cells: typed, so `papermill --help-notebook` says what each one takes ----------


def _conforms(value, annotation) -> bool:
    """Whether a default value is of its annotated type (Optional[...], list[...], plain)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        return any(_conforms(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(_conforms(item, args[0]) for item in value)
    if annotation is type(None):
        return value is None
    if annotation is float:  # an int is a float here, as type checkers read it
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, annotation) and (annotation is bool or not isinstance(value, bool))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_parameter_is_annotated_with_the_type_of_its_default(path):
    found = papermill.inspect_notebook(str(path))
    assert found
    for name, spec in found.items():
        assert spec["inferred_type_name"] != "None", f"{path.name}: {name} has no annotation"
        annotation = eval(spec["inferred_type_name"], {"Optional": typing.Optional})
        default = eval(spec["default"], {})
        assert _conforms(default, annotation), (path.name, name, spec)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_parameter_says_what_it_is(path):
    # `papermill --help-notebook` shows a parameter's trailing comment as its help text.
    found = papermill.inspect_notebook(str(path))
    undescribed = [name for name, spec in found.items() if not spec["help"].strip()]
    assert not undescribed, f"{path.name}: add a `# what it is` comment to {undescribed}"


EXERCISE_NOTEBOOKS = [path for path in NOTEBOOKS if path.name[:2].isdigit()]


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_says_up_front_that_run_all_shows_stored_results(path):
    # Run All with the defaults shows the stored results: the first cell says so and how to
    # retrain, in the words the run prints (run.RETRAIN), before the Train heading's promise.
    from imagelab.running.run import RETRAIN

    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0].source
    assert "Run All shows the stored results when they are up to date" in first
    assert RETRAIN in first
    train = next(c.source for c in notebook.cells if c.source.startswith("## Train\n"))
    assert "When the stored results are up to date, this cell shows them instead" in train


def test_papermill_help_shows_the_parameter_types():
    out = subprocess.run(
        [str(Path(sys.executable).parent / "papermill"), "--help-notebook"]
        + [str(ROOT / "notebooks" / "05_cifar10.ipynb")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Unknown type" not in out
    assert "epochs: int (default 20)" in out
    assert "learning_rate: Optional[float] (default 0.0001)" in out


# --- notebooks open clean and save clean, on any supported Python ----------------------------
# JupyterLab writes the kernel's kernelspec and language_info into a notebook when the kernel
# starts, and marks the notebook modified when that changes anything. The notebooks carry both,
# without the Python version (the one value that differs between Pythons); the server started
# from .venv (jupyter/jupyter_server_config.py) adds this Python's version when it hands a
# notebook to JupyterLab and strips it, with the outputs, when it saves one.


def _kernel_metadata() -> dict:
    """The kernelspec and language_info JupyterLab writes from the imagelab kernel on this Python."""
    spec = KernelSpecManager().get_kernel_spec("imagelab")
    return {
        "kernelspec": {
            "display_name": spec.display_name,
            "language": spec.language,
            "name": "imagelab",
        },
        "language_info": dict(IPythonKernel.language_info),  # what the kernel's kernel_info says
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_carries_the_kernels_metadata_without_the_python_version(path):
    expected = _kernel_metadata()
    del expected["language_info"]["version"]
    assert nbformat.read(path, as_version=4).metadata == expected  # and nothing else


def test_stripping_filter_leaves_the_committed_notebooks_unchanged():
    # The git clean filter (nbstripout) keeps kernelspec and language_info, what JupyterLab
    # writes when it opens a notebook, so opening one does not mark it modified. `make setup`
    # tells it to keep them even when a user's git config asks it to strip them.
    for strip in ([], ["--extra-keys", "metadata.language_info metadata.kernelspec"]):
        verify = subprocess.run(
            [sys.executable, "-m", "nbstripout", "--verify", *strip, *map(str, NOTEBOOKS)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert verify.returncode == 0, (strip, verify.stdout, verify.stderr)


def _as_run_and_saved(path: Path) -> nbformat.NotebookNode:
    """A committed notebook as JupyterLab holds it after Run All: outputs, execution counts, a
    new cell id, output metadata, and the kernel's language_info with this Python's version."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.language_info = _kernel_metadata()["language_info"]
    for count, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        cell.execution_count = count + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="epoch 1/12\n")]
        cell.metadata["scrolled"] = True
        cell.id = uuid.uuid4().hex[:8]
    return notebook


def test_git_stores_a_run_notebook_as_committed():
    # What another Jupyter saves (outputs, this Python's version) leaves `git status` clean: the
    # clean filter, configured by `make setup`, strips the version too.
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    path = ROOT / "notebooks" / "02_relu_mnist.ipynb"

    def blob(*options: str, text: str | None = None) -> str:
        return subprocess.run(
            ["git", "hash-object", *options],
            input=text,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    stored = blob(
        "--stdin",
        "--path",
        "notebooks/02_relu_mnist.ipynb",
        text=nbformat.writes(_as_run_and_saved(path)),
    )
    assert stored == blob("--no-filters", str(path)), (
        "git's nbstripout filter keeps the Python version: run "
        "`git config filter.nbstripout.extrakeys metadata.language_info.version` (make setup does)"
    )


@pytest.fixture
def contents(tmp_path):
    """The contents manager of jupyter/jupyter_server_config.py on a git repository holding a
    copy of a committed notebook, with build/ ignored (as the project's executed copies are)."""
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "build").mkdir()
    (tmp_path / "notebooks" / "02_relu_mnist.ipynb").write_bytes(
        (ROOT / "notebooks" / "02_relu_mnist.ipynb").read_bytes()
    )
    config = runpy.run_path(
        str(ROOT / "jupyter" / "jupyter_server_config.py"), init_globals={"get_config": Config}
    )
    manager_class = config["c"].ServerApp.contents_manager_class
    return manager_class(root_dir=str(tmp_path))


def test_jupyterlab_gets_a_notebook_with_the_version_its_kernel_reports(contents):
    model = asyncio.run(contents.get("notebooks/02_relu_mnist.ipynb"))
    assert model["content"]["metadata"] == _kernel_metadata()


def test_a_notebook_saved_from_jupyterlab_is_written_as_committed(contents):
    committed = (ROOT / "notebooks" / "02_relu_mnist.ipynb").read_bytes()
    run = _as_run_and_saved(ROOT / "notebooks" / "02_relu_mnist.ipynb")
    for path in ("notebooks/02_relu_mnist.ipynb", "notebooks/mine.ipynb"):
        asyncio.run(contents.save({"type": "notebook", "format": "json", "content": run}, path))
        assert (Path(contents.root_dir) / path).read_bytes() == committed, path


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_saving_a_run_notebook_leaves_git_status_clean(contents):
    # A student's Run All and Save must not show the notebook modified. git status trusts the
    # file size it cached at checkout: a saved file of another size is "modified" without git
    # running the stripping filter, while git diff (which runs it) shows nothing. Saved as
    # committed, byte for byte, the size matches and git finds the content unchanged.
    root = Path(contents.root_dir)
    (root / ".gitattributes").write_text("*.ipynb filter=nbstripout\n")
    with open(root / ".gitignore", "a") as ignore:
        ignore.write(".ipynb_checkpoints/\n")  # JupyterLab's copies, as the project ignores them
    strip = f"{shlex.quote(sys.executable)} -m nbstripout"
    _git(root, "config", "filter.nbstripout.clean", strip)
    _git(root, "config", "filter.nbstripout.smudge", "cat")
    _git(root, "config", "filter.nbstripout.extrakeys", "metadata.language_info.version")
    _git(root, "add", ".")
    _git(root, "commit", "--quiet", "-m", "notebook as committed")
    assert _git(root, "status", "--porcelain") == ""
    path = "notebooks/02_relu_mnist.ipynb"
    before = (root / path).stat().st_mtime_ns
    time.sleep(0.01)  # a new mtime: git must look at the content, as after a real save
    run = _as_run_and_saved(ROOT / path)
    asyncio.run(contents.save({"type": "notebook", "format": "json", "content": run}, path))
    assert (root / path).stat().st_mtime_ns != before
    assert _git(root, "status", "--porcelain") == ""
    assert _git(root, "diff", "--stat") == ""


def test_an_executed_copy_git_ignores_keeps_its_outputs_when_saved(contents):
    run = _as_run_and_saved(ROOT / "notebooks" / "02_relu_mnist.ipynb")
    model = {"type": "notebook", "format": "json", "content": copy.deepcopy(run)}
    asyncio.run(contents.save(model, "build/02_relu_mnist.ipynb"))
    assert (
        nbformat.read(Path(contents.root_dir) / "build" / "02_relu_mnist.ipynb", as_version=4)
        == run
    )


# --- the data folder without make ----------------------------------------------------------


def _project(tmp_path, setting: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "imagelab"\n\n[tool.imagelab]\n{setting}\n'
    )
    return project / "pyproject.toml"


def test_data_folder_defaults_to_the_project_setting_relative_to_the_project(tmp_path, monkeypatch):
    (tmp_path / "datasets").mkdir()
    monkeypatch.setattr(data, "PYPROJECT", _project(tmp_path, 'data = "../datasets"'))
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    assert data.data_dir() == tmp_path / "datasets"
    monkeypatch.setenv(data.DATA_ENV, "")  # make exports an empty variable: same as unset
    assert data.data_dir() == tmp_path / "datasets"


def test_data_environment_variable_wins_over_the_project_setting(tmp_path, monkeypatch):
    (tmp_path / "datasets").mkdir()
    monkeypatch.setattr(data, "PYPROJECT", _project(tmp_path, 'data = "../datasets"'))
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "elsewhere"))
    assert data.data_dir() == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    "setting", ['data = "../absent"', "", "# no data key"], ids=["missing", "empty", "none"]
)
def test_without_a_usable_project_folder_the_data_comes_from_keras(setting, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "PYPROJECT", _project(tmp_path, setting))
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    assert data.data_dir() is None


def test_an_installed_package_without_the_project_has_no_default(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "PYPROJECT", tmp_path / "pyproject.toml")
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    assert data.data_dir() is None
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "other"\n[tool.imagelab]\ndata = "."'
    )
    assert data.data_dir() is None


def test_a_data_setting_that_is_not_a_path_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "PYPROJECT", _project(tmp_path, "data = 3"))
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    with pytest.raises(
        data.DataError, match=r"\[tool.imagelab\] data in .* must name a folder.*got 3"
    ):
        data.data_dir()


def test_data_import_does_not_write_into_the_project_default_folder(tmp_path, monkeypatch, capsys):
    from imagelab.cli import main

    (tmp_path / "datasets").mkdir()
    monkeypatch.setattr(data, "PYPROJECT", _project(tmp_path, 'data = "../datasets"'))
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    written_to = []
    monkeypatch.setattr(
        data_import, "import_data", lambda source, out, force=False: written_to.append(out) or []
    )
    assert main(["data", "import", str(tmp_path)]) == 0
    assert written_to == [Path("data")]  # ./data, as without the default; never the verified copies
    said = capsys.readouterr().out
    assert f"to {tmp_path / 'data'}; use it with IMAGELAB_DATA={tmp_path / 'data'}" in said
    assert "./data, as neither --out nor IMAGELAB_DATA named a folder" in said  # where and why
    # ... and in the project, git does not list what it wrote as untracked.
    if (ROOT / ".git").exists():
        for path in ("data/checksums.json", "data/mnist.npz"):
            ignored = subprocess.run(["git", "check-ignore", "--quiet", path], cwd=ROOT)
            assert ignored.returncode == 0, f"git does not ignore {path}"


# --- JupyterLab as `make notebook` starts it, driven through its REST and websocket API -----


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_notebook_command(port: int, token: str) -> list[str]:
    """The JupyterLab command line of `make notebook`, as make would run it (`make -n` prints
    it without running anything)."""
    printed = subprocess.run(
        ["make", "-s", "-n", "notebook", f"PORT={port}", f"TOKEN={token}", "NO_BROWSER=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")
    line = next(line for line in printed.splitlines() if "jupyter lab" in line)
    return shlex.split(line)


def test_readme_names_the_url_make_notebook_prints():
    # One URL, the same in the README and the terminal: JupyterLab's log masks a chosen token
    # as "...", so `make notebook` prints the URL itself, on a port it fixes.
    printed = subprocess.run(
        ["make", "-s", "-n", "notebook", "PORT=8890", "TOKEN=secret", "NO_BROWSER=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    url = "http://localhost:8890/lab/tree/notebooks?token=secret"
    assert f"== open {url}" in printed
    assert "--ServerApp.port=8890 --ServerApp.port_retries=0" in printed
    readme = (ROOT / "README.md").read_text()
    assert url in readme and "/lab?token=" not in readme


class Lab:
    """A JupyterLab server on loopback and the few calls a browser makes to it."""

    def __init__(self, port: int, token: str) -> None:
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, str]:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def get(self, path: str) -> dict:
        status, _, text = self.request("GET", path)
        assert status == 200, (path, status, text[:500])
        return json.loads(text)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # report redirects instead of following them
        return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab started with `make notebook`'s command line on a free loopback port, with a
    fresh token and without IMAGELAB_DATA (as `.venv/bin/jupyter lab` run by hand would be)."""
    port, token = _free_port(), secrets.token_hex(16)
    command = _make_notebook_command(port, token) + ["--ServerApp.ip=127.0.0.1"]
    env = {k: v for k, v in os.environ.items() if k != data.DATA_ENV}
    for variable in ("JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        env[variable] = str(tmp_path_factory.mktemp(variable.lower()))  # not the user's own
    log = tmp_path_factory.mktemp("jupyter-log") / "lab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    client = Lab(port, token)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.request("GET", "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, (
                "JupyterLab did not answer in 60 s\n" + log.read_text()
            )
            time.sleep(0.3)
        yield client
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _run_cell(channel: websocket.WebSocket, kind: str, content: dict) -> list[dict]:
    """Send one shell request over the kernel's websocket channel; return the messages that
    answer it, up to its reply (a kernel_info_request) or to the kernel going idle again."""
    msg_id = uuid.uuid4().hex
    channel.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": kind,
                    "username": "test",
                    "session": uuid.uuid4().hex,
                    "date": "",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": content,
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    answers, replied, idle = [], False, kind != "execute_request"
    deadline = time.monotonic() + 120
    while not (replied and idle):
        assert time.monotonic() < deadline, f"no answer to {kind}: {answers}"
        message = json.loads(channel.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        answers.append(message)
        replied = replied or message["msg_type"].endswith("_reply")
        idle = idle or (
            message["msg_type"] == "status" and message["content"]["execution_state"] == "idle"
        )
    return answers


@pytest.mark.slow
def test_jupyterlab_serves_the_project_and_runs_a_cell_on_the_imagelab_kernel(lab):
    # Rooted at the project, opening on notebooks/.
    status, headers, _ = lab.request("GET", "/")
    assert status in (301, 302) and urlsplit(headers["Location"]).path == "/lab/tree/notebooks"
    assert lab.request("GET", "/lab/tree/notebooks")[0] == 200
    # The URL `make notebook` prints works in a browser: the token in the query, no header.
    printed = f"{lab.base}/lab/tree/notebooks?token={lab.token}"
    with urllib.request.urlopen(printed, timeout=30) as page:
        assert page.status == 200 and '"treePath": "notebooks"' in page.read().decode()
    root = {item["name"] for item in lab.get("/api/contents")["content"]}
    assert {"notebooks", "figures", "histories", "scores", "README.md"} <= root
    # Only the imagelab kernel on offer, and no news pop-up (settings installed in .venv).
    specs = lab.get("/api/kernelspecs")
    assert set(specs["kernelspecs"]) == {"imagelab"} and specs["default"] == "imagelab"
    notification = lab.get("/lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert notification["schema"]["properties"]["fetchNews"]["default"] == "false"

    # Open a notebook as the browser does, and start its kernel in a session.
    path = "notebooks/02_relu_mnist.ipynb"
    model = lab.get(f"/api/contents/{path}?type=notebook&content=1")
    spec = specs["kernelspecs"]["imagelab"]["spec"]
    assert model["type"] == "notebook" and model["content"]["metadata"]["kernelspec"] == {
        "name": "imagelab",
        "display_name": spec["display_name"],
        "language": spec["language"],
    }
    status, _, text = lab.request(
        "POST",
        "/api/sessions",
        {"path": path, "type": "notebook", "name": "", "kernel": {"name": "imagelab"}},
    )
    assert status == 201, text
    session = json.loads(text)
    try:
        url = lab.base.replace("http", "ws", 1)
        url += f"/api/kernels/{session['kernel']['id']}/channels?token={lab.token}"
        channel = websocket.create_connection(url, timeout=120)
        try:
            # What JupyterLab writes into the notebook when the kernel starts is what the server
            # handed it (this Python's version added): opening it changes nothing.
            info = _run_cell(channel, "kernel_info_request", {})[-1]["content"]
            assert info["status"] == "ok"
            assert info["language_info"] == model["content"]["metadata"]["language_info"]
            # Run a cell: imagelab imports, and finds the project's data folder by itself.
            code = "from imagelab import data\nprint(data.data_dir())\n1 + 1"
            answers = _run_cell(
                channel, "execute_request", {"code": code, "silent": False, "store_history": True}
            )
        finally:
            channel.close()
    finally:
        assert lab.request("DELETE", f"/api/sessions/{session['id']}")[0] == 204
    by_type = {message["msg_type"]: message["content"] for message in answers}
    assert by_type["execute_reply"]["status"] == "ok", by_type
    assert by_type["execute_result"]["data"]["text/plain"] == "2"
    assert by_type["stream"]["text"].strip() == str(data._default_data_dir(data.PYPROJECT))


@pytest.mark.slow
def test_saving_from_jupyterlab_writes_the_notebook_as_committed(lab):
    # JupyterLab's Save after Run All: outputs and the kernel's language_info go to the server,
    # which writes the notebook as git stores it. In a folder git does not ignore, like notebooks/.
    committed = ROOT / "notebooks" / "02_relu_mnist.ipynb"
    folder = Path(tempfile.mkdtemp(prefix="test-save-", dir=ROOT))
    try:
        body = {"type": "notebook", "format": "json", "content": _as_run_and_saved(committed)}
        status, _, text = lab.request("PUT", f"/api/contents/{folder.name}/saved.ipynb", body)
        assert status in (200, 201), text
        assert (folder / "saved.ipynb").read_bytes() == committed.read_bytes()
    finally:
        shutil.rmtree(folder)
