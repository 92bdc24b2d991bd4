"""Shared fixtures: every test writes into temporary folders, never into the project's reports or cache."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REAL_DATA = os.environ.get("DIGITS_DATA_DIR")


def _mnist_on_disk() -> bool:
    """Whether ``digits.data`` finds MNIST without downloading it (DIGITS_DATA_DIR, data/raw or the Keras cache)."""
    from digits import data

    return data.find_mnist() is not None


needs_real_data = pytest.mark.skipif(
    not _mnist_on_disk(),
    reason="no copy of MNIST on disk: set DIGITS_DATA_DIR to a folder holding MNIST and USPS (docs/data.md), or "
    "run any notebook once to download them",
)


# make test runs on two workers (pytest-xdist, --dist loadgroup). The notebooks whose smoke runs others reuse
# through the run cache (01 and 04 train what 06, 07 and 10 read, 01 and 02 what 07 and 09 read; 06 trains 09's
# best recipe) are one unit, run in order by one worker and handed out first; every other test file and notebook
# is a unit of its own (its module fixtures built once), the slowest first, so that whichever worker is free takes
# the next and the two finish close together on any machine.
CHAINED_NOTEBOOKS = ("01_", "02_", "04_", "06_", "07_", "09_", "10_")
SLOWEST_FIRST = ("test_train.py", "test_reports.py", "test_tuning.py", "08_custom_images.ipynb",
                 "03_regularization_ablations.ipynb", "test_docs.py", "test_corpus.py", "test_bench.py")  # fmt: skip


def _chained(item) -> bool:
    return item.path.suffix == ".ipynb" and item.path.name.startswith(CHAINED_NOTEBOOKS)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group("chained notebooks" if _chained(item) else item.path.name))
    slow = {name: rank for rank, name in enumerate(SLOWEST_FIRST, start=1)}
    items.sort(key=lambda item: 0 if _chained(item) else slow.get(item.path.name, len(slow) + 1))  # stable


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path, monkeypatch):
    """Reports and the run cache go to a temporary folder for each test."""
    monkeypatch.setenv("DIGITS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path / "cache"))
    yield


@pytest.fixture
def fresh_loaders():
    """Forget loaded datasets before and after a test that changes where data comes from."""
    from digits import data

    data._load_mnist_arrays.cache_clear()
    data._load_usps_arrays.cache_clear()
    yield
    data._load_mnist_arrays.cache_clear()
    data._load_usps_arrays.cache_clear()


@pytest.fixture
def isolated_sources(tmp_path, monkeypatch, fresh_loaders):
    """No data anywhere: empty DIGITS_DATA_DIR, data/raw and Keras cache; downloads fail as if offline."""
    from digits import config

    for name in ("user", "raw", "keras"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("DIGITS_DATA_DIR", str(tmp_path / "user"))
    monkeypatch.setattr(config, "RAW_DATA_DIR", tmp_path / "raw")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: network is unreachable (test)")

    import keras

    monkeypatch.setattr(keras.utils, "get_file", offline)
    return tmp_path


@pytest.fixture(scope="session")
def small_splits():
    """A few thousand real MNIST images: enough for a model to learn in seconds."""
    from digits import data

    return data.mnist_splits(n_train=3_000, n_val=1_000, n_test=1_000)


@pytest.fixture(scope="session")
def small_model_path(tmp_path_factory, small_splits):
    """A model trained here in seconds (its accuracy does not depend on what the repository ships)."""
    from digits import train

    path = tmp_path_factory.mktemp("small_model") / "cnn.keras"
    train.fit("cnn3_regularized", small_splits, epochs=3, verbose=0, cache=False).model.save(path)
    return path
