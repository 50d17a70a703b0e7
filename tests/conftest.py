import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test runs in its own directory with its own ledger."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_DB", str(tmp_path / "kpi.db"))
    monkeypatch.delenv("KPI_TODAY", raising=False)
