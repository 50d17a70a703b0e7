"""Laws that hold for any inputs (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import agent, baseline, ruleset
from kpi.core import pay, scoring

RULES = ruleset()
money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)
positive_money = st.decimals(min_value=Decimal("0.01"), max_value=10_000_000, places=2)
half_points = st.integers(min_value=0, max_value=240).map(lambda n: Decimal(n) / 2)


def points_of(fields: dict) -> dict:
    result = scoring.score_month(RULES, [agent({**baseline(), **fields}, RULES)])[0]
    return {item.item_id: item.points for item in result.items} | {"total": result.total}


@settings(max_examples=150, deadline=None)
@given(target=positive_money, low=money, high=money)
def test_more_sales_never_lowers_completion(target, low, high):
    low, high = sorted((low, high))
    base = {"sales_target": str(target), "sales_last_month": ""}
    assert (points_of({**base, "sales_actual": str(low)})["sales_completion"]
            <= points_of({**base, "sales_actual": str(high)})["sales_completion"])


@settings(max_examples=150, deadline=None)
@given(last=positive_money, low=money, high=money)
def test_more_sales_never_lowers_growth(last, low, high):
    low, high = sorted((low, high))
    base = {"sales_last_month": str(last)}
    assert (points_of({**base, "sales_actual": str(low)})["sales_growth"]
            <= points_of({**base, "sales_actual": str(high)})["sales_growth"])


@settings(max_examples=100, deadline=None)
@given(visits=st.integers(1, 100_000), data=st.data())
def test_more_deals_never_lowers_conversion(visits, data):
    low = data.draw(st.integers(0, visits))
    high = data.draw(st.integers(low, visits))
    base = {"visits": str(visits)}
    assert (points_of({**base, "deals": str(low)})["conversion"]
            <= points_of({**base, "deals": str(high)})["conversion"])


@settings(max_examples=100, deadline=None)
@given(orders=st.integers(0, 100_000), data=st.data())
def test_more_refunds_never_raise_refund_points(orders, data):
    low = data.draw(st.integers(0, orders))
    high = data.draw(st.integers(low, orders))
    base = {"orders": str(orders)}
    assert (points_of({**base, "refunds": str(low)})["refund_rate"]
            >= points_of({**base, "refunds": str(high)})["refund_rate"])


@settings(max_examples=150, deadline=None)
@given(sales=money, target=positive_money, last=money, deals=st.integers(0, 500), inquiries=st.integers(0, 2000),
       disputes=st.integers(0, 5), featured=st.integers(0, 500), judged=st.tuples(*[half_points] * 6))
def test_total_is_the_sum_of_items_and_no_item_is_negative(sales, target, last, deals, inquiries, disputes,
                                                           featured, judged):
    limits = (8, 8, 7, 5, 4, 3)
    names = ("response_time", "service_quality", "sales_skill", "product_exam", "operation_exam", "work_summary")
    fields = {"sales_actual": str(sales), "sales_target": str(target), "sales_last_month": str(last),
              "deals": str(deals), "inquiries": str(inquiries), "disputes": str(disputes),
              "featured_actual": str(featured)}
    fields |= {name: str(min(value, Decimal(limit))) for name, value, limit in zip(names, judged, limits)}
    points = points_of(fields)
    total = points.pop("total")
    assert total == sum(points.values())
    assert all(value >= 0 for value in points.values())


@settings(max_examples=200, deadline=None)
@given(low=half_points, high=half_points, level=st.sampled_from([lv.id for lv in RULES.pay.levels]))
def test_a_higher_total_never_pays_less(low, high, level):
    low, high = sorted((low, high))
    assert pay.compute(RULES.pay, low, level).total_pay <= pay.compute(RULES.pay, high, level).total_pay


@settings(max_examples=200, deadline=None)
@given(base=money, performance=money, total=half_points)
def test_pay_is_rounded_once_to_the_cent(base, performance, total):
    result = pay.compute(RULES.pay, total, "P1", base, performance)
    exact = base + performance * result.multiplier
    assert result.total_pay == exact.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert result.total_pay.as_tuple().exponent == -2


exact = st.decimals(allow_nan=False, allow_infinity=False, places=None)
texts = st.text(max_size=12)


@settings(max_examples=150, deadline=None)
@given(names=st.lists(texts, min_size=8, max_size=8), numbers=st.lists(exact, min_size=5, max_size=5),
       points=st.lists(exact, max_size=10), band=st.one_of(st.none(), st.integers(0, 9)))
def test_an_encoded_payroll_row_decodes_to_the_same_row(names, numbers, points, band):
    """A carried-over agent's row comes back from the ledger exactly: 5.0 stays 5.0, -0 stays -0,
    and so does its seal."""
    from kpi.core import table
    agent_id, name, team, level, band_label, change, status, flag = names
    total, multiplier, base, performance, paid = numbers
    row = table.Row(agent_id, name, team, level, total=total, band=band_label, multiplier=multiplier,
                    base_pay=base, performance_pay=performance, pay=paid, level_change=change, status=status,
                    flag=flag, points=tuple(points), lost=tuple(reversed(points)), band_index=band)
    back = table.decoded(table.encoded(row))
    assert back == row
    assert [str(value) for value in back if isinstance(value, Decimal)] == [
        str(value) for value in row if isinstance(value, Decimal)]
    assert [str(p) for p in back.points] == [str(p) for p in row.points]
    # the seal made from the ledger's text (a carried agent's) is the one the decoded row gives
    # (an agent scored again): a payroll key does not tell them apart
    assert table.digest([row], {agent_id: table.seal(table.encoded(row))}) == table.digest([back])


@settings(max_examples=200, deadline=None)
@given(value=st.decimals(min_value=-10_000_000, max_value=10_000_000, places=6), zeros=st.integers(0, 4),
       order=st.booleans())
def test_a_figure_reads_the_same_whatever_its_exponent_or_the_calls_before(value, zeros, order):
    """Money, grouped money, percentages and plain numbers are remembered per value, so each
    must depend on the value alone: 1.5 and 1.50000 (equal, one entry) give one text, and so do
    0 and -0, whichever came first."""
    from kpi.core import numbers
    longer = value.quantize(Decimal(1).scaleb(value.as_tuple().exponent - zeros)) if value else -value
    first, second = (value, longer) if order else (longer, value)
    for show in (numbers.money, numbers.grouped, numbers.percent, numbers.plain):
        fresh = show.__wrapped__(first)
        assert show.__wrapped__(second) == fresh and show(first) == fresh and show(second) == fresh
        assert show.__wrapped__(Decimal("-0")) == show.__wrapped__(Decimal("0.000"))
