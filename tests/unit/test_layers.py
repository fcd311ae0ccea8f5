"""The package's import graph, lazy imports inside functions included: no cycles, and no layer reaches up.

Data flows one way (record -> conversation -> tokens+labels -> batch -> trainer). From the floor up: the shared
pieces (paths, precision, errors, choices, distributed) import no other part of tune; data and models never
import methods, config, the loss, train, infer or the command layer; methods and export formats never import
config, train, infer or the command layer; config (the schema over data, methods and export formats) never
imports the loss, train, infer or the command layer; the loss sits below train and infer; infer never imports
train; train and infer never import the command layer (cli/, and the package's own face, tune/__init__.py).
``python -m tune.train`` (tune.train.__main__) is the command layer's, spelt where -m needs it.
``from . import x`` of a submodule is an edge to that submodule.
"""
from __future__ import annotations

import ast
from pathlib import Path

import tune

ROOT = Path(tune.__file__).resolve().parent
COMMAND_LAYER = ("tune", "tune.__main__", "tune.cli", "tune.train.__main__")  # "tune": the package's own face
SHARED = ("tune.paths", "tune.precision", "tune.errors", "tune.choices", "tune.distributed", "tune.extras")
TUNE_PARTS = ("tune.data", "tune.models", "tune.methods", "tune.exports", "tune.config", "tune.loss", "tune.train",
              "tune.infer", "tune.prep", "tune.rundir", "tune.outputs", *COMMAND_LAYER)
ABOVE_DATA = ("tune.methods", "tune.exports", "tune.config", "tune.loss", "tune.train", "tune.infer", *COMMAND_LAYER)
FORBIDDEN = {  # module or package -> what it must not import
    **{shared: TUNE_PARTS for shared in SHARED},
    "tune.data": ABOVE_DATA,
    "tune.models": ABOVE_DATA,
    "tune.prep": ABOVE_DATA,
    "tune.methods": ("tune.config", "tune.train", "tune.infer", *COMMAND_LAYER),
    "tune.exports": ("tune.config", "tune.train", "tune.infer", *COMMAND_LAYER),
    "tune.config": ("tune.loss", "tune.train", "tune.infer", *COMMAND_LAYER),
    "tune.loss": ("tune.config", "tune.train", "tune.infer", *COMMAND_LAYER),
    "tune.train": COMMAND_LAYER,
    "tune.infer": ("tune.train", *COMMAND_LAYER),
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
    """``forbidden`` names ``module`` itself or a package above it ("tune", the package's face, is a module)."""
    return module == forbidden or (forbidden != "tune" and module.startswith(forbidden + "."))


def inside(module: str, rule: str) -> bool:
    return module == rule or module.startswith(rule + ".")


def violations(graph: dict[str, set[str]]) -> list[str]:
    return [f"{src} -> {dst}" for src, dsts in graph.items() for dst in sorted(dsts)
            for pkg, forbidden in FORBIDDEN.items()
            if inside(src, pkg) and src not in COMMAND_LAYER and any(covers(f, dst) for f in forbidden)]


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_no_layer_imports_a_higher_one():
    assert violations(import_graph()) == []


def test_the_rules_can_fail():
    """Each rule sees a forbidden edge of its kind (the check is not vacuous)."""
    graph = {"tune.infer.export": {"tune.train.run"}, "tune.paths": {"tune.config.schema"},
             "tune.config.schema": {"tune.cli.commands"}, "tune.data.dataset": {"tune.config"},
             "tune.train.__main__": {"tune.cli"}}
    assert {v.split(" -> ")[0] for v in violations(graph)} == {
        "tune.infer.export",
        "tune.paths",
        "tune.config.schema",
        "tune.data.dataset",
    }


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "tune.data.tokenizer_template" in graph["tune.data.templates"]  # imported inside a function
    assert "tune.methods.lora" in graph["tune.methods.qlora"]  # `from . import lora`


def test_unit_tests_start_no_process_and_train_nothing():
    """tests/unit is the fast, pure layer: no subprocess, no train(); what needs them lives in tests/integration."""
    import re

    from tests.conftest import REPO

    bad = [
        p.name
        for p in sorted((REPO / "tests" / "unit").glob("test_*.py"))
        if p.name != "test_layers.py" and re.search(r"\bsubprocess\b|(?<![.\w])train\(", p.read_text(encoding="utf-8"))
    ]
    assert bad == []
