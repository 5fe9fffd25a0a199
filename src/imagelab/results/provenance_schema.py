"""What a stored run's provenance (``scores/<run>.json``) must hold: its schema, in one place.

``SCHEMA`` lists every key a provenance can hold, with whether it is required, what is allowed
in words and the test; ``problem`` checks a provenance against it, then what a table cannot say
(each parameter by the notebook's rules, the data set the exercise trains on, the canonical
names' data by content) and the facts that must agree (``imagelab.results.provenance_facts``).
``imagelab.results.store`` reads every provenance through it, so a string where a number belongs, a
fingerprint that is not an object or a score outside [0, 1] stops there as a damaged file, never
as a traceback in the report or in ``imagelab lab``.

Unknown keys are refused alike everywhere: an object the schema describes key by key holds no
other key (a typo under ``score`` is refused as one under ``parameters`` is). Two objects are
judged by their own rules instead: ``parameters`` (each by the notebook's rules, the set by the
exercise's notebook) and ``files`` (the manifest of the run's files, ``imagelab.results.manifest``).

Why a table of our own, not pydantic or jsonschema (tried for issue 37): a pydantic model of
the same keys came to 170 lines against these 229, but its messages say less ("input should be
less than or equal to 1" where this says "which must be an accuracy in [0, 1]"; a typo under
``score`` no longer lists the keys it could have been), the canonical runs' extra keys stayed
hand-written, and it adds pydantic and its compiled core. jsonschema (pinned already, through
nbformat) accepts NaN and infinity as numbers and says "5.0 is greater than the maximum of 1".
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable

from imagelab import data as datasets
from imagelab.errors import UserError
from imagelab.params import SEED_MAX, check_parameter
from imagelab.results import provenance_facts
from imagelab.results.exercises import CANONICAL_NAMES, EXERCISES, REGISTRY
from imagelab.results.fingerprint import PINNED_LIBRARIES

# The parameters the Playground shares with the Keras exercises, checked by the same rules; its
# others (features, hidden, ...) are its own (``playground_run.check_settings``).
PLAYGROUND_RULED = ("epochs", "batch_size", "seed", "learning_rate")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _nonnegative(value: object) -> bool:
    """A finite number >= 0: seconds, a loss, a load average."""
    return _number(value) and value >= 0


def _text(value: object) -> bool:
    return isinstance(value, str)


def _mapping(value: object) -> bool:
    return isinstance(value, dict)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _numbers(value: object) -> bool:
    """A finite number, or a (nested) list of them: a weight array as JSON holds it."""
    return all(map(_numbers, value)) if isinstance(value, list) else _number(value)


def _listed(test: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: isinstance(value, list) and all(map(test, value))


def _or_null(test: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: value is None or test(value)


SHA256 = re.compile(r"^[0-9a-f]{64}$")
COMMIT = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64})$")  # git's sha1 or sha256 object names
# The packages whose versions a run records (``store.build_provenance``), and Python's.
VERSIONED = ("tensorflow", "keras", "numpy", "pandas", "papermill", "imagelab")
SECONDS = "a finite number of seconds >= 0"
TIME = "a date and time with its offset, as 2026-11-26T15:10:55+00:00"
# CANONICAL: required of a Keras exercise's run under a canonical name, which the report reads.
CANONICAL = "canonical"
# key (dotted; * matches any key of an object): (required, what is allowed, the test). A key is
# checked only when the object holding it passed; optional keys are checked when present.
SCHEMA: dict[str, tuple[bool | str, str, Callable[[object], bool]]] = {
    "run_name": (True, "the run's name", _text),
    "exercise": (True, f"one of {', '.join(REGISTRY)}", lambda v: _text(v) and v in REGISTRY),
    "notebook": (False, "a notebook path", _text),
    "attempt": (False, "the id of the attempt that published the run", _text),
    "files": (False, "an object: the run's files, each with its bytes and sha256", _mapping),
    "parameters": (True, "an object of the notebook's parameters", _mapping),
    "seed": (
        True,
        f"null or an integer in [0, {SEED_MAX}]",
        _or_null(lambda v: _count(v) and v <= SEED_MAX),
    ),  # fmt: skip
    "data": (True, "an object: dataset, checksums, n_train, n_test", _mapping),
    "data.dataset": (True, "the data set's name", _text),
    "data.checksums": (CANONICAL, "an object of sha256s per array", _mapping),
    **{
        f"data.checksums.{array}": (
            False,
            "a sha256 (64 hex digits)",
            lambda v: _text(v) and SHA256.match(v),
        )
        for array in datasets.ARRAYS
    },  # fmt: skip
    "data.n_train": (CANONICAL, "an integer >= 0", _count),
    "data.n_test": (CANONICAL, "an integer >= 0", _count),
    "data.verified_against": (CANONICAL, "text", _text),
    "data.source": (False, "text", _text),
    "git": (True, "an object: commit, dirty", _mapping),
    "git.commit": (
        CANONICAL,
        "null or a full commit hash (40 hex digits)",
        _or_null(lambda v: _text(v) and COMMIT.match(v)),
    ),  # fmt: skip
    "git.dirty": (False, "true, false or null", _or_null(lambda v: isinstance(v, bool))),
    "versions": (True, "an object of package versions", _mapping),
    **{
        f"versions.{name}": (False, "a version string", _text) for name in (*VERSIONED, "python")
    },  # fmt: skip
    "score": (True, "an object of test loss and accuracy", _mapping),
    **{
        f"score.{name}": (False, "an accuracy in [0, 1]", lambda v: _number(v) and 0 <= v <= 1)
        for name in ("acc", "train_acc", "test_acc")
    },  # fmt: skip
    **{
        f"score.{name}": (False, "a finite loss >= 0", _nonnegative)
        for name in ("loss", "train_loss", "test_loss")
    },  # fmt: skip
    "fingerprint": (False, "null or an object: version, code_sha256, ...", _or_null(_mapping)),
    "fingerprint.version": (False, "an integer >= 1", lambda v: _count(v) and v >= 1),
    "fingerprint.code_sha256": (False, "a sha256", _text),
    "fingerprint.notebook_sha256": (False, "a sha256", _text),
    "fingerprint.libraries": (False, "an object of library versions", _mapping),
    **{
        f"fingerprint.libraries.{name}": (False, "a version string", _text)
        for name in PINNED_LIBRARIES
    },  # fmt: skip
    "fingerprint.precision": (False, "a precision's name", _text),
    # The fingerprints of earlier versions, kept by studies/fingerprint_migration.py.
    "fingerprint_v1": (False, "an object: code_sha256, notebook_sha256", _mapping),
    "fingerprint_v1.code_sha256": (False, "a sha256", _text),
    "fingerprint_v1.notebook_sha256": (False, "a sha256", _text),
    "fingerprint_v2": (False, "an object: version, code_sha256, ...", _mapping),
    "fingerprint_v2.version": (False, "an integer >= 1", lambda v: _count(v) and v >= 1),
    "fingerprint_v2.code_sha256": (False, "a sha256", _text),
    "fingerprint_v2.notebook_sha256": (False, "a sha256", _text),
    "fingerprint_v2.libraries": (False, "an object of library versions", _mapping),
    **{
        f"fingerprint_v2.libraries.{name}": (False, "a version string", _text)
        for name in PINNED_LIBRARIES
    },  # fmt: skip
    "model": (False, "null or an object: name, params", _or_null(_mapping)),
    "model.name": (False, "text", _text),
    "model.params": (False, "an integer >= 0", _count),
    # What imagelab.machine.describe() records.
    "machine": (CANONICAL, "an object describing the machine", _mapping),
    "machine.cores": (CANONICAL, "an integer >= 1", lambda v: _count(v) and v >= 1),
    "machine.cpu": (False, "text", _text),
    "machine.cpu_vendor": (False, "text", _text),
    "machine.cpu_family_model_stepping": (
        False,
        "a list of text or nulls",
        _listed(_or_null(_text)),
    ),  # fmt: skip
    "machine.isa_flags": (False, "a list of ISA flags", _listed(_text)),
    "machine.platform": (False, "text", _text),
    "machine.device": (False, "text", _text),
    "machine.onednn": (False, "true or false", lambda v: isinstance(v, bool)),
    **{
        f"machine.{name}": (False, "null or text", _or_null(_text))
        for name in ("tf_enable_onednn_opts", "onednn_max_cpu_isa", "imagelab_threads")
    },
    **{
        f"machine.{name}": (False, "an integer >= 0", _count)
        for name in ("intra_op_threads", "inter_op_threads")
    },  # fmt: skip
    "load_average": (False, "an object: start, end", _mapping),
    **{
        f"load_average.{when}": (False, "a list of load averages", _listed(_nonnegative))
        for when in ("start", "end")
    },  # fmt: skip
    "epoch_seconds": (CANONICAL, f"a list, each {SECONDS}", _listed(_nonnegative)),
    "train_seconds": (CANONICAL, SECONDS, _nonnegative),
    "wall_seconds": (False, SECONDS, _nonnegative),
    "cpu_seconds": (False, f"null or {SECONDS}", _or_null(_nonnegative)),
    "weights": (False, "a list of weight arrays (lists of finite numbers)", _listed(_numbers)),
    "runs": (False, "an integer >= 0 (the search's runs)", _count),
    "shape_seconds": (False, f"a list, each {SECONDS} (the search's)", _listed(_nonnegative)),
    "success": (False, "text (the search's rule of success)", _text),
    "started": (False, TIME, lambda v: provenance_facts.parse_time(v) is not None),
    "finished": (CANONICAL, TIME, lambda v: provenance_facts.parse_time(v) is not None),
}


def problem(provenance: object, run_name: str) -> str | None:
    """The first way ``provenance`` (the parsed JSON of ``run_name``) breaks the schema, in
    words that follow the file's name ("holds ..."); None when it holds."""
    if not isinstance(provenance, dict):
        return "is not a JSON object"
    missing = [key for key, (required, _, _) in SCHEMA.items() if required is True
               and "." not in key and key not in provenance]  # fmt: skip
    if missing:
        return f"lacks the keys {', '.join(missing)}"
    # A Keras exercise's run: trained on a loaded data set, which the report says it verified.
    keras = _text(provenance["exercise"]) and provenance["exercise"] in EXERCISES
    if provenance["run_name"] != run_name:
        return f"belongs to the run {provenance['run_name']!r}"
    return (
        _schema_problem(provenance, run_name in CANONICAL_NAMES and keras)
        or _unknown_key(provenance)
        or _parameter_problem(provenance)
        or provenance_facts.problem(provenance, run_name)
        or _data_problem(provenance, run_name)
    )


def _schema_problem(provenance: dict, canonical: bool) -> str | None:
    # In order: an object's own test comes before its keys', so these find a dict or nothing.
    for pattern, (required, allowed, test) in SCHEMA.items():
        parent, _, name = pattern.rpartition(".")
        holder = _at(provenance, parent)
        if not isinstance(holder, dict):
            continue  # an optional object that is absent (or null)
        for key in [k for k in holder if fnmatch.fnmatchcase(k, name)] or [name]:
            where = f"{parent}.{key}" if parent else key
            if key not in holder:
                if required is True or (required == CANONICAL and canonical):
                    return f"lacks the key {where}"
                continue
            if not test(holder[key]):
                return f"holds {where} = {_shown(holder[key])}, which must be {allowed}"
    return None


def _unknown_key(provenance: dict) -> str | None:
    """A key in an object the schema describes key by key that the schema does not know."""
    children: dict[str, list[str]] = {}
    for pattern in SCHEMA:
        parent, _, name = pattern.rpartition(".")
        children.setdefault(parent, []).append(name)
    for parent, names in children.items():
        holder = _at(provenance, parent)
        if not isinstance(holder, dict):
            continue
        for key in holder:
            if not any(fnmatch.fnmatchcase(key, name) for name in names):
                where = f"{parent}.{key}" if parent else key
                return (
                    f"holds the key {where}, which no run's provenance has "
                    f"({parent or 'a provenance'} holds {', '.join(names)})"
                )
    return None


def _at(provenance: dict, dotted: str) -> object:
    value: object = provenance
    for part in filter(None, dotted.split(".")):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _parameter_problem(provenance: dict) -> str | None:
    """Each stored parameter by the rules a notebook's parameters follow (``params.RULES``)."""
    keras = provenance["exercise"] in EXERCISES
    for name, value in provenance["parameters"].items():
        if not keras and name not in PLAYGROUND_RULED:
            continue
        try:
            check_parameter(name, value)
        except UserError as error:
            return f"holds parameters.{name} = {_shown(value)}: {error}"
    return None


def _data_problem(provenance: dict, run_name: str) -> str | None:
    """The data set must be the exercise's; under a canonical name, the verified copy."""
    dataset, exercise = provenance["data"]["dataset"], REGISTRY[provenance["exercise"]]
    if dataset != exercise.dataset:
        return f"says the {exercise.name} run trained on {dataset!r}, not {exercise.dataset!r}"
    if run_name not in CANONICAL_NAMES or dataset not in datasets.KNOWN_CHECKSUMS:
        return None
    data = provenance["data"]
    differences = datasets.canonical_differences(dataset, data.get("checksums"), data)
    if differences:
        return (
            f"holds the canonical run {run_name!r}, but its data is not the verified copy "
            f"({'; '.join(differences)}), so it cannot keep that name"
        )
    return None
