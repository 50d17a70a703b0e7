"""The core stays pure: scoring, tiers and pay never import an I/O library."""

import ast

import pytest

from helpers import ROOT

CORE = ("agents", "calendar", "explain", "ladder", "measures", "numbers", "pay", "rules", "scoring", "tiers")
IO_LIBRARIES = {"click", "openpyxl", "xlsxwriter", "sqlite3", "csv", "msoffcrypto"}


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io_library(module):
    tree = ast.parse((ROOT / "kpi" / f"{module}.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & IO_LIBRARIES, imported & IO_LIBRARIES
