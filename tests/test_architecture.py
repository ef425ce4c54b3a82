"""The package's folders are its architecture: dependencies point down the layers, no import circles.

Every ``import`` of every module under ``src/pbr_rules`` is read (including the imports
inside functions, which are still dependencies), and:

- a component may import only components of a lower layer, or itself;
- outside a subpackage, only its public surface (its ``__init__``) is imported;
- modules import each other without circles;
- only ``evaluation/engine.py`` imports durable-rules.

The layers are the README's table; change both together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pbr_rules"

# layer of each component (a subpackage, or a top-level module); higher imports lower only
LAYERS: dict[str, int] = {
    "values": 0,  # money, periods, errors, personal_data, i18n (languages and Danish formats), lazy, collector
    "models": 1,
    "language": 2,
    "evaluation": 3,
    "settlement": 4,
    "finance": 5,
    "lawyers": 5,
    "importers": 5,
    "catalogue": 6,
    "ledger": 6,
    "reports": 7,
    "web": 8,  # the workspace pages; the API's app mounts them, so web never imports the API
    "api": 9,
    "cli": 10,
    "pytest_plugin": 10,
}
VALUES = {"money", "periods", "errors", "personal_data", "i18n", "lazy", "collector"}
# subpackages whose modules are private: others import their __init__ only
SURFACED = {"language", "evaluation", "settlement", "finance", "lawyers", "reports", "catalogue", "ledger", "importers"}
ENGINE_MODULE = "pbr_rules.evaluation.engine"


def module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def component(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "root"
    return "values" if parts[1] in VALUES else parts[1]


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, resolving relative ones."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.extend((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            # "from pbr_rules.x import y" may name a submodule y
            out.extend((f"{target}.{a.name}", node.lineno) for a in node.names if _is_module(f"{target}.{a.name}"))
    return out


def _is_module(name: str) -> bool:
    if not name.startswith("pbr_rules."):
        return False
    rel = Path(*name.split(".")[1:])
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def graph(root: Path = SRC) -> dict[str, list[tuple[str, int]]]:
    return {module_name(p, root): imports_of(p) for p in sorted(root.rglob("*.py"))}


def violations(deps: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Every broken rule, as 'module:line: what'."""
    found = []
    for mod, imported in deps.items():
        mine = component(mod)
        for target, line in imported:
            if target.split(".")[0] in {"durable", "durable_rules_engine"} and mod != ENGINE_MODULE:
                found.append(f"{mod}:{line}: imports durable-rules; only {ENGINE_MODULE} may")
            if not target.startswith("pbr_rules.") or target not in deps:
                continue
            theirs = component(target)
            if theirs == mine:
                continue
            if mine not in LAYERS or theirs not in LAYERS:
                found.append(f"{mod}:{line}: {target}: component '{theirs if theirs not in LAYERS else mine}' has no layer in LAYERS")
            elif LAYERS[theirs] >= LAYERS[mine]:
                found.append(f"{mod}:{line}: {mine} (layer {LAYERS[mine]}) imports {target} ({theirs}, layer {LAYERS[theirs]})")
            if theirs in SURFACED and target != f"pbr_rules.{theirs}":
                found.append(f"{mod}:{line}: imports {target}, private to {theirs}; import from pbr_rules.{theirs}")
    found.extend(f"import circle: {' -> '.join(c)}" for c in cycles(deps))
    return found


def cycles(deps: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Import circles among modules (a package's __init__ importing its own modules is not one)."""
    edges = {
        m: sorted({t for t, _ in imported if t in deps and t != m and not _init_of(m, t) and not _parent_init(t, m)})
        for m, imported in deps.items()
    }
    found, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in edges[m]:
            if state.get(t) == 1:
                found.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return found


def _init_of(package: str, module: str) -> bool:
    return module.startswith(package + ".")


def _parent_init(target: str, module: str) -> bool:
    # importing a.b.c runs a.b's __init__ first: that is the package loading, not an import circle
    return module.startswith(target + ".")


def test_the_package_keeps_its_layers_and_has_no_import_circles():
    assert violations(graph()) == []


def test_every_component_has_a_layer():
    comps = {component(m) for m in graph()} - {"root"}
    assert comps <= set(LAYERS), f"add {sorted(comps - set(LAYERS))} to LAYERS (and to the README's layer table)"


def test_only_the_engine_module_imports_durable_rules():
    users = [m for m, imported in graph().items() if any(t.split(".")[0] in {"durable", "durable_rules_engine"} for t, _ in imported)]
    assert users == [ENGINE_MODULE]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # a lower layer importing a higher one
            {"pbr_rules/language/loader.py": "from pbr_rules.evaluation import evaluate\n", "pbr_rules/evaluation/__init__.py": ""},
            "pbr_rules.language.loader:1: language (layer 2) imports pbr_rules.evaluation (evaluation, layer 3)",
        ),
        (  # a private module of another subpackage
            {"pbr_rules/cli/main.py": "from pbr_rules.language.loader import x\n", "pbr_rules/language/loader.py": "", "pbr_rules/language/__init__.py": ""},
            "pbr_rules.cli.main:1: imports pbr_rules.language.loader, private to language; import from pbr_rules.language",
        ),
        (  # a circle inside one subpackage, through a lazy import
            {"pbr_rules/cli/a.py": "def f():\n    from pbr_rules.cli.b import g\n", "pbr_rules/cli/b.py": "from pbr_rules.cli.a import f\n", "pbr_rules/cli/__init__.py": ""},
            "import circle: pbr_rules.cli.a -> pbr_rules.cli.b -> pbr_rules.cli.a",
        ),
        (  # durable-rules outside the engine module
            {"pbr_rules/finance/x.py": "import durable_rules_engine\n"},
            "pbr_rules.finance.x:1: imports durable-rules; only pbr_rules.evaluation.engine may",
        ),
    ],
)
def test_the_check_finds_each_kind_of_violation(tmp_path, files, expected):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    root = tmp_path / "pbr_rules"
    deps = {module_name(p, root): _imports_in(p, root) for p in sorted(root.rglob("*.py"))}
    assert expected in violations(deps)


def _imports_in(path: Path, root: Path) -> list[tuple[str, int]]:
    # imports_of resolves names against SRC; here the tree is a temporary one
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.extend((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.append((node.module or "", node.lineno))
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                rel = Path(*sub.split(".")[1:])
                if (root / rel).with_suffix(".py").exists():
                    out.append((sub, node.lineno))
    return out
