"""Runs every rule case in tests/cases/*.toml (see tests/cases/README.md)."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from helpers import CASES, agent, baseline, ruleset
from kpi.core import pay, scoring

RESULT_KEYS = ("total", "multiplier", "total_pay", "level_change", "band")


def load_cases(kind: str) -> list:
    return list(_cases(kind))


def _cases(kind: str):
    for path in sorted(CASES.glob("*.toml")):
        if path.name == "baseline.toml" or (path.name == "pay_bands.toml") != (kind == "pay"):
            continue
        with open(path, "rb") as handle:
            for index, case in enumerate(tomllib.load(handle)["case"]):
                yield pytest.param(case, id=f"{path.stem}[{index}] {case.get('name', case.get('total', ''))}")


def score_case(case: dict) -> scoring.AgentResult:
    rules_ = ruleset(case.get("period", "2026-09"))
    base = baseline()
    subject = agent({**base, **case.get("inputs", {})}, rules_)
    mates_spec = case.get("teammates", [{}] * 9)
    mates = [agent({**base, **spec}, rules_, agent_id=f"M{i:03d}") for i, spec in enumerate(mates_spec)]
    return scoring.score_month(rules_, [subject, *mates])[0]


@pytest.mark.parametrize("case", load_cases("items"))
def test_item_case(case):
    result = score_case(case)
    points = {item.item_id: item.points for item in result.items}
    expected = case["expect"]
    for item_id, value in expected.items():
        if item_id in RESULT_KEYS:
            continue
        assert points[item_id] == Decimal(value), f"{item_id}: {points[item_id]} != {value}"
    assert result.total == sum(points.values())
    checks = {"total": result.total, "multiplier": result.pay.multiplier,
              "total_pay": result.pay.total_pay, "level_change": result.pay.level_change.value}
    for key, actual in checks.items():
        if key in expected:
            want = expected[key] if key == "level_change" else Decimal(expected[key])
            assert actual == want, f"{key}: {actual} != {want}"
            if key == "total_pay":
                assert str(actual) == expected[key]  # exactly two decimals


@pytest.mark.parametrize("case", load_cases("pay"))
def test_pay_case(case):
    rules_ = ruleset(case.get("period", "2026-09"))
    base = Decimal(case["base_pay"]) if "base_pay" in case else None
    perf = Decimal(case["performance_pay"]) if "performance_pay" in case else None
    result = pay.compute(rules_.pay, Decimal(case["total"]), case.get("level", "P2"), base, perf)
    expected = case["expect"]
    if "multiplier" in expected:
        assert result.multiplier == Decimal(expected["multiplier"])
    if "total_pay" in expected:
        assert str(result.total_pay) == expected["total_pay"]
    if "level_change" in expected:
        assert result.level_change.value == expected["level_change"]
