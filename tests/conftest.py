"""Shared test fixtures: the small real-data fixtures shipped in tests/fixtures."""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parents[1]


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
