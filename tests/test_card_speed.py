"""The scorecard's speed-ups write the same bytes (issue 21): what they make cheaply is what
the plain definition makes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kpi.core import seal

KINDS = st.sampled_from(("s", "n", "f", "slot"))


@given(secret=st.binary(min_size=1, max_size=200), card_seal=st.text(), ref=st.text(), role=st.text(), kind=KINDS,
       text=st.text(), number=st.floats(allow_nan=False) | st.integers(-10**6, 10**6))
def test_cell_tags_are_the_cell_tag_of_every_cell(secret, card_seal, ref, role, kind, text, number):
    """Keys shorter and longer than SHA-256's block, any text (quotes, CJK, control characters)."""
    value = number if kind == "n" else text
    tags = seal.CellTags(secret, card_seal)
    assert tags.tag(ref, role, kind, value) == seal.cell_tag(secret, card_seal, ref, role, kind, value)
    # a card's tagger is used for every cell of the card: an earlier tag leaves no trace in a later one
    assert tags.tag(ref + "1", role, kind, value) == seal.cell_tag(secret, card_seal, ref + "1", role, kind, value)


def test_a_secret_of_one_block_and_more_is_keyed_as_hmac_keys_it():
    for size in (63, 64, 65, 128):
        secret = bytes(range(size))
        assert seal.CellTags(secret, "ab").tag("A1", "", "s", "x") == seal.cell_tag(secret, "ab", "A1", "", "s", "x")


def test_an_item_row_is_rendered_once_per_distinct_record_and_comment():
    """A chunk's cards share their explainer: a row already rendered is taken, not made again;
    the same record with another comment is another row."""
    from kpi.core import explain
    from kpi.core.scoring import score_month
    from kpi.io import config
    from kpi.io.writers import scorecard
    from kpi.pipeline import month
    from helpers import EXAMPLE_CSV

    ruleset = config.load(None, "2026-09")
    record = score_month(ruleset, month.validate(EXAMPLE_CSV, ruleset).agents)[0].items[0]
    explainer = explain.Explainer(ruleset, "zh")
    first = scorecard._item_cells(record, explainer, "")
    assert scorecard._item_cells(record, explainer, "") is first
    said = scorecard._item_cells(record, explainer, "很好")
    assert said is not first and said[0][1].endswith("很好") and said[0][1].startswith(first[0][1])
    assert first[0] == (record.label("zh"), explainer.inputs(record), explainer.measured(record),
                        explainer.rule(record) or explainer.points(record))
