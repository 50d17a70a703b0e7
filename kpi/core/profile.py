"""An import profile as a model: how one kind of platform export is read (pure).

A profile says how to recognise an export (its file name pattern and words of
its header row), how far down to look for the header, which export column
feeds which of kpi's input fields (with the header's aliases) and how its
values are written, which rows are summaries and which cell texts mean "not
final yet". The models refuse unknown keys; :mod:`kpi.io.profiles` finds and
reads the files (``config/imports/*.toml``) and reports every fault at once.
"""

from __future__ import annotations

import fnmatch
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kpi.core import rules
from kpi.core.identity import fold_text

FROZEN = ConfigDict(frozen=True, extra="forbid")
NonEmpty = Annotated[str, Field(min_length=1)]
Format = Literal["count", "money", "number", "percent", "ratio", "seconds"]
# Which value formats may feed a field of each kpi type: a percentage never becomes a count.
FITS = {"count": {"count"}, "money": {"money"}, "number": {"count", "money", "number", "percent", "ratio", "seconds"}}
IDENTITY = ("agent_id", "name", "team", "level")


def _alternatives(value: object) -> object:
    """Header names as a list, or one text with ``|`` between the alternatives."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split("|"))
    return value


Headers = Annotated[tuple[NonEmpty, ...], Field(min_length=1)]


class Column(BaseModel):
    """One of kpi's fields, read from the export column headed by one of ``headers``."""

    model_config = FROZEN
    field: NonEmpty
    headers: Headers
    format: Format

    split_headers = field_validator("headers", mode="before")(_alternatives)


class Account(BaseModel):
    """The column naming the platform account a row belongs to (``店铺:子账号``)."""

    model_config = FROZEN
    headers: Headers

    split_headers = field_validator("headers", mode="before")(_alternatives)


class LeftToSheet(BaseModel):
    """A field the export has no sure source for; the supervisor fills it, for ``reason``."""

    model_config = FROZEN
    field: NonEmpty
    reason: rules.Label


class Profile(BaseModel):
    """How to read one kind of export."""

    model_config = FROZEN
    id: NonEmpty
    label: rules.Label
    file_pattern: NonEmpty
    header_words: Annotated[tuple[NonEmpty, ...], Field(min_length=1)]
    header_rows: Annotated[int, Field(ge=1, le=100)] = 10
    account: Account
    columns: Annotated[tuple[Column, ...], Field(min_length=1)]
    summary_words: tuple[NonEmpty, ...] = ()
    not_final_words: tuple[NonEmpty, ...] = ()
    left_to_sheet: tuple[LeftToSheet, ...] = ()
    source: str = ""

    @model_validator(mode="after")
    def _each_field_once(self):
        fields = [c.field for c in self.columns] + [f.field for f in self.left_to_sheet]
        twice = sorted({f for f in fields if fields.count(f) > 1})
        if twice:
            raise ValueError(f"each field may appear once in columns and left_to_sheet; repeated: {', '.join(twice)}")
        return self

    def matches_name(self, file_name: str) -> bool:
        """Whether a file name fits the profile's pattern (a glob, compared after NFKC folding)."""
        return fnmatch.fnmatchcase(fold_text(file_name), fold_text(self.file_pattern))
