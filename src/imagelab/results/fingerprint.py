"""What decides a run's numbers, as a fingerprint that changes only when they could change.

A stored run is up to date when the code that trained it means the same as today's. The
fingerprint therefore hashes a *normal form* of exactly that code, not its text: each source is
parsed (``ast.parse``), its docstrings dropped and the tree rendered by ``render`` (node names and
their non-empty fields, no line numbers), so comments, docstrings and formatting (``ruff format``)
leave it unchanged while any change to what the code does changes it. ``render`` is ours, not
``ast.dump``: the text of ``ast.dump`` changes between Python versions (3.12 added ``type_params``
to every function and class, 3.13 stopped printing empty fields), and a fingerprint that did too
would call every stored run stale on another Python. Three parts:

- ``code_sha256``: the modules and functions listed in ``TRAINING_CODE``. Reading and verifying
  the data files is left out on purpose: the data checksums, which freshness checks on their
  own, pin what that code returns;
- ``notebook_sha256``: the exercise notebook's code cells up to the one that calls ``run.fit``
  (later cells only plot and discuss), without the parameters cell, whose values the stored
  parameters already record;
- ``libraries``: the versions of ``PINNED_LIBRARIES`` pinned in ``requirements.lock``, which
  decide the floating-point arithmetic as much as our code does.

Every source is read through one function (``read``), so the same fingerprint can be computed
for the files of an older commit (``git show COMMIT:PATH``), as the migration script does.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# Whole modules, or one function (``module:function`` or ``module:Class.method``).
TRAINING_CODE = (
    "imagelab.models",
    "imagelab.training",
    "imagelab.data:load",
    "imagelab.records:history_frame",
)
# What trains a run in bfloat16 (``fingerprint(precision=...)``).
PRECISION_CODE = ("imagelab.precision:apply", "imagelab.precision:float32_output")
PINNED_LIBRARIES = ("tensorflow", "keras", "numpy")
LOCK_FILE = "requirements.lock"
# Version 1 hashed the text of data.py, models.py and training.py; version 2 hashed
# ``ast.dump``, whose text differs between Python 3.11, 3.12 and 3.13.
VERSION = 3
# Changes to the training code that change not one number it trains (a speed-up; a stop for runs
# that diverge), keyed by the ``code_sha256`` before: the hash after, what changed, and the
# commit whose `make verify --all` found every exercise byte-identical to runs the older code
# trained on the same machine (reproductions/verify.csv), or, with ``evidence``, the
# studies/same_numbers.py table that did. Runs stored under the older hash stay up to date.
SAME_NUMBERS = {
    # Version 2 (ast.dump) called these aaf75d426c5c... and 49704f4dd5a2...: the code of
    # 594ab0d~1 and 594ab0d (studies/fingerprint_migration.py checks the correspondence).
    "dbb928ec290d18b70dca652386c3c0de6cf8fa94cfd7e2f400dd3b6c598c5c41": {
        "now": "cf3ca186e1e28d340de44f8c434b5e8b6a43a5113f16d7e68ed0bd6f8092fa2a",
        "change": "training.STEPS_PER_EXECUTION = 32: 32 steps per call into TensorFlow (#20)",
        "verified_at": "2859dc4e9971",
    },
    # The committed float32 runs come from another CPU, so the proof is every exercise trained
    # by the older and the newer code on one machine (an Intel Xeon, family 6 model 207),
    # compared value for value by studies/same_numbers.py; its bfloat16 runs were trained there.
    "cf3ca186e1e28d340de44f8c434b5e8b6a43a5113f16d7e68ed0bd6f8092fa2a": {
        "now": "8ca9ce3a54489058e1e05e233bcd1c743a9e6a32a68f53eb5d4c611fda38d3f0",
        "change": "training.EpochLog stops training after an epoch whose loss is not finite (#26)",
        "verified_at": "c30ce026113b",
        "evidence": "studies/same_numbers.csv",
    },
    "01ff0da28363f35e02e8a690fd751ee39a76af33926498d78f263c717d4e8031": {  # its bfloat16 code
        "now": "9a8d737ad26e1f41515ef13ad1009633e87cbb4ca536178f9e4b49ff5913198b",
        "change": "training.EpochLog stops training after an epoch whose loss is not finite (#26)",
        "verified_at": "c30ce026113b",
        "evidence": "studies/same_numbers.csv",
    },
    # Issue 39: the images stay uint8 until a batch is gathered (training.pixels); every batch
    # holds the bits of before. Every exercise retrained by the older and the newer code on one
    # machine (an AMD EPYC, family 25 model 17), in float32 and bfloat16, came out identical.
    "8ca9ce3a54489058e1e05e233bcd1c743a9e6a32a68f53eb5d4c611fda38d3f0": {
        "now": "754ec4281b778e5bbc17fb4249eee0ab83b221372164d0c653749c0a91a8d1e3",
        "change": "data.load keeps uint8 pixels; training.pixels scales each batch (#39)",
        "verified_at": "c02b67ca5597",
        "evidence": "studies/same_numbers_uint8.csv",
    },
    "9a8d737ad26e1f41515ef13ad1009633e87cbb4ca536178f9e4b49ff5913198b": {  # its bfloat16 code
        "now": "054cef556abb86122daf9e5626f0dbfdf9d805154822aafba02927933c0dffc5",
        "change": "data.load keeps uint8 pixels; training.pixels scales each batch (#39)",
        "verified_at": "c02b67ca5597",
        "evidence": "studies/same_numbers_uint8.csv",
    },
    # Issue 39 again: the test set predicted one batch per call (training.predicted_classes), not
    # in model.predict's graph of 32 batches, for memory. `make verify --all` at d870ed4 found the
    # six float32 runs identical to the committed ones (trained on the same CPU model); the
    # evidence file holds every exercise, float32 and bfloat16, retrained by the older and the
    # newer code on one AMD EPYC (family 25 model 17): identical in history, score, predictions.
    "754ec4281b778e5bbc17fb4249eee0ab83b221372164d0c653749c0a91a8d1e3": {
        "now": "d824ba75587d1b75ab2279e6938ba63a48103f9a1e14660720c5b6f3bfbff659",
        "change": "training.predicted_classes: the test set predicted one batch per call (#39)",
        "verified_at": "d870ed4ac8a8",
        "evidence": "studies/same_numbers_predictions.csv",
    },
    "054cef556abb86122daf9e5626f0dbfdf9d805154822aafba02927933c0dffc5": {  # its bfloat16 code
        "now": "60a3e1c7ab353fe1ea0f764fc21a484c10b32c0258d6c8038e5ec559327e8bd6",
        "change": "training.predicted_classes: the test set predicted one batch per call (#39)",
        "verified_at": "d870ed4ac8a8",
        "evidence": "studies/same_numbers_predictions.csv",
    },
}

Reader = Callable[[str], str]  # a path relative to the project root -> the file's text


def read_worktree(path: str) -> str:
    """The text of a project file as it is now."""
    return (PROJECT_ROOT / path).read_text()


def normal_form(source: str, name: str | None = None, where: str = "<source>") -> str:
    """The meaning of ``source`` (or of its function/class ``name``, dotted for a method) as
    text: the syntax tree without docstrings, comments, formatting or line numbers."""
    tree = ast.parse(source, filename=where)
    _drop_docstrings(tree)
    if name is None:
        return render(tree)
    node: ast.AST = tree
    for part in name.split("."):
        found = [
            child
            for child in getattr(node, "body", [])
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and child.name == part
        ]
        if not found:
            raise ValueError(f"{where}: no function or class {name!r} to fingerprint")
        node = found[-1]  # a later definition replaces an earlier one, as Python does
    return render(node)


def render(node: object) -> str:
    """A syntax tree as text that is the same on every Python from 3.11: each node's class name
    and its fields by name, leaving out fields that are None or empty. Newer Pythons add fields
    that are empty in code older ones can parse (``type_params`` from 3.12), so leaving empty
    fields out renders such code alike everywhere; positions are attributes, not fields, so
    they never appear."""
    if isinstance(node, ast.AST):
        fields = (
            f"{field}={render(value)}"
            for field in node._fields
            if (value := getattr(node, field, None)) is not None and value != []
        )
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return f"[{', '.join(render(item) for item in node)}]"
    return repr(node)


def _drop_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:]


def _module_path(module: str) -> str:
    return "src/" + module.replace(".", "/") + ".py"


def code_form(code: tuple[str, ...] = TRAINING_CODE, read: Reader = read_worktree) -> list[str]:
    """The normal forms of the listed training code, in order."""
    forms = []
    for item in code:
        module, _, name = item.partition(":")
        path = _module_path(module)
        forms.append(normal_form(read(path), name or None, where=path))
    return forms


def notebook_form(notebook: str, read: Reader = read_worktree) -> list[str]:
    """The normal forms of a notebook's code cells up to the one that calls ``run.fit``,
    the tagged parameters cell left out."""
    forms = []
    for source, tags in code_cells(read(notebook)):
        if "parameters" in tags:
            continue
        forms.append(normal_form(python_source(source), where=notebook))
        if "run.fit(" in source:
            break
    return forms


def code_cells(notebook_json: str) -> list[tuple[str, list[str]]]:
    """A notebook's code cells (from its JSON text), in order: each one's source as one string,
    and its tags."""
    cells = []
    for cell in json.loads(notebook_json)["cells"]:
        if cell["cell_type"] == "code":
            source = cell["source"]
            source = "".join(source) if isinstance(source, list) else source
            cells.append((source, cell.get("metadata", {}).get("tags", [])))
    return cells


def python_source(source: str) -> str:
    """A cell's source as plain Python: IPython syntax (%magic, !shell) translated by IPython."""
    try:
        ast.parse(source)
        return source
    except SyntaxError:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)


def pinned_versions(
    read: Reader = read_worktree, libraries: tuple[str, ...] = PINNED_LIBRARIES
) -> dict[str, str]:
    """The versions ``requirements.lock`` pins for ``libraries`` ('unpinned' if it does not)."""
    pins = {}
    for line in read(LOCK_FILE).splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return {library: pins.get(library, "unpinned") for library in libraries}


def _sha256(parts: list[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def fingerprint(
    notebook: str,
    code: tuple[str, ...] = TRAINING_CODE,
    read: Reader = read_worktree,
    precision: str = "float32",
) -> dict[str, object]:
    """The fingerprint of a run of ``notebook`` (a path relative to the project root). A run
    in another precision than float32 records it, and its code includes ``PRECISION_CODE``,
    which changes what it trains; a float32 run's fingerprint is what it was before precisions."""
    other = precision != "float32"
    code = (*code, *PRECISION_CODE) if other else code
    return {
        "version": VERSION,
        "code_sha256": _sha256(code_form(code, read)),
        "notebook_sha256": _sha256(notebook_form(notebook, read)),
        "libraries": pinned_versions(read),
    } | ({"precision": precision} if other else {})


def differences(stored: dict | None, current: dict) -> list[str]:
    """What differs between a stored fingerprint and the current one, in words (empty: same)."""
    stored = stored or {}
    if stored.get("version") != current["version"]:
        return [f"its fingerprint is of an older kind (version {stored.get('version', 1)})"]
    reasons = []
    if not trains_same_numbers(stored.get("code_sha256"), current["code_sha256"]):
        reasons.append("the training code has changed since")
    if stored.get("notebook_sha256") != current["notebook_sha256"]:
        reasons.append("the notebook's code has changed since")
    was, now = stored.get("precision", "float32"), current.get("precision", "float32")
    if was != now:
        reasons.append(f"it was trained in {was}, this run is in {now}")
    old, new = stored.get("libraries") or {}, current["libraries"]
    for library in sorted(set(old) | set(new)):
        if old.get(library) != new.get(library):
            reasons.append(
                f"{library} is pinned at {new.get(library)} now, it was {old.get(library)}"
            )
    return reasons


def trains_same_numbers(stored: str | None, current: str) -> bool:
    """Whether training code hashed ``stored`` trains what the ``current`` code does: the same
    hash, or a chain of ``SAME_NUMBERS`` entries leading from one to the other."""
    seen = set()
    while stored != current and stored in SAME_NUMBERS and stored not in seen:
        seen.add(stored)
        stored = SAME_NUMBERS[stored]["now"]
    return stored == current
