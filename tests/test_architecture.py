"""The layout is the architecture: a pure core, edges around it, the pipeline on top.

``kpi/core`` (rules, tiers, measures, scoring, pay, ladder, calendar, explain, inputs,
table) never reaches an I/O library or a module outside the core, not even through
another module: the check follows imports transitively. ``kpi/io`` and ``kpi/ledger``
never import the pipeline or an interface above them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import ROOT

PACKAGE = ROOT / "kpi"
IO_LIBRARIES = {"click", "openpyxl", "xlsxwriter", "sqlite3", "csv", "msoffcrypto", "python_calamine", "starlette",
                "fastapi", "jinja2", "uvicorn", "multipart", "argon2", "socket", "subprocess", "multiprocessing"}
LAYERS = {"core": 0, "io": 1, "ledger": 1, "pipeline": 2, "render": 3}  # a module may import its own layer and those below


def module_name(path: Path, package: Path = PACKAGE) -> str:
    relative = path.relative_to(package.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package: dotted name → file."""
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The modules ``path`` imports: kpi modules by dotted name, others by top-level name."""
    found: set[str] = set()
    for node in _run_time_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name if alias.name in known else alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "kpi":
                found.add(node.module.split(".")[0])
                continue
            for alias in node.names:  # "from kpi.core import rules" imports the module kpi.core.rules
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found


def _run_time_nodes(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (imports for type hints only)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                todo.extend(child.orelse)
            else:
                todo.append(child)


def closure(start: str, known: dict[str, Path]) -> set[str]:
    """Every module ``start`` reaches through imports, itself excluded, packages' __init__ included."""
    seen, todo = set(), [start]
    while todo:
        for name in imports(known[todo.pop()], known):
            parents = [".".join(name.split(".")[:i]) for i in range(2, name.count(".") + 1)]
            for reached in [name, *parents]:
                if reached not in seen and reached != start:
                    seen.add(reached)
                    if reached in known:
                        todo.append(reached)
    return seen


def violations(start: str, known: dict[str, Path]) -> set[str]:
    """What a core module reaches that it must not: an I/O library or a kpi module outside the core."""
    reached = closure(start, known)
    outside = {m for m in reached if m.startswith("kpi.") and not m.startswith("kpi.core")}
    return outside | (reached & IO_LIBRARIES)


KNOWN = modules()
CORE = [name for name in KNOWN if name.startswith("kpi.core.")]


def test_the_core_holds_the_domain():
    assert {f"kpi.core.{m}" for m in ("rules", "tiers", "measures", "scoring", "pay", "ladder", "calendar",
                                       "explain")} <= set(CORE)


@pytest.mark.parametrize("module", CORE)
def test_core_module_reaches_no_io_library_and_nothing_outside_the_core(module):
    assert violations(module, KNOWN) == set()


@pytest.mark.parametrize("module", [m for m in KNOWN if m.count(".") >= 2 and m.split(".")[1] in LAYERS])
def test_no_import_runs_back_up(module):
    """io and ledger never import the pipeline; nothing below imports kpi.web or the CLI."""
    layer = LAYERS[module.split(".")[1]]
    above = {m for m in imports(KNOWN[module], KNOWN)
             if m.startswith("kpi.") and m.count(".") >= 1 and LAYERS.get(m.split(".")[1], 3) > layer}
    assert above == set()


def test_the_check_sees_an_import_two_modules_away(tmp_path):
    """A core module that reaches the ledger through another core module is caught (pay → tiers → ledger)."""
    package = tmp_path / "kpi"
    (package / "core").mkdir(parents=True)
    (package / "ledger").mkdir()
    for init in (package, package / "core", package / "ledger"):
        (init / "__init__.py").write_text("")
    (package / "core" / "pay.py").write_text("from kpi.core import tiers\n")
    (package / "core" / "tiers.py").write_text("from kpi.ledger import db\n")
    (package / "ledger" / "db.py").write_text("import sqlite3\n")
    known = modules(package)
    assert violations("kpi.core.pay", known) == {"kpi.ledger", "kpi.ledger.db", "sqlite3"}
    (package / "core" / "tiers.py").write_text("from decimal import Decimal\n")
    assert violations("kpi.core.pay", modules(package)) == set()


def test_the_module_map_names_every_module():
    """docs/architecture.md names every module of the tree (and none that is gone), so the map stays true."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    files = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    named = {word.strip("`*|,.():") for word in text.split() if word.strip("`*|,.():").endswith(".py")}
    named = {name for name in named if name.startswith("kpi/")}
    assert files - named == set(), "modules missing from docs/architecture.md"
    assert named - files == set(), "docs/architecture.md names modules that do not exist"
