"""The house drawn from its imports: which layer each module of ``src/imagelab`` is on, every
arrow between modules (function-level imports included: a lazy import is an arrow too), the
circles, and the arrows that climb to a higher layer.

    python tools/layers.py                      # the layers, circles and climbing arrows
    python tools/layers.py imagelab.running.sweeps   # ... and the climbs on that module's walk

The layers, lowest first; a module may import its own layer and those below it, never above
(tests/test_layers.py holds the package to it). Each folder's ``__init__`` says the same in words.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# Lowest first. A module belongs to the first layer whose prefix it starts with; the lab is every
# module at the package's top (and analysis/), which the notebooks call.
LAYERS = (
    ("lab", ("imagelab.analysis",)),
    ("results", ("imagelab.results",)),
    ("running", ("imagelab.running",)),
    ("judging", ("imagelab.judging",)),
    ("report", ("imagelab.report",)),
    ("cli", ("imagelab.cli", "imagelab.__main__")),
    ("face", ("imagelab",)),  # the package's __init__: the public names, start_run
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}


def layer_of(module: str) -> str:
    """The layer of ``module`` (a dotted name under ``imagelab``)."""
    if module == "imagelab":
        return "face"
    for name, prefixes in LAYERS[:-1]:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name
    return "lab"  # a module at the package's top


def modules(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted((src / "imagelab").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def arrows(src: Path = SRC) -> dict[str, set[str]]:
    """Each module's imports of the package's modules, from every ``import`` and ``from ...
    import`` in its syntax tree (inside functions too). ``from a import b`` points at ``a.b``
    when that is a module, else at ``a``."""
    known = modules(src)

    def resolve(name: str) -> str | None:
        parts = name.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        return ".".join(parts) or None

    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {resolve(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                if base.split(".")[0] == "imagelab":
                    targets |= {resolve(f"{base}.{alias.name}") for alias in node.names}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def climbing(graph: dict[str, set[str]], within: Iterable[str] | None = None) -> list[str]:
    """The arrows that point to a higher layer ('a (lab) -> b (results)'), among ``within``."""
    keep = set(graph if within is None else within)
    return [
        f"{source} ({layer_of(source)}) -> {target} ({layer_of(target)})"
        for source in sorted(keep)
        for target in sorted(graph[source])
        if target in keep and RANK[layer_of(target)] > RANK[layer_of(source)]
    ]


def walk(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` can reach through its imports (itself included)."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def main(argv: list[str]) -> int:
    graph = arrows()
    for name, _ in LAYERS:
        members = sorted(m for m in graph if layer_of(m) == name)
        print(f"{name} ({len(members)}): {', '.join(m.removeprefix('imagelab.') for m in members)}")
    print(f"circles: {circles(graph) or 'none'}")
    print("arrows up:", *(climbing(graph) or ["none"]), sep="\n  ")
    for start in argv:
        reached = walk(graph, start)
        up = climbing(graph, reached)
        print(f"{start} reaches {len(reached)} modules; arrows up among them: {len(up)}")
    return 1 if circles(graph) or climbing(graph) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
