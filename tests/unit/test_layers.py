"""The package's import graph, lazy imports inside functions included: no cycles, and no layer reaches up.

Data flows one way (record -> conversation -> tokens+labels -> batch -> trainer): data and models never import
methods, train, infer or the command layer; methods never import train, infer or the command layer; train and
infer never import the command layer. ``from . import x`` of a submodule is an edge to that submodule.
"""
from __future__ import annotations

import ast
from pathlib import Path

import tune

ROOT = Path(tune.__file__).resolve().parent
COMMAND_LAYER = ("tune", "tune.__main__", "tune.cli", "tune.commands", "tune.preview")  # modules, not packages
FORBIDDEN = {  # package -> what it must not import
    "tune.data": ("tune.methods", "tune.train", "tune.infer", *COMMAND_LAYER),
    "tune.models": ("tune.methods", "tune.train", "tune.infer", *COMMAND_LAYER),
    "tune.methods": ("tune.train", "tune.infer", *COMMAND_LAYER),
    "tune.train": COMMAND_LAYER,
    "tune.infer": COMMAND_LAYER,
    "tune.prep": ("tune.methods", "tune.train", "tune.infer", *COMMAND_LAYER),
}


def modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    graph = {}
    for name, (path, is_package) in mods.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in mods}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    edges.add(sub if sub in mods else target)
        graph[name] = {e for e in edges if e in mods and e != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def covers(forbidden: str, module: str) -> bool:
    return module == forbidden or (forbidden not in COMMAND_LAYER and module.startswith(forbidden + "."))


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_no_layer_imports_a_higher_one():
    bad = [f"{src} -> {dst}" for src, dsts in import_graph().items() for dst in dsts
           for pkg, forbidden in FORBIDDEN.items()
           if (src == pkg or src.startswith(pkg + ".")) and any(covers(f, dst) for f in forbidden)]
    assert bad == []


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "tune.data.tokenizer_template" in graph["tune.data.templates"]  # imported inside a function
    assert "tune.methods.lora" in graph["tune.methods.qlora"]             # `from . import lora`


def test_unit_tests_start_no_process_and_train_nothing():
    """tests/unit is the fast, pure layer: no subprocess, no train(); what needs them lives in tests/integration."""
    import re

    from tests.conftest import REPO

    bad = [p.name for p in sorted((REPO / "tests" / "unit").glob("test_*.py"))
           if p.name != "test_layers.py" and re.search(r"\bsubprocess\b|(?<![.\w])train\(", p.read_text(encoding="utf-8"))]
    assert bad == []
