"""The rulebook as frozen, self-checking models.

``config/weights.toml`` becomes :class:`WeightsVersion` (the items),
``config/pay_bands.toml`` :class:`PayVersion` (bands, rounding, level ladder) and
``config/fields.toml`` :class:`Fields` (the input columns). Each model checks
itself when built: tiers and bands form gapless ordered chains, weights add up
to the declared total, every label exists in zh and en. A month is scored with
one :class:`Ruleset`: the versions in force then, plus their identity.
"""

from __future__ import annotations

import datetime
import decimal
import functools
from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, field_validator, model_validator

from kpi.core import tiers as tiers_mod
from kpi.core.errors import RuleFault
from kpi.core.period import Period

FROZEN = ConfigDict(frozen=True, extra="forbid")
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
MONTH_DAY_PATTERN = r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
Month = Annotated[str, Field(pattern=MONTH_PATTERN)]
MonthDay = Annotated[str, Field(pattern=MONTH_DAY_PATTERN)]  # "MM-DD", any year
NonEmpty = Annotated[str, Field(min_length=1)]
PeriodValue = Annotated[Period, PlainValidator(Period), PlainSerializer(str)]   # the month a ruleset scores


class Label(BaseModel):
    """A text in both languages; neither may be empty."""

    model_config = FROZEN
    zh: NonEmpty
    en: NonEmpty

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


def known_rounding(mode: str) -> str:
    """``mode`` if it names a rounding of the decimal module, else RuleFault (a ValueError)."""
    if not mode.startswith("ROUND_") or not hasattr(decimal, mode):
        raise RuleFault("config_rounding", f"unknown rounding mode {mode!r}; use e.g. ROUND_HALF_UP, ROUND_HALF_EVEN, "
                        "ROUND_FLOOR", mode=mode)
    return mode


# ------------------------------------------------------------------ measures
class RatioMeasure(BaseModel):
    """numerator / denominator field, or numerator / a fixed ``standard``."""

    model_config = FROZEN
    kind: Literal["ratio"]
    numerator: NonEmpty
    denominator: str | None = None
    standard: Decimal | None = Field(default=None, gt=0)
    zero_denominator: Decimal | None = None  # value used when the denominator is 0

    @model_validator(mode="after")
    def _one_denominator(self):
        if (self.denominator is None) == (self.standard is None):
            raise RuleFault("config_one_denominator", "give exactly one of `denominator` (a field) or `standard` (a number)")
        return self

    def fields(self) -> tuple[str, ...]:
        return (self.numerator,) + ((self.denominator,) if self.denominator else ())


class GrowthMeasure(BaseModel):
    """(value − base) / base, e.g. growth of sales over last month."""

    model_config = FROZEN
    kind: Literal["growth"]
    value: NonEmpty
    base: NonEmpty

    def fields(self) -> tuple[str, ...]:
        return (self.value, self.base)


class ValueMeasure(BaseModel):
    """A field's value as it is, e.g. a count of disputes."""

    model_config = FROZEN
    kind: Literal["value"]
    value: NonEmpty

    def fields(self) -> tuple[str, ...]:
        return (self.value,)


class TeamShareMeasure(BaseModel):
    """value / the team's total of value; thresholds scale by reference / team size."""

    model_config = FROZEN
    kind: Literal["team_share"]
    value: NonEmpty
    zero_denominator: Decimal = Decimal(0)
    reference_team_size: Decimal = Field(gt=0)

    def fields(self) -> tuple[str, ...]:
        return (self.value,)


Measure = Annotated[
    Union[RatioMeasure, GrowthMeasure, ValueMeasure, TeamShareMeasure], Field(discriminator="kind")
]


# ------------------------------------------------------------------ items
class Step(BaseModel):
    """``per_step`` points for every ``size`` the value lies from ``anchor``.

    ``rounding`` turns the distance in steps into a whole count: ROUND_FLOOR
    (the default) counts full steps only, as "每 … 5%" reads.
    """

    model_config = FROZEN
    anchor: Decimal
    size: Decimal = Field(gt=0)
    per_step: Decimal
    rounding: str = "ROUND_FLOOR"

    @field_validator("rounding")
    @classmethod
    def _known_rounding(cls, mode):
        return known_rounding(mode)


class Tier(tiers_mod.Bracket):
    """A bracket of an item's measure and the points it gives."""

    points: Decimal
    step: Step | None = None
    label: Label


class NoBase(BaseModel):
    """Points given when a growth item has no base month (empty or 0)."""

    model_config = FROZEN
    points: Decimal
    label: Label


class TieredItem(BaseModel):
    """A quantitative item: measure the inputs, find the tier, give its points."""

    model_config = FROZEN
    id: NonEmpty
    group: Literal["quantitative"]
    kind: Literal["tiered"]
    label: Label
    weight: Decimal = Field(ge=0)
    measure: Measure
    measure_label: Label
    tiers: tuple[Tier, ...]
    no_base: NoBase | None = None
    cap: Decimal | None = None  # optional most points this item may give (off by default)
    # Points above ``max_points`` are not believed: the agent's result is refused as a problem
    # (the input is probably wrong, e.g. last month's sales typed as 0.01), never paid or charted.
    max_points: Decimal | None = None
    source: str = ""
    note: Label | None = None

    @field_validator("tiers")
    @classmethod
    def _chain(cls, tiers):
        tiers_mod.check_chain(tiers, "tiers")
        return tiers

    @model_validator(mode="after")
    def _growth_has_no_base(self):
        if self.measure.kind == "growth" and self.no_base is None:
            raise RuleFault("config_growth_no_base",
                            "a growth item needs `no_base` (points and label when there is no base month)")
        return self

    @property
    def maximum(self) -> Decimal:
        return self.weight


class JudgementItem(BaseModel):
    """A qualitative item: the supervisor gives 0..max points in ``increment`` steps."""

    model_config = FROZEN
    id: NonEmpty
    group: Literal["qualitative"]
    kind: Literal["judgement"]
    label: Label
    description: Label | None = None
    max: Decimal = Field(gt=0)
    increment: Decimal = Field(default=Decimal("0.5"), gt=0)
    source: str = ""
    note: Label | None = None

    @property
    def weight(self) -> Decimal:
        return self.max


Item = Annotated[Union[TieredItem, JudgementItem], Field(discriminator="kind")]


class WeightsVersion(BaseModel):
    """One dated version of the assessment table."""

    model_config = FROZEN
    effective: Month
    title: Label
    source: str = ""
    note: Label | None = None
    total: Decimal = Field(gt=0)
    min_points: Decimal = Decimal(0)
    plausible_total: Decimal | None = Field(default=None, gt=0)   # a higher total is a notice in kpi check
    items: tuple[Item, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights_add_up(self):
        ids = [item.id for item in self.items]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise RuleFault("config_item_ids_repeat", f"item ids repeat: {twice}", ids=", ".join(twice))
        added = sum((item.weight for item in self.items), Decimal(0))
        if added != self.total:
            raise RuleFault("config_weights_total", f"weights and maxima add up to {added}, not to total = {self.total}",
                            added=added, total=self.total)
        return self

    def item(self, item_id: str) -> Item:
        return self._items_by_id[item_id]

    @functools.cached_property
    def _items_by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}


# ------------------------------------------------------------------ pay
class LevelChange(Label):
    """A level recommendation in words, with the machine value the ladder uses."""

    value: Literal["+2", "+1|0", "0", "-1", "dismiss"]


class Band(tiers_mod.Bracket):
    """A range of totals with its pay multiplier and level recommendation."""

    multiplier: Decimal = Field(ge=0)
    label: Label
    level_change: LevelChange


class Rounding(BaseModel):
    """How pay is rounded, once: to ``quantum`` by a decimal rounding mode."""

    model_config = FROZEN
    quantum: Decimal = Field(gt=0)
    mode: str

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, mode):
        return known_rounding(mode)


class Level(BaseModel):
    """A rung of the level ladder with its example pay figures."""

    model_config = FROZEN
    id: NonEmpty
    label: Label
    base_pay: Decimal = Field(ge=0)
    performance_pay: Decimal = Field(ge=0)


Recommendation = Literal["+2", "+1|0", "0", "-1", "dismiss"]


class ReviewPolicy(BaseModel):
    """Who decides what at closing (考核结果的运用 are recommendations, 建议…).

    ``apply_without_approval``: the recommendations closing applies with no person's
    decision ("0" changes nothing; "+1|0" undecided means no change). Any other one
    waits for ``kpi level`` and blocks closing unless forced.
    ``unanswered_past_deadline``: what closing does with agents who never answered by the
    deadline: ``allowed`` (silence is consent), ``listed`` (allowed, listed before closing),
    ``refused`` (closing refuses unless forced).
    """

    model_config = FROZEN
    apply_without_approval: frozenset[Recommendation] = frozenset({"0", "+1|0"})
    unanswered_past_deadline: Literal["allowed", "listed", "refused"] = "listed"


class PayrollOutput(BaseModel):
    """How HR's payroll files are written: the CSV's encoding (utf-8 with BOM for Excel; gbk or
    gb18030 for 用友/金蝶-style imports) and whether the signature block (制表/审核/批准) prints."""

    model_config = FROZEN
    csv_encoding: Literal["utf-8", "gbk", "gb18030"] = "utf-8"
    signatures: bool = True


class PayVersion(BaseModel):
    """One dated version of the result table (pay bands, rounding, levels)."""

    model_config = FROZEN
    effective: Month
    source: str = ""
    note: Label | None = None
    rounding: Rounding
    bands: tuple[Band, ...]
    levels: tuple[Level, ...] = Field(min_length=1)
    review: ReviewPolicy = ReviewPolicy()
    payroll: PayrollOutput = PayrollOutput()

    @field_validator("bands")
    @classmethod
    def _chain(cls, bands):
        tiers_mod.check_chain(bands, "bands")
        return bands

    @field_validator("levels")
    @classmethod
    def _unique_levels(cls, levels):
        ids = [level.id for level in levels]
        if len(set(ids)) != len(ids):
            raise RuleFault("config_level_ids_repeat", f"level ids repeat: {ids}", ids=", ".join(ids))
        return levels

    def level(self, level_id: str) -> Level | None:
        return next((level for level in self.levels if level.id == level_id), None)


# ------------------------------------------------------------------ input fields
class InputField(BaseModel):
    """One column of the input sheet and the bounds its values must keep."""

    model_config = FROZEN
    id: NonEmpty
    label: Label
    type: Literal["text", "money", "count", "number"]
    required: bool
    aliases: tuple[str, ...] = ()
    min: Decimal | None = None
    min_exclusive: bool = False
    max: Decimal | None = None
    increment: Decimal | None = None
    at_most: str | None = None
    max_length: int | None = Field(default=None, gt=0)  # text: most characters a cell may hold
    comment_for: str | None = None   # a comment column: "month" (评语) or the qualitative item it is about


class Fields(BaseModel):
    """The identity and quantitative input columns (qualitative ones come from items).

    ``item_comments``: whether the fill-in sheet has a comment column beside each
    qualitative item (read whenever a sheet has one); ``item_comment_length``: their limit.
    """

    model_config = FROZEN
    fields: tuple[InputField, ...]
    item_comments: bool = False
    item_comment_length: int = Field(default=200, gt=0)
    money_decimals: Literal["problem", "notice"] = "problem"


# ------------------------------------------------------------------ timeline
class TimelineStep(BaseModel):
    """A step of the review timeline: working days after the month (before it if negative)."""

    model_config = FROZEN
    id: NonEmpty
    working_day: int
    label: Label

    @field_validator("working_day")
    @classmethod
    def _not_zero(cls, day):
        if day == 0:
            raise RuleFault("config_working_day_zero",
                            "working_day counts from 1 after the month, or from -1 before it; 0 is neither")
        return day


class CalendarVersion(BaseModel):
    """One dated version of the review timeline."""

    model_config = FROZEN
    effective: Month
    source: str = ""
    note: Label | None = None
    steps: tuple[TimelineStep, ...] = Field(min_length=1)


class StatutoryNotice(BaseModel):
    """The State Council's holiday arrangement for a year (国务院办公厅关于某年部分节假日安排的通知),
    recorded by HR for a year the calendar package does not know yet: its days off, its 调休
    working days (weekend days worked) and its title as the source. Once recorded, the year's
    dates are no longer estimates."""

    model_config = FROZEN
    year: int = Field(ge=2000, le=2100)
    source: NonEmpty
    published: datetime.date | None = None
    days_off: frozenset[datetime.date] = Field(min_length=1)
    working_days: frozenset[datetime.date] = frozenset()

    @model_validator(mode="after")
    def _in_its_year(self):
        stray = sorted(str(d) for d in self.days_off | self.working_days if d.year != self.year)
        if stray:
            raise RuleFault("config_dates_outside_year", f"dates outside {self.year}: {stray}", year=self.year,
                            dates=", ".join(stray))
        both = self.days_off & self.working_days
        if both:
            raise _both_off_and_working(both)
        return self


class CalendarOverrides(BaseModel):
    """The company's own days off and working days, on top of the statutory calendar, and the
    State Council notices HR recorded for years the package does not know."""

    model_config = FROZEN
    extra_days_off: frozenset[datetime.date] = frozenset()
    extra_working_days: frozenset[datetime.date] = frozenset()
    fixed_holidays: frozenset[MonthDay] = frozenset()  # statutory days off on the same date every year
    statutory_notices: tuple[StatutoryNotice, ...] = ()

    @field_validator("statutory_notices")
    @classmethod
    def _one_per_year(cls, notices):
        years = [n.year for n in notices]
        if len(set(years)) != len(years):
            raise RuleFault("config_notices_per_year", f"more than one notice for a year: {sorted(years)}",
                            years=", ".join(map(str, sorted(years))))
        return notices

    @field_validator("fixed_holidays")
    @classmethod
    def _real_days(cls, days):
        for day in days:
            datetime.date.fromisoformat(f"2000-{day}")  # 2000 is a leap year: 02-29 passes, 02-30 does not
        return days

    @model_validator(mode="after")
    def _disjoint(self):
        both = self.extra_days_off & self.extra_working_days
        if both:
            raise _both_off_and_working(both)
        return self


class RulesVersion(BaseModel):
    """Which rules scored a month: each file's version in force and their hash."""

    model_config = FROZEN
    weights_effective: Month
    pay_bands_effective: Month
    calendar_effective: Month
    sha256: str
    config_dir: str


class Ruleset(BaseModel):
    """Everything needed to score one month, and which config it came from.

    ``fields`` holds every input column: identity, quantitative inputs and one
    column per qualitative item (0..max). ``version`` is what results record.
    """

    model_config = FROZEN
    period: PeriodValue
    weights: WeightsVersion
    pay: PayVersion
    fields: tuple[InputField, ...]
    timeline: CalendarVersion
    overrides: CalendarOverrides
    version: RulesVersion
    item_comments: bool = False      # the fill-in sheet has a comment column per qualitative item
    money_decimals: Literal["problem", "notice"] = "problem"   # money typed with more than cents

    def field(self, field_id: str) -> InputField | None:
        return self._fields_by_id.get(field_id)

    def with_fields(self, fields: tuple[InputField, ...]) -> Ruleset:
        """The same rules reading only ``fields`` (a roster reads identity columns only)."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self)(**{**values, "fields": fields})

    @functools.cached_property
    def _fields_by_id(self) -> dict[str, InputField]:
        return {f.id: f for f in self.fields}


def _both_off_and_working(both) -> RuleFault:
    dates = sorted(str(d) for d in both)
    return RuleFault("config_dates_both", f"dates both off and working: {dates}", dates=", ".join(dates))
