"""Shared test fixtures (the small real-data fixtures shipped in tests/fixtures) and the tiers.

Two tiers: ``make test-fast`` runs ``pytest -m "not slow"``, the unit tier, in under a minute;
``make test`` runs everything. A test is ``slow`` when it starts a Jupyter kernel (papermill,
nbclient), renders the PDF, trains through a notebook or runs real processes (Dask, imagelab in a
copy of the project). Mark it ``@pytest.mark.slow``; tests
that use a fixture which executes notebooks (``SLOW_FIXTURES``) are marked here. In the fast
tier, a test that starts a kernel without the mark fails and says so, so the tier cannot slow
down unnoticed.
"""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parents[1]

# Fixtures that execute notebooks (the report, a sweep): every test using one is slow.
SLOW_FIXTURES = {"report_text", "synthetic_results", "serial"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _no_kernels_in_the_fast_tier(request, monkeypatch):
    """Fail an unmarked test that starts a kernel when the run leaves slow tests out."""
    fast_tier = "not slow" in (request.config.getoption("markexpr") or "")
    if not fast_tier or request.node.get_closest_marker("slow"):
        yield
        return
    from jupyter_client.manager import AsyncKernelManager, KernelManager

    message = (
        f"{request.node.nodeid} starts a Jupyter kernel: mark it @pytest.mark.slow "
        "(the fast tier runs no kernels)"
    )

    def refuse(*args, **kwargs):
        raise RuntimeError(message)

    async def refuse_async(*args, **kwargs):
        raise RuntimeError(message)

    # Every kernel papermill, nbclient or jupyter_client starts in this process passes here.
    monkeypatch.setattr(KernelManager, "start_kernel", refuse)
    monkeypatch.setattr(KernelManager, "_async_start_kernel", refuse_async)
    monkeypatch.setattr(AsyncKernelManager, "start_kernel", refuse_async)
    yield


def copy_committed_run(name: str, results_dir: Path):
    """The committed run ``name`` (its whole set: history, score, predictions, figures and
    provenance) copied into ``results_dir``, to damage or judge there."""
    import shutil

    from imagelab import records
    from imagelab.results import exercises, manifest

    source, target = records.run_files(name), records.run_files(name, results_dir)
    kind = exercises.get_exercise(exercises.CANONICAL_NAMES[name][0])
    for path in [*manifest.members(source, kind), source.provenance]:
        copy = results_dir / path.relative_to(source.results_dir)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, copy)
    return target


def seal_run(files, exercise: str | None = None) -> None:
    """Make a run written by hand one set, as a publish seals it: a 1x1 PNG for each figure of
    its exercise not drawn, then the manifest of its files recorded in its provenance."""
    import json

    from PIL import Image

    from imagelab.results import exercises, manifest

    provenance = json.loads(files.provenance.read_text())
    kind = exercises.get_exercise(exercise or provenance["exercise"])
    for figure in kind.figures:
        path = files.figure(figure)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (1, 1)).save(path, format="PNG")
    manifest.seal(files, manifest.members(files, kind))


@pytest.fixture
def fixture_data(monkeypatch):
    """Point IMAGELAB_DATA at the shipped fixtures (300/100 MNIST, 200/100 CIFAR-10 images)."""
    from imagelab import data

    monkeypatch.setenv(data.DATA_ENV, str(FIXTURES))
    data.load_raw.cache_clear()
    yield FIXTURES
    data.load_raw.cache_clear()


@pytest.fixture
def data_folder(tmp_path, monkeypatch):
    """An empty data folder named by IMAGELAB_DATA, for tests that plant broken files."""
    from imagelab import data

    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv(data.DATA_ENV, str(folder))
    data.load_raw.cache_clear()
    yield folder
    data.load_raw.cache_clear()
