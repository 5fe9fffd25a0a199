"""The lab's exercises: which notebook runs which model on which data, and one run of it.

A notebook's tagged ``parameters`` cell holds its canonical (2019) settings; this module reads
them from there (with papermill), so they are written down exactly once. ``start_run`` is the
first call of every exercise notebook: it validates the parameters, guards the canonical run
names, decides whether stored results are still up to date, seeds TensorFlow and loads the data.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import nbformat
import pandas as pd

from imagelab import data as datasets
from imagelab import plots, records
from imagelab.params import check_choice, check_parameter

NOTEBOOKS = records.PROJECT_ROOT / "notebooks"
FIGURES = ("history", "confusion", "misclassified")
# The modules whose code decides a run's numbers; a change to them makes stored results stale.
TRAINING_CODE = ("data.py", "models.py", "training.py")
# Parameters that say where and whether to run, not what is trained.
RUN_CONTROLS = ("run_name", "results_dir", "force")


@dataclass(frozen=True)
class Exercise:
    """One exercise of the 2019 lab."""

    name: str  # also the canonical run name
    notebook: str
    title: str
    dataset: str
    result_2019: dict[str, float] = field(default_factory=dict)  # test loss/acc 2019 reported

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOKS / self.notebook


EXERCISES = {
    exercise.name: exercise
    for exercise in [
        Exercise(
            "dense_mnist", "01_dense_mnist.ipynb", "Dense network, no activation (MNIST)", "mnist"
        ),
        Exercise(
            "relu_mnist",
            "02_relu_mnist.ipynb",
            "Dense network, ReLU (MNIST)",
            "mnist",
            {"loss": 0.0779087, "acc": 0.9801},
        ),
        Exercise(
            "cnn_mnist",
            "03_cnn_mnist.ipynb",
            "Convolutional network (MNIST)",
            "mnist",
            {"loss": 0.0459091, "acc": 0.9867},
        ),
        Exercise(
            "cnn_dropout_mnist",
            "04_cnn_dropout_mnist.ipynb",
            "Convolutional network with dropout (MNIST)",
            "mnist",
        ),
        Exercise(
            "cifar10_cnn",
            "05_cifar10.ipynb",
            "Convolutional network (CIFAR-10)",
            "cifar10",
            {"loss": 1.007252, "acc": 0.6429},
        ),
    ]
}


def get_exercise(name: str) -> Exercise:
    """The exercise called ``name``, or a ValueError listing the known ones."""
    check_choice("exercise", name, tuple(EXERCISES))
    return EXERCISES[name]


# --- parameters ------------------------------------------------------------------------


def notebook_defaults(exercise: str) -> dict[str, object]:
    """The canonical settings: the values of the notebook's tagged ``parameters`` cell."""
    import papermill

    path = get_exercise(exercise).notebook_path
    found = papermill.inspect_notebook(str(path))
    cell = next(
        c
        for c in nbformat.read(path, as_version=4).cells
        if "parameters" in c.metadata.get("tags", [])
    )
    assigned = {
        t.id
        for node in ast.parse(cell.source).body
        if isinstance(node, (ast.Assign, ast.AnnAssign))  # `epochs = 12` or `epochs: int = 12`
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    if assigned != set(found):  # papermill skips lines it cannot parse (an "=" in a comment)
        raise ValueError(
            f"{path}: papermill cannot read parameters {sorted(assigned - set(found))}"
        )
    return {name: ast.literal_eval(spec["default"]) for name, spec in found.items()}


def settings_of(params: dict[str, object]) -> dict[str, object]:
    """The parameters that decide what is trained (everything but the run controls)."""
    return {k: v for k, v in params.items() if k not in RUN_CONTROLS}


def fingerprint(exercise: str) -> dict[str, str]:
    """Hashes of what decides a run's numbers: the training code, and the notebook's code cells
    up to the one that calls ``run.fit`` (later cells only plot and discuss the results)."""
    notebook = nbformat.read(get_exercise(exercise).notebook_path, as_version=4)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
            cells.append(cell.source)
            if "run.fit(" in cell.source:
                break
    package = Path(__file__).parent
    return {
        "notebook_sha256": records.sha256_text(*cells),
        "code_sha256": records.sha256_text(*((package / f).read_text() for f in TRAINING_CODE)),
    }


def trained_by_current_code(provenance: dict) -> bool:
    """Whether a stored run was trained by today's training code and notebook (the notebook
    that ran it, named in its provenance), so its numbers compare with a run made now."""
    return provenance.get("fingerprint") == fingerprint(provenance["exercise"])


def run_state(exercise: str, params: dict[str, object]) -> tuple[str, dict | None]:
    """Whether stored results answer these parameters: 'missing', 'up-to-date', 'stale'
    (same settings, older code or notebook) or 'different' (another run's settings)."""
    files = records.run_files(params["run_name"], params.get("results_dir"))
    if not files.provenance.is_file():
        return "missing", None
    stored = records.read_provenance(files.provenance)
    if _normal(stored.get("parameters")) != _normal(settings_of(params)):
        return "different", stored
    outputs = [files.history, files.score, files.predictions, *map(files.figure, FIGURES)]
    if not trained_by_current_code(stored) or not all(p.is_file() for p in outputs):
        return "stale", stored
    return "up-to-date", stored


def _normal(value: object) -> object:
    return json.loads(json.dumps(value, sort_keys=True))


def validate(exercise: str, params: dict[str, object]) -> dict[str, object]:
    """Check every parameter and the canonical-name rule; return the parameters unchanged."""
    defaults = notebook_defaults(exercise)
    unknown, missing = sorted(set(params) - set(defaults)), sorted(set(defaults) - set(params))
    if unknown or missing:
        raise ValueError(
            f"{exercise} takes exactly the parameters {sorted(defaults)}; "
            f"unknown: {unknown}, missing: {missing}"
        )
    for name, value in params.items():
        check_parameter(name, value)
    canonical_names = {name for name in EXERCISES}
    if params["run_name"] in canonical_names:
        if params["run_name"] != exercise:
            raise ValueError(
                f"run_name {params['run_name']!r} is reserved for the {params['run_name']} "
                f"exercise; choose another name"
            )
        changed = {
            k: v for k, v in settings_of(params).items() if _normal(v) != _normal(defaults[k])
        }
        if changed:
            listed = ", ".join(f"{k}={v!r} (canonical {defaults[k]!r})" for k, v in changed.items())
            suggestion = exercise + "_" + "_".join(f"{k}{v}" for k, v in changed.items())
            raise ValueError(
                f"run_name {exercise!r} is reserved for the canonical 2019 settings, and this run "
                f"changes {listed}. Give it a new name so the committed results stay as they "
                f"are, for example run_name={_slug(suggestion)!r}"
            )
    return params


def _slug(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "-" for c in text.lower())
    return cleaned.strip("-_")[:64] or "run"


# --- one run ---------------------------------------------------------------------------


def _build(exercise: str, p: dict[str, object]):  # noqa: ANN202 (a keras.Model)
    from imagelab import quiet_tensorflow

    quiet_tensorflow()
    from imagelab import models  # TensorFlow loads here, not when the package is imported

    if exercise in ("dense_mnist", "relu_mnist"):
        return models.dense(p["units"], p["activation"])
    if exercise == "cifar10_cnn":
        return models.cifar10_cnn(p["filters"], p["dense_units"], p["dropout"])
    return models.mnist_cnn(p["filters"], p["dense_units"], p["dropout"])


@dataclass
class Run:
    """One run of an exercise: its parameters, data and files; created by ``start_run``."""

    exercise: Exercise
    params: dict[str, object]
    files: records.RunFiles
    data: datasets.Dataset
    cached: bool
    git: dict = field(default_factory=records.git_state)  # the code as the run started
    load_at_start: list = field(default_factory=lambda: list(os.getloadavg()))
    result: object = None  # training.FitResult once fitted or loaded

    @property
    def name(self) -> str:
        return self.files.run_name

    def build_model(self):  # noqa: ANN201 (a keras.Model; keras is imported lazily by models)
        """The exercise's model, built with this run's parameters (after seeding)."""
        return _build(self.exercise.name, self.params)

    def fit(self, model: object):  # noqa: ANN201 (training.FitResult)
        """Train and evaluate, write history, score and predictions; or load them if cached."""
        if self.cached:
            self.result = self._stored_result()
            print(f"[{self.name}] showing the stored results (pass force=True to retrain)")
            return self.result
        from imagelab import training

        started = dt.datetime.now(dt.timezone.utc)
        p = self.params
        self.result = training.fit(
            model,
            self.data,
            optimizer=p["optimizer"],
            learning_rate=p["learning_rate"],
            decay=p["decay"],
            epochs=p["epochs"],
            batch_size=p["batch_size"],
            validation_split=p["validation_split"],
            seed=p["seed"],
            shuffle=p["shuffle"],
            validate_on_test=p.get("validate_on_test", False),
            label=self.name,
        )
        records.write_csv(self.result.history, self.files.history)
        records.write_csv(pd.DataFrame([self.result.score]), self.files.score)
        records.write_csv(self.result.predictions, self.files.predictions)
        records.write_json(self._provenance(started, model), self.files.provenance)
        print(
            f"[{self.name}] test loss {self.result.score['loss']:.4f}, "
            f"test accuracy {self.result.score['acc']:.4f}; wrote {self.files.history}, "
            f"{self.files.score} and {self.files.provenance.name}"
        )
        return self.result

    def _stored_result(self):  # noqa: ANN202
        from imagelab import training

        history = records.read_history(self.files.history)
        seconds = history.drop_duplicates("epoch").sort_values("epoch")["seconds"].tolist()
        return training.FitResult(
            history=history,
            score=records.read_score(self.files.score),
            predictions=pd.read_csv(self.files.predictions),
            epoch_seconds=seconds,
            train_seconds=float(sum(seconds)),
        )

    def _provenance(self, started: dt.datetime, model: object) -> dict:
        versions = {
            pkg: metadata.version(pkg)
            for pkg in ("tensorflow", "keras", "numpy", "pandas", "papermill", "imagelab")
        }
        return {
            "run_name": self.name,
            "exercise": self.exercise.name,
            "notebook": f"notebooks/{self.exercise.notebook}",
            "parameters": settings_of(self.params),
            "seed": self.params["seed"],
            "data": {
                "dataset": self.data.name,
                "source": self.data.source,
                "checksums": self.data.checksums,
                "verified_against": self.data.verified_against,
                "n_train": len(self.data.x_train),
                "n_test": len(self.data.x_test),
            },
            "model": {"name": model.name, "params": int(model.count_params())},
            "fingerprint": fingerprint(self.exercise.name),
            "git": self.git,
            "versions": versions | {"python": platform.python_version()},
            "machine": {"cpu": _cpu_name(), "cores": _cores(), "platform": platform.platform()},
            # Other processes on the machine slow the epochs down: 1-minute load averages.
            "load_average": {"start": self.load_at_start, "end": list(os.getloadavg())},
            "epoch_seconds": self.result.epoch_seconds,
            "train_seconds": self.result.train_seconds,
            "wall_seconds": time.time() - started.timestamp(),
            "started": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "score": self.result.score,
        }

    def plot_history(self):  # noqa: ANN201
        """The 2019 history figure, saved as figures/<run>_history.png."""
        fig = plots.history(self.result.history, title=f"{self.name}: training history")
        plots.save(fig, self.files.figure("history"))
        return fig

    def plot_confusion(self):  # noqa: ANN201
        """The test-set confusion matrix, saved as figures/<run>_confusion.png."""
        fig = plots.confusion(
            self.result.predictions,
            self.data.class_names,
            title=f"{self.name}: confusion matrix (test set)",
        )
        plots.save(fig, self.files.figure("confusion"))
        return fig

    def plot_misclassified(self):  # noqa: ANN201
        """A grid of misclassified test images, saved as figures/<run>_misclassified.png."""
        fig = plots.misclassified(self.result.predictions, self.data.x_test, self.data.class_names)
        plots.save(fig, self.files.figure("misclassified"))
        return fig


def start_run(exercise: str, namespace: dict[str, object]) -> Run:
    """Validate a notebook's parameters, then seed, load the data and decide whether to train.

    ``namespace`` is the notebook's ``globals()``: the names of its tagged ``parameters`` cell
    are read from it, so papermill's injected values and interactive edits both count.

    Stops with a ValueError before any training when a parameter is wrong, when a canonical
    run name is used with non-canonical settings, or when ``run_name`` already holds another
    run's results (unless ``force=True``). Stored results that are up to date are shown
    instead of retraining, unless ``force=True``.
    """
    params = {name: namespace[name] for name in notebook_defaults(exercise) if name in namespace}
    validate(exercise, params)
    state, stored = run_state(exercise, params)
    if state == "different" and not params["force"]:
        raise ValueError(
            f"run_name {params['run_name']!r} already holds the results of a run with other "
            f"settings ({_differences(stored['parameters'], settings_of(params))}); choose a new "
            "run_name, or pass force=True to replace them"
        )
    data = datasets.load(
        get_exercise(exercise).dataset,
        limit=params["data_limit"],
        flatten=exercise in ("dense_mnist", "relu_mnist"),
    )
    # Canonical runs need the full data: our built-in checksums, or keras.datasets' own download.
    full_data = data.verified_against.startswith(
        ("imagelab.data.KNOWN_CHECKSUMS", "keras.datasets")
    )
    if params["run_name"] == exercise and not full_data:
        raise ValueError(
            f"run_name {exercise!r} is reserved for runs on the full, verified data set; this "
            f"data comes from {data.source} ({data.verified_against}). Give the run a new run_name."
        )
    same_data = stored is not None and stored["data"]["checksums"] == data.checksums
    cached = state == "up-to-date" and same_data and not params["force"]
    files = records.run_files(params["run_name"], params["results_dir"])
    if cached:
        print(
            f"[{files.run_name}] results are up to date (trained {stored['finished']}, "
            f"commit {str(stored['git']['commit'])[:10]}); not retraining."
        )
    else:
        from imagelab import quiet_tensorflow

        quiet_tensorflow()
        from imagelab import training

        training.configure_threads()
        training.set_seed(params["seed"])
        print(
            f"[{files.run_name}] {len(data.x_train)} training and {len(data.x_test)} test "
            f"images from {data.source} (verified against {data.verified_against})"
        )
    return Run(get_exercise(exercise), dict(params), files, data, cached)


def _differences(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if _normal(old.get(k)) != _normal(new.get(k)))
    return ", ".join(f"{k}: stored {old.get(k)!r}, now {new.get(k)!r}" for k in keys)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
