"""imagelab: the 2019 'Image recognition using deep networks' lab as reproducible notebooks.

The package is a house of layers; each imports only the layers below it (tests/test_layers.py
keeps it so, ``python tools/layers.py`` draws it), lowest first:

- **the lab**, the modules at this top level: what the exercise notebooks call. ``data`` (load
  and verify MNIST/CIFAR-10; ``data_import`` builds a data folder from the original files),
  ``models`` (the 2019 architectures and optimizers), ``training`` (seeded, timed fits),
  ``precision`` (float32 or bfloat16), ``records`` (a run's history/score CSVs, written
  atomically), ``plots`` and ``figures``, ``analysis`` (what a run's numbers say, in
  sentences), ``playground`` (exercise three's Playground), and their ground: ``params``,
  ``errors``, ``machine``, ``verified``, ``quiet``. It imports nothing above itself.
- ``results``: the results store: the exercises' registry, stored runs (read, validated,
  fresh or stale), staging, manifests, fingerprints, provenance, the side tables.
- ``running``: running many: one notebook run, the lab's batches, sweeps, the Playground search.
- ``judging``: what the stored runs say: seed noise, verify, reproductions, the 23 answers.
- ``report`` and ``cli``: the report's content, and the ``imagelab`` command.

This ``__init__`` is the face above them all: ``start_run`` (each notebook's first call) and the
public names (``imagelab.store`` is ``imagelab.results.store``, ``imagelab.run`` is
``imagelab.running.run``), imported on first use. TensorFlow is imported only by the modules
that train, so the command line stays quick.
"""

import importlib
import os

from imagelab.quiet import quiet_tensorflow  # noqa: F401 (the name users and benchmarks import)

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) says nothing useful here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__all__ = [
    "analysis",
    "data",
    "exercises",
    "models",
    "plots",
    "records",
    "run",
    "start_run",
    "store",
    "training",
]


def start_run(exercise: str, namespace: dict[str, object]) -> object:
    """What every exercise notebook calls first (``lab.start_run(NAME, globals())``): the
    Playground's run for exercise three (``playground_run.start``), else ``run.start_run``."""
    from imagelab.results import exercises
    from imagelab.running import run

    if exercise == exercises.PLAYGROUND.name:  # checks, makes and trains its data itself
        from imagelab.running import playground_run

        return playground_run.start(run.notebook_parameters(exercise, namespace))
    return run.start_run(exercise, namespace)


# The public names whose modules live in a layer's folder (``imagelab.store`` is
# ``imagelab.results.store``): the notebooks and users keep calling them by the short name.
HOMES = {"exercises": "results", "store": "results", "run": "running"}


def __getattr__(name: str) -> object:
    """Import submodules on first use (``imagelab.plots``)."""
    if name in __all__:
        home = f"imagelab.{HOMES[name]}" if name in HOMES else "imagelab"
        return importlib.import_module(f"{home}.{name}")
    raise AttributeError(f"module 'imagelab' has no attribute {name!r}")
