"""Correct config snippets shown beside a config error, so the fix is a copy away."""

from __future__ import annotations

VERSION = '''
[[version]]
effective = "2026-10"     # YYYY-MM, the first month this version scores
'''

TIER = '''
[[version.items.tiers]]
min = "0.01"              # omit on the lowest tier
max = "0.015"             # omit on the highest tier; tiers are listed lowest first
min_inclusive = true      # default true (以上/含); false for 超过
max_inclusive = false     # default false (低于); true for 以下(含)
points = "3"
label = { zh = "1%(含)至1.5%,扣2分", en = "1% to under 1.5%: 2 points off" }
'''

ITEM = '''
[[version.items]]
id = "conversion"
group = "quantitative"    # or "qualitative" with kind = "judgement" and max = "8"
kind = "tiered"           # rule kinds: "tiered", "judgement"
label = { zh = "转化率", en = "Conversion" }
weight = "5"
measure = { kind = "ratio", numerator = "deals", denominator = "visits" }
measure_label = { zh = "转化率", en = "conversion" }
'''

JUDGEMENT = '''
[[version.items]]
id = "work_summary"
group = "qualitative"
kind = "judgement"
label = { zh = "工作总结", en = "Work summary" }
max = "3"                 # required: the most points a supervisor may give
increment = "0.5"
'''

MEASURE = '''
measure = { kind = "ratio", numerator = "deals", denominator = "visits" }
# kinds: ratio (denominator = field, or standard = "450"), growth (value, base),
#        value (value), team_share (value, reference_team_size)
'''

LABEL = '''
label = { zh = "转化率", en = "Conversion" }
'''

BAND = '''
[[version.bands]]
min = "80"                # omit on the lowest band; bands are listed lowest first
max = "90"                # omit on the highest band; each max is the next band's min
multiplier = "0.8"
label = { zh = "80(含)~90分", en = "80 to under 90" }
level_change = { value = "0", zh = "建议不变", en = "recommend no change" }
'''

LEVEL = '''
[[version.levels]]
id = "P1"
label = { zh = "初级客服", en = "Junior agent" }
base_pay = "2800"
performance_pay = "1200"
'''

ROUNDING = '''
[version.rounding]
quantum = "0.01"
mode = "ROUND_HALF_UP"
'''

FIELD = '''
[[fields]]
id = "deals"
label = { zh = "成交量(成交人数)", en = "Buyers" }
type = "count"            # text | money | count | number
required = true
min = "0"
at_most = "visits"
'''

STEP = '''
[[version.steps]]
id = "supervisor_submit"
working_day = 3           # working days after the month ends; -1 = last working day before it starts
label = { zh = "客服主管提交考核表", en = "supervisors submit the sheets" }
'''

OVERRIDES = '''
extra_days_off = ["2026-10-23"]
extra_working_days = ["2026-10-17"]
'''

FIXED_HOLIDAYS = '''
fixed_holidays = ["01-01", "05-01", "05-02", "10-01", "10-02", "10-03"]   # "MM-DD"
'''

_BY_KEY = (
    ("label", LABEL), ("measure_label", LABEL), ("measure", MEASURE), ("tiers", TIER), ("bands", BAND),
    ("levels", LEVEL), ("rounding", ROUNDING), ("fields", FIELD), ("steps", STEP),
    ("extra_days_off", OVERRIDES), ("extra_working_days", OVERRIDES), ("fixed_holidays", FIXED_HOLIDAYS),
    ("judgement", JUDGEMENT), ("items", ITEM),
)


def for_location(loc: tuple) -> str:
    """The example for the innermost key of a validation error's location."""
    names = [str(step) for step in loc if isinstance(step, str)]
    for name in reversed(names):
        for key, example in _BY_KEY:
            if name == key:
                return example
    return VERSION
